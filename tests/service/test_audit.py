"""The audit log on SQLite: an entry for each kind of staff action, none for customers,
search filters, and who may read it."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

import service.audit.listeners  # noqa: F401  (the lead imports it in the app factory)
from service.audit import recording
from service.audit.models import AuditEntry
from service.audit.registry import CHANGED, REDACTED
from service.extensions import db
from tickets.models import Priority, RoutingRule, SlaPolicy

AUDIT_API = "/api/v1/admin/audit"
AUDIT_PAGE = "/console/admin/audit/"
BROWSER = {"User-Agent": "AuditTest/1.0"}


def entries(*where) -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).where(*where).order_by(AuditEntry.id)))


def only(action: str) -> AuditEntry:
    found = entries(AuditEntry.action == action)
    assert len(found) == 1, [entry.action for entry in entries()]
    return found[0]


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


def csrf_of(html: str | bytes) -> str:
    text = html.decode() if isinstance(html, bytes) else html
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text).group(1)


@pytest.fixture
def admin(make_user):
    return make_user("admin", name="Ada Admin")


@pytest.fixture
def as_admin(client, admin, console_login):
    return console_login(client, admin)


def assert_actor(entry: AuditEntry, user, kind: str) -> None:
    assert (entry.actor_kind, entry.actor_user_id, entry.actor_role, entry.actor_name) == \
        (kind, user.id, str(user.role), user.name)


# ---- sign-in and sign-out ----

def test_sign_in_and_sign_out_are_recorded_with_address_and_agent(client, admin):
    page = client.get("/console/login")
    response = client.post("/console/login", headers=BROWSER, data={
        "csrf_token": csrf_of(page.data), "email": admin.email,
        "password": "correct horse battery"})
    assert response.status_code == 303
    entry = only("auth.sign_in")
    assert_actor(entry, admin, "staff")
    assert (entry.object_type, entry.object_id) == ("user", str(admin.id))
    assert (entry.ip_address, entry.user_agent) == ("127.0.0.1", "AuditTest/1.0")
    home = client.get("/console/admin/audit/")
    client.post("/console/logout", data={"csrf_token": csrf_of(home.data)})
    assert_actor(only("auth.sign_out"), admin, "staff")


def test_a_wrong_password_writes_no_sign_in(client, admin):
    page = client.get("/console/login")
    response = client.post("/console/login", data={
        "csrf_token": csrf_of(page.data), "email": admin.email, "password": "wrong one!"})
    assert response.status_code == 401
    assert entries(AuditEntry.action == "auth.sign_in") == []
    failed = only("auth.sign_in_failed")
    assert (failed.object_id, failed.changes) == (str(admin.id), {"email": [None, admin.email]})


def test_api_token_requests_are_recorded(client, admin):
    from service.auth.models import ApiToken

    wrong = client.post("/api/v1/auth/tokens", json={"email": admin.email, "password": "nope"})
    assert wrong.status_code == 401
    assert (only("auth.sign_in_failed").actor_kind, count()) == ("api", 1)
    right = client.post("/api/v1/auth/tokens", json={"email": admin.email,
                                                     "password": "correct horse battery"})
    assert right.status_code == 201, right.get_json()
    created = only("api_token.create")
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == admin.id))
    assert created.object_id == str(token.id)
    assert_actor(created, admin, "api")


def test_disabling_a_user_records_the_revoked_tokens(app, admin, make_user):
    from service.auth.admin import disable_access
    from service.auth.services import issue_token

    agent = make_user("agent")
    issue_token(agent, name="one")
    issue_token(agent, name="two")
    db.session.commit()
    assert disable_access(agent).tokens_revoked == 2
    db.session.commit()
    revoked = only("api_token.revoke_all")
    assert (revoked.object_id, revoked.changes) == (str(agent.id), {"tokens_revoked": [None, 2]})


def test_record_sign_in_failure_names_the_account_tried(app, admin):
    with app.test_request_context("/console/login", method="POST",
                                  environ_base={"REMOTE_ADDR": "203.0.113.9"}):
        recording.record_sign_in_failure(admin.email.upper())
        recording.record_sign_in_failure("nobody@example.test")
        db.session.commit()
    known, unknown = entries()
    assert (known.action, known.actor_kind, known.actor_user_id, known.object_id,
            known.ip_address) == ("auth.sign_in_failed", "staff", None, str(admin.id),
                                  "203.0.113.9")
    assert known.changes == {"email": [None, admin.email]}
    assert (unknown.object_type, unknown.object_id) == (None, None)


# ---- tickets: console and API ----

def test_a_ticket_update_in_the_console(client, make_user, make_ticket, support_team,
                                        console_login):
    agent = make_user("agent", team=support_team)
    ticket = make_ticket(category="billing")
    priority_before = ticket.priority.value
    assert count() == 0  # made outside any staff request
    console_login(client, agent)
    response = client.post(f"/console/tickets/{ticket.id}/update", headers=BROWSER, data={
        "csrf_token": client.csrf_token, "status": ticket.status.value, "priority": "urgent",
        "category": "refunds", "product": "", "tags": "vip, printer", "reason": ""})
    assert response.status_code == 303
    entry = only("ticket.update")
    assert_actor(entry, agent, "staff")
    assert (entry.object_type, entry.object_id) == ("ticket", str(ticket.id))
    assert entry.changes["priority"] == [priority_before, "urgent"]
    assert entry.changes["category"] == ["billing", "refunds"]
    assert entry.changes["tag_rows"] == [[], ["printer", "vip"]]
    # Bookkeeping (updated_at, SLA due times) is left out.
    assert not {"updated_at", "first_response_due_at", "sla_state"} & set(entry.changes)
    assert (entry.ip_address, entry.user_agent) == ("127.0.0.1", "AuditTest/1.0")


def test_a_ticket_update_through_the_api(client, make_user, make_ticket, support_team, auth):
    agent = make_user("agent", team=support_team)
    ticket = make_ticket()
    headers = {**auth(agent), **BROWSER, "X-Request-ID": "req-123"}
    response = client.patch(f"/api/v1/tickets/{ticket.id}", headers=headers,
                            json={"category": "hardware"})
    assert response.status_code == 200, response.json
    entry = only("ticket.update")
    assert_actor(entry, agent, "api")
    assert entry.changes == {"category": [None, "hardware"]}
    assert entry.user_agent == "AuditTest/1.0"


def test_a_customer_web_form_ticket_writes_nothing(client, support_team, make_user):
    make_user("agent", team=support_team)
    page = client.get("/support/new?lang=en").data.decode()
    submission = re.search(r'name="submission_id"[^>]*value="([0-9a-f]{32})"', page).group(1)
    response = client.post("/support/new?lang=en", data={
        "csrf_token": csrf_of(page), "submission_id": submission, "name": "Zhang San",
        "email": "zhang.san@example.cn", "subject": "打印机无法连接",
        "description": "今天早上开始打印机无法连接。", "urgency": "high", "product": "Printer"})
    assert response.status_code == 303
    assert count() == 0


def test_a_signed_in_staff_browser_on_the_customer_form_writes_nothing(
        client, admin, console_login):
    console_login(client, admin)
    page = client.get("/support/new?lang=en").data.decode()
    submission = re.search(r'name="submission_id"[^>]*value="([0-9a-f]{32})"', page).group(1)
    client.post("/support/new?lang=en", data={
        "csrf_token": csrf_of(page), "submission_id": submission, "name": "Li Si",
        "email": "li.si@example.cn", "subject": "Help", "description": "Please help me.",
        "urgency": "normal", "product": ""})
    assert count() == 0


# ---- administration ----

def test_a_user_role_and_team_change(as_admin, admin, make_user, make_team):
    agent = make_user("agent")
    billing = make_team("Billing")
    response = as_admin.post(f"/console/admin/users/{agent.id}/edit", data={
        "csrf_token": as_admin.csrf_token, "name": agent.name, "role": "lead",
        "is_active": "y", "locale": agent.locale, "max_open_tickets": "20",
        "availability": "available", "teams": [str(billing.id)]})
    assert response.status_code == 303
    entry = only("user.update")
    assert_actor(entry, admin, "staff")
    assert entry.object_id == str(agent.id)
    assert entry.changes["role"] == ["agent", "lead"]
    assert entry.changes["teams"] == [[], ["Billing"]]
    assert "password_hash" not in entry.changes


def test_a_new_users_password_is_redacted(app, admin):
    from service.auth.services import create_user

    with app.test_request_context("/api/v1/admin/users"):
        from flask import g

        g.user = admin
        user = create_user("new.one@staff.test", "agent", "a long password", "New One")
        db.session.commit()
    entry = only("user.create")
    assert_actor(entry, admin, "api")
    assert entry.object_id == str(user.id)
    assert entry.changes["password_hash"] == [None, REDACTED]
    assert entry.changes["email"] == [None, "new.one@staff.test"]


def test_an_sla_policy_edit(as_admin, admin):
    urgent = db.session.scalar(select(SlaPolicy).where(SlaPolicy.priority == Priority.URGENT))
    before = urgent.first_response_minutes
    response = as_admin.post(f"/console/admin/sla/{urgent.id}/edit", data={
        "csrf_token": as_admin.csrf_token, "first_response_hours": "2",
        "first_response_minutes": "30", "resolution_hours": "10", "resolution_minutes": "0",
        "warning_percent": "75", "calendar_id": str(urgent.calendar_id)})
    assert response.status_code == 303
    entry = only("sla_policy.update")
    assert_actor(entry, admin, "staff")
    assert entry.object_id == str(urgent.id)
    assert entry.changes["first_response_minutes"] == [before, 150]
    assert entry.changes["warning_ratio_percent"][1] == 75


def test_a_routing_rule_create_and_delete(as_admin, admin, make_team):
    billing = make_team("Billing")
    response = as_admin.post("/console/admin/routing/new", data={
        "csrf_token": as_admin.csrf_token, "name": "Invoices", "is_active": "y",
        "channel": ["email"], "category": "billing", "product": "", "language": "",
        "tier": [], "keywords": "invoice", "team_id": str(billing.id),
        "required_skills": []})
    assert response.status_code == 303
    rule = db.session.scalar(select(RoutingRule))
    created = only("routing_rule.create")
    assert_actor(created, admin, "staff")
    assert created.object_id == str(rule.id)
    assert created.changes["name"] == [None, "Invoices"]
    assert created.changes["team_id"] == [None, billing.id]
    response = as_admin.post(f"/console/admin/routing/{rule.id}/delete",
                             data={"csrf_token": as_admin.csrf_token})
    assert response.status_code == 303
    deleted = only("routing_rule.delete")
    assert deleted.object_id == str(rule.id)
    assert deleted.changes["name"] == ["Invoices", None]


def test_a_kb_article_publish(client, make_user, auth):
    lead = make_user("lead")
    headers = auth(lead)
    created = client.post("/api/v1/kb/articles", headers=headers, json={
        "kind": "howto", "title": "Reset the router", "language": "en", "audience": "public",
        "summary": "Hold the button.", "body": "Hold **reset** for ten seconds.",
        "status": "draft"})
    assert created.status_code == 201, created.json
    article_id = created.json["id"]
    made = only("kb_article.create")
    assert made.changes["title"] == [None, "Reset the router"]
    assert made.changes["body"] == [None, CHANGED]
    published = client.patch(f"/api/v1/kb/articles/{article_id}", headers=headers,
                             json={"status": "published"})
    assert published.status_code == 200, published.json
    entry = only("kb_article.update")
    assert_actor(entry, lead, "api")
    assert entry.object_id == str(article_id)
    assert entry.changes["status"] == ["draft", "published"]
    assert "Hold" not in str([row.changes for row in entries()])


def test_a_webhook_secret_change_is_redacted(client, admin, auth):
    from service.crypto import decrypt, encrypt
    from service.notify.webhooks.models import Webhook

    webhook = Webhook(url="https://hooks.example.test/in", events=["ticket.created"],
                      secret_encrypted=encrypt("whsec_old"))
    db.session.add(webhook)
    db.session.commit()
    response = client.post(f"/api/v1/admin/webhooks/{webhook.id}/rotate-secret",
                           headers=auth(admin))
    assert response.status_code == 200
    entry = only("webhook.update")
    assert_actor(entry, admin, "api")
    assert entry.changes == {"secret_encrypted": [REDACTED, REDACTED]}
    db.session.refresh(webhook)
    stored = str([row.changes for row in entries()])
    assert "whsec" not in stored and webhook.secret_encrypted not in stored
    assert decrypt(webhook.secret_encrypted) == response.json["secret"]


def test_contacts_personal_fields_are_redacted(app, admin):
    from flask import g

    from service.directory.models import Contact

    with app.test_request_context("/api/v1/customers"):
        g.user = admin
        contact = Contact(email="casey@example.com", name="Casey Customer", phone="+8613800")
        db.session.add(contact)
        db.session.commit()
        contact.name = "Casey C."
        contact.language = "zh"
        db.session.commit()
    created, changed = entries()
    assert created.changes["email"] == [None, REDACTED]
    assert created.changes["name"] == [None, REDACTED]
    assert changed.changes == {"name": [REDACTED, REDACTED], "language": [None, "zh"]}
    assert "casey" not in str([created.changes, changed.changes]).lower()


def test_several_flushes_of_one_change_make_one_entry(app, admin):
    from flask import g

    policy = db.session.scalar(select(SlaPolicy).where(SlaPolicy.priority == Priority.LOW))
    before = policy.resolution_minutes
    with app.test_request_context("/api/v1/admin/sla"):
        g.user = admin
        policy.resolution_minutes = before + 60
        db.session.flush()
        policy.warning_ratio_percent = 50
        db.session.flush()
        policy.name = "Low (changed)"  # left for the commit's own flush
        db.session.commit()
    (entry,) = entries()
    assert entry.action == "sla_policy.update"
    assert set(entry.changes) == {"resolution_minutes", "warning_ratio_percent", "name"}
    assert entry.changes["resolution_minutes"] == [before, before + 60]


def test_nothing_is_recorded_outside_requests_and_explicit_entries_say_who(app, admin,
                                                                          runner):
    from service.auth.services import create_user

    create_user("quiet@staff.test", "agent", "a long password")
    db.session.commit()
    assert count() == 0
    recording.record("sweep.ran", changes={"closed": [0, 3]})
    recording.record("token.created", object_type="api_token", object_id=7, actor=admin)
    db.session.commit()
    system, by_admin = entries()
    assert (system.actor_kind, system.actor_user_id, system.ip_address) == ("system", None, None)
    assert (by_admin.actor_kind, by_admin.actor_user_id) == ("system", admin.id)


def test_a_rolled_back_change_leaves_no_entry(as_admin, admin, make_team):
    billing = make_team("Billing")
    with as_admin.application.test_request_context("/console/admin/routing/new"):
        from flask import g

        g._login_user = admin
        db.session.add(RoutingRule(name="R", position=0, team_id=billing.id))
        db.session.flush()
        db.session.rollback()
    assert count() == 0


# ---- search: API ----

def _seed() -> list[AuditEntry]:
    base = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    rows = [
        AuditEntry(at=base, actor_kind="staff", actor_user_id=1, actor_name="Ada",
                   action="ticket.update", object_type="ticket", object_id="5",
                   ip_address="10.0.0.1"),
        AuditEntry(at=base + timedelta(hours=1), actor_kind="api", actor_user_id=2,
                   actor_name="Bob", action="ticket.create", object_type="ticket",
                   object_id="6"),
        AuditEntry(at=base + timedelta(days=1), actor_kind="staff", actor_user_id=1,
                   actor_name="Ada", action="user.update", object_type="user",
                   object_id="2"),
        AuditEntry(at=base + timedelta(days=2), actor_kind="system", action="ticketing.x"),
    ]
    db.session.add_all(rows)
    db.session.commit()
    return rows


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


def test_search_filters_and_pages_newest_first(client, admin, auth):
    headers = auth(admin)
    first, second, third, fourth = _seed()
    assert _ids(client.get(AUDIT_API, headers=headers)) == [fourth.id, third.id, second.id,
                                                            first.id]
    assert _ids(client.get(AUDIT_API, headers=headers, query_string={"action": "ticket."})) \
        == [second.id, first.id]
    assert _ids(client.get(AUDIT_API, headers=headers,
                           query_string={"action": "ticket.update"})) == [first.id]
    assert _ids(client.get(AUDIT_API, headers=headers, query_string={"actor": 1})) == \
        [third.id, first.id]
    assert _ids(client.get(AUDIT_API, headers=headers, query_string={
        "object_type": "ticket", "object_id": "6"})) == [second.id]
    assert _ids(client.get(AUDIT_API, headers=headers, query_string={
        "since": "2026-12-01T08:30:00+00:00", "until": "2026-12-03T00:00:00Z"})) == \
        [third.id, second.id]
    assert _ids(client.get(AUDIT_API, headers=headers, query_string={"q": "bob"})) == \
        [second.id]
    assert _ids(client.get(AUDIT_API, headers=headers, query_string={"q": "10.0.0"})) == \
        [first.id]
    page = client.get(AUDIT_API, headers=headers, query_string={"limit": 3})
    assert _ids(page) == [fourth.id, third.id, second.id]
    rest = client.get(AUDIT_API, headers=headers,
                      query_string={"limit": 3, "cursor": page.json["next_cursor"]})
    assert _ids(rest) == [first.id] and rest.json["next_cursor"] is None
    item = client.get(AUDIT_API, headers=headers, query_string={"object_id": "5"}).json[
        "items"][0]
    assert item["actor"] == {"kind": "staff", "user_id": 1, "role": None, "name": "Ada"}
    assert item["ip_address"] == "10.0.0.1" and item["changes"] == {}


@pytest.mark.parametrize("query", [
    {"limit": 0}, {"limit": 500}, {"actor": "abc"}, {"since": "yesterday"},
    {"since": "2026-12-01T00:00:00"},  # no zone
    {"since": "2026-12-02T00:00:00Z", "until": "2026-12-01T00:00:00Z"},
    {"action": "DROP TABLE"}, {"object_type": "Ticket!"}, {"cursor": "nonsense"},
    {"unknown": "1"}, {"q": "x" * 201}])
def test_search_refuses_bad_input(client, admin, auth, query):
    response = client.get(AUDIT_API, headers=auth(admin), query_string=query)
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"


def test_the_audit_log_cannot_be_changed_through_the_api(client, admin, auth):
    _seed()
    headers = auth(admin)
    for method in ("post", "put", "patch", "delete"):
        assert getattr(client, method)(AUDIT_API, headers=headers).status_code == 405
    assert count() == 4


def test_only_admins_read_the_log(client, make_user, auth, console_login):
    lead = make_user("lead")
    assert client.get(AUDIT_API, headers=auth(lead)).status_code == 403
    assert client.get(AUDIT_API).status_code == 401
    console_login(client, lead)
    assert client.get(AUDIT_PAGE).status_code == 403


# ---- the console page ----

def test_the_page_shows_entries_with_links_and_changes(as_admin, admin):
    _seed()
    db.session.add(AuditEntry(actor_kind="staff", actor_user_id=admin.id,
                              actor_name="Ada Admin", actor_role="admin",
                              action="sla_policy.update", object_type="sla_policy",
                              object_id="1", changes={"resolution_minutes": [240, 300]},
                              ip_address="192.0.2.4"))
    db.session.commit()
    page = as_admin.get(AUDIT_PAGE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "sla_policy.update" in html and "240 → 300" in html and "192.0.2.4" in html
    assert 'href="/console/admin/sla/1/edit"' in html
    assert 'href="/console/tickets/5"' in html
    assert "(Asia/Shanghai)" in html  # the service's zone: the admin chose none
    filtered = as_admin.get(AUDIT_PAGE, query_string={"action": "ticket.", "actor": "1"})
    html = filtered.get_data(as_text=True)
    assert "ticket.update" in html and "user.update" not in html and "ticket.create" not in html


def test_the_page_pages_older_entries(as_admin, monkeypatch):
    from service.audit import console

    monkeypatch.setattr(console, "PAGE_SIZE", 2)
    rows = _seed()
    html = as_admin.get(AUDIT_PAGE, query_string={"q": "a"}).get_data(as_text=True)
    older = re.search(r'href="([^"]+)"[^>]*>Older<', html).group(1).replace("&amp;", "&")
    assert "q=a" in older
    rest = as_admin.get(older).get_data(as_text=True)
    assert f'id="audit-{rows[0].id}"' in rest and f'id="audit-{rows[3].id}"' not in rest


@pytest.mark.parametrize("query", [
    {"since": "not a day"}, {"since": "2026-12-05", "until": "2026-12-01"},
    {"actor": "999999"}, {"action": "bad action"}, {"cursor": "nonsense"}])
def test_the_page_shows_bad_filters_again(as_admin, query):
    response = as_admin.get(AUDIT_PAGE, query_string=query)
    assert response.status_code == 400
    assert "No entries match." in response.get_data(as_text=True)
