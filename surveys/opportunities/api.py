"""JSON API of opportunities: parse → call a service → dump."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, stream_with_context

from service.api import current_user, doc, json_body, query_args
from service.auth.permissions import Permission, require
from surveys.opportunities import export, presenters, queries, services
from surveys.opportunities.schemas import (ExportQuery, OpportunityIn, OpportunityOut,
                                           OpportunityPageOut, OpportunityPatch,
                                           OpportunityQuery)

blueprint = Blueprint("opportunities_api", __name__)

_in, _patch, _query, _export_query = (OpportunityIn(), OpportunityPatch(), OpportunityQuery(),
                                      ExportQuery())
_out, _page = OpportunityOut(), OpportunityPageOut()


def _filters(data: dict[str, Any]) -> queries.Filters:
    owner = data.get("owner")
    return queries.Filters(
        status=data.get("status") or (), kind=data.get("kind"), source=data.get("source"),
        owner=owner if owner in (None, queries.ME, queries.POOL) else int(owner),
        account_id=data.get("account"), due_before=data.get("due_before"))


@blueprint.get("/opportunities")
@doc("Opportunities the caller may see, newest first (keyset pages)", tags=["opportunities"],
     query=OpportunityQuery, responses={200: OpportunityPageOut})
def list_all():
    user = current_user()
    require(user, Permission.OPPORTUNITY_WORK)
    data = query_args(_query)
    rows, next_cursor = services.list_opportunities(
        user, _filters(data), limit=data["limit"], cursor=data.get("cursor"))
    return _page.dump({"items": presenters.present_many(rows), "next_cursor": next_cursor})


@blueprint.get("/opportunities/export.csv")
@doc("The same list as CSV for a CRM (UTF-8 with BOM, formula-safe cells)",
     tags=["opportunities"], query=ExportQuery)
def export_csv():
    user = current_user()
    require(user, Permission.OPPORTUNITY_WORK)
    filters = _filters(query_args(_export_query))
    lines = export.csv_lines(queries.all_matching(user, filters))
    return Response(stream_with_context(lines), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="opportunities.csv"',
                             "Cache-Control": "no-store"})


@blueprint.post("/opportunities")
@doc("Open an opportunity by hand (or add to the open one of its account and kind)",
     tags=["opportunities"], body=OpportunityIn, responses={201: OpportunityOut,
                                                           200: OpportunityOut})
def create():
    user = current_user()
    require(user, Permission.OPPORTUNITY_CREATE)
    data = json_body(_in)
    opportunity, created = services.create_manual(
        user, kind=data["kind"], reason=data["reason"], account_id=data.get("account_id"),
        contact_id=data.get("contact_id"), suggested_products=data["suggested_products"],
        estimated_value=data.get("estimated_value"), ticket_id=data.get("ticket_id"))
    return _out.dump(presenters.present(opportunity)), 201 if created else 200


@blueprint.get("/opportunities/<id:opportunity_id>")
@doc("One opportunity with its evidence and history", tags=["opportunities"],
     responses={200: OpportunityOut})
def get_one(opportunity_id: int):
    user = current_user()
    require(user, Permission.OPPORTUNITY_WORK)
    opportunity = services.get_opportunity(user, opportunity_id)
    return _out.dump(presenters.present(opportunity, with_history=True))


@blueprint.patch("/opportunities/<id:opportunity_id>")
@doc("Change an opportunity's status, owner, values or suggested products",
     tags=["opportunities"], body=OpportunityPatch, responses={200: OpportunityOut})
def patch_one(opportunity_id: int):
    user = current_user()
    require(user, Permission.OPPORTUNITY_WORK)
    changes = json_body(_patch)
    if "status" in changes:
        changes["status"] = changes["status"].value
    opportunity = services.get_opportunity(user, opportunity_id, for_update=True)
    services.update(user, opportunity, changes)
    return _out.dump(presenters.present(services.get_opportunity(user, opportunity_id),
                                        with_history=True))
