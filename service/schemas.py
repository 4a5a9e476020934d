"""Schema building blocks shared by every domain's API."""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

from service.validation import strip_controls


class StrictSchema(Schema):
    """Unknown fields are errors, never silently dropped or mass-assigned."""

    class Meta:
        unknown = RAISE

    @pre_load
    def _strip_controls(self, data, **_kwargs):
        if isinstance(data, dict):
            return {key: strip_controls(value).strip() if isinstance(value, str) else value
                    for key, value in data.items()}
        return data


class QuerySchema(StrictSchema):
    """Query parameters: each given once, except `LIST_PARAMS`, which may repeat or hold
    comma-separated values (`?status=open,new` or `?status=open&status=new`)."""

    LIST_PARAMS: tuple[str, ...] = ()

    @pre_load
    def _split_lists(self, data, **_kwargs):
        data = dict(data)
        for key, value in data.items():
            if key in self.LIST_PARAMS:
                values = value if isinstance(value, list) else [value]
                data[key] = [part for item in values for part in str(item).split(",") if part]
            elif isinstance(value, list):
                raise ValidationError("Give this parameter once.", key)
        return data


class TokenRequest(StrictSchema):
    email = fields.String(required=True, validate=validate.Length(min=3, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class TokenOut(Schema):
    token = fields.String()
    expires_at = fields.AwareDateTime(allow_none=True)


class AgentPatch(StrictSchema):
    availability = fields.String(validate=validate.OneOf(
        ["available", "away", "out_of_office"]))
    max_open_tickets = fields.Integer(strict=True, validate=validate.Range(min=0, max=1000))


class AgentOut(Schema):
    id = fields.Integer()
    email = fields.String()
    name = fields.String()
    role = fields.String()
    availability = fields.String()
    max_open_tickets = fields.Integer()


class FailedJobOut(Schema):
    id = fields.String()
    queue = fields.String()
    func = fields.String()
    args = fields.List(fields.Raw())
    failed_at = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    source = fields.String()


class FailedJobsOut(Schema):
    items = fields.List(fields.Nested(FailedJobOut))
    outbox_pending = fields.Integer()


def page_of(item: type[Schema], name: str) -> type[Schema]:
    """A keyset page schema: `items` of one schema and the `next_cursor`."""
    return Schema.from_dict({"items": fields.List(fields.Nested(item)),
                             "next_cursor": fields.String(allow_none=True)}, name=name)
