"""SLA compliance: first-response and resolution targets met and breached, each counted in
the period in which it was decided (see /docs/reports.md, "SLA compliance")."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields
from sqlalchemy import and_, case, func, or_

from service.db_types import UTCDateTime, utcnow
from service.extensions import db
from service.reports.engine import Metric
from service.reports.numbers import percent
from service.reports.query import Part, Slice, count_if
from service.reports.rollup import Rollup
from service.reports.registry import Column, Report, Unit, register
from tickets.analytics.dimensions import (TICKET_DETAILS, TICKET_FILTERS, ticket_conditions,
                                          ticket_dimensions, tickets_with_accounts)
from tickets.models import SlaTarget, Ticket

# Measure names of each target's outcomes, by target.
_PREFIX = {SlaTarget.FIRST_RESPONSE: "fr", SlaTarget.RESOLUTION: "res"}


def _target_columns(target: SlaTarget) -> tuple[Any, Any, Any]:
    """(met at, due at, breached at) of one target."""
    if target is SlaTarget.FIRST_RESPONSE:
        return (Ticket.first_responded_at, Ticket.first_response_due_at,
                Ticket.first_response_breached_at)
    return Ticket.resolved_at, Ticket.resolution_due_at, Ticket.resolution_breached_at


def met(target: SlaTarget) -> Any:
    """SQL: the target was met (done by its due time, no breach recorded)."""
    done, due, breached_at = _target_columns(target)
    return and_(done.is_not(None), due.is_not(None), breached_at.is_(None), done <= due)


def breached(target: SlaTarget, now: datetime) -> Any:
    """SQL: the target was breached as of `now`: a breach was recorded, it was done late,
    or it is still not done past its due time with the clock running."""
    done, due, breached_at = _target_columns(target)
    return and_(due.is_not(None), or_(
        breached_at.is_not(None),
        and_(done.is_not(None), done > due),
        # A paused clock's due time moves on resume: it is not due yet.
        and_(done.is_(None), Ticket.sla_paused_at.is_(None), due <= now)))


def breach_moment(target: SlaTarget) -> Any:
    """SQL: when a breach was decided: the due time, or the recorded breach if that came
    first (the due time moved later after the breach, e.g. the priority was lowered)."""
    _, due, breached_at = _target_columns(target)
    return case((and_(breached_at.is_not(None), breached_at < due), breached_at), else_=due)


def _first_breach(now: datetime) -> Any:
    """SQL: the moment of the ticket's first breach (of either target), or NULL."""
    first = case((breached(SlaTarget.FIRST_RESPONSE, now),
                  breach_moment(SlaTarget.FIRST_RESPONSE)))
    second = case((breached(SlaTarget.RESOLUTION, now), breach_moment(SlaTarget.RESOLUTION)))
    return case((first.is_(None), second), (second.is_(None), first),
                (first <= second, first), else_=second)


def decided_since(start: datetime) -> Any:
    """SQL prefilter: a due time, the first response or the resolution is at or after
    `start`. Every target decided at or after `start` passes: met at its done time, and a
    breach is placed at its due time or earlier. On PostgreSQL one GREATEST(...), the
    expression of the index ix_tickets_sla_latest that the dashboard's report uses too
    (tickets.reports._sla_moment_since); elsewhere the equivalent OR."""
    columns = (Ticket.first_response_due_at, Ticket.resolution_due_at,
               Ticket.first_responded_at, Ticket.resolved_at)
    if db.session.get_bind().dialect.name == "postgresql":
        return func.greatest(*columns, type_=UTCDateTime) >= start
    return or_(*(column >= start for column in columns))


def _counts(period: Slice) -> list[tuple[str, Any, list]]:
    """(measure, the moment that places it in a period, its conditions) of each count."""
    # Targets not yet due cannot be breached: judge them as of the period's end, or now
    # when the period ends later (today's whole day).
    now = min(period.end, utcnow())
    # Breached tickets first: a breakdown by team lists the teams that breach most.
    counts = [("breached_tickets", _first_breach(now), [])]
    for target in SlaTarget:
        prefix = _PREFIX[target]
        counts.append((f"{prefix}_met", _target_columns(target)[0], [met(target)]))
        counts.append((f"{prefix}_breached", breach_moment(target), [breached(target, now)]))
    return counts


def _scope(period: Slice) -> list:
    # Every moment of a ticket (due times, answers, breaches) is at or after its
    # creation: the bound on created_at keeps a short period long ago from reading every
    # ticket decided since (a day's rollup, the previous period's first hours).
    return [*ticket_conditions(period), decided_since(period.start),
            Ticket.created_at < period.end]


def _parts(period: Slice) -> list[Part]:
    """One part per count, each placed in time (and in buckets) by its own moment."""
    return [Part(moment, {name: count_if(*conditions)}, _scope(period),
                 select_from=tickets_with_accounts(), ticket=Ticket.id)
            for name, moment, conditions in _counts(period)]


def _flat_parts(period: Slice) -> list[Part]:
    """The same counts in one statement (Metric.flat, for totals and breakdowns): each
    count carries its moment's range among its conditions."""
    return [Part(None, {name: count_if(moment >= period.start, moment < period.end,
                                       *conditions)
                        for name, moment, conditions in _counts(period)},
                 _scope(period), select_from=tickets_with_accounts(), ticket=Ticket.id)]


def _outcome(met_count: int | None, breached_count: int | None) -> dict[str, Any]:
    met_count, breached_count = met_count or 0, breached_count or 0
    total = met_count + breached_count
    return {"met": met_count, "breached": breached_count, "total": total,
            "percent": percent(met_count, total)}


def _numbers(row: dict[str, Any]) -> dict[str, Any]:
    return {"first_response": _outcome(row.get("fr_met"), row.get("fr_breached")),
            "resolution": _outcome(row.get("res_met"), row.get("res_breached")),
            "breached_tickets": row.get("breached_tickets") or 0}


class TargetOutcome(Schema):
    met = fields.Integer(metadata={"description": "Targets met in the period (by when met)."})
    breached = fields.Integer(metadata={
        "description": "Targets breached in the period (by their due time)."})
    total = fields.Integer(metadata={"description": "Targets decided in the period."})
    percent = fields.Float(allow_none=True, metadata={
        "description": "Percent met, one decimal; null when none was decided."})


class SlaComplianceNumbers(Schema):
    first_response = fields.Nested(TargetOutcome)
    resolution = fields.Nested(TargetOutcome)
    breached_tickets = fields.Integer(metadata={
        "description": "Tickets whose first breach (of either target) fell in the period."})


SLA_COMPLIANCE = register(Report(
    name="sla-compliance",
    title=_l("SLA compliance"),
    description=_l("First-response and resolution targets met and breached, each counted "
                   "when it was decided: met when the reply or resolution came in time, "
                   "breached at its due time. Tickets without an SLA are left out."),
    metric=Metric(_parts, ticket_dimensions(5), _numbers, flat=_flat_parts,
                  rollup=Rollup("sla-compliance", details=TICKET_DETAILS)),
    numbers=SlaComplianceNumbers,
    columns=(Column("first_response.percent", _l("First response met %"), Unit.PERCENT,
                    better="up"),
             Column("resolution.percent", _l("Resolution met %"), Unit.PERCENT, better="up"),
             Column("breached_tickets", _l("Tickets breached"), Unit.COUNT,
                    drill="breached_tickets", better="down"),
             Column("first_response.breached", _l("First responses breached"), Unit.COUNT,
                    drill="fr_breached", better="down"),
             Column("resolution.breached", _l("Resolutions breached"), Unit.COUNT,
                    drill="res_breached", better="down"),
             Column("first_response.met", _l("First responses in time"), Unit.COUNT,
                    drill="fr_met", better="up"),
             Column("resolution.met", _l("Resolutions in time"), Unit.COUNT,
                    drill="res_met", better="up")),
    filters=TICKET_FILTERS,
    order=20,
))
