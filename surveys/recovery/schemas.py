"""Marshmallow schemas of the recovery API: query, patch (close) and out shapes."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, post_load, validate

from service.schemas import QuerySchema, StrictSchema
from service.validation import MAX_ID
from surveys.models import RecoveryOutcome, RecoveryStatus
from surveys.recovery.services import NOTE_MAX
from tickets.schemas import RefOut

_ID = validate.Range(min=1, max=MAX_ID)


class RecoveryQuery(QuerySchema):
    status = fields.Enum(RecoveryStatus, by_value=True)
    owner = fields.String(validate=validate.Regexp(r"^(me|[1-9][0-9]{0,9})$",
                                                   error="Use a user id or 'me'."))
    overdue = fields.Boolean()
    account = fields.Integer(validate=_ID)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(validate=validate.Length(max=200))

    @post_load
    def _owner_id(self, data, **_kwargs):
        if data.get("owner", "me") != "me" and int(data["owner"]) > MAX_ID:
            raise ValidationError("Use a user id or 'me'.", "owner")
        return data


class RecoveryPatch(StrictSchema):
    """Closing a follow-up: both fields required."""
    outcome = fields.Enum(RecoveryOutcome, by_value=True, required=True)
    note = fields.String(required=True, validate=validate.Length(min=1, max=NOTE_MAX))


class RecoveryAnswerOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    score = fields.Integer()
    attitude = fields.Integer(allow_none=True)
    efficiency = fields.Integer(allow_none=True)
    outcome = fields.Integer(allow_none=True)
    comment = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()


class RecoveryTicketOut(Schema):
    id = fields.Integer()
    number = fields.String()


class RecoveryOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    score = fields.Integer()
    status = fields.String()
    overdue = fields.Boolean()
    due_at = fields.AwareDateTime()
    overdue_notified_at = fields.AwareDateTime(allow_none=True)
    contact = fields.Nested(RefOut)
    account = fields.Nested(RefOut, allow_none=True)
    ticket = fields.Nested(RecoveryTicketOut, allow_none=True)
    team = fields.Nested(RefOut, allow_none=True)
    owner = fields.Nested(RefOut, allow_none=True)
    account_manager = fields.Nested(RefOut, allow_none=True)
    outcome = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    closed_by = fields.Nested(RefOut, allow_none=True)
    resurvey_invitation_id = fields.Integer(allow_none=True)
    won_back = fields.Boolean(allow_none=True)
    created_at = fields.AwareDateTime()


class RecoveryDetailOut(RecoveryOut):
    """One follow-up, with the answer behind it."""
    answer = fields.Nested(RecoveryAnswerOut, allow_none=True)


class RecoveryPageOut(Schema):
    items = fields.List(fields.Nested(RecoveryOut))
    next_cursor = fields.String(allow_none=True)
