"""The issue's "done when", end to end through the real pages and services (SQLite, jobs
in-process): closing a ticket sends a CSAT survey; a 1-star answer opens a recovery
follow-up; a promoter answer and a ticket asking for more seats each create one evidenced
opportunity in the right rep's inbox; the dashboard shows NPS and CSAT."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from service.db_types import utcnow
from service.directory.models import Account, Contact
from service.extensions import db
from surveys import sending
from surveys.models import (EvidenceKind, Invitation, InvitationStatus, Opportunity,
                            OpportunityEvidence, OpportunityKind, OpportunitySource,
                            RecoveryFollowUp, SurveyKind)
from tests.surveys.helpers import close_ticket
from tests.surveys.test_sending import mail_of, sent_nps, token_in
from tests.surveys.test_survey_pages import answer


def _customer(name: str, owner) -> Contact:
    account = Account(name=name, sales_owner_id=owner.id)
    db.session.add(account)
    db.session.flush()
    contact = Contact(email=f"buyer@{name.lower()}.example", name=f"Buyer at {name}",
                      account_id=account.id, language="en")
    db.session.add(contact)
    db.session.commit()
    return contact


def test_the_feedback_loop_from_closing_to_the_sales_inbox(
        client, make_user, make_ticket, support_team, console_login):
    lead = make_user("lead", team=support_team)
    support_team.lead_id = lead.id
    make_user("agent", team=support_team)
    rep = make_user("sales", name="Rita Rep")
    make_user("sales", name="Other Rep")
    unhappy = _customer("Fabrikam", rep)
    fan = _customer("Tailspin", rep)

    # Closing a ticket schedules the CSAT; the sweep mails it with one-click scores.
    ticket = make_ticket(subject="VPN drops every hour", customer_email=unhappy.email)
    closed_at = utcnow() - timedelta(hours=2)
    close_ticket(ticket, now=closed_at)
    invitation = db.session.scalar(select(Invitation).where(Invitation.ticket_id == ticket.id))
    assert invitation.kind == SurveyKind.CSAT and invitation.status == InvitationStatus.SCHEDULED
    assert sending.sweep_due() == 1
    db.session.expire_all()  # the send job committed in the same session; re-read
    mail = mail_of(invitation.id)
    assert mail.to_address == unhappy.email
    assert len(re.findall(r"/s/[A-Za-z0-9_-]{43}\?score=[1-5]", mail.body_text)) == 5
    token = token_in(mail)

    # The 1-star click shows the score; confirming it opens a recovery for the team lead.
    assert client.get(f"/s/{token}?score=1").status_code == 200
    assert db.session.scalar(select(RecoveryFollowUp)) is None
    assert answer(client, token, step="score", score="1").status_code == 303
    follow_up = db.session.scalar(select(RecoveryFollowUp))
    assert follow_up.owner_id == lead.id and follow_up.ticket_id == ticket.id
    assert follow_up.due_at - follow_up.created_at == timedelta(hours=24)

    # A promoter's NPS answer: one referral opportunity for the account's sales owner.
    _nps, nps_token = sent_nps(fan.id, at=utcnow() - timedelta(minutes=5))
    assert answer(client, nps_token, step="score", score="10").status_code == 303
    referral = db.session.scalar(select(Opportunity).where(
        Opportunity.kind == OpportunityKind.REFERRAL))
    assert referral.source == OpportunitySource.NPS_PROMOTER
    assert referral.owner_id == rep.id and referral.account_id == fan.account_id

    # A ticket asking for more seats: one upsell opportunity, with the phrase as evidence.
    make_ticket(subject="Onboarding a new team",
                description="We need 20 more seats for the new team next month.",
                customer_email=fan.email)
    upsell = db.session.scalar(select(Opportunity).where(
        Opportunity.kind == OpportunityKind.UPSELL))
    assert upsell.owner_id == rep.id and upsell.source == OpportunitySource.TICKET_SIGNAL
    evidence = db.session.scalars(select(OpportunityEvidence).where(
        OpportunityEvidence.opportunity_id == upsell.id)).all()
    assert any(row.kind in (EvidenceKind.MESSAGE, EvidenceKind.TICKET)
               and "more seats" in (row.phrase or "").lower() for row in evidence)
    assert db.session.query(Opportunity).count() == 2

    # Both are in Rita's inbox, with their evidence on the page.
    console_login(client, rep)
    inbox = client.get("/console/opportunities/?tab=mine").get_data(as_text=True)
    assert "Tailspin" in inbox and inbox.count("/console/opportunities/") >= 2
    page = client.get(f"/console/opportunities/{upsell.id}").get_data(as_text=True)
    assert "more seats" in page

    # The lead's dashboard shows NPS and CSAT.
    lead_client = client.application.test_client()
    console_login(lead_client, lead)
    dashboard = lead_client.get("/console/dashboard?period=7d").get_data(as_text=True)
    assert 'id="nps-score"><strong>100.0</strong>' in dashboard
    assert "CSAT" in dashboard
