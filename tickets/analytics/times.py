"""Response times: first-response, resolution and handle time of tickets, each as a count,
a median and a 90th percentile in calendar seconds (see /docs/reports.md, "Response
times")."""
from __future__ import annotations

from fractions import Fraction
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields
from sqlalchemy import and_, func, or_

from service.extensions import db
from service.reports.engine import Metric
from service.reports.numbers import rounded
from service.reports.query import Part, Slice, count_if, percentile
from service.reports.registry import Column, Report, Unit, register
from service.reports.rollup import Rollup
from tickets.analytics.dimensions import (TICKET_DETAILS, TICKET_FILTERS, ticket_conditions,
                                          ticket_dimensions, tickets_with_accounts)
from tickets.models import Ticket


def elapsed_seconds(later: Any, earlier: Any) -> Any:
    """SQL: calendar seconds from `earlier` to `later`, the same on both databases."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _measures(within: dict[str, list]) -> dict[str, Any]:
    """The counts and percentiles, each also under the conditions `within` gives for its
    moment ("fr": first responses, "res": resolutions)."""
    first_response = elapsed_seconds(Ticket.first_responded_at, Ticket.created_at)
    resolution = elapsed_seconds(Ticket.resolved_at, Ticket.created_at)
    # Time waiting on the customer (SLA pauses, resolved before a reopening) is kept on
    # the ticket by tickets.sla in calendar seconds: no per-row subquery here.
    handle = resolution - Ticket.waiting_seconds
    fr, res = within["fr"], within["res"]
    return {"fr_count": count_if(*fr), "fr_median": percentile(first_response, 0.5, *fr),
            "fr_p90": percentile(first_response, 0.9, *fr),
            "res_count": count_if(*res), "res_median": percentile(resolution, 0.5, *res),
            "res_p90": percentile(resolution, 0.9, *res),
            "handle_median": percentile(handle, 0.5, *res),
            "handle_p90": percentile(handle, 0.9, *res)}


def _parts(period: Slice) -> list[Part]:
    """First responses placed by when they came, resolutions by when they happened."""
    measures = _measures({"fr": [], "res": []})
    return [Part(moment, {name: measures[name] for name in measures if name.startswith(prefix)},
                 ticket_conditions(period), select_from=tickets_with_accounts(),
                 ticket=Ticket.id)
            for moment, prefix in ((Ticket.first_responded_at, "fr_"),
                                   (Ticket.resolved_at, ("res_", "handle_")))]


def _flat_parts(period: Slice) -> list[Part]:
    """The same numbers in one statement (Metric.flat, for totals and breakdowns)."""
    fr = [and_(Ticket.first_responded_at >= period.start,
               Ticket.first_responded_at < period.end)]
    res = [and_(Ticket.resolved_at >= period.start, Ticket.resolved_at < period.end)]
    return [Part(None, _measures({"fr": fr, "res": res}),
                 [*ticket_conditions(period), or_(*fr, *res)],
                 select_from=tickets_with_accounts(), ticket=Ticket.id)]


def _seconds(value: Any) -> float | None:
    """A duration to one decimal: SQLite's julianday arithmetic is off by microseconds."""
    return None if value is None else rounded(Fraction(value), 1)


def _numbers(row: dict[str, Any]) -> dict[str, Any]:
    def times(count: str, prefix: str) -> dict[str, Any]:
        return {"count": row.get(count) or 0, "median": _seconds(row.get(f"{prefix}_median")),
                "p90": _seconds(row.get(f"{prefix}_p90"))}

    return {"first_response": times("fr_count", "fr"), "resolution": times("res_count", "res"),
            "handle": times("res_count", "handle")}


class Durations(Schema):
    count = fields.Integer(metadata={"description": "Tickets timed."})
    median = fields.Float(allow_none=True, metadata={"description": "Median, in seconds."})
    p90 = fields.Float(allow_none=True, metadata={
        "description": "90th percentile (interpolated), in seconds."})


class ResponseTimesNumbers(Schema):
    first_response = fields.Nested(Durations, metadata={
        "description": "Tickets first answered in the period: creation to first answer."})
    resolution = fields.Nested(Durations, metadata={
        "description": "Tickets resolved in the period: creation to (latest) resolution."})
    handle = fields.Nested(Durations, metadata={
        "description": "The same tickets' resolution time less the time spent waiting on "
                       "the customer (SLA paused, or resolved before a reopening)."})


RESPONSE_TIMES = register(Report(
    name="response-times",
    title=_l("Response times"),
    description=_l("How long customers waited for a first answer and for a resolution, and "
                   "how long tickets were in our hands (handle time): median and 90th "
                   "percentile, in calendar time."),
    metric=Metric(_parts, ticket_dimensions(2), _numbers, flat=_flat_parts,
                  rollup=Rollup("response-times", details=TICKET_DETAILS)),
    numbers=ResponseTimesNumbers,
    columns=(Column("first_response.median", _l("First response, median"), Unit.SECONDS,
                    better="down"),
             Column("first_response.p90", _l("First response, 90th percentile"), Unit.SECONDS,
                    better="down"),
             Column("resolution.median", _l("Resolution, median"), Unit.SECONDS,
                    better="down"),
             Column("resolution.p90", _l("Resolution, 90th percentile"), Unit.SECONDS,
                    better="down"),
             Column("handle.median", _l("Handle time, median"), Unit.SECONDS, better="down"),
             Column("handle.p90", _l("Handle time, 90th percentile"), Unit.SECONDS,
                    better="down"),
             Column("first_response.count", _l("First responses"), Unit.COUNT,
                    drill="fr_count"),
             Column("resolution.count", _l("Resolved"), Unit.COUNT, drill="res_count")),
    filters=TICKET_FILTERS,
    order=30,
))
