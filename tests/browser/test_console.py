"""A day's work in the staff console, in a real browser (Debian's Chromium + Playwright):
sign in, open a ticket from the queue, reply to the customer, reassign, switch language.
Screenshots of the queue and the ticket page are kept in test-artifacts/."""
from __future__ import annotations

import shutil
import threading

import pytest
from werkzeug.serving import make_server

from service import create_app
from service.extensions import db
from tests.conftest import BASE_CONFIG

PASSWORD = "long-enough-password"


@pytest.fixture
def console_server(sqlite_template, tmp_path):
    """The app on a real port: a lead and two agents in the default team, one ticket."""
    path = tmp_path / "console.db"
    shutil.copy(sqlite_template, path)
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                      "TESTING": False})
    with app.app_context():
        from service.auth.services import create_user
        from service.directory.models import Team
        from service.directory.services import add_member
        from tickets import intake
        from tickets.models import Channel, Priority

        team = db.session.scalar(db.select(Team).where(Team.is_default.is_(True)))
        lead = create_user("lead@browser.test", "lead", PASSWORD, "Lena Lead")
        first = create_user("ana@browser.test", "agent", PASSWORD, "Ana Agent")
        second = create_user("bo@browser.test", "agent", PASSWORD, "Bo Agent")
        for user in (lead, first, second):
            add_member(team, user)
        team.lead_id = lead.id
        lead.max_open_tickets = 0  # the ticket goes to an agent, not the lead
        second.max_open_tickets = 0
        db.session.commit()
        ticket = intake.submit(intake.IntakeRequest(
            subject="打印机无法连接 / printer offline",
            description="Since this morning the printer in room 3 is offline.",
            customer_email="casey@customer.test", customer_name="Casey Customer",
            channel=Channel.EMAIL, urgency=Priority.HIGH)).ticket
        assert ticket.assignee_id == first.id
        second.max_open_tickets = 20
        db.session.commit()
        ticket_id = ticket.id
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app, ticket_id
    server.shutdown()
    thread.join()


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/console/")
    page.wait_for_url("**/console/login**")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def test_a_lead_works_a_ticket_from_the_queue_to_a_reply_and_reassigns_it(
        console_server, page, artifacts):
    base, app, ticket_id = console_server
    page.goto(f"{base}/console/login")
    page.fill("#email", "lead@browser.test")
    page.fill("#password", "wrong password")
    page.click("button[type=submit]")
    assert page.locator(".form-errors").count() == 1  # refused, still on the sign-in page

    sign_in(page, base, "lead@browser.test")
    page.wait_for_url("**/console/tickets?queue=mine")
    page.click("nav.console-nav >> text=My team")
    row = page.locator(f"tr[data-id='{ticket_id}']")
    assert "Casey Customer" in row.inner_text()
    assert "Ana Agent" in row.inner_text()
    page.screenshot(path=str(artifacts / "console-queue.png"), full_page=True)

    row.locator("a.subject-link").click()
    page.wait_for_url(f"**/console/tickets/{ticket_id}")
    assert "打印机无法连接" in page.locator("h1").inner_text()

    page.check("#reply-public")
    page.fill("#reply-body", "Hello Casey, we are restarting the print server now.")
    page.click("#reply-form button[type=submit]")
    page.wait_for_url(f"**/console/tickets/{ticket_id}**")
    assert "we are restarting the print server now" in page.locator(".timeline").inner_text()

    page.select_option("#assign-agent", label=page.locator(
        "#assign-agent option", has_text="Bo Agent").first.inner_text())
    page.fill("#assign-reason", "Ana is on site today")
    page.click("#assign-form button[type=submit]")
    page.wait_for_url(f"**/console/tickets/{ticket_id}**")
    assert "Bo Agent" in page.locator("#assign").inner_text()
    page.screenshot(path=str(artifacts / "console-ticket.png"), full_page=True)

    with app.app_context():
        from service.notify.models import OutboundMail
        from tickets.models import Ticket

        ticket = db.session.get(Ticket, ticket_id)
        assert ticket.assignee.name == "Bo Agent"
        mails = db.session.scalars(db.select(OutboundMail).where(
            OutboundMail.to_address == "casey@customer.test")).all()
        assert any("restarting the print server" in mail.body_text for mail in mails)


def test_the_language_switch_turns_the_console_chinese_and_remembers_it(console_server, page,
                                                                         artifacts):
    base, app, _ticket_id = console_server
    sign_in(page, base, "ana@browser.test")
    page.wait_for_url("**/console/tickets?queue=mine")
    assert page.locator("html").get_attribute("lang") == "en"
    page.select_option("#lang-select", "zh_CN")
    page.wait_for_load_state("load")
    page.wait_for_function("document.documentElement.lang === 'zh-CN'")
    assert "我的工单" in page.locator("nav.console-nav").inner_text()
    page.screenshot(path=str(artifacts / "console-queue-zh.png"), full_page=True)
    page.goto(f"{base}/console/profile")
    assert page.locator("html").get_attribute("lang") == "zh-CN"  # kept in the profile
    with app.app_context():
        from service.auth.models import User

        user = db.session.scalar(db.select(User).where(User.email == "ana@browser.test"))
        assert user.locale == "zh_CN"
