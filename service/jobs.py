"""One facade for background work: RQ when REDIS_URL is set, in-process otherwise.

`enqueue()` never runs or sends anything before the caller's transaction commits; a
rollback drops what it queued. With Redis, a job that cannot be handed to Redis at that
moment waits in the `job_outbox` table until `sweep_outbox` re-enqueues it. In embedded
mode, a job that fails is kept in the same outbox and retried with backoff.
"""
from __future__ import annotations

import importlib
import json
import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import wraps
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from flask import Flask, current_app, has_app_context
from sqlalchemy import JSON, Integer, String, Text, event, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from service.db_types import UTCDateTime
from service.errors import DomainError, NotFound
from service.extensions import db

log = logging.getLogger(__name__)

QUEUES = ("default", "mail", "sweeps", "webhooks")
RETRY_INTERVALS = (10, 30, 120, 600, 1800)  # seconds; the backoff of RQ and of the outbox


class JobOutbox(db.Model):
    """A job waiting to be (re)enqueued: Redis was down, or an in-process run failed."""

    __tablename__ = "job_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    func: Mapped[str] = mapped_column(String(200))
    args: Mapped[list] = mapped_column(JSON)
    queue: Mapped[str] = mapped_column(String(40))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class PendingJob:
    func: str
    args: tuple
    queue: str


@contextmanager
def finished_before_return(app: Flask) -> Iterator[None]:
    """Without Redis, run the jobs enqueued inside this block before it ends (a CLI command:
    background threads would die with the process); with Redis, leave them to the workers."""
    eager = app.config.get("JOBS_EAGER")
    if not app.config.get("REDIS_URL"):
        app.config["JOBS_EAGER"] = True
    try:
        yield
    finally:
        app.config["JOBS_EAGER"] = eager


def job(queue: str = "default") -> Callable:
    """Mark a function as a background job (RQ entry point taking ids, not objects)."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")

    def decorate(fn: Callable) -> Callable:
        @wraps(fn)
        def run(*args: Any) -> Any:
            if has_app_context():
                return fn(*args)
            with worker_app().app_context():
                return fn(*args)

        run.job_queue = queue  # type: ignore[attr-defined]
        run.job_path = f"{fn.__module__}.{fn.__qualname__}"  # type: ignore[attr-defined]
        return run

    return decorate


def enqueue(func: Callable, *args: Any) -> None:
    """Run `func(*args)` in the background once the current transaction commits.

    The same call queued twice in one transaction runs once: after the commit both would
    see the same data (a sweep closing 500 tickets asks for one re-assignment, not 500).
    """
    path = getattr(func, "job_path", None)
    if path is None:
        raise TypeError(f"{func!r} is not decorated with @job")
    json.dumps(args)  # jobs take ids and plain values; fail loudly at the call site
    session = db.session()
    if not session.in_transaction():
        session.begin()  # so a rollback before any SQL still drops the job
    pending = session.info.setdefault("pending_jobs", [])
    job_call = PendingJob(path, args, func.job_queue)
    if job_call not in pending:
        pending.append(job_call)


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released (SQLAlchemy reports it too): not a commit yet
    pending = session.info.pop("pending_jobs", None)
    if pending:
        dispatch(current_app._get_current_object(), pending)


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_rollback(session: Session, previous_transaction) -> None:
    # A savepoint rolling back keeps the outer transaction's jobs; any other rollback
    # (even of a transaction that never reached the database) drops them.
    if previous_transaction is None or not previous_transaction.nested:
        session.info.pop("pending_jobs", None)


def dispatch(app: Flask, jobs: list[PendingJob]) -> None:
    """Hand committed jobs to RQ, or run them in-process in embedded mode."""
    if app.config.get("REDIS_URL"):
        for pending in jobs:
            try:
                _rq_enqueue(app, pending)
            except Exception as error:  # Redis down: the outbox keeps the job for the sweep.
                log.warning("redis unavailable, job %s kept in outbox: %s", pending.func, error)
                _store_in_outbox(app, pending, attempts=0, error=repr(error), delay=0)
    elif app.config.get("JOBS_EAGER"):
        _run_eagerly(app, jobs)
    else:
        executor = _executor()
        for pending in jobs:
            executor.submit(_run_inline, app, pending, 0)


_eager = threading.local()


def _run_eagerly(app: Flask, jobs: list[PendingJob]) -> None:
    """Run jobs now, in order; a job queued by a running job waits until that one is done.

    As with a real queue, a job never runs inside its parent's commit, while the parent
    still holds its connection (which SQLite would answer with "database is locked").
    """
    waiting = getattr(_eager, "waiting", None)
    if waiting is not None:
        waiting.extend(jobs)
        return
    _eager.waiting = list(jobs)
    try:
        while _eager.waiting:
            _run_inline(app, _eager.waiting.pop(0), attempts=0)
    finally:
        _eager.waiting = None


def _rq_enqueue(app: Flask, pending: PendingJob) -> None:
    from rq import Queue, Retry

    queue = Queue(pending.queue, connection=redis_connection(app))
    queue.enqueue(pending.func, *pending.args, retry=Retry(max=len(RETRY_INTERVALS),
                                                           interval=list(RETRY_INTERVALS)))


def _run_inline(app: Flask, pending: PendingJob, attempts: int) -> bool:
    try:
        func = _resolve(pending.func)
        with app.app_context():
            func(*pending.args)
        return True
    except Exception as error:
        log.exception("job %s failed (attempt %d)", pending.func, attempts + 1)
        delay = RETRY_INTERVALS[min(attempts, len(RETRY_INTERVALS) - 1)]
        _store_in_outbox(app, pending, attempts=attempts + 1, error=repr(error), delay=delay)
        return False


def _store_in_outbox(app: Flask, pending: PendingJob, *, attempts: int, error: str,
                     delay: int) -> None:
    now = datetime.now(UTC)
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(insert(JobOutbox).values(
                func=pending.func, args=list(pending.args), queue=pending.queue,
                attempts=attempts, status="pending", last_error=error[:2000],
                next_attempt_at=now + timedelta(seconds=delay), created_at=now))


def sweep_outbox(limit: int = 200) -> int:
    """Re-enqueue (or, embedded, re-run) outbox jobs that are due; returns how many moved."""
    app = current_app._get_current_object()
    now = datetime.now(UTC)
    query = (select(JobOutbox).where(JobOutbox.status == "pending",
                                     JobOutbox.next_attempt_at <= now)
             .order_by(JobOutbox.next_attempt_at).limit(limit).with_for_update(skip_locked=True))
    rows = db.session.scalars(query).all()
    moved = 0
    for row in rows:
        pending = PendingJob(row.func, tuple(row.args), row.queue)
        if app.config.get("REDIS_URL"):
            try:
                _rq_enqueue(app, pending)
            except Exception as error:
                row.last_error = repr(error)[:2000]
                row.next_attempt_at = now + timedelta(seconds=RETRY_INTERVALS[0])
                continue
            db.session.delete(row)
            moved += 1
            continue
        if row.attempts >= len(RETRY_INTERVALS):
            row.status = "failed"  # kept for admins; never retried again
            continue
        # Embedded mode has one process: committing here only publishes the removal, and
        # a failing run records itself again as a new outbox row with the next backoff.
        db.session.delete(row)
        db.session.commit()
        _run_inline(app, pending, attempts=row.attempts)
        moved += 1
    db.session.commit()
    return moved


def failed_jobs(app: Flask, limit: int = 100) -> list[dict[str, Any]]:
    """Jobs that exhausted their retries: RQ's failed registry plus failed outbox rows."""
    result: list[dict[str, Any]] = []
    if app.config.get("REDIS_URL"):
        from rq import Queue
        from rq.registry import FailedJobRegistry

        connection = redis_connection(app)
        for name in QUEUES:
            registry = FailedJobRegistry(queue=Queue(name, connection=connection))
            for job_id in registry.get_job_ids(0, limit - 1):
                rq_job = Queue(name, connection=connection).fetch_job(job_id)
                if rq_job is None:
                    continue
                result.append({
                    "id": job_id, "queue": name, "func": rq_job.func_name,
                    # An abandoned job (its worker was killed) never gets ended_at.
                    "args": list(rq_job.args),
                    "failed_at": _iso(rq_job.ended_at or rq_job.last_heartbeat
                                      or rq_job.enqueued_at),
                    "error": (rq_job.latest_result().exc_string if rq_job.latest_result()
                              else None),
                    "source": "rq"})
    rows = db.session.scalars(select(JobOutbox).where(JobOutbox.status == "failed")
                              .order_by(JobOutbox.id.desc()).limit(limit))
    for row in rows:
        result.append({"id": f"outbox-{row.id}", "queue": row.queue, "func": row.func,
                       "args": row.args, "failed_at": _iso(row.next_attempt_at),
                       "error": row.last_error, "source": "outbox"})
    return result[:limit]


def outbox_depth() -> int:
    """Jobs waiting in the outbox (pending)."""
    from sqlalchemy import func as sql_func

    return db.session.scalar(select(sql_func.count()).select_from(JobOutbox)
                             .where(JobOutbox.status == "pending")) or 0


# ---- failed jobs for admins: details, retry, discard (RQ's failed registry or the outbox) ----

_OUTBOX_JOB_ID = re.compile(r"outbox-([0-9]{1,10})")
_RQ_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")  # RQ's own rule for job ids, bounded


class QueueUnavailable(DomainError):
    """Redis did not answer, so RQ's failed jobs cannot be read or changed right now."""

    status, title, slug = 503, "Queue unavailable", "queue-unavailable"


@dataclass(frozen=True)
class FailedJobsOverview:
    """What the admins' failed-jobs page shows."""

    items: list[dict[str, Any]]  # failed_jobs() items, each with "attempts" (None: unknown)
    outbox_pending: int
    redis_error: str | None  # set when Redis did not answer: RQ's failed jobs are missing


def failed_jobs_overview(app: Flask, limit: int = 100) -> FailedJobsOverview:
    """Failed jobs with their attempts and the outbox depth; Redis being down is reported."""
    from redis.exceptions import RedisError

    redis_error = None
    try:
        items = failed_jobs(app, limit)
        attempts = _attempts(app, items)
    except RedisError as error:
        log.warning("failed jobs: redis unavailable: %s", error)
        redis_error = repr(error)
        items = [_outbox_item(row) for row in db.session.scalars(
            select(JobOutbox).where(JobOutbox.status == "failed")
            .order_by(JobOutbox.id.desc()).limit(limit))]
        attempts = _outbox_attempts(items)
    items = [{**item, "attempts": attempts.get(item["id"])} for item in items]
    return FailedJobsOverview(items, outbox_depth(), redis_error)


def _outbox_item(row: JobOutbox) -> dict[str, Any]:
    # The shape failed_jobs() gives an outbox row.
    return {"id": f"outbox-{row.id}", "queue": row.queue, "func": row.func, "args": row.args,
            "failed_at": _iso(row.next_attempt_at), "error": row.last_error,
            "source": "outbox"}


def _attempts(app: Flask, items: list[dict[str, Any]]) -> dict[str, int | None]:
    attempts = _outbox_attempts(items)
    rq_ids = [item["id"] for item in items if item["source"] == "rq"]
    if rq_ids:
        from rq.job import Job

        for rq_job in Job.fetch_many(rq_ids, connection=redis_connection(app)):
            if rq_job is not None:
                attempts[rq_job.id] = _rq_attempts(rq_job)
    return attempts


def _outbox_attempts(items: list[dict[str, Any]]) -> dict[str, int | None]:
    ids = [int(match.group(1)) for item in items if item["source"] == "outbox"
           and (match := _OUTBOX_JOB_ID.fullmatch(item["id"]))]
    if not ids:
        return {}
    return {f"outbox-{row_id}": count for row_id, count in db.session.execute(
        select(JobOutbox.id, JobOutbox.attempts).where(JobOutbox.id.in_(ids)))}


def _rq_attempts(rq_job) -> int | None:
    """Runs in the job's last round: RQ keeps retries left, not the maximum it started with."""
    if rq_job.retries_left is None:
        return 1  # enqueued without retries
    if list(rq_job.retry_intervals or ()) == list(RETRY_INTERVALS):  # our policy (enqueue)
        return 1 + len(RETRY_INTERVALS) - rq_job.retries_left
    return None


def retry_failed_job(app: Flask, job_id: str) -> None:
    """Run a failed job again with a fresh set of retries; NotFound if no such failed job.

    An outbox row is removed and the job dispatched once the caller commits (run in-process
    in embedded mode, handed to RQ otherwise); an RQ job is requeued at once.
    """
    row = _failed_outbox_row(job_id)
    if row is not None:
        pending = PendingJob(row.func, tuple(row.args), row.queue)
        db.session.delete(row)
        session = db.session()
        session.info.setdefault("pending_jobs", []).append(pending)
        return
    from redis.exceptions import RedisError

    try:
        rq_job, registry = _failed_rq_job(app, job_id)
        rq_job.retries_left = len(RETRY_INTERVALS)
        rq_job.retry_intervals = list(RETRY_INTERVALS)
        registry.requeue(rq_job)
    except RedisError as error:
        raise QueueUnavailable(f"Redis did not answer: {error}") from None


def discard_failed_job(app: Flask, job_id: str) -> None:
    """Forget a failed job for good; NotFound if no such failed job."""
    row = _failed_outbox_row(job_id)
    if row is not None:
        db.session.delete(row)
        return
    from redis.exceptions import RedisError

    try:
        rq_job, _registry = _failed_rq_job(app, job_id)
        rq_job.delete()  # its hash, results and every registry entry
    except RedisError as error:
        raise QueueUnavailable(f"Redis did not answer: {error}") from None


def _failed_outbox_row(job_id: str) -> JobOutbox | None:
    match = _OUTBOX_JOB_ID.fullmatch(job_id or "")
    if match is None:
        return None
    row = db.session.scalar(select(JobOutbox).where(JobOutbox.id == int(match.group(1)),
                                                    JobOutbox.status == "failed")
                            .with_for_update())
    if row is None:
        raise NotFound("No such failed job.")
    return row


def _failed_rq_job(app: Flask, job_id: str):
    """The RQ job with this id in one of our queues' failed registries, and that registry."""
    if not app.config.get("REDIS_URL") or not _RQ_JOB_ID.fullmatch(job_id or ""):
        raise NotFound("No such failed job.")
    from rq import Queue
    from rq.registry import FailedJobRegistry

    connection = redis_connection(app)
    for name in QUEUES:
        queue = Queue(name, connection=connection)
        registry = FailedJobRegistry(queue=queue)
        if connection.zscore(registry.key, job_id) is None:
            continue
        rq_job = queue.fetch_job(job_id)
        if rq_job is None:  # its hash expired: nothing left to run or show
            break
        return rq_job, registry
    raise NotFound("No such failed job.")


def redis_connection(app: Flask):
    """The app's Redis client, created once per process."""
    client = app.extensions.get("loopdesk_redis")
    if client is None:
        from redis import Redis

        client = Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=1,
                                socket_timeout=2)
        app.extensions["loopdesk_redis"] = client
    return client


def _resolve(path: str) -> Callable:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


_executor_lock = threading.Lock()
_executor_instance: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _executor_instance
    with _executor_lock:
        if _executor_instance is None:
            _executor_instance = ThreadPoolExecutor(max_workers=2, thread_name_prefix="jobs")
        return _executor_instance


_worker_app: Flask | None = None


def worker_app() -> Flask:
    """The app an RQ worker process runs jobs in (built once from the environment)."""
    global _worker_app
    if _worker_app is None:
        from service import create_app

        _worker_app = create_app()
    return _worker_app
