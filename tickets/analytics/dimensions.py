"""The dimensions every ticket report shares: which column of a ticket is its team, agent,
channel, priority, category, product, account tier…, and the ticket facts other domains
join their rows to (satisfaction by breach, reopens and departments involved)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select

from service.directory.models import Account
from service.reports.query import Grouping, Slice
from tickets.models import Ticket
from tickets.tasks.models import Task

# The Slice filters a ticket report accepts (department belongs to tasks).
TICKET_FILTERS = ("team", "agent", "channel", "priority", "category", "product", "tier",
                  "account")

# The slices also kept in the daily rollups (service.reports.rollup), each per team, so
# that a long-period report filtered or grouped by one of them is read from cells.
TICKET_DETAILS = (Grouping.AGENT, Grouping.CHANNEL, Grouping.PRIORITY, Grouping.CATEGORY,
                  Grouping.PRODUCT, Grouping.TIER)

# Reopen counts and departments involved are grouped with their tail folded in: 2 means
# "2 or more" reopens, 3 means "3 or more" departments.
REOPENS_CAP = 2
DEPARTMENTS_CAP = 3


def ticket_columns() -> dict[str, Any]:
    """The Slice filters' columns on tickets (joined to their account): team, agent,
    channel, priority, category, product, tier and account."""
    return {"team": Ticket.team_id, "agent": Ticket.assignee_id, "channel": Ticket.channel,
            "priority": Ticket.priority, "category": Ticket.category,
            "product": Ticket.product, "tier": Account.tier, "account": Ticket.account_id}


def ticket_conditions(period: Slice) -> list:
    """The slice's scope and filters as conditions on tickets joined to accounts; a
    lead's scope leaves out tickets no team holds, as the dashboard does."""
    return period.conditions(ticket_columns(), teamless=False)


def tickets_with_accounts() -> Any:
    """FROM tickets LEFT JOIN accounts: what ticket_columns() reads."""
    return Ticket.__table__.outerjoin(Account.__table__, Account.id == Ticket.account_id)


def breached() -> Any:
    """SQL: the ticket breached its first-response or resolution target."""
    return (Ticket.first_response_breached_at.is_not(None)
            | Ticket.resolution_breached_at.is_not(None))


def ticket_groupings() -> dict[Grouping, Any]:
    """Grouping → SQL expression over tickets joined to accounts."""
    columns = ticket_columns()
    return {Grouping.TEAM: columns["team"], Grouping.AGENT: columns["agent"],
            Grouping.CHANNEL: columns["channel"], Grouping.PRIORITY: columns["priority"],
            Grouping.CATEGORY: columns["category"], Grouping.PRODUCT: columns["product"],
            Grouping.TIER: columns["tier"], Grouping.ACCOUNT: columns["account"]}


def ticket_dimensions(parts: int = 1) -> dict[Grouping, list[Any]]:
    """The ticket groupings, one expression per part (for Metric.dimensions)."""
    return {grouping: [expression] * parts for grouping, expression in ticket_groupings().items()}


def service_facts(ticket_id: Any) -> tuple[Any, dict[Grouping, Any], dict[str, Any]]:
    """For a domain whose rows point at tickets (`ticket_id`, e.g. survey answers): the
    outer join to add to its FROM (a callable taking that FROM), the groupings the ticket
    adds (channel, priority, category, tier, breached, reopens, departments) and the filter
    columns (channel, priority, category, tier)."""
    ticket = Ticket.__table__.alias("svc_ticket")
    account = Account.__table__.alias("svc_account")

    def join(source: Any) -> Any:
        return (source.outerjoin(ticket, ticket.c.id == ticket_id)
                .outerjoin(account, account.c.id == ticket.c.account_id))

    breach = case((ticket.c.id.is_(None), None),
                  else_=(ticket.c.first_response_breached_at.is_not(None)
                         | ticket.c.resolution_breached_at.is_not(None)))
    reopened = case((ticket.c.reopen_count >= REOPENS_CAP, REOPENS_CAP),
                    else_=ticket.c.reopen_count)
    count = (select(func.count(func.distinct(Task.department_id)))
             .where(Task.ticket_id == ticket.c.id).scalar_subquery())
    involved = case((ticket.c.id.is_(None), None),
                    (count >= DEPARTMENTS_CAP, DEPARTMENTS_CAP), else_=count)
    groupings = {Grouping.CHANNEL: ticket.c.channel, Grouping.PRIORITY: ticket.c.priority,
                 Grouping.CATEGORY: ticket.c.category, Grouping.TIER: account.c.tier,
                 Grouping.BREACHED: breach, Grouping.REOPENS: reopened,
                 Grouping.DEPARTMENTS: involved}
    filters = {"channel": ticket.c.channel, "priority": ticket.c.priority,
               "category": ticket.c.category, "tier": account.c.tier}
    return join, groupings, filters
