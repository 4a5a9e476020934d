"""The jobs facade in embedded mode: after commit only, outbox retries, failed jobs kept."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from service import jobs
from service.extensions import db

CALLS: list[tuple] = []


@jobs.job(queue="default")
def record_call(value: int) -> None:
    CALLS.append((value,))


FAILURES = {"left": 0}


@jobs.job(queue="default")
def flaky(value: int) -> None:
    if FAILURES["left"] > 0:
        FAILURES["left"] -= 1
        raise RuntimeError("temporary failure")
    CALLS.append(("flaky", value))


@pytest.fixture(autouse=True)
def _reset():
    CALLS.clear()
    FAILURES["left"] = 0


def test_jobs_run_only_after_commit(app):
    jobs.enqueue(record_call, 1)
    assert CALLS == []
    db.session.commit()
    assert CALLS == [(1,)]


def test_the_same_call_queued_twice_in_one_transaction_runs_once(app):
    for value in (3, 4, 3):
        jobs.enqueue(record_call, value)
    db.session.commit()
    jobs.enqueue(record_call, 3)  # a later transaction's call is its own
    db.session.commit()
    assert CALLS == [(3,), (4,), (3,)]


def test_rollback_drops_queued_jobs(app):
    jobs.enqueue(record_call, 2)
    db.session.rollback()
    db.session.commit()
    assert CALLS == []


def test_a_released_savepoint_is_not_a_commit(app):
    jobs.enqueue(record_call, 3)
    with db.session.begin_nested():
        pass  # SQLAlchemy fires after_commit here too; the job must still wait
    assert CALLS == []
    db.session.rollback()
    db.session.commit()
    assert CALLS == []


def test_only_decorated_functions_with_plain_arguments():
    with pytest.raises(TypeError):
        jobs.enqueue(print, 1)
    with pytest.raises(TypeError):
        jobs.enqueue(record_call, object())


def test_failed_job_waits_in_outbox_and_is_retried_with_backoff(app):
    FAILURES["left"] = 1
    start = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        jobs.enqueue(flaky, 7)
        db.session.commit()
        row = db.session.scalar(select(jobs.JobOutbox))
        assert (row.attempts, row.status) == (1, "pending")
        assert row.next_attempt_at == start + timedelta(seconds=jobs.RETRY_INTERVALS[0])
        assert jobs.sweep_outbox() == 0  # not due yet
    with time_machine.travel(start + timedelta(seconds=11), tick=False):
        assert jobs.sweep_outbox() == 1
    assert CALLS == [("flaky", 7)]
    assert db.session.scalar(select(jobs.JobOutbox)) is None


def test_job_that_keeps_failing_ends_as_failed(app):
    FAILURES["left"] = 100
    moment = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        jobs.enqueue(flaky, 9)
        db.session.commit()
    for _ in range(len(jobs.RETRY_INTERVALS) + 1):
        moment += timedelta(hours=1)
        with time_machine.travel(moment, tick=False):
            jobs.sweep_outbox()
    rows = list(db.session.scalars(select(jobs.JobOutbox)))
    assert [(r.status, r.attempts) for r in rows] == [("failed", len(jobs.RETRY_INTERVALS))]
    listed = jobs.failed_jobs(app)
    assert listed[0]["func"].endswith("flaky") and "temporary failure" in listed[0]["error"]
    assert jobs.outbox_depth() == 0


def test_failed_jobs_endpoint_is_admin_only(client, auth, make_user):
    assert client.get("/api/v1/admin/jobs/failed",
                      headers=auth(make_user("agent"))).status_code == 403
    response = client.get("/api/v1/admin/jobs/failed", headers=auth(make_user("admin")))
    assert response.status_code == 200
    assert response.json == {"items": [], "outbox_pending": 0}


def test_redis_down_keeps_job_in_outbox(app):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    jobs.enqueue(record_call, 3)
    db.session.commit()
    row = db.session.scalar(select(jobs.JobOutbox))
    assert row.func.endswith("record_call") and row.args == [3] and row.status == "pending"
    assert CALLS == []
