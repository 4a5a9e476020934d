"""Tickets, their timeline, SLA policies and clocks, routing rules."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (DDL, JSON, Boolean, Date, ForeignKey, Index, Integer, LargeBinary,
                        String, Text, UniqueConstraint, event, false)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.auth.models import User
from service.db_types import UTCDateTime, str_enum, utcnow
from service.directory.models import Account, Contact, Team
from service.extensions import db


class Status(enum.StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING_CUSTOMER = "pending_customer"
    PENDING_INTERNAL = "pending_internal"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"


# Statuses in which the ticket is still ours to work (counts toward an agent's load).
OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING_CUSTOMER, Status.PENDING_INTERNAL,
                 Status.REOPENED)


class Priority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


PRIORITY_ORDER = (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT)


class Channel(enum.StrEnum):
    EMAIL = "email"
    WEB = "web"
    PORTAL = "portal"
    CHAT = "chat"
    PHONE = "phone"
    API = "api"
    WALK_IN = "walk_in"  # the customer came to the counter; staff opened the ticket


class ClosedReason(enum.StrEnum):
    CONFIRMED = "confirmed"  # the customer confirmed the fix (link, portal, mail or phone)
    AUTO_CONFIRMED = "auto_confirmed"  # no answer within the policy's waiting time
    CLOSED_BY_STAFF = "closed_by_staff"  # closed without a confirmation, with a reason


class SlaState(enum.StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    PAUSED = "paused"
    MET = "met"


class SlaTarget(enum.StrEnum):
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"


class Visibility(enum.StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"


class ActorKind(enum.StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"
    SYSTEM = "system"


class BusinessCalendar(db.Model):
    """Working hours in a time zone, with holidays and extra working days."""

    __tablename__ = "business_calendars"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    weekly_hours: Mapped[dict] = mapped_column(JSON)  # {"0": [["09:00", "18:00"]], ...}
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    days: Mapped[list[CalendarDay]] = relationship(cascade="all, delete-orphan",
                                                   order_by="CalendarDay.day")


class CalendarDay(db.Model):
    """A holiday, or an extra working day with its own hours, of one calendar."""

    __tablename__ = "calendar_days"

    calendar_id: Mapped[int] = mapped_column(
        ForeignKey("business_calendars.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    is_working_day: Mapped[bool] = mapped_column(Boolean, default=False)
    hours: Mapped[list | None] = mapped_column(JSON)  # [["09:00", "18:00"]] when working


class SlaPolicy(db.Model):
    """First-response and resolution targets for one priority, on a business calendar."""

    __tablename__ = "sla_policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    priority: Mapped[Priority] = mapped_column(str_enum(Priority, "priority"), unique=True)
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("business_calendars.id"))
    warning_ratio_percent: Mapped[int] = mapped_column(Integer, default=80)
    # Days a resolved ticket waits for the customer's confirmation before it closes as
    # auto-confirmed (one reminder at half-time).
    confirmation_days: Mapped[int] = mapped_column(Integer, default=7, server_default="7")
    # While cross-department tasks are open, the customer must hear from us at least this
    # often; None: no such promise.
    customer_update_minutes: Mapped[int | None] = mapped_column(Integer)

    calendar: Mapped[BusinessCalendar] = relationship()


class Ticket(db.Model):
    """A customer request and everything needed to drive it to a confirmed fix."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_status_created", "status", "created_at", "id"),
        Index("ix_tickets_created", "created_at", "id"),
        Index("ix_tickets_updated", "updated_at", "id"),  # the queues' default order
        Index("ix_tickets_assignee_status", "assignee_id", "status"),
        Index("ix_tickets_team_status", "team_id", "status"),
        Index("ix_tickets_sla_state", "sla_state", "created_at"),
        Index("ix_tickets_sla_next_check", "sla_next_check_at"),
        Index("ix_tickets_contact", "contact_id", "created_at"),
        # Reports: the moments that place first responses and resolutions in a period,
        # and the repeat-issue rate's look-back at an account's tickets in a category.
        Index("ix_tickets_first_responded", "first_responded_at"),
        Index("ix_tickets_resolved", "resolved_at"),
        Index("ix_tickets_account_category_created", "account_id", "category", "created_at"),
        # Substring search (`q`) in any language, Chinese included: a trigram index on
        # PostgreSQL (migration 0002 creates pg_trgm); a plain index elsewhere.
        Index("ix_tickets_subject_trgm", "subject", postgresql_using="gin",
              postgresql_ops={"subject": "gin_trgm_ops"}),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(200))
    # active_history: a change always knows the old value, which tickets.load needs to
    # keep agents' open-ticket counters exact.
    status: Mapped[Status] = mapped_column(str_enum(Status, "ticket_status"), default=Status.NEW,
                                           active_history=True)
    priority: Mapped[Priority] = mapped_column(str_enum(Priority, "priority"),
                                               active_history=True)
    priority_reason: Mapped[str] = mapped_column(String(500))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "channel"))
    language: Mapped[str | None] = mapped_column(String(5))
    # active_history on category, contact, account and creation time: tickets.repeats
    # needs their old values (the tickets that repeated the old ones) even when expired.
    category: Mapped[str | None] = mapped_column(String(80), active_history=True)
    product: Mapped[str | None] = mapped_column(String(80))
    required_skills: Mapped[list] = mapped_column(JSON, default=list)

    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), active_history=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True,
                                                   active_history=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), active_history=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    # The customer had another ticket in the same category within the 30 days before this
    # one (tickets.repeats keeps it): the repeat-issue rate counts these.
    is_repeat: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    closed_reason: Mapped[ClosedReason | None] = mapped_column(
        str_enum(ClosedReason, "closed_reason"))
    # The closed ticket this one repeats: the customer came back after the grace window.
    follow_up_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), index=True)

    # SLA clock. Due times are recomputed from sla_started_at, the policy and the
    # business time spent paused, so priority changes and pauses compose exactly.
    sla_policy_id: Mapped[int | None] = mapped_column(ForeignKey("sla_policies.id"))
    sla_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sla_paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sla_paused_seconds: Mapped[int] = mapped_column(Integer, default=0)
    # The same stretches in calendar seconds (waiting on the customer: SLA pauses, and
    # resolved or closed before a reopening): resolution time minus this is handle time.
    waiting_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    first_response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sla_state: Mapped[SlaState] = mapped_column(str_enum(SlaState, "sla_state"),
                                                default=SlaState.ON_TRACK)
    sla_next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow,
                                                 active_history=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contact: Mapped[Contact] = relationship()
    account: Mapped[Account | None] = relationship()
    team: Mapped[Team | None] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    sla_policy: Mapped[SlaPolicy | None] = relationship()
    tag_rows: Mapped[list[TicketTag]] = relationship(cascade="all, delete-orphan",
                                                     order_by="TicketTag.tag")

    @property
    def number(self) -> str:
        return format_number(self.id)

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]


# PostgreSQL expression indexes of the SLA reports, created by migrations (0011, 0013) and,
# for create_all, here; Alembic's comparison leaves them alone (service/schema_filter.py).
# The latest of a ticket's due times and outcomes: the prefilter of every SLA report
# (tickets.reports, tickets.analytics.sla.decided_since). SQLite has no GREATEST().
SLA_LATEST_INDEX = "ix_tickets_sla_latest"
# When each target's breach was decided (tickets.analytics.sla.breach_moment), which places
# a breach in a period: a day or a few hours long ago is then read from the index alone.
_BREACH_MOMENT = ("(CASE WHEN {prefix}_breached_at IS NOT NULL AND {prefix}_breached_at < "
                  "{prefix}_due_at THEN {prefix}_breached_at ELSE {prefix}_due_at END)")
EXPRESSION_INDEXES = {
    SLA_LATEST_INDEX: "GREATEST(first_response_due_at, resolution_due_at, first_responded_at, "
                      "resolved_at)",
    "ix_tickets_first_response_breach": _BREACH_MOMENT.format(prefix="first_response"),
    "ix_tickets_resolution_breach": _BREACH_MOMENT.format(prefix="resolution"),
}
for _name, _expression in EXPRESSION_INDEXES.items():
    event.listen(Ticket.__table__, "after_create", DDL(
        f"CREATE INDEX {_name} ON tickets ({_expression})").execute_if(dialect="postgresql"))


def format_number(ticket_id: int) -> str:
    """The human ticket number, e.g. T-000123."""
    return f"T-{ticket_id:06d}"


class TicketTag(db.Model):
    __tablename__ = "ticket_tags"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(50), primary_key=True, index=True)


class Message(db.Model):
    """A public message or an internal note on a ticket."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    author_kind: Mapped[ActorKind] = mapped_column(str_enum(ActorKind, "actor_kind"))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    visibility: Mapped[Visibility] = mapped_column(str_enum(Visibility, "visibility"))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "channel"))
    body: Mapped[str] = mapped_column(Text)
    # The sanitised HTML of a message that arrived as HTML (email); `body` is its text.
    body_html: Mapped[str | None] = mapped_column(Text)
    # The full text before quoted history and signature were stripped, when they were.
    original_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship()
    author_user: Mapped[User | None] = relationship()
    author_contact: Mapped[Contact | None] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(order_by="Attachment.id",
                                                         viewonly=True)


class TicketEvent(db.Model):
    """One entry of a ticket's timeline: who did what, when, from which channel."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    actor_kind: Mapped[ActorKind] = mapped_column(str_enum(ActorKind, "actor_kind"))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    channel: Mapped[str | None] = mapped_column(String(20))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship()


class SlaPause(db.Model):
    """A stretch during which a ticket's SLA clock stood still, and who stopped it why."""

    __tablename__ = "sla_pauses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           index=True)
    paused_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_by_kind: Mapped[ActorKind] = mapped_column(str_enum(ActorKind, "actor_kind"))
    paused_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(300))


class SlaBreach(db.Model):
    """A missed SLA target, kept for escalation history and reports."""

    __tablename__ = "sla_breaches"
    __table_args__ = (UniqueConstraint("ticket_id", "target", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           index=True)
    target: Mapped[SlaTarget] = mapped_column(str_enum(SlaTarget, "sla_target"))
    priority: Mapped[Priority] = mapped_column(str_enum(Priority, "priority"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    breached_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), active_history=True)


class RoutingRule(db.Model):
    """An ordered rule: when a ticket matches every condition, it goes to `team`."""

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, index=True)
    name: Mapped[str] = mapped_column(String(120))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # {"channel": [...], "category": [...], "product": [...], "language": [...],
    #  "tier": [...], "keywords": [...]}; an absent key matches anything.
    conditions: Mapped[dict] = mapped_column(JSON, default=dict)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    required_skills: Mapped[list] = mapped_column(JSON, default=list)

    team: Mapped[Team] = relationship()


class IdempotencyKey(db.Model):
    """Remembers which ticket an `Idempotency-Key` created, per caller."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(60))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship()


class AttachmentBlob(db.Model):
    """The bytes of an attachment, stored once per content (SHA-256) in the database."""

    __tablename__ = "attachment_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Attachment(db.Model):
    """A file on a ticket message: a safe name, a sniffed type, never served inline."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           index=True)
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    # A file on a cross-department task's progress note (internal unless published).
    task_note_id: Mapped[int | None] = mapped_column(
        ForeignKey("task_notes.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))  # sniffed from the bytes
    declared_type: Mapped[str | None] = mapped_column(String(100))  # what the sender said
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(ForeignKey("attachment_blobs.sha256"))
    # Inline images of an HTML mail keep their Content-ID so the HTML can refer to them.
    content_id: Mapped[str | None] = mapped_column(String(250))
    is_inline: Mapped[bool] = mapped_column(Boolean, default=False)
    visibility: Mapped[Visibility] = mapped_column(str_enum(Visibility, "visibility"),
                                                   default=Visibility.PUBLIC)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CannedResponse(db.Model):
    """A reusable reply (macro) with {{placeholders}}: shared, a team's, or one agent's."""

    __tablename__ = "canned_responses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    # Neither set: everyone's. team_id: that team's members. owner_id: that user only.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"),
                                                index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                                 index=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    team: Mapped[Team | None] = relationship()


class SavedView(db.Model):
    """A user's named queue: the filters, search and sort of a ticket list."""

    __tablename__ = "saved_views"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    # The queue's query arguments, e.g. {"queue": "team", "priority": ["urgent"], "q": "…"}.
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
