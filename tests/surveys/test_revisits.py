"""VIP revisits: the plan per account, the hourly sweep, recording the call, who may work it."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from service.directory.models import Account, Contact, Tier
from service.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, NotFound
from service.extensions import db
from service.notify.models import Notification
from surveys import settings
from surveys.models import Revisit, RevisitPlan, RevisitStatus
from surveys.revisits import access, jobs, reminders, services
from surveys.revisits.checklist import ITEMS

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def agent(make_user):
    return make_user("agent", name="Dana Dedicated")


@pytest.fixture
def rep(make_user):
    return make_user("sales", name="Sam Sales")


@pytest.fixture
def make_account(active_app):
    def factory(name: str, tier: Tier = Tier.VIP, agent=None, rep=None) -> Account:
        account = Account(name=name, tier=tier, dedicated_agent_id=agent.id if agent else None,
                          sales_owner_id=rep.id if rep else None)
        db.session.add(account)
        db.session.commit()
        return account

    return factory


@pytest.fixture
def vip(make_account, agent, rep):
    return make_account("Acme VIP", agent=agent, rep=rep)


@pytest.fixture
def contact(vip):
    person = Contact(email="chen@acme.example", name="Chen Li", account_id=vip.id)
    db.session.add(person)
    db.session.commit()
    return person


def planned(account: Account) -> list[Revisit]:
    return list(db.session.scalars(select(Revisit).where(
        Revisit.account_id == account.id, Revisit.status == RevisitStatus.PLANNED)))


def first_planned(account: Account) -> Revisit:
    rows = planned(account)
    assert len(rows) == 1
    return rows[0]


# ---- the sweep ----

def test_a_vip_account_gets_one_revisit_due_now_for_its_dedicated_agent(vip, agent):
    result = services.plan_due(now=T0)
    assert result.planned == 1
    revisit = first_planned(vip)
    assert revisit.due_at == T0
    assert revisit.owner_id == agent.id
    assert [row["item"] for row in revisit.checklist] == list(ITEMS)
    assert not any(row["done"] for row in revisit.checklist)


def test_sweeping_twice_plans_no_duplicate(vip):
    services.plan_due(now=T0)
    again = services.plan_due(now=T0 + timedelta(hours=1))
    assert again.planned == 0
    assert len(planned(vip)) == 1


def test_standard_accounts_get_no_revisit(make_account, agent):
    standard = make_account("Plain Co", tier=Tier.STANDARD, agent=agent)
    assert services.plan_due(now=T0).planned == 0
    assert planned(standard) == []


def test_downgraded_account_has_its_planned_revisit_cancelled(vip):
    services.plan_due(now=T0)
    revisit = first_planned(vip)
    vip.tier = Tier.STANDARD
    db.session.commit()
    result = services.plan_due(now=T0 + timedelta(hours=1))
    assert result.cancelled == 1 and result.planned == 0
    db.session.refresh(revisit)
    assert revisit.status == RevisitStatus.CANCELLED


def test_monthly_by_default_after_the_call(vip, agent, contact):
    services.plan_due(now=T0)
    revisit = first_planned(vip)
    done_at = T0 + timedelta(days=2)
    following = services.complete(agent, revisit, checklist=["product_usage", "open_issues"],
                                  notes="Happy; wants SSO next quarter.", satisfaction=4,
                                  contact_id=contact.id, now=done_at)
    db.session.commit()
    assert settings.current().revisit_default_days == 30
    assert revisit.status == RevisitStatus.DONE
    assert revisit.done_at == done_at and revisit.done_by_id == agent.id
    assert revisit.satisfaction == 4 and revisit.contact_id == contact.id
    assert [row for row in revisit.checklist if row["done"]] == [
        {"item": "product_usage", "done": True}, {"item": "open_issues", "done": True}]
    assert following is not None and following.due_at == done_at + timedelta(days=30)
    assert first_planned(vip).id == following.id


def test_the_default_interval_comes_from_the_settings(vip, agent):
    settings.current().revisit_default_days = 10
    db.session.commit()
    services.plan_due(now=T0)
    following = services.complete(agent, first_planned(vip), checklist=[], notes=None, now=T0)
    assert following.due_at == T0 + timedelta(days=10)


def test_sweep_after_a_done_revisit_plans_from_the_last_one_done(vip, agent):
    services.plan_due(now=T0)
    services.complete(agent, first_planned(vip), checklist=[], notes=None, now=T0)
    first_planned(vip).status = RevisitStatus.CANCELLED  # as if skipped by hand
    db.session.commit()
    services.plan_due(now=T0 + timedelta(days=3))
    assert first_planned(vip).due_at == T0 + timedelta(days=30)


def test_a_custom_interval_is_honoured(vip, agent, make_user):
    lead = make_user("lead")
    services.plan_due(now=T0)
    services.complete(agent, first_planned(vip), checklist=[], notes=None, now=T0)
    services.set_plan(lead, vip, 14, None, True, now=T0 + timedelta(days=1))
    db.session.commit()
    # The planned revisit moves to 14 days after the last call.
    assert first_planned(vip).due_at == T0 + timedelta(days=14)
    following = services.complete(agent, first_planned(vip), checklist=[], notes=None,
                                  now=T0 + timedelta(days=14))
    assert following.due_at == T0 + timedelta(days=28)


def test_pausing_the_plan_cancels_and_the_sweep_plans_none(vip, agent):
    services.plan_due(now=T0)
    revisit = first_planned(vip)
    services.set_plan(agent, vip, 30, None, False, now=T0)
    db.session.commit()
    assert revisit.status == RevisitStatus.CANCELLED
    assert services.plan_due(now=T0 + timedelta(hours=1)).planned == 0
    services.set_plan(agent, vip, 30, None, True, now=T0 + timedelta(days=1))
    db.session.commit()
    assert first_planned(vip).due_at == T0 + timedelta(days=1)


def test_the_owner_falls_back_to_the_sales_owner_and_a_chosen_owner_wins(
        make_account, agent, rep, make_user):
    no_agent = make_account("Beta VIP", rep=rep)
    inactive = make_user("agent", is_active=False)
    gone = make_account("Gamma VIP", agent=inactive, rep=rep)
    services.plan_due(now=T0)
    assert first_planned(no_agent).owner_id == rep.id
    assert first_planned(gone).owner_id == rep.id
    chosen = make_user("agent")
    services.set_plan(make_user("admin"), gone, 30, chosen.id, True, now=T0)
    db.session.commit()
    assert first_planned(gone).owner_id == chosen.id
    assert services.plan_in_effect(gone).chosen_owner_id == chosen.id


def test_skipping_plans_the_next_one_interval_later(vip, agent):
    services.plan_due(now=T0)
    revisit = first_planned(vip)
    following = services.cancel(agent, revisit, now=T0 + timedelta(hours=2))
    db.session.commit()
    assert revisit.status == RevisitStatus.CANCELLED
    assert following.due_at == T0 + timedelta(hours=2, days=30)
    with pytest.raises(InvalidTransition):
        services.cancel(agent, revisit)


# ---- validation ----

@pytest.mark.parametrize("fields, field", [
    ({"satisfaction": 0}, "satisfaction"), ({"satisfaction": 6}, "satisfaction"),
    ({"satisfaction": True}, "satisfaction"), ({"checklist": ["bribes"]}, "checklist"),
    ({"notes": "x" * 10001}, "notes"), ({"contact_id": 999999}, "contact_id"),
    ({"contact_id": "1"}, "contact_id"),
])
def test_complete_refuses_bad_input(vip, agent, fields, field):
    services.plan_due(now=T0)
    values = {"checklist": [], "notes": "ok", **fields}
    with pytest.raises(InvalidInput) as caught:
        services.complete(agent, first_planned(vip), **values)
    assert field in caught.value.errors


def test_complete_refuses_a_contact_of_another_account(vip, agent, make_account):
    other = make_account("Other VIP")
    stranger = Contact(email="x@other.example", name="X", account_id=other.id)
    db.session.add(stranger)
    db.session.commit()
    services.plan_due(now=T0)
    with pytest.raises(InvalidInput) as caught:
        services.complete(agent, first_planned(vip), checklist=[], notes=None,
                          contact_id=stranger.id)
    assert "contact_id" in caught.value.errors


def test_a_revisit_is_done_once(vip, agent):
    services.plan_due(now=T0)
    revisit = first_planned(vip)
    services.complete(agent, revisit, checklist=[], notes=None, now=T0)
    with pytest.raises(InvalidTransition):
        services.complete(agent, revisit, checklist=[], notes=None, now=T0)


@pytest.mark.parametrize("interval", [0, 366, -1, "30", None, 3.5, True])
def test_set_plan_refuses_an_interval_out_of_range(vip, agent, interval):
    with pytest.raises(InvalidInput) as caught:
        services.set_plan(agent, vip, interval, None, True)
    assert "interval_days" in caught.value.errors


def test_set_plan_accepts_the_bounds(vip, agent):
    services.set_plan(agent, vip, 1, None, True, now=T0)
    services.set_plan(agent, vip, 365, None, True, now=T0)
    assert db.session.get(RevisitPlan, vip.id).interval_days == 365


@pytest.mark.parametrize("role, active", [("department", True), ("agent", False)])
def test_set_plan_refuses_an_owner_who_may_not_work_revisits(vip, agent, make_user, role,
                                                             active):
    owner = make_user(role, is_active=active)
    with pytest.raises(InvalidInput) as caught:
        services.set_plan(agent, vip, 30, owner.id, True)
    assert "owner_id" in caught.value.errors
    with pytest.raises(InvalidInput):
        services.set_plan(agent, vip, 30, 10**12, True)


def test_set_plan_only_for_vip_accounts_and_their_owners(make_account, vip, make_user):
    lead = make_user("lead")
    with pytest.raises(Conflict):
        services.set_plan(lead, make_account("Plain", tier=Tier.STANDARD), 30, None, True)
    with pytest.raises(Forbidden):
        services.set_plan(make_user("agent"), vip, 30, None, True)
    with pytest.raises(Forbidden):
        services.set_plan(make_user("department"), vip, 30, None, True)


# ---- who may work a revisit ----

def test_owners_leads_and_admins_may_work_a_revisit_others_get_404(vip, agent, rep,
                                                                    make_user):
    services.plan_due(now=T0)
    revisit = first_planned(vip)
    for user in (agent, rep, make_user("lead"), make_user("admin")):
        assert access.get_revisit(user, revisit.id).id == revisit.id
    chosen = make_user("agent")
    revisit.owner_id = chosen.id
    db.session.commit()
    assert access.get_revisit(chosen, revisit.id).id == revisit.id
    for user in (make_user("agent"), make_user("sales"), make_user("department")):
        with pytest.raises(NotFound):
            access.get_revisit(user, revisit.id)
        with pytest.raises(NotFound):
            services.complete(user, revisit, checklist=[], notes=None)
        with pytest.raises(NotFound):
            services.cancel(user, revisit)
    for bad in (revisit.id + 1000, 0, -1, "1", 2**40):
        with pytest.raises(NotFound):
            access.get_revisit(agent, bad)


# ---- reminders and the job ----

def test_the_owner_is_reminded_once_when_the_revisit_falls_due(vip, agent):
    services.plan_due(now=T0 - timedelta(days=1))
    revisit = first_planned(vip)
    revisit.due_at = T0
    db.session.commit()
    assert reminders.remind_due(now=T0 - timedelta(minutes=1)) == 0
    assert reminders.remind_due(now=T0) == 1
    assert reminders.remind_due(now=T0 + timedelta(hours=1)) == 0
    notice = db.session.scalar(select(Notification).where(
        Notification.kind == reminders.NOTICE_KIND))
    assert notice.user_id == agent.id and notice.subject_ref == f"revisit:{revisit.id}"
    assert "Acme VIP" in notice.title


def test_the_sweep_job_plans_and_reminds(vip, agent):
    jobs.sweep_revisits()
    assert len(planned(vip)) == 1
    assert db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == agent.id, Notification.kind == "revisit_due")) == 1


# ---- PostgreSQL: the one-planned-per-account index and the sweep ----

def test_postgres_keeps_one_planned_revisit_per_account(pg_app, make_user):
    agent = make_user("agent")
    account = Account(name="PG VIP", tier=Tier.VIP, dedicated_agent_id=agent.id)
    db.session.add(account)
    db.session.commit()
    assert services.plan_due(now=T0).planned == 1
    assert services.plan_due(now=T0).planned == 0
    db.session.add(Revisit(account_id=account.id, status=RevisitStatus.PLANNED, due_at=T0,
                           checklist=[]))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    revisit = first_planned(account)
    following = services.complete(agent, access.get_revisit(agent, revisit.id,
                                                            for_update=True),
                                  checklist=["product_usage"], notes=None, now=T0)
    db.session.commit()
    assert following.due_at == T0 + timedelta(days=30)
    assert reminders.remind_due(now=T0) == 0
    assert reminders.remind_due(now=T0 + timedelta(days=30)) == 1
