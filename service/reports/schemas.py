"""Marshmallow schemas of the reports API: the query every report takes, and the result."""
from __future__ import annotations

from datetime import date, datetime

from marshmallow import Schema, ValidationError, fields, validate

from service.directory.models import Tier
from service.schemas import StrictSchema
from service.validation import MAX_ID
from tickets.models import Channel, Priority

_ID = validate.Range(min=1, max=MAX_ID)
FORMATS = ("json", "csv", "xlsx")


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


def _choice(values) -> validate.OneOf:
    return validate.OneOf([value.value for value in values])


class ReportQuery(StrictSchema):
    """Period, grouping, filters and format of GET /api/v1/reports/{metric}."""

    from_ = DateOrDateTime(data_key="from", metadata={
        "description": "Start (ISO date: local midnight; or date-time). Default: 30 days "
                       "before `to`."})
    to = DateOrDateTime(metadata={
        "description": "End (ISO date: through that whole day; or date-time, excluded). "
                       "Default: now."})
    group_by = fields.String(validate=validate.Length(min=1, max=20), metadata={
        "description": "day, week, month, or a dimension the metric has (GET /reports "
                       "lists them)."})
    team = fields.Integer(validate=_ID)
    agent = fields.Integer(validate=_ID)
    channel = fields.String(validate=_choice(Channel))
    priority = fields.String(validate=_choice(Priority))
    category = fields.String(validate=validate.Length(min=1, max=80))
    product = fields.String(validate=validate.Length(min=1, max=80))
    tier = fields.String(validate=_choice(Tier))
    account = fields.Integer(validate=_ID)
    department = fields.Integer(validate=_ID)
    tz = fields.String(validate=validate.Length(min=1, max=64), metadata={
        "description": "IANA zone of the period and its buckets; default: yours, else the "
                       "service's."})
    top = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100), metadata={
        "description": "How many groups a breakdown by dimension lists."})
    compare = fields.Boolean(load_default=True, metadata={
        "description": "Add the previous period of the same length (`previous`)."})
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS), metadata={
        "description": "json, or the table as a csv or xlsx download."})


class ReportPrevious(Schema):
    from_ = fields.AwareDateTime(data_key="from")
    to = fields.AwareDateTime()
    total = fields.Dict()


class ReportResult(Schema):
    metric = fields.String()
    from_ = fields.AwareDateTime(data_key="from")
    to = fields.AwareDateTime()
    zone = fields.String()
    group_by = fields.String(allow_none=True)
    filters = fields.Dict()
    total = fields.Dict(allow_none=True)
    groups = fields.List(fields.Raw(), metadata={
        "description": "Each group: key, label, the metric's numbers, and `previous`."})
    previous = fields.Nested(ReportPrevious, allow_none=True)


class ReportColumn(Schema):
    key = fields.String(metadata={"description": "Dotted path into the numbers."})
    label = fields.String()
    unit = fields.String()
    drillable = fields.Boolean()


class ReportDescription(Schema):
    name = fields.String()
    title = fields.String()
    description = fields.String()
    section = fields.String()
    group_by = fields.List(fields.String())
    filters = fields.List(fields.String())
    columns = fields.List(fields.Nested(ReportColumn))


class ReportCatalog(Schema):
    items = fields.List(fields.Nested(ReportDescription))
