"""Marshmallow schemas of the webhooks admin API: in, patch, query and out shapes."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, post_load, validate

from service.notify.webhooks.models import DeliveryStatus, WebhookEvent
from service.notify.webhooks.safety import MAX_URL_LENGTH
from service.schemas import StrictSchema, page_of

EVENTS = [event.value for event in WebhookEvent]
# Whether a URL may receive webhooks is the service's call (422 with a reason); the
# schema only checks that it is a string of a sane length.
_URL = validate.Length(min=1, max=MAX_URL_LENGTH)
_EVENTS = validate.Length(min=1, max=len(EVENTS))
_DESCRIPTION = validate.Length(max=300)


def _event_list(**kwargs) -> fields.List:
    return fields.List(fields.String(validate=validate.OneOf(EVENTS)), validate=_EVENTS,
                       **kwargs)


class WebhookIn(StrictSchema):
    url = fields.String(required=True, validate=_URL)
    events = _event_list(required=True)
    description = fields.String(load_default="", validate=_DESCRIPTION)


class WebhookPatch(StrictSchema):
    url = fields.String(validate=_URL)
    events = _event_list()
    description = fields.String(validate=_DESCRIPTION)
    is_active = fields.Boolean(truthy={True}, falsy={False})

    @post_load
    def _require_change(self, data, **_kwargs):
        if not data:
            raise ValidationError("Send at least one field to change.", "_schema")
        return data


class WebhookPageQuery(StrictSchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(validate=validate.Length(max=200))


class DeliveryQuery(WebhookPageQuery):
    status = fields.Enum(DeliveryStatus, by_value=True)


class WebhookOut(Schema):
    id = fields.Integer()
    url = fields.String()
    description = fields.String()
    events = fields.List(fields.String())
    is_active = fields.Boolean()
    disabled_at = fields.AwareDateTime(allow_none=True)
    disabled_reason = fields.String(allow_none=True)
    consecutive_failures = fields.Integer()
    created_by_id = fields.Integer(allow_none=True)
    created_at = fields.AwareDateTime()


class WebhookWithSecretOut(WebhookOut):
    secret = fields.String(metadata={"description": "The signing secret; shown only now."})


class DeliveryOut(Schema):
    id = fields.Integer()
    webhook_id = fields.Integer()
    event = fields.String()
    event_id = fields.String()
    payload = fields.Dict()
    status = fields.String()
    attempts = fields.Integer()
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    duration_ms = fields.Integer(allow_none=True)
    next_attempt_at = fields.AwareDateTime(allow_none=True)
    delivered_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()


WebhookPageOut = page_of(WebhookOut, "WebhookPageOut")
DeliveryPageOut = page_of(DeliveryOut, "DeliveryPageOut")
