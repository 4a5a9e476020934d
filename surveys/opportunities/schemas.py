"""Marshmallow schemas of the opportunities API: in, patch, query and out shapes."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, post_load, validate

from service.schemas import QuerySchema, StrictSchema
from service.validation import MAX_ID
from surveys.models import OpportunityKind, OpportunitySource, OpportunityStatus

_ID = validate.Range(min=1, max=MAX_ID)
_MONEY = validate.Range(min=0, max=MAX_ID)
_PRODUCT = fields.String(validate=validate.Length(min=1, max=80))
_PRODUCTS = validate.Length(max=20)


def _enum(enum, **kwargs) -> fields.Enum:
    return fields.Enum(enum, by_value=True, **kwargs)


class OpportunityIn(StrictSchema):
    kind = _enum(OpportunityKind, required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    account_id = fields.Integer(allow_none=True, strict=True, validate=_ID)
    contact_id = fields.Integer(allow_none=True, strict=True, validate=_ID)
    suggested_products = fields.List(_PRODUCT, load_default=list, validate=_PRODUCTS)
    estimated_value = fields.Integer(allow_none=True, strict=True, validate=_MONEY)
    ticket_id = fields.Integer(allow_none=True, strict=True, validate=_ID)

    @post_load
    def _customer(self, data, **_kwargs):
        if data.get("account_id") is None and data.get("contact_id") is None:
            raise ValidationError("Give an account or a contact.", "account_id")
        return data


class OpportunityPatch(StrictSchema):
    status = _enum(OpportunityStatus)
    lost_reason = fields.String(allow_none=True, validate=validate.Length(max=300))
    won_value = fields.Integer(allow_none=True, strict=True, validate=_MONEY)
    estimated_value = fields.Integer(allow_none=True, strict=True, validate=_MONEY)
    owner_id = fields.Integer(allow_none=True, strict=True, validate=_ID)
    suggested_products = fields.List(_PRODUCT, validate=_PRODUCTS)

    @post_load
    def _require_change(self, data, **_kwargs):
        if not data:
            raise ValidationError("Send at least one field to change.", "_schema")
        return data


class OpportunityQuery(QuerySchema):
    LIST_PARAMS = ("status",)

    status = fields.List(_enum(OpportunityStatus))
    kind = _enum(OpportunityKind)
    source = _enum(OpportunitySource)
    owner = fields.String(validate=validate.Regexp(r"^(me|pool|[1-9][0-9]{0,9})$",
                                                   error="Use a user id, 'me' or 'pool'."))
    account = fields.Integer(validate=_ID)
    due_before = fields.AwareDateTime()
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(validate=validate.Length(max=200))

    @post_load
    def _owner_id(self, data, **_kwargs):
        if data.get("owner", "me") not in ("me", "pool") and int(data["owner"]) > MAX_ID:
            raise ValidationError("Use a user id, 'me' or 'pool'.", "owner")
        return data


class ExportQuery(OpportunityQuery):
    """The export takes the list's filters, without paging."""

    class Meta(OpportunityQuery.Meta):
        exclude = ("limit", "cursor")


# ---- output ----

class OpportunityRefOut(Schema):
    """An account, contact, owner or actor: its id and name."""

    id = fields.Integer()
    name = fields.String()


class EvidenceOut(Schema):
    kind = fields.String()
    ref_id = fields.Integer(allow_none=True)
    rule = fields.String()
    phrase = fields.String(allow_none=True)
    excerpt = fields.String(allow_none=True)
    url = fields.String(allow_none=True)  # the console page showing it
    created_at = fields.AwareDateTime()


class HistoryOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    actor = fields.Nested(OpportunityRefOut, allow_none=True)
    data = fields.Dict()
    at = fields.AwareDateTime()


class OpportunityOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    source = fields.String()
    status = fields.String()
    account = fields.Nested(OpportunityRefOut, allow_none=True)
    contact = fields.Nested(OpportunityRefOut, allow_none=True)
    owner = fields.Nested(OpportunityRefOut, allow_none=True)
    reason = fields.String()
    suggested_products = fields.List(fields.String())
    estimated_value = fields.Integer(allow_none=True)
    won_value = fields.Integer(allow_none=True)
    lost_reason = fields.String(allow_none=True)
    first_contact_due_at = fields.AwareDateTime()
    contacted_at = fields.AwareDateTime(allow_none=True)
    returned_to_pool_at = fields.AwareDateTime(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    overdue = fields.Boolean()
    evidence = fields.List(fields.Nested(EvidenceOut))
    history = fields.List(fields.Nested(HistoryOut))  # on a single opportunity only
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class OpportunityPageOut(Schema):
    items = fields.List(fields.Nested(OpportunityOut))
    next_cursor = fields.String(allow_none=True)
