"""The reports pages in a real browser (Debian's Chromium + Playwright): a lead opens the
reports, asks "Which team breaches most?", sees SLA compliance by team, clicks the number
of tickets breached and lands on the ticket behind it; then groups intake by channel with
the GET form (no JavaScript needed). Screenshots (laptop and phone width) are kept in
test-artifacts/.
"""
from __future__ import annotations

import shutil
import threading

import pytest
from werkzeug.serving import make_server

from datetime import timedelta

from service import create_app
from service.db_types import utcnow
from service.extensions import db
from tests.conftest import BASE_CONFIG

PASSWORD = "long-enough-password"


@pytest.fixture
def reports_server(sqlite_template, tmp_path):
    """The app on a real port: a lead of Billing and one Billing ticket created today whose
    first response fell due an hour ago, unanswered (breached)."""
    path = tmp_path / "reports.db"
    shutil.copy(sqlite_template, path)
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                      "TESTING": False})
    with app.app_context():
        from service.auth.services import create_user
        from service.directory.models import Team
        from service.directory.services import add_member
        from tickets import intake
        from tickets.models import Channel

        lead = create_user("lead@reports.test", "lead", PASSWORD, "Lena Lead")
        team = Team(name="Billing", lead_id=lead.id)
        db.session.add(team)
        db.session.flush()
        add_member(team, lead)
        db.session.commit()
        ticket = intake.submit(intake.IntakeRequest(
            subject="Invoice charged twice", description="We were billed twice in March.",
            customer_email="casey@customer.test", customer_name="Casey Customer",
            channel=Channel.EMAIL)).ticket
        now = utcnow()
        ticket.team_id, ticket.created_at = team.id, now - timedelta(hours=3)
        ticket.first_response_due_at = ticket.first_response_breached_at = \
            now - timedelta(hours=1)
        ticket.first_responded_at = ticket.sla_paused_at = None
        db.session.commit()
        ticket_id = ticket.id
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", ticket_id
    server.shutdown()
    thread.join()


def test_a_lead_goes_from_the_reports_to_the_tickets_behind_a_number(
        reports_server, page, artifacts):
    base, ticket_id = reports_server
    page.goto(f"{base}/console/login")
    page.fill("#email", "lead@reports.test")
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit]:has-text('Sign in')")
    page.wait_for_url("**/console/tickets**")

    page.goto(f"{base}/console/reports")
    assert page.locator("#report-intake .headline-value").inner_text() == "1"
    page.click("text=Which team breaches most?")
    page.wait_for_url("**/console/reports/sla-compliance?**group_by=team**")
    row = page.locator("#report-table tbody tr", has=page.locator("th", has_text="Billing"))
    assert row.count() == 1
    page.screenshot(path=str(artifacts / "reports-sla-by-team.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280  # wide tables scroll
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # readable on a phone
    page.screenshot(path=str(artifacts / "reports-sla-by-team-phone.png"), full_page=True)

    row.locator("a[href*='measure=breached_tickets']").click()
    page.wait_for_url("**/console/reports/sla-compliance/tickets?**")
    assert "Tickets breached — Team: Billing" in page.locator("h1").inner_text()
    assert page.locator(f"#drill-table tr[data-id='{ticket_id}']").count() == 1
    assert "Invoice charged twice" in page.locator("#drill-table").inner_text()
    page.screenshot(path=str(artifacts / "reports-drill-down-phone.png"), full_page=True)

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base}/console/reports/intake")
    page.select_option("#report-group", "channel")
    page.click("form.report-filters button[type=submit]")
    page.wait_for_url("**/console/reports/intake?**group_by=channel**")
    assert page.locator("#report-table tbody th", has_text="Email").count() == 1
