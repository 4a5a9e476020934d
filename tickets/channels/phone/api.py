"""JSON API of the phone channel: staff log calls; the telephony system reports them."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request

from service.api import current_user, doc, json_body
from service.auth.permissions import Permission, require
from service.db_types import utcnow
from service.errors import DomainError, Unauthorized
from service.extensions import db, limiter
from tickets.api import _idempotency_key, present
from tickets.channels.phone import services
from tickets.channels.phone.models import CallDirection
from tickets.channels.phone.schemas import (CallIn, CallOut, InboundCallIn, InboundCallOut,
                                            NewTicketCallIn, NewTicketCallOut)
from tickets.models import format_number
from tickets.services import get_ticket

blueprint = Blueprint("phone_api", __name__)

_call_in, _new_in, _inbound_in = CallIn(), NewTicketCallIn(), InboundCallIn()
_call_out, _new_out, _inbound_out = CallOut(), NewTicketCallOut(), InboundCallOut()


class TelephonyNotConfigured(DomainError):
    status, title, slug = 503, "Service unavailable", "not-configured"


@blueprint.post("/tickets/<id:ticket_id>/calls")
@doc("Log a phone call on a ticket (an outbound answered call meets first response)",
     tags=["phone"], body=CallIn, responses={201: CallOut})
def log_call(ticket_id: int):
    user = current_user()
    ticket = get_ticket(user, ticket_id, for_update=True)  # 404 before 403: reveal nothing
    require(user, Permission.TICKET_REPLY)
    data = json_body(_call_in)
    log = services.log_staff_call(ticket, user, _details(data), data["visibility"], utcnow())
    db.session.commit()
    return _call_out.dump(log), 201


@blueprint.post("/calls")
@doc("Log a phone call that opens a new ticket for a customer", tags=["phone"],
     body=NewTicketCallIn, responses={201: NewTicketCallOut, 200: NewTicketCallOut},
     headers={"Idempotency-Key": "Retry-safe key: same key and body return the first call"})
def log_call_with_ticket():
    user = current_user()
    require(user, Permission.TICKET_CREATE)
    require(user, Permission.TICKET_REPLY)
    key = _idempotency_key()
    data = json_body(_new_in)
    if "priority" in data:
        require(user, Permission.TICKET_SET_PRIORITY)
    customer = data["customer"]
    fields = services.NewTicketFields(
        subject=data["subject"], description=data.get("description"),
        customer_email=customer.get("email"), customer_phone=customer.get("phone"),
        customer_name=customer.get("name"), urgency=data.get("urgency"),
        priority=data.get("priority"), category=data.get("category"),
        product=data.get("product"), language=data.get("language"),
        tags=tuple(data.get("tags", ())))
    result = services.open_ticket_for_call(user, _details(data), data["visibility"], fields,
                                           utcnow(), idempotency_key=key,
                                           fingerprint_source=request.get_json())
    body = _new_out.dump({"ticket": present(result.ticket), "call": result.call})
    return body, 201 if result.created else 200


@blueprint.post("/inbound/call")
@limiter.limit(lambda: current_app.config["RATELIMIT_INBOUND"])
@doc("Report a call from the telephony system. Signed: X-Loopdesk-Timestamp (Unix seconds) "
     "and X-Loopdesk-Signature: sha256=HMAC-SHA256(TELEPHONY_SECRET, '<timestamp>.<body>')",
     tags=["phone"], body=InboundCallIn, responses={201: InboundCallOut, 200: InboundCallOut},
     public=True)
def inbound_call():
    timestamp = request.headers.get("X-Loopdesk-Timestamp")
    signature = request.headers.get("X-Loopdesk-Signature")
    if not timestamp or not signature:
        raise Unauthorized("Sign the request: X-Loopdesk-Timestamp and X-Loopdesk-Signature.")
    secret = current_app.config.get("TELEPHONY_SECRET")
    if not secret:
        raise TelephonyNotConfigured("telephony not configured")
    services.verify_signature(secret, timestamp, signature, request.get_data(cache=True),
                              utcnow())
    data = json_body(_inbound_in)
    call = services.CallDetails(
        direction=CallDirection.INBOUND, number=data["from_number"],
        line_number=data.get("to"), started_at=data["started_at"],
        duration_seconds=data["duration_seconds"], outcome=data["outcome"],
        recording_ref=data.get("recording_ref"),
        voicemail_transcript=data.get("voicemail_transcript"))
    result = services.record_telephony_call(data["call_id"], call, data.get("caller_name"),
                                            utcnow())
    ticket = result.ticket
    body = _inbound_out.dump({
        "effect": result.call.effect.value, "call": result.call,
        "ticket": ({"id": ticket.id, "number": format_number(ticket.id),
                    "status": ticket.status.value} if ticket is not None else None)})
    return body, 201 if result.created else 200


def _details(data: dict[str, Any]) -> services.CallDetails:
    return services.CallDetails(
        direction=data["direction"], number=data["number"], started_at=data["started_at"],
        duration_seconds=data["duration_seconds"], outcome=data["outcome"],
        recording_ref=data.get("recording_ref"), notes=data.get("notes"))
