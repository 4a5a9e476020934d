"""The deflection report: requests the knowledge base answered instead of a ticket.

Deflections are counted by the moment they were recorded (kb_deflections.created_at in
the period), per source. The deflection rate sets them against the tickets created in the
same period through the channels where a suggestion is shown before a request is sent
(the web form and the portal): rate = deflections / (deflections + those tickets). By
source, each source is set against the tickets of its own channel (web form: web, portal:
portal); the help centre has no request channel of its own, so it is set against none.

Deflections belong to no team, agent, ticket or account, so the report is company-wide:
a lead's team scope does not narrow it, every filter is refused, and no number can be
drilled into tickets. The tickets are counted by tickets.analytics (created_part); the
knowledge base never reads the tickets table itself.
"""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields
from sqlalchemy import String, cast, literal_column

from knowledge_base.models import Deflection, DeflectionSource
from service.auth.permissions import Permission
from service.reports.engine import Metric
from service.reports.numbers import percent
from service.reports.query import FILTERS, Grouping, Part, Slice, count_if
from service.reports.registry import Column, Report, Unit, register
from service.reports.rollup import Rollup
from tickets.analytics.intake import created_part
from tickets.models import Channel

# The request channel each deflection source stands beside (the help centre has none).
SOURCE_CHANNELS = {DeflectionSource.WEB_FORM: Channel.WEB,
                   DeflectionSource.PORTAL: Channel.PORTAL}


def _source_key(source: DeflectionSource) -> Any:
    # A constant group key for the tickets of one channel. Written inline and cast, as
    # PostgreSQL refuses a bare constant in GROUP BY.
    return cast(literal_column(f"'{source.value}'"), String)


def _parts(period: Slice) -> list[Part]:
    # Company-wide (see the module docstring): the tickets ignore the reader's team scope.
    everyone = Slice(period.start, period.end)
    deflections = Part(Deflection.created_at, {
        "deflections": count_if(),
        **{source.value: count_if(Deflection.source == source) for source in DeflectionSource},
    })
    return [deflections, *[created_part(everyone, (channel,), f"{channel.value}_tickets")
                           for channel in SOURCE_CHANNELS.values()]]


def _numbers(row: dict[str, Any]) -> dict[str, Any]:
    deflections = row.get("deflections") or 0
    tickets = sum(row.get(f"{channel.value}_tickets") or 0
                  for channel in SOURCE_CHANNELS.values())
    by_source = {source.value: row.get(source.value) or 0 for source in DeflectionSource}
    return {"deflections": deflections, "tickets": tickets,
            "rate": percent(deflections, deflections + tickets), **by_source}


class DeflectionNumbers(Schema):
    deflections = fields.Integer(metadata={"description": "Deflections recorded in the period."})
    tickets = fields.Integer(metadata={
        "description": "Tickets created in the period through the web form and the portal."})
    rate = fields.Float(allow_none=True, metadata={
        "description": "deflections / (deflections + tickets), percent, one decimal; null "
                       "when both are 0."})
    web_form = fields.Integer(metadata={"description": "Deflections on the web form."})
    portal = fields.Integer(metadata={"description": "Deflections in the portal."})
    help_centre = fields.Integer(metadata={"description": "Deflections in the help centre."})


_COMPANY_WIDE = _l("Deflections belong to no team, agent, ticket or account: this report "
                   "cannot be filtered.")

DEFLECTION = register(Report(
    name="deflection",
    title=_l("Deflection"),
    description=_l("Requests a knowledge-base article solved instead of a ticket, by source, "
                   "and the deflection rate against the tickets sent through the web form "
                   "and the portal."),
    metric=Metric(_parts, {Grouping.SOURCE: [Deflection.source,
                                             *[_source_key(source) for source in SOURCE_CHANNELS]]},
                  _numbers, rollup=Rollup("deflection", by=Grouping.SOURCE, company_wide=True)),
    numbers=DeflectionNumbers,
    columns=(Column("deflections", _l("Deflections"), Unit.COUNT, better="up"),
             Column("tickets", _l("Tickets from the web form and portal"), Unit.COUNT),
             Column("rate", _l("Deflection rate"), Unit.PERCENT, better="up"),
             Column("web_form", _l("On the web form"), Unit.COUNT),
             Column("portal", _l("In the portal"), Unit.COUNT),
             Column("help_centre", _l("In the help centre"), Unit.COUNT)),
    section="self_service",
    filters=(),
    readers=(Permission.DASHBOARD, Permission.KB_STATS),
    refusals={name: _COMPANY_WIDE for name in FILTERS},
    order=10,
))
