"""The NPS relationship survey's schedule: who is due, fatigue, idempotency, the job."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from service.db_types import utcnow
from service.directory.models import Contact
from service.extensions import db
from surveys import nps
from surveys import settings as survey_settings
from surveys.invitations import SkipReason, opt_out
from surveys.models import Invitation, InvitationStatus, InvitationTrigger, SurveyKind
from tickets.models import Ticket


@pytest.fixture
def active_contact(make_ticket):
    """active_contact(days_ago=1) → a contact whose one ticket was created days_ago."""

    def factory(days_ago: int = 1, **contact_fields) -> Contact:
        ticket = make_ticket()
        ticket.created_at = utcnow() - timedelta(days=days_ago)
        contact = db.session.get(Contact, ticket.contact_id)
        for key, value in contact_fields.items():
            setattr(contact, key, value)
        db.session.commit()
        return contact

    return factory


def _nps_invitations(contact_id: int) -> list[Invitation]:
    return list(db.session.scalars(select(Invitation).where(
        Invitation.contact_id == contact_id, Invitation.kind == SurveyKind.NPS)
        .order_by(Invitation.id)))


def _past_invitation(contact_id: int, *, kind=SurveyKind.NPS, days_ago: int,
                     status=InvitationStatus.SENT, skip_reason=None) -> Invitation:
    at = utcnow() - timedelta(days=days_ago)
    invitation = Invitation(kind=kind, trigger=InvitationTrigger.NPS_SCHEDULE
                            if kind == SurveyKind.NPS else InvitationTrigger.TICKET_CLOSED,
                            contact_id=contact_id, status=status, skip_reason=skip_reason,
                            send_at=at, sent_at=at if status != InvitationStatus.SKIPPED
                            else None, created_at=at)
    db.session.add(invitation)
    db.session.commit()
    return invitation


def test_active_contacts_get_one_invitation_and_a_second_run_adds_nothing(active_contact):
    first, second = active_contact(days_ago=3), active_contact(days_ago=100)
    now = utcnow()
    assert nps.schedule_due(now=now) == 2
    for contact in (first, second):
        [invitation] = _nps_invitations(contact.id)
        assert invitation.trigger == InvitationTrigger.NPS_SCHEDULE
        assert invitation.status == InvitationStatus.SCHEDULED
        assert invitation.send_at == now
    assert nps.schedule_due(now=now + timedelta(hours=1)) == 0
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 2


def test_contacts_without_recent_activity_are_not_asked(active_contact):
    settings = survey_settings.current()
    settings.nps_activity_days = 30
    db.session.commit()
    quiet = active_contact(days_ago=45)
    assert nps.schedule_due() == 0
    assert _nps_invitations(quiet.id) == []


def test_the_interval_counts_from_the_last_nps_invitation(active_contact):
    recent, old = active_contact(), active_contact()
    _past_invitation(recent.id, days_ago=60)  # inside the 90-day interval
    _past_invitation(old.id, days_ago=91)
    assert nps.schedule_due() == 1
    assert len(_nps_invitations(recent.id)) == 1
    assert len(_nps_invitations(old.id)) == 2


def test_a_lasting_skip_counts_but_a_fatigue_skip_does_not(active_contact):
    bounced, tired = active_contact(), active_contact()
    _past_invitation(bounced.id, days_ago=10, status=InvitationStatus.SKIPPED,
                     skip_reason=SkipReason.BOUNCING)
    _past_invitation(tired.id, days_ago=40, status=InvitationStatus.SKIPPED,
                     skip_reason=SkipReason.FATIGUE)
    assert nps.schedule_due() == 1
    assert len(_nps_invitations(bounced.id)) == 1
    assert _nps_invitations(tired.id)[-1].status == InvitationStatus.SCHEDULED


def test_a_contact_inside_the_fatigue_window_waits_without_a_skip_row(active_contact):
    contact = active_contact()
    _past_invitation(contact.id, kind=SurveyKind.CSAT, days_ago=10)
    now = utcnow()
    assert nps.schedule_due(now=now) == 0
    assert nps.schedule_due(now=now + timedelta(hours=1)) == 0
    assert _nps_invitations(contact.id) == []
    # The first run after the 30-day window invites them.
    assert nps.schedule_due(now=now + timedelta(days=21)) == 1


def test_unsubscribed_contacts_are_recorded_as_skipped(active_contact):
    contact = active_contact()
    opt_out(contact.id, "link")
    db.session.commit()
    assert nps.schedule_due() == 1
    [invitation] = _nps_invitations(contact.id)
    assert invitation.status == InvitationStatus.SKIPPED
    assert invitation.skip_reason == SkipReason.UNSUBSCRIBED
    assert nps.schedule_due() == 0  # a lasting skip: not retried every run


def test_nothing_happens_when_nps_is_switched_off(active_contact):
    active_contact()
    survey_settings.current().nps_enabled = False
    db.session.commit()
    assert nps.schedule_due() == 0
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 0


def test_pages_and_the_limit(active_contact, monkeypatch):
    monkeypatch.setattr(nps, "PAGE_SIZE", 2)
    contacts = [active_contact() for _ in range(5)]
    assert nps.schedule_due(limit=3) == 3
    assert nps.schedule_due() == 2  # the rest, on the next run
    assert all(len(_nps_invitations(contact.id)) == 1 for contact in contacts)


def test_the_ticker_job_runs_the_schedule(active_contact):
    from surveys import nps_jobs

    contact = active_contact()
    assert nps_jobs.schedule_nps.job_queue == "sweeps"
    nps_jobs.schedule_nps()
    assert len(_nps_invitations(contact.id)) == 1


def test_tickets_are_counted_once_per_contact(make_ticket, active_contact):
    contact = active_contact()
    make_ticket(customer_email=contact.email)
    assert db.session.scalar(select(func.count()).select_from(Ticket)
                             .where(Ticket.contact_id == contact.id)) == 2
    assert nps.schedule_due() == 1


def test_two_runs_at_once_on_postgresql_invite_each_contact_once(pg_app, make_ticket):
    """The settings-row lock serialises concurrent runs (two tickers, a manual run)."""
    from concurrent.futures import ThreadPoolExecutor

    contact_ids = [make_ticket().contact_id for _ in range(4)]
    db.session.commit()
    now = utcnow()

    def run() -> int:
        with pg_app.app_context():
            try:
                return nps.schedule_due(now=now)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=2) as pool:
        made = [future.result() for future in [pool.submit(run) for _ in range(2)]]
    assert sorted(made) == [0, 4]
    counts = dict(db.session.execute(
        select(Invitation.contact_id, func.count()).group_by(Invitation.contact_id)).all())
    assert counts == {contact_id: 1 for contact_id in contact_ids}
