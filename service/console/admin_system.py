"""Admin pages: failed background jobs, stored outbound mail, inbound mail records."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import (Blueprint, Response, current_app, flash, redirect, render_template,
                   request, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select

from service import jobs
from service.auth.permissions import Permission
from service.console.access import staff_required
from service.errors import Conflict, NotFound
from service.extensions import db
from service.notify.models import OutboundMail
from service.notify.redaction import redact_links
from service.pagination import decode_cursor, encode_cursor
from service.validation import strip_controls
from tickets.channels.email import inbound
from tickets.channels.email.models import InboundEmail, InboundStatus
from tickets.models import format_number

blueprint = Blueprint("admin_system", __name__, url_prefix="/console/admin",
                      template_folder="templates")

PAGE_SIZE = 50
MAX_JOB_ID = 200
OUTBOUND_STATUS_LABELS = {"queued": _l("Queued"), "sending": _l("Sending"),
                          "sent": _l("Sent"), "logged": _l("Kept, not sent (no SMTP)")}
INBOUND_STATUS_LABELS = {InboundStatus.RECEIVED.value: _l("Received, waiting"),
                         InboundStatus.PROCESSED.value: _l("Filed on a ticket"),
                         InboundStatus.IGNORED.value: _l("Ignored"),
                         InboundStatus.FAILED.value: _l("Failed")}
# A mail body's HTML is shown only inside a sandboxed frame; this page also keeps remote
# images, media and fonts from loading (tracking pixels), whatever the HTML says.
MAIL_PAGE_CSP = "img-src 'self' data:; media-src 'none'; font-src 'self'; object-src 'none'"


@blueprint.context_processor
def _labels() -> dict:
    return {"outbound_status_label": lambda v: OUTBOUND_STATUS_LABELS.get(str(v), v),
            "inbound_status_label": lambda v: INBOUND_STATUS_LABELS.get(str(v), v),
            "ticket_number": format_number}


def _see_other(endpoint: str, **values):
    return redirect(url_for(endpoint, **values), 303)


# ---- failed jobs ----

@blueprint.get("/jobs")
@staff_required(Permission.ADMIN_JOBS)
def failed_jobs():
    """Jobs that exhausted their retries (RQ's failed registry or the outbox), and the outbox."""
    overview = jobs.failed_jobs_overview(current_app._get_current_object())
    return render_template("console/admin/jobs.html", items=[_job_view(i) for i in overview.items],
                           outbox_pending=overview.outbox_pending,
                           redis_error=overview.redis_error,
                           rq_mode=bool(current_app.config.get("REDIS_URL")))


def _job_view(item: dict[str, Any]) -> dict[str, Any]:
    """What the page shows of a failed job: the error's last line, arguments kept short."""
    error = (item.get("error") or "").strip()
    lines = [line for line in error.splitlines() if line.strip()]
    failed_at = None
    if item.get("failed_at"):
        try:
            failed_at = datetime.fromisoformat(item["failed_at"])
        except ValueError:
            failed_at = None
    args = ", ".join(_short(repr(value)) for value in (item.get("args") or []))
    return {**item, "error_line": (lines[-1] if lines else "")[:500],
            "traceback": error if len(lines) > 1 else None, "args_text": _short(args, 300),
            "failed_at_time": failed_at}


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _job_action(job_id: str, action) -> Response | None:
    """Run a retry or discard; a redirect with an error when Redis did not answer, else None."""
    if len(job_id) > MAX_JOB_ID:
        raise NotFound("No such failed job.")
    try:
        action(current_app._get_current_object(), job_id)
    except jobs.QueueUnavailable:
        db.session.rollback()
        flash(_("The queue (Redis) did not answer; nothing was changed. Try again later."),
              "error")
        return _see_other(".failed_jobs")
    db.session.commit()
    return None


@blueprint.post("/jobs/<job_id>/retry")
@staff_required(Permission.ADMIN_JOBS)
def retry_job(job_id: str):
    """Run a failed job again, with a fresh set of retries."""
    failed = _job_action(job_id, jobs.retry_failed_job)
    if failed is not None:
        return failed
    flash(_("The job was queued to run again."), "success")
    return _see_other(".failed_jobs")


@blueprint.post("/jobs/<job_id>/discard")
@staff_required(Permission.ADMIN_JOBS)
def discard_job(job_id: str):
    """Forget a failed job for good."""
    failed = _job_action(job_id, jobs.discard_failed_job)
    if failed is not None:
        return failed
    flash(_("The failed job was discarded."), "success")
    return _see_other(".failed_jobs")


# ---- stored outbound mail (the dev mailbox) ----

def _newest_first(query: Select, model: Any, cursor: str | None,
                  limit: int = PAGE_SIZE) -> tuple[list, str | None]:
    """A newest-first page keyed on the model's id (InvalidInput on a bad cursor)."""
    if cursor:
        _value, last_id = decode_cursor(cursor, "id_desc")
        query = query.where(model.id < last_id)
    rows = list(db.session.scalars(query.order_by(model.id.desc()).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor("id_desc", None, rows[-1].id)


@blueprint.get("/mail")
@staff_required(Permission.ADMIN_MAIL)
def outbound_mail():
    """Mail we sent or kept, newest first, by recipient and status."""
    recipient = strip_controls(request.args.get("to", "")).strip().lower()[:254]
    status = request.args.get("status", "")
    status = status if status in OUTBOUND_STATUS_LABELS else ""
    query = select(OutboundMail)
    if recipient:
        query = query.where(OutboundMail.to_address == recipient)
    if status:
        query = query.where(OutboundMail.status == status)
    rows, next_cursor = _newest_first(query, OutboundMail, request.args.get("cursor") or None)
    return render_template("console/admin/mail_list.html", mails=rows, recipient=recipient,
                           status=status, statuses=OUTBOUND_STATUS_LABELS,
                           next_cursor=next_cursor)


@blueprint.get("/mail/<id:mail_id>")
@staff_required(Permission.ADMIN_MAIL)
def outbound_mail_detail(mail_id: int):
    """One mail: its headers, its text, and its HTML in a sandboxed frame."""
    mail = db.session.get(OutboundMail, mail_id)
    if mail is None:
        raise NotFound("No such mail.")
    # Customers' secret links (a survey's token) are never shown to staff.
    response = Response(render_template("console/admin/mail_detail.html", mail=mail,
                                        body_text=redact_links(mail.body_text),
                                        body_html=redact_links(mail.body_html),
                                        references=(mail.references or "").split()))
    response.headers["Content-Security-Policy"] = MAIL_PAGE_CSP
    return response


# ---- inbound mail records ----

@blueprint.get("/inbound-mail")
@staff_required(Permission.ADMIN_MAIL)
def inbound_mail():
    """Inbound messages as received, newest first, by status, with reasons and tickets."""
    status = request.args.get("status", "")
    status = status if status in INBOUND_STATUS_LABELS else ""
    query = select(InboundEmail)
    if status:
        query = query.where(InboundEmail.status == InboundStatus(status))
    rows, next_cursor = _newest_first(query, InboundEmail, request.args.get("cursor") or None)
    return render_template("console/admin/inbound_list.html", records=rows, status=status,
                           statuses=INBOUND_STATUS_LABELS, next_cursor=next_cursor,
                           reprocessable={InboundStatus.FAILED, InboundStatus.IGNORED})


def _inbound_record(inbound_id: int) -> InboundEmail:
    record = db.session.get(InboundEmail, inbound_id)
    if record is None:
        raise NotFound("No such inbound message.")
    return record


@blueprint.post("/inbound-mail/<id:inbound_id>/reprocess")
@staff_required(Permission.ADMIN_MAIL)
def reprocess_inbound(inbound_id: int):
    """Process a failed or ignored message again."""
    record = _inbound_record(inbound_id)
    status = request.form.get("status", "")
    back = {"status": status} if status in INBOUND_STATUS_LABELS else {}
    try:
        inbound.reprocess(record)
    except Conflict as error:
        db.session.rollback()
        flash(_("Message %(id)s was not reprocessed: %(reason)s", id=inbound_id,
                reason=error.detail), "error")
        return _see_other(".inbound_mail", **back)
    db.session.commit()
    flash(_("Message %(id)s was queued for processing again.", id=inbound_id), "success")
    return _see_other(".inbound_mail", **back)


@blueprint.get("/inbound-mail/<id:inbound_id>/raw")
@staff_required(Permission.ADMIN_MAIL)
def inbound_raw(inbound_id: int):
    """The message exactly as received, as a download (never shown in the browser)."""
    record = _inbound_record(inbound_id)
    return Response(record.raw, mimetype="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="inbound-{record.id}.eml"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})
