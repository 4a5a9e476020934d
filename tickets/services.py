"""Reading and changing tickets on behalf of staff, with authorisation in one place."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, case, false, func, literal, select, true, tuple_, union
from sqlalchemy.orm import aliased, joinedload, selectinload

from service import events
from service.auth.models import Role, User
from service.auth.permissions import Permission, can, require
from service.db_types import UTCDateTime, utcnow
from service.directory.models import Account, Contact, Team, team_members
from service.errors import Forbidden, InvalidInput, InvalidTransition, NotFound
from service.extensions import db
from service.pagination import decode_cursor, decode_time_cursor, encode_cursor
from service.validation import is_email, is_id
from tickets import lifecycle, routing, sla, timeline
from tickets.models import PRIORITY_ORDER, Priority, Status, Ticket, TicketTag

_NUMBER = re.compile(r"^\s*T-?(\d{1,10})\s*$", re.IGNORECASE)


def visible_to(user: User):
    """SQL condition: tickets this staff user may see (others answer 404).

    Admins see every ticket. Agents, leads and department members see their teams'
    tickets, the ones assigned to them, the ones they opened and the ones their teams (or
    they) hold a cross-department task for; agents and leads also
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
    # A department sees the tickets it holds a task for (any status: its history too).
    from tickets.tasks.models import Task

    tasked = select(Task.ticket_id).where(Task.department_id.in_(teams)
                                          | (Task.assignee_id == user.id))
    condition = (own | (Ticket.assignee_id == user.id) | Ticket.team_id.in_(teams)
                 | Ticket.id.in_(tasked))
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


@dataclass(frozen=True)
class _Sort:
    """A list order: SQL keys compared as one row (then the id), and how a cursor holds them."""
    keys: tuple[Any, ...]
    kinds: tuple[str, ...]  # "time" or "int", one per key
    descending: bool


# The SLA deadline that comes next, for sorting by time left: first response until it is
# met, then resolution. A stopped clock (paused, met, no policy) sorts after every running
# one; a breached target keeps its (past) deadline, so the most overdue come first.
_NEVER = literal(datetime(9999, 12, 31, tzinfo=UTC), UTCDateTime)
_SLA_DUE = case(
    (Ticket.sla_policy_id.is_(None), _NEVER),
    (and_(Ticket.sla_paused_at.is_not(None), Ticket.first_response_breached_at.is_(None),
          Ticket.resolution_breached_at.is_(None)), _NEVER),
    (Ticket.first_responded_at.is_(None), func.coalesce(Ticket.first_response_due_at, _NEVER)),
    (Ticket.resolved_at.is_(None), func.coalesce(Ticket.resolution_due_at, _NEVER)),
    else_=_NEVER)
_PRIORITY_RANK = case({priority.value: rank for rank, priority in enumerate(PRIORITY_ORDER)},
                      value=Ticket.priority)

_SORTS = {
    "-created_at": _Sort((Ticket.created_at,), ("time",), True),
    "created_at": _Sort((Ticket.created_at,), ("time",), False),
    "-updated_at": _Sort((Ticket.updated_at,), ("time",), True),
    "updated_at": _Sort((Ticket.updated_at,), ("time",), False),
    # Most urgent first, then the most recently updated within a priority.
    "-priority": _Sort((_PRIORITY_RANK, Ticket.updated_at), ("int", "time"), True),
    "sla_due": _Sort((_SLA_DUE,), ("time",), False),  # least time left first
}

# A ticket's account is joined under an alias: visible_to() filters on `accounts` in a
# subquery, which must not be correlated with the joined row.
_TICKET_ACCOUNT = aliased(Account, name="ticket_account")

# The columns a ticket list shows, read as plain rows: building ORM objects for a page
# of tickets and their relations cost more than the query itself.
_LIST_COLUMNS = (
    Ticket.id, Ticket.subject, Ticket.status, Ticket.priority, Ticket.priority_reason,
    Ticket.channel, Ticket.language, Ticket.category, Ticket.product, Ticket.reopen_count,
    Ticket.closed_at, Ticket.closed_reason, Ticket.follow_up_of_id,
    Ticket.created_at, Ticket.updated_at, Ticket.contact_id, Ticket.team_id, Ticket.assignee_id,
    Ticket.sla_policy_id, Ticket.sla_paused_at, Ticket.first_response_due_at,
    Ticket.resolution_due_at, Ticket.first_response_warn_at, Ticket.resolution_warn_at,
    Ticket.first_response_warned_at, Ticket.resolution_warned_at, Ticket.first_responded_at,
    Ticket.resolved_at, Ticket.first_response_breached_at, Ticket.resolution_breached_at,
    Contact.email.label("contact_email"), Contact.name.label("contact_name"),
    Contact.phone.label("contact_phone"),
    Team.name.label("team_name"), User.name.label("assignee_name"),
    _TICKET_ACCOUNT.tier.label("account_tier"),
)


def list_tickets(user: User, filters: dict[str, Any], *, scope: Any = None,
                 search_customers: bool = False) -> tuple[list[Any], dict[int, list[str]],
                                                          str | None]:
    """One keyset page of the tickets the user may see: rows, tags by ticket, next cursor.

    `scope` is an extra SQL condition (a console queue); `search_customers` makes `q` also
    match the customer's email or name, not only the ticket number and subject.
    """
    sort = _SORTS[filters["sort"]]
    query = (select(Ticket.id.label("page_id"),
                    *(key.label(f"sort_key_{index}") for index, key in enumerate(sort.keys)))
             .where(visible_to(user)))
    if scope is not None:
        query = query.where(scope)
    if filters.get("status"):
        query = query.where(Ticket.status.in_(filters["status"]))
    if filters.get("priority"):
        query = query.where(Ticket.priority.in_(filters["priority"]))
    if filters.get("sla_state"):
        query = query.where(Ticket.sla_state.in_(filters["sla_state"]))
    if filters.get("channel"):
        query = query.where(Ticket.channel.in_(filters["channel"]))
    if filters.get("team"):
        query = query.where(Ticket.team_id == filters["team"])
    if filters.get("tag"):
        query = query.where(Ticket.id.in_(select(TicketTag.ticket_id)
                                          .where(TicketTag.tag == filters["tag"])))
    assignee = filters.get("assignee")
    if assignee == "me":
        query = query.where(Ticket.assignee_id == user.id)
    elif assignee == "none":
        query = query.where(Ticket.assignee_id.is_(None))
    elif assignee:
        query = query.where(Ticket.assignee_id == int(assignee))
    if filters.get("q"):
        query = query.where(_text_match(filters["q"], customers=search_customers))
    key = tuple_(*sort.keys, Ticket.id)
    if filters.get("cursor"):
        values, last_id = _decode_sort_cursor(filters["cursor"], filters["sort"], sort)
        query = query.where(key < (*values, last_id) if sort.descending
                            else key > (*values, last_id))

    def ordered(columns):
        return [column.desc() if sort.descending else column.asc() for column in columns]

    limit = filters["limit"]
    page = query.order_by(*ordered((*sort.keys, Ticket.id))).limit(limit + 1).subquery("page")
    # The page is chosen first and only its rows are joined to their details: joined before
    # the sort and limit, PostgreSQL joined every matching ticket to its contact, team...
    keys = [page.c[f"sort_key_{index}"] for index in range(len(sort.keys))]
    details = (select(*_LIST_COLUMNS, *keys).select_from(page)
               .join(Ticket, Ticket.id == page.c.page_id)
               .join(Contact, Contact.id == Ticket.contact_id)
               .outerjoin(Team, Team.id == Ticket.team_id)
               .outerjoin(User, User.id == Ticket.assignee_id)
               .outerjoin(_TICKET_ACCOUNT, _TICKET_ACCOUNT.id == Ticket.account_id)
               .order_by(*ordered((*keys, page.c.page_id))))
    rows = list(db.session.execute(details))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        values = [getattr(last, f"sort_key_{index}") for index in range(len(sort.keys))]
        values = [value.isoformat() if isinstance(value, datetime) else value
                  for value in values]
        # One key keeps the cursor shape the API has always handed out.
        next_cursor = encode_cursor(filters["sort"], values[0] if len(values) == 1 else values,
                                    last.id)
    tags: dict[int, list[str]] = {}
    if rows:
        for ticket_id, tag in db.session.execute(
                select(TicketTag.ticket_id, TicketTag.tag)
                .where(TicketTag.ticket_id.in_([row.id for row in rows]))
                .order_by(TicketTag.ticket_id, TicketTag.tag)):
            tags.setdefault(ticket_id, []).append(tag)
    return rows, tags, next_cursor


def _decode_sort_cursor(cursor: str, name: str, sort: _Sort) -> tuple[list[Any], int]:
    """The key values and last id a cursor of this sort points past, or InvalidInput."""
    if sort.kinds == ("time",):
        moment, last_id = decode_time_cursor(cursor, name)
        return [moment], last_id
    value, last_id = decode_cursor(cursor, name)
    invalid = InvalidInput(errors={"cursor": ["Invalid cursor for this list."]})
    if not isinstance(value, list) or len(value) != len(sort.kinds):
        raise invalid
    values: list[Any] = []
    for kind, part in zip(sort.kinds, value, strict=True):
        if kind == "int":
            if not isinstance(part, int) or isinstance(part, bool) or abs(part) > 1000:
                raise invalid
            values.append(part)
            continue
        try:
            moment = datetime.fromisoformat(part)
        except (TypeError, ValueError):
            raise invalid from None
        if moment.tzinfo is None:
            raise invalid
        values.append(moment)
    return values, last_id


def _text_match(text: str, *, customers: bool = False):
    """SQL condition: the ticket number, else a substring of the subject (or the customer).

    Subject matches go through the subject's trigram index (PostgreSQL). Customer matches
    are a second branch of a UNION, not an OR: an OR across the contact join would make
    PostgreSQL scan every ticket; a full email address uses the unique email index.
    """
    number = _NUMBER.match(text)
    if number:
        ticket_id = int(number.group(1))
        return Ticket.id == ticket_id if is_id(ticket_id) else false()
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    if not customers:
        return Ticket.subject.ilike(pattern, escape="\\")
    by_subject, by_customer, person = aliased(Ticket), aliased(Ticket), aliased(Contact)
    address = text.strip().lower()
    person_match = (person.email == address if is_email(address)
                    else person.email.ilike(pattern, escape="\\")
                    | person.name.ilike(pattern, escape="\\"))
    return Ticket.id.in_(union(
        select(by_subject.id).where(by_subject.subject.ilike(pattern, escape="\\")),
        select(by_customer.id).join(person, person.id == by_customer.contact_id)
        .where(person_match)))


# Why update_ticket refuses a change. The console shows each in the reader's language
# (tickets.console.ticket_page keys its translations on these texts).
REASON_TOO_LONG = "The reason is at most 300 characters."
LOWER_PRIORITY_NEEDS_OVERRIDE = "Lowering the priority needs the SLA override permission."
LOWER_PRIORITY_NEEDS_REASON = "Give a reason for lowering the priority."
CLOSE_NEEDS_REASON = ("Give a reason for closing the ticket yourself: a resolved ticket "
                      "closes by itself when the customer confirms the fix.")
RESOLVE_THROUGH_RESOLUTION = ("A ticket is resolved through its resolution (POST "
                              "/api/v1/tickets/{id}/resolution: summary, root cause and how the "
                              "fix was verified), not by changing its status.")
TICKET_IS_CLOSED = ("This ticket is closed: its status no longer changes. A reply from the "
                    "customer soon after closing reopens it; later ones open a new ticket.")
ASSIGN_NEEDS_PERMISSION = ("Giving a ticket to someone else or moving it to another team "
                           "needs the assign permission.")
NO_SUCH_TEAM = "No team with this id."
NO_SUCH_AGENT = "No active agent with this id."


def update_ticket(user: User, ticket: Ticket, changes: dict[str, Any]) -> Ticket:
    """Apply a staff change (API PATCH, console form): all of it, or nothing and an error.

    `changes` may hold priority, status, team, assignee, category, product and tags, and a
    `reason` kept with each change. The policy, checked before anything is written:

    - every change needs ticket.update; a priority change needs ticket.set_priority;
    - lowering the priority needs sla.override and a reason (raising it needs neither);
    - giving the ticket to someone else (or to nobody) or moving it to another team needs
      ticket.assign; anyone who may update a ticket may take it for themselves when their
      role can hold tickets (routing.ASSIGNABLE_ROLES);
    - a status change must be one tickets.lifecycle allows, and never of a closed ticket;
      resolving goes through tickets.resolution.services.resolve (with its verification),
      never through a status change; closing by hand (skipping the customer's
      confirmation) always needs a reason and is recorded as closed by staff; moving a
      resolved ticket back to reopened needs none;
    - any other change takes an optional reason.

    Raises Forbidden, InvalidInput (field → messages) or InvalidTransition.
    """
    require(user, Permission.TICKET_UPDATE)
    reason = (changes.get("reason") or "").strip() or None
    if reason is not None and len(reason) > 300:
        raise InvalidInput(errors={"reason": [REASON_TOO_LONG]})
    priority = changes.get("priority", ticket.priority)
    new_priority = "priority" in changes and priority != ticket.priority
    if new_priority:
        require(user, Permission.TICKET_SET_PRIORITY)
        if PRIORITY_ORDER.index(priority) < PRIORITY_ORDER.index(ticket.priority):
            if not can(user, Permission.SLA_OVERRIDE):
                raise Forbidden(LOWER_PRIORITY_NEEDS_OVERRIDE)
            if reason is None:
                raise InvalidInput(LOWER_PRIORITY_NEEDS_REASON,
                                   errors={"reason": [LOWER_PRIORITY_NEEDS_REASON]})
    new_team = "team" in changes and changes["team"] != ticket.team_id
    if new_team and changes["team"] is not None and db.session.get(Team, changes["team"]) is None:
        raise InvalidInput(errors={"team": [NO_SUCH_TEAM]})
    new_assignee = "assignee" in changes and changes["assignee"] != ticket.assignee_id
    agent = None
    if new_assignee and changes["assignee"] is not None:
        agent = db.session.get(User, changes["assignee"])
        if agent is None or not agent.is_active or agent.role not in routing.ASSIGNABLE_ROLES:
            raise InvalidInput(errors={"assignee": [NO_SUCH_AGENT]})
    takes_it = new_assignee and agent is not None and agent.id == user.id
    if (new_team or (new_assignee and not takes_it)) and not can(user, Permission.TICKET_ASSIGN):
        raise Forbidden(ASSIGN_NEEDS_PERMISSION)
    status = changes.get("status")
    if status is not None and status != ticket.status:
        if ticket.status == Status.CLOSED:
            raise InvalidTransition(TICKET_IS_CLOSED)
        if status == Status.RESOLVED:
            raise InvalidTransition(RESOLVE_THROUGH_RESOLUTION)
        if not lifecycle.can_transition(ticket.status, status):
            raise InvalidTransition(f"A ticket cannot go from {ticket.status} to {status}.")
        if status == Status.CLOSED and reason is None:
            raise InvalidInput(CLOSE_NEEDS_REASON, errors={"reason": [CLOSE_NEEDS_REASON]})
    now = utcnow()
    if new_priority:
        change_priority(ticket, priority, user, now, reason)
    if new_team:
        # An explicit assignee in the same change wins over automatic assignment.
        _change_team(ticket, changes["team"], user, now, reason, auto_assign=not new_assignee)
    if new_assignee and changes["assignee"] != ticket.assignee_id:
        routing.set_assignee(ticket, agent, now, actor=user, reason=reason or "manual")
    for field in ("category", "product"):
        if field in changes and changes[field] != getattr(ticket, field):
            previous = getattr(ticket, field)
            timeline.record(ticket.id, f"{field}_changed", actor=user, at=now,
                            **{"from": previous, "to": changes[field], "reason": reason})
            events.ticket_field_changed.send(ticket.id, field=field, previous=previous,
                                             current=changes[field])
            setattr(ticket, field, changes[field])
    if "tags" in changes and changes["tags"] != ticket.tags:
        timeline.record(ticket.id, "tags_changed", actor=user, at=now,
                        **{"from": ticket.tags, "to": changes["tags"], "reason": reason})
        events.ticket_field_changed.send(ticket.id, field="tags", previous=ticket.tags,
                                         current=changes["tags"])
        ticket.tag_rows = [TicketTag(tag=tag) for tag in changes["tags"]]
    if status is not None:
        # A status change by hand closes as "closed by staff" (lifecycle's default); a
        # pending confirmation is superseded by tickets.resolution.listeners.
        lifecycle.change_status(ticket, status, actor=user, now=now, reason=reason)
    ticket.updated_at = now
    db.session.commit()
    return ticket


def change_priority(ticket: Ticket, priority: Priority, actor: User | None, now: datetime,
                    reason: str | None) -> None:
    """Change priority and recompute the SLA due times under the new policy.

    No permission check: callers decide (update_ticket holds the staff policy).
    """
    previous = ticket.priority
    ticket.priority = priority
    text = f"changed by staff: {reason}" if reason else "changed by staff"
    ticket.priority_reason = text[:500]  # the column's size; reasons are short anyway
    sla.change_policy(ticket, sla.policy_for(priority), now)
    timeline.record(ticket.id, "priority_changed", actor=actor, at=now,
                    **{"from": previous.value, "to": priority.value, "reason": reason})
    events.ticket_priority_changed.send(ticket.id, previous=previous, current=priority)


def _change_team(ticket: Ticket, team_id: int | None, actor: User, now: datetime,
                 reason: str | None, *, auto_assign: bool = True) -> None:
    if team_id is not None and db.session.get(Team, team_id) is None:
        raise InvalidInput(errors={"team": [NO_SUCH_TEAM]})
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
    if auto_assign and ticket.assignee_id is None and ticket.status in (
            Status.NEW, Status.OPEN, Status.REOPENED):
        routing.assign(ticket, now)
