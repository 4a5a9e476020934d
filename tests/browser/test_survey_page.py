"""The CSAT page in a real browser (Debian's Chromium + Playwright) at a phone's size with
JavaScript off: the customer follows a one-click link from the mail, confirms the score,
rates the dimensions and sees the thank-you page. Screenshots go to test-artifacts/."""
from __future__ import annotations

import re
import shutil
import threading
from datetime import timedelta

import pytest
from werkzeug.serving import make_server

from service import create_app
from service.extensions import db
from tests.conftest import BASE_CONFIG

PHONE = {"width": 390, "height": 844}


def _mailed_nps() -> str:
    """An NPS survey mailed to another customer; the path of its link."""
    from service.notify.models import OutboundMail
    from surveys.invitations import create_invitation
    from surveys.models import InvitationTrigger, SurveyKind
    from surveys.sending import send_invitation
    from tickets import intake
    from tickets.models import Channel

    other = intake.submit(intake.IntakeRequest(
        subject="Question", description="How do I export?", channel=Channel.EMAIL,
        customer_email="nps@customer.test", language="en")).ticket
    invitation = create_invitation(SurveyKind.NPS, InvitationTrigger.NPS_SCHEDULE,
                                   other.contact_id, send_at=other.created_at)
    db.session.commit()
    send_invitation(invitation.id)
    body = db.session.scalar(db.select(OutboundMail.body_text).where(
        OutboundMail.dedupe_key == f"survey:{invitation.id}"))
    return re.search(r"http://support\.test(/s/[A-Za-z0-9_-]{43})", body).group(1)


@pytest.fixture
def survey_server(sqlite_template, tmp_path):
    """The app on a real port with one closed ticket's CSAT mailed; yields the base URL,
    the app and the survey's path (from the mail)."""
    path = tmp_path / "survey.db"
    shutil.copy(sqlite_template, path)
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                      "TESTING": False})
    with app.app_context():
        from service.db_types import utcnow
        from service.notify.models import OutboundMail
        from surveys.models import Invitation
        from surveys.sending import send_invitation
        from tests.surveys.helpers import close_ticket
        from tickets import intake
        from tickets.models import Channel

        ticket = intake.submit(intake.IntakeRequest(
            subject="VPN drops every hour", description="Since Monday the VPN drops.",
            customer_email="casey@customer.test", customer_name="Casey Customer",
            channel=Channel.EMAIL, language="en")).ticket
        close_ticket(ticket, now=utcnow() - timedelta(hours=2))
        invitation = db.session.scalar(db.select(Invitation))
        send_invitation(invitation.id)
        body = db.session.scalar(db.select(OutboundMail.body_text).where(
            OutboundMail.dedupe_key == f"survey:{invitation.id}"))
        survey_path = re.search(r"http://support\.test(/s/[A-Za-z0-9_-]{43})", body).group(1)
        nps_path = _mailed_nps()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app, survey_path, nps_path
    server.shutdown()
    thread.join()


def test_customer_answers_the_csat_on_a_phone_without_javascript(survey_server, page,
                                                                  artifacts):
    base, app, survey_path, _nps_path = survey_server
    context = page.context.browser.new_context(viewport=PHONE, is_mobile=True,
                                               java_script_enabled=False)
    phone = context.new_page()
    phone.goto(f"{base}{survey_path}?score=4")  # "4 — Satisfied" in the mail
    assert phone.locator("input[name=score][value='4']").is_checked()
    assert phone.locator("button[type=submit]").count() == 1
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    phone.screenshot(path=str(artifacts / "survey-one-click.png"), full_page=True)

    phone.click("text=Confirm my score")
    phone.wait_for_selector("text=Service attitude")
    assert phone.locator("input[name=score][value='4']").is_checked()
    phone.locator("label.scale-option", has=phone.locator("input[name=attitude][value='5']")
                  ).click()
    phone.locator("label.scale-option", has=phone.locator("input[name=outcome][value='3']")
                  ).click()
    phone.fill("textarea[name=comment]", "Fixed fast, but I had to call twice.")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    phone.screenshot(path=str(artifacts / "survey-details.png"), full_page=True)
    phone.click("text=Send my answer")
    phone.wait_for_selector("text=Thank you for your feedback!")
    phone.screenshot(path=str(artifacts / "survey-thanks.png"), full_page=True)
    context.close()

    with app.app_context():
        from surveys.models import SurveyResponse

        [response] = db.session.scalars(db.select(SurveyResponse)).all()
        assert (response.score, response.attitude, response.efficiency, response.outcome,
                response.comment) == (4, 5, None, 3, "Fixed fast, but I had to call twice.")
        assert "Chrome" in response.user_agent and response.ip == "127.0.0.1"


def test_customer_answers_the_nps_on_a_phone(survey_server, page, artifacts):
    base, app, _csat_path, nps_path = survey_server
    context = page.context.browser.new_context(viewport=PHONE, is_mobile=True,
                                               java_script_enabled=False)
    phone = context.new_page()
    phone.goto(f"{base}{nps_path}?score=9")
    assert phone.locator("input[name=score][value='9']").is_checked()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    # Every score is a comfortable tap target on a phone.
    box = phone.locator("label.scale-option").first.bounding_box()
    assert box["width"] >= 40 and box["height"] >= 44
    phone.screenshot(path=str(artifacts / "survey-nps.png"), full_page=True)
    phone.click("text=Confirm my score")
    phone.wait_for_selector("text=What is the main reason for your score?")
    phone.fill("textarea[name=comment]", "Exports save me hours.")
    phone.click("text=Send my answer")
    phone.wait_for_selector("text=Thank you for your feedback!")
    context.close()
    with app.app_context():
        from surveys.models import SurveyResponse

        [response] = db.session.scalars(db.select(SurveyResponse)).all()
        assert (response.score, response.comment) == (9, "Exports save me hours.")
