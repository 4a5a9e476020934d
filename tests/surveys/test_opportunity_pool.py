"""The first-contact deadline with frozen time: untouched opportunities return to the pool,
the rep's lead is told once; contacted ones stay."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from service.extensions import db
from service.notify.models import Notification, OutboundMail
from surveys.models import OpportunityEvent
from surveys.opportunities import jobs, services
from tests.surveys.test_opportunities import NOW, make_account, record, signal


def _returned_notices(user) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(
        Notification.user_id == user.id, Notification.kind == "opportunity_returned")))


def test_untouched_returns_to_the_pool_and_the_lead_is_told_once(make_user, make_team):
    lead = make_user("lead")
    team = make_team("Sales East", lead=lead)
    rep = make_user("sales", team=team)
    opportunity = record(signal(make_account(owner=rep)))
    assert services.return_untouched(now=NOW + timedelta(hours=23, minutes=59)) == 0
    assert opportunity.owner_id == rep.id
    assert services.return_untouched(now=NOW + timedelta(hours=24)) == 1
    db.session.refresh(opportunity)
    assert opportunity.owner_id is None and opportunity.returned_by_id == rep.id
    assert opportunity.returned_to_pool_at == NOW + timedelta(hours=24)
    assert services.return_untouched(now=NOW + timedelta(hours=30)) == 0
    notices = _returned_notices(lead)
    assert len(notices) == 1 and notices[0].data["rep_id"] == rep.id
    mail = db.session.scalar(select(OutboundMail).where(OutboundMail.to_address == lead.email))
    assert rep.name in mail.body_text
    kinds = list(db.session.scalars(select(OpportunityEvent.kind).where(
        OpportunityEvent.opportunity_id == opportunity.id)))
    assert kinds[-1] == "returned_to_pool"


def test_contacted_ones_stay(make_user):
    rep = make_user("sales")
    opportunity = record(signal(make_account(owner=rep)))
    services.update(rep, opportunity, {"status": "contacted"}, now=NOW + timedelta(hours=1))
    assert services.return_untouched(now=NOW + timedelta(days=3)) == 0
    assert opportunity.owner_id == rep.id


def test_without_a_team_lead_the_admins_hear(make_user):
    admin = make_user("admin")
    rep = make_user("sales")
    record(signal(make_account(owner=rep)))
    services.return_untouched(now=NOW + timedelta(days=1))
    assert len(_returned_notices(admin)) == 1


def test_a_rep_may_take_back_what_returned_from_them(make_user):
    rep = make_user("sales")
    opportunity = record(signal(make_account(owner=rep)))
    services.return_untouched(now=NOW + timedelta(days=1))
    services.update(rep, opportunity, {"owner_id": rep.id}, now=NOW + timedelta(days=1))
    event = db.session.scalar(select(OpportunityEvent).where(
        OpportunityEvent.kind == "assigned").order_by(OpportunityEvent.id.desc()))
    assert event.data["retaken"] is True and event.data["how"] == "taken"


def test_the_sweep_job_returns_everything_due(make_user):
    rep = make_user("sales")
    for number in range(3):
        record(signal(make_account(f"Co {number}", owner=rep)), now=NOW)
    jobs.sweep_opportunities()  # real time is past the frozen deadline
    assert db.session.scalar(select(func.count()).select_from(OpportunityEvent).where(
        OpportunityEvent.kind == "returned_to_pool")) == 3
