"""Marshmallow schemas of the tasks API: in, patch, query and out shapes."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, post_load, validate

from service.schemas import QuerySchema, StrictSchema
from service.validation import MAX_ID
from tickets.schemas import MessageAttachmentOut, RefOut
from tickets.tasks.models import TaskStatus

_ID = validate.Range(min=1, max=MAX_ID)
_TITLE = validate.Length(min=1, max=200)
_TEXT = validate.Length(max=20000)


def _status_field(**kwargs) -> fields.Enum:
    return fields.Enum(TaskStatus, by_value=True, **kwargs)


class TaskIn(StrictSchema):
    title = fields.String(required=True, validate=_TITLE)
    description = fields.String(load_default="", validate=_TEXT)
    department_id = fields.Integer(required=True, strict=True, validate=_ID)
    assignee_id = fields.Integer(allow_none=True, strict=True, validate=_ID)
    due_at = fields.AwareDateTime(allow_none=True)
    expected_outcome = fields.String(load_default="", validate=_TEXT)


class TaskPatch(StrictSchema):
    status = _status_field()
    assignee_id = fields.Integer(allow_none=True, strict=True, validate=_ID)
    due_at = fields.AwareDateTime()
    title = fields.String(validate=_TITLE)
    description = fields.String(validate=_TEXT)
    expected_outcome = fields.String(validate=_TEXT)
    outcome = fields.String(allow_none=True, validate=_TEXT)
    # A progress note kept with the change (and the status it moved to).
    note = fields.String(validate=validate.Length(min=1, max=10000))

    @post_load
    def _require_change(self, data, **_kwargs):
        if not data:
            raise ValidationError("Send at least one field to change.", "_schema")
        return data


class TaskNoteIn(StrictSchema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=10000))
    publish_to_customer = fields.Boolean(load_default=False)
    status = _status_field()


class TaskQuery(QuerySchema):
    LIST_PARAMS = ("status",)

    department = fields.Integer(validate=_ID)
    status = fields.List(_status_field())
    assignee = fields.String(validate=validate.Regexp(r"^(me|[1-9][0-9]{0,9})$",
                                                      error="Use a user id or 'me'."))
    overdue = fields.Boolean()
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(validate=validate.Length(max=200))

    @post_load
    def _assignee_id(self, data, **_kwargs):
        if data.get("assignee", "me") != "me" and int(data["assignee"]) > MAX_ID:
            raise ValidationError("Use a user id or 'me'.", "assignee")
        return data


# ---- output ----

class TaskTicketOut(Schema):
    id = fields.Integer()
    number = fields.String()


class TaskNoteOut(Schema):
    id = fields.Integer()
    task_id = fields.Integer()
    author = fields.Nested(RefOut, allow_none=True)
    body = fields.String()
    status = fields.String(allow_none=True)  # the status the task moved to with this note
    published = fields.Boolean()
    message_id = fields.Integer(allow_none=True)  # the public message that carried it
    attachments = fields.List(fields.Nested(MessageAttachmentOut))
    created_at = fields.AwareDateTime()


class TaskOut(Schema):
    id = fields.Integer()
    ticket = fields.Nested(TaskTicketOut)
    department = fields.Nested(RefOut)
    assignee = fields.Nested(RefOut, allow_none=True)
    title = fields.String()
    description = fields.String()
    expected_outcome = fields.String()
    outcome = fields.String(allow_none=True)
    status = fields.String()
    due_at = fields.AwareDateTime()
    overdue = fields.Boolean()
    escalated_at = fields.AwareDateTime(allow_none=True)
    created_by = fields.Nested(RefOut, allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    finished_at = fields.AwareDateTime(allow_none=True)
    notes = fields.List(fields.Nested(TaskNoteOut))  # on a single task only


class TaskPageOut(Schema):
    items = fields.List(fields.Nested(TaskOut))
    next_cursor = fields.String(allow_none=True)


class TaskListOut(Schema):
    items = fields.List(fields.Nested(TaskOut))


class TaskNoteListOut(Schema):
    items = fields.List(fields.Nested(TaskNoteOut))
