"""Inbound email: keep every message as received, then turn it into a ticket or a reply.

`receive` stores the raw bytes (deduplicated by Message-ID) and commits before anything
else happens, so a message is never lost; `process` parses it and goes through intake or
the conversation service. Whatever goes wrong is recorded on the inbound record with the
reason, for admins to see and reprocess.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from service import jobs
from service.db_types import utcnow
from service.directory import services as directory
from service.errors import Conflict, DomainError
from service.extensions import db
from service.i18n import locale_for
from tickets import attachments, intake, lifecycle, timeline
from tickets.channels.email import threads
from tickets.channels.email.mailboxes import our_addresses
from tickets.channels.email.models import InboundEmail, InboundStatus
from tickets.channels.email.parse import ParsedEmail, UnparseableEmail, parse_email
from tickets.channels.email.quotes import strip_reply
from tickets.conversation import add_customer_message, add_staff_message
from tickets.models import Channel, Message, Status, Ticket, Visibility
from tickets.resolution import services as resolution
from tickets.resolution.models import (ConfirmationChannel, ConfirmationOutcome,
                                       ConfirmationState)
# "It is still broken": a reply to a resolved ticket reopens it only when it says so.
from tickets.still_a_problem import says_still_a_problem

log = logging.getLogger(__name__)

MAX_BODY_CHARS = 100_000
SUBJECT_MAX = 200


@dataclass(frozen=True)
class ReceiveResult:
    record: InboundEmail
    duplicate: bool


def receive(mailbox_id: int | None, raw: bytes, source: str) -> ReceiveResult:
    """Store a raw message once per Message-ID and queue its processing (commits)."""
    limit = current_app.config["INBOUND_EMAIL_MAX_BYTES"]
    oversize = len(raw) > limit
    # An oversize message is kept but never parsed whole: its headers name it.
    summary = _headers_of(raw if not oversize else _header_block(raw))
    message_id = (summary.message_id if summary and summary.message_id
                  else f"sha256.{hashlib.sha256(raw).hexdigest()}@no-message-id")
    existing = _by_message_id(message_id)
    if existing is not None:
        return ReceiveResult(existing, duplicate=True)
    record = InboundEmail(mailbox_id=mailbox_id, message_id=message_id, source=source,
                          raw=raw, size=len(raw),
                          from_address=summary.from_address if summary else None,
                          subject=(summary.subject[:300] or None) if summary else None,
                          status=InboundStatus.RECEIVED, received_at=utcnow())
    if oversize:
        record.status, record.reason = InboundStatus.FAILED, (
            f"The message is {len(raw)} bytes, over the {limit}-byte limit; it was kept "
            "but not processed.")
    try:
        with db.session.begin_nested():
            db.session.add(record)
    except IntegrityError:  # the same message arrived concurrently by another path
        db.session.rollback()
        return ReceiveResult(_by_message_id(message_id), duplicate=True)
    if record.status == InboundStatus.RECEIVED:
        from tickets.channels.email import jobs as email_jobs

        jobs.enqueue(email_jobs.process_inbound_email, record.id)
    db.session.commit()
    return ReceiveResult(record, duplicate=False)


def _header_block(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0] + b"\r\n\r\n"


def _headers_of(raw: bytes) -> ParsedEmail | None:
    """The parsed message for naming its record, or None if unreadable (`process` says why)."""
    try:
        return parse_email(raw)
    except UnparseableEmail:
        return None


def _by_message_id(message_id: str) -> InboundEmail | None:
    return db.session.scalar(select(InboundEmail).where(InboundEmail.message_id == message_id))


def process(inbound_id: int) -> None:
    """Turn a stored message into a ticket or a reply, or record why it could not be."""
    record = db.session.scalar(select(InboundEmail).where(InboundEmail.id == inbound_id)
                               .with_for_update())
    if record is None or record.status != InboundStatus.RECEIVED:
        db.session.rollback()
        return  # processed already: a duplicate job does nothing
    record.attempts += 1
    try:
        parsed = parse_email(record.raw)
        status, reason = _handle(record, parsed)
    except UnparseableEmail as error:
        db.session.rollback()
        _finish(inbound_id, InboundStatus.FAILED, f"Not a readable email: {error}")
        return
    except OperationalError:
        db.session.rollback()
        raise  # the database is away: the job is retried later
    except DomainError as error:
        db.session.rollback()
        _finish(inbound_id, InboundStatus.FAILED, f"Refused: {error.detail or error.title}")
        return
    except Exception as error:  # a bug must not lose the mail or stop the worker
        db.session.rollback()
        log.exception("inbound email %s could not be processed", inbound_id)
        _finish(inbound_id, InboundStatus.FAILED, f"Processing failed: {type(error).__name__}")
        return
    record.status, record.reason, record.processed_at = status, reason, utcnow()
    db.session.commit()


def reprocess(record: InboundEmail) -> None:
    """Queue a failed or ignored message for processing again (an admin's decision)."""
    if record.status == InboundStatus.PROCESSED:
        raise Conflict("This message was processed already.")
    record.status, record.reason = InboundStatus.RECEIVED, None
    from tickets.channels.email import jobs as email_jobs

    jobs.enqueue(email_jobs.process_inbound_email, record.id)


def _finish(inbound_id: int, status: InboundStatus, reason: str) -> None:
    record = db.session.get(InboundEmail, inbound_id)
    record.status, record.reason, record.processed_at = status, reason[:2000], utcnow()
    record.attempts += 1
    db.session.commit()


def _handle(record: InboundEmail, parsed: ParsedEmail) -> tuple[InboundStatus, str | None]:
    sender = parsed.from_address
    if not sender:
        return InboundStatus.FAILED, "The message has no usable From address."
    if sender in our_addresses():
        return InboundStatus.IGNORED, "Sent from one of our own addresses (a mail loop)."
    if parsed.is_bounce:
        return _bounce(record, parsed)
    thread = threads.find(parsed, sender)
    now = utcnow()
    ticket = thread.ticket
    if ticket is not None and ticket.status == Status.CLOSED:
        if thread.agent is not None:  # an agent is no customer: never a follow-up ticket
            record.ticket_id = ticket.id
            return InboundStatus.IGNORED, (f"{thread.agent.email} replied by mail to "
                                           f"{ticket.number}, which is closed; not sent.")
        # Soon after closing, the customer's reply reopens the ticket (an auto-reply never
        # does); later it is a repeat contact: a new ticket linked to the old one.
        if parsed.auto_submitted or not resolution.within_grace(ticket, now):
            return _new_ticket(record, parsed, now, follow_up_of=ticket)
        contact = directory.find_or_create_contact(parsed.from_address, parsed.from_name)
        resolution.reopen_after_close(ticket, contact_id=contact.id, channel=Channel.EMAIL,
                                      now=now)
    if ticket is None:
        return _new_ticket(record, parsed, now)
    message = _reply(record, parsed, ticket, thread, now)
    _keep_attachments(ticket.id, message, parsed, now)
    threads.remember(record.message_id, ticket.id, "in")
    record.ticket_id, record.ticket_message_id = ticket.id, message.id
    return InboundStatus.PROCESSED, None


def _reply(record: InboundEmail, parsed: ParsedEmail, ticket: Ticket,
           thread: threads.Thread, now: datetime) -> Message:
    ticket = db.session.scalar(select(Ticket).where(Ticket.id == ticket.id).with_for_update())
    reply = strip_reply(parsed.text)
    body = _body_text(reply.text, parsed)
    original = parsed.text[:MAX_BODY_CHARS] if reply.stripped else None
    if thread.agent is not None:
        return add_staff_message(ticket, thread.agent, body, Visibility.PUBLIC, now,
                                 channel=Channel.EMAIL, original_body=original)
    contact = directory.find_or_create_contact(parsed.from_address, parsed.from_name)
    says_still_broken = says_still_a_problem(reply.text)
    message = add_customer_message(ticket, contact.id, body, Channel.EMAIL, now,
                                   body_html=parsed.html, original_body=original,
                                   counts_as_answer=not parsed.auto_submitted)
    if ticket.status == Status.RESOLVED and says_still_broken and not parsed.auto_submitted:
        _still_a_problem(ticket, contact.id, body, now)
    return message


def _still_a_problem(ticket: Ticket, contact_id: int, body: str, now: datetime) -> None:
    """The customer answered the resolution in words: "still a problem" reopens the ticket,
    kept as their answer (evidence) when a confirmation was pending."""
    pending = resolution.current_resolution(ticket.id)
    if pending is not None and pending.state == ConfirmationState.PENDING:
        # Their mail is on the ticket already: it is the comment, not a second message.
        resolution.record_answer(ticket, pending, ConfirmationOutcome.REJECTED,
                                 channel=ConfirmationChannel.EMAIL_REPLY,
                                 contact_id=contact_id, comment=body[:resolution.TEXT_MAX],
                                 now=now, comment_is_message=True)
        return
    lifecycle.change_status(ticket, Status.REOPENED, actor=None, contact_id=contact_id,
                            now=now, channel=Channel.EMAIL.value,
                            reason="the customer wrote that it is still a problem")


def _new_ticket(record: InboundEmail, parsed: ParsedEmail, now: datetime,
                follow_up_of: Ticket | None = None) -> tuple[InboundStatus, str | None]:
    body = _body_text(parsed.text, parsed)
    subject = parsed.subject[:SUBJECT_MAX].strip() or intake.subject_from(body)
    result = intake.submit(intake.IntakeRequest(
        subject=subject, description=body, customer_email=parsed.from_address,
        customer_name=parsed.from_name, channel=Channel.EMAIL,
        body_html=parsed.html,
        # RFC 3834: never answer an automatic message (out-of-office, lists, bulk).
        acknowledge=not parsed.auto_submitted,
        # Intake links both tickets and records it on both timelines.
        follow_up_of_id=follow_up_of.id if follow_up_of is not None else None), commit=False)
    ticket, message = result.ticket, result.message
    if parsed.auto_submitted:
        timeline.record(ticket.id, "acknowledgement_skipped", channel=Channel.EMAIL.value,
                        at=now, reason=parsed.auto_reason)
    _keep_attachments(ticket.id, message, parsed, now)
    threads.remember(record.message_id, ticket.id, "in")
    record.ticket_id, record.ticket_message_id = ticket.id, message.id if message else None
    return InboundStatus.PROCESSED, None


def _bounce(record: InboundEmail, parsed: ParsedEmail) -> tuple[InboundStatus, str]:
    marked = [address for address in parsed.bounced_recipients
              if directory.mark_bouncing(address)]
    ticket_id = None
    if parsed.bounced_message_ids:
        ticket_id = db.session.scalar(
            select(threads.TicketMailId.ticket_id)
            .where(threads.TicketMailId.message_id.in_(parsed.bounced_message_ids)).limit(1))
    if ticket_id is not None:
        timeline.record(ticket_id, "mail_bounced", channel=Channel.EMAIL.value,
                        recipients=parsed.bounced_recipients[:10])
        record.ticket_id = ticket_id
    who = ", ".join(parsed.bounced_recipients[:5]) or "an unknown recipient"
    return InboundStatus.IGNORED, (f"A delivery failure report for {who}"
                                   + ("; marked as bouncing." if marked else "."))


def _keep_attachments(ticket_id: int, message: Message | None, parsed: ParsedEmail,
                      now: datetime) -> None:
    for part in parsed.attachments:
        stored = attachments.store(ticket_id, message.id if message else None, part.filename,
                                   part.data, part.declared_type, content_id=part.content_id,
                                   inline=part.inline)
        if isinstance(stored, attachments.Refused):
            timeline.record(ticket_id, "attachment_refused", channel=Channel.EMAIL.value,
                            at=now, filename=stored.filename, size=stored.size,
                            reason=stored.reason)


def _body_text(text: str, parsed: ParsedEmail) -> str:
    text = text.strip()[:MAX_BODY_CHARS]
    if text:
        return text
    with force_locale(locale_for(intake.guess_language(parsed.subject))):
        return (_("(No text; see the attachments.)") if parsed.attachments
                else _("(The message had no text.)"))
