"""Admins' opportunity rules: the API (CRUD, validation, permissions, the test endpoint,
built-in rules that cannot be deleted) and the console pages."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service.extensions import db
from surveys.models import SignalRule
from surveys.signals.builtin import BUILTIN_RULES

BASE = "/api/v1/admin/opportunity-rules"
PAGE = "/console/admin/opportunity-rules"


@pytest.fixture
def admin(make_user):
    return make_user("admin")


@pytest.fixture
def headers(admin, auth):
    return auth(admin)


def _rule(**overrides):
    body = {"key": "white_label", "name": "Customer asked for white label", "kind": "upsell",
            "language": "en", "phrases": ["white label", "our own logo"]}
    body.update(overrides)
    return body


def _builtin_id(client, headers, key="more_seats_en") -> int:
    items = client.get(BASE, headers=headers).get_json()["items"]
    return next(item["id"] for item in items if item["key"] == key)


def test_list_seeds_the_builtin_rules_once(client, headers):
    first = client.get(BASE, headers=headers)
    assert first.status_code == 200
    keys = {item["key"] for item in first.get_json()["items"]}
    assert keys == {rule.key for rule in BUILTIN_RULES}
    assert all(item["built_in"] and item["enabled"] for item in first.get_json()["items"])
    client.get(BASE, headers=headers)
    assert db.session.scalar(select(func.count()).select_from(SignalRule)) == len(BUILTIN_RULES)


def test_create_read_update_delete(client, headers):
    created = client.post(BASE, json=_rule(phrases=[" white label ", "White Label", "logo"]),
                          headers=headers)
    assert created.status_code == 201, created.get_json()
    rule = created.get_json()
    assert rule["phrases"] == ["white label", "logo"]  # trimmed, repeats dropped
    assert (rule["built_in"], rule["enabled"], rule["language"]) == (False, True, "en")
    assert client.get(f"{BASE}/{rule['id']}", headers=headers).get_json()["key"] == "white_label"
    patched = client.patch(f"{BASE}/{rule['id']}", json={"enabled": False, "name": "White"},
                           headers=headers)
    assert patched.status_code == 200
    assert (patched.get_json()["enabled"], patched.get_json()["name"]) == (False, "White")
    assert client.delete(f"{BASE}/{rule['id']}", headers=headers).status_code == 204
    assert client.get(f"{BASE}/{rule['id']}", headers=headers).status_code == 404


def test_builtin_rules_may_be_edited_and_disabled_but_not_deleted(client, headers):
    rule_id = _builtin_id(client, headers)
    response = client.patch(f"{BASE}/{rule_id}", json={"enabled": False,
                                                        "phrases": ["more seats", "more desks"]},
                            headers=headers)
    assert response.status_code == 200
    assert response.get_json()["phrases"] == ["more seats", "more desks"]
    deleted = client.delete(f"{BASE}/{rule_id}", headers=headers)
    assert deleted.status_code == 409
    assert deleted.mimetype == "application/problem+json"
    # Re-reading does not bring the disabled built-in back to life or seed it twice.
    items = {item["key"]: item for item in client.get(BASE, headers=headers).get_json()["items"]}
    assert items["more_seats_en"]["enabled"] is False


BAD_RULES = [
    (_rule(key="White Label"), "key"),
    (_rule(key="a" * 81), "key"),
    (_rule(key=""), "key"),
    (_rule(name=""), "name"),
    (_rule(kind="renewal"), "kind"),
    (_rule(kind="bogus"), "kind"),
    (_rule(language="fr"), "language"),
    (_rule(phrases=[]), "phrases"),
    (_rule(phrases=["x"]), "phrases"),
    (_rule(phrases=["y" * 81]), "phrases"),
    (_rule(phrases=[f"phrase {n}" for n in range(51)]), "phrases"),
    (_rule(phrases=["   "]), "phrases"),
    (_rule(phrases="white label"), "phrases"),
    (_rule(kind="cross_sell"), "product"),
    (_rule(kind="cross_sell", product=""), "product"),
    (_rule(product="p" * 81), "product"),
    (_rule(enabled="yes"), "enabled"),
    (_rule(extra=1), "extra"),
]


def test_bad_rules_are_refused_field_by_field(client, headers):
    for body, field in BAD_RULES:
        response = client.post(BASE, json=body, headers=headers)
        assert response.status_code == 400, (body, response.get_json())
        assert response.mimetype == "application/problem+json"
        assert field in response.get_json()["errors"], body
    assert db.session.scalar(select(func.count()).select_from(SignalRule)
                             .where(SignalRule.built_in.is_(False))) == 0


def test_bad_patches_are_refused(client, headers):
    rule_id = client.post(BASE, json=_rule(), headers=headers).get_json()["id"]
    for body, field in [({}, "_schema"), ({"key": "other"}, "key"),
                        ({"kind": "cross_sell"}, "product"), ({"phrases": []}, "phrases")]:
        response = client.patch(f"{BASE}/{rule_id}", json=body, headers=headers)
        assert response.status_code == 400, body
        assert field in response.get_json()["errors"], body
    assert client.patch(f"{BASE}/{rule_id}", data="nope", headers=headers).status_code == 400
    ok = client.patch(f"{BASE}/{rule_id}", json={"kind": "cross_sell", "product": "Logo"},
                      headers=headers)
    assert ok.status_code == 200 and ok.get_json()["product"] == "Logo"


def test_a_taken_key_is_a_conflict(client, headers):
    assert client.post(BASE, json=_rule(), headers=headers).status_code == 201
    again = client.post(BASE, json=_rule(), headers=headers)
    assert again.status_code == 409 and "key" in again.get_json()["errors"]
    builtin = client.post(BASE, json=_rule(key="more_seats_en"), headers=headers)
    assert builtin.status_code == 409


def test_unknown_rules_are_not_found(client, headers):
    for method in ("get", "patch", "delete"):
        response = getattr(client, method)(f"{BASE}/999999", json={"name": "x"},
                                           headers=headers)
        assert response.status_code == 404
    assert client.get(f"{BASE}/99999999999", headers=headers).status_code == 404


def test_only_admins_may_use_the_api(client, make_user, auth):
    for role in ("agent", "lead", "sales"):
        headers = auth(make_user(role))
        assert client.get(BASE, headers=headers).status_code == 403
        assert client.post(BASE, json=_rule(), headers=headers).status_code == 403
        assert client.get(f"{BASE}/1", headers=headers).status_code == 403
        assert client.post(f"{BASE}/test", json={"text": "more seats"},
                           headers=headers).status_code == 403
    assert client.get(BASE).status_code == 401


def test_the_test_endpoint_explains_what_fires_and_what_a_negation_cancelled(client, headers):
    response = client.post(f"{BASE}/test", headers=headers, json={
        "text": "We don't need more storage. But we need more seats! 另外，不需要增加账号。"})
    assert response.status_code == 200
    matches = response.get_json()["matches"]
    seen = {(match["rule"]["key"], match["phrase"], match["fires"], match["cancelled_by"])
            for match in matches}
    assert seen == {("higher_limits_en", "more storage", False, "don't"),
                    ("more_seats_en", "more seats", True, None),
                    ("more_seats_zh", "增加账号", False, "不需要")}
    fires = next(match for match in matches if match["fires"])
    assert fires["kind"] == "upsell" and fires["excerpt"] == "But we need more seats!"
    assert fires["rule"]["id"] == _builtin_id(client, headers)
    nothing = client.post(f"{BASE}/test", json={"text": "All good, thanks."}, headers=headers)
    assert nothing.get_json() == {"matches": []}


def test_the_test_endpoint_refuses_bad_input(client, headers):
    for body in [{}, {"text": ""}, {"text": "   "}, {"text": "x" * 20001}, {"text": 5},
                 {"text": "ok", "more": 1}, []]:
        response = client.post(f"{BASE}/test", json=body, headers=headers)
        assert response.status_code == 400, body
        assert response.mimetype == "application/problem+json"


# ---- console ----

def test_console_lists_rules_and_tries_a_text(client, admin, console_login):
    console_login(client, admin)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "Customer asked for more seats" in page.get_data(as_text=True)
    tried = client.post(f"{PAGE}/try", data={"csrf_token": client.csrf_token,
                                             "text": "We don't need more seats <b>x</b>"})
    html = tried.get_data(as_text=True)
    assert tried.status_code == 200
    assert "cancelled by «don&#39;t»" in html and "<b>x</b>" not in html
    empty = client.post(f"{PAGE}/try", data={"csrf_token": client.csrf_token, "text": ""})
    assert empty.status_code == 400
    no_csrf = client.post(f"{PAGE}/try", data={"text": "more seats"})
    assert no_csrf.status_code == 400


def test_console_creates_edits_toggles_and_deletes(client, admin, console_login):
    console_login(client, admin)
    assert client.get(f"{PAGE}/new").status_code == 200
    form = {"csrf_token": client.csrf_token, "key": "white_label", "name": "White label",
            "kind": "upsell", "language": "en", "phrases": "white label\r\n\r\nour own logo\n",
            "product": "", "enabled": "y"}
    saved = client.post(f"{PAGE}/new", data=form)
    assert saved.status_code == 303
    rule = db.session.scalar(select(SignalRule).where(SignalRule.key == "white_label"))
    assert rule.phrases == ["white label", "our own logo"] and rule.enabled
    again = client.post(f"{PAGE}/new", data=form)
    assert again.status_code == 400 and "Another rule has this key." in again.get_data(
        as_text=True)
    bad = client.post(f"{PAGE}/{rule.id}/edit", data={**form, "kind": "cross_sell"})
    assert bad.status_code == 400
    assert "names the product" in bad.get_data(as_text=True)
    assert client.get(f"{PAGE}/{rule.id}/edit").status_code == 200
    client.post(f"{PAGE}/{rule.id}/toggle", data={"csrf_token": client.csrf_token})
    db.session.refresh(rule)
    assert rule.enabled is False
    assert client.post(f"{PAGE}/{rule.id}/delete",
                       data={"csrf_token": client.csrf_token}).status_code == 303
    assert db.session.get(SignalRule, rule.id) is None


def test_console_never_deletes_a_builtin_rule(client, admin, console_login):
    console_login(client, admin)
    client.get(PAGE)
    rule = db.session.scalar(select(SignalRule).where(SignalRule.key == "churn_zh"))
    response = client.post(f"{PAGE}/{rule.id}/delete", data={"csrf_token": client.csrf_token},
                           follow_redirects=True)
    assert "cannot be deleted" in response.get_data(as_text=True)
    assert db.session.get(SignalRule, rule.id) is not None
    assert client.get(f"{PAGE}/999999/edit").status_code == 404


def test_console_is_for_admins_only(client, make_user, console_login):
    console_login(client, make_user("lead"))
    assert client.get(PAGE).status_code == 403
    assert client.post(f"{PAGE}/new", data={"csrf_token": client.csrf_token}).status_code == 403
