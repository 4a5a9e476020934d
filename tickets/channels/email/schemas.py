"""Marshmallow schemas of the email channel's API."""
from __future__ import annotations

from marshmallow import Schema, fields, pre_load, validate

from service.schemas import StrictSchema, page_of
from service.validation import strip_controls
from tickets.channels.email.models import InboundStatus


class JsonBoolean(fields.Boolean):
    """Only JSON true or false (not "yes", 1 or "on")."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


# ---- mailbox administration ----

class MailboxIn(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    address = fields.String(required=True, validate=validate.Length(min=3, max=254))


class MailboxImapIn(StrictSchema):
    """IMAP settings to change; those left out keep their stored values."""

    host = fields.String(validate=validate.Length(min=1, max=253))
    port = fields.Integer(strict=True, validate=validate.Range(min=1, max=65535))
    username = fields.String(validate=validate.Length(min=1, max=254))
    password = fields.String(load_only=True, validate=validate.Length(min=1, max=1024))
    folder = fields.String(validate=validate.Length(min=1, max=200))
    enabled = JsonBoolean()

    @pre_load
    def _strip_controls(self, data, **_kwargs):
        # As StrictSchema, except the password: it is used exactly as typed.
        if isinstance(data, dict):
            return {key: strip_controls(value).strip()
                    if isinstance(value, str) and key != "password" else value
                    for key, value in data.items()}
        return data


class MailboxPatch(StrictSchema):
    is_active = JsonBoolean()
    imap = fields.Nested(MailboxImapIn)


class MailboxImapOut(Schema):
    host = fields.String(allow_none=True)
    port = fields.Integer()
    username = fields.String(allow_none=True)
    folder = fields.String()
    enabled = fields.Boolean()
    password_set = fields.Boolean()  # the password itself is write-only
    last_polled_at = fields.AwareDateTime(allow_none=True)
    last_poll_error = fields.String(allow_none=True)


class MailboxOut(Schema):
    id = fields.Integer()
    name = fields.String()
    address = fields.String()
    is_active = fields.Boolean()
    secret_prefix = fields.String()  # identifies the inbound secret in use; not usable
    imap = fields.Nested(MailboxImapOut)
    created_at = fields.AwareDateTime()


class MailboxCreatedOut(MailboxOut):
    secret = fields.String()  # the inbound secret: returned this once, never again


class MailboxListOut(Schema):
    items = fields.List(fields.Nested(MailboxOut))


class MailboxSecretOut(Schema):
    id = fields.Integer()
    secret = fields.String()
    secret_prefix = fields.String()


# ---- inbound messages ----

class InboundEmailOut(Schema):
    id = fields.Integer()
    message_id = fields.String()
    mailbox_id = fields.Integer(allow_none=True)
    source = fields.String()
    status = fields.String()
    reason = fields.String(allow_none=True)
    from_address = fields.String(allow_none=True)
    subject = fields.String(allow_none=True)
    size = fields.Integer()
    ticket_id = fields.Integer(allow_none=True)
    ticket_message_id = fields.Integer(allow_none=True)
    attempts = fields.Integer()
    received_at = fields.AwareDateTime()
    processed_at = fields.AwareDateTime(allow_none=True)


class ReceivedOut(Schema):
    id = fields.Integer()
    message_id = fields.String()
    status = fields.String()
    duplicate = fields.Boolean()
    # Set once the message was filed: at once for a duplicate or when jobs run inline,
    # later (see GET /admin/inbound-emails/{id}) when a worker processes it.
    ticket_id = fields.Integer(allow_none=True)
    ticket_number = fields.String(allow_none=True)


class InboundQuery(StrictSchema):
    status = fields.Enum(InboundStatus, by_value=True)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(validate=validate.Length(max=200))


InboundPageOut = page_of(InboundEmailOut, "InboundEmailPageOut")
