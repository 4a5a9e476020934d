"""Logging phone calls on tickets: by staff, and as reported by the telephony system.

A call shows in three places: a CallLog row (the facts), a Message in the conversation
(channel phone) that summarises it, and a `call_logged` event on the timeline.

- Staff log a call on a ticket: the message is theirs, internal unless they make it public
  (a public one is a reply like any other). An outbound answered call meets first response
  at the time of the call; an answered inbound call on a ticket waiting for the customer
  counts as the customer answering (status back to open, the SLA clock resumes).
- The telephony system reports a call from a number: from a known caller with an open
  ticket, the call joins that ticket as the customer's message (so it answers a pending
  question); a missed call or voicemail with no open ticket opens one (an unknown number
  becomes a contact without email, who gets no acknowledgement mail). An answered call
  opens nothing: the agent who took it logs the details; it is only recorded. A call id
  reported twice is processed once.
"""
from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service.auth.models import User
from service.crypto import timestamped_signature
from service.directory.models import Contact
from service.directory.services import contacts_by_phone, find_or_create_contact_by_phone
from service.errors import Forbidden, Unauthorized
from service.extensions import db
from service.i18n import locale_for
from tickets import conversation, intake, lifecycle, sla, timeline
from tickets.channels.phone.models import (CallDirection, CallEffect, CallLog, CallOutcome,
                                           CallSource)
from tickets.models import (OPEN_STATUSES, Channel, IdempotencyKey, Message, Priority, Status,
                            Ticket, Visibility)

SIGNATURE_TOLERANCE = timedelta(minutes=5)
TELEPHONY_SCOPE = "telephony"

_OUTCOME_LABELS = {
    CallOutcome.ANSWERED: _l("answered"), CallOutcome.MISSED: _l("missed"),
    CallOutcome.VOICEMAIL: _l("voicemail"), CallOutcome.NO_ANSWER: _l("no answer"),
    CallOutcome.BUSY: _l("busy"), CallOutcome.FAILED: _l("failed"),
}


@dataclass(frozen=True)
class CallDetails:
    """A validated call; `number` is the customer's end, normalised."""
    direction: CallDirection
    number: str
    started_at: datetime
    duration_seconds: int
    outcome: CallOutcome
    recording_ref: str | None = None
    notes: str | None = None
    voicemail_transcript: str | None = None
    line_number: str | None = None  # our end, when the telephony system says


@dataclass(frozen=True)
class NewTicketFields:
    """What a ticket opened by a staff-logged call needs beyond the call."""
    subject: str
    description: str | None = None
    customer_email: str | None = None
    customer_phone: str | None = None
    customer_name: str | None = None
    urgency: Priority | None = None
    priority: Priority | None = None
    category: str | None = None
    product: str | None = None
    language: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class CallResult:
    call: CallLog
    ticket: Ticket | None
    created: bool  # False when a retry (same call id or Idempotency-Key) got the first result


# ---- staff ----

def log_staff_call(ticket: Ticket, staff: User, call: CallDetails, visibility: Visibility,
                   now: datetime, effect: CallEffect = CallEffect.TICKET_UPDATED) -> CallLog:
    """Log a call on a ticket the staff member may see (the caller checks that)."""
    if ticket.status == Status.CLOSED:
        raise Forbidden("The ticket is closed; open a new ticket instead.")
    if call.direction == CallDirection.OUTBOUND and call.outcome == CallOutcome.ANSWERED:
        # We reached the customer: that is a first response, as of the call.
        sla.meet_first_response(ticket, _clamp(call.started_at, ticket.created_at, now))
        if ticket.status == Status.NEW:
            lifecycle.change_status(ticket, Status.OPEN, actor=staff, now=now,
                                    channel=Channel.PHONE, reason="customer reached by phone")
    elif call.direction == CallDirection.INBOUND and call.outcome == CallOutcome.ANSWERED:
        _customer_answered(ticket, call, now)
    with force_locale(_locale(ticket.language or ticket.contact.language)):
        body = _summary(call, include_recording=visibility == Visibility.INTERNAL)
    message = conversation.add_staff_message(ticket, staff, body, visibility, now,
                                             channel=Channel.PHONE)
    log = _call_log(call, ticket_id=ticket.id, contact_id=ticket.contact_id,
                    message_id=message.id, source=CallSource.STAFF, logged_by_id=staff.id,
                    effect=effect)
    db.session.flush()
    _record(ticket.id, log, actor=staff, at=now)
    return log


def _customer_answered(ticket: Ticket, call: CallDetails, now: datetime) -> None:
    """An answered call from the customer answers our pending question, if it came after it."""
    if ticket.status != Status.PENDING_CUSTOMER:
        return
    paused_at = ticket.sla_paused_at
    if paused_at is not None and call.started_at < paused_at:
        return  # a call from before we asked (logged late) is not their answer
    at = _clamp(call.started_at, paused_at or call.started_at, now)
    lifecycle.change_status(ticket, Status.OPEN, actor=None, contact_id=ticket.contact_id,
                            now=at, channel=Channel.PHONE, reason="customer called")


def open_ticket_for_call(staff: User, call: CallDetails, visibility: Visibility,
                         fields: NewTicketFields, now: datetime, *,
                         idempotency_key: str | None = None,
                         fingerprint_source: dict | None = None) -> CallResult:
    """Open a new ticket through intake (channel phone) and log the call on it.

    The customer is found by email, else by phone number (a new contact without email).
    With an Idempotency-Key, a retry returns the first ticket and call.
    """
    contact = None
    if fields.customer_email is None:
        contact = find_or_create_contact_by_phone(fields.customer_phone or call.number,
                                                  fields.customer_name)
    result = intake.submit(intake.IntakeRequest(
        subject=fields.subject, description=fields.description or fields.subject,
        customer_email=fields.customer_email, customer_name=fields.customer_name,
        customer_phone=fields.customer_phone or call.number, channel=Channel.PHONE,
        contact=contact, urgency=fields.urgency, priority=fields.priority,
        category=fields.category, product=fields.product, language=fields.language,
        tags=list(fields.tags), actor=staff,
        # Only a customer with an address can be told their ticket number by mail.
        acknowledge=contact is None or contact.email is not None,
        idempotency_key=idempotency_key, idempotency_scope=f"user:{staff.id}:calls",
        fingerprint_source=fingerprint_source))
    ticket = result.ticket
    if not result.created:
        first = db.session.scalar(select(CallLog).where(
            CallLog.ticket_id == ticket.id, CallLog.effect == CallEffect.TICKET_CREATED)
            .order_by(CallLog.id).limit(1))
        if first is not None:
            return CallResult(first, ticket, created=False)
    ticket = db.session.scalar(select(Ticket).where(Ticket.id == ticket.id)
                               .with_for_update(of=Ticket))
    log = log_staff_call(ticket, staff, call, visibility, now, effect=CallEffect.TICKET_CREATED)
    db.session.commit()
    return CallResult(log, ticket, created=True)


# ---- telephony ----

def verify_signature(secret: str, timestamp: str | None, signature: str | None, body: bytes,
                     now: datetime) -> None:
    """Check `sha256=HMAC(secret, "<timestamp>.<body>")` and a timestamp within 5 minutes."""
    if not timestamp or not signature:
        raise Unauthorized("Sign the request: X-Loopdesk-Timestamp and X-Loopdesk-Signature.")
    if not re.fullmatch(r"[0-9]{1,12}", timestamp.strip()):
        raise Unauthorized("X-Loopdesk-Timestamp must be Unix seconds.")
    if abs(now.timestamp() - int(timestamp)) > SIGNATURE_TOLERANCE.total_seconds():
        raise Unauthorized("X-Loopdesk-Timestamp is more than 5 minutes off: check the clock.")
    scheme, _sep, given = signature.strip().partition("=")
    if scheme != "sha256" or not re.fullmatch(r"[0-9a-fA-F]{64}", given):
        raise Unauthorized("X-Loopdesk-Signature must be 'sha256=<hex>'.")
    expected = timestamped_signature(secret, timestamp.strip(), body)
    if not hmac.compare_digest(expected, f"sha256={given.lower()}"):
        raise Unauthorized("The signature does not match the body.")


def record_telephony_call(call_id: str, call: CallDetails, caller_name: str | None,
                          now: datetime) -> CallResult:
    """Process a call the telephony system reports (once per call id); see the module doc."""
    earlier = _reported(call_id)
    if earlier is not None:
        return earlier
    try:
        result = _process_report(call_id, call, caller_name, now)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # the same report, processed concurrently, won: answer with it
        earlier = _reported(call_id)
        if earlier is None:
            raise
        return earlier
    return result


def _reported(call_id: str) -> CallResult | None:
    log = db.session.scalar(select(CallLog).where(CallLog.external_call_id == call_id))
    if log is None:
        return None
    ticket = db.session.get(Ticket, log.ticket_id) if log.ticket_id is not None else None
    return CallResult(log, ticket, created=False)


def _process_report(call_id: str, call: CallDetails, caller_name: str | None,
                    now: datetime) -> CallResult:
    # A ticket this call already opened (the first attempt stopped before logging it).
    opened = db.session.scalar(select(IdempotencyKey.ticket_id).where(
        IdempotencyKey.scope == TELEPHONY_SCOPE, IdempotencyKey.key == call_id))
    contacts = contacts_by_phone(call.number)
    ticket = None
    if opened is None and contacts:
        ticket = db.session.scalar(
            select(Ticket).where(Ticket.contact_id.in_([c.id for c in contacts]),
                                 Ticket.status.in_(OPEN_STATUSES))
            .order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(1)
            .with_for_update(of=Ticket))
    if ticket is not None:
        with force_locale(_locale(ticket.language or ticket.contact.language)):
            body = _summary(call, include_recording=False)
        message = conversation.add_customer_message(ticket, ticket.contact_id, body,
                                                    Channel.PHONE, now)
        log = _call_log(call, ticket_id=ticket.id, contact_id=ticket.contact_id,
                        message_id=message.id, source=CallSource.TELEPHONY,
                        external_call_id=call_id, effect=CallEffect.TICKET_UPDATED)
        db.session.flush()
        _record(ticket.id, log, contact_id=ticket.contact_id, at=now)
        return CallResult(log, ticket, created=True)
    if opened is None and call.outcome == CallOutcome.ANSWERED:
        # Handled live and nothing open: the agent who took it logs what was said.
        log = _call_log(call, ticket_id=None, contact_id=contacts[0].id if contacts else None,
                        message_id=None, source=CallSource.TELEPHONY,
                        external_call_id=call_id, effect=CallEffect.RECORDED)
        db.session.flush()
        return CallResult(log, None, created=True)
    return _open_ticket_for_report(call_id, call, caller_name, contacts, now)


def _open_ticket_for_report(call_id: str, call: CallDetails, caller_name: str | None,
                            contacts: list[Contact], now: datetime) -> CallResult:
    contact = contacts[0] if contacts else find_or_create_contact_by_phone(call.number,
                                                                           caller_name)
    locale = _locale(contact.language, call.number)
    with force_locale(locale):
        who = f"{caller_name} ({call.number})" if caller_name else call.number
        subject = (_("Voicemail from %(caller)s", caller=who)
                   if call.outcome == CallOutcome.VOICEMAIL
                   else _("Missed call from %(caller)s", caller=who))
        body = _summary(call, include_recording=False)
    # Intake commits the ticket; keyed by the call id, so a retry finds the same ticket.
    result = intake.submit(intake.IntakeRequest(
        subject=subject[:200], description=body, customer_email=None, channel=Channel.PHONE,
        contact=contact, language="zh" if locale == "zh_CN" else None,
        acknowledge=contact.email is not None, idempotency_key=call_id,
        idempotency_scope=TELEPHONY_SCOPE, fingerprint_source={"call_id": call_id}))
    ticket = result.ticket
    message_id = result.message.id if result.message is not None else db.session.scalar(
        select(Message.id).where(Message.ticket_id == ticket.id).order_by(Message.id).limit(1))
    log = _call_log(call, ticket_id=ticket.id, contact_id=ticket.contact_id,
                    message_id=message_id, source=CallSource.TELEPHONY,
                    external_call_id=call_id, effect=CallEffect.TICKET_CREATED)
    db.session.flush()
    _record(ticket.id, log, contact_id=ticket.contact_id, at=now)
    return CallResult(log, ticket, created=True)


# ---- shared ----

def _call_log(call: CallDetails, *, ticket_id: int | None, contact_id: int | None,
              message_id: int | None, source: CallSource, effect: CallEffect,
              logged_by_id: int | None = None, external_call_id: str | None = None) -> CallLog:
    inbound = call.direction == CallDirection.INBOUND
    log = CallLog(ticket_id=ticket_id, contact_id=contact_id, message_id=message_id,
                  direction=call.direction,
                  caller_number=call.number if inbound else call.line_number,
                  callee_number=call.line_number if inbound else call.number,
                  started_at=call.started_at, duration_seconds=call.duration_seconds,
                  outcome=call.outcome, recording_ref=call.recording_ref,
                  voicemail_transcript=call.voicemail_transcript, notes=call.notes,
                  source=source, logged_by_id=logged_by_id,
                  external_call_id=external_call_id, effect=effect)
    db.session.add(log)
    return log


def _record(ticket_id: int, log: CallLog, *, actor: User | None = None,
            contact_id: int | None = None, at: datetime) -> None:
    timeline.record(ticket_id, "call_logged", actor=actor, contact_id=contact_id,
                    channel=Channel.PHONE.value, at=at, call_id=log.id,
                    direction=log.direction.value, outcome=log.outcome.value,
                    number=log.customer_number, started_at=log.started_at.isoformat(),
                    duration_seconds=log.duration_seconds, recording_ref=log.recording_ref,
                    source=log.source.value, message_id=log.message_id)


def _summary(call: CallDetails, *, include_recording: bool) -> str:
    """The call in words, in the current (forced) locale, for the conversation."""
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    started = call.started_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    lines = [_("Phone call from %(number)s", number=call.number)
             if call.direction == CallDirection.INBOUND
             else _("Phone call to %(number)s", number=call.number),
             _("Started: %(time)s (%(zone)s)", time=started, zone=zone.key),
             _("Duration: %(duration)s", duration=_duration(call.duration_seconds)),
             _("Outcome: %(outcome)s", outcome=str(_OUTCOME_LABELS[call.outcome]))]
    if include_recording and call.recording_ref:
        lines.append(_("Recording: %(ref)s", ref=call.recording_ref))
    text = "\n".join(lines)
    if call.voicemail_transcript:
        text += "\n\n" + _("Voicemail transcript:") + "\n" + call.voicemail_transcript
    if call.notes:
        text += "\n\n" + _("Notes:") + "\n" + call.notes
    return text


def _duration(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    if not minutes:
        return _("%(seconds)d s", seconds=rest)
    return _("%(minutes)d min %(seconds)d s", minutes=minutes, seconds=rest)


def _locale(language: str | None, number: str | None = None) -> str:
    """The customer's locale; a caller we know nothing about by their country code."""
    if language:
        return locale_for(language)
    return "zh_CN" if number and number.startswith("+86") else "en"


def _clamp(value: datetime, earliest: datetime, latest: datetime) -> datetime:
    return max(earliest, min(value, latest))
