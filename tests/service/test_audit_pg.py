"""The audit log on PostgreSQL: append-only in the database, and in step with transactions."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

import service.audit.listeners  # noqa: F401  (the lead imports it in the app factory)
from service.audit.models import AuditEntry
from service.audit.recording import record
from service.extensions import db
from tickets.models import RoutingRule


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


@pytest.fixture
def entry(pg_app) -> AuditEntry:
    row = record("sweep.ran", changes={"closed": [0, 3]})
    db.session.commit()
    return row


def test_an_entry_cannot_be_updated(entry):
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(update(AuditEntry).where(AuditEntry.id == entry.id)
                           .values(action="nothing.happened"))
    db.session.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text("UPDATE audit_log SET actor_name = 'someone else'"))
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(AuditEntry, entry.id).action == "sweep.ran"


def test_an_entry_cannot_be_deleted(entry):
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(delete(AuditEntry))
    db.session.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.delete(db.session.get(AuditEntry, entry.id))
        db.session.flush()
    db.session.rollback()
    assert count() == 1


def test_a_rolled_back_staff_change_leaves_no_entry(pg_app, make_user, make_team):
    admin = make_user("admin")
    billing = make_team("Billing")
    with pg_app.test_request_context("/console/admin/routing/new"):
        from flask import g

        g._login_user = admin
        db.session.add(RoutingRule(name="Invoices", position=0, team_id=billing.id))
        db.session.flush()
        db.session.commit()
        assert count() == 1  # committed with the rule
        rule = db.session.scalar(select(RoutingRule))
        rule.name = "Refunds"
        db.session.flush()
        db.session.rollback()
    assert count() == 1
    assert db.session.scalar(select(AuditEntry.action)) == "routing_rule.create"


def test_a_console_change_commits_its_entry(pg_app, client, make_user, make_team,
                                            console_login):
    admin = make_user("admin")
    billing = make_team("Billing")
    console_login(client, admin)
    response = client.post("/console/admin/routing/new", data={
        "csrf_token": client.csrf_token, "name": "Invoices", "is_active": "y",
        "channel": ["email"], "category": "billing", "product": "", "language": "",
        "tier": [], "keywords": "invoice", "team_id": str(billing.id), "required_skills": []})
    assert response.status_code == 303
    db.session.expire_all()
    entry = db.session.scalar(select(AuditEntry))
    rule = db.session.scalar(select(RoutingRule))
    assert (entry.action, entry.object_id, entry.actor_user_id, entry.actor_kind) == \
        ("routing_rule.create", str(rule.id), admin.id, "staff")
    assert entry.changes["team_id"] == [None, billing.id]
    assert entry.at.tzinfo is not None
