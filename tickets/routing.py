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
    query = _candidate_query(ticket.team_id, dedicated_id).with_for_update(of=User,
                                                                           key_share=True)
    with db.session.no_autoflush:  # a new ticket is inserted later, already assigned
        agents = list(db.session.scalars(query.execution_options(populate_existing=True)))
        if not agents:
            return None
        return best_candidate(assess_candidates(agents, ticket.required_skills or [],
                                                dedicated_id))


@dataclass(frozen=True)
class Candidate:
    """An agent who could take a ticket, and what stands in the way if they cannot."""
    agent: User
    is_dedicated: bool
    available: bool
    under_capacity: bool
    missing_skills: tuple[str, ...]

    @property
    def eligible(self) -> bool:
        return self.available and self.under_capacity and not self.missing_skills


def preview_candidates(team_id: int | None, required_skills: list[str],
                       dedicated_id: int | None) -> list[Candidate]:
    """The candidates as assignment would judge them now, read without locks (dry runs)."""
    if team_id is None and dedicated_id is None:
        return []
    agents = list(db.session.scalars(_candidate_query(team_id, dedicated_id)))
    return assess_candidates(agents, required_skills, dedicated_id)


def _candidate_query(team_id: int | None, dedicated_id: int | None):
    return select(User).where(
        User.is_active.is_(True), User.role.in_(ASSIGNABLE_ROLES),
        (User.id.in_(member_ids_of(team_id))) | (User.id == dedicated_id),
    ).order_by(User.id)


def _dedicated_agent_id(ticket: Ticket) -> int | None:
    # The relationship, not account_id: a new ticket is assigned before its INSERT, when
    # only the relationship is set (loaded with the contact at intake).
    account = ticket.account
    return account.dedicated_agent_id if account is not None else None


def assess_candidates(agents: list[User], required_skills: list[str],
                      dedicated_id: int | None) -> list[Candidate]:
    """Judge each candidate agent: availability, capacity and the skills the ticket needs."""
    required = set(required_skills)
    skills: dict[int, set[str]] = {}
    if required and agents:
        for user_id, name in db.session.execute(
                select(user_skills.c.user_id, Skill.name)
                .join(Skill, Skill.id == user_skills.c.skill_id)
                .where(user_skills.c.user_id.in_([agent.id for agent in agents]))):
            skills.setdefault(user_id, set()).add(name)
    return [Candidate(agent=agent, is_dedicated=agent.id == dedicated_id,
                      available=agent.availability == Availability.AVAILABLE,
                      under_capacity=agent.open_tickets < agent.max_open_tickets,
                      missing_skills=tuple(sorted(required - skills.get(agent.id, set()))))
            for agent in agents]


_EPOCH = datetime.min.replace(tzinfo=UTC)


def ranking(candidate: Candidate) -> tuple:
    """Sort key among eligible agents: fewest open tickets, lightest load, longest idle."""
    agent = candidate.agent
    return (agent.open_tickets, agent.open_load, agent.last_assigned_at or _EPOCH, agent.id)


def best_candidate(candidates: list[Candidate]) -> User | None:
    """The VIP account's dedicated agent when eligible, else the best-ranked eligible one.

    Every candidate but the dedicated agent is a member of the ticket's team (that is how
    candidates are selected), so the ranking needs no further team check.
    """
    pool = [candidate for candidate in candidates if candidate.eligible]
    for candidate in pool:
        if candidate.is_dedicated:
            return candidate.agent
    return min(pool, key=ranking).agent if pool else None


def member_ids_of(team_id: int):
    """Select the user ids of a team's members."""
    return select(team_members.c.user_id).where(team_members.c.team_id == team_id)


def set_assignee(ticket: Ticket, agent: User | None, now: datetime, *, actor: User | None,
                 reason: str) -> None:
    """Give a saved ticket to `agent` (or nobody), with a timeline event and a signal."""
    from service import events

    apply_assignee(ticket, agent, now, actor=actor, reason=reason)
    if agent is not None:
        events.ticket_assigned.send(ticket.id, assignee_id=agent.id,
                                    actor_id=actor.id if actor else None)


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
