"""Mailbox administration: CLI and admin API; secrets shown once, IMAP passwords never."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from service import crypto
from service.extensions import db
from tickets.channels.email.mailboxes import (create_mailbox, imap_password,
                                              mailbox_for_secret)
from tickets.channels.email.models import Mailbox

PASSWORD = "imap-Pa55 word\"with\\quotes"
URL = "/api/v1/admin/mailboxes"


def stored_password_column(mailbox_id: int) -> str | None:
    """The raw database value, read with SQL (not through the model)."""
    return db.session.execute(text("SELECT imap_password_encrypted FROM mailboxes WHERE id = :id"),
                              {"id": mailbox_id}).scalar()


def mailbox_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Mailbox))


@pytest.fixture
def admin_headers(make_user, auth):
    return auth(make_user("admin"))


@pytest.fixture
def mailbox(app):
    box, _secret = create_mailbox("Support", "help@loopdesk.test")
    db.session.commit()
    return box


def imap_settings(**overrides) -> dict:
    settings = {"host": "imap.example.com", "port": 993, "username": "help@loopdesk.test",
                "password": PASSWORD, "folder": "INBOX", "enabled": True}
    settings.update(overrides)
    return settings


# ---- CLI ----

def test_cli_create_prints_the_secret_last_and_list_never_does(runner):
    result = runner.invoke(args=["mailboxes", "create", "Support", "Help@Loopdesk.test"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    box = mailbox_for_secret(secret)
    assert box is not None and box.address == "help@loopdesk.test"

    listed = runner.invoke(args=["mailboxes", "list"])
    assert listed.exit_code == 0
    assert "Support <help@loopdesk.test> active" in listed.output
    assert secret not in listed.output
    assert "IMAP not configured" in listed.output


def test_cli_create_refuses_bad_input_and_duplicates(runner, mailbox):
    for args, message in ((["Other", "not-an-address"], "Not a valid email address"),
                          (["Support", "other@loopdesk.test"], "already exists"),
                          (["Other", "help@loopdesk.test"], "already exists"),
                          (["x" * 81, "x@loopdesk.test"], "1-80")):
        result = runner.invoke(args=["mailboxes", "create", *args])
        assert result.exit_code == 1
        assert message in result.output
    assert mailbox_count() == 1


def test_cli_imap_reads_the_password_from_the_environment_and_stores_it_encrypted(
        runner, mailbox, monkeypatch):
    monkeypatch.setenv("LOOPDESK_IMAP_PW", PASSWORD)
    result = runner.invoke(args=["mailboxes", "imap", "Support", "--host", "IMAP.Example.com",
                                 "--username", "help", "--password-env", "LOOPDESK_IMAP_PW",
                                 "--folder", "Support Inbox"])
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    db.session.refresh(mailbox)
    assert (mailbox.imap_host, mailbox.imap_port, mailbox.imap_folder) == (
        "imap.example.com", 993, "Support Inbox")
    assert mailbox.imap_enabled
    column = stored_password_column(mailbox.id)
    assert column and PASSWORD not in column
    assert imap_password(mailbox) == PASSWORD

    listed = runner.invoke(args=["mailboxes", "list"])
    assert PASSWORD not in listed.output and column not in listed.output
    assert "IMAP on help@imap.example.com:993 folder Support Inbox, password set" in listed.output


def test_cli_imap_prompts_for_the_password_with_hidden_input(runner, mailbox):
    result = runner.invoke(args=["mailboxes", "imap", "Support", "--host", "imap.example.com",
                                 "--username", "help"], input="typed secret\n")
    assert result.exit_code == 0, result.output
    assert "typed secret" not in result.output  # hidden: not echoed
    db.session.refresh(mailbox)
    assert imap_password(mailbox) == "typed secret"

    # Reconfiguring keeps the stored password without asking; --disable keeps everything.
    assert runner.invoke(args=["mailboxes", "imap", "Support", "--port", "1993"]).exit_code == 0
    assert runner.invoke(args=["mailboxes", "imap", "Support", "--disable"]).exit_code == 0
    db.session.refresh(mailbox)
    assert (mailbox.imap_port, mailbox.imap_enabled) == (1993, False)
    assert imap_password(mailbox) == "typed secret"


def test_cli_imap_refuses_bad_settings_without_writing(runner, mailbox, monkeypatch):
    monkeypatch.setenv("LOOPDESK_IMAP_PW", PASSWORD)
    base = ["mailboxes", "imap", "Support", "--username", "help"]
    cases = ((["--host", "bad host!", "--password-env", "LOOPDESK_IMAP_PW"], "host"),
             (["--host", "imap.example.com", "--port", "70000",
               "--password-env", "LOOPDESK_IMAP_PW"], "port"),
             (["--host", "imap.example.com", "--password-env", "UNSET_VARIABLE_X"],
              "UNSET_VARIABLE_X is not set"))
    for extra, message in cases:
        result = runner.invoke(args=[*base, *extra])
        assert result.exit_code == 1, result.output
        assert message in result.output
        assert PASSWORD not in result.output
    db.session.refresh(mailbox)
    assert mailbox.imap_host is None and mailbox.imap_password_encrypted is None

    unknown = runner.invoke(args=["mailboxes", "imap", "Nope", "--disable"])
    assert unknown.exit_code == 1 and "No mailbox named 'Nope'" in unknown.output


def test_cli_rotate_secret_prints_a_new_one_and_the_old_one_stops_working(runner):
    created = runner.invoke(args=["mailboxes", "create", "Support", "help@loopdesk.test"])
    old = created.output.strip().splitlines()[-1]
    result = runner.invoke(args=["mailboxes", "rotate-secret", "Support"])
    assert result.exit_code == 0, result.output
    new = result.output.strip().splitlines()[-1]
    assert new != old
    assert mailbox_for_secret(old) is None
    assert mailbox_for_secret(new).name == "Support"


def test_cli_poll_of_a_mailbox_without_imap_says_so(runner, mailbox):
    result = runner.invoke(args=["mailboxes", "poll", "Support"])
    assert result.exit_code == 1
    assert "IMAP polling is off" in result.output


# ---- admin API ----

def test_api_create_returns_the_secret_once(client, admin_headers):
    response = client.post(URL, json={"name": " Support ", "address": "Help@Loopdesk.test"},
                           headers=admin_headers)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["name"] == "Support" and body["address"] == "help@loopdesk.test"
    secret = body["secret"]
    assert mailbox_for_secret(secret).id == body["id"]
    assert body["imap"] == {"host": None, "port": 993, "username": None, "folder": "INBOX",
                            "enabled": False, "password_set": False, "last_polled_at": None,
                            "last_poll_error": None}

    listed = client.get(URL, headers=admin_headers)
    one = client.get(f"{URL}/{body['id']}", headers=admin_headers)
    for response in (listed, one):
        assert response.status_code == 200
        assert secret not in response.get_data(as_text=True)
        assert "secret" not in (response.json["items"][0] if "items" in response.json
                                else response.json)
    assert [item["name"] for item in listed.json["items"]] == ["Support"]


@pytest.mark.parametrize("body, field", [
    ({"address": "help@loopdesk.test"}, "name"),
    ({"name": "Support"}, "address"),
    ({"name": "", "address": "help@loopdesk.test"}, "name"),
    ({"name": "x" * 81, "address": "help@loopdesk.test"}, "name"),
    ({"name": "Support", "address": "not an address"}, "address"),
    ({"name": "Support", "address": "help@loopdesk.test", "secret": "mine"}, "secret"),
    ({"name": 5, "address": "help@loopdesk.test"}, "name"),
])
def test_api_create_refuses_bad_input(client, admin_headers, body, field):
    response = client.post(URL, json=body, headers=admin_headers)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"]
    assert mailbox_count() == 0


def test_api_create_refuses_duplicates_and_non_json(client, admin_headers, mailbox):
    duplicate = client.post(URL, json={"name": "Support", "address": "x@loopdesk.test"},
                            headers=admin_headers)
    assert duplicate.status_code == 409
    not_json = client.post(URL, data="name=Support", headers=admin_headers)
    assert not_json.status_code == 400
    array = client.post(URL, json=[1, 2], headers=admin_headers)
    assert array.status_code == 400
    assert mailbox_count() == 1


def test_api_is_for_admins_only(client, make_user, auth, mailbox):
    assert client.get(URL).status_code == 401
    for role in ("lead", "agent", "sales"):
        headers = auth(make_user(role))
        assert client.get(URL, headers=headers).status_code == 403
        assert client.post(URL, json={"name": "X", "address": "x@loopdesk.test"},
                           headers=headers).status_code == 403
        assert client.patch(f"{URL}/{mailbox.id}", json={"is_active": False},
                            headers=headers).status_code == 403
        assert client.post(f"{URL}/{mailbox.id}/rotate-secret",
                           headers=headers).status_code == 403
    db.session.refresh(mailbox)
    assert mailbox.is_active and mailbox_count() == 1


def test_api_patch_imap_stores_the_password_encrypted_and_never_returns_it(
        client, admin_headers, mailbox):
    response = client.patch(f"{URL}/{mailbox.id}", json={"imap": imap_settings()},
                            headers=admin_headers)
    assert response.status_code == 200, response.json
    assert PASSWORD not in response.get_data(as_text=True)
    assert response.json["imap"]["password_set"] is True
    assert "password" not in response.json["imap"]
    column = stored_password_column(mailbox.id)
    assert column and PASSWORD not in column
    assert crypto.decrypt(column) == PASSWORD

    # Partial changes keep the rest, the password included.
    response = client.patch(f"{URL}/{mailbox.id}", json={"imap": {"folder": "Support"}},
                            headers=admin_headers)
    assert response.status_code == 200
    assert response.json["imap"]["folder"] == "Support"
    assert response.json["imap"]["enabled"] is True
    assert stored_password_column(mailbox.id) == column

    response = client.patch(f"{URL}/{mailbox.id}",
                            json={"is_active": False, "imap": {"enabled": False}},
                            headers=admin_headers)
    assert response.status_code == 200
    assert response.json["is_active"] is False and response.json["imap"]["enabled"] is False
    listed = client.get(URL, headers=admin_headers).get_data(as_text=True)
    assert PASSWORD not in listed and column not in listed


def test_api_patch_password_is_kept_exactly_as_sent(client, admin_headers, mailbox):
    response = client.patch(f"{URL}/{mailbox.id}",
                            json={"imap": imap_settings(password="  spaced 密码 ")},
                            headers=admin_headers)
    assert response.status_code == 200
    db.session.refresh(mailbox)
    assert imap_password(mailbox) == "  spaced 密码 "


@pytest.mark.parametrize("imap, field", [
    ({"port": 0}, "port"),
    ({"port": "993"}, "port"),
    ({"port": 65536}, "port"),
    ({"host": "bad host!"}, "host"),
    ({"host": "-leading.example.com"}, "host"),
    ({"host": ""}, "host"),
    ({"host": "a" * 254}, "host"),
    ({"username": ""}, "username"),
    ({"password": "line\nbreak"}, "password"),
    ({"password": ""}, "password"),
    ({"folder": ""}, "folder"),
    ({"enabled": "yes"}, "enabled"),
    ({"enabled": 1}, "enabled"),
    ({"colour": "red"}, "colour"),
])
def test_api_patch_refuses_bad_imap_settings_and_writes_nothing(
        client, admin_headers, mailbox, imap, field):
    response = client.patch(f"{URL}/{mailbox.id}",
                            json={"is_active": False, "imap": imap_settings(**imap)},
                            headers=admin_headers)
    assert response.status_code == 400, response.json
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"]["imap"]
    assert PASSWORD not in response.get_data(as_text=True)
    db.session.refresh(mailbox)
    assert mailbox.is_active and mailbox.imap_host is None
    assert stored_password_column(mailbox.id) is None


@pytest.mark.parametrize("body, field", [
    ({}, None),
    ({"imap": None}, "imap"),
    ({"imap": "imap.example.com"}, "imap"),
    ({"is_active": "false"}, "is_active"),
    ({"is_active": None}, "is_active"),
    ({"name": "Renamed"}, "name"),
])
def test_api_patch_refuses_bad_bodies(client, admin_headers, mailbox, body, field):
    response = client.patch(f"{URL}/{mailbox.id}", json=body, headers=admin_headers)
    assert response.status_code == 400
    if field:
        assert field in response.json["errors"]


def test_api_patch_needs_a_password_the_first_time(client, admin_headers, mailbox):
    settings = imap_settings()
    del settings["password"]
    response = client.patch(f"{URL}/{mailbox.id}", json={"imap": settings},
                            headers=admin_headers)
    assert response.status_code == 400
    assert "password" in response.json["errors"]["imap"]
    enable_only = client.patch(f"{URL}/{mailbox.id}", json={"imap": {"enabled": True}},
                               headers=admin_headers)
    assert enable_only.status_code == 400
    assert "host" in enable_only.json["errors"]["imap"]


def test_api_unknown_mailboxes_are_404(client, admin_headers):
    path = f"{URL}/999"
    assert client.get(path, headers=admin_headers).status_code == 404
    assert client.patch(path, json={"is_active": False},
                        headers=admin_headers).status_code == 404
    assert client.post(f"{path}/rotate-secret", headers=admin_headers).status_code == 404
    # Beyond the id range no route matches (never a database error).
    assert client.get(f"{URL}/99999999999999", headers=admin_headers).status_code == 404
    assert client.patch(f"{URL}/99999999999999", json={"is_active": False},
                        headers=admin_headers).status_code in (404, 405)


def test_api_rotate_secret(client, admin_headers):
    created = client.post(URL, json={"name": "Support", "address": "help@loopdesk.test"},
                          headers=admin_headers).json
    response = client.post(f"{URL}/{created['id']}/rotate-secret", headers=admin_headers)
    assert response.status_code == 200
    new = response.json["secret"]
    assert new != created["secret"] and new.startswith(response.json["secret_prefix"])
    assert mailbox_for_secret(created["secret"]) is None
    assert mailbox_for_secret(new).id == created["id"]


def test_api_is_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"post", "get"} <= set(paths["/api/v1/admin/mailboxes"])
    assert "patch" in paths["/api/v1/admin/mailboxes/{mailbox_id}"]
    assert "post" in paths["/api/v1/admin/mailboxes/{mailbox_id}/rotate-secret"]
