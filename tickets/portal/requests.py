"""What a customer does in the portal: open a request, reply (with files), answer a fix.

Each function writes everything or nothing, and commits.
"""
from __future__ import annotations

from datetime import datetime

from flask import current_app

from service.directory.models import Contact
from service.errors import InvalidInput
from service.extensions import db
from service.validation import strip_controls
from tickets import attachments, conversation, intake
from tickets.models import Channel, Priority, Status, Ticket
from tickets.ticket_page import MAX_UPLOADS, AttachmentTooLarge, Upload

__all__ = ["Upload", "open_request", "reply", "check_uploads", "MAX_UPLOADS"]


def check_uploads(uploads: list[Upload]) -> None:
    """Refuse too many files or a file over ATTACHMENT_MAX_BYTES before anything is written."""
    if len(uploads) > MAX_UPLOADS:
        raise InvalidInput("Too many files.", errors={
            "attachments": [f"Attach at most {MAX_UPLOADS} files."]})
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    too_large = [attachments.safe_filename(upload.filename) for upload in uploads
                 if len(upload.data) > limit]
    if too_large:
        raise AttachmentTooLarge(too_large, limit)


def _store_files(ticket_id: int, message_id: int, uploads: list[Upload]) -> None:
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    for upload in uploads:
        stored = attachments.store(ticket_id, message_id, upload.filename, upload.data,
                                   upload.content_type)
        if isinstance(stored, attachments.Refused):  # the limit moved since the check
            raise AttachmentTooLarge([stored.filename], limit)


def open_request(contact: Contact, *, subject: str, description: str, urgency: Priority | None,
                 product: str | None, language: str, uploads: list[Upload],
                 submission_id: str | None, follow_up_of_id: int | None = None) -> Ticket:
    """A new ticket from the portal for this contact; a repeated submission id returns the
    ticket the first submission made (its files are not stored twice)."""
    check_uploads(uploads)
    result = intake.submit(intake.IntakeRequest(
        subject=strip_controls(subject).strip(), description=strip_controls(description).strip(),
        customer_email=contact.email, contact=contact, urgency=urgency,
        product=(product or "").strip() or None, language=language, channel=Channel.PORTAL,
        idempotency_key=submission_id or None, idempotency_scope=f"portal:{contact.id}",
        follow_up_of_id=follow_up_of_id), commit=False)
    if result.created and result.message is not None:
        _store_files(result.ticket.id, result.message.id, uploads)
    db.session.commit()
    return result.ticket


def reply(ticket: Ticket, contact: Contact, body: str, uploads: list[Upload],
          now: datetime, *, language: str) -> Ticket:
    """The customer's reply; returns the ticket it landed on.

    On a closed ticket, a reply within REOPEN_GRACE_DAYS reopens it; a later one opens a
    new ticket linked to the old one (a repeat contact).
    """
    text = strip_controls(body or "").strip()
    if not text:
        raise InvalidInput("The reply is empty.", errors={"body": ["Please write your message."]})
    check_uploads(uploads)
    if ticket.status == Status.CLOSED:
        # Imported here: tickets.resolution.services builds on the modules this one is
        # loaded with while the portal's blueprint registers.
        from tickets.resolution import services as resolution

        if not resolution.within_grace(ticket, now):
            return open_request(contact, subject=ticket.subject, description=text,
                                urgency=None, product=ticket.product,
                                language=language, uploads=uploads, submission_id=None,
                                follow_up_of_id=ticket.id)
        resolution.reopen_after_close(ticket, contact_id=contact.id, channel=Channel.PORTAL,
                                      now=now)
    message = conversation.add_customer_message(ticket, contact.id, text, Channel.PORTAL, now)
    _store_files(ticket.id, message.id, uploads)
    db.session.commit()
    return ticket
