"""The customer portal in a real browser (Debian's Chromium + Playwright): a customer
follows the link in our mail to a resolved ticket and confirms the fix — or says it is
still a problem, on a phone-sized screen. Screenshots are kept in test-artifacts/."""
from __future__ import annotations

import shutil
import threading

import pytest
from werkzeug.serving import make_server

from service import create_app
from service.extensions import db
from tests.conftest import BASE_CONFIG


@pytest.fixture
def portal_server(sqlite_template, tmp_path):
    """The app on a real port with one ticket, resolved by its agent; yields the base URL,
    the app, the ticket id and the path of the portal link from the customer's mails."""
    path = tmp_path / "portal.db"
    shutil.copy(sqlite_template, path)
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                      "TESTING": False})
    with app.app_context():
        from service.auth.services import create_user
        from service.directory.models import Team
        from service.directory.services import add_member
        from tickets import intake
        from tickets.models import Channel
        from tickets.portal_links import portal_url
        from tickets.resolution import services as resolution_services

        agent = create_user("agent@browser.test", "agent", "long-enough", "Agent Browser")
        add_member(db.session.scalar(db.select(Team).where(Team.is_default.is_(True))), agent)
        db.session.commit()
        ticket = intake.submit(intake.IntakeRequest(
            subject="VPN drops every hour", description="Since Monday the VPN drops.",
            customer_email="casey@customer.test", customer_name="Casey Customer",
            channel=Channel.EMAIL)).ticket
        resolution_services.resolve(
            agent, ticket, summary="Renewed the VPN gateway certificate.",
            root_cause="The certificate had expired.", method="retested",
            result="Connected for an hour without a drop.")
        ticket_id = ticket.id
        link = portal_url(ticket.id, ticket.contact_id).removeprefix(app.config["BASE_URL"])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app, ticket_id, link
    server.shutdown()
    thread.join()


def _status(app, ticket_id: int) -> str:
    with app.app_context():
        from tickets.models import Ticket

        return db.session.get(Ticket, ticket_id).status.value


def test_customer_confirms_the_fix_from_the_portal(portal_server, page, artifacts):
    base, app, ticket_id, link = portal_server
    page.goto(base + link)  # the link in every mail we sent about the ticket
    assert "Renewed the VPN gateway certificate." in page.locator("#confirm").inner_text()
    page.screenshot(path=str(artifacts / "portal-confirm.png"), full_page=True)
    page.click("button[value=confirmed]")
    page.wait_for_url("**/portal/tickets/T-000001")
    page.wait_for_selector("text=Thank you for confirming")
    assert page.locator(".promise").inner_text() == "Closed"
    assert page.locator("#confirm").count() == 0
    assert _status(app, ticket_id) == "closed"
    with app.app_context():
        from tickets.resolution.models import Confirmation

        evidence = db.session.scalar(db.select(Confirmation))
        assert evidence.channel.value == "portal" and evidence.ip_address == "127.0.0.1"
        assert "Chrome" in evidence.user_agent


def test_customer_says_it_is_still_a_problem_on_a_phone(portal_server, page, artifacts):
    base, app, ticket_id, link = portal_server
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(base + link)
    page.click("button[value=rejected]")  # no comment yet: asked for one, nothing recorded
    page.wait_for_selector(".field-error")
    assert _status(app, ticket_id) == "resolved"
    page.fill("#comment", "It dropped again at 10:15.")
    page.click("button[value=rejected]")
    page.wait_for_selector("text=We reopened the request")
    assert "It dropped again at 10:15." in page.locator("#conversation").inner_text()
    assert _status(app, ticket_id) == "reopened"
    # Nothing overflows sideways on a narrow screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(artifacts / "portal-reopened-mobile.png"), full_page=True)
