"""The web form in a real browser (Debian's Chromium driven by Playwright)."""
from __future__ import annotations

import shutil
import threading

import pytest
from werkzeug.serving import make_server

from service import create_app
from service.extensions import db
from tests.conftest import BASE_CONFIG



@pytest.fixture
def live_server(sqlite_template, tmp_path):
    """The app on a real HTTP port, with one available agent in the default team."""
    path = tmp_path / "browser.db"
    shutil.copy(sqlite_template, path)
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                      "TESTING": False})
    with app.app_context():
        from service.auth.services import create_user
        from service.directory.models import Team
        from service.directory.services import add_member

        agent = create_user("agent@browser.test", "agent", "long-enough", "Agent Browser")
        add_member(db.session.scalar(db.select(Team).where(Team.is_default.is_(True))), agent)
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app
    server.shutdown()
    thread.join()


def test_customer_submits_in_chinese_and_sees_the_ticket(live_server, page):
    base, app = live_server
    page.goto(f"{base}/support/new")
    page.click("text=中文")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.click("button[type=submit]")  # empty form: errors, nothing created
    page.locator(".field-error").nth(2).wait_for()  # the answer page, fully loaded
    assert page.locator(".field-error").count() >= 3
    page.fill("#name", "王小明")
    page.fill("#email", "xiaoming@example.cn")
    page.fill("#subject", "系统无法访问")
    page.fill("#description", "从上午九点开始，所有员工都无法登录。")
    page.select_option("#urgency", "high")
    page.click("button[type=submit]")
    page.wait_for_url("**/portal/tickets/**")
    heading = page.locator("h1").inner_text()
    assert heading.startswith("T-000001") and "系统无法访问" in heading
    assert "Agent Browser" in page.content()
    with app.app_context():
        from tickets.models import Ticket

        ticket = db.session.scalar(db.select(Ticket))
        assert ticket.priority.value == "urgent"  # outage words in Chinese
        assert ticket.language == "zh"
