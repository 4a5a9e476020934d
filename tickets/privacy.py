"""The tickets domain's part of a customer export and erasure (see service/privacy).

Export: the contact's tickets with their public messages, timeline, attachments (metadata
and download path), confirmations, chat sessions, phone calls, received mail and portal
sign-ins. Erase: free text blanked, counts, times, statuses, priorities and SLA data kept.
Everything is a set-based UPDATE/DELETE (no per-row query), inside the caller's transaction.
"""
from __future__ import annotations

import hashlib
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import String, delete, exists, func, or_, select, update

from service.db_types import utcnow
from service.extensions import db
from service.notify.models import Notification
from service.privacy.registry import (ERASED, changed_rows, iso, needles_of, personal_strings,
                                      register, scrub, scrub_columns)
from tickets.channels.chat.models import ChatMessageKey, ChatSession
from tickets.channels.email.models import InboundEmail
from tickets.channels.phone.models import CallLog
from tickets.models import (OPEN_STATUSES, Attachment, AttachmentBlob, Message, Ticket,
                            TicketEvent, Visibility, format_number)
from tickets.portal.models import PortalSignInLink
from tickets.resolution.models import Confirmation, Resolution

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _ticket_ids(contact_id: int):
    return select(Ticket.id).where(Ticket.contact_id == contact_id).scalar_subquery()


def _message_filter(contact_id: int):
    """Messages on the contact's tickets, and the contact's own anywhere."""
    return or_(Message.ticket_id.in_(_ticket_ids(contact_id)),
               Message.author_contact_id == contact_id)


# ---------------------------------------------------------------------------- export

def export_contact(contact_id: int) -> dict[str, Any]:
    """The contact's ticket data as JSON-ready values (no internal notes, no secrets)."""
    tickets = db.session.scalars(select(Ticket).where(Ticket.contact_id == contact_id)
                                 .order_by(Ticket.id)).all()
    messages = db.session.scalars(
        select(Message).where(_message_filter(contact_id),
                              Message.visibility == Visibility.PUBLIC)
        .order_by(Message.id)).all()
    events = db.session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id.in_(_ticket_ids(contact_id)))
        .order_by(TicketEvent.id)).all()
    attachments = db.session.scalars(
        select(Attachment).where(Attachment.ticket_id.in_(_ticket_ids(contact_id)),
                                 Attachment.visibility == Visibility.PUBLIC)
        .order_by(Attachment.id)).all()
    by_ticket: dict[int, dict[str, list]] = {
        ticket.id: {"messages": [], "events": [], "attachments": []} for ticket in tickets}
    for message in messages:
        by_ticket.setdefault(message.ticket_id, {"messages": [], "events": [],
                                                 "attachments": []})
        by_ticket[message.ticket_id]["messages"].append({
            "id": message.id, "author": message.author_kind.value,
            "by_this_customer": message.author_contact_id == contact_id,
            "channel": message.channel.value, "body": message.body,
            "created_at": iso(message.created_at)})
    for event in events:
        by_ticket[event.ticket_id]["events"].append({
            "kind": event.kind, "actor": event.actor_kind.value, "channel": event.channel,
            "data": event.data, "created_at": iso(event.created_at)})
    for attachment in attachments:
        by_ticket[attachment.ticket_id]["attachments"].append({
            "id": attachment.id, "message_id": attachment.message_id,
            "filename": attachment.filename, "content_type": attachment.content_type,
            "size": attachment.size, "download_path": f"/api/v1/attachments/{attachment.id}",
            "created_at": iso(attachment.created_at)})
    return {
        "tickets": [_ticket(ticket, by_ticket[ticket.id]) for ticket in tickets],
        # The customer's own messages on tickets that are not theirs (an account's).
        "messages_on_other_tickets": [
            item for ticket_id, parts in by_ticket.items()
            if ticket_id not in {ticket.id for ticket in tickets}
            for item in parts["messages"]],
        "confirmations": _confirmations(contact_id),
        "portal_sign_ins": [
            {"created_at": iso(link.created_at), "expires_at": iso(link.expires_at),
             "used_at": iso(link.used_at)}
            for link in db.session.scalars(select(PortalSignInLink).where(
                PortalSignInLink.contact_id == contact_id).order_by(PortalSignInLink.id))],
        "chat_sessions": [
            {"ticket": format_number(chat.ticket_id), "language": chat.language,
             "origin": chat.origin, "page_url": chat.page_url, "user_agent": chat.user_agent,
             "created_at": iso(chat.created_at), "last_seen_at": iso(chat.last_seen_at),
             "closed_at": iso(chat.closed_at)}
            for chat in db.session.scalars(select(ChatSession).where(
                ChatSession.contact_id == contact_id).order_by(ChatSession.id))],
        "phone_calls": [
            {"ticket": format_number(call.ticket_id) if call.ticket_id else None,
             "direction": call.direction.value, "caller_number": call.caller_number,
             "callee_number": call.callee_number, "started_at": iso(call.started_at),
             "duration_seconds": call.duration_seconds, "outcome": call.outcome.value,
             "recording_ref": call.recording_ref,
             "voicemail_transcript": call.voicemail_transcript}
            for call in db.session.scalars(select(CallLog).where(
                _call_filter(contact_id)).order_by(CallLog.id))],
        "received_mail": [
            {"from_address": mail.from_address, "subject": mail.subject,
             "size": mail.size, "status": mail.status.value,
             "received_at": iso(mail.received_at)}
            for mail in db.session.scalars(select(InboundEmail).where(
                _inbound_filter(contact_id)).order_by(InboundEmail.id))],
    }


def _ticket(ticket: Ticket, parts: dict[str, list]) -> dict[str, Any]:
    return {"number": ticket.number, "subject": ticket.subject,
            "status": ticket.status.value, "priority": ticket.priority.value,
            "channel": ticket.channel.value, "language": ticket.language,
            "category": ticket.category, "product": ticket.product, "tags": ticket.tags,
            "created_at": iso(ticket.created_at), "resolved_at": iso(ticket.resolved_at),
            "closed_at": iso(ticket.closed_at),
            "closed_reason": ticket.closed_reason.value if ticket.closed_reason else None,
            **parts}


def _confirmations(contact_id: int) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(Confirmation).where(or_(
        Confirmation.contact_id == contact_id,
        Confirmation.ticket_id.in_(_ticket_ids(contact_id)))).order_by(Confirmation.id))
    return [{"ticket": format_number(row.ticket_id), "outcome": row.outcome.value,
             "channel": row.channel.value, "comment": row.comment,
             "ip_address": row.ip_address, "user_agent": row.user_agent,
             "created_at": iso(row.created_at)} for row in rows]


def _call_filter(contact_id: int):
    return or_(CallLog.contact_id == contact_id, CallLog.ticket_id.in_(_ticket_ids(contact_id)))


def _inbound_filter(contact_id: int):
    from service.directory.models import Contact

    email = select(Contact.email).where(Contact.id == contact_id).scalar_subquery()
    return or_(InboundEmail.ticket_id.in_(_ticket_ids(contact_id)),
               InboundEmail.from_address == email)


# ---------------------------------------------------------------------------- erase

def open_tickets(contact_id: int) -> list[str]:
    """Why the contact may not be erased now: their tickets still being worked on."""
    numbers = [format_number(ticket_id) for ticket_id in db.session.scalars(
        select(Ticket.id).where(Ticket.contact_id == contact_id,
                                Ticket.status.in_(OPEN_STATUSES)).order_by(Ticket.id))]
    if not numbers:
        return []
    return [_("Tickets still open: %(numbers)s.", numbers=", ".join(numbers))]


def erase_contact(contact_id: int, token: str) -> dict[str, int]:
    """Blank the contact's ticket content; rows, times, statuses and SLA data stay."""
    tickets = _ticket_ids(contact_id)
    # Subjects too: timeline entries and staff notices quote them.
    subjects = db.session.scalars(select(Ticket.subject).where(Ticket.contact_id == contact_id))
    needles = needles_of([*personal_strings(contact_id), *subjects])
    counts = {
        "tickets": changed_rows(update(Ticket).where(Ticket.contact_id == contact_id,
                                                 Ticket.subject != ERASED)
                            .values(subject=ERASED)),
        "messages": changed_rows(update(Message).where(
            _message_filter(contact_id),
            or_(Message.body != ERASED, Message.body_html.is_not(None),
                Message.original_body.is_not(None)))
            .values(body=ERASED, body_html=None, original_body=None)),
        "attachments": _erase_attachments(contact_id),
        # Routing may have quoted the customer (e.g. "VIP: Acme Ltd") when it set priority.
        "priority_reasons": scrub_columns(Ticket, ("priority_reason",),
                                          Ticket.contact_id == contact_id, needles),
        "events": _scrub_events(tickets, needles),
        "resolutions": _scrub_resolutions(tickets, needles),
        "staff_notifications": _scrub_notifications(contact_id, needles),
        "confirmations": changed_rows(update(Confirmation).where(
            or_(Confirmation.contact_id == contact_id, Confirmation.ticket_id.in_(tickets)),
            or_(Confirmation.comment.is_not(None), Confirmation.ip_address.is_not(None),
                Confirmation.user_agent.is_not(None),
                Confirmation.call_reference.is_not(None)))
            .values(comment=None, ip_address=None, user_agent=None, call_reference=None)),
        "portal_sign_in_links": changed_rows(delete(PortalSignInLink).where(
            PortalSignInLink.contact_id == contact_id)),
        "chat_sessions": _erase_chats(contact_id),
        "phone_calls": changed_rows(update(CallLog).where(
            _call_filter(contact_id),
            or_(CallLog.caller_number.is_not(None), CallLog.callee_number.is_not(None),
                CallLog.recording_ref.is_not(None),
                CallLog.voicemail_transcript.is_not(None), CallLog.notes.is_not(None)))
            .values(caller_number=None, callee_number=None, recording_ref=None,
                    voicemail_transcript=None, notes=None)),
        "received_mail": changed_rows(update(InboundEmail).where(
            _inbound_filter(contact_id),
            or_(func.length(InboundEmail.raw) > 0, InboundEmail.from_address.is_not(None),
                InboundEmail.subject.is_not(None), InboundEmail.reason.is_not(None)))
            .values(raw=b"", from_address=None, subject=None, reason=None)),
    }
    return counts


def _erase_attachments(contact_id: int) -> int:
    """Point the files at the empty blob and drop bytes no other file shares."""
    owned = or_(Attachment.ticket_id.in_(_ticket_ids(contact_id)),
                Attachment.message_id.in_(select(Message.id).where(
                    Message.author_contact_id == contact_id)))
    old = set(db.session.scalars(select(Attachment.sha256).where(
        owned, Attachment.sha256 != EMPTY_SHA256)))
    if db.session.get(AttachmentBlob, EMPTY_SHA256) is None:
        db.session.add(AttachmentBlob(sha256=EMPTY_SHA256, size=0, data=b""))
        db.session.flush()
    # Sizes stay: attachment statistics keep counting what was sent.
    count = changed_rows(update(Attachment).where(
        owned, or_(Attachment.sha256 != EMPTY_SHA256, Attachment.content_id.is_not(None),
                   ~Attachment.filename.startswith("erased-")))
        .values(sha256=EMPTY_SHA256, filename="erased-" + Attachment.id.cast(String),
                declared_type=None, content_id=None))
    if old:
        changed_rows(delete(AttachmentBlob).where(
            AttachmentBlob.sha256.in_(old),
            ~exists().where(Attachment.sha256 == AttachmentBlob.sha256)))
    return count


def _scrub_events(tickets, needles: list[str]) -> int:
    """Remove the contact's name, email and phone from timeline data (subjects included)."""
    if not needles:
        return 0
    rows = db.session.execute(select(TicketEvent.id, TicketEvent.data)
                              .where(TicketEvent.ticket_id.in_(tickets))).all()
    changes = [{"id": row.id, "data": cleaned} for row in rows
               if (cleaned := scrub(row.data, needles)) != row.data]
    if changes:
        db.session.execute(update(TicketEvent), changes)
    return len(changes)


def _scrub_resolutions(tickets, needles: list[str]) -> int:
    """Remove the contact's name, email and phone from what staff wrote about the fix."""
    return scrub_columns(Resolution, ("summary", "root_cause", "verification_result",
                                      "evidence_note"), Resolution.ticket_id.in_(tickets),
                         needles)


def _scrub_notifications(contact_id: int, needles: list[str]) -> int:
    """Remove the contact's name and subjects from staff notices about their tickets."""
    if not needles:
        return 0
    refs = [f"ticket:{ticket_id}" for ticket_id in db.session.scalars(
        select(Ticket.id).where(Ticket.contact_id == contact_id))]
    if not refs:
        return 0
    rows = db.session.execute(select(Notification.id, Notification.title, Notification.data)
                              .where(Notification.subject_ref.in_(refs))).all()
    changes = []
    for row in rows:
        title, data = scrub(row.title, needles), scrub(row.data, needles)
        if title != row.title or data != row.data:
            changes.append({"id": row.id, "title": title, "data": data})
    if changes:
        db.session.execute(update(Notification), changes)
    return len(changes)


def _erase_chats(contact_id: int) -> int:
    """End the contact's chat sessions and forget where they chatted from (the transcript
    is the ticket's messages, blanked above)."""
    now = utcnow()
    chats = ChatSession.contact_id == contact_id
    count = changed_rows(update(ChatSession).where(
        chats, or_(ChatSession.origin.is_not(None), ChatSession.page_url.is_not(None),
                   ChatSession.user_agent.is_not(None)))
        .values(origin=None, page_url=None, user_agent=None))
    # The retry keys hold hashes of the visitor's message bodies: no longer needed.
    changed_rows(delete(ChatMessageKey).where(ChatMessageKey.session_id.in_(
        select(ChatSession.id).where(chats))))
    changed_rows(update(ChatSession).where(chats, ChatSession.expires_at > now)
             .values(expires_at=now))
    changed_rows(update(ChatSession).where(chats, ChatSession.closed_at.is_(None))
             .values(closed_at=now))
    return count


register("tickets", export_contact, erase_contact, blockers_fn=open_tickets)
