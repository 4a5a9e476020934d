"""Surveys (CSAT, NPS), their invitations and answers, and the admin settings behind them."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from service.db_types import UTCDateTime, str_enum, utcnow
from service.extensions import db


class SurveyKind(enum.StrEnum):
    CSAT = "csat"
    NPS = "nps"


class InvitationTrigger(enum.StrEnum):
    TICKET_CLOSED = "ticket_closed"  # CSAT after a closed ticket
    NPS_SCHEDULE = "nps_schedule"  # the relationship survey's own schedule
    CAMPAIGN = "campaign"  # an admin's NPS campaign for a segment
    RECOVERY = "recovery"  # the re-survey after a service-recovery follow-up


class InvitationStatus(enum.StrEnum):
    SCHEDULED = "scheduled"  # waits for send_at
    SENT = "sent"  # mailed; the token is live until expires_at
    ANSWERED = "answered"
    SKIPPED = "skipped"  # not sent: skip_reason says why (fatigue, unsubscribed, bouncing…)


class Invitation(db.Model):
    """One request to one contact to answer one survey; its link's token is stored hashed.

    Team, agent, account, product and channel are copied from the ticket (or the account)
    when the invitation is made, so answers are reported by who served the customer then.
    """

    __tablename__ = "survey_invitations"
    _DUE = "status = 'scheduled'"
    _ONE_CSAT = "trigger = 'ticket_closed'"
    __table_args__ = (
        # The sender's work list: scheduled invitations, soonest first.
        Index("ix_survey_invitations_due", "send_at", "id",
              postgresql_where=text(_DUE), sqlite_where=text(_DUE)),
        # The fatigue guard: a contact's latest invitations.
        Index("ix_survey_invitations_contact", "contact_id", "sent_at"),
        # One CSAT per closed ticket, however often it closes again.
        Index("uq_survey_invitations_ticket_csat", "ticket_id", unique=True,
              postgresql_where=text(_ONE_CSAT), sqlite_where=text(_ONE_CSAT)),
        Index("ix_survey_invitations_campaign", "campaign_id"),
        # Response-rate reports count invitations by when they were sent.
        Index("ix_survey_invitations_sent", "sent_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[SurveyKind] = mapped_column(str_enum(SurveyKind, "survey_kind"))
    trigger: Mapped[InvitationTrigger] = mapped_column(
        str_enum(InvitationTrigger, "invitation_trigger"))
    status: Mapped[InvitationStatus] = mapped_column(
        str_enum(InvitationStatus, "invitation_status"), default=InvitationStatus.SCHEDULED)
    skip_reason: Mapped[str | None] = mapped_column(String(40))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    product: Mapped[str | None] = mapped_column(String(80))
    channel: Mapped[str | None] = mapped_column(String(20))
    language: Mapped[str | None] = mapped_column(String(5))
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_campaigns.id", ondelete="SET NULL"))
    # The recovery follow-up this re-survey closes (no foreign key: the follow-up points
    # back at its re-survey, and a cycle of keys would not let either row be made first).
    recovery_id: Mapped[int | None] = mapped_column(Integer)
    # SHA-256 of the link's token: set when the mail is sent (the token itself is never
    # stored), NULL before.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    send_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # first page shown
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SurveyResponse(db.Model):
    """A customer's answer to an invitation: editable until edit_until, then locked."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        Index("ix_survey_responses_kind_created", "kind", "created_at"),
        Index("ix_survey_responses_account_created", "account_id", "created_at"),
        Index("ix_survey_responses_contact", "contact_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invitation_id: Mapped[int] = mapped_column(
        ForeignKey("survey_invitations.id", ondelete="CASCADE"), unique=True)
    kind: Mapped[SurveyKind] = mapped_column(str_enum(SurveyKind, "survey_kind"))
    # Copied from the invitation, so reports need no join.
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    product: Mapped[str | None] = mapped_column(String(80))
    channel: Mapped[str | None] = mapped_column(String(20))
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_campaigns.id", ondelete="SET NULL"))
    # CSAT: 1–5 overall, and 1–5 per dimension (optional). NPS: 0–10, dimensions NULL.
    score: Mapped[int] = mapped_column(Integer)
    attitude: Mapped[int | None] = mapped_column(Integer)  # service attitude
    efficiency: Mapped[int | None] = mapped_column(Integer)  # resolution efficiency
    outcome: Mapped[int | None] = mapped_column(Integer)  # final outcome
    comment: Mapped[str | None] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edit_until: Mapped[datetime] = mapped_column(UTCDateTime)


class SurveyOptOut(db.Model):
    """A contact who unsubscribed from surveys: never invited again."""

    __tablename__ = "survey_opt_outs"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    source: Mapped[str] = mapped_column(String(20))  # "link" (the mail's) or "staff"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    RUNNING = "running"  # batches are being invited
    DONE = "done"
    CANCELLED = "cancelled"


class SurveyCampaign(db.Model):
    """An admin's NPS campaign for a segment, invited in batches by jobs."""

    __tablename__ = "survey_campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[SurveyKind] = mapped_column(str_enum(SurveyKind, "survey_kind"),
                                             default=SurveyKind.NPS)
    status: Mapped[CampaignStatus] = mapped_column(
        str_enum(CampaignStatus, "campaign_status"), default=CampaignStatus.DRAFT)
    # {"tier": "vip"|None, "product": str|None, "owner_id": int|None,
    #  "last_contact_days": int|None} — every given key must match.
    segment: Mapped[dict] = mapped_column(JSON, default=dict)
    # The batches walk contacts by id; the last one invited (or skipped) so far.
    cursor_contact_id: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    targeted: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    invited: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SurveySettings(db.Model):
    """The admins' survey, recovery, health and opportunity settings: one row (id 1)."""

    __tablename__ = "survey_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    csat_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    csat_delay_minutes: Mapped[int] = mapped_column(Integer, default=60)
    nps_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    nps_interval_days: Mapped[int] = mapped_column(Integer, default=90)
    # The schedule surveys contacts with a ticket in this many days ("with activity").
    nps_activity_days: Mapped[int] = mapped_column(Integer, default=180)
    fatigue_days: Mapped[int] = mapped_column(Integer, default=30)
    token_days: Mapped[int] = mapped_column(Integer, default=30)
    edit_hours: Mapped[int] = mapped_column(Integer, default=24)
    campaign_batch_size: Mapped[int] = mapped_column(Integer, default=200)
    recovery_hours: Mapped[int] = mapped_column(Integer, default=24)
    recovery_csat_max: Mapped[int] = mapped_column(Integer, default=2)
    recovery_nps_max: Mapped[int] = mapped_column(Integer, default=6)
    # Days after a recovery follow-up is done before the customer is asked again.
    resurvey_delay_days: Mapped[int] = mapped_column(Integer, default=3)
    opportunity_contact_hours: Mapped[int] = mapped_column(Integer, default=24)
    repeat_ticket_threshold: Mapped[int] = mapped_column(Integer, default=3)
    repeat_window_days: Mapped[int] = mapped_column(Integer, default=30)
    # Routing: a new ticket of a VIP account whose health is below the threshold is raised
    # one priority step.
    health_priority_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    health_priority_threshold: Mapped[int] = mapped_column(Integer, default=40)
    revisit_default_days: Mapped[int] = mapped_column(Integer, default=30)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


# ---- service recovery ----

class RecoveryStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"


class RecoveryOutcome(enum.StrEnum):
    RESOLVED = "resolved"  # the customer's concern was addressed
    PARTIALLY = "partially"
    NOT_RESOLVED = "not_resolved"
    UNREACHABLE = "unreachable"


class RecoveryFollowUp(db.Model):
    """A low CSAT or an NPS detractor: the lead (and a VIP's account manager) calls back."""

    __tablename__ = "recovery_follow_ups"
    _OPEN = "status = 'open'"
    __table_args__ = (
        Index("ix_recovery_open_due", "due_at", "id",
              postgresql_where=text(_OPEN), sqlite_where=text(_OPEN)),
        Index("ix_recovery_owner_status", "owner_id", "status"),
        Index("ix_recovery_account", "account_id", "created_at"),
        Index("ix_recovery_created", "created_at"),  # the recovery report's period
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("survey_responses.id", ondelete="CASCADE"), unique=True)
    kind: Mapped[SurveyKind] = mapped_column(str_enum(SurveyKind, "survey_kind"))
    score: Mapped[int] = mapped_column(Integer)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    account_manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[RecoveryStatus] = mapped_column(
        str_enum(RecoveryStatus, "recovery_status"), default=RecoveryStatus.OPEN)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    overdue_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[RecoveryOutcome | None] = mapped_column(
        str_enum(RecoveryOutcome, "recovery_outcome"))
    note: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The re-survey sent once the follow-up is done, and whether its answer won them back
    # (CSAT ≥ 4, or NPS ≥ 7); NULL until answered.
    resurvey_invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_invitations.id", ondelete="SET NULL"))
    won_back: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# ---- account health ----

class HealthBand(enum.StrEnum):
    HEALTHY = "healthy"  # 70–100
    WATCH = "watch"  # 40–69
    AT_RISK = "at_risk"  # 0–39


class AccountHealth(db.Model):
    """One computation of an account's health score; the newest row is the current one."""

    __tablename__ = "account_health_scores"
    __table_args__ = (Index("ix_account_health_account_at", "account_id", "computed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    score: Mapped[int] = mapped_column(Integer)
    band: Mapped[HealthBand] = mapped_column(str_enum(HealthBand, "health_band"))
    # Each input and its points: {"csat": {"value": 4.2, "points": 22.5}, ...}
    components: Mapped[dict] = mapped_column(JSON, default=dict)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# ---- opportunities for sales ----

class OpportunityKind(enum.StrEnum):
    UPSELL = "upsell"
    CROSS_SELL = "cross_sell"
    REFERRAL = "referral"
    RENEWAL = "renewal"
    CHURN_RISK = "churn_risk"


class OpportunitySource(enum.StrEnum):
    NPS_PROMOTER = "nps_promoter"
    CSAT = "csat"
    TICKET_SIGNAL = "ticket_signal"
    VIP_REVISIT = "vip_revisit"
    MANUAL = "manual"


class OpportunityStatus(enum.StrEnum):
    NEW = "new"
    CONTACTED = "contacted"
    QUALIFIED = "qualified"
    WON = "won"
    LOST = "lost"


OPEN_OPPORTUNITY_STATUSES = (OpportunityStatus.NEW, OpportunityStatus.CONTACTED,
                             OpportunityStatus.QUALIFIED)
_OPEN_SQL = "status IN ('new', 'contacted', 'qualified')"
_OPEN_NO_ACCOUNT_SQL = _OPEN_SQL + " AND account_id IS NULL"
_UNTOUCHED_SQL = "status = 'new' AND owner_id IS NOT NULL"


class Opportunity(db.Model):
    """A reason for sales to call a customer, with the evidence behind it."""

    __tablename__ = "opportunities"
    __table_args__ = (
        # One open opportunity per account and kind (per contact when there is no account).
        Index("uq_opportunities_open_account_kind", "account_id", "kind", unique=True,
              postgresql_where=text(_OPEN_SQL), sqlite_where=text(_OPEN_SQL)),
        Index("uq_opportunities_open_contact_kind", "contact_id", "kind", unique=True,
              postgresql_where=text(_OPEN_NO_ACCOUNT_SQL),
              sqlite_where=text(_OPEN_NO_ACCOUNT_SQL)),
        # The pool-return sweep's work list: owned, never contacted, by deadline.
        Index("ix_opportunities_untouched_due", "first_contact_due_at", "id",
              postgresql_where=text(_UNTOUCHED_SQL), sqlite_where=text(_UNTOUCHED_SQL)),
        Index("ix_opportunities_owner_status", "owner_id", "status", "first_contact_due_at"),
        Index("ix_opportunities_status_created", "status", "created_at"),
        Index("ix_opportunities_created", "created_at"),  # the opportunity report's period
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    kind: Mapped[OpportunityKind] = mapped_column(str_enum(OpportunityKind, "opportunity_kind"))
    source: Mapped[OpportunitySource] = mapped_column(
        str_enum(OpportunitySource, "opportunity_source"))
    status: Mapped[OpportunityStatus] = mapped_column(
        str_enum(OpportunityStatus, "opportunity_status"), default=OpportunityStatus.NEW)
    reason: Mapped[str] = mapped_column(Text)  # in words: which rule, on what evidence
    suggested_products: Mapped[list] = mapped_column(JSON, default=list)
    estimated_value: Mapped[int | None] = mapped_column(Integer)  # whole currency units
    won_value: Mapped[int | None] = mapped_column(Integer)
    lost_reason: Mapped[str | None] = mapped_column(String(300))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The rep whose deadline passed: their lead is told, and they may not take it back first.
    returned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    first_contact_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    contacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_to_pool_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EvidenceKind(enum.StrEnum):
    SURVEY_RESPONSE = "survey_response"
    TICKET = "ticket"
    MESSAGE = "message"
    REVISIT = "revisit"
    NOTE = "note"  # a rep's or agent's own words (manual opportunities)


class OpportunityEvidence(db.Model):
    """What an opportunity rests on: a link to a response, ticket or message, and the phrase
    or rule that triggered it."""

    __tablename__ = "opportunity_evidence"
    __table_args__ = (
        Index("uq_opportunity_evidence", "opportunity_id", "kind", "ref_id", "rule",
              unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"))
    kind: Mapped[EvidenceKind] = mapped_column(str_enum(EvidenceKind, "evidence_kind"))
    ref_id: Mapped[int | None] = mapped_column(Integer)  # the response, ticket, message…
    rule: Mapped[str] = mapped_column(String(80))  # which rule fired (its key)
    phrase: Mapped[str | None] = mapped_column(String(300))  # the words that triggered it
    excerpt: Mapped[str | None] = mapped_column(String(500))  # the sentence around them
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OpportunityEvent(db.Model):
    """The history of an opportunity: created, evidence added, owner and status changes."""

    __tablename__ = "opportunity_events"
    __table_args__ = (Index("ix_opportunity_events_opportunity", "opportunity_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SignalRule(db.Model):
    """An admin's phrase rule: words in a ticket or survey comment that mean an opportunity.

    Phrases match case-insensitively as written; a negation just before them ("don't need",
    "不需要") cancels the match (see surveys.signals).
    """

    __tablename__ = "opportunity_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[OpportunityKind] = mapped_column(str_enum(OpportunityKind, "opportunity_kind"))
    language: Mapped[str] = mapped_column(String(5))  # "en", "zh" or "any"
    phrases: Mapped[list] = mapped_column(JSON, default=list)
    # The product a match suggests (cross-sell: only when the account does not own it).
    product: Mapped[str | None] = mapped_column(String(80))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    built_in: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# ---- VIP revisits ----

class RevisitPlan(db.Model):
    """A VIP account's revisit schedule: how often, and who calls."""

    __tablename__ = "revisit_plans"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    interval_days: Mapped[int] = mapped_column(Integer)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RevisitStatus(enum.StrEnum):
    PLANNED = "planned"
    DONE = "done"
    CANCELLED = "cancelled"


class Revisit(db.Model):
    """One revisit call to a VIP account: checklist, notes, satisfaction on the call."""

    __tablename__ = "revisits"
    _PLANNED = "status = 'planned'"
    __table_args__ = (
        Index("uq_revisits_planned_account", "account_id", unique=True,
              postgresql_where=text(_PLANNED), sqlite_where=text(_PLANNED)),
        Index("ix_revisits_owner_status_due", "owner_id", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[RevisitStatus] = mapped_column(
        str_enum(RevisitStatus, "revisit_status"), default=RevisitStatus.PLANNED)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checklist: Mapped[list] = mapped_column(JSON, default=list)  # [{"item": str, "done": bool}]
    notes: Mapped[str | None] = mapped_column(Text)
    satisfaction: Mapped[int | None] = mapped_column(Integer)  # 1–5, asked on the call
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    opportunity_id: Mapped[int | None] = mapped_column(
        ForeignKey("opportunities.id", ondelete="SET NULL"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
