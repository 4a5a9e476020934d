"""Resolutions (what fixed it, how it was verified) and the customer's answers to them."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.auth.models import User
from service.db_types import UTCDateTime, str_enum, utcnow
from service.extensions import db
from tickets.models import ActorKind


class ConfirmationState(enum.StrEnum):
    PENDING = "pending"  # waiting for the customer
    CONFIRMED = "confirmed"  # the customer said it is fixed
    REJECTED = "rejected"  # the customer said it is still a problem: reopened
    AUTO_CONFIRMED = "auto_confirmed"  # no answer in time: closed
    SUPERSEDED = "superseded"  # the ticket was reopened some other way (a reply, staff)


class ConfirmationOutcome(enum.StrEnum):
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    AUTO_CONFIRMED = "auto_confirmed"


class ConfirmationChannel(enum.StrEnum):
    EMAIL_LINK = "email_link"  # a link in the confirmation mail
    PORTAL = "portal"  # the signed-in customer portal
    PHONE = "phone"  # staff recorded what the customer said on a call
    EMAIL_REPLY = "email_reply"  # the customer answered the mail in words
    SYSTEM = "system"  # nobody answered in time


class Resolution(db.Model):
    """One resolving of a ticket: the fix, its root cause, who verified it how, and the
    state of the customer's confirmation. A reopened ticket gets a new one when resolved."""

    __tablename__ = "resolutions"
    __table_args__ = (
        Index("ix_resolutions_ticket", "ticket_id", "id"),
        # The sweep's work list: pending confirmations by when they next need attention.
        Index("ix_resolutions_state_next", "state", "next_action_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    summary: Mapped[str] = mapped_column(Text)
    root_cause: Mapped[str] = mapped_column(Text)
    verification_method: Mapped[str] = mapped_column(String(80))
    verification_result: Mapped[str] = mapped_column(Text)
    evidence_note: Mapped[str | None] = mapped_column(Text)
    evidence_attachment_ids: Mapped[list] = mapped_column(JSON, default=list)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Set when a lead resolved while tasks were still open: why, and which tasks.
    override_reason: Mapped[str | None] = mapped_column(Text)
    overridden_task_ids: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    state: Mapped[ConfirmationState] = mapped_column(
        str_enum(ConfirmationState, "confirmation_state"), default=ConfirmationState.PENDING)
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # half the waiting time
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    auto_close_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The earlier of remind_at (until reminded) and auto_close_at, while pending.
    next_action_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    verified_by: Mapped[User | None] = relationship()
    confirmations: Mapped[list[Confirmation]] = relationship(order_by="Confirmation.id",
                                                             viewonly=True)


class Confirmation(db.Model):
    """The customer's answer to a resolution, with its evidence: when, how, who, from where."""

    __tablename__ = "confirmations"
    __table_args__ = (Index("ix_confirmations_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resolution_id: Mapped[int] = mapped_column(ForeignKey("resolutions.id", ondelete="CASCADE"),
                                               index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    outcome: Mapped[ConfirmationOutcome] = mapped_column(
        str_enum(ConfirmationOutcome, "confirmation_outcome"))
    channel: Mapped[ConfirmationChannel] = mapped_column(
        str_enum(ConfirmationChannel, "confirmation_channel"))
    actor_kind: Mapped[ActorKind] = mapped_column(str_enum(ActorKind, "actor_kind"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(400))
    call_reference: Mapped[str | None] = mapped_column(String(100))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
