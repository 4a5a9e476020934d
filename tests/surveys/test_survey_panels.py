"""Survey panels on the ticket, contact and account pages."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from service.db_types import utcnow
from service.directory.models import Contact
from service.extensions import db
from surveys import invitations, panels
from surveys.health import services as health
from surveys.models import Invitation, InvitationStatus, InvitationTrigger, SurveyKind
from tests.surveys.helpers import close_ticket
from tests.surveys.test_recovery import answer, follow_ups, make_account, make_contact

SCRIPT = "<script>alert('x')</script> it broke again"


def test_the_ticket_page_shows_the_csat_answer_and_its_follow_up(client, console_login,
                                                                  make_user, make_team,
                                                                  make_ticket):
    admin = make_user("admin")
    team = make_team(lead=make_user("lead"))
    ticket = close_ticket(make_ticket(), now=utcnow() - timedelta(days=10))
    answer(db.session.get(Contact, ticket.contact_id), 1, ticket=ticket, team_id=team.id,
           comment=SCRIPT, attitude=2, efficiency=1, outcome=1, now=utcnow())
    [follow_up] = follow_ups()

    console_login(client, admin)
    html = client.get(f"/console/tickets/{ticket.id}").get_data(as_text=True)
    assert 'id="customer-satisfaction"' in html
    assert SCRIPT not in html and "&lt;script&gt;alert(" in html
    assert "Service attitude" in html and "Answered" in html
    assert f'href="/console/recovery/{follow_up.id}"' in html
    # The timeline tells the recovery events in words.
    assert "The customer answered CSAT 1: a service-recovery follow-up was opened." in html
    assert "so the ticket was reopened." not in html  # closed 10 days ago: past the grace


def test_the_ticket_panel_shows_a_skipped_invitation_and_hides_from_non_customer_staff(
        app, make_user, make_ticket):
    ticket = close_ticket(make_ticket())
    invitation = db.session.scalar(select(Invitation).where(Invitation.ticket_id == ticket.id))
    if invitation is None:  # the CSAT scheduler is someone else's; make what it would
        invitation = Invitation(kind=SurveyKind.CSAT, trigger=InvitationTrigger.TICKET_CLOSED,
                                contact_id=ticket.contact_id, ticket_id=ticket.id,
                                send_at=utcnow())
        db.session.add(invitation)
    invitation.status, invitation.skip_reason = InvitationStatus.SKIPPED, "fatigue"
    db.session.commit()

    data = panels.ticket_panel(make_user("agent"), ticket)
    assert data["state"] == "skipped" and data["skip_reason"] == "surveyed recently"
    assert data["answer"] is None and data["follow_up"] is None
    assert panels.ticket_panel(make_user("department"), ticket) is None


def test_an_agent_sees_the_follow_up_without_a_link(app, make_user, make_team, make_ticket):
    team = make_team(lead=make_user("lead"))
    ticket = close_ticket(make_ticket())
    answer(db.session.get(Contact, ticket.contact_id), 2, ticket=ticket, team_id=team.id)
    data = panels.ticket_panel(make_user("agent"), ticket)
    assert data["follow_up"]["visible"] is False
    assert data["answer"]["score"] == 2


def test_the_contact_page_shows_answers_last_nps_opt_out_and_follow_ups(client, console_login,
                                                                         make_user, make_team):
    lead = make_user("lead")
    team = make_team(lead=lead)
    contact = make_contact()
    answer(contact, 9, kind=SurveyKind.NPS, now=utcnow() - timedelta(days=2))
    answer(contact, 1, team_id=team.id, comment=SCRIPT, now=utcnow() - timedelta(days=1))
    invitations.opt_out(contact.id, "link")
    db.session.commit()

    console_login(client, lead)
    html = client.get(f"/console/customers/{contact.id}").get_data(as_text=True)
    assert 'id="contact-surveys"' in html
    assert "This customer unsubscribed from surveys." in html
    assert SCRIPT not in html and "&lt;script&gt;" in html
    assert f'href="/console/recovery/{follow_ups()[0].id}"' in html
    data = panels.contact_panel(lead, contact)
    assert data["last_nps"]["score"] == 9 and len(data["answers"]) == 2
    assert panels.contact_panel(make_user("department"), contact) is None
    assert panels.contact_panel(make_user("agent"), contact)["follow_ups"] is None


def test_the_account_page_shows_health_components_history_and_answers(client, console_login,
                                                                       make_user, make_team):
    lead = make_user("lead")
    account = make_account()
    contact = make_contact(account)
    now = utcnow()
    health.recompute(account.id, now - timedelta(days=2))  # no data: 70
    answer(contact, 2, team_id=make_team(lead=lead).id, comment=SCRIPT, now=now)
    health.recompute(account.id, now)  # CSAT 2 → 25 points off: 75
    db.session.commit()

    console_login(client, lead)
    html = client.get(f"/console/accounts/{account.id}").get_data(as_text=True)
    assert 'id="account-health"' in html
    assert '<strong id="health-score">75</strong>' in html and "Healthy" in html
    assert "CSAT average" in html and "History" in html
    assert SCRIPT not in html and "&lt;script&gt;" in html
    data = panels.account_panel(lead, account)
    assert [row["score"] for row in data["history"]][:2] == [75, 70]
    assert len(data["follow_ups"]) == 1
    assert panels.account_panel(make_user("department"), account) is None


def test_an_account_never_scored_says_so(client, console_login, make_user):
    account = make_account()
    console_login(client, make_user("sales"))
    html = client.get(f"/console/accounts/{account.id}").get_data(as_text=True)
    assert 'id="account-health"' in html and "Not computed yet." in html
