"""JSON API of the audit log: search only; no endpoint changes or deletes an entry."""
from __future__ import annotations

from typing import Any

from flask import Blueprint

from service.api import current_user, doc, query_args
from service.audit.models import AuditEntry
from service.audit.schemas import AuditPageOut, AuditQuery
from service.audit.search import search_entries
from service.auth.permissions import Permission, require

blueprint = Blueprint("audit_api", __name__)
_query, _page = AuditQuery(), AuditPageOut()


def present_entry(entry: AuditEntry) -> dict[str, Any]:
    """An entry as the API shows it."""
    return {"id": entry.id, "at": entry.at,
            "actor": {"kind": entry.actor_kind, "user_id": entry.actor_user_id,
                      "role": entry.actor_role, "name": entry.actor_name},
            "action": entry.action, "object_type": entry.object_type,
            "object_id": entry.object_id, "changes": entry.changes or {},
            "ip_address": entry.ip_address, "user_agent": entry.user_agent,
            "request_id": entry.request_id}


@blueprint.get("/admin/audit")
@doc("Search the audit log of staff actions, newest first (keyset pages); `action` may be "
     "a prefix ending in '.' such as 'ticket.'", tags=["admin", "audit"], query=AuditQuery,
     responses={200: AuditPageOut})
def search():
    require(current_user(), Permission.ADMIN_AUDIT)
    filters = query_args(_query)
    rows, next_cursor = search_entries(
        actor_id=filters.get("actor"), action=filters.get("action"),
        object_type=filters.get("object_type"), object_id=filters.get("object_id"),
        since=filters.get("since"), until=filters.get("until"), q=filters.get("q"),
        limit=filters["limit"], cursor=filters.get("cursor"))
    return _page.dump({"items": [present_entry(row) for row in rows],
                       "next_cursor": next_cursor})
