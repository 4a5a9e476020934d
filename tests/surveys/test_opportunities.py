"""Recording opportunities: owner, round robin, pool, dedup per account and kind, and the
status flow with its history."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from sqlalchemy import select

from service.directory.services import create_account, find_or_create_contact
from service.errors import Forbidden, InvalidInput, InvalidTransition
from service.extensions import db
from service.notify.models import Notification, OutboundMail
from surveys.models import (EvidenceKind, OpportunityEvent, OpportunityEvidence,
                            OpportunityKind, OpportunitySource, OpportunityStatus)
from surveys.opportunities import services
from surveys.opportunities.signal import Evidence, Signal

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
_numbers = count(1)


def make_account(name: str = "Acme", owner=None, products=()):
    """A committed account with an optional sales owner."""
    account = create_account(name, sales_owner=owner, products=list(products))
    db.session.commit()
    return account


def make_contact(account=None, email: str | None = None, name: str = "Casey"):
    """A committed contact, in the account when given."""
    contact = find_or_create_contact(email or f"contact{next(_numbers)}@example.com", name)
    if account is not None:
        contact.account_id = account.id
    db.session.commit()
    return contact


def signal(account=None, *, kind=OpportunityKind.UPSELL, ref_id: int = 1,
           rule: str = "more_seats_en", source=OpportunitySource.TICKET_SIGNAL,
           contact=None, products=("Seats",), reason="Asked for more seats",
           evidence_kind=EvidenceKind.TICKET) -> Signal:
    """A signal with one piece of evidence."""
    return Signal(kind=kind, source=source, reason=reason,
                  evidence=(Evidence(evidence_kind, ref_id, rule, "more seats",
                                     "We need more seats."),),
                  account_id=account.id if account else None,
                  contact_id=contact.id if contact else None,
                  suggested_products=tuple(products))


def record(sig: Signal, now: datetime = NOW):
    """Record and commit, as the caller (a listener, a job) does."""
    opportunity = services.record(sig, now=now)
    db.session.commit()
    return opportunity


def events(opportunity) -> list[str]:
    return list(db.session.scalars(select(OpportunityEvent.kind).where(
        OpportunityEvent.opportunity_id == opportunity.id).order_by(OpportunityEvent.id)))


def test_record_goes_to_the_accounts_sales_owner(make_user):
    owner = make_user("sales")
    make_user("sales")
    account = make_account(owner=owner)
    opportunity = record(signal(account))
    assert opportunity.owner_id == owner.id
    assert opportunity.status == OpportunityStatus.NEW
    assert opportunity.first_contact_due_at == NOW + timedelta(hours=24)
    assert opportunity.suggested_products == ["Seats"]
    assert events(opportunity) == ["created", "assigned"]
    notice = db.session.scalar(select(Notification).where(Notification.user_id == owner.id))
    assert notice.kind == "opportunity_assigned" and notice.emailed_at is not None
    mail = db.session.scalar(select(OutboundMail).where(OutboundMail.to_address == owner.email))
    assert "Acme" in mail.subject and "/console/opportunities/" in mail.body_text


def test_a_lead_owning_the_account_gets_it_an_agent_does_not(make_user):
    lead = make_user("lead")
    rep = make_user("sales")
    assert record(signal(make_account("Led", owner=lead))).owner_id == lead.id
    agent = make_user("agent")
    assert record(signal(make_account("Agented", owner=agent))).owner_id == rep.id


def test_round_robin_among_reps_when_the_account_has_no_owner(make_user):
    first, second = make_user("sales"), make_user("sales")
    make_user("sales", is_active=False)
    owners = [record(signal(make_account(f"Co {n}")), now=NOW + timedelta(minutes=n)).owner_id
              for n in range(4)]
    assert owners == [first.id, second.id, first.id, second.id]


def test_no_reps_means_the_pool(make_user):
    opportunity = record(signal(make_account()))
    assert opportunity.owner_id is None
    assert db.session.scalar(select(Notification)) is None


def test_mail_respects_the_reps_choice(make_user):
    owner = make_user("sales", notify_prefs={"opportunity_assigned": False})
    record(signal(make_account(owner=owner)))
    assert db.session.scalar(select(Notification).where(Notification.user_id == owner.id))
    assert db.session.scalar(select(OutboundMail)) is None


def test_same_kind_adds_evidence_to_the_open_one(make_user):
    account = make_account(owner=make_user("sales"))
    first = record(signal(account, ref_id=1))
    second = record(signal(account, ref_id=2, rule="higher_limits_zh",
                           products=("Seats", "Pro plan")))
    assert second.id == first.id
    assert second.suggested_products == ["Seats", "Pro plan"]
    rows = db.session.scalars(select(OpportunityEvidence.ref_id).where(
        OpportunityEvidence.opportunity_id == first.id)).all()
    assert sorted(rows) == [1, 2]
    assert events(first) == ["created", "assigned", "evidence_added", "products_changed"]


def test_the_same_evidence_twice_changes_nothing(make_user):
    account = make_account()
    first = record(signal(account))
    again = record(signal(account))
    assert again.id == first.id
    assert events(first) == ["created", "assigned"]
    assert db.session.scalar(select(db.func.count()).select_from(OpportunityEvidence)) == 1


def test_another_kind_is_another_opportunity(make_user):
    account = make_account()
    upsell = record(signal(account))
    churn = record(signal(account, kind=OpportunityKind.CHURN_RISK, rule="nps_detractor"))
    assert churn.id != upsell.id


def test_a_closed_one_gives_way_to_a_new_one(make_user):
    rep = make_user("sales")
    account = make_account(owner=rep)
    first = record(signal(account))
    services.update(rep, first, {"status": "contacted"}, now=NOW)
    services.update(rep, first, {"status": "won", "won_value": 1200}, now=NOW)
    second = record(signal(account, ref_id=9))
    assert second.id != first.id and second.status == OpportunityStatus.NEW


def test_without_account_dedup_is_per_contact(make_user):
    contact = make_contact()
    first = record(signal(contact=contact))
    second = record(signal(contact=contact, ref_id=2))
    assert first.id == second.id and first.account_id is None


def test_a_contacts_account_is_used(make_user):
    account = make_account()
    contact = make_contact(account)
    first = record(signal(contact=contact))
    assert first.account_id == account.id
    assert record(signal(account, ref_id=3)).id == first.id


def test_record_refuses_a_signal_without_customer(app):
    with pytest.raises(InvalidInput) as error:
        services.record(signal(None))
    assert "account_id" in error.value.errors
    with pytest.raises(InvalidInput):
        services.record(Signal(kind=OpportunityKind.UPSELL, source=OpportunitySource.CSAT,
                               reason="x", evidence=(), account_id=987654))


def test_transitions_and_history(make_user):
    rep = make_user("sales")
    opportunity = record(signal(make_account(owner=rep)))
    later = NOW + timedelta(hours=2)
    services.update(rep, opportunity, {"status": "contacted"}, now=later)
    assert opportunity.contacted_at == later
    with pytest.raises(InvalidInput) as error:
        services.update(rep, opportunity, {"status": "lost"}, now=later)
    assert "lost_reason" in error.value.errors
    db.session.rollback()
    services.update(rep, opportunity, {"status": "qualified", "estimated_value": 5000},
                    now=later)
    services.update(rep, opportunity, {"status": "lost", "lost_reason": "Budget"}, now=later)
    assert opportunity.closed_at == later and opportunity.lost_reason == "Budget"
    with pytest.raises(InvalidTransition):
        services.update(rep, opportunity, {"status": "qualified"}, now=later)
    db.session.rollback()
    kinds = events(opportunity)
    assert kinds.count("status_changed") == 3 and "field_changed" in kinds
    change = db.session.scalar(select(OpportunityEvent).where(
        OpportunityEvent.opportunity_id == opportunity.id,
        OpportunityEvent.kind == "status_changed").order_by(OpportunityEvent.id.desc()))
    assert change.actor_id == rep.id
    assert change.data["before"] == "qualified" and change.data["after"] == "lost"


@pytest.mark.parametrize("changes, field", [
    ({"status": "won"}, None),  # new → won skips the first contact: 409
    ({"status": "nonsense"}, "status"),
    ({"estimated_value": -1}, "estimated_value"),
    ({"estimated_value": "12"}, "estimated_value"),
    ({"won_value": 10}, "won_value"),  # not won
    ({"lost_reason": "x"}, "lost_reason"),  # not lost
    ({"suggested_products": "Seats"}, "suggested_products"),
    ({"suggested_products": ["x" * 81]}, "suggested_products"),
    ({"colour": "red"}, "colour"),
])
def test_bad_changes(make_user, changes, field):
    rep = make_user("sales")
    opportunity = record(signal(make_account(owner=rep)))
    expected = InvalidTransition if field is None else InvalidInput
    with pytest.raises(expected) as error:
        services.update(rep, opportunity, changes, now=NOW)
    if field:
        assert field in error.value.errors
    db.session.rollback()
    assert opportunity.status == OpportunityStatus.NEW


def test_owners_take_and_reassign(make_user):
    first, second = make_user("sales"), make_user("sales")
    lead = make_user("lead")
    opportunity = record(signal(make_account()))  # round robin → first
    assert opportunity.owner_id == first.id
    with pytest.raises(Forbidden):  # not theirs
        services.update(second, opportunity, {"status": "contacted"}, now=NOW)
    with pytest.raises(Forbidden):  # only leads reassign
        services.update(first, opportunity, {"owner_id": second.id}, now=NOW)
    services.update(lead, opportunity, {"owner_id": None}, now=NOW)
    services.update(second, opportunity, {"owner_id": second.id}, now=NOW)
    assert opportunity.owner_id == second.id
    with pytest.raises(InvalidInput):  # an agent cannot own opportunities
        services.update(lead, opportunity, {"owner_id": make_user("agent").id}, now=NOW)
    db.session.rollback()
    services.update(lead, opportunity, {"owner_id": first.id}, now=NOW)
    assert db.session.scalar(select(db.func.count()).select_from(Notification).where(
        Notification.user_id == first.id)) == 2  # created, and given back by the lead


def test_create_manual(make_user, make_ticket, support_team):
    agent = make_user("agent", team=support_team)
    rep = make_user("sales")
    account = make_account(owner=rep)
    ticket = make_ticket()
    opportunity, created = services.create_manual(
        agent, kind="cross_sell", reason="Wants the analytics add-on", account_id=account.id,
        contact_id=None, suggested_products=["Analytics"], estimated_value=300,
        ticket_id=ticket.id, now=NOW)
    assert created and opportunity.source == OpportunitySource.MANUAL
    assert opportunity.owner_id == rep.id
    kinds = {row.kind for row in db.session.scalars(select(OpportunityEvidence))}
    assert kinds == {EvidenceKind.NOTE, EvidenceKind.TICKET}
    again, created = services.create_manual(
        agent, kind="cross_sell", reason="Also asked twice", account_id=account.id,
        contact_id=None, now=NOW)
    assert not created and again.id == opportunity.id


def test_create_manual_bad_input_and_permission(make_user):
    with pytest.raises(InvalidInput) as error:
        services.create_manual(make_user("agent"), kind="gold", reason=" ", account_id=None,
                               contact_id=None, estimated_value=-5, ticket_id=99999)
    assert set(error.value.errors) >= {"kind", "reason", "account_id", "estimated_value",
                                       "ticket_id"}
    with pytest.raises(Forbidden):
        services.create_manual(make_user("department"), kind="upsell", reason="x",
                               account_id=None, contact_id=None)
