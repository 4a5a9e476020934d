"""JSON API of tickets: parse → call a service → dump."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from sqlalchemy import select

from service.api import current_user, doc, json_body, query_args
from service.auth.permissions import Permission, require
from service.db_types import utcnow
from service.errors import Forbidden, InvalidInput
from service.extensions import db
from service.pagination import id_page
from tickets import conversation, intake, sla
from tickets.models import Channel, Message, Ticket, TicketEvent, Visibility
from tickets.schemas import (EventPageOut, MessageIn, MessageOut, MessagePageOut,
                             PageQuery, TicketIn, TicketOut, TicketPageOut, TicketPatch,
                             TicketQuery)
from tickets.services import get_ticket, list_tickets, update_ticket

blueprint = Blueprint("tickets_api", __name__)

_ticket_in, _ticket_out, _ticket_patch = TicketIn(), TicketOut(), TicketPatch()
_ticket_query, _ticket_page = TicketQuery(), TicketPageOut()
_message_in, _message_out, _message_page = MessageIn(), MessageOut(), MessagePageOut()
_event_page, _page_query = EventPageOut(), PageQuery()
_IDEMPOTENCY_KEY_MAX = 200


def present(ticket: Ticket) -> dict[str, Any]:
    """The API view of a ticket, with its live SLA state."""
    now = utcnow()
    return {
        "id": ticket.id, "number": ticket.number, "subject": ticket.subject,
        "status": ticket.status.value, "priority": ticket.priority.value,
        "priority_reason": ticket.priority_reason, "channel": ticket.channel.value,
        "language": ticket.language, "category": ticket.category, "product": ticket.product,
        "tags": ticket.tags,
        "customer": {"id": ticket.contact.id, "email": ticket.contact.email,
                     "name": ticket.contact.name},
        "team": {"id": ticket.team.id, "name": ticket.team.name} if ticket.team else None,
        "assignee": ({"id": ticket.assignee.id, "name": ticket.assignee.name}
                     if ticket.assignee else None),
        "sla": {"policy": sla.policy_name(ticket),
                "first_response_due_at": ticket.first_response_due_at,
                "resolution_due_at": ticket.resolution_due_at,
                "first_responded_at": ticket.first_responded_at,
                "resolved_at": ticket.resolved_at, "paused_at": ticket.sla_paused_at,
                "state": sla.live_state(ticket, now).value},
        "reopen_count": ticket.reopen_count,
        "created_at": ticket.created_at, "updated_at": ticket.updated_at,
    }


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > _IDEMPOTENCY_KEY_MAX or not key.isprintable():
        raise InvalidInput(errors={"Idempotency-Key": [
            f"Must be 1-{_IDEMPOTENCY_KEY_MAX} printable characters."]})
    return key


@blueprint.post("/tickets")
@doc("Open a ticket for a customer", tags=["tickets"], body=TicketIn,
     responses={201: TicketOut, 200: TicketOut},
     headers={"Idempotency-Key": "Retry-safe key: same key and body return the first ticket"})
def create_ticket():
    user = current_user()
    require(user, Permission.TICKET_CREATE)
    key = _idempotency_key()
    data = json_body(_ticket_in)
    if "priority" in data:
        require(user, Permission.TICKET_SET_PRIORITY)
    customer = data["customer"]
    result = intake.submit(intake.IntakeRequest(
        subject=data["subject"], description=data["description"],
        customer_email=customer["email"], customer_name=customer.get("name"),
        customer_phone=customer.get("phone"), customer_company=customer.get("company"),
        channel=Channel.API, urgency=data.get("urgency"), priority=data.get("priority"),
        category=data.get("category"), product=data.get("product"),
        language=data.get("language"), tags=data.get("tags", []), actor=user,
        idempotency_key=key, idempotency_scope=f"user:{user.id}",
        fingerprint_source=request.get_json()))
    # The caller made (or first made) this ticket, so it may see it whatever its role.
    return _ticket_out.dump(present(result.ticket)), 201 if result.created else 200


@blueprint.get("/tickets")
@doc("List tickets (keyset pages)", tags=["tickets"], query=TicketQuery,
     responses={200: TicketPageOut})
def list_all():
    filters = query_args(_ticket_query)
    tickets, next_cursor = list_tickets(current_user(), filters)
    return _ticket_page.dump({"items": [present(ticket) for ticket in tickets],
                              "next_cursor": next_cursor})


@blueprint.get("/tickets/<int:ticket_id>")
@doc("Get one ticket", tags=["tickets"], responses={200: TicketOut})
def get_one(ticket_id: int):
    return _ticket_out.dump(present(get_ticket(current_user(), ticket_id)))


@blueprint.patch("/tickets/<int:ticket_id>")
@doc("Change priority, status, team, assignee, category or tags", tags=["tickets"],
     body=TicketPatch, responses={200: TicketOut})
def patch_one(ticket_id: int):
    user = current_user()
    require(user, Permission.TICKET_UPDATE)
    changes = json_body(_ticket_patch)
    ticket = get_ticket(user, ticket_id, for_update=True)
    update_ticket(user, ticket, changes)
    return _ticket_out.dump(present(get_ticket(user, ticket_id)))


@blueprint.get("/tickets/<int:ticket_id>/messages")
@doc("List a ticket's messages and notes", tags=["tickets"], query=PageQuery,
     responses={200: MessagePageOut})
def list_messages(ticket_id: int):
    page = query_args(_page_query)
    ticket = get_ticket(current_user(), ticket_id)
    query = select(Message).where(Message.ticket_id == ticket.id)
    items, next_cursor = id_page(query, Message, page["limit"], page.get("cursor"))
    return _message_page.dump({"items": [_present_message(m) for m in items],
                               "next_cursor": next_cursor})


@blueprint.post("/tickets/<int:ticket_id>/messages")
@doc("Reply to the customer (public) or add an internal note", tags=["tickets"],
     body=MessageIn, responses={201: MessageOut})
def post_message(ticket_id: int):
    user = current_user()
    data = json_body(_message_in)
    visibility = data["visibility"]
    require(user, Permission.TICKET_REPLY if visibility == Visibility.PUBLIC
            else Permission.TICKET_NOTE)
    ticket = get_ticket(user, ticket_id, for_update=True)
    if ticket.status.value == "closed":
        raise Forbidden("The ticket is closed; open a new ticket instead.")
    message = conversation.add_staff_message(ticket, user, data["body"], visibility, utcnow())
    db.session.commit()
    return _message_out.dump(_present_message(message)), 201


@blueprint.get("/tickets/<int:ticket_id>/events")
@doc("A ticket's timeline", tags=["tickets"], query=PageQuery, responses={200: EventPageOut})
def list_events(ticket_id: int):
    page = query_args(_page_query)
    ticket = get_ticket(current_user(), ticket_id)
    query = select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
    items, next_cursor = id_page(query, TicketEvent, page["limit"], page.get("cursor"))
    return _event_page.dump({"items": items, "next_cursor": next_cursor})


def _present_message(message: Message) -> dict[str, Any]:
    author = None
    if message.author_user is not None:
        author = {"id": message.author_user.id, "name": message.author_user.name}
    elif message.author_contact is not None:
        author = {"id": message.author_contact.id, "name": message.author_contact.name}
    return {"id": message.id, "ticket_id": message.ticket_id,
            "author_kind": message.author_kind.value, "author": author,
            "visibility": message.visibility.value, "channel": message.channel.value,
            "body": message.body, "created_at": message.created_at}
