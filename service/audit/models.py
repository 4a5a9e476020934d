"""Audit entries: one staff (or system) action each, never changed or deleted.

PostgreSQL refuses UPDATE and DELETE on the table with a trigger (migration 0010, and
`install_ddl_listeners` for `create_all`); the application has no code path that changes an
entry. Actor and object are plain ids, not foreign keys, so that nothing cascades into the log.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DDL, JSON, BigInteger, Index, Integer, String, event
from sqlalchemy.orm import Mapped, mapped_column

from service.db_types import UTCDateTime, utcnow
from service.extensions import db


class AuditEntry(db.Model):
    """One action: who (user id, role and name at the time), what (action, object and the
    changed fields), when, and from where (address, user agent, request id)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_object", "object_type", "object_id", "at"),
        Index("ix_audit_log_actor", "actor_user_id", "at"),
        Index("ix_audit_log_action", "action", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # "staff" (console), "api" (a token), "system" (jobs, sweeps), "cli".
    actor_kind: Mapped[str] = mapped_column(String(10))
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    actor_role: Mapped[str | None] = mapped_column(String(20))
    actor_name: Mapped[str | None] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(80))  # "ticket.update", "user.create" …
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(40))
    # {field: [before, after]}; secrets and personal data are written as "[redacted]".
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    request_id: Mapped[str | None] = mapped_column(String(64))


# Append-only, enforced by the database where it can be (PostgreSQL).
APPEND_ONLY = (
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'the audit log is append-only'; END; $$ LANGUAGE plpgsql",
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
)
APPEND_ONLY_DROP = ("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log",
                    "DROP FUNCTION IF EXISTS audit_log_append_only()")

for _statement in APPEND_ONLY:
    event.listen(AuditEntry.__table__, "after_create",
                 DDL(_statement).execute_if(dialect="postgresql"))
