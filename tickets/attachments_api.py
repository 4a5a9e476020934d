"""Attachments over the API: listed per ticket, downloaded only as attachments."""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response
from marshmallow import Schema, fields
from sqlalchemy import select

from service.api import current_user, doc
from service.auth.models import User
from service.auth.permissions import Permission, can
from service.errors import NotFound
from service.extensions import db
from tickets import attachments
from tickets.models import Attachment, Visibility
from tickets.services import ensure_visible

blueprint = Blueprint("attachments_api", __name__)


class AttachmentOut(Schema):
    id = fields.Integer()
    ticket_id = fields.Integer()
    message_id = fields.Integer(allow_none=True)
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    is_inline = fields.Boolean()
    visibility = fields.Function(lambda attachment: attachment.visibility.value)
    created_at = fields.AwareDateTime()


class AttachmentListOut(Schema):
    items = fields.List(fields.Nested(AttachmentOut))


_list_out = AttachmentListOut()


def _sees_internal(user: User) -> bool:
    # The same rule as internal notes: partners never see them.
    return can(user, Permission.TICKET_VIEW_INTERNAL)


@blueprint.get("/tickets/<id:ticket_id>/attachments")
@doc("A ticket's attachments", tags=["tickets"], responses={200: AttachmentListOut})
def list_attachments(ticket_id: int):
    user = current_user()
    ensure_visible(user, ticket_id)
    query = select(Attachment).where(Attachment.ticket_id == ticket_id).order_by(Attachment.id)
    if not _sees_internal(user):
        query = query.where(Attachment.visibility == Visibility.PUBLIC)
    return _list_out.dump({"items": db.session.scalars(query).all()})


@blueprint.get("/attachments/<id:attachment_id>")
@doc("Download an attachment (always as a file, never rendered)", tags=["tickets"])
def download(attachment_id: int):
    user = current_user()
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or (attachment.visibility != Visibility.PUBLIC
                              and not _sees_internal(user)):
        raise NotFound("No such attachment.")
    ensure_visible(user, attachment.ticket_id)
    return attachment_response(attachment)


def attachment_response(attachment: Attachment) -> Response:
    """The file as a download: its sniffed type, no sniffing by the browser, no scripts."""
    ascii_name = attachment.filename.encode("ascii", "replace").decode().replace('"', "_")
    return Response(attachments.content(attachment), headers={
        "Content-Type": attachment.content_type,
        "Content-Disposition": (f'attachment; filename="{ascii_name}"; '
                                f"filename*=UTF-8''{quote(attachment.filename)}"),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    })
