"""Backlog: the tickets open at the period's end, by age and priority, and how many of them
were past a due time (see /docs/reports.md, "Backlog")."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields
from sqlalchemy import and_, exists, or_

from service.db_types import utcnow
from service.reports.engine import Metric
from service.reports.query import Part, Slice, count_if
from service.reports.registry import Column, Report, Unit, register
from tickets.analytics.dimensions import (TICKET_FILTERS, ticket_conditions, ticket_dimensions,
                                          tickets_with_accounts)
from tickets.models import OPEN_STATUSES, PRIORITY_ORDER, SlaPause, Ticket
from tickets.reports import AGE_BUCKETS


def snapshot_instant(period: Slice) -> datetime:
    """The instant the backlog is taken at: the period's end, or now if that is later."""
    return min(period.end, utcnow())


def open_at(instant: datetime, now: datetime) -> Any:
    """SQL: the ticket was open at `instant` (exactly the open statuses when it is now;
    before, rebuilt from creation, latest resolution and closing: see the docs)."""
    if instant >= now:
        return Ticket.status.in_(OPEN_STATUSES)
    return and_(Ticket.created_at < instant,
                or_(Ticket.resolved_at.is_(None), Ticket.resolved_at >= instant),
                or_(Ticket.closed_at.is_(None), Ticket.closed_at >= instant))


def _paused_at(instant: datetime) -> Any:
    """SQL: the ticket's SLA clock stood paused at `instant`."""
    return exists().where(SlaPause.ticket_id == Ticket.id, SlaPause.paused_at <= instant,
                          or_(SlaPause.resumed_at.is_(None), SlaPause.resumed_at > instant))


def past_due_at(instant: datetime) -> Any:
    """SQL: an open ticket was past a due time at `instant`: a breach recorded by then, or
    a target due by then and not met, its clock running."""
    unanswered = or_(Ticket.first_responded_at.is_(None), Ticket.first_responded_at >= instant)
    return or_(Ticket.first_response_breached_at <= instant,
               Ticket.resolution_breached_at <= instant,
               and_(~_paused_at(instant), or_(
                   and_(unanswered, Ticket.first_response_due_at <= instant),
                   Ticket.resolution_due_at <= instant)))


def _age_conditions(instant: datetime) -> dict[str, Any]:
    """Age bucket key → SQL condition; a ticket exactly at a bound goes to the older one."""
    conditions, younger = {}, None
    for key, bound in AGE_BUCKETS:
        older_than_previous = [] if younger is None else [Ticket.created_at <= instant - younger]
        within = [] if bound is None else [Ticket.created_at > instant - bound]
        conditions[key] = and_(*older_than_previous, *within)
        younger = bound
    return conditions


def _parts(period: Slice) -> list[Part]:
    now = utcnow()
    instant = min(period.end, now)
    measures = {"open": count_if()}
    measures.update({f"age_{key}": count_if(condition)
                     for key, condition in _age_conditions(instant).items()})
    measures.update({f"priority_{priority.value}": count_if(Ticket.priority == priority)
                     for priority in PRIORITY_ORDER})
    measures["breached_open"] = count_if(past_due_at(instant))
    return [Part(None, measures, [*ticket_conditions(period), open_at(instant, now)],
                 select_from=tickets_with_accounts(), ticket=Ticket.id)]


def _numbers(row: dict[str, Any]) -> dict[str, Any]:
    return {"open": row.get("open") or 0,
            "by_age": {key: row.get(f"age_{key}") or 0 for key, _ in AGE_BUCKETS},
            "by_priority": {priority.value: row.get(f"priority_{priority.value}") or 0
                            for priority in PRIORITY_ORDER},
            "breached_open": row.get("breached_open") or 0}


class BacklogAges(Schema):
    lt_4h = fields.Integer(metadata={"description": "Open for less than 4 hours."})
    _4h_24h = fields.Integer(data_key="4h_24h", attribute="4h_24h",
                             metadata={"description": "4 to 24 hours."})
    _1d_3d = fields.Integer(data_key="1d_3d", attribute="1d_3d",
                            metadata={"description": "1 to 3 days."})
    _3d_7d = fields.Integer(data_key="3d_7d", attribute="3d_7d",
                            metadata={"description": "3 to 7 days."})
    gt_7d = fields.Integer(metadata={"description": "7 days or more."})


class BacklogPriorities(Schema):
    low = fields.Integer()
    normal = fields.Integer()
    high = fields.Integer()
    urgent = fields.Integer()


class BacklogNumbers(Schema):
    open = fields.Integer(metadata={"description": "Tickets open at the period's end."})
    by_age = fields.Nested(BacklogAges, metadata={
        "description": "Of those, by age at the period's end."})
    by_priority = fields.Nested(BacklogPriorities)
    breached_open = fields.Integer(metadata={
        "description": "Of those, past a first-response or resolution due time."})


_AGE_LABELS = {"lt_4h": _l("Open < 4 h"), "4h_24h": _l("Open 4–24 h"),
               "1d_3d": _l("Open 1–3 days"), "3d_7d": _l("Open 3–7 days"),
               "gt_7d": _l("Open > 7 days")}
_PRIORITY_LABELS = {"low": _l("Low priority"), "normal": _l("Normal priority"),
                    "high": _l("High priority"), "urgent": _l("Urgent priority")}

BACKLOG = register(Report(
    name="backlog",
    title=_l("Backlog"),
    description=_l("Tickets open at the end of the period, by how long they had been open "
                   "and by priority, and how many were past a due time."),
    metric=Metric(_parts, ticket_dimensions(1), _numbers),
    numbers=BacklogNumbers,
    columns=(Column("open", _l("Open"), Unit.COUNT, drill="open", better="down"),
             Column("breached_open", _l("Open past due"), Unit.COUNT, drill="breached_open",
                    better="down"),
             *[Column(f"by_age.{key}", label, Unit.COUNT, drill=f"age_{key}")
               for key, label in _AGE_LABELS.items()],
             *[Column(f"by_priority.{key}", label, Unit.COUNT, drill=f"priority_{key}")
               for key, label in _PRIORITY_LABELS.items()]),
    filters=TICKET_FILTERS,
    time_groupings=False,
    order=40,
))
