"""Marshmallow schemas of the audit log API: the search query and the entries."""
from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, post_load, validate

from service.audit.search import MAX_LIMIT
from service.schemas import QuerySchema, page_of
from service.validation import MAX_ID

# "ticket.update", or a prefix ending in a dot ("ticket."): letters, digits, '_' and '.'.
ACTION_PATTERN = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*\.?$")
OBJECT_TYPE_PATTERN = re.compile(r"^[a-z0-9_]+$")


class AuditQuery(QuerySchema):
    actor = fields.Integer(strict=False, validate=validate.Range(min=1, max=MAX_ID))
    action = fields.String(validate=[validate.Length(min=1, max=80), validate.Regexp(
        ACTION_PATTERN, error="An action like 'ticket.update', or a prefix like 'ticket.'.")])
    object_type = fields.String(validate=[validate.Length(min=1, max=40), validate.Regexp(
        OBJECT_TYPE_PATTERN, error="Lower-case letters, digits and '_' only.")])
    object_id = fields.String(validate=validate.Length(min=1, max=40))
    since = fields.AwareDateTime()  # at or after
    until = fields.AwareDateTime()  # before
    q = fields.String(validate=validate.Length(min=1, max=200))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(validate=validate.Length(max=200))

    @post_load
    def _period(self, data, **_kwargs):
        if "since" in data and "until" in data and data["since"] >= data["until"]:
            raise ValidationError("since must be before until.", "since")
        return data


class AuditActorOut(Schema):
    kind = fields.String()
    user_id = fields.Integer(allow_none=True)
    role = fields.String(allow_none=True)
    name = fields.String(allow_none=True)


class AuditEntryOut(Schema):
    id = fields.Integer()
    at = fields.AwareDateTime()
    actor = fields.Nested(AuditActorOut)
    action = fields.String()
    object_type = fields.String(allow_none=True)
    object_id = fields.String(allow_none=True)
    changes = fields.Dict(keys=fields.String(), values=fields.Raw())
    ip_address = fields.String(allow_none=True)
    user_agent = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)


AuditPageOut = page_of(AuditEntryOut, "AuditPageOut")
