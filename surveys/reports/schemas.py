"""Marshmallow schemas of the feedback reports: the query, and each report's numbers."""
from __future__ import annotations

from datetime import date, datetime

from marshmallow import Schema, ValidationError, fields, validate

from service.schemas import StrictSchema
from service.validation import MAX_ID
from service.reports.query import Grouping

_ID = validate.Range(min=1, max=MAX_ID)
SURVEY_GROUPINGS = ("day", "week", "month", "team", "agent", "product", "account")
RECOVERY_GROUPINGS = ("day", "week", "month", "team", "account")
OPPORTUNITY_GROUPINGS = ("day", "week", "month", "source", "account")


class DateOrDateTime(fields.Field):
    """An ISO 8601 date (2026-03-01) or date-time (2026-03-01T08:00:00+08:00)."""

    def _deserialize(self, value, attr, data, **kwargs) -> date | datetime:
        if not isinstance(value, str) or not 10 <= len(value) <= 40:
            raise ValidationError("Use an ISO date (2026-03-01) or date-time.")
        try:
            if len(value) == 10:
                return date.fromisoformat(value)
            return datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError("Use an ISO date (2026-03-01) or date-time.") from None


def _query(groupings: tuple[str, ...]) -> type[StrictSchema]:
    class ReportQuery(StrictSchema):
        """Period, grouping and filters of a report."""
        from_ = DateOrDateTime(data_key="from", metadata={
            "description": "Start (ISO date: local midnight; or date-time). Default: 30 days "
                           "before `to`."})
        to = DateOrDateTime(metadata={
            "description": "End (ISO date: through that whole day; or date-time, excluded). "
                           "Default: now."})
        group_by = fields.String(validate=validate.OneOf(groupings))
        team = fields.Integer(validate=_ID)
        agent = fields.Integer(validate=_ID)
        product = fields.String(validate=validate.Length(min=1, max=80))
        account = fields.Integer(validate=_ID)
        tz = fields.String(validate=validate.Length(min=1, max=64), metadata={
            "description": "IANA zone of the day/week/month buckets; default: yours, else "
                           "the service's."})
        top = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100), metadata={
            "description": "How many groups a team/agent/product/account breakdown lists."})

    return ReportQuery


class SurveyReportQuery(_query(SURVEY_GROUPINGS)):
    """GET /reports/nps, /reports/csat, /reports/survey-responses."""


class RecoveryReportQuery(_query(RECOVERY_GROUPINGS)):
    """GET /reports/recovery."""


class OpportunityReportQuery(_query(OPPORTUNITY_GROUPINGS)):
    """GET /reports/opportunities (team, agent and product do not apply: 400)."""


def grouping(data: dict) -> Grouping | None:
    """The loaded group_by as a Grouping."""
    value = data.get("group_by")
    return Grouping(value) if value else None


# ---- output ----

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


class RecoveryTotal(RecoveryNumbers):
    open_now = fields.Integer()
    overdue_now = fields.Integer()


class OpportunityNumbers(Schema):
    created = fields.Integer()
    contacted = fields.Integer()
    contacted_in_time = fields.Integer()
    contacted_in_time_percent = _percent()
    won = fields.Integer()
    won_value = fields.Integer()
    lost = fields.Integer()
    win_rate = _percent()


_GROUPS: dict[type[Schema], type[Schema]] = {}


def _group(numbers: type[Schema]) -> type[Schema]:
    """The numbers of one group (made once per numbers schema: one OpenAPI name each)."""
    if numbers in _GROUPS:
        return _GROUPS[numbers]
    _GROUPS[numbers] = type(f"{numbers.__name__}Group", (numbers,), {
        "key": fields.Raw(metadata={"description": "Bucket's local start date, or the id / "
                                                   "product / source; null: none"}),
        "label": fields.String(),
    })
    return _GROUPS[numbers]


def _report(name: str, total: type[Schema], group: type[Schema], **extra) -> type[Schema]:
    return type(name, (Schema,), {
        "from_": fields.AwareDateTime(data_key="from"), "to": fields.AwareDateTime(),
        "zone": fields.String(), "group_by": fields.String(allow_none=True),
        "filters": fields.Dict(), "total": fields.Nested(total),
        "groups": fields.List(fields.Nested(_group(group))), **extra})


NpsReport = _report("NpsReport", NpsNumbers, NpsNumbers)
CsatReport = _report("CsatReport", CsatNumbers, CsatNumbers)
ResponseRateReport = _report("ResponseRateReport", RatesNumbers, RatesNumbers)
RecoveryReport = _report("RecoveryReport", RecoveryTotal, RecoveryNumbers)
OpportunityReport = _report("OpportunityReport", OpportunityNumbers, OpportunityNumbers,
                            by_source=fields.List(fields.Nested(_group(OpportunityNumbers))))
