"""JSON API of service-recovery follow-ups: parse → call a service → dump."""
from __future__ import annotations

from flask import Blueprint

from service.api import current_user, doc, json_body, query_args
from service.auth.permissions import Permission, require
from surveys.recovery import access, services
from surveys.recovery.presenters import present, present_many
from surveys.recovery.schemas import (RecoveryDetailOut, RecoveryPageOut, RecoveryPatch,
                                      RecoveryQuery)

blueprint = Blueprint("recovery_api", __name__)

_query, _patch, _page = RecoveryQuery(), RecoveryPatch(), RecoveryPageOut()
_out = RecoveryDetailOut()


@blueprint.get("/surveys/recoveries")
@doc("Service-recovery follow-ups the caller may see, soonest due first (keyset pages)",
     tags=["recovery"], query=RecoveryQuery, responses={200: RecoveryPageOut})
def list_all():
    user = current_user()
    require(user, Permission.RECOVERY_WORK)
    filters = query_args(_query)
    owner = filters.get("owner")
    rows, next_cursor = access.list_follow_ups(
        user, status=[filters["status"]] if filters.get("status") else None,
        owner_id=user.id if owner == "me" else (int(owner) if owner else None),
        overdue=filters.get("overdue"), account_id=filters.get("account"),
        limit=filters["limit"], cursor=filters.get("cursor"))
    return _page.dump({"items": present_many(rows), "next_cursor": next_cursor})


@blueprint.get("/surveys/recoveries/<id:follow_up_id>")
@doc("One follow-up with the answer behind it", tags=["recovery"],
     responses={200: RecoveryDetailOut})
def get_one(follow_up_id: int):
    user = current_user()
    require(user, Permission.RECOVERY_WORK)
    return _out.dump(present(access.get_follow_up(user, follow_up_id)))


@blueprint.patch("/surveys/recoveries/<id:follow_up_id>")
@doc("Close a follow-up with its outcome and a note (schedules the re-survey)",
     tags=["recovery"], body=RecoveryPatch, responses={200: RecoveryDetailOut})
def close(follow_up_id: int):
    user = current_user()
    require(user, Permission.RECOVERY_WORK)
    data = json_body(_patch)
    follow_up = access.get_follow_up(user, follow_up_id, for_update=True)
    services.close(user, follow_up, data["outcome"], data["note"])
    return _out.dump(present(access.get_follow_up(user, follow_up_id)))
