"""Routing rules pick a team; assignment picks the least-loaded eligible agent."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from service.auth.models import Availability, Role, User
from service.directory.models import Skill, Team, team_members, user_skills
from service.cache import snapshot
from service.extensions import db
from tickets import timeline
from tickets.models import OPEN_STATUSES, RoutingRule, Status, Ticket

ASSIGNABLE_ROLES = (Role.AGENT, Role.LEAD)


@dataclass(frozen=True)
class TicketFacts:
    """What routing rules can look at."""
    channel: str
    category: str | None
    product: str | None
    language: str | None
    tier: str | None
    text: str


@dataclass(frozen=True)
class Route:
    team_id: int | None
    required_skills: list[str]
    rule_name: str | None


def rule_matches(conditions: dict, facts: TicketFacts) -> bool:
    """Whether every condition of a rule holds for the ticket (absent = any)."""
    for field in ("channel", "category", "product", "language", "tier"):
        wanted = conditions.get(field)
        if wanted:
            value = getattr(facts, field)
            if value is None or value.lower() not in {item.lower() for item in wanted}:
                return False
    keywords = conditions.get("keywords")
    if keywords:
        text = facts.text.lower()
        if not any(word.lower() in text for word in keywords):
            return False
    return True


@dataclass(frozen=True)
class _Rule:
    name: str
    conditions: dict
    team_id: int
    required_skills: tuple[str, ...]


def _load_routing() -> tuple[list[_Rule], int | None]:
    rules = [_Rule(rule.name, rule.conditions or {}, rule.team_id,
                   tuple(rule.required_skills or ()))
             for rule in db.session.scalars(select(RoutingRule)
                                            .where(RoutingRule.is_active.is_(True))
                                            .order_by(RoutingRule.position, RoutingRule.id))]
    default_team = db.session.scalar(select(Team.id).where(Team.is_default.is_(True))
                                     .order_by(Team.id).limit(1))
    return rules, default_team


_routing = snapshot("routing", _load_routing, ttl=10, watch=(RoutingRule, Team))


def route(facts: TicketFacts) -> Route:
    """The team (and skills) of the first matching active rule, else the default team."""
    rules, default_team = _routing()
    for rule in rules:
        if rule_matches(rule.conditions, facts):
            return Route(rule.team_id, list(rule.required_skills), rule.name)
    return Route(default_team, [], None)


def assign(ticket: Ticket, now: datetime) -> User | None:
    """Assign a saved ticket to the best eligible agent, or leave it queued on its team."""
    chosen = choose_agent(ticket)
    if chosen is not None:
        set_assignee(ticket, chosen, now, actor=None, reason="auto")
    return chosen


def choose_agent(ticket: Ticket) -> User | None:
    """Lock the candidate agents and pick the best eligible one (None: nobody can take it).

    Candidate agents' rows are locked in id order (FOR NO KEY UPDATE on PostgreSQL, the
    write lock on SQLite) and re-read, so concurrent intakes see each other's assignments
    and never push an agent past capacity; the locks last until the caller commits.
    NO KEY UPDATE does not conflict with the key share lock a ticket insert takes on the
    caller's user row (no deadlock).
    """
    dedicated_id = _dedicated_agent_id(ticket)
    if ticket.team_id is None and dedicated_id is None:
        return None
    member_ids = select(team_members.c.user_id).where(team_members.c.team_id == ticket.team_id)
    candidates = select(User).where(
        User.is_active.is_(True), User.role.in_(ASSIGNABLE_ROLES),
        (User.id.in_(member_ids)) | (User.id == dedicated_id),
    ).order_by(User.id).with_for_update(of=User, key_share=True)
    with db.session.no_autoflush:  # a new ticket is inserted later, already assigned
        agents = list(db.session.scalars(candidates.execution_options(populate_existing=True)))
        if not agents:
            return None
        return _pick(agents, ticket, dedicated_id)


def _dedicated_agent_id(ticket: Ticket) -> int | None:
    # The relationship, not account_id: a new ticket is assigned before its INSERT, when
    # only the relationship is set (loaded with the contact at intake).
    account = ticket.account
    return account.dedicated_agent_id if account is not None else None


def _pick(agents: list[User], ticket: Ticket, dedicated_id: int | None) -> User | None:
    ids = [agent.id for agent in agents]
    required = set(ticket.required_skills or [])
    skills: dict[int, set[str]] = {}
    if required:
        for user_id, name in db.session.execute(
                select(user_skills.c.user_id, Skill.name)
                .join(Skill, Skill.id == user_skills.c.skill_id)
                .where(user_skills.c.user_id.in_(ids))):
            skills.setdefault(user_id, set()).add(name)

    def eligible(agent: User) -> bool:
        return (agent.availability == Availability.AVAILABLE
                and agent.open_tickets < agent.max_open_tickets
                and required <= skills.get(agent.id, set()))

    pool = [agent for agent in agents if eligible(agent)]
    for agent in pool:
        if agent.id == dedicated_id:
            return agent
    if ticket.team_id is not None and dedicated_id is not None:
        team_ids = set(db.session.scalars(member_ids_of(ticket.team_id)))
        pool = [agent for agent in pool if agent.id in team_ids]
    if not pool:
        return None
    epoch = datetime.min.replace(tzinfo=UTC)
    return min(pool, key=lambda agent: (agent.open_tickets, agent.open_load,
                                        agent.last_assigned_at or epoch, agent.id))


def member_ids_of(team_id: int):
    """Select the user ids of a team's members."""
    return select(team_members.c.user_id).where(team_members.c.team_id == team_id)


def set_assignee(ticket: Ticket, agent: User | None, now: datetime, *, actor: User | None,
                 reason: str) -> None:
    """Give a saved ticket to `agent` (or nobody), with a timeline event and a signal."""
    from service import events

    apply_assignee(ticket, agent, now, actor=actor, reason=reason)
    if agent is not None:
        events.ticket_assigned.send(ticket.id, assignee_id=agent.id)


def apply_assignee(ticket: Ticket, agent: User | None, now: datetime, *, actor: User | None,
                   reason: str) -> None:
    """Set the assignee and record it on the timeline (works before the ticket's INSERT).

    The agent's counters and last-assigned time follow in tickets.load at flush.
    """
    previous = ticket.assignee_id
    ticket.assignee = agent
    ticket.assignee_id = agent.id if agent else None
    ticket.updated_at = now
    if agent is not None and ticket.status == Status.NEW:
        ticket.status = Status.OPEN
    timeline.record(ticket, "assigned", actor=actor, at=now, reason=reason,
                    assignee_id=ticket.assignee_id, previous_assignee_id=previous)


def assign_queued(team_ids: list[int] | None = None, now: datetime | None = None,
                  limit: int = 200) -> int:
    """Assign waiting (unassigned, open) tickets, oldest first, while anyone is eligible."""
    from service.db_types import utcnow

    now = now or utcnow()
    query = (select(Ticket).where(Ticket.assignee_id.is_(None), Ticket.team_id.is_not(None),
                                  Ticket.status.in_(OPEN_STATUSES))
             .order_by(Ticket.created_at, Ticket.id).limit(limit)
             .with_for_update(skip_locked=True, of=Ticket))
    if team_ids:
        query = query.where(Ticket.team_id.in_(team_ids))
    assigned = 0
    # Once nobody can take a (team, skills) kind of ticket, skip the rest of that kind.
    exhausted: set[tuple[int | None, tuple[str, ...]]] = set()
    for ticket in db.session.scalars(query).all():
        kind = (ticket.team_id, tuple(sorted(ticket.required_skills or [])))
        if kind in exhausted:
            continue
        if assign(ticket, now) is None:
            exhausted.add(kind)
        else:
            assigned += 1
    return assigned
