"""Marshmallow schemas of the phone API: calls staff log, calls telephony reports."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from marshmallow import (Schema, ValidationError, fields, validate, validates,
                         validates_schema)

from service.db_types import utcnow
from service.directory.models import normalize_phone
from service.schemas import StrictSchema
from service.validation import is_email
from tickets.channels.phone.models import CallDirection, CallOutcome
from tickets.models import Visibility
from tickets.schemas import TicketFieldsIn, TicketOut

_EARLIEST_CALL = datetime(2000, 1, 1, tzinfo=UTC)
_CLOCK_SKEW = timedelta(minutes=5)
_PHONE = validate.Regexp(r"^\+?[0-9()\-. ]{3,40}$", error="Not a valid phone number.")


def _enum(enum_class, **kwargs) -> fields.Enum:
    return fields.Enum(enum_class, by_value=True, **kwargs)


class CallTime(fields.AwareDateTime):
    """An ISO time with offset, read as UTC; not before 2000 nor in the future."""

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            moment = moment.astimezone(UTC)
        except (OverflowError, ValueError):
            raise ValidationError("Not a possible time.") from None
        if moment < _EARLIEST_CALL or moment > utcnow() + _CLOCK_SKEW:
            raise ValidationError("Must be a past time (after 2000-01-01).")
        return moment


class PhoneNumber(fields.String):
    """A phone number, loaded normalised: digits with a leading '+' when given."""

    def __init__(self, **kwargs):
        super().__init__(validate=_PHONE, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        number = normalize_phone(text)
        if number is None:
            raise ValidationError("Not a valid phone number.")
        return number


class _CallFields(StrictSchema):
    started_at = CallTime(required=True)
    duration_seconds = fields.Integer(required=True, strict=True,
                                      validate=validate.Range(min=0, max=86400))
    outcome = _enum(CallOutcome, required=True)
    recording_ref = fields.String(validate=validate.Length(min=1, max=500))


class CallIn(_CallFields):
    """A call an agent logs on an existing ticket; `number` is the customer's."""
    direction = _enum(CallDirection, required=True)
    number = PhoneNumber(required=True)
    notes = fields.String(validate=validate.Length(min=1, max=20000))
    visibility = _enum(Visibility, load_default=Visibility.INTERNAL)


class CallCustomerIn(StrictSchema):
    email = fields.String(validate=validate.Length(max=254))
    phone = PhoneNumber()
    name = fields.String(validate=validate.Length(min=1, max=120))

    @validates("email")
    def _email(self, value: str, **_kwargs) -> None:
        if not is_email(value.strip().lower()):
            raise ValidationError("Not a valid email address.")

    @validates_schema
    def _reachable(self, data, **_kwargs) -> None:
        if not data.get("email") and not data.get("phone"):
            raise ValidationError("Give the customer's email or phone (or both).", "_schema")


class NewTicketCallIn(CallIn, TicketFieldsIn):
    """A call that opens a new ticket for a customer."""
    customer = fields.Nested(CallCustomerIn, required=True)
    subject = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(validate=validate.Length(min=1, max=20000))


class InboundCallIn(_CallFields):
    """A call the telephony system reports (signed with TELEPHONY_SECRET)."""
    call_id = fields.String(required=True, validate=[
        validate.Length(min=1, max=200),
        validate.Regexp(r"^[\x21-\x7e]+$", error="Printable ASCII without spaces.")])
    from_number = PhoneNumber(required=True, data_key="from")
    to = PhoneNumber()
    direction = fields.String(load_default="inbound", validate=validate.OneOf(
        ["inbound"], error="Only inbound calls are reported here; agents log outbound calls."))
    voicemail_transcript = fields.String(validate=validate.Length(min=1, max=20000))
    caller_name = fields.String(validate=validate.Length(min=1, max=120))


# ---- output ----

class CallOut(Schema):
    id = fields.Integer()
    ticket_id = fields.Integer(allow_none=True)
    contact_id = fields.Integer(allow_none=True)
    message_id = fields.Integer(allow_none=True)
    direction = fields.String()
    number = fields.String(attribute="customer_number", allow_none=True)  # customer's end
    caller_number = fields.String(allow_none=True)
    callee_number = fields.String(allow_none=True)
    started_at = fields.AwareDateTime()
    duration_seconds = fields.Integer()
    outcome = fields.String()
    recording_ref = fields.String(allow_none=True)
    voicemail_transcript = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    source = fields.String()
    logged_by_id = fields.Integer(allow_none=True)
    external_call_id = fields.String(allow_none=True)
    effect = fields.String()
    created_at = fields.AwareDateTime()


class NewTicketCallOut(Schema):
    ticket = fields.Nested(TicketOut)
    call = fields.Nested(CallOut)


class TicketRefOut(Schema):
    id = fields.Integer()
    number = fields.String()
    status = fields.String()


class InboundCallOut(Schema):
    effect = fields.String()  # ticket_created | ticket_updated | recorded
    ticket = fields.Nested(TicketRefOut, allow_none=True)
    call = fields.Nested(CallOut)
