"""Outbound mail and staff notifications, each keyed so an effect happens once."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db_types import UTCDateTime, utcnow
from service.extensions import db


class OutboundMail(db.Model):
    """A mail we send; `dedupe_key` (e.g. "ack:ticket:42") makes a retried job send it once."""

    __tablename__ = "outbound_mail"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    to_address: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(250))  # without angle brackets
    in_reply_to: Mapped[str | None] = mapped_column(String(250))
    references: Mapped[str | None] = mapped_column(Text)  # space-separated ids
    reply_to: Mapped[str | None] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued|sending|sent|logged
    # Set when a job claims the mail for delivery, so two copies of a job never both send;
    # a claim older than CLAIM_TIMEOUT (its worker died mid-send) may be taken over.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Notification(db.Model):
    """A notice for a staff member (SLA warning, escalation…), shown in the console."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    subject_ref: Mapped[str] = mapped_column(String(60))  # e.g. "ticket:42"
    title: Mapped[str] = mapped_column(String(300))
    # Structured facts (ticket number, target, due time) so each reader's language can
    # render the notice; `title` is the plain fallback.
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
