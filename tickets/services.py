"""Reading and changing tickets on behalf of staff, with authorisation in one place."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, false, select, true, tuple_
from sqlalchemy.orm import joinedload, selectinload

from service import events
from service.auth.models import Role, User
from service.auth.permissions import Permission, can, require
from service.db_types import utcnow
from service.directory.models import Account, Contact, Team, team_members
from service.errors import InvalidInput, NotFound
from service.extensions import db
from service.pagination import decode_time_cursor, encode_cursor
from service.validation import is_id
from tickets import lifecycle, routing, sla, timeline
from tickets.models import Priority, Status, Ticket, TicketTag

_NUMBER = re.compile(r"^\s*T-?(\d{1,10})\s*$", re.IGNORECASE)


def visible_to(user: User):
    """SQL condition: tickets this staff user may see (others answer 404).

    Admins see every ticket. Agents, leads and department members see their teams'
    tickets, the ones assigned to them and the ones they opened; agents and leads also
    see tickets no team holds yet. Sales see their accounts' tickets; an integration
    sees only the tickets it opened.
    """
    if can(user, Permission.TICKET_VIEW_ALL):
        return true()
    own = Ticket.created_by_id == user.id
    if user.role == Role.PARTNER:
        return own
    if user.role == Role.SALES:
        return own | Ticket.account_id.in_(select(Account.id)
                                           .where(Account.sales_owner_id == user.id))
    if user.role not in (Role.AGENT, Role.LEAD, Role.DEPARTMENT):
        return false()
    teams = select(team_members.c.team_id).where(team_members.c.user_id == user.id)
    condition = own | (Ticket.assignee_id == user.id) | Ticket.team_id.in_(teams)
    if user.role != Role.DEPARTMENT:
        condition = condition | Ticket.team_id.is_(None)
    return condition


def _with_relations(query: Select) -> Select:
    return query.options(joinedload(Ticket.contact), joinedload(Ticket.team),
                         joinedload(Ticket.assignee),
                         selectinload(Ticket.tag_rows))


def get_ticket(user: User, ticket_id: int, *, for_update: bool = False) -> Ticket:
    """A ticket the user may see, or NotFound (never revealing that it exists)."""
    query = select(Ticket).where(Ticket.id == ticket_id, visible_to(user))
    if for_update:
        query = query.with_for_update(of=Ticket)
    ticket = db.session.scalar(_with_relations(query))
    if ticket is None:
        raise NotFound("No such ticket.")
    return ticket


def ensure_visible(user: User, ticket_id: int) -> int:
    """The id of a ticket the user may see, or NotFound (an id-only check, no loading)."""
    if db.session.scalar(select(Ticket.id).where(Ticket.id == ticket_id,
                                                 visible_to(user))) is None:
        raise NotFound("No such ticket.")
    return ticket_id


_SORT_COLUMNS = {"created_at": Ticket.created_at, "updated_at": Ticket.updated_at}


# The columns a ticket list shows, read as plain rows: building ORM objects for a page
# of tickets and their relations cost more than the query itself.
_LIST_COLUMNS = (
    Ticket.id, Ticket.subject, Ticket.status, Ticket.priority, Ticket.priority_reason,
    Ticket.channel, Ticket.language, Ticket.category, Ticket.product, Ticket.reopen_count,
    Ticket.created_at, Ticket.updated_at, Ticket.contact_id, Ticket.team_id, Ticket.assignee_id,
    Ticket.sla_policy_id, Ticket.sla_paused_at, Ticket.first_response_due_at,
    Ticket.resolution_due_at, Ticket.first_response_warn_at, Ticket.resolution_warn_at,
    Ticket.first_response_warned_at, Ticket.resolution_warned_at, Ticket.first_responded_at,
    Ticket.resolved_at, Ticket.first_response_breached_at, Ticket.resolution_breached_at,
    Contact.email.label("contact_email"), Contact.name.label("contact_name"),
    Contact.phone.label("contact_phone"),
    Team.name.label("team_name"), User.name.label("assignee_name"),
)


def list_tickets(user: User, filters: dict[str, Any]) -> tuple[list[Any], dict[int, list[str]],
                                                                  str | None]:
    """One keyset page of the tickets the user may see: rows, tags by ticket, next cursor."""
    sort = filters["sort"]
    descending = sort.startswith("-")
    column = _SORT_COLUMNS[sort.lstrip("-")]
    query = (select(*_LIST_COLUMNS).join(Contact, Contact.id == Ticket.contact_id)
             .outerjoin(Team, Team.id == Ticket.team_id)
             .outerjoin(User, User.id == Ticket.assignee_id)
             .where(visible_to(user)))
    if filters.get("status"):
        query = query.where(Ticket.status.in_(filters["status"]))
    if filters.get("priority"):
        query = query.where(Ticket.priority.in_(filters["priority"]))
    if filters.get("sla_state"):
        query = query.where(Ticket.sla_state.in_(filters["sla_state"]))
    if filters.get("team"):
        query = query.where(Ticket.team_id == filters["team"])
    assignee = filters.get("assignee")
    if assignee == "me":
        query = query.where(Ticket.assignee_id == user.id)
    elif assignee == "none":
        query = query.where(Ticket.assignee_id.is_(None))
    elif assignee:
        query = query.where(Ticket.assignee_id == int(assignee))
    if filters.get("q"):
        query = query.where(_text_match(filters["q"]))
    if filters.get("cursor"):
        value, last_id = decode_time_cursor(filters["cursor"], sort)
        key = tuple_(column, Ticket.id)
        query = query.where(key < (value, last_id) if descending else key > (value, last_id))
    order = (column.desc(), Ticket.id.desc()) if descending else (column.asc(), Ticket.id.asc())
    limit = filters["limit"]
    rows = list(db.session.execute(query.order_by(*order).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(sort, getattr(last, column.key), last.id)
    tags: dict[int, list[str]] = {}
    if rows:
        for ticket_id, tag in db.session.execute(
                select(TicketTag.ticket_id, TicketTag.tag)
                .where(TicketTag.ticket_id.in_([row.id for row in rows]))
                .order_by(TicketTag.ticket_id, TicketTag.tag)):
            tags.setdefault(ticket_id, []).append(tag)
    return rows, tags, next_cursor


def _text_match(text: str):
    number = _NUMBER.match(text)
    if number:
        ticket_id = int(number.group(1))
        return Ticket.id == ticket_id if is_id(ticket_id) else false()
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return Ticket.subject.ilike(f"%{escaped}%", escape="\\")


def update_ticket(user: User, ticket: Ticket, changes: dict[str, Any]) -> Ticket:
    """Apply a staff PATCH: priority, status, team, assignee, category, tags."""
    require(user, Permission.TICKET_UPDATE)
    now = utcnow()
    reason = changes.get("reason")
    if "priority" in changes and changes["priority"] != ticket.priority:
        require(user, Permission.TICKET_SET_PRIORITY)
        change_priority(ticket, changes["priority"], user, now, reason)
    if "team" in changes and changes["team"] != ticket.team_id:
        _change_team(ticket, changes["team"], user, now, reason)
    if "assignee" in changes and changes["assignee"] != ticket.assignee_id:
        agent = None
        if changes["assignee"] is not None:
            agent = db.session.get(User, changes["assignee"])
            if agent is None or not agent.is_active or agent.role not in routing.ASSIGNABLE_ROLES:
                raise InvalidInput(errors={"assignee": ["No active agent with this id."]})
        routing.set_assignee(ticket, agent, now, actor=user, reason=reason or "manual")
    if "category" in changes and changes["category"] != ticket.category:
        timeline.record(ticket.id, "category_changed", actor=user, at=now,
                        **{"from": ticket.category, "to": changes["category"]})
        events.ticket_field_changed.send(ticket.id, field="category",
                                         previous=ticket.category, current=changes["category"])
        ticket.category = changes["category"]
    if "tags" in changes and changes["tags"] != ticket.tags:
        timeline.record(ticket.id, "tags_changed", actor=user, at=now,
                        **{"from": ticket.tags, "to": changes["tags"]})
        events.ticket_field_changed.send(ticket.id, field="tags", previous=ticket.tags,
                                         current=changes["tags"])
        ticket.tag_rows = [TicketTag(tag=tag) for tag in changes["tags"]]
    if "status" in changes:
        lifecycle.change_status(ticket, changes["status"], actor=user, now=now, reason=reason)
    ticket.updated_at = now
    db.session.commit()
    return ticket


def change_priority(ticket: Ticket, priority: Priority, actor: User | None, now: datetime,
                    reason: str | None) -> None:
    """Change priority and recompute the SLA due times under the new policy."""
    previous = ticket.priority
    ticket.priority = priority
    ticket.priority_reason = f"changed by staff: {reason}" if reason else "changed by staff"
    sla.change_policy(ticket, sla.policy_for(priority), now)
    timeline.record(ticket.id, "priority_changed", actor=actor, at=now,
                    **{"from": previous.value, "to": priority.value, "reason": reason})
    events.ticket_priority_changed.send(ticket.id, previous=previous, current=priority)


def _change_team(ticket: Ticket, team_id: int | None, actor: User, now: datetime,
                 reason: str | None) -> None:
    if team_id is not None and db.session.get(Team, team_id) is None:
        raise InvalidInput(errors={"team": ["No team with this id."]})
    previous = ticket.team_id
    ticket.team_id = team_id
    timeline.record(ticket.id, "team_changed", actor=actor, at=now,
                    **{"from": previous, "to": team_id, "reason": reason})
    events.ticket_field_changed.send(ticket.id, field="team_id", previous=previous,
                                     current=team_id)
    member_of_new_team = team_id is not None and ticket.assignee_id is not None and \
        db.session.scalar(select(team_members.c.user_id).where(
            and_(team_members.c.team_id == team_id,
                 team_members.c.user_id == ticket.assignee_id))) is not None
    if ticket.assignee_id is not None and not member_of_new_team:
        routing.set_assignee(ticket, None, now, actor=actor, reason="team changed")
    if ticket.assignee_id is None and ticket.status in (Status.NEW, Status.OPEN,
                                                         Status.REOPENED):
        routing.assign(ticket, now)
