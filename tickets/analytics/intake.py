"""Intake: tickets created in the period, how many came back as follow-ups of closed ones,
and how many are still open (the example every ticket report follows)."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields

from service.reports.engine import Metric
from service.reports.query import Part, Slice, count_if
from service.reports.registry import Column, Report, Unit, register
from service.reports.rollup import Rollup
from tickets.analytics.dimensions import (TICKET_DETAILS, TICKET_FILTERS, ticket_conditions,
                                          ticket_dimensions, tickets_with_accounts)
from tickets.models import OPEN_STATUSES, Channel, Ticket


def _parts(period: Slice) -> list[Part]:
    return [Part(Ticket.created_at, {
        "created": count_if(),
        "still_open": count_if(Ticket.status.in_(OPEN_STATUSES)),
        "follow_ups": count_if(Ticket.follow_up_of_id.is_not(None)),
    }, ticket_conditions(period), select_from=tickets_with_accounts(),
        ticket=Ticket.id)]


def _numbers(row: dict[str, Any]) -> dict[str, Any]:
    return {"created": row.get("created") or 0, "still_open": row.get("still_open") or 0,
            "follow_ups": row.get("follow_ups") or 0}


class IntakeNumbers(Schema):
    created = fields.Integer(metadata={"description": "Tickets created in the period."})
    still_open = fields.Integer(metadata={"description": "Of those, open now."})
    follow_ups = fields.Integer(metadata={
        "description": "Of those, follow-ups of a closed ticket (the customer came back)."})


INTAKE = register(Report(
    name="intake",
    title=_l("Intake"),
    description=_l("Tickets created in the period, by when they came, where from and for "
                   "whom; how many are still open and how many followed up a closed one."),
    # Kept in daily rollups: "still open" of a day before the last 7 is as of that day's
    # last rebuild (at most a day old; docs/reports.md).
    metric=Metric(_parts, ticket_dimensions(1), _numbers,
                  rollup=Rollup("intake", details=TICKET_DETAILS)),
    numbers=IntakeNumbers,
    columns=(Column("created", _l("Created"), Unit.COUNT, drill="created"),
             Column("still_open", _l("Still open"), Unit.COUNT, drill="still_open",
                    better="down"),
             Column("follow_ups", _l("Follow-ups of closed tickets"), Unit.COUNT,
                    drill="follow_ups", better="down")),
    filters=TICKET_FILTERS,
    order=10,
))


def created_part(period: Slice, channels: tuple[Channel, ...], name: str = "tickets") -> Part:
    """A Part counting the tickets created in the period through `channels` (as measure
    `name`), for other domains' reports that set tickets beside their own rows (e.g. the
    knowledge base's deflection rate); the slice's ticket filters apply."""
    return Part(Ticket.created_at, {name: count_if(Ticket.channel.in_(channels))},
                ticket_conditions(period), select_from=tickets_with_accounts(),
                ticket=Ticket.id)
