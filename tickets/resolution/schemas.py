"""Marshmallow schemas of the resolution API: resolving, phone confirmations, their output."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from service.schemas import StrictSchema
from service.validation import MAX_ID
from tickets.resolution.services import (ATTACHMENTS_MAX, CALL_REFERENCE_MAX, METHOD_MAX,
                                         OVERRIDE_MAX, TEXT_MAX)
from tickets.schemas import RefOut

_ID = validate.Range(min=1, max=MAX_ID)


def _text(required: bool = False, max_length: int = TEXT_MAX) -> fields.String:
    return fields.String(required=required, validate=validate.Length(min=1, max=max_length))


class VerificationIn(StrictSchema):
    """How the fix was verified inside, before the customer is asked."""
    method = _text(True, METHOD_MAX)
    result = _text(True)
    evidence_note = fields.String(allow_none=True, validate=validate.Length(max=TEXT_MAX))
    attachment_ids = fields.List(fields.Integer(strict=True, validate=_ID),
                                 validate=validate.Length(max=ATTACHMENTS_MAX))


class ResolutionIn(StrictSchema):
    """POST /tickets/{id}/resolution."""
    summary = _text(True)
    root_cause = _text(True)
    verification = fields.Nested(VerificationIn, required=True)
    override_reason = fields.String(validate=validate.Length(min=1, max=OVERRIDE_MAX))


class PhoneConfirmationIn(StrictSchema):
    """POST /tickets/{id}/confirmation: the customer's answer, received on a call."""
    outcome = fields.String(required=True, validate=validate.OneOf(["confirmed", "rejected"]))
    call_reference = _text(True, CALL_REFERENCE_MAX)
    comment = fields.String(allow_none=True, validate=validate.Length(max=TEXT_MAX))


def flat_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Nested marshmallow messages as dotted field names ("verification.method")."""
    if not isinstance(messages, dict):
        items = messages if isinstance(messages, list) else [messages]
        return {prefix or "_schema": [str(item) for item in items]}
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        # A schema-level message of a nested object, or one about an item of a list,
        # belongs to the object or the list itself.
        if prefix and (key == "_schema" or isinstance(key, int)):
            name = prefix
        else:
            name = f"{prefix}.{key}" if prefix else str(key)
        for field, texts in flat_errors(value, name).items():
            flat.setdefault(field, []).extend(texts)
    return flat


def load_flat(schema: Schema, data: dict[str, Any]) -> dict[str, Any]:
    """schema.load, with validation errors raised under dotted field names."""
    from service.errors import InvalidInput

    try:
        return schema.load(data)
    except ValidationError as error:
        raise InvalidInput("The request has invalid fields.",
                           errors=flat_errors(error.messages)) from None


# ---- output ----

class TicketStateOut(Schema):
    """Where the ticket stands after the resolution or the answer."""
    id = fields.Integer()
    number = fields.String()
    status = fields.String()
    closed_reason = fields.String(allow_none=True)
    resolved_at = fields.AwareDateTime(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    reopen_count = fields.Integer()


class VerificationOut(Schema):
    method = fields.String()
    result = fields.String()
    evidence_note = fields.String(allow_none=True)
    attachment_ids = fields.List(fields.Integer())
    verified_by = fields.Nested(RefOut, allow_none=True)
    verified_at = fields.AwareDateTime()


class ConfirmationStateOut(Schema):
    state = fields.String()
    remind_at = fields.AwareDateTime(allow_none=True)
    reminded_at = fields.AwareDateTime(allow_none=True)
    auto_close_at = fields.AwareDateTime(allow_none=True)
    answered_at = fields.AwareDateTime(allow_none=True)


class ConfirmationOut(Schema):
    """One answer of the customer, with its evidence."""
    id = fields.Integer()
    resolution_id = fields.Integer()
    outcome = fields.String()
    channel = fields.String()
    actor_kind = fields.String()
    contact_id = fields.Integer(allow_none=True)
    user = fields.Nested(RefOut, allow_none=True)
    ip_address = fields.String(allow_none=True)
    user_agent = fields.String(allow_none=True)
    call_reference = fields.String(allow_none=True)
    comment = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()


class ResolutionOut(Schema):
    id = fields.Integer()
    ticket_id = fields.Integer()
    ticket = fields.Nested(TicketStateOut)
    summary = fields.String()
    root_cause = fields.String()
    verification = fields.Nested(VerificationOut)
    override_reason = fields.String(allow_none=True)
    overridden_task_ids = fields.List(fields.Integer())
    confirmation = fields.Nested(ConfirmationStateOut)
    confirmations = fields.List(fields.Nested(ConfirmationOut))
    created_at = fields.AwareDateTime()


class ResolutionListOut(Schema):
    items = fields.List(fields.Nested(ResolutionOut))


class OpenTaskOut(Schema):
    """A task that blocks resolving (listed in the 409 problem's `open_tasks`)."""
    id = fields.Integer()
    title = fields.String()
    status = fields.String()
    department = fields.Nested(RefOut)

