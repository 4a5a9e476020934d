"""Request ids and structured (JSON) log lines: ids only, never personal data."""
from __future__ import annotations

import io
import json
import logging
import sys

import pytest

from service.ops.install import install
from service.ops.log_format import ACCESS_LOGGER, JsonFormatter, TextFormatter, configure_logging


@pytest.fixture(autouse=True)
def ops(app):
    """The app with the operations layer (the factory calls install once the lead wires
    it; installing twice is a no-op)."""
    install(app)
    return app


@pytest.fixture
def json_lines(caplog):
    """Every record of the app's loggers during the test, as the JSON lines they become."""
    caplog.set_level(logging.INFO)  # LOG_LEVEL's default in production (tests: WARNING)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)

    def lines(logger: str | None = None) -> list[dict]:
        parsed = [json.loads(line) for line in stream.getvalue().splitlines()]
        return [line for line in parsed if logger is None or line["logger"] == logger]

    yield lines
    root.removeHandler(handler)


def access_lines(json_lines) -> list[dict]:
    return json_lines(ACCESS_LOGGER)


# ---- request ids ----

def test_a_request_id_is_made_and_echoed(client):
    first = client.get("/support/new")
    second = client.get("/support/new")
    made = first.headers["X-Request-ID"]
    assert len(made) == 32 and int(made, 16) >= 0  # uuid4 hex
    assert second.headers["X-Request-ID"] != made


def test_a_safe_incoming_id_is_kept(client, json_lines):
    response = client.get("/support/new", headers={"X-Request-ID": "lb-7f3a.91_X"})
    assert response.headers["X-Request-ID"] == "lb-7f3a.91_X"
    assert access_lines(json_lines)[-1]["request_id"] == "lb-7f3a.91_X"


@pytest.mark.parametrize("unsafe", ["a" * 65, "evil\r\nInjected: 1", "<script>", "a b",
                                    "id;rm", "ü-id"])
def test_an_unsafe_incoming_id_is_replaced(client, json_lines, unsafe):
    # Straight into the WSGI environ: the test client refuses to build such headers.
    response = client.get("/support/new", environ_overrides={"HTTP_X_REQUEST_ID": unsafe})
    echoed = response.headers["X-Request-ID"]
    assert echoed != unsafe and len(echoed) == 32
    assert access_lines(json_lines)[-1]["request_id"] == echoed


def test_error_responses_carry_the_id_too(client):
    response = client.get("/no/such/page", headers={"X-Request-ID": "req-404"})
    assert response.status_code == 404
    assert response.headers["X-Request-ID"] == "req-404"


# ---- the access line ----

def test_one_access_line_per_request_with_its_fields(client, json_lines):
    response = client.get("/support/new?lang=en&email=zhang.san@example.cn")
    lines = access_lines(json_lines)
    assert len(lines) == 1
    line = lines[0]
    assert line["level"] == "INFO" and line["method"] == "GET"
    assert line["path"] == "/support/new"  # never the query string
    assert line["status"] == 200 and isinstance(line["duration_ms"], float)
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert line["user_id"] is None and line["ticket"] is None
    assert line["time"].endswith("Z") and line["time"][:2] == "20"
    raw = json.dumps(json_lines())
    assert "example.cn" not in raw and "email=" not in raw and "lang=en" not in raw


def test_console_ticket_page_line_has_user_and_ticket_number(client, console_login,
                                                             make_user, make_ticket,
                                                             json_lines):
    admin = make_user("admin", name="Ada Admin", email="ada.admin@staff.test")
    ticket = make_ticket(subject="Printer on fire", customer_name="Casey Customer",
                         customer_email="casey@example.com")
    console_login(client, admin)
    assert client.get(f"/console/tickets/{ticket.id}").status_code == 200
    line = access_lines(json_lines)[-1]
    assert line["user_id"] == admin.id
    assert line["ticket"] == ticket.number == f"T-{ticket.id:06d}"
    assert line["path"] == f"/console/tickets/{ticket.id}" and line["status"] == 200
    raw = json.dumps(json_lines())
    for personal in ("Ada Admin", "ada.admin@", "Casey", "casey@", "Printer on fire"):
        assert personal not in raw


def test_api_line_has_the_token_user(client, auth, make_user, make_ticket, json_lines):
    agent = make_user("admin")
    ticket = make_ticket()
    response = client.get(f"/api/v1/tickets/{ticket.id}?q=someone@example.com",
                          headers=auth(agent))
    assert response.status_code == 200
    line = access_lines(json_lines)[-1]
    assert (line["user_id"], line["ticket"]) == (agent.id, ticket.number)
    assert line["path"] == f"/api/v1/tickets/{ticket.id}"
    assert "someone@" not in json.dumps(json_lines())


def test_a_refused_api_call_has_no_user(client, json_lines):
    assert client.get("/api/v1/tickets/5").status_code == 401
    line = access_lines(json_lines)[-1]
    assert (line["status"], line["user_id"], line["ticket"]) == (401, None, "T-000005")


def test_link_tokens_never_reach_the_line(client, json_lines):
    client.get("/s/secret-survey-token-0123456789")
    client.get("/portal/tickets/averylongsignedportaltoken0123456789")
    paths = [line["path"] for line in access_lines(json_lines)]
    assert paths == ["/s/…", "/portal/tickets/…"]
    assert "secret-survey-token" not in json.dumps(json_lines())


def test_the_access_line_follows_the_log_level(client, json_lines):
    logging.getLogger().setLevel(logging.WARNING)  # LOG_LEVEL=WARNING (caplog restores it)
    client.get("/support/new")
    assert access_lines(json_lines) == []


def test_werkzeug_request_lines_are_dropped_other_werkzeug_lines_kept(json_lines):
    werkzeug = logging.getLogger("werkzeug")
    werkzeug.info('"%s" %s %s', "GET /s/x?email=a@b.cn HTTP/1.1", "200", "-")
    # As werkzeug's development server really writes it (werkzeug.serving log_request).
    from werkzeug._internal import _log

    _log("info", '127.0.0.1 - - [07/Dec/2026 10:33:21] "%s" %s %s\n',
         "GET /help/search?q=x&email=a@b.cn HTTP/1.1", "200", "-")
    werkzeug.warning("Running on %s", "http://127.0.0.1:5000")
    assert [line["message"] for line in json_lines("werkzeug")] == [
        "Running on http://127.0.0.1:5000"]


def test_app_log_lines_inside_a_request_carry_its_context(app, client, console_login,
                                                         make_user, make_ticket, json_lines):
    from flask import template_rendered

    user = make_user("admin")
    ticket = make_ticket()
    console_login(client, user)

    def say_something(_sender, **_extra):
        logging.getLogger("tickets.something").warning("working on it")

    # A line logged while the view runs (here: as its template is rendered).
    template_rendered.connect(say_something, app)
    try:
        response = client.get(f"/console/tickets/{ticket.id}")
    finally:
        template_rendered.disconnect(say_something, app)
    line = json_lines("tickets.something")[0]
    assert line["message"] == "working on it" and line["level"] == "WARNING"
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert (line["user_id"], line["ticket"]) == (user.id, ticket.number)
    assert "status" not in line  # access fields only on the access line


# ---- the formatters ----

def _record(message: str, *args, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("loopdesk.test", logging.ERROR, __file__, 1, message, args,
                             exc_info)


def test_json_lines_carry_exceptions_without_addresses():
    try:
        raise ValueError("duplicate key: owner=li.lei@example.cn")
    except ValueError:
        record = _record("could not save %s", "ticket", exc_info=sys.exc_info())
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "could not save ticket"
    assert "Traceback" in line["exception"] and "ValueError" in line["exception"]
    assert "li.lei@" not in json.dumps(line) and "…@…" in line["exception"]
    assert line["request_id"] is None and line["level"] == "ERROR"
    assert "\n" not in JsonFormatter().format(record)  # one line per record


def test_messages_lose_addresses_and_link_tokens():
    record = _record("mail to %s from /s/%s", "wang.wu@example.com", "tok3n")
    assert json.loads(JsonFormatter().format(record))["message"] == "mail to …@… from /s/…"


def test_text_format_appends_the_ids():
    record = _record("plain")
    assert TextFormatter().format(record).endswith("loopdesk.test: plain")
    access = logging.LogRecord(ACCESS_LOGGER, logging.INFO, __file__, 1, "GET %s %s",
                               ("/support/new", 200), None)
    access.request_context = {"request_id": "text-1", "user_id": 7, "ticket": None}
    access.status, access.duration_ms = 200, 3.5
    assert TextFormatter().format(access).endswith(
        "GET /support/new 200 [request_id=text-1 user_id=7 status=200 duration_ms=3.5]")


@pytest.mark.parametrize("setting, expected", [("json", JsonFormatter), ("JSON", JsonFormatter),
                                                ("text", TextFormatter), (None, TextFormatter)])
def test_log_format_setting_formats_the_root_handlers(app, monkeypatch, setting, expected):
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    app.config["LOG_FORMAT"] = setting
    handler = logging.StreamHandler(io.StringIO())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        configure_logging(app)
        assert type(handler.formatter) is expected
    finally:
        root.removeHandler(handler)


def test_log_format_falls_back_to_the_environment(app, monkeypatch):
    from service.ops.log_format import log_format

    app.config.pop("LOG_FORMAT", None)
    monkeypatch.setenv("LOG_FORMAT", "json")
    assert log_format(app) == "json"
    monkeypatch.setenv("LOG_FORMAT", "yaml")
    assert log_format(app) == "text"
