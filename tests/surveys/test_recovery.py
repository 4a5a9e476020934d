"""Service recovery: low answers open one follow-up, closing it re-surveys, overdue sweep,
and a detractor's comment that reopens the ticket.

Answers are made here as rows plus the `survey_answered` event (as surveys.answering sends
it), so these tests do not depend on the survey pages.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from sqlalchemy import func, select

from service import events
from service.directory.models import Account, Contact, Tier
from service.errors import Conflict, InvalidInput, NotFound
from service.extensions import db
from service.notify.models import Notification, OutboundMail
from surveys.models import (Invitation, InvitationStatus, InvitationTrigger, RecoveryFollowUp,
                            RecoveryOutcome, RecoveryStatus, SurveyKind, SurveyResponse)
from surveys.recovery import services
from surveys.recovery.sweep import sweep_overdue
from tests.surveys.helpers import close_ticket
from tickets.models import Status, Ticket, TicketEvent

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_numbers = count(1)


# ---- helpers shared by the recovery test files ----

def make_contact(account: Account | None = None, email: str | None = None) -> Contact:
    """A committed customer contact (optionally in an account)."""
    contact = Contact(email=email or f"person{next(_numbers)}@customer.test", name="Pat Customer",
                      account_id=account.id if account else None)
    db.session.add(contact)
    db.session.commit()
    return contact


def make_account(tier: Tier = Tier.STANDARD, sales_owner=None) -> Account:
    """A committed account."""
    account = Account(name=f"Account {next(_numbers)}", tier=tier,
                      sales_owner_id=sales_owner.id if sales_owner else None)
    db.session.add(account)
    db.session.commit()
    return account


def answer(contact: Contact, score: int, *, kind: SurveyKind = SurveyKind.CSAT,
           ticket: Ticket | None = None, team_id: int | None = None,
           comment: str | None = None, now: datetime = NOW, recovery_id: int | None = None,
           **dimensions) -> SurveyResponse:
    """An answered invitation and its response, announced as surveys.answering does."""
    if recovery_id is not None:
        trigger = InvitationTrigger.RECOVERY
    elif ticket is not None:
        trigger = InvitationTrigger.TICKET_CLOSED
    else:
        trigger = InvitationTrigger.NPS_SCHEDULE
    account_id = contact.account_id
    # Closing the ticket may have scheduled its CSAT invitation already (one per ticket).
    invitation = db.session.scalar(select(Invitation).where(
        Invitation.ticket_id == ticket.id, Invitation.trigger == trigger)) if ticket else None
    if invitation is not None:
        invitation.status, invitation.answered_at = InvitationStatus.ANSWERED, now
        invitation.account_id, invitation.team_id = account_id, team_id or invitation.team_id
    invitation = invitation or Invitation(
        kind=kind, trigger=trigger, status=InvitationStatus.ANSWERED, contact_id=contact.id,
        account_id=account_id, ticket_id=ticket.id if ticket else None,
        team_id=team_id if team_id is not None else (ticket.team_id if ticket else None),
        agent_id=ticket.assignee_id if ticket else None, recovery_id=recovery_id,
        send_at=now, sent_at=now, opened_at=now, answered_at=now, created_at=now)
    db.session.add(invitation)
    db.session.flush()
    response = SurveyResponse(invitation_id=invitation.id, kind=kind, contact_id=contact.id,
                              account_id=account_id, ticket_id=invitation.ticket_id,
                              team_id=invitation.team_id, agent_id=invitation.agent_id,
                              score=score, comment=comment, created_at=now, updated_at=now,
                              edit_until=now + timedelta(hours=24), **dimensions)
    db.session.add(response)
    db.session.flush()
    events.survey_answered.send(response.id, first=True, kind=kind.value, score=score,
                                previous_score=None)
    db.session.commit()
    return response


def edit_answer(response: SurveyResponse, score: int, *, comment: str | None = None,
                now: datetime = NOW) -> SurveyResponse:
    """Change an answer within its edit window, announced as an edit."""
    previous = response.score
    response.score, response.updated_at = score, now
    if comment is not None:
        response.comment = comment
    db.session.flush()
    events.survey_answered.send(response.id, first=False, kind=response.kind.value,
                                score=score, previous_score=previous)
    db.session.commit()
    return response


def follow_ups() -> list[RecoveryFollowUp]:
    return list(db.session.scalars(select(RecoveryFollowUp).order_by(RecoveryFollowUp.id)))


def notices_for(user, kind: str) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id,
                                                              Notification.kind == kind)))


# ---- opening ----

def test_one_star_csat_opens_one_follow_up_for_the_team_lead_due_in_24_hours(
        app, make_user, make_team):
    lead = make_user("lead")
    team = make_team(lead=lead)
    contact = make_contact()
    response = answer(contact, 1, team_id=team.id, comment="Slow and rude.")

    [follow_up] = follow_ups()
    assert follow_up.response_id == response.id and follow_up.kind == SurveyKind.CSAT
    assert follow_up.owner_id == lead.id and follow_up.account_manager_id is None
    assert follow_up.status == RecoveryStatus.OPEN and follow_up.score == 1
    assert follow_up.due_at == NOW + timedelta(hours=24)
    [notice] = notices_for(lead, "recovery_opened")
    assert notice.subject_ref == f"recovery:{follow_up.id}"
    mail = db.session.scalar(select(OutboundMail).where(OutboundMail.to_address == lead.email))
    assert mail is not None and "Slow and rude." in mail.body_text
    assert f"/console/recovery/{follow_up.id}" in mail.body_text


def test_vip_account_adds_its_account_manager_and_tells_both(app, make_user, make_team):
    lead, sales = make_user("lead"), make_user("sales")
    team = make_team(lead=lead)
    contact = make_contact(make_account(Tier.VIP, sales))
    answer(contact, 2, team_id=team.id)

    [follow_up] = follow_ups()
    assert (follow_up.owner_id, follow_up.account_manager_id) == (lead.id, sales.id)
    assert len(notices_for(lead, "recovery_opened")) == 1
    assert len(notices_for(sales, "recovery_opened")) == 1


def test_standard_account_has_no_account_manager(app, make_user, make_team):
    sales = make_user("sales")
    contact = make_contact(make_account(Tier.STANDARD, sales))
    answer(contact, 1, team_id=make_team(lead=make_user("lead")).id)
    assert follow_ups()[0].account_manager_id is None


def test_csat_3_opens_nothing(app, make_user, make_team):
    answer(make_contact(), 3, team_id=make_team(lead=make_user("lead")).id)
    assert follow_ups() == []


@pytest.mark.parametrize(("score", "opened"), [(0, True), (6, True), (7, False), (10, False)])
def test_nps_detractors_open_one_and_passives_none(app, make_user, score, opened):
    make_user("admin")
    answer(make_contact(), score, kind=SurveyKind.NPS)
    assert len(follow_ups()) == (1 if opened else 0)


def test_an_edit_from_1_to_2_keeps_the_one_follow_up(app, make_user, make_team):
    lead = make_user("lead")
    response = answer(make_contact(), 1, team_id=make_team(lead=lead).id)
    edit_answer(response, 2, now=NOW + timedelta(minutes=5))

    [follow_up] = follow_ups()
    assert follow_up.score == 2
    assert len(notices_for(lead, "recovery_opened")) == 1


def test_an_edit_down_to_a_low_score_opens_it(app, make_user, make_team):
    team = make_team(lead=make_user("lead"))
    response = answer(make_contact(), 4, team_id=team.id)
    assert follow_ups() == []
    edit_answer(response, 1, now=NOW + timedelta(minutes=5))
    assert len(follow_ups()) == 1
    assert follow_ups()[0].due_at == NOW + timedelta(minutes=5, hours=24)


def test_owner_falls_back_to_the_default_team_lead_then_an_admin(app, make_user,
                                                                 support_team):
    admin = make_user("admin")
    answer(make_contact(), 1)  # no team, the default team has no lead
    assert follow_ups()[0].owner_id == admin.id
    lead = make_user("lead")
    support_team.lead_id = lead.id
    db.session.commit()
    answer(make_contact(), 1)
    assert follow_ups()[1].owner_id == lead.id


def test_an_inactive_lead_is_skipped(app, make_user, make_team, support_team):
    lead = make_user("lead", is_active=False)
    fallback = make_user("lead")
    support_team.lead_id = fallback.id
    db.session.commit()
    answer(make_contact(), 1, team_id=make_team(lead=lead).id)
    assert follow_ups()[0].owner_id == fallback.id


def test_settings_change_the_thresholds_and_deadline(app, make_user):
    from surveys import settings as survey_settings

    make_user("admin")
    settings = survey_settings.current()
    settings.recovery_csat_max, settings.recovery_hours = 3, 8
    db.session.commit()
    answer(make_contact(), 3)
    assert follow_ups()[0].due_at == NOW + timedelta(hours=8)


def test_the_ticket_timeline_tells_the_follow_up(app, make_user, make_team, make_ticket):
    team = make_team(lead=make_user("lead"))
    ticket = close_ticket(make_ticket(), now=NOW - timedelta(hours=2))
    contact = db.session.get(Contact, ticket.contact_id)
    answer(contact, 1, ticket=ticket, team_id=team.id)
    kinds = list(db.session.scalars(select(TicketEvent.kind)
                                    .where(TicketEvent.ticket_id == ticket.id)))
    assert "recovery_opened" in kinds


# ---- closing, re-survey and won back ----

def _opened(make_user, make_team, **answer_fields) -> tuple[RecoveryFollowUp, object]:
    lead = make_user("lead")
    team = make_team(lead=lead)
    answer(answer_fields.pop("contact", None) or make_contact(), answer_fields.pop("score", 1),
           team_id=team.id, **answer_fields)
    return follow_ups()[-1], lead


def test_closing_records_the_outcome_and_schedules_a_re_survey(app, make_user, make_team):
    follow_up, lead = _opened(make_user, make_team)
    closed_events = []

    def heard(sender, **_data):
        closed_events.append(sender)

    events.recovery_closed.connect(heard)
    try:
        services.close(lead, follow_up, RecoveryOutcome.RESOLVED, "  Called; refunded.  ",
                       now=NOW + timedelta(hours=3))
    finally:
        events.recovery_closed.disconnect(heard)

    follow_up = db.session.get(RecoveryFollowUp, follow_up.id)
    assert follow_up.status == RecoveryStatus.DONE
    assert follow_up.outcome == RecoveryOutcome.RESOLVED and follow_up.note == "Called; refunded."
    assert follow_up.closed_by_id == lead.id and follow_up.closed_at == NOW + timedelta(hours=3)
    assert closed_events == [follow_up.id]
    resurvey = db.session.get(Invitation, follow_up.resurvey_invitation_id)
    assert resurvey.trigger == InvitationTrigger.RECOVERY and resurvey.recovery_id == follow_up.id
    assert resurvey.kind == SurveyKind.CSAT and resurvey.contact_id == follow_up.contact_id
    assert resurvey.team_id == follow_up.team_id
    assert resurvey.status == InvitationStatus.SCHEDULED  # the fatigue window does not apply
    assert resurvey.send_at == NOW + timedelta(hours=3, days=3)


@pytest.mark.parametrize(("outcome", "note", "fields"), [
    (None, "Called.", {"outcome"}), ("resolved", "   ", {"note"}),
    ("nonsense", "", {"outcome", "note"}), ("resolved", "x" * 4001, {"note"})])
def test_closing_needs_an_outcome_and_a_note(app, make_user, make_team, outcome, note, fields):
    follow_up, lead = _opened(make_user, make_team)
    with pytest.raises(InvalidInput) as refused:
        services.close(lead, follow_up, outcome, note)
    assert set(refused.value.errors) == fields


def test_closing_twice_is_a_conflict(app, make_user, make_team):
    follow_up, lead = _opened(make_user, make_team)
    services.close(lead, follow_up, RecoveryOutcome.PARTIALLY, "Called.")
    with pytest.raises(Conflict):
        services.close(lead, follow_up, RecoveryOutcome.PARTIALLY, "Again.")


def test_someone_elses_follow_up_is_not_found(app, make_user, make_team):
    follow_up, _lead = _opened(make_user, make_team)
    with pytest.raises(NotFound):
        services.close(make_user("sales"), follow_up, RecoveryOutcome.RESOLVED, "Called.")
    with pytest.raises(NotFound):  # a lead of another team
        services.close(make_user("lead"), follow_up, RecoveryOutcome.RESOLVED, "Called.")


def test_a_re_survey_answer_sets_won_back_and_opens_nothing(app, make_user, make_team):
    contact = make_contact()
    follow_up, lead = _opened(make_user, make_team, contact=contact)
    services.close(lead, follow_up, RecoveryOutcome.RESOLVED, "Called.")
    response = answer(contact, 2, recovery_id=follow_up.id, now=NOW + timedelta(days=3))
    assert db.session.get(RecoveryFollowUp, follow_up.id).won_back is False
    assert len(follow_ups()) == 1  # a low re-survey answer never opens another
    edit_answer(response, 5, now=NOW + timedelta(days=3, minutes=2))
    assert db.session.get(RecoveryFollowUp, follow_up.id).won_back is True


def test_an_nps_re_survey_is_won_back_from_7(app, make_user):
    make_user("admin")
    contact = make_contact()
    answer(contact, 3, kind=SurveyKind.NPS)
    [follow_up] = follow_ups()
    services.close(make_user("admin"), follow_up, RecoveryOutcome.RESOLVED, "Called.")
    assert db.session.get(Invitation, follow_up.resurvey_invitation_id).kind == SurveyKind.NPS
    answer(contact, 7, kind=SurveyKind.NPS, recovery_id=follow_up.id)
    assert db.session.get(RecoveryFollowUp, follow_up.id).won_back is True


# ---- overdue ----

def test_the_overdue_sweep_tells_the_owner_and_their_lead_once(app, make_user, make_team,
                                                                support_team):
    owner = make_user("lead")
    boss = make_user("lead")
    support_team.lead_id = boss.id
    db.session.commit()
    # The owner leads the answer's team; above them is the default team's lead.
    team = make_team(lead=owner)
    answer(make_contact(), 1, team_id=team.id)
    [follow_up] = follow_ups()

    assert sweep_overdue(now=NOW + timedelta(hours=23)) == 0
    assert sweep_overdue(now=NOW + timedelta(hours=25)) == 1
    assert sweep_overdue(now=NOW + timedelta(hours=30)) == 0
    assert db.session.get(RecoveryFollowUp, follow_up.id).overdue_notified_at == \
        NOW + timedelta(hours=25)
    assert len(notices_for(owner, "recovery_overdue")) == 1
    assert len(notices_for(boss, "recovery_overdue")) == 1
    overdue_mails = db.session.scalar(select(func.count()).select_from(OutboundMail)
                                      .where(OutboundMail.dedupe_key.like("recovery_overdue:%")))
    assert overdue_mails == 2


def test_an_overdue_lead_without_a_lead_above_goes_to_the_admins(app, make_user, make_team):
    admin = make_user("admin")
    owner = make_user("lead")
    answer(make_contact(), 1, team_id=make_team(lead=owner).id)
    sweep_overdue(now=NOW + timedelta(days=2))
    assert len(notices_for(admin, "recovery_overdue")) == 1


def test_a_done_follow_up_is_never_overdue(app, make_user, make_team):
    follow_up, lead = _opened(make_user, make_team)
    services.close(lead, follow_up, RecoveryOutcome.UNREACHABLE, "No answer, twice.")
    assert sweep_overdue(now=NOW + timedelta(days=5)) == 0


def test_the_sweep_job_runs(app, make_user, make_team):
    from surveys.recovery.jobs import sweep_recoveries

    _opened(make_user, make_team)
    sweep_recoveries()  # real time: long past the frozen deadline
    assert follow_ups()[0].overdue_notified_at is not None


# ---- a detractor's comment reopens the ticket ----

def _closed_ticket(make_ticket, closed_at: datetime) -> Ticket:
    return close_ticket(make_ticket(), now=closed_at)


@pytest.mark.parametrize("comment", ["Honestly, it is still not fixed.", "问题还是没有解决"])
def test_a_still_broken_comment_reopens_a_recently_closed_ticket(app, make_user, make_team,
                                                                  make_ticket, comment):
    team = make_team(lead=make_user("lead"))
    ticket = _closed_ticket(make_ticket, NOW - timedelta(days=1))
    contact = db.session.get(Contact, ticket.contact_id)
    answer(contact, 1, ticket=ticket, team_id=team.id, comment=comment)

    ticket = db.session.get(Ticket, ticket.id)
    assert ticket.status == Status.REOPENED
    event = db.session.scalar(select(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "recovery_reopened"))
    assert event.data["action"] == "reopened"
    assert event.data["recovery_id"] == follow_ups()[0].id


def test_a_happy_comment_does_not_reopen(app, make_user, make_team, make_ticket):
    team = make_team(lead=make_user("lead"))
    ticket = _closed_ticket(make_ticket, NOW - timedelta(days=1))
    answer(db.session.get(Contact, ticket.contact_id), 2, ticket=ticket, team_id=team.id,
           comment="thanks, all good")
    assert db.session.get(Ticket, ticket.id).status == Status.CLOSED
    assert len(follow_ups()) == 1


def test_a_still_broken_comment_on_a_good_score_does_not_reopen(app, make_user, make_ticket):
    ticket = _closed_ticket(make_ticket, NOW - timedelta(days=1))
    answer(db.session.get(Contact, ticket.contact_id), 5, ticket=ticket,
           comment="It was not fixed at first, but now it works.")
    assert db.session.get(Ticket, ticket.id).status == Status.CLOSED


def test_after_the_grace_window_a_follow_up_ticket_is_opened_once(app, make_user, make_team,
                                                                   make_ticket):
    team = make_team(lead=make_user("lead"))
    ticket = _closed_ticket(make_ticket, NOW - timedelta(days=20))
    contact = db.session.get(Contact, ticket.contact_id)
    response = answer(contact, 1, ticket=ticket, team_id=team.id, comment="Still broken!")
    edit_answer(response, 1, comment="Still broken!! Nobody called.",
                now=NOW + timedelta(minutes=3))

    assert db.session.get(Ticket, ticket.id).status == Status.CLOSED
    [new_ticket] = db.session.scalars(select(Ticket).where(Ticket.follow_up_of_id == ticket.id))
    assert new_ticket.contact_id == contact.id
    assert new_ticket.subject == ticket.subject
    event = db.session.scalar(select(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "recovery_reopened"))
    assert event.data == {**event.data, "action": "follow_up_ticket", "ticket_id": new_ticket.id}


# ---- PostgreSQL: the sweep's locking ----

def test_open_and_sweep_on_postgresql(pg_app, make_user, make_team):
    lead = make_user("lead")
    team = make_team(lead=lead)
    contact = make_contact()
    answer(contact, 9, kind=SurveyKind.NPS)
    response = answer(contact, 1, team_id=team.id)
    edit_answer(response, 2, now=NOW + timedelta(minutes=1))
    assert len(follow_ups()) == 1
    assert sweep_overdue(now=NOW + timedelta(days=1, minutes=1)) == 1
    assert sweep_overdue(now=NOW + timedelta(days=2)) == 0


def test_the_timeline_tells_the_recovery_events(app, make_user, make_team, make_ticket):
    from tickets.ticket_page import event_sentence

    lead = make_user("lead")
    team = make_team(lead=lead)
    ticket = _closed_ticket(make_ticket, NOW - timedelta(days=1))
    answer(db.session.get(Contact, ticket.contact_id), 1, ticket=ticket, team_id=team.id,
           comment="still broken")
    services.close(lead, follow_ups()[0], RecoveryOutcome.NOT_RESOLVED, "Escalated to R&D.")
    told = {}
    with app.test_request_context():
        for event in db.session.scalars(select(TicketEvent).where(
                TicketEvent.ticket_id == ticket.id, TicketEvent.kind.like("recovery_%"))):
            told[event.kind] = event_sentence(event, "Lee")[0]
    assert told == {
        "recovery_opened": "The customer answered CSAT 1: a service-recovery follow-up was "
                           "opened.",
        "recovery_reopened": "The customer's survey comment says the problem is not solved, "
                             "so the ticket was reopened.",
        "recovery_closed": "Lee finished the service-recovery follow-up: Not resolved."}


def test_an_answer_through_the_survey_service_opens_a_follow_up(app, make_user, make_team):
    from surveys.answering import Answer, record_answer

    lead = make_user("lead")
    team = make_team(lead=lead)
    contact = make_contact()
    invitation = Invitation(kind=SurveyKind.CSAT, trigger=InvitationTrigger.TICKET_CLOSED,
                            status=InvitationStatus.SENT, contact_id=contact.id,
                            team_id=team.id, send_at=NOW, sent_at=NOW,
                            expires_at=NOW + timedelta(days=30), created_at=NOW)
    db.session.add(invitation)
    db.session.commit()
    record_answer(invitation, Answer(score=1), ip=None, user_agent=None, now=NOW)
    db.session.commit()
    record_answer(invitation, Answer(score=2), ip=None, user_agent=None,
                  now=NOW + timedelta(minutes=10))
    db.session.commit()
    [follow_up] = follow_ups()
    assert follow_up.owner_id == lead.id and follow_up.score == 2
    assert follow_up.due_at == NOW + timedelta(hours=24)
