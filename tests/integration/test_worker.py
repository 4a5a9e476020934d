"""Background jobs end to end: real Redis, real `rq worker` subprocesses, real SMTP."""
from __future__ import annotations

import re
import subprocess
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import func, select, update

from service import jobs
from service.db_types import utcnow
from service.extensions import db
from service.jobs import JobOutbox
from service.notify.models import Notification, OutboundMail
from tickets import jobs as ticket_jobs
from tickets.models import Ticket, TicketEvent

from .conftest import RQ_BIN, ROOT, kill_group, wait_until

pytestmark = pytest.mark.integration

PORTAL_LINK = re.compile(r"http://support\.test(/portal/tickets/[A-Za-z0-9_.\-]+)")


@pytest.fixture
def agent(rq_stack, make_user, support_team):
    return make_user("agent", team=support_team)


@pytest.fixture
def outage_stack(make_stack, own_redis):
    """The app with jobs going to a redis-server of our own, which the test may stop."""
    return make_stack(own_redis.url)


def _mail_jobs(stack) -> list:
    queue = stack.queue("mail")
    return [queue.fetch_job(job_id) for job_id in queue.get_job_ids()]


# ---- a. intake → job after commit → worker → SMTP → portal link ----

def test_intake_acknowledgement_is_mailed_by_a_real_worker(rq_stack, agent, auth,
                                                           ticket_body):
    client = rq_stack.app.test_client()
    body = ticket_body()
    customer = body["customer"]["email"]

    response = client.post("/api/v1/tickets", json=body, headers=auth(agent))

    assert response.status_code == 201, response.json
    ticket_id, number = response.json["id"], response.json["number"]
    assert number == f"T-{ticket_id:06d}"
    queued = _mail_jobs(rq_stack)
    assert [(job.func_name, tuple(job.args)) for job in queued] == [
        ("tickets.jobs.send_acknowledgement", (ticket_id,))]
    assert rq_stack.smtp.mails == []  # nothing is sent by the web process itself

    rq_stack.run_burst_worker()

    assert len(rq_stack.smtp.mails) == 1
    mail = rq_stack.smtp.mails[0]
    assert mail.rcpt_tos == [customer]
    assert number in mail.subject
    link = PORTAL_LINK.search(mail.body)
    assert link, mail.body
    row = db.session.scalar(select(OutboundMail).where(
        OutboundMail.dedupe_key == f"ack:ticket:{ticket_id}"))
    assert row is not None and row.status == "sent" and row.to_address == customer

    portal = client.get(link.group(1))
    assert portal.status_code == 200
    assert number in portal.get_data(as_text=True)


def test_enqueue_reaches_redis_only_on_commit(rq_stack):
    queue = rq_stack.queue("mail")
    db.session.execute(select(1))  # an open transaction, as in any request

    jobs.enqueue(ticket_jobs.send_acknowledgement, 1)
    assert queue.count == 0  # not before commit
    db.session.rollback()
    assert queue.count == 0

    db.session.execute(select(1))
    jobs.enqueue(ticket_jobs.send_acknowledgement, 2)
    assert queue.count == 0
    db.session.commit()
    assert [tuple(job.args) for job in _mail_jobs(rq_stack)] == [(2,)]


def test_enqueue_before_any_query_is_still_dropped_by_rollback(rq_stack):
    queue = rq_stack.queue("mail")
    db.session.commit()  # no transaction is open now

    jobs.enqueue(ticket_jobs.send_acknowledgement, 1)
    db.session.rollback()
    db.session.execute(select(1))
    db.session.commit()  # a later, unrelated unit of work must not carry the job along

    assert queue.count == 0


# ---- b. SLA sweep in the worker ----

def test_sla_sweep_in_the_worker_warns_once_and_mails_one_digest(rq_stack, agent,
                                                                 make_ticket):
    # A normal ticket (first response 24 h, warning at 80 %) opened 20 hours ago.
    with time_machine.travel(utcnow() - timedelta(hours=20), tick=True):
        ticket = make_ticket()
    ticket_id = ticket.id
    assert ticket.assignee_id == agent.id
    assert ticket.first_response_warn_at < utcnow() < ticket.first_response_due_at

    jobs.enqueue(ticket_jobs.sweep_sla)
    db.session.commit()
    rq_stack.run_burst_worker()

    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket_id)
    assert ticket.first_response_warned_at is not None
    assert ticket.first_response_breached_at is None
    notices = db.session.scalars(select(Notification)).all()
    assert [(n.user_id, n.kind, n.subject_ref) for n in notices] == [
        (agent.id, "sla_warning", f"ticket:{ticket_id}")]
    assert notices[0].emailed_at is not None
    assert _events(ticket_id, "sla_warning") == 1
    digests = rq_stack.smtp.to(agent.email)
    assert len(digests) == 1
    assert ticket.number in digests[0].body
    assert len(rq_stack.smtp.to(ticket.contact.email)) == 1  # its acknowledgement

    # Sweep again, with the ticket forced due: it was warned already, so nothing new.
    db.session.execute(update(Ticket).where(Ticket.id == ticket_id)
                       .values(sla_next_check_at=utcnow() - timedelta(minutes=1)))
    jobs.enqueue(ticket_jobs.sweep_sla)
    db.session.commit()
    rq_stack.run_burst_worker()

    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 1
    assert _events(ticket_id, "sla_warning") == 1
    assert len(rq_stack.smtp.to(agent.email)) == 1
    assert len(rq_stack.smtp.mails) == 2


def _events(ticket_id: int, kind: str) -> int:
    return db.session.scalar(select(func.count()).select_from(TicketEvent).where(
        TicketEvent.ticket_id == ticket_id, TicketEvent.kind == kind))


# ---- c. Redis down at commit → outbox → Redis back → sweep → worker ----

def test_jobs_wait_in_the_outbox_while_redis_is_down(outage_stack, own_redis, make_user,
                                                     support_team, auth, ticket_body):
    stack = outage_stack
    agent = make_user("agent", team=support_team)
    headers = auth(agent)
    client = stack.app.test_client()
    body = ticket_body()

    own_redis.stop()
    started = time.monotonic()
    response = client.post("/api/v1/tickets", json=body, headers=headers)
    elapsed = time.monotonic() - started

    assert response.status_code == 201, response.json
    assert elapsed < 15, f"intake took {elapsed:.1f}s while Redis was down"
    ticket_id = response.json["id"]
    rows = db.session.scalars(select(JobOutbox)).all()
    # The acknowledgement, and the opportunity-signal scan of the new ticket.
    assert sorted((row.func, row.args, row.queue, row.status) for row in rows) == [
        ("surveys.signals.jobs.scan_new_ticket", [ticket_id], "default", "pending"),
        ("tickets.jobs.send_acknowledgement", [ticket_id], "mail", "pending")]
    assert all("onnection" in row.last_error for row in rows)  # redis ConnectionError

    own_redis.start()
    assert jobs.sweep_outbox() == 2

    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(JobOutbox)) == 0
    assert [(job.func_name, tuple(job.args)) for job in _mail_jobs(stack)] == [
        ("tickets.jobs.send_acknowledgement", (ticket_id,))]

    stack.run_burst_worker()

    mails = stack.smtp.to(body["customer"]["email"])
    assert len(mails) == 1
    assert f"T-{ticket_id:06d}" in mails[0].subject


# ---- d. a worker killed mid-job ----

@pytest.mark.parametrize("retries", [0, 1], ids=["no-retry", "retry"])
def test_job_of_a_killed_worker_is_failed_or_retried(rq_stack, make_user, auth, tmp_path,
                                                     retries):
    from rq import Retry
    from rq.job import Job, JobStatus
    from rq.registry import FailedJobRegistry, StartedJobRegistry

    queue = rq_stack.queue("default")
    marker = tmp_path / f"horse-{uuid.uuid4().hex}.pid"
    job = queue.enqueue("tests.integration.slow_jobs.hold", str(marker), 30, job_timeout=120,
                        retry=Retry(max=retries) if retries else None)
    log_path = tmp_path / "killed-worker.log"
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [RQ_BIN, "worker", "-u", rq_stack.redis_url, "--name", f"doomed-{uuid.uuid4().hex}",
             "default"], cwd=ROOT, env=rq_stack.worker_env(), stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    horse_pid = None
    try:
        started = StartedJobRegistry(queue=queue)
        wait_until(lambda: job.id in started.get_job_ids(cleanup=False) and marker.exists()
                   and marker.read_text(), timeout=30,
                   message=lambda: "the job to start:\n" + log_path.read_text(errors="replace"))
        horse_pid = int(marker.read_text())
        # kill -9 the worker's process group; the work-horse runs in a group of its own.
        kill_group(worker.pid)
        kill_group(horse_pid)
        worker.wait(timeout=10)
        wait_until(lambda: _dead(horse_pid), timeout=10, message="the work-horse to die")
    finally:
        kill_group(worker.pid)
        if horse_pid:
            kill_group(horse_pid)
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    assert job.get_status(refresh=True) == JobStatus.STARTED  # nobody told Redis
    # RQ treats a started job as abandoned once its heartbeat score (job monitoring
    # interval + 60 s) expires; any worker's maintenance then runs this cleanup. We run
    # it now, as of a moment after that expiry.
    entries = rq_stack.redis().zrange(started.key, 0, -1, withscores=True)
    assert len(entries) == 1
    started.cleanup(timestamp=entries[0][1] + 1)
    assert started.get_job_ids(cleanup=False) == []

    job = Job.fetch(job.id, connection=rq_stack.redis())
    if not retries:
        # Without retries RQ moves it to the FailedJobRegistry (AbandonedJobError).
        assert job.get_status() == JobStatus.FAILED
        assert job.id in FailedJobRegistry(queue=queue).get_job_ids()
        admin = make_user("admin")
        response = rq_stack.app.test_client().get("/api/v1/admin/jobs/failed",
                                                  headers=auth(admin))
        assert response.status_code == 200, response.json
        listed = [item for item in response.json["items"] if item["id"] == job.id]
        assert len(listed) == 1, response.json
        assert listed[0]["source"] == "rq"
        assert listed[0]["queue"] == "default"
        assert listed[0]["func"] == "tests.integration.slow_jobs.hold"
        assert listed[0]["args"] == [str(marker), 30]
        assert "AbandonedJobError" in listed[0]["error"]
        return
    # With a retry left RQ puts it back on its queue (no interval: at once), and the
    # next worker finishes it.
    assert job.get_status() == JobStatus.QUEUED
    assert job.retries_left == 0
    assert queue.get_job_ids() == [job.id]
    assert job.id not in FailedJobRegistry(queue=queue).get_job_ids()
    rq_stack.run_burst_worker(queues=("default",))
    job = Job.fetch(job.id, connection=rq_stack.redis())
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == "second attempt"


def _dead(pid: int) -> bool:
    """The process is gone or a zombie (its parent, the worker, was killed first)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in {"Z", "X"}


# ---- e. effects happen once ----

def test_acknowledgement_is_sent_once_however_often_the_job_runs(rq_stack, agent,
                                                                 make_ticket):
    ticket = make_ticket()  # its acknowledgement job waits in Redis
    ticket_id, customer = ticket.id, ticket.contact.email
    assert rq_stack.queue("mail").count == 1

    ticket_jobs.send_acknowledgement(ticket_id)
    ticket_jobs.send_acknowledgement(ticket_id)
    rq_stack.run_burst_worker()  # and the queued job runs a third time

    assert len(rq_stack.smtp.mails) == 1
    assert rq_stack.smtp.mails[0].rcpt_tos == [customer]
    db.session.expire_all()
    rows = db.session.scalars(select(OutboundMail)).all()
    assert [(row.dedupe_key, row.status) for row in rows] == [
        (f"ack:ticket:{ticket_id}", "sent")]
