"""The outbound mail log for admins: every mail we sent, or kept when SMTP is not set up."""
from __future__ import annotations

from flask import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from service.api import current_user, doc, query_args
from service.auth.permissions import Permission, require
from service.errors import NotFound
from service.extensions import db
from service.notify.models import OutboundMail
from service.notify.redaction import redact_links
from service.pagination import id_page
from service.schemas import StrictSchema, page_of

blueprint = Blueprint("mail_api", __name__)


class OutboundMailOut(Schema):
    id = fields.Integer()
    to_address = fields.String()
    subject = fields.String()
    status = fields.String()
    message_id = fields.String()
    in_reply_to = fields.String(allow_none=True)
    references = fields.Method("_references")
    created_at = fields.AwareDateTime()
    sent_at = fields.AwareDateTime(allow_none=True)

    def _references(self, mail: OutboundMail) -> list[str]:
        return (mail.references or "").split()


class RedactedText(fields.String):
    """Mail text with customers' secret links (a survey's token) masked: staff never see
    them."""

    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize(redact_links(value), attr, obj, **kwargs)


class OutboundMailDetailOut(OutboundMailOut):
    body_text = RedactedText()
    body_html = RedactedText(allow_none=True)
    error = fields.String(allow_none=True)


class OutboundMailQuery(StrictSchema):
    to = fields.String(validate=validate.Length(min=1, max=254))
    status = fields.String(validate=validate.OneOf(["queued", "sending", "sent", "logged"]))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(validate=validate.Length(max=200))


OutboundMailPageOut = page_of(OutboundMailOut, "OutboundMailPageOut")
_query, _page, _detail = OutboundMailQuery(), OutboundMailPageOut(), OutboundMailDetailOut()


@blueprint.get("/admin/outbound-mail")
@doc("Mail we sent or kept (the dev mailbox when SMTP is not configured), oldest first",
     tags=["admin"], query=OutboundMailQuery, responses={200: OutboundMailPageOut})
def list_outbound_mail():
    require(current_user(), Permission.ADMIN_MAIL)
    args = query_args(_query)
    query = select(OutboundMail)
    if "to" in args:
        query = query.where(OutboundMail.to_address == args["to"].lower())
    if "status" in args:
        query = query.where(OutboundMail.status == args["status"])
    items, next_cursor = id_page(query, OutboundMail, args["limit"], args.get("cursor"))
    return _page.dump({"items": items, "next_cursor": next_cursor})


@blueprint.get("/admin/outbound-mail/<id:mail_id>")
@doc("One outbound mail with its text and HTML", tags=["admin"],
     responses={200: OutboundMailDetailOut})
def get_outbound_mail(mail_id: int):
    require(current_user(), Permission.ADMIN_MAIL)
    mail = db.session.get(OutboundMail, mail_id)
    if mail is None:
        raise NotFound("No such mail.")
    return _detail.dump(mail)
