"""NPS campaigns: segments, batches and counters, fatigue, cancel, state conflicts."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from service.db_types import utcnow
from service.directory.models import Account, AccountProduct, Contact, Tier
from service.errors import Conflict, InvalidInput, NotFound
from service.extensions import db
from surveys import campaigns
from surveys import settings as survey_settings
from surveys.invitations import SkipReason
from surveys.models import (CampaignStatus, Invitation, InvitationStatus, InvitationTrigger,
                            SurveyCampaign, SurveyKind)
from tickets.models import Ticket


@pytest.fixture
def make_contact(active_app):
    """make_contact(account=None, email=...) → a committed contact."""
    counter = iter(range(1, 10**6))

    def factory(account: Account | None = None, **fields) -> Contact:
        number = next(counter)
        contact = Contact(name=fields.pop("name", f"Contact {number}"),
                          email=fields.pop("email", f"contact{number}@example.com"),
                          account_id=account.id if account else None, **fields)
        db.session.add(contact)
        db.session.commit()
        return contact

    return factory


@pytest.fixture
def make_account(active_app):
    counter = iter(range(1, 10**6))

    def factory(tier: Tier = Tier.STANDARD, products: tuple[str, ...] = (),
                owner=None) -> Account:
        account = Account(name=f"Account {next(counter)}", tier=tier,
                          sales_owner_id=owner.id if owner else None)
        db.session.add(account)
        db.session.flush()
        for product in products:
            db.session.add(AccountProduct(account_id=account.id, product=product))
        db.session.commit()
        return account

    return factory


def _campaign(segment: dict | None = None, name: str = "Spring NPS") -> SurveyCampaign:
    campaign = campaigns.create_campaign(None, name, segment or {})
    db.session.commit()
    return campaign


def _invitations(campaign: SurveyCampaign) -> list[Invitation]:
    return list(db.session.scalars(select(Invitation).where(
        Invitation.campaign_id == campaign.id).order_by(Invitation.contact_id)))


def _batch_size(size: int) -> None:
    survey_settings.current().campaign_batch_size = size
    db.session.commit()


# ---- segments ----

def test_segment_filters_each_narrow_the_contacts(make_account, make_contact, make_user,
                                                  make_ticket):
    rep = make_user("sales")
    vip = make_account(Tier.VIP, products=("Analytics",), owner=rep)
    standard = make_account(Tier.STANDARD, products=("Analytics", "Storage"))
    vip_contact, standard_contact = make_contact(vip), make_contact(standard)
    loner = make_contact()
    assert campaigns.preview({}) == 3
    assert campaigns.preview({"tier": "vip"}) == 1
    assert campaigns.preview({"tier": "standard"}) == 1
    assert campaigns.preview({"product": "Analytics"}) == 2
    assert campaigns.preview({"product": "Storage"}) == 1
    assert campaigns.preview({"owner_id": rep.id}) == 1
    assert campaigns.preview({"tier": "vip", "product": "Storage"}) == 0
    # Last contact: a ticket within N days.
    make_ticket(customer_email=standard_contact.email)
    old = make_ticket(customer_email=vip_contact.email)
    old.created_at = utcnow() - timedelta(days=40)
    db.session.commit()
    assert campaigns.preview({"last_contact_days": 30}) == 1
    assert campaigns.preview({"last_contact_days": 60}) == 2
    assert campaigns.preview({"last_contact_days": 60, "tier": "vip"}) == 1
    assert loner.id  # no account: matched only by a segment with no account keys


@pytest.mark.parametrize("segment, field", [
    ({"tier": "gold"}, "tier"),
    ({"product": "Nobody owns this"}, "product"),
    ({"owner_id": 999999}, "owner_id"),
    ({"last_contact_days": 0}, "last_contact_days"),
    ({"last_contact_days": "7"}, "last_contact_days"),
    ({"colour": "red"}, "colour"),
])
def test_bad_segments_are_refused_with_field_errors(app, segment, field):
    with pytest.raises(InvalidInput) as caught:
        campaigns.preview(segment)
    assert field in caught.value.errors["segment"]


def test_a_campaign_needs_a_name(app):
    with pytest.raises(InvalidInput) as caught:
        campaigns.create_campaign(None, "  ", {"tier": "gold"})
    assert set(caught.value.errors) == {"name", "segment"}


# ---- batches ----

def test_batches_invite_the_segment_and_count(make_account, make_contact, monkeypatch):
    queued = []
    monkeypatch.setattr(campaigns.jobs, "enqueue", lambda func, *args: queued.append(args))
    _batch_size(2)
    vip = make_account(Tier.VIP)
    members = [make_contact(vip) for _ in range(5)]
    make_contact(make_account(Tier.STANDARD))  # outside the segment
    campaign = _campaign({"tier": "vip"})
    now = utcnow()
    campaign.status = CampaignStatus.RUNNING  # run the batches by hand, one at a time
    db.session.commit()
    assert campaigns.run_batch(campaign.id, now=now) == 2
    db.session.refresh(campaign)
    assert (campaign.targeted, campaign.invited, campaign.cursor_contact_id) \
        == (2, 2, members[1].id)
    assert campaign.status == CampaignStatus.RUNNING
    assert queued == [(campaign.id,)]  # the next batch
    assert campaigns.run_batch(campaign.id, now=now) == 2
    assert campaigns.run_batch(campaign.id, now=now) == 1
    assert len(queued) == 2  # the last batch queues nothing
    db.session.refresh(campaign)
    assert campaign.status == CampaignStatus.DONE and campaign.finished_at == now
    assert (campaign.targeted, campaign.invited, campaign.skipped) == (5, 5, 0)
    invitations = _invitations(campaign)
    assert [inv.contact_id for inv in invitations] == [member.id for member in members]
    assert {(inv.kind, inv.trigger, inv.status, inv.account_id) for inv in invitations} \
        == {(SurveyKind.NPS, InvitationTrigger.CAMPAIGN, InvitationStatus.SCHEDULED, vip.id)}
    # A batch that runs again (a retried job) invites nobody twice.
    assert campaigns.run_batch(campaign.id, now=now) == 0
    assert len(_invitations(campaign)) == 5


def test_start_runs_every_batch_through_the_jobs(make_account, make_contact):
    _batch_size(2)
    account = make_account(products=("Analytics",))
    for _ in range(5):
        make_contact(account)
    campaign = _campaign({"product": "Analytics"})
    campaigns.start(campaign)
    db.session.commit()  # the first batch is queued after commit; each queues the next
    campaign = campaigns.get_campaign(campaign.id)
    assert campaign.status == CampaignStatus.DONE
    assert (campaign.targeted, campaign.invited) == (5, 5)
    progress = campaigns.progress(campaign)
    assert (progress.sent, progress.opened, progress.answered) == (0, 0, 0)


def test_an_empty_segment_finishes_at_once(make_account):
    campaign = _campaign({"tier": "vip"})
    campaigns.start(campaign)
    db.session.commit()
    campaign = campaigns.get_campaign(campaign.id)
    assert campaign.status == CampaignStatus.DONE and campaign.targeted == 0


def test_fatigue_spans_csat_and_nps(make_contact):
    """A contact sent a CSAT 10 days ago is skipped by a campaign, with reason fatigue."""
    tired, fresh = make_contact(), make_contact()
    sent = utcnow() - timedelta(days=10)
    db.session.add(Invitation(kind=SurveyKind.CSAT, trigger=InvitationTrigger.TICKET_CLOSED,
                              contact_id=tired.id, status=InvitationStatus.SENT,
                              send_at=sent, sent_at=sent, created_at=sent))
    db.session.commit()
    campaign = _campaign()
    campaigns.start(campaign)
    db.session.commit()
    campaign = campaigns.get_campaign(campaign.id)
    assert (campaign.targeted, campaign.invited, campaign.skipped) == (2, 1, 1)
    by_contact = {inv.contact_id: inv for inv in _invitations(campaign)}
    assert by_contact[tired.id].status == InvitationStatus.SKIPPED
    assert by_contact[tired.id].skip_reason == SkipReason.FATIGUE
    assert by_contact[fresh.id].status == InvitationStatus.SCHEDULED
    assert campaigns.skip_reasons(campaign) == {SkipReason.FATIGUE: 1}


def test_progress_counts_sent_opened_and_answered(make_contact):
    contacts = [make_contact() for _ in range(3)]
    campaign = _campaign()
    campaigns.start(campaign)
    db.session.commit()
    now = utcnow()
    invitations = _invitations(campaign)
    for invitation in invitations:
        invitation.status, invitation.sent_at = InvitationStatus.SENT, now
    invitations[0].opened_at = invitations[1].opened_at = now
    invitations[0].answered_at = now
    db.session.commit()
    progress = campaigns.progress(campaigns.get_campaign(campaign.id))
    assert (progress.targeted, progress.sent, progress.opened, progress.answered) \
        == (len(contacts), 3, 2, 1)


# ---- states ----

def test_start_and_cancel_conflicts(make_contact):
    make_contact()
    campaign = _campaign()
    campaigns.start(campaign)
    db.session.commit()
    with pytest.raises(Conflict):
        campaigns.start(campaign)  # done
    with pytest.raises(Conflict):
        campaigns.cancel(campaign)  # done
    draft = _campaign(name="Draft")
    campaigns.cancel(draft)
    db.session.commit()
    assert campaigns.get_campaign(draft.id).status == CampaignStatus.CANCELLED
    with pytest.raises(Conflict):
        campaigns.start(draft)
    with pytest.raises(Conflict):
        campaigns.cancel(draft)
    with pytest.raises(NotFound):
        campaigns.get_campaign(2**40)


def test_cancel_skips_the_invitations_not_sent_yet(make_contact, monkeypatch):
    monkeypatch.setattr(campaigns.jobs, "enqueue", lambda func, *args: None)
    _batch_size(2)
    for _ in range(4):
        make_contact()
    campaign = _campaign()
    campaign.status = CampaignStatus.RUNNING
    db.session.commit()
    campaigns.run_batch(campaign.id)
    first, second = _invitations(campaign)
    first.status, first.sent_at = InvitationStatus.SENT, utcnow()
    db.session.commit()
    assert campaigns.cancel(campaign) == 1
    db.session.commit()
    db.session.refresh(second)
    assert (second.status, second.skip_reason) == (InvitationStatus.SKIPPED, "cancelled")
    db.session.refresh(first)
    assert first.status == InvitationStatus.SENT
    # The queued next batch finds the campaign cancelled and invites nobody.
    assert campaigns.run_batch(campaign.id) == 0
    assert len(_invitations(campaign)) == 2


def test_list_is_newest_first_with_keyset_pages(app):
    made = [_campaign(name=f"Campaign {n}") for n in range(3)]
    page, cursor = campaigns.list_campaigns(limit=2)
    assert [row.id for row in page] == [made[2].id, made[1].id]
    page, cursor = campaigns.list_campaigns(limit=2, cursor=cursor)
    assert [row.id for row in page] == [made[0].id] and cursor is None


def test_tickets_of_contacts_count_for_the_window(make_contact, make_ticket):
    contact = make_contact()
    make_ticket(customer_email=contact.email)
    assert db.session.scalar(select(Ticket.contact_id)) == contact.id
    assert campaigns.preview({"last_contact_days": 1}) == 1
