"""The report-rollups task in production: the ticker enqueues it, a real `rq worker`
builds the cells on PostgreSQL, and the reports then answer from them."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from service.db_types import utcnow
from service.extensions import db
from service.reports import engine, rollup
from service.reports.models import RollupDay
from service.reports.query import Slice
from service.reports.registry import rolled_up
from service.ticker import periodic_tasks, run_task
from tickets.analytics.times import RESPONSE_TIMES

pytestmark = pytest.mark.integration


def test_a_real_worker_builds_the_rollups(rq_stack, make_ticket):
    ticket = make_ticket(subject="Export stops at 10,000 rows")
    ticket.created_at = utcnow() - timedelta(days=3, hours=2)
    ticket.first_responded_at = ticket.created_at + timedelta(hours=2)
    db.session.commit()
    period = Slice(utcnow() - timedelta(days=6), utcnow())  # the days a first run builds
    live = engine.run(RESPONSE_TIMES.metric, period)
    assert live["total"]["first_response"] == {"count": 1, "median": 7200.0, "p90": 7200.0}
    assert rollup.answer(RESPONSE_TIMES.metric, period) is None  # nothing built yet

    [task] = [task for task in periodic_tasks(rq_stack.app) if task.name == "report-rollups"]
    run_task(rq_stack.app, task)
    assert [job.func_name for job in rq_stack.queue("sweeps").jobs] == [
        "service.reports.jobs.refresh_rollups"]
    rq_stack.run_burst_worker(queues=("sweeps",))

    db.session.rollback()  # see what the worker committed
    per_run = rollup.DAYS_PER_RUN + rollup.RECENT_DAYS
    assert db.session.scalar(select(func.count()).select_from(RollupDay)) == \
        per_run * len(rolled_up())
    assert rollup.answer(RESPONSE_TIMES.metric, period) is not None
    median = engine.run(RESPONSE_TIMES.metric, period)["total"]["first_response"]["median"]
    assert median == pytest.approx(7200, rel=rollup.ACCURACY)
