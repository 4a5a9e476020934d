"""The production ticker enqueues each periodic sweep once per interval, however many run."""
from __future__ import annotations

import pytest
from redis import Redis
from rq import Queue

from service import create_app
from service.ticker import periodic_tasks, run_task
from tests.conftest import BASE_CONFIG

pytestmark = pytest.mark.integration


def test_ticker_enqueues_each_sweep_once_per_interval(pg_database, redis_url):
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": pg_database,
                      "REDIS_URL": redis_url, "JOBS_EAGER": False,
                      "TICKER_INTERVAL_SECONDS": 3600})
    tasks = {task.name: task for task in periodic_tasks(app)}
    assert {"sla", "assignment", "outbox", "loads", "tasks", "confirmations"} <= set(tasks)
    for _ in range(3):  # three tickers firing in the same interval
        run_task(app, tasks["sla"])
    connection = Redis.from_url(redis_url)
    queued = Queue("sweeps", connection=connection).jobs
    assert [job.func_name for job in queued] == ["tickets.jobs.sweep_sla"]
    run_task(app, tasks["assignment"])
    assert [job.func_name for job in Queue("default", connection=connection).jobs] == [
        "tickets.jobs.assign_queued_tickets"]
    connection.close()
