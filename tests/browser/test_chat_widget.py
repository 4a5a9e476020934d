"""The chat widget in a real browser, embedded in a customer's page on another origin."""
from __future__ import annotations

import json
import shutil
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from service import create_app
from service.extensions import db
from tests.conftest import BASE_CONFIG


# The customer's page, with CSS that would wreck any widget living in the page's DOM.
SHOP_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop</title>
<style>
  * {{ font-size: 40px !important; color: red !important; }}
  div, button, form, input, textarea {{ display: none !important; }}
  p {{ margin: 300px !important; }}
</style></head>
<body><h1>Our shop</h1>
<script src="{app}/chat/widget.js" data-title="Talk to Shop" data-lang="en"
        data-color="#2e7d32" defer></script>
</body></html>
"""


def _serve(server) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def shop_server():
    """A second local HTTP server (another origin) serving the customer's page."""
    holder: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            if self.path != "/":
                self.send_error(404)
                return
            body = SHOP_PAGE.format(app=holder["app"]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = _serve(server)
    yield f"http://127.0.0.1:{server.server_port}", holder
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.fixture
def chat_app_server(sqlite_template, tmp_path, shop_server):
    """The app on a real port, allowing the shop's origin, with one available agent."""
    shop_origin, holder = shop_server
    path = tmp_path / "chat-browser.db"
    shutil.copy(sqlite_template, path)
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                      "TESTING": False, "CHAT_ALLOWED_ORIGINS": [shop_origin],
                      "CHAT_POLL_INTERVAL_SECONDS": 1})
    with app.app_context():
        from service.auth.services import create_user, issue_token
        from service.directory.models import Team
        from service.directory.services import add_member

        agent = create_user("agent@chat.test", "agent", "long-enough", "Alice Agent")
        add_member(db.session.scalar(db.select(Team).where(Team.is_default.is_(True))), agent)
        token = issue_token(agent, name="browser test")
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = _serve(server)
    base = f"http://127.0.0.1:{server.server_port}"
    holder["app"] = base
    yield base, app, token
    server.shutdown()
    thread.join()
    server.server_close()
    with app.app_context():
        db.engine.dispose()


def _staff_reply(base: str, token: str, ticket_id: int, body: str) -> None:
    request = urllib.request.Request(
        f"{base}/api/v1/tickets/{ticket_id}/messages", method="POST",
        data=json.dumps({"body": body}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201


def test_a_chat_started_in_the_widget_shows_the_agents_reply(chat_app_server, shop_server,
                                                             page):
    from playwright.sync_api import expect

    base, app, token = chat_app_server
    shop_origin, _ = shop_server
    requested: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto(shop_origin + "/")
    launcher = page.get_by_role("button", name="Talk to Shop")
    expect(launcher).to_be_visible()  # the shop's CSS cannot hide or restyle it
    assert launcher.evaluate("el => getComputedStyle(el).fontSize") == "14px"
    launcher.click()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_label("Your name")).to_be_focused()

    page.get_by_role("button", name="Start chat").click()  # empty: nothing is sent
    expect(page.get_by_role("alert")).to_contain_text("check")
    page.get_by_label("Your name").fill("Wang Xiaoming")
    page.get_by_label("Email").fill("xiaoming@example.cn")
    page.get_by_label("How can we help?").fill("<b>My parcel</b> is late.")
    page.get_by_role("button", name="Start chat").click()

    log = page.get_by_role("log")
    expect(log.locator(".msg.visitor")).to_have_text(["You<b>My parcel</b> is late."])
    expect(page.get_by_role("status")).to_contain_text("T-000001")

    with app.app_context():
        from tickets.channels.chat.models import ChatSession
        from tickets.channels.chat.services import visitor_present

        session = db.session.scalar(db.select(ChatSession))
        assert session.origin == shop_origin and session.page_url == shop_origin + "/"
        ticket_id = session.ticket_id
        assert visitor_present(ticket_id)

    _staff_reply(base, token, ticket_id, "We are on it: a new parcel ships today.")
    reply = log.locator(".msg.agent")
    expect(reply).to_have_text(["Alice AgentWe are on it: a new parcel ships today."],
                               timeout=10_000)

    # A reply while the panel is closed shows as unread on the launcher.
    page.keyboard.press("Escape")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    expect(launcher).to_be_focused()
    _staff_reply(base, token, ticket_id, "Tracking number: 42.")
    expect(launcher).to_have_accessible_name("Talk to Shop 1 new messages", timeout=10_000)
    page.keyboard.press("Enter")
    expect(launcher).to_have_accessible_name("Talk to Shop")
    expect(reply).to_have_count(2)

    # The visitor answers with Enter; then a reload continues the same chat.
    page.get_by_label("Your message").fill("Thank you!")
    page.get_by_label("Your message").press("Enter")
    expect(log.locator(".msg.visitor")).to_have_count(2)
    page.reload()
    page.get_by_role("button", name="Talk to Shop").click()
    expect(page.get_by_role("log").locator(".msg")).to_have_count(4, timeout=10_000)
    expect(page.get_by_role("button", name="Talk to Shop")).to_have_accessible_name(
        "Talk to Shop")  # the re-shown transcript is not "new"

    with app.app_context():
        from tickets.models import Channel, Message, Ticket

        ticket = db.session.get(Ticket, ticket_id)
        assert ticket.channel == Channel.CHAT
        bodies = [(m.author_kind.value, m.channel.value, m.body) for m in db.session.scalars(
            db.select(Message).where(Message.ticket_id == ticket_id).order_by(Message.id))]
        assert bodies == [("customer", "chat", "<b>My parcel</b> is late."),
                          ("staff", "api", "We are on it: a new parcel ships today."),
                          ("staff", "api", "Tracking number: 42."),
                          ("customer", "chat", "Thank you!")]

    assert not errors, errors
    origins = {f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" for url in requested}
    assert origins <= {base, shop_origin}, origins
    assert any(url.startswith(f"{base}/api/v1/chat/") for url in requested)
