"""Admin pages for the system: failed jobs (embedded and RQ), outbound mail, inbound mail."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate

import pytest
import time_machine
from sqlalchemy import func, select

from service import jobs
from service.extensions import db
from service.notify import mail
from service.notify.models import OutboundMail
from tickets.channels.email import inbound
from tickets.channels.email.models import InboundEmail, InboundStatus

PAGES = ["/console/admin/jobs", "/console/admin/mail", "/console/admin/inbound-mail"]
CALLS: list[tuple] = []
FAILING = {"on": True}


@jobs.job(queue="default")
def breaks_until_fixed(value: int) -> None:
    """A job that fails while FAILING is on (the embedded outbox keeps it)."""
    if FAILING["on"]:
        raise RuntimeError(f"embedded boom {value}")
    CALLS.append(("fixed", value))


def rq_breaks_until_fixed(value: int) -> str:
    """The same for RQ, enqueued with rq's own API."""
    if FAILING["on"]:
        raise RuntimeError(f"rq boom {value}")
    CALLS.append(("rq fixed", value))
    return "done"


@pytest.fixture(autouse=True)
def _reset():
    CALLS.clear()
    FAILING["on"] = True


@pytest.fixture
def as_admin(client, console_login, make_user):
    return console_login(client, make_user("admin"))


def post(client, url, **data):
    return client.post(url, data={"csrf_token": client.csrf_token, **data})


def outbox_rows() -> list[jobs.JobOutbox]:
    db.session.expire_all()
    return list(db.session.scalars(select(jobs.JobOutbox).order_by(jobs.JobOutbox.id)))


def failed_in_outbox(value: int) -> jobs.JobOutbox:
    """Run a job through the real embedded path until it exhausts its retries."""
    moment = datetime(2026, 11, 23, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        jobs.enqueue(breaks_until_fixed, value)
        db.session.commit()
    for _ in range(len(jobs.RETRY_INTERVALS) + 1):
        moment += timedelta(hours=1)
        with time_machine.travel(moment, tick=False):
            jobs.sweep_outbox()
    [row] = [row for row in outbox_rows() if row.args == [value]]
    assert (row.status, row.attempts) == ("failed", len(jobs.RETRY_INTERVALS))
    return row


# ---- who may open what ----

@pytest.mark.parametrize("url", PAGES + ["/console/admin/mail/1",
                                         "/console/admin/inbound-mail/1/raw"])
def test_signed_out_visitors_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/console/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ["lead", "agent", "department", "sales"])
def test_only_admins_open_the_system_pages(client, console_login, make_user, role):
    console_login(client, make_user(role))
    for url in PAGES:
        assert client.get(url).status_code == 403, url
    assert post(client, "/console/admin/jobs/outbox-1/retry").status_code == 403
    assert post(client, "/console/admin/inbound-mail/1/reprocess").status_code == 403


def test_admin_opens_every_page(as_admin):
    for url in PAGES:
        assert as_admin.get(url).status_code == 200, url


# ---- failed jobs, embedded mode (the outbox) ----

def test_failed_outbox_jobs_are_listed(as_admin):
    row = failed_in_outbox(41)
    jobs.enqueue(breaks_until_fixed, 42)  # fails once: pending in the outbox, not failed
    db.session.commit()
    page = as_admin.get("/console/admin/jobs").get_data(as_text=True)
    assert "tests.console.test_admin_system.breaks_until_fixed" in page
    assert "41" in page and "RuntimeError(&#39;embedded boom 41&#39;)" in page
    assert f"outbox-{row.id}" in page
    assert f'<td class="num">{len(jobs.RETRY_INTERVALS)}</td>' in page
    assert "1 jobs" in page  # the outbox depth: the pending one


def test_retry_runs_an_outbox_job_again(as_admin):
    row = failed_in_outbox(7)
    FAILING["on"] = False
    response = post(as_admin, f"/console/admin/jobs/outbox-{row.id}/retry")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/console/admin/jobs")
    assert CALLS == [("fixed", 7)]  # JOBS_EAGER: it ran after the commit
    assert outbox_rows() == []


def test_a_retried_job_that_fails_again_starts_a_fresh_backoff(as_admin):
    row = failed_in_outbox(8)
    assert post(as_admin, f"/console/admin/jobs/outbox-{row.id}/retry").status_code == 303
    [again] = outbox_rows()
    assert (again.status, again.attempts, again.args) == ("pending", 1, [8])


def test_discard_forgets_an_outbox_job(as_admin):
    row = failed_in_outbox(9)
    response = post(as_admin, f"/console/admin/jobs/outbox-{row.id}/discard")
    assert response.status_code == 303
    assert outbox_rows() == [] and CALLS == []
    assert "No failed jobs." in as_admin.get("/console/admin/jobs").get_data(as_text=True)


def test_pending_outbox_jobs_are_not_failed_jobs(as_admin):
    jobs.enqueue(breaks_until_fixed, 10)
    db.session.commit()
    [row] = outbox_rows()
    for action in ("retry", "discard"):
        assert post(as_admin, f"/console/admin/jobs/outbox-{row.id}/{action}").status_code == 404
    assert outbox_rows()[0].status == "pending"


@pytest.mark.parametrize("job_id", ["outbox-99999", "outbox-abc", "outbox-" + "9" * 30,
                                    "nonsense", "x" * 300, "%E4%B8%AD", "0"])
def test_unknown_job_ids_are_not_found(as_admin, job_id):
    for action in ("retry", "discard"):
        assert post(as_admin, f"/console/admin/jobs/{job_id}/{action}").status_code == 404


def test_job_actions_need_the_csrf_token_and_post(as_admin):
    row = failed_in_outbox(11)
    assert as_admin.post(f"/console/admin/jobs/outbox-{row.id}/discard").status_code == 400
    assert as_admin.get(f"/console/admin/jobs/outbox-{row.id}/discard").status_code == 405
    assert [r.id for r in outbox_rows()] == [row.id]


# ---- failed jobs, RQ mode (a real Redis, a real worker in-process) ----

@pytest.fixture
def rq_app(app, redis_url):
    app.config["REDIS_URL"] = redis_url
    yield app
    client = app.extensions.pop("loopdesk_redis", None)
    if client is not None:
        client.close()


def rq_failed_job(app, value: int):
    """Enqueue with rq's API (no retries) and let a burst worker fail it."""
    from rq import Queue, SimpleWorker

    connection = jobs.redis_connection(app)
    queue = Queue("default", connection=connection)
    job = queue.enqueue(rq_breaks_until_fixed, value)
    SimpleWorker([queue], connection=connection).work(burst=True)
    return queue, job


def run_worker(queue) -> None:
    from rq import SimpleWorker

    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def test_rq_failed_jobs_are_listed(rq_app, as_admin):
    queue, job = rq_failed_job(rq_app, 5)
    page = as_admin.get("/console/admin/jobs").get_data(as_text=True)
    assert job.id in page
    assert "tests.console.test_admin_system.rq_breaks_until_fixed" in page
    assert "RuntimeError: rq boom 5" in page
    assert "Full traceback" in page and "Traceback (most recent call last)" in page
    assert '<td class="num">1</td>' in page  # ran once: enqueued without retries


def test_rq_retry_requeues_with_fresh_retries(rq_app, as_admin):
    from rq.job import Job, JobStatus
    from rq.registry import FailedJobRegistry

    queue, job = rq_failed_job(rq_app, 6)
    assert post(as_admin, f"/console/admin/jobs/{job.id}/retry").status_code == 303
    job = Job.fetch(job.id, connection=queue.connection)
    assert job.get_status() == JobStatus.QUEUED
    assert job.retries_left == len(jobs.RETRY_INTERVALS)
    assert job.id not in FailedJobRegistry(queue=queue).get_job_ids()

    run_worker(queue)  # still broken: RQ schedules the next attempt with our backoff
    job = Job.fetch(job.id, connection=queue.connection)
    assert job.get_status() == JobStatus.SCHEDULED
    assert job.retries_left == len(jobs.RETRY_INTERVALS) - 1


def test_rq_retry_of_a_fixed_job_finishes_it(rq_app, as_admin):
    from rq.job import Job, JobStatus
    from rq.registry import FailedJobRegistry

    queue, job = rq_failed_job(rq_app, 12)
    FAILING["on"] = False
    assert post(as_admin, f"/console/admin/jobs/{job.id}/retry").status_code == 303
    run_worker(queue)
    assert Job.fetch(job.id, connection=queue.connection).get_status() == JobStatus.FINISHED
    assert CALLS == [("rq fixed", 12)]
    assert FailedJobRegistry(queue=queue).get_job_ids() == []
    assert "No failed jobs." in as_admin.get("/console/admin/jobs").get_data(as_text=True)


def test_rq_discard_deletes_the_job(rq_app, as_admin):
    from rq.exceptions import NoSuchJobError
    from rq.job import Job
    from rq.registry import FailedJobRegistry

    queue, job = rq_failed_job(rq_app, 13)
    assert post(as_admin, f"/console/admin/jobs/{job.id}/discard").status_code == 303
    assert FailedJobRegistry(queue=queue).get_job_ids() == []
    with pytest.raises(NoSuchJobError):
        Job.fetch(job.id, connection=queue.connection)
    assert post(as_admin, f"/console/admin/jobs/{job.id}/retry").status_code == 404


def test_rq_unknown_and_finished_jobs_are_not_found(rq_app, as_admin):
    from rq import Queue

    connection = jobs.redis_connection(rq_app)
    queue = Queue("default", connection=connection)
    FAILING["on"] = False
    finished = queue.enqueue(rq_breaks_until_fixed, 14)
    run_worker(queue)
    for job_id in (finished.id, "0f0e0d0c-0000-4000-8000-000000000000", "bad:id"):
        assert post(as_admin, f"/console/admin/jobs/{job_id}/retry").status_code == 404


def test_redis_down_is_shown_not_a_500(app, as_admin):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    page = as_admin.get("/console/admin/jobs")
    assert page.status_code == 200
    assert "Redis did not answer" in page.get_data(as_text=True)
    response = post(as_admin, "/console/admin/jobs/0f0e0d0c-0000-4000-8000-000000000000/retry")
    assert response.status_code == 303
    assert "did not answer" in as_admin.get("/console/admin/jobs").get_data(as_text=True)


# ---- stored outbound mail ----

def test_outbound_mail_list_and_detail_escape_everything(as_admin):
    sent = mail.send_mail("ack:ticket:1", "alice@example.com", "<script>alert(1)</script> Hi",
                          "Plain <i>text</i> body",
                          html='<p onclick="steal()">Hello & <b>bye</b></p><script>x()</script>')
    assert sent.status == "logged"  # no SMTP server: kept for this page
    page = as_admin.get("/console/admin/mail").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Hi" in page
    assert "alice@example.com" in page and "ack" in page

    response = as_admin.get(f"/console/admin/mail/{sent.id}")
    assert response.status_code == 200
    detail = response.get_data(as_text=True)
    assert "<script>" not in detail and "<b>bye</b>" not in detail
    assert "<p onclick" not in detail
    assert "Plain &lt;i&gt;text&lt;/i&gt; body" in detail
    iframe = detail[detail.index("<iframe"):detail.index("</iframe>")]
    assert 'sandbox=""' in iframe
    assert ('srcdoc="&lt;p onclick=&#34;steal()&#34;&gt;Hello &amp; &lt;b&gt;bye&lt;/b&gt;'
            '&lt;/p&gt;&lt;script&gt;x()&lt;/script&gt;"') in iframe
    assert detail.count("steal()") == 1  # only inside the frame's attribute
    assert "img-src 'self' data:" in response.headers["Content-Security-Policy"]
    assert f"&lt;{sent.message_id}&gt;" in detail


def test_outbound_mail_filter_by_recipient(as_admin):
    mail.send_mail("test:a", "alice@example.com", "For Alice", "a")
    mail.send_mail("test:b", "bob@example.com", "For Bob", "b")
    page = as_admin.get("/console/admin/mail?to=ALICE@example.com").get_data(as_text=True)
    assert "For Alice" in page and "For Bob" not in page
    page = as_admin.get("/console/admin/mail?status=sent").get_data(as_text=True)
    assert "No mail matches." in page


def test_outbound_mail_pages_newest_first(as_admin):
    for number in range(55):
        mail.send_mail(f"test:{number}", "pager@example.com", f"Mail number {number:02d}", "x")
    first = as_admin.get("/console/admin/mail").get_data(as_text=True)
    assert "Mail number 54" in first and "Mail number 05" in first
    assert "Mail number 04" not in first
    assert first.index("Mail number 54") < first.index("Mail number 53")
    cursor = first.split("cursor=")[1].split('"')[0]
    older = as_admin.get(f"/console/admin/mail?cursor={cursor}").get_data(as_text=True)
    assert "Mail number 04" in older and "Mail number 00" in older
    assert "Mail number 05" not in older


@pytest.mark.parametrize("url, status", [
    ("/console/admin/mail?cursor=garbage", 400), ("/console/admin/mail?to=" + "x" * 5000, 200),
    ("/console/admin/mail?status=<b>", 200), ("/console/admin/mail?to=a%00b", 200),
    ("/console/admin/mail/99999", 404),
    ("/console/admin/mail/0", 404), ("/console/admin/mail/abc", 404),
])
def test_outbound_mail_odd_requests(as_admin, url, status):
    assert as_admin.get(url).status_code == status


# ---- inbound mail records ----

def raw_mail(sender: str | None = "alice@customer.test", subject: str = "Printer jammed",
             message_id: str = "<m1@customer.test>") -> bytes:
    message = EmailMessage()
    if sender:
        message["From"] = f"Alice <{sender}>"
    message["To"] = "help@loopdesk.local"
    message["Subject"] = subject
    message["Date"] = formatdate()
    message["Message-ID"] = message_id
    message.set_content("It jams on page 2.")
    return message.as_bytes()


def receive(raw: bytes) -> InboundEmail:
    record = inbound.receive(None, raw, "http").record
    db.session.expire_all()
    return db.session.get(InboundEmail, record.id)


def test_inbound_list_shows_status_reason_and_ticket(as_admin):
    filed = receive(raw_mail(subject="<b>Filed</b> one", message_id="<ok@customer.test>"))
    failed = receive(raw_mail(sender=None, subject="No sender", message_id="<bad@test>"))
    assert filed.status == InboundStatus.PROCESSED and filed.ticket_id
    assert failed.status == InboundStatus.FAILED
    page = as_admin.get("/console/admin/inbound-mail").get_data(as_text=True)
    assert "&lt;b&gt;Filed&lt;/b&gt; one" in page and "<b>Filed</b>" not in page
    assert f"T-{filed.ticket_id:06d}" in page
    assert "No sender" in page and "no usable From address" in page
    only_failed = as_admin.get("/console/admin/inbound-mail?status=failed").get_data(
        as_text=True)
    assert "No sender" in only_failed and "Filed</b> one" not in only_failed
    assert as_admin.get("/console/admin/inbound-mail?status=<x>").status_code == 200
    assert as_admin.get("/console/admin/inbound-mail?cursor=%ff").status_code == 400


def test_reprocess_files_an_ignored_message_once_the_cause_is_gone(app, as_admin):
    ours = receive(raw_mail(sender="support@loopdesk.local", subject="Loop"))
    assert ours.status == InboundStatus.IGNORED
    app.config["MAIL_FROM"] = "Help <help@elsewhere.test>"  # no longer our address
    response = post(as_admin, f"/console/admin/inbound-mail/{ours.id}/reprocess",
                    status="ignored")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/console/admin/inbound-mail?status=ignored")
    db.session.expire_all()
    record = db.session.get(InboundEmail, ours.id)
    assert record.status == InboundStatus.PROCESSED and record.ticket_id is not None


def test_reprocessing_a_processed_message_is_an_error_message_not_a_500(as_admin):
    filed = receive(raw_mail())
    response = post(as_admin, f"/console/admin/inbound-mail/{filed.id}/reprocess")
    assert response.status_code == 303
    page = as_admin.get("/console/admin/inbound-mail").get_data(as_text=True)
    assert "was not reprocessed" in page and "processed already" in page
    db.session.expire_all()
    assert db.session.get(InboundEmail, filed.id).status == InboundStatus.PROCESSED


def test_reprocess_needs_the_csrf_token(as_admin):
    failed = receive(raw_mail(sender=None))
    response = as_admin.post(f"/console/admin/inbound-mail/{failed.id}/reprocess")
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(InboundEmail, failed.id).attempts == 1


def test_raw_download_is_an_attachment(as_admin):
    raw = raw_mail(subject="<script>alert(1)</script>")
    record = receive(raw)
    response = as_admin.get(f"/console/admin/inbound-mail/{record.id}/raw")
    assert response.status_code == 200
    assert response.data == raw
    assert response.mimetype == "application/octet-stream"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="inbound-{record.id}.eml"')
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("url", ["/console/admin/inbound-mail/99999/raw",
                                 "/console/admin/inbound-mail/0/raw",
                                 "/console/admin/inbound-mail/abc/raw"])
def test_unknown_inbound_records_are_not_found(as_admin, url):
    assert as_admin.get(url).status_code == 404
    assert post(as_admin, url.replace("/raw", "/reprocess")).status_code == 404


def test_nothing_is_written_by_looking(as_admin):
    failed_in_outbox(1)
    receive(raw_mail(sender=None))
    mail.send_mail("test:look", "a@example.com", "Look", "x")
    before = [db.session.scalar(select(func.count()).select_from(model))
              for model in (jobs.JobOutbox, InboundEmail, OutboundMail)]
    for url in PAGES:
        as_admin.get(url)
    after = [db.session.scalar(select(func.count()).select_from(model))
             for model in (jobs.JobOutbox, InboundEmail, OutboundMail)]
    assert before == after
