"""Ticket queues of the staff console: queue definitions, list pages, saved views, bulk actions.

Business rules only (no Flask request): tickets.console.queues parses the query string and
forms, calls these functions and renders the results.
"""
from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError

from service.auth.models import User
from service.auth.permissions import Permission, can, require
from service.directory.models import Team, Tier, team_members
from service.errors import DomainError, Forbidden, InvalidInput, NotFound
from service.extensions import db
from tickets import routing, sla
from tickets.models import (OPEN_STATUSES, PRIORITY_ORDER, Channel, Priority, SavedView,
                            SlaState, SlaTarget, Status, Ticket, format_number)
from tickets.services import get_ticket, list_tickets, update_ticket, visible_to

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_BULK = 100  # tickets per bulk request: each goes through update_ticket on its own
MAX_SAVED_VIEWS = 50
MAX_TAGS = 20  # as the API's TicketPatch allows
TAG_PATTERN = r"^[\w\-\.\u4e00-\u9fff]{1,50}$"  # the API's tag rule (tickets.schemas)

# Staff wording: the shared status labels speak to customers ("Waiting for your reply").
# Console sort names are list_tickets' sort keys.
SORT_LABELS = {
    "-updated_at": _l("Last update, newest first"),
    "-created_at": _l("Created, newest first"),
    "created_at": _l("Created, oldest first"),
    "-priority": _l("Priority, most urgent first"),
    "sla_due": _l("SLA time left, least first"),
}

_OPEN = Ticket.status.in_(OPEN_STATUSES)


@dataclass(frozen=True)
class Queue:
    """A named ticket list: an SQL condition over the tickets the user may see."""
    name: str
    label: Any
    scope: Callable[[User, datetime], Any]  # (user, now) → SQL condition, or None for all
    default_sort: str = "-updated_at"


def _my_teams(user: User):
    return select(team_members.c.team_id).where(team_members.c.user_id == user.id)


def _at_risk(_user: User, now: datetime):
    # The stored state lags the clock by up to one sweep: a ticket whose next check point
    # (its warning or due time) has passed is at risk or breached already.
    return and_(_OPEN, Ticket.sla_state.in_((SlaState.AT_RISK, SlaState.BREACHED))
                | (Ticket.sla_next_check_at <= now))


QUEUES: dict[str, Queue] = {queue.name: queue for queue in (
    Queue("mine", _l("My tickets"),
          lambda user, _now: and_(Ticket.assignee_id == user.id, _OPEN)),
    Queue("team", _l("My team"),
          lambda user, _now: and_(Ticket.team_id.in_(_my_teams(user)), _OPEN)),
    Queue("unassigned", _l("Unassigned"),
          lambda _user, _now: and_(Ticket.assignee_id.is_(None), _OPEN)),
    Queue("at_risk", _l("At risk and breached"), _at_risk, default_sort="sla_due"),
    Queue("waiting_customer", _l("Waiting on customer"),
          lambda _user, _now: Ticket.status == Status.PENDING_CUSTOMER),
    Queue("waiting_internal", _l("Waiting on other departments"),
          lambda _user, _now: Ticket.status == Status.PENDING_INTERNAL),
    Queue("resolved", _l("Resolved, awaiting confirmation"),
          lambda _user, _now: Ticket.status == Status.RESOLVED),
    Queue("all", _l("All tickets"), lambda _user, _now: None),
)}
DEFAULT_QUEUE = "mine"


@dataclass(frozen=True)
class QueueRow:
    """One ticket as a queue shows it, with its live SLA clock."""
    id: int
    number: str
    subject: str
    customer_name: str
    customer_email: str | None
    customer_phone: str | None
    vip: bool
    priority: Priority
    status: Status
    channel: Channel
    team_name: str | None
    assignee_id: int | None
    assignee_name: str | None
    tags: list[str]
    sla_state: SlaState | None  # None: no SLA policy applies
    sla_target: SlaTarget | None  # the target whose deadline comes next
    sla_due: datetime | None  # its deadline; None while the clock stands still
    sla_warn: datetime | None  # when it turns "at risk"
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    next_cursor: str | None


def queue_page(user: User, queue: Queue, filters: dict[str, Any], now: datetime) -> QueuePage:
    """One keyset page of a queue (one query for the rows, one for their tags)."""
    filters = {**filters, "sort": filters.get("sort") or queue.default_sort,
               "limit": filters.get("limit") or PAGE_SIZE}
    rows, tags, next_cursor = list_tickets(user, filters, scope=queue.scope(user, now),
                                           search_customers=True)
    return QueuePage([_present(row, tags.get(row.id, []), now) for row in rows], next_cursor)


def _present(row: Any, tags: list[str], now: datetime) -> QueueRow:
    target = due = warn = None
    state = None
    if row.sla_policy_id is not None:
        state = sla.live_state(row, now)
        if row.first_responded_at is None:
            target, due, warn = (SlaTarget.FIRST_RESPONSE, row.first_response_due_at,
                                 row.first_response_warn_at)
        elif row.resolved_at is None:
            target, due, warn = (SlaTarget.RESOLUTION, row.resolution_due_at,
                                 row.resolution_warn_at)
        if state is SlaState.PAUSED:
            due = warn = None  # a paused clock's deadlines move when it resumes
    return QueueRow(
        id=row.id, number=format_number(row.id), subject=row.subject,
        customer_name=row.contact_name, customer_email=row.contact_email,
        customer_phone=row.contact_phone, vip=row.account_tier == Tier.VIP,
        priority=row.priority, status=row.status, channel=row.channel,
        team_name=row.team_name, assignee_id=row.assignee_id, assignee_name=row.assignee_name,
        tags=tags, sla_state=state, sla_target=target, sla_due=due, sla_warn=warn,
        created_at=row.created_at, updated_at=row.updated_at)


def agent_choices() -> list[tuple[int, str]]:
    """(id, name) of the active users who can hold tickets, by name."""
    return [(id_, name) for id_, name in db.session.execute(
        select(User.id, User.name).where(User.is_active.is_(True),
                                         User.role.in_(routing.ASSIGNABLE_ROLES))
        .order_by(User.name, User.id))]


def team_choices(chinese: bool = False) -> list[tuple[int, str]]:
    """(id, name) of every team, in the reader's language where a Chinese name is set."""
    name = func.coalesce(Team.name_zh, Team.name) if chinese else Team.name
    return [(id_, label) for id_, label in db.session.execute(
        select(Team.id, name).order_by(name, Team.id))]


# ---- saved views ----

SAVED_VIEW_KEYS = ("queue", "status", "priority", "sla_state", "channel", "team", "assignee",
                   "tag", "q", "sort")
DUPLICATE_VIEW_NAME = _l("You already have a view with this name.")
TOO_MANY_VIEWS = _l("You can keep at most %(num)d saved views; delete one first.",
                    num=MAX_SAVED_VIEWS)
VIEW_NAME_LENGTH = _l("Give the view a name of 1 to 80 characters.")


def saved_views_for(user: User) -> list[SavedView]:
    """The user's saved queue views, in their order."""
    return list(db.session.scalars(select(SavedView).where(SavedView.user_id == user.id)
                                   .order_by(SavedView.position, SavedView.id)))


def save_view(user: User, name: str, params: dict[str, Any]) -> SavedView:
    """Keep the queue arguments under a name of the user's (names are unique per user)."""
    name = " ".join(name.split())
    if not 1 <= len(name) <= 80:
        raise InvalidInput(errors={"name": [VIEW_NAME_LENGTH]})
    taken = db.session.execute(
        select(func.count(SavedView.id), func.max(SavedView.position),
               func.count(SavedView.id).filter(SavedView.name == name))
        .where(SavedView.user_id == user.id)).one()
    if taken[2]:
        raise InvalidInput(errors={"name": [DUPLICATE_VIEW_NAME]})
    if taken[0] >= MAX_SAVED_VIEWS:
        raise InvalidInput(errors={"name": [TOO_MANY_VIEWS]})
    view = SavedView(user_id=user.id, name=name, position=(taken[1] or 0) + 1,
                     params={key: value for key, value in params.items()
                             if key in SAVED_VIEW_KEYS and value not in (None, "", [])})
    db.session.add(view)
    try:
        db.session.commit()
    except IntegrityError:  # the same name saved at the same moment from another tab
        db.session.rollback()
        raise InvalidInput(errors={"name": [DUPLICATE_VIEW_NAME]}) from None
    return view


def delete_view(user: User, view_id: int) -> str:
    """Delete one of the user's saved views (anyone else's is NotFound); returns its name."""
    view = db.session.scalar(select(SavedView).where(SavedView.id == view_id,
                                                     SavedView.user_id == user.id))
    if view is None:
        raise NotFound("No such saved view.")
    name = view.name
    db.session.delete(view)
    db.session.commit()
    return name


# ---- bulk actions ----

class BulkKind(enum.StrEnum):
    ASSIGN = "assign"
    PRIORITY = "priority"
    TAG = "tag"


class Skip(enum.StrEnum):
    """Why a bulk action left a ticket as it was."""
    NOT_FOUND = "not_found"  # no such ticket, or not one the user may see
    UNCHANGED = "unchanged"  # it already was so
    CLOSED = "closed"  # closed tickets keep their assignee and priority
    NOT_ALLOWED = "not_allowed"  # e.g. lowering the priority without the SLA override
    NEEDS_REASON = "needs_reason"  # lowering the priority needs a reason
    TOO_MANY_TAGS = "too_many_tags"
    REFUSED = "refused"  # another rule of update_ticket said no


@dataclass(frozen=True)
class BulkAction:
    kind: BulkKind
    assignee_id: int | None = None
    priority: Priority | None = None
    tag: str | None = None
    reason: str | None = None


@dataclass
class BulkResult:
    changed: list[int] = field(default_factory=list)
    skipped: dict[Skip, list[int]] = field(default_factory=dict)

    def skip(self, reason: Skip, ticket_id: int) -> None:
        self.skipped.setdefault(reason, []).append(ticket_id)


NO_TICKETS = _l("Select at least one ticket.")
TOO_MANY_TICKETS = _l("Select at most %(num)d tickets at a time.", num=MAX_BULK)
NO_SUCH_AGENT = _l("Choose an active agent.")


def check_bulk_permission(user: User, action: BulkAction) -> None:
    """Forbidden unless the user's role may apply this action at all."""
    require(user, Permission.TICKET_UPDATE)
    if action.kind is BulkKind.ASSIGN and action.assignee_id != user.id:
        require(user, Permission.TICKET_ASSIGN)
    if action.kind is BulkKind.PRIORITY:
        require(user, Permission.TICKET_SET_PRIORITY)


def bulk_update(user: User, ticket_ids: Iterable[int], action: BulkAction) -> BulkResult:
    """Apply one action to each ticket through update_ticket, each in its own transaction.

    A ticket the user may not see is skipped as not found; a ticket a rule refuses is
    skipped (rolled back alone) and the others still change.
    """
    check_bulk_permission(user, action)
    ids = list(dict.fromkeys(ticket_ids))
    if not ids:
        raise InvalidInput(errors={"ids": [NO_TICKETS]})
    if len(ids) > MAX_BULK:
        raise InvalidInput(errors={"ids": [TOO_MANY_TICKETS]})
    if action.kind is BulkKind.ASSIGN:
        agent = db.session.get(User, action.assignee_id) if action.assignee_id else None
        if agent is None or not agent.is_active or agent.role not in routing.ASSIGNABLE_ROLES:
            raise InvalidInput(errors={"assignee": [NO_SUCH_AGENT]})
    visible = set(db.session.scalars(select(Ticket.id).where(Ticket.id.in_(ids),
                                                             visible_to(user))))
    db.session.rollback()  # each ticket below runs in a transaction of its own
    result = BulkResult()
    # One ticket at a time on purpose: update_ticket locks, checks, records the timeline
    # and recomputes the SLA of one ticket and commits, so a refusal undoes only its own.
    for ticket_id in ids:
        if ticket_id not in visible:
            result.skip(Skip.NOT_FOUND, ticket_id)
            continue
        try:
            ticket = get_ticket(user, ticket_id, for_update=True)
            reason = _skip_reason(user, ticket, action)
            if reason is None:
                update_ticket(user, ticket, _changes(ticket, action))
                result.changed.append(ticket_id)
                continue
        except NotFound:
            reason = Skip.NOT_FOUND
        except Forbidden:
            reason = Skip.NOT_ALLOWED
        except DomainError:
            reason = Skip.REFUSED
        db.session.rollback()
        result.skip(reason, ticket_id)
    return result


def _skip_reason(user: User, ticket: Ticket, action: BulkAction) -> Skip | None:
    if action.kind is BulkKind.TAG:
        tags = ticket.tags
        if action.tag in tags:
            return Skip.UNCHANGED
        return Skip.TOO_MANY_TAGS if len(tags) >= MAX_TAGS else None
    if ticket.status == Status.CLOSED:
        return Skip.CLOSED
    if action.kind is BulkKind.ASSIGN:
        return Skip.UNCHANGED if ticket.assignee_id == action.assignee_id else None
    if action.priority == ticket.priority:
        return Skip.UNCHANGED
    if PRIORITY_ORDER.index(action.priority) < PRIORITY_ORDER.index(ticket.priority):
        if not can(user, Permission.SLA_OVERRIDE):
            return Skip.NOT_ALLOWED
        if not action.reason:
            return Skip.NEEDS_REASON
    return None


def _changes(ticket: Ticket, action: BulkAction) -> dict[str, Any]:
    if action.kind is BulkKind.TAG:
        return {"tags": sorted({*ticket.tags, action.tag})}
    changes: dict[str, Any] = ({"assignee": action.assignee_id}
                               if action.kind is BulkKind.ASSIGN
                               else {"priority": action.priority})
    if action.reason:
        changes["reason"] = action.reason
    return changes
