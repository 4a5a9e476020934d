"""Account health: the formula against hand-worked numbers, history, the sweep, the
listeners, and the routing rule that raises an unhealthy VIP account's new tickets."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from service.db_types import utcnow
from service.directory.models import Tier
from service.extensions import db
from surveys import settings as survey_settings
from surveys.health import services as health
from surveys.health.services import HealthInputs, band_for, score_inputs
from surveys.models import (AccountHealth, HealthBand, Invitation, InvitationStatus,
                            InvitationTrigger, SurveyKind, SurveyResponse)
from tests.surveys.test_recovery import make_account, make_contact
from tickets.models import Priority, Ticket


def test_the_documented_worked_example():
    # CSAT 5, 4, 2, 1 → average 3.0 → (4.5 − 3.0) × 10 = 15
    # NPS 10, 6, 3, 8 → 2 detractors of 4 → 0.5 × 30 = 15
    # 10 tickets, 2 reopened → 0.2 × 20 = 4; 3 breached → 0.3 × 20 = 6
    # 2 open complaints → 2 × 5 = 10
    # 100 − (15 + 15 + 4 + 6 + 10) = 50 → watch
    result = score_inputs(HealthInputs(csat_count=4, csat_sum=12, nps_count=4,
                                       nps_detractors=2, tickets=10, reopened=2, breached=3,
                                       open_complaints=2))
    assert (result.score, result.band) == (50, HealthBand.WATCH)
    assert {name: part["points"] for name, part in result.components.items()} == {
        "csat": 15.0, "nps_detractors": 15.0, "reopen_rate": 4.0, "sla_breach_rate": 6.0,
        "open_complaints": 10}
    assert result.components["csat"]["value"] == 3.0


def test_no_data_is_neutral_and_missing_inputs_cost_nothing():
    assert score_inputs(HealthInputs()) == health.HealthScore(70, HealthBand.HEALTHY,
                                                              {"no_data": True})
    only_csat = score_inputs(HealthInputs(csat_count=2, csat_sum=10))  # average 5.0
    assert only_csat.score == 100
    assert only_csat.components["nps_detractors"] == {"value": None, "points": 0.0, "count": 0}


def test_the_score_is_clamped_and_complaints_capped():
    worst = score_inputs(HealthInputs(csat_count=1, csat_sum=1, nps_count=1, nps_detractors=1,
                                      tickets=1, reopened=1, breached=1, open_complaints=9))
    assert worst.components["open_complaints"]["points"] == 15
    assert (worst.score, worst.band) == (0, HealthBand.AT_RISK)


@pytest.mark.parametrize(("score", "band"), [(100, "healthy"), (70, "healthy"), (69, "watch"),
                                             (40, "watch"), (39, "at_risk"), (0, "at_risk")])
def test_bands(score, band):
    assert band_for(score) == HealthBand(band)


def _response(contact, kind: SurveyKind, score: int, days_ago: float) -> None:
    at = utcnow() - timedelta(days=days_ago)
    invitation = Invitation(kind=kind, trigger=InvitationTrigger.NPS_SCHEDULE,
                            status=InvitationStatus.ANSWERED, contact_id=contact.id,
                            account_id=contact.account_id, send_at=at, sent_at=at,
                            answered_at=at)
    db.session.add(invitation)
    db.session.flush()
    db.session.add(SurveyResponse(invitation_id=invitation.id, kind=kind, contact_id=contact.id,
                                  account_id=contact.account_id, score=score, created_at=at,
                                  updated_at=at, edit_until=at))
    db.session.commit()


def test_recompute_from_the_accounts_answers_and_tickets(app, make_ticket):
    account = make_account()
    contact = make_contact(account)
    for kind, score, days_ago in [(SurveyKind.CSAT, 3, 1), (SurveyKind.CSAT, 4, 10),
                                  (SurveyKind.CSAT, 1, 100),  # outside the 90 days
                                  (SurveyKind.NPS, 9, 5), (SurveyKind.NPS, 4, 6)]:
        _response(contact, kind, score, days_ago)
    tickets = [make_ticket(customer_email=contact.email) for _ in range(4)]
    assert {ticket.account_id for ticket in tickets} == {account.id}
    tickets[0].reopen_count = 1
    tickets[1].resolution_breached_at = utcnow()
    tickets[2].category = "complaint"  # open
    db.session.commit()

    row = health.recompute(account.id)
    # CSAT 3, 4 → 3.5 → 10; NPS 1 of 2 → 15; reopen 1/4 → 5; breach 1/4 → 5; complaint → 5
    assert (row.score, row.band) == (60, HealthBand.WATCH)
    assert row.components["csat"] == {"value": 3.5, "points": 10.0, "count": 2}
    assert row.components["reopen_rate"]["points"] == 5.0
    assert health.current(account.id).id == row.id


def test_history_grows_only_on_change_or_daily(app):
    account = make_account()
    contact = make_contact(account)
    now = utcnow()
    first = health.recompute(account.id, now)
    assert health.recompute(account.id, now + timedelta(hours=2)).id == first.id
    _response(contact, SurveyKind.CSAT, 1, 0)
    second = health.recompute(account.id, now + timedelta(hours=3))
    assert second.id != first.id and second.score == 65
    assert health.recompute(account.id, now + timedelta(hours=30)).id not in (first.id,
                                                                              second.id)
    assert [row.score for row in health.history(account.id, 10)] == [65, 65, 70]


def test_refresh_stale_scores_new_and_day_old_accounts(app):
    accounts = [make_account() for _ in range(3)]
    now = utcnow()
    assert health.refresh_stale(now) == len(accounts)
    assert health.refresh_stale(now + timedelta(hours=1)) == 0
    assert health.refresh_stale(now + timedelta(hours=25), limit=2) == 2
    assert db.session.scalar(select(func.count()).select_from(AccountHealth)) == 5


def test_jobs_recompute_and_refresh(app):
    from surveys.health.jobs import recompute_health, refresh_health

    account = make_account()
    recompute_health(account.id)
    recompute_health(999_999)  # a deleted account: nothing to do
    refresh_health()
    assert health.current(account.id).score == 70


def test_a_new_ticket_recomputes_its_accounts_health(app, make_ticket):
    account = make_account()
    contact = make_contact(account)
    make_ticket(customer_email=contact.email)
    assert health.current(account.id) is not None  # the listener's job ran after the commit


# ---- routing: unhealthy VIP accounts ----

def _scored(account, score: int) -> None:
    db.session.add(AccountHealth(account_id=account.id, score=score, band=band_for(score),
                                 components={}, computed_at=utcnow()))
    db.session.commit()


def _new_ticket(make_ticket, account, **fields) -> Ticket:
    return make_ticket(customer_email=make_contact(account).email, **fields)


def test_an_unhealthy_vip_accounts_new_ticket_is_raised_a_step(app, make_ticket):
    account = make_account(Tier.VIP)
    _scored(account, 35)
    ticket = _new_ticket(make_ticket, account)
    assert ticket.priority == Priority.URGENT  # normal, VIP +1, health +1
    assert ticket.priority_reason.endswith("VIP account +1 step; account health 35 (at risk)")


def test_a_healthy_vip_or_a_standard_account_is_not_raised(app, make_ticket):
    healthy = make_account(Tier.VIP)
    _scored(healthy, 80)
    ticket = _new_ticket(make_ticket, healthy)
    assert ticket.priority == Priority.HIGH and "health" not in ticket.priority_reason
    standard = make_account(Tier.STANDARD)
    _scored(standard, 10)
    assert _new_ticket(make_ticket, standard).priority == Priority.NORMAL
    unscored = make_account(Tier.VIP)
    assert _new_ticket(make_ticket, unscored).priority == Priority.HIGH


def test_the_rule_follows_its_settings_and_never_overrides_staff(app, make_ticket):
    account = make_account(Tier.VIP)
    _scored(account, 45)
    settings = survey_settings.current()
    settings.health_priority_threshold = 50
    db.session.commit()
    assert _new_ticket(make_ticket, account, urgency=Priority.LOW).priority == Priority.HIGH
    _scored(account, 45)
    assert _new_ticket(make_ticket, account, priority=Priority.LOW).priority == Priority.LOW
    _scored(account, 45)
    settings.health_priority_enabled = False
    db.session.commit()
    assert _new_ticket(make_ticket, account).priority == Priority.HIGH


def test_recompute_and_refresh_on_postgresql(pg_app, make_ticket):
    account = make_account(Tier.VIP)
    contact = make_contact(account)
    _response(contact, SurveyKind.CSAT, 2, 1)
    _response(contact, SurveyKind.NPS, 3, 1)
    ticket = make_ticket(customer_email=contact.email)
    ticket.first_response_breached_at = utcnow()
    db.session.commit()
    # CSAT 2 → 25; NPS 1/1 → 30; 1 ticket, breached → 20 → 100 − 75 = 25, at risk
    row = health.recompute(account.id)
    assert (row.score, row.band) == (25, HealthBand.AT_RISK)
    assert health.refresh_stale(utcnow() + timedelta(days=2)) >= 1
    assert _new_ticket(make_ticket, account).priority_reason.endswith(
        "account health 25 (at risk)")


def test_an_unchanged_score_still_shows_its_new_inputs(app):
    """The newest row's breakdown follows the inputs even when the score stays the same."""
    account = make_account()
    contact = make_contact(account)
    _response(contact, SurveyKind.CSAT, 5, days_ago=2)
    first = health.recompute(account.id)
    db.session.commit()
    assert first.score == 100 and first.components["csat"]["count"] == 1
    _response(contact, SurveyKind.CSAT, 5, days_ago=1)  # another 5 costs nothing
    second = health.recompute(account.id)
    assert second.id == first.id and second.score == first.score
    assert second.components["csat"]["count"] == 2
    assert db.session.scalar(select(func.count()).select_from(AccountHealth)) == 1
