"""The CSAT's "done when" over real parts: PostgreSQL, Redis, `rq worker`, SMTP (aiosmtpd).

Closing a ticket schedules the survey; the ticker's sweep job queues its mail; a real
worker sends it to the SMTP server; the customer follows a one-click link from the
received mail, confirms the score, then adds the rest on the page.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from service import jobs
from service.db_types import utcnow
from service.extensions import db
from surveys import jobs as survey_jobs
from surveys.models import Invitation, InvitationStatus, SurveyResponse
from tests.surveys.helpers import close_ticket

pytestmark = pytest.mark.integration
CUSTOMER = "lin.wei@customer.test"


def _csrf(html: bytes) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html.decode()).group(1)


def test_a_closed_ticket_gets_a_csat_mail_and_a_one_click_answer(rq_stack, make_ticket):
    ticket = make_ticket(subject="Invoice PDF is blank", customer_email=CUSTOMER,
                         language="en")
    close_ticket(ticket, now=utcnow() - timedelta(hours=2))
    invitation = db.session.scalar(select(Invitation))
    assert invitation.status == InvitationStatus.SCHEDULED

    jobs.enqueue(survey_jobs.sweep_invitations)  # what the ticker does every interval
    db.session.commit()
    rq_stack.run_burst_worker()

    [received] = [mail for mail in rq_stack.smtp.to(CUSTOMER)
                  if "How did we do?" in mail.subject]
    assert ticket.number in received.subject
    assert received.message["Auto-Submitted"] == "auto-generated"
    text = received.body
    assert "Invoice PDF is blank" in text
    links = re.findall(r"http://support\.test(/s/[A-Za-z0-9_-]{43})\?score=(\d)", text)
    assert [score for _path, score in links] == ["1", "2", "3", "4", "5"]
    assert len({path for path, _score in links}) == 1
    assert received.message.get_body(("html",)) is not None
    db.session.expire_all()
    assert db.session.get(Invitation, invitation.id).status == InvitationStatus.SENT

    # The customer clicks "1 — Very dissatisfied": a page, nothing recorded yet.
    path = links[0][0]
    client = rq_stack.app.test_client()
    page = client.get(f"{path}?score=1")
    assert page.status_code == 200 and b"Confirm my score" in page.data
    assert db.session.scalar(select(SurveyResponse)) is None
    confirmed = client.post(path, data={"csrf_token": _csrf(page.data), "step": "score",
                                        "score": "1"})
    assert confirmed.status_code == 303
    rest = client.get(path)
    done = client.post(path, data={"csrf_token": _csrf(rest.data), "step": "details",
                                   "score": "1", "efficiency": "1",
                                   "comment": "Still blank after the fix."})
    assert done.status_code == 200 and b"Thank you for your feedback" in done.data
    db.session.expire_all()
    [response] = db.session.scalars(select(SurveyResponse)).all()
    assert (response.score, response.efficiency, response.comment) == (
        1, 1, "Still blank after the fix.")
    answered = db.session.get(Invitation, invitation.id)
    assert answered.status == InvitationStatus.ANSWERED
    assert answered.sent_at <= answered.opened_at <= answered.answered_at
