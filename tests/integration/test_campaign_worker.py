"""An NPS campaign invited by real `rq worker` processes on PostgreSQL + Redis: batch after
batch until done, each contact once, even when two workers run the same batch at once."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from service import jobs
from service.directory.models import Account, Contact, Tier
from service.extensions import db
from surveys import campaigns
from surveys import settings as survey_settings
from surveys.models import CampaignStatus, Invitation, InvitationStatus, SurveyCampaign

pytestmark = pytest.mark.integration


def _segment(count: int) -> list[int]:
    vip = Account(name="Acme VIP", tier=Tier.VIP)
    other = Account(name="Plain Co", tier=Tier.STANDARD)
    db.session.add_all([vip, other])
    db.session.flush()
    contacts = [Contact(name=f"VIP {n}", email=f"vip{n}@acme.test", account_id=vip.id)
                for n in range(count)]
    db.session.add_all(contacts)
    db.session.add(Contact(name="Plain", email="plain@plain.test", account_id=other.id))
    survey_settings.current().campaign_batch_size = 2
    db.session.commit()
    return [contact.id for contact in contacts]


def _invited_contacts(campaign_id: int) -> list[int]:
    return list(db.session.scalars(select(Invitation.contact_id)
                                   .where(Invitation.campaign_id == campaign_id)
                                   .order_by(Invitation.contact_id)))


def test_a_campaign_runs_batch_by_batch_in_the_worker(rq_stack):
    members = _segment(3)
    campaign = campaigns.create_campaign(None, "VIP pulse", {"tier": "vip"})
    db.session.commit()
    campaigns.start(campaign)
    db.session.commit()
    assert rq_stack.queue("default").count == 1  # the first batch; it queues the next
    rq_stack.run_burst_worker()  # two batches of two: the second finds one left and ends
    db.session.expire_all()
    campaign = db.session.get(SurveyCampaign, campaign.id)
    assert campaign.status == CampaignStatus.DONE
    assert (campaign.targeted, campaign.invited, campaign.skipped) == (3, 3, 0)
    assert campaign.cursor_contact_id == members[-1]
    assert _invited_contacts(campaign.id) == members
    assert db.session.scalar(select(func.count()).select_from(Invitation).where(
        Invitation.campaign_id == campaign.id,
        Invitation.status == InvitationStatus.SCHEDULED)) == 3


def test_two_workers_running_the_same_batch_invite_nobody_twice(rq_stack):
    from surveys import nps_jobs

    members = _segment(3)
    campaign = campaigns.create_campaign(None, "Twice", {"tier": "vip"})
    campaign.status = CampaignStatus.RUNNING
    db.session.commit()
    # The same batch queued twice (a retried job, a double click): two jobs on the queue.
    for _ in range(2):
        jobs.enqueue(nps_jobs.run_campaign_batch, campaign.id)
        db.session.commit()
    assert rq_stack.queue("default").count == 2
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = [pool.submit(rq_stack.run_burst_worker, ("default",)) for _ in range(2)]
        for run in runs:
            run.result()
    rq_stack.run_burst_worker(("default",))  # batches queued by whichever finished last
    db.session.expire_all()
    campaign = db.session.get(SurveyCampaign, campaign.id)
    assert campaign.status == CampaignStatus.DONE
    assert _invited_contacts(campaign.id) == members  # each once, none twice
    assert (campaign.targeted, campaign.invited) == (3, 3)
