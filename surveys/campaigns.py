"""Admins' NPS campaigns: a segment of contacts, invited in batches by jobs.

A segment keeps only the keys the admin gave, and a contact must match every one: the
account's tier, a product the account owns, the account's sales owner, and a ticket
within the last N days. The batches walk the matching contacts by id from a cursor kept
on the campaign, so a batch run twice (a retried job, two workers) invites nobody twice:
each batch locks the campaign row, reads the cursor, and moves it past what it invited.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, exists, func, select, update

from service import jobs
from service.auth.models import User
from service.db_types import utcnow
from service.directory.models import Account, AccountProduct, Contact, Tier
from service.errors import Conflict, InvalidInput, NotFound
from service.extensions import db
from service.pagination import decode_cursor, encode_cursor
from service.validation import is_id
from surveys import settings as survey_settings
from surveys.invitations import Snapshot, create_invitation
from surveys.models import (CampaignStatus, Invitation, InvitationStatus, InvitationTrigger,
                            SurveyCampaign, SurveyKind)
from tickets.facts import contacts_with_ticket_since

SEGMENT_KEYS = ("tier", "product", "owner_id", "last_contact_days")
MAX_LAST_CONTACT_DAYS = 3650
CANCELLED_SKIP_REASON = "cancelled"
STARTABLE = (CampaignStatus.DRAFT,)
CANCELLABLE = (CampaignStatus.DRAFT, CampaignStatus.RUNNING)


# ---- the segment ----

def clean_segment(segment: dict[str, Any]) -> dict[str, Any]:
    """The segment with only its given keys, checked; InvalidInput with field errors."""
    errors: dict[str, list] = {}
    clean: dict[str, Any] = {}
    unknown = set(segment) - set(SEGMENT_KEYS)
    for key in sorted(unknown):
        errors[key] = [_("Unknown segment field.")]
    tier = segment.get("tier")
    if tier not in (None, ""):
        if tier not in {item.value for item in Tier}:
            errors["tier"] = [_("Choose standard or vip.")]
        else:
            clean["tier"] = str(tier)
    product = segment.get("product")
    if isinstance(product, str) and product.strip():
        product = product.strip()
        if len(product) > 80:
            errors["product"] = [_("A product name has at most 80 characters.")]
        elif not db.session.scalar(select(exists().where(AccountProduct.product == product))):
            errors["product"] = [_("No account owns this product.")]
        else:
            clean["product"] = product
    elif product not in (None, ""):
        errors["product"] = [_("Give a product name.")]
    owner_id = segment.get("owner_id")
    if owner_id is not None:
        owner = db.session.get(User, owner_id) if is_id(owner_id) else None
        if owner is None:
            errors["owner_id"] = [_("No such staff member.")]
        else:
            clean["owner_id"] = owner.id
    days = segment.get("last_contact_days")
    if days is not None:
        if isinstance(days, bool) or not isinstance(days, int) \
                or not 1 <= days <= MAX_LAST_CONTACT_DAYS:
            errors["last_contact_days"] = [_("Give a number of days from 1 to %(max)s.",
                                              max=MAX_LAST_CONTACT_DAYS)]
        else:
            clean["last_contact_days"] = days
    if errors:
        raise InvalidInput(errors={"segment": errors})
    return clean


def segment_query(segment: dict[str, Any], now: datetime) -> Select:
    """The ids of the contacts a (clean) segment matches."""
    query = select(Contact.id)
    account_filters = []
    if "tier" in segment:
        account_filters.append(Account.tier == Tier(segment["tier"]))
    if "owner_id" in segment:
        account_filters.append(Account.sales_owner_id == segment["owner_id"])
    if account_filters:
        query = query.join(Account, Account.id == Contact.account_id).where(*account_filters)
    if "product" in segment:
        query = query.where(exists().where(AccountProduct.account_id == Contact.account_id,
                                           AccountProduct.product == segment["product"]))
    if "last_contact_days" in segment:
        since = now - timedelta(days=segment["last_contact_days"])
        query = query.where(Contact.id.in_(contacts_with_ticket_since(since)))
    return query


def preview(segment: dict[str, Any], now: datetime | None = None) -> int:
    """How many contacts the segment matches now (InvalidInput if it is not valid)."""
    clean = clean_segment(segment)
    query = segment_query(clean, now or utcnow())
    return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0


# ---- campaigns ----

def create_campaign(user: User | None, name: str, segment: dict[str, Any]) -> SurveyCampaign:
    """A draft NPS campaign for the segment (no commit); InvalidInput with field errors."""
    errors: dict[str, Any] = {}
    name = (name or "").strip()
    if not 1 <= len(name) <= 120:
        errors["name"] = [_("Give the campaign a name of at most 120 characters.")]
    try:
        segment = clean_segment(segment)
    except InvalidInput as error:
        errors.update(error.errors or {})
    if errors:
        raise InvalidInput(errors=errors)
    campaign = SurveyCampaign(name=name, kind=SurveyKind.NPS, status=CampaignStatus.DRAFT,
                              segment=segment, created_by_id=user.id if user else None,
                              created_at=utcnow())
    db.session.add(campaign)
    db.session.flush()
    return campaign


def get_campaign(campaign_id: int, *, for_update: bool = False) -> SurveyCampaign:
    """The campaign with this id as stored now, or NotFound."""
    if not is_id(campaign_id):
        raise NotFound(_("No such campaign."))
    # Always read afresh: a batch job may have moved it on since this session loaded it.
    query = (select(SurveyCampaign).where(SurveyCampaign.id == campaign_id)
             .execution_options(populate_existing=True))
    if for_update:
        query = query.with_for_update()
    campaign = db.session.scalar(query)
    if campaign is None:
        raise NotFound(_("No such campaign."))
    return campaign


def list_campaigns(limit: int = 50, cursor: str | None = None
                   ) -> tuple[list[SurveyCampaign], str | None]:
    """One keyset page of campaigns, newest first, and the next cursor."""
    query = select(SurveyCampaign)
    if cursor:
        _, last_id = decode_cursor(cursor, "-id")
        query = query.where(SurveyCampaign.id < last_id)
    rows = list(db.session.scalars(query.order_by(SurveyCampaign.id.desc()).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor("-id", None, rows[-1].id)


def start(campaign: SurveyCampaign, now: datetime | None = None) -> None:
    """Start a draft campaign (Conflict otherwise): the first batch runs after commit."""
    from surveys import nps_jobs

    campaign = get_campaign(campaign.id, for_update=True)
    if campaign.status not in STARTABLE:
        raise Conflict(_("Only a draft campaign can be started."))
    campaign.status = CampaignStatus.RUNNING
    campaign.started_at = now or utcnow()
    jobs.enqueue(nps_jobs.run_campaign_batch, campaign.id)


def cancel(campaign: SurveyCampaign, now: datetime | None = None) -> int:
    """Cancel a draft or running campaign (Conflict otherwise); returns invitations skipped.

    Its invitations not sent yet are skipped with reason "cancelled"; sent ones stay live.
    """
    campaign = get_campaign(campaign.id, for_update=True)
    if campaign.status not in CANCELLABLE:
        raise Conflict(_("A finished or cancelled campaign cannot be cancelled."))
    campaign.status = CampaignStatus.CANCELLED
    campaign.finished_at = now or utcnow()
    result = db.session.execute(
        update(Invitation)
        .where(Invitation.campaign_id == campaign.id,
               Invitation.status == InvitationStatus.SCHEDULED)
        .values(status=InvitationStatus.SKIPPED, skip_reason=CANCELLED_SKIP_REASON)
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


def run_batch(campaign_id: int, now: datetime | None = None) -> int:
    """Invite the next batch of the campaign's contacts; commits. Returns how many were met.

    Queues the next batch while contacts are left; the last batch marks the campaign done.
    A campaign that is not running (cancelled meanwhile, or done) is left alone.
    """
    from surveys import nps_jobs

    now = now or utcnow()
    campaign = db.session.scalar(
        select(SurveyCampaign).where(SurveyCampaign.id == campaign_id)
        .with_for_update().execution_options(populate_existing=True))
    if campaign is None or campaign.status != CampaignStatus.RUNNING:
        db.session.commit()
        return 0
    size = survey_settings.current().campaign_batch_size
    reference = campaign.started_at or now  # the segment's window is fixed at the start
    rows = db.session.execute(
        select(Contact.id, Contact.account_id)
        .where(Contact.id.in_(segment_query(campaign.segment or {}, reference)),
               Contact.id > campaign.cursor_contact_id)
        .order_by(Contact.id).limit(size)).all()
    for contact_id, account_id in rows:
        invitation = create_invitation(
            SurveyKind.NPS, InvitationTrigger.CAMPAIGN, contact_id, send_at=now,
            snapshot=Snapshot(account_id=account_id), campaign_id=campaign.id, now=now)
        campaign.targeted += 1
        if invitation.status == InvitationStatus.SKIPPED:
            campaign.skipped += 1
        else:
            campaign.invited += 1
    if rows:
        campaign.cursor_contact_id = rows[-1][0]
    if len(rows) < size:
        campaign.status = CampaignStatus.DONE
        campaign.finished_at = now
    else:
        jobs.enqueue(nps_jobs.run_campaign_batch, campaign.id)
    db.session.commit()
    return len(rows)


@dataclass(frozen=True)
class CampaignProgress:
    """What became of a campaign's invitations so far."""
    targeted: int
    invited: int
    skipped: int
    sent: int
    opened: int
    answered: int


def progress(campaign: SurveyCampaign) -> CampaignProgress:
    """The campaign's counters, with sent, opened and answered counted from its invitations."""
    return progress_of([campaign])[campaign.id]


def progress_of(rows: list[SurveyCampaign]) -> dict[int, CampaignProgress]:
    """Each campaign's progress by id, counted in one query."""
    counted = {campaign_id: (sent, opened, answered)
               for campaign_id, sent, opened, answered in db.session.execute(
                   select(Invitation.campaign_id, func.count(Invitation.sent_at),
                          func.count(Invitation.opened_at), func.count(Invitation.answered_at))
                   .where(Invitation.campaign_id.in_([row.id for row in rows]))
                   .group_by(Invitation.campaign_id))} if rows else {}
    return {row.id: CampaignProgress(row.targeted, row.invited, row.skipped,
                                     *(int(n or 0) for n in counted.get(row.id, (0, 0, 0))))
            for row in rows}


def skip_reasons(campaign: SurveyCampaign) -> dict[str, int]:
    """How many of the campaign's invitations were skipped, by reason."""
    return {reason: count for reason, count in db.session.execute(
        select(Invitation.skip_reason, func.count())
        .where(Invitation.campaign_id == campaign.id,
               Invitation.status == InvitationStatus.SKIPPED)
        .group_by(Invitation.skip_reason).order_by(Invitation.skip_reason))}


# ---- choices for the console's segment form ----

def product_choices() -> list[str]:
    """Every product some account owns, sorted."""
    return list(db.session.scalars(select(AccountProduct.product).distinct()
                                   .order_by(AccountProduct.product)))


def owner_choices() -> list[tuple[int, str]]:
    """(id, name) of the staff who own an account as its sales owner, by name."""
    return [(row.id, row.name) for row in db.session.execute(
        select(User.id, User.name).where(User.id.in_(
            select(Account.sales_owner_id).where(Account.sales_owner_id.is_not(None))))
        .order_by(User.name, User.id))]
