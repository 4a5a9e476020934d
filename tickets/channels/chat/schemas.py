"""Marshmallow schemas of the chat API: what the widget sends and what it gets back."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates

from service.schemas import StrictSchema
from service.validation import MAX_ID, is_email

CLIENT_ID = validate.Regexp(r"^[A-Za-z0-9._:\-]{1,64}$",
                            error="Use 1-64 letters, digits, '.', '_', ':' or '-'.")
_BODY = validate.Length(min=1, max=5000)


class SessionIn(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    email = fields.String(required=True, validate=validate.Length(max=254))
    message = fields.String(required=True, validate=_BODY)
    language = fields.String(validate=validate.OneOf(["zh", "en"]))
    page_url = fields.String(validate=[validate.Length(max=500),
                                       validate.URL(schemes={"http", "https"},
                                                    require_tld=False)])

    @validates("email")
    def _email(self, value: str, **_kwargs) -> None:
        if not is_email(value.strip().lower()):
            raise ValidationError("Not a valid email address.")


class ChatMessageIn(StrictSchema):
    body = fields.String(required=True, validate=_BODY)
    client_id = fields.String(validate=CLIENT_ID)


class PollQuery(StrictSchema):
    after = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_ID))


class ChatMessageOut(Schema):
    id = fields.Integer()
    author = fields.String(metadata={"enum": ["visitor", "agent", "system"]})
    name = fields.String(allow_none=True)
    body = fields.String()
    created_at = fields.AwareDateTime()


class SessionOut(Schema):
    id = fields.Integer()
    token = fields.String(metadata={"description": "Bearer token of this chat; shown once"})
    ticket_number = fields.String()
    messages = fields.List(fields.Nested(ChatMessageOut))
    poll_interval_seconds = fields.Integer()
    notice = fields.String(allow_none=True)


class PollOut(Schema):
    items = fields.List(fields.Nested(ChatMessageOut))
    handed_off = fields.Boolean()
    closed = fields.Boolean()
    notice = fields.String(allow_none=True)
