"""HTTP endpoints of inbound email: the mail-server pipe, and the admins' record of it."""
from __future__ import annotations

from flask import Blueprint, current_app, request
from sqlalchemy import select

from service.api import current_user, doc, query_args
from service.auth.permissions import Permission, require
from service.errors import InvalidInput, NotFound, Unauthorized
from service.extensions import db, limiter
from service.pagination import id_page
from tickets.channels.email import inbound
from tickets.channels.email.mailboxes import mailbox_for_secret
from tickets.channels.email.models import InboundEmail
from tickets.channels.email.schemas import (InboundEmailOut, InboundPageOut, InboundQuery,
                                            ReceivedOut)
from tickets.models import format_number

blueprint = Blueprint("inbound_email_api", __name__)

RFC822 = "message/rfc822"
_out, _received, _query, _page = InboundEmailOut(), ReceivedOut(), InboundQuery(), InboundPageOut()


def _mailbox_secret() -> str:
    """The mailbox secret from `Authorization: Bearer …` or Basic auth (its password)."""
    credentials = request.authorization
    if credentials is None:
        return ""
    if credentials.type == "basic":
        return credentials.password or ""
    return (credentials.token or "").strip() if credentials.type == "bearer" else ""


@blueprint.post("/inbound/email")
@limiter.limit(lambda: current_app.config["RATELIMIT_INBOUND"])
@doc("Deliver one raw email (message/rfc822) to a mailbox", tags=["channels"], public=True,
     raw_body=RFC822,
     responses={202: ReceivedOut, 200: ReceivedOut},
     headers={"Authorization": "Bearer <mailbox secret> (or Basic with the secret as "
                               "password)"})
def receive_email():
    mailbox = mailbox_for_secret(_mailbox_secret())
    if mailbox is None:
        raise Unauthorized("Send the mailbox's inbound secret as 'Authorization: Bearer "
                           "<secret>'.")
    if request.mimetype != RFC822:
        raise InvalidInput(errors={"Content-Type": [f"Send the raw message as {RFC822}."]})
    request.max_content_length = current_app.config["INBOUND_EMAIL_MAX_BYTES"]
    raw = request.get_data(cache=False)
    if not raw.strip():
        raise InvalidInput(errors={"body": ["The message is empty."]})
    result = inbound.receive(mailbox.id, raw, "http")
    record = result.record
    db.session.refresh(record)  # an inline job may have filed it already
    body = _received.dump({"id": record.id, "message_id": record.message_id,
                           "status": record.status.value, "duplicate": result.duplicate,
                           "ticket_id": record.ticket_id,
                           "ticket_number": (format_number(record.ticket_id)
                                             if record.ticket_id else None)})
    return body, 200 if result.duplicate else 202


@blueprint.get("/admin/inbound-emails")
@doc("Inbound messages as received (filter by status, e.g. failed)", tags=["admin"],
     query=InboundQuery, responses={200: InboundPageOut})
def list_inbound():
    require(current_user(), Permission.ADMIN_MAIL)
    args = query_args(_query)
    query = select(InboundEmail)
    if "status" in args:
        query = query.where(InboundEmail.status == args["status"])
    items, next_cursor = id_page(query, InboundEmail, args["limit"], args.get("cursor"))
    return _page.dump({"items": items, "next_cursor": next_cursor})


@blueprint.get("/admin/inbound-emails/<id:inbound_id>")
@doc("One inbound message's record", tags=["admin"], responses={200: InboundEmailOut})
def get_inbound(inbound_id: int):
    require(current_user(), Permission.ADMIN_MAIL)
    return _out.dump(_record(inbound_id))


@blueprint.get("/admin/inbound-emails/<id:inbound_id>/raw")
@doc("Download the message exactly as received", tags=["admin"])
def get_inbound_raw(inbound_id: int):
    require(current_user(), Permission.ADMIN_MAIL)
    record = _record(inbound_id)
    disposition = f'attachment; filename="inbound-{record.id}.eml"'
    return record.raw, 200, {"Content-Type": "application/octet-stream",
                             "Content-Disposition": disposition,
                             "X-Content-Type-Options": "nosniff"}


@blueprint.post("/admin/inbound-emails/<id:inbound_id>/reprocess")
@doc("Process a failed or ignored message again", tags=["admin"],
     responses={202: InboundEmailOut})
def reprocess_inbound(inbound_id: int):
    require(current_user(), Permission.ADMIN_MAIL)
    inbound.reprocess(_record(inbound_id))
    db.session.commit()
    return _out.dump(db.session.get(InboundEmail, inbound_id)), 202


def _record(inbound_id: int) -> InboundEmail:
    record = db.session.get(InboundEmail, inbound_id)
    if record is None:
        raise NotFound("No such inbound message.")
    return record
