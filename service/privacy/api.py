"""JSON API of customer export and erasure (admins: ADMIN_PRIVACY)."""
from __future__ import annotations

from flask import Blueprint
from marshmallow import Schema, fields, validate

from service.api import current_user, doc, json_body
from service.auth.permissions import Permission, require
from service.privacy.download import customer_file
from service.privacy import erase, export

blueprint = Blueprint("privacy_api", __name__)
_TAGS = ["privacy"]


class CustomerExportOut(Schema):
    """The export document: the directory's parts, then one object per domain."""
    format = fields.String()
    exported_at = fields.DateTime()
    contact = fields.Dict()
    account = fields.Dict(allow_none=True)
    consents = fields.Dict()
    outbound_mail = fields.List(fields.Dict())
    tickets = fields.Dict()
    surveys = fields.Dict()
    knowledge_base = fields.Dict()


class ErasureIn(Schema):
    """Erase a customer: repeat their email address, say why; `force` erases even with
    open tickets."""
    confirm = fields.String(required=True, validate=validate.Length(max=254))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=erase.MAX_REASON))
    force = fields.Boolean(load_default=False)


class ErasureOut(Schema):
    contact_id = fields.Integer()
    already_erased = fields.Boolean()
    erased_at = fields.DateTime()
    changed = fields.Integer(metadata={"description": "Rows changed in all (0 when repeated)."})
    domains = fields.Dict(keys=fields.String(), values=fields.Dict(),
                          metadata={"description": "Rows changed per kind, per domain."})


_erasure_in = ErasureIn()


@blueprint.get("/admin/customers/<id:contact_id>/export")
@doc("Everything held about one customer, as a JSON file to download", tags=_TAGS,
     responses={200: CustomerExportOut})
def export_customer(contact_id: int):
    require(current_user(), Permission.ADMIN_PRIVACY)
    return customer_file(contact_id)


@blueprint.post("/admin/customers/<id:contact_id>/erase")
@doc("Erase (anonymise) a customer everywhere, keeping report numbers; 409 while they have "
     "open tickets unless force", tags=_TAGS, body=ErasureIn, responses={200: ErasureOut})
def erase_customer(contact_id: int):
    require(current_user(), Permission.ADMIN_PRIVACY)
    data = json_body(_erasure_in)
    contact = export.find_contact(contact_id)
    reason = erase.check_request(contact, data["confirm"], data["reason"])
    summary = erase.erase_customer(contact.id, reason=reason, force=data["force"])
    return summary.as_dict()
