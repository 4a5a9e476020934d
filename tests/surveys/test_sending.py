"""Scheduling the CSAT after a close, the due sweep, the survey mail, consent and fatigue."""
from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select, text

from service.directory.models import Contact
from service.extensions import db
from service.notify.models import OutboundMail
from surveys import sending, tokens
from surveys.invitations import Snapshot, create_invitation, opt_out
from surveys.models import Invitation, InvitationStatus, InvitationTrigger, SurveyKind
from surveys.settings import current as current_settings
from tests.surveys.helpers import close_ticket
from tickets import lifecycle
from tickets.models import Status

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
TOKEN_IN_MAIL = re.compile(r"/s/([A-Za-z0-9_-]{43})")


def closed_ticket(make_ticket, *, at: datetime = T0, email: str | None = None,
                  language: str = "en", **fields):
    """A ticket made and closed at `at` (its CSAT is scheduled by the close)."""
    if email:
        fields["customer_email"] = email
    ticket = make_ticket(language=language, **fields)
    return close_ticket(ticket, now=at)


def invitation_of(ticket_id: int) -> Invitation:
    return db.session.scalar(select(Invitation).where(Invitation.ticket_id == ticket_id))


def mail_of(invitation_id: int) -> OutboundMail | None:
    return db.session.scalar(select(OutboundMail).where(
        OutboundMail.dedupe_key == f"survey:{invitation_id}"))


def token_in(mail: OutboundMail) -> str:
    tokens_found = set(TOKEN_IN_MAIL.findall(mail.body_text))
    assert len(tokens_found) == 1
    return tokens_found.pop()


def sent_survey(make_ticket, *, at: datetime = T0, **fields) -> tuple[Invitation, str]:
    """A closed ticket's CSAT, sent when due; the invitation and the token from its mail."""
    ticket = closed_ticket(make_ticket, at=at, **fields)
    invitation = invitation_of(ticket.id)
    sending.send_invitation(invitation.id, now=invitation.send_at)
    return invitation, token_in(mail_of(invitation.id))


def sweep(at: datetime) -> int:
    """Run the due sweep at a frozen moment (its send jobs, run eagerly, see the same)."""
    with time_machine.travel(at, tick=False):
        count = sending.sweep_due(now=at)
    db.session.expire_all()
    return count


def sent_nps(contact_id: int, *, at: datetime = T0, language: str | None = None
             ) -> tuple[Invitation, str]:
    """An NPS invitation to the contact, sent at `at`; the invitation and its token."""
    invitation = create_invitation(SurveyKind.NPS, InvitationTrigger.NPS_SCHEDULE, contact_id,
                                   send_at=at, now=at, snapshot=Snapshot(language=language))
    db.session.commit()
    sending.send_invitation(invitation.id, now=at)
    return invitation, token_in(mail_of(invitation.id))


# ---- scheduling ----

def test_closing_a_ticket_schedules_one_csat_after_the_delay(make_ticket):
    ticket = closed_ticket(make_ticket, product="Router X", language="zh")
    invitation = invitation_of(ticket.id)
    assert invitation.kind == SurveyKind.CSAT
    assert invitation.trigger == InvitationTrigger.TICKET_CLOSED
    assert invitation.status == InvitationStatus.SCHEDULED
    assert invitation.send_at == T0 + timedelta(minutes=60)
    assert invitation.contact_id == ticket.contact_id and invitation.product == "Router X"
    assert invitation.language == "zh" and invitation.channel == "api"
    assert invitation.token_hash is None and invitation.sent_at is None

    # Reopened and closed again: the customer was asked already.
    lifecycle.change_status(ticket, Status.REOPENED, actor=None, now=T0 + timedelta(hours=1))
    db.session.commit()
    close_ticket(ticket, now=T0 + timedelta(hours=2))
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 1


def test_the_delay_comes_from_the_settings(make_ticket):
    current_settings().csat_delay_minutes = 5
    db.session.commit()
    invitation = invitation_of(closed_ticket(make_ticket).id)
    assert invitation.send_at == T0 + timedelta(minutes=5)


# ---- the sweep and the mail ----

def test_the_sweep_sends_due_invitations_only_with_five_score_links(make_ticket):
    ticket = closed_ticket(make_ticket, subject="Printer jams on page two",
                           email="casey@example.com")
    invitation = invitation_of(ticket.id)
    assert sweep(T0 + timedelta(minutes=59)) == 0
    assert invitation.status == InvitationStatus.SCHEDULED

    assert sweep(T0 + timedelta(minutes=60)) == 1  # jobs run eagerly
    assert invitation.status == InvitationStatus.SENT
    mail = mail_of(invitation.id)
    assert mail.to_address == "casey@example.com"
    token = token_in(mail)
    assert invitation.token_hash == tokens.token_hash(token) != token
    assert invitation.expires_at == invitation.sent_at + timedelta(days=30)
    assert ticket.number in mail.subject
    assert "Printer jams on page two" in mail.body_text and ticket.number in mail.body_text
    for score, label in [(1, "Very dissatisfied"), (5, "Very satisfied")]:
        assert f"{score} — {label}\nhttp://support.test/s/{token}?score={score}" \
            in mail.body_text
    score_links = re.findall(rf"/s/{token}\?score=(\d+)", mail.body_text)
    assert score_links == ["1", "2", "3", "4", "5"]
    assert re.findall(rf"/s/{token}\?score=(\d+)", mail.body_html) == ["5", "4", "3", "2", "1"]
    assert f"http://support.test/s/{token}\n" in mail.body_text  # the plain link
    assert f"http://support.test/s/{token}/unsubscribe" in mail.body_text
    assert f"/s/{token}/unsubscribe" in mail.body_html
    expiry = invitation.expires_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d")
    assert f"until {expiry}" in mail.body_text

    # Swept again (or a job run twice): nothing more is sent.
    assert sweep(T0 + timedelta(days=1)) == 0
    assert sending.send_invitation(invitation.id) == InvitationStatus.SENT
    assert db.session.scalar(select(func.count()).select_from(OutboundMail)
                             .where(OutboundMail.dedupe_key.like("survey:%"))) == 1


def test_the_mail_speaks_the_customers_language(make_ticket):
    invitation, _token = sent_survey(make_ticket, language="zh")
    assert invitation.language == "zh"
    assert 'lang="zh-CN"' in mail_of(invitation.id).body_html
    english, _token = sent_survey(make_ticket, language="en")
    assert 'lang="en"' in mail_of(english.id).body_html


def test_the_nps_mail_has_eleven_score_links(make_ticket):
    ticket = make_ticket()
    invitation, token = sent_nps(ticket.contact_id)
    mail = mail_of(invitation.id)
    assert re.findall(rf"/s/{token}\?score=(\d+)", mail.body_text) == [
        str(score) for score in range(11)]
    assert "How likely are you to recommend us to a friend or colleague?" in mail.body_text
    assert len(re.findall(rf"/s/{token}\?score=", mail.body_html)) == 11
    assert mail.subject == "Would you recommend us?"


def test_a_failed_delivery_is_retried_with_the_same_mail(app, make_ticket):
    ticket = closed_ticket(make_ticket)
    invitation = invitation_of(ticket.id)
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=9)  # nothing listens there
    with pytest.raises(OSError):
        sending.send_invitation(invitation.id, now=invitation.send_at)
    db.session.rollback()
    mail = mail_of(invitation.id)
    assert mail.status == "queued" and invitation.status == InvitationStatus.SENT
    first_body = mail.body_text
    app.config.update(MAIL_SERVER=None)
    assert sending.send_invitation(invitation.id) == InvitationStatus.SENT
    db.session.refresh(mail)
    assert mail.status == "logged" and mail.body_text == first_body


# ---- consent and fatigue ----

def test_a_second_survey_within_the_fatigue_window_is_skipped(make_ticket):
    sent_survey(make_ticket, email="busy@example.com")
    later = closed_ticket(make_ticket, at=T0 + timedelta(days=7), email="busy@example.com")
    assert invitation_of(later.id).status == InvitationStatus.SKIPPED
    assert invitation_of(later.id).skip_reason == "fatigue"


def test_fatigue_is_checked_again_when_sending(make_ticket):
    one = closed_ticket(make_ticket, email="twice@example.com")
    two = closed_ticket(make_ticket, email="twice@example.com", at=T0 + timedelta(minutes=1))
    assert invitation_of(two.id).status == InvitationStatus.SCHEDULED  # none sent yet
    assert sweep(T0 + timedelta(hours=2)) == 2
    assert invitation_of(one.id).status == InvitationStatus.SENT
    assert invitation_of(two.id).status == InvitationStatus.SKIPPED
    assert invitation_of(two.id).skip_reason == "fatigue"
    assert mail_of(invitation_of(two.id).id) is None

    # After the window the contact may be asked again.
    three = closed_ticket(make_ticket, email="twice@example.com", at=T0 + timedelta(days=32))
    assert invitation_of(three.id).status == InvitationStatus.SCHEDULED


def test_unsubscribed_and_bouncing_contacts_are_skipped_when_sending(make_ticket):
    quiet = closed_ticket(make_ticket, email="quiet@example.com")
    bouncing = closed_ticket(make_ticket, email="bounce@example.com")
    opt_out(quiet.contact_id, "link")
    db.session.get(Contact, bouncing.contact_id).email_bouncing = True
    db.session.commit()
    sweep(T0 + timedelta(hours=1))
    assert invitation_of(quiet.id).skip_reason == "unsubscribed"
    assert invitation_of(bouncing.id).skip_reason == "bouncing"
    assert db.session.scalar(select(func.count()).select_from(OutboundMail)
                             .where(OutboundMail.dedupe_key.like("survey:%"))) == 0


def test_an_unsubscribed_contact_gets_no_new_invitation(make_ticket):
    ticket = make_ticket(customer_email="gone@example.com")
    opt_out(ticket.contact_id, "staff")
    db.session.commit()
    close_ticket(ticket, now=T0)
    assert invitation_of(ticket.id).skip_reason == "unsubscribed"


def test_csat_switched_off_before_sending_skips_it(make_ticket):
    ticket = closed_ticket(make_ticket)
    current_settings().csat_enabled = False
    db.session.commit()
    sweep(T0 + timedelta(hours=1))
    assert invitation_of(ticket.id).skip_reason == "disabled"


# ---- two sweeps at once (PostgreSQL) ----

def test_the_sweep_skips_invitations_another_sweep_holds(pg_app, make_ticket):
    held = invitation_of(closed_ticket(make_ticket).id)
    free = invitation_of(closed_ticket(make_ticket).id)
    locked, release = threading.Event(), threading.Event()

    def hold_row():
        with pg_app.app_context():
            with db.engine.connect() as connection:
                connection.execute(text("SELECT id FROM survey_invitations WHERE id = :id "
                                        "FOR UPDATE"), {"id": held.id})
                locked.set()
                release.wait(10)
                connection.rollback()

    other = threading.Thread(target=hold_row)
    other.start()
    try:
        assert locked.wait(10)
        assert sweep(T0 + timedelta(hours=1)) == 1
    finally:
        release.set()
        other.join(10)
    assert db.session.get(Invitation, free.id).status == InvitationStatus.SENT
    assert db.session.get(Invitation, held.id).status == InvitationStatus.SCHEDULED
    assert sweep(T0 + timedelta(hours=1)) == 1
    assert db.session.get(Invitation, held.id).status == InvitationStatus.SENT
