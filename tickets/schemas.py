"""Marshmallow schemas of the tickets API: in, out, patch and query shapes."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates

from service.schemas import QuerySchema, StrictSchema, page_of
from service.validation import MAX_ID, is_email
from tickets.models import Priority, SlaState, Status, Visibility

_TAG = validate.Regexp(r"^[\w\-\.\u4e00-\u9fff]{1,50}$",
                       error="Tags are 1-50 letters, digits, '-', '_' or '.'.")
_LABEL = validate.Length(min=1, max=80)
_ID = validate.Range(min=1, max=MAX_ID)


class CustomerIn(StrictSchema):
    email = fields.String(required=True, validate=validate.Length(max=254))
    name = fields.String(validate=validate.Length(min=1, max=120))
    phone = fields.String(validate=validate.Regexp(r"^[0-9+()\-. ]{3,40}$",
                                                   error="Not a valid phone number."))
    company = fields.String(validate=validate.Length(min=1, max=200))

    @validates("email")
    def _email(self, value: str, **_kwargs) -> None:
        if not is_email(value.strip().lower()):
            raise ValidationError("Not a valid email address.")


def _enum_field(enum_class, **kwargs) -> fields.Enum:
    return fields.Enum(enum_class, by_value=True, **kwargs)


class TicketFieldsIn(StrictSchema):
    """What any channel's staff form may say about a new ticket besides its text."""
    urgency = _enum_field(Priority)
    priority = _enum_field(Priority)
    category = fields.String(validate=_LABEL)
    product = fields.String(validate=_LABEL)
    language = fields.String(validate=validate.OneOf(["zh", "en"]))
    tags = fields.List(fields.String(validate=_TAG), validate=validate.Length(max=20))

    @post_load
    def _dedupe_tags(self, data, **_kwargs):
        if "tags" in data:
            data["tags"] = sorted({tag.lower() for tag in data["tags"]})
        return data


class TicketIn(TicketFieldsIn):
    subject = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(required=True, validate=validate.Length(min=1, max=20000))
    customer = fields.Nested(CustomerIn, required=True)


class TicketPatch(StrictSchema):
    priority = _enum_field(Priority)
    status = _enum_field(Status)
    team = fields.Integer(allow_none=True, strict=True, validate=_ID)
    assignee = fields.Integer(allow_none=True, strict=True, validate=_ID)
    category = fields.String(allow_none=True, validate=_LABEL)
    product = fields.String(allow_none=True, validate=_LABEL)
    tags = fields.List(fields.String(validate=_TAG), validate=validate.Length(max=20))
    reason = fields.String(validate=validate.Length(min=1, max=300))

    @post_load
    def _require_change(self, data, **_kwargs):
        if not set(data) - {"reason"}:
            raise ValidationError("Send at least one field to change.", "_schema")
        if "tags" in data:
            data["tags"] = sorted({tag.lower() for tag in data["tags"]})
        return data


SORTS = ("-created_at", "created_at", "-updated_at", "updated_at")


class TicketQuery(QuerySchema):
    LIST_PARAMS = ("status", "priority", "sla_state")

    status = fields.List(_enum_field(Status))
    priority = fields.List(_enum_field(Priority))
    team = fields.Integer(validate=_ID)
    assignee = fields.String(validate=validate.Regexp(r"^(me|none|[1-9][0-9]{0,8})$",
                                                      error="Use a user id, 'me' or 'none'."))
    sla_state = fields.List(_enum_field(SlaState))
    q = fields.String(validate=validate.Length(min=1, max=200))
    sort = fields.String(load_default="-created_at", validate=validate.OneOf(SORTS))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(validate=validate.Length(max=200))


class PageQuery(StrictSchema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    cursor = fields.String(validate=validate.Length(max=200))


class MessageIn(StrictSchema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=20000))
    visibility = _enum_field(Visibility, load_default=Visibility.PUBLIC)


# ---- output ----

class RefOut(Schema):
    id = fields.Integer()
    name = fields.String()


class CustomerOut(Schema):
    id = fields.Integer()
    email = fields.String(allow_none=True)  # None for a caller known only by phone
    name = fields.String()
    phone = fields.String(allow_none=True)


class SlaOut(Schema):
    policy = fields.String()
    first_response_due_at = fields.AwareDateTime()
    resolution_due_at = fields.AwareDateTime()
    first_responded_at = fields.AwareDateTime()
    resolved_at = fields.AwareDateTime()
    paused_at = fields.AwareDateTime()
    state = fields.String()


class TicketOut(Schema):
    id = fields.Integer()
    number = fields.String()
    subject = fields.String()
    status = fields.String()
    priority = fields.String()
    priority_reason = fields.String()
    channel = fields.String()
    language = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    product = fields.String(allow_none=True)
    tags = fields.List(fields.String())
    customer = fields.Nested(CustomerOut)
    team = fields.Nested(RefOut, allow_none=True)
    assignee = fields.Nested(RefOut, allow_none=True)
    sla = fields.Nested(SlaOut)
    reopen_count = fields.Integer()
    closed_at = fields.AwareDateTime(allow_none=True)
    closed_reason = fields.String(allow_none=True, metadata={
        "description": "confirmed, auto_confirmed or closed_by_staff"})
    follow_up_of = fields.Integer(allow_none=True, metadata={
        "description": "Id of the closed ticket this one repeats (a repeat contact)"})
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


TicketPageOut = page_of(TicketOut, "TicketPageOut")


class MessageAttachmentOut(Schema):
    id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    is_inline = fields.Boolean()


class MessageOut(Schema):
    id = fields.Integer()
    ticket_id = fields.Integer()
    author_kind = fields.String()
    author = fields.Nested(RefOut, allow_none=True)
    visibility = fields.String()
    channel = fields.String()
    body = fields.String()
    # An email's sanitised HTML, and its full text before quotes and signature were cut.
    body_html = fields.String(allow_none=True)
    original_body = fields.String(allow_none=True)
    attachments = fields.List(fields.Nested(MessageAttachmentOut))
    created_at = fields.AwareDateTime()


MessagePageOut = page_of(MessageOut, "MessagePageOut")


class EventOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    actor_kind = fields.String()
    actor_user_id = fields.Integer(allow_none=True)
    actor_contact_id = fields.Integer(allow_none=True)
    channel = fields.String(allow_none=True)
    data = fields.Dict()
    created_at = fields.AwareDateTime()


EventPageOut = page_of(EventOut, "EventPageOut")
