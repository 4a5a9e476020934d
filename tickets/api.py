"""JSON API of tickets: parse → call a service → dump."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from service.api import current_user, doc, json_body, query_args
from service.auth.permissions import Permission, can, require
from service.db_types import utcnow
from service.errors import Forbidden, InvalidInput, NotFound
from service.extensions import db
from service.pagination import id_page
from tickets import conversation, intake, sla
from tickets.models import Channel, Message, Ticket, TicketEvent, Visibility, format_number
from tickets.schemas import (EventPageOut, MessageIn, MessageOut, MessagePageOut,
                             PageQuery, TicketIn, TicketOut, TicketPageOut, TicketPatch,
                             TicketQuery)
from tickets.services import ensure_visible, get_ticket, list_tickets, update_ticket

blueprint = Blueprint("tickets_api", __name__)

_ticket_in, _ticket_out, _ticket_patch = TicketIn(), TicketOut(), TicketPatch()
_ticket_query = TicketQuery()
_message_in, _message_out, _message_page = MessageIn(), MessageOut(), MessagePageOut()
_event_page, _page_query = EventPageOut(), PageQuery()
_IDEMPOTENCY_KEY_MAX = 200


def present(ticket: Ticket) -> dict[str, Any]:
    """The API view of a ticket (ORM object), with its live SLA state."""
    return present_view(ticket, contact_email=ticket.contact.email,
                        contact_name=ticket.contact.name, contact_phone=ticket.contact.phone,
                        team_name=ticket.team.name if ticket.team else None,
                        assignee_name=ticket.assignee.name if ticket.assignee else None,
                        tags=ticket.tags)


def present_view(ticket: Any, *, contact_email: str | None, contact_name: str,
                 team_name: str | None, assignee_name: str | None, tags: list[str],
                 now: datetime | None = None, contact_phone: str | None = None
                 ) -> dict[str, Any]:
    """The API view of a ticket from anything with its column attributes (ORM or row)."""
    return {
        "id": ticket.id, "number": format_number(ticket.id), "subject": ticket.subject,
        "status": ticket.status.value, "priority": ticket.priority.value,
        "priority_reason": ticket.priority_reason, "channel": ticket.channel.value,
        "language": ticket.language, "category": ticket.category, "product": ticket.product,
        "tags": tags,
        # A caller known only by phone has no email.
        "customer": {"id": ticket.contact_id, "email": contact_email, "name": contact_name,
                     "phone": contact_phone},
        "team": {"id": ticket.team_id, "name": team_name} if ticket.team_id else None,
        "assignee": ({"id": ticket.assignee_id, "name": assignee_name}
                     if ticket.assignee_id else None),
        "sla": {"policy": sla.policy_name(ticket),
                "first_response_due_at": ticket.first_response_due_at,
                "resolution_due_at": ticket.resolution_due_at,
                "first_responded_at": ticket.first_responded_at,
                "resolved_at": ticket.resolved_at, "paused_at": ticket.sla_paused_at,
                "state": sla.live_state(ticket, now or utcnow()).value},
        "reopen_count": ticket.reopen_count, "closed_at": ticket.closed_at,
        "closed_reason": ticket.closed_reason.value if ticket.closed_reason else None,
        "follow_up_of": ticket.follow_up_of_id,
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
    rows, tags, next_cursor = list_tickets(current_user(), filters)
    now = utcnow()
    items = [present_view(row, contact_email=row.contact_email, contact_name=row.contact_name,
                          contact_phone=row.contact_phone,
                          team_name=row.team_name, assignee_name=row.assignee_name,
                          tags=tags.get(row.id, []), now=now) for row in rows]
    # The hottest read of the console: items go straight to JSON. They are the presenter's
    # output, which TicketOut documents; a test checks TicketOut dumps them identically.
    return jsonify(items=items, next_cursor=next_cursor)


@blueprint.get("/tickets/<id:ticket_id>")
@doc("Get one ticket", tags=["tickets"], responses={200: TicketOut})
def get_one(ticket_id: int):
    return _ticket_out.dump(present(get_ticket(current_user(), ticket_id)))


@blueprint.patch("/tickets/<id:ticket_id>")
@doc("Change priority, status, team, assignee, category, product or tags", tags=["tickets"],
     body=TicketPatch, responses={200: TicketOut})
def patch_one(ticket_id: int):
    user = current_user()
    require(user, Permission.TICKET_UPDATE)
    changes = json_body(_ticket_patch)
    ticket = get_ticket(user, ticket_id, for_update=True)
    update_ticket(user, ticket, changes)
    return _ticket_out.dump(present(get_ticket(user, ticket_id)))


@blueprint.get("/tickets/<id:ticket_id>/messages")
@doc("List a ticket's messages and notes", tags=["tickets"], query=PageQuery,
     responses={200: MessagePageOut})
def list_messages(ticket_id: int):
    page = query_args(_page_query)
    user = current_user()
    ensure_visible(user, ticket_id)
    query = (select(Message).where(Message.ticket_id == ticket_id)
             .options(joinedload(Message.author_user), joinedload(Message.author_contact),
                      selectinload(Message.attachments)))
    if not can(user, Permission.TICKET_VIEW_INTERNAL):
        query = query.where(Message.visibility == Visibility.PUBLIC)  # partners
    items, next_cursor = id_page(query, Message, page["limit"], page.get("cursor"))
    return _message_page.dump({"items": [_present_message(m) for m in items],
                               "next_cursor": next_cursor})


@blueprint.post("/tickets/<id:ticket_id>/messages")
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


@blueprint.get("/tickets/<id:ticket_id>/events")
@doc("A ticket's timeline", tags=["tickets"], query=PageQuery, responses={200: EventPageOut})
def list_events(ticket_id: int):
    page = query_args(_page_query)
    user = current_user()
    ensure_visible(user, ticket_id)
    if not can(user, Permission.TICKET_VIEW_INTERNAL):
        raise NotFound("No such ticket.")  # the timeline is internal: partners never see it
    query = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
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
            "body": message.body, "body_html": message.body_html,
            "original_body": message.original_body,
            "attachments": [file for file in message.attachments
                            if file.visibility == Visibility.PUBLIC
                            or message.visibility == Visibility.INTERNAL],
            "created_at": message.created_at}
