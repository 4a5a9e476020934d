"""Marshmallow schemas of the feedback reports' numbers (one set: a total, a group, or a
previous period); the query and the result around them are service.reports.schemas'."""
from __future__ import annotations

from marshmallow import Schema, fields


def _percent() -> fields.Float:
    return fields.Float(allow_none=True, metadata={"description": "Percent, one decimal; "
                                                   "null when nothing to divide."})


class NpsNumbers(Schema):
    responses = fields.Integer()
    promoters = fields.Integer()
    passives = fields.Integer()
    detractors = fields.Integer()
    promoters_percent = _percent()
    passives_percent = _percent()
    detractors_percent = _percent()
    nps = fields.Float(allow_none=True, metadata={"description": "% promoters − % detractors"})


class DimensionNumbers(Schema):
    answered = fields.Integer()
    average = fields.Float(allow_none=True)
    satisfied = fields.Integer()
    satisfied_percent = _percent()


class CsatNumbers(Schema):
    responses = fields.Integer()
    average = fields.Float(allow_none=True, metadata={"description": "1–5, two decimals"})
    satisfied = fields.Integer()
    satisfied_percent = _percent()
    dimensions = fields.Dict(keys=fields.String(), values=fields.Nested(DimensionNumbers),
                             metadata={"description": "attitude, efficiency, outcome"})


class RateNumbers(Schema):
    sent = fields.Integer()
    opened = fields.Integer()
    answered = fields.Integer()
    open_rate = _percent()
    response_rate = _percent()


class RatesNumbers(Schema):
    csat = fields.Nested(RateNumbers)
    nps = fields.Nested(RateNumbers)


class RecoveryNumbers(Schema):
    opened = fields.Integer()
    closed = fields.Integer()
    closed_in_time = fields.Integer()
    closed_in_time_percent = _percent()
    resurveyed = fields.Integer()
    resurvey_answered = fields.Integer()
    won_back = fields.Integer()
    won_back_percent = _percent()
    # The total only (Report.extra), whatever the period: groups and `previous` lack them.
    open_now = fields.Integer(metadata={"description": "Total only: open at the request."})
    overdue_now = fields.Integer(metadata={"description": "Total only: of those, past due."})


class OpportunityNumbers(Schema):
    created = fields.Integer()
    contacted = fields.Integer()
    contacted_in_time = fields.Integer()
    contacted_in_time_percent = _percent()
    won = fields.Integer()
    won_value = fields.Integer()
    lost = fields.Integer()
    win_rate = _percent()
