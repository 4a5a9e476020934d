"""Reading the audit log: keyset pages, newest first, by actor, action, object and period."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select

from service.audit.models import AuditEntry
from service.extensions import db
from service.pagination import decode_time_cursor, encode_cursor

_SORT = "audit_at"
MAX_LIMIT = 200


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_entries(*, actor_id: int | None = None, action: str | None = None,
                   object_type: str | None = None, object_id: str | None = None,
                   since: datetime | None = None, until: datetime | None = None,
                   q: str | None = None, limit: int = 50, cursor: str | None = None
                   ) -> tuple[list[AuditEntry], str | None]:
    """One page of entries matching every filter; `action` ending in "." is a prefix.

    `q` looks for a substring of the actor's name, the action, the object id and the
    address. Raises InvalidInput for a cursor this list did not make.
    """
    conditions = []
    if actor_id is not None:
        conditions.append(AuditEntry.actor_user_id == actor_id)
    if action:
        if action.endswith("."):
            conditions.append(AuditEntry.action.like(_like_escaped(action) + "%", escape="\\"))
        else:
            conditions.append(AuditEntry.action == action)
    if object_type:
        conditions.append(AuditEntry.object_type == object_type)
    if object_id:
        conditions.append(AuditEntry.object_id == object_id)
    if since is not None:
        conditions.append(AuditEntry.at >= since)
    if until is not None:
        conditions.append(AuditEntry.at < until)
    if q:
        pattern = f"%{_like_escaped(q.lower())}%"
        conditions.append(or_(*(column.ilike(pattern, escape="\\") for column in (
            AuditEntry.actor_name, AuditEntry.action, AuditEntry.object_id,
            AuditEntry.ip_address))))
    if cursor:
        at, last_id = decode_time_cursor(cursor, _SORT)
        conditions.append(or_(AuditEntry.at < at,
                              and_(AuditEntry.at == at, AuditEntry.id < last_id)))
    rows = list(db.session.scalars(select(AuditEntry).where(*conditions)
                                   .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                                   .limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(_SORT, rows[-1].at, rows[-1].id)
