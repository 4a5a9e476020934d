"""Mailboxes, every inbound message as received, and the Message-IDs of each ticket's thread."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db_types import UTCDateTime, str_enum, utcnow
from service.extensions import db


class Mailbox(db.Model):
    """An address customers write to: fed by the inbound endpoint (secret) or IMAP polling."""

    __tablename__ = "mailboxes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    address: Mapped[str] = mapped_column(String(254), unique=True)
    # The inbound endpoint's per-mailbox secret: only its SHA-256 is kept.
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    secret_prefix: Mapped[str] = mapped_column(String(12))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    imap_host: Mapped[str | None] = mapped_column(String(253))
    imap_port: Mapped[int] = mapped_column(Integer, default=993)
    imap_username: Mapped[str | None] = mapped_column(String(254))
    # Encrypted with service.crypto (Fernet); never logged, never returned by the API.
    imap_password_encrypted: Mapped[str | None] = mapped_column(Text)
    imap_folder: Mapped[str] = mapped_column(String(200), default="INBOX")
    imap_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_poll_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboundStatus(enum.StrEnum):
    RECEIVED = "received"    # stored, waiting to be processed
    PROCESSED = "processed"  # became a ticket or a message on one
    IGNORED = "ignored"      # a loop, a bounce or our own mail: kept, not a message
    FAILED = "failed"        # could not be parsed or processed: kept with the reason


class InboundEmail(db.Model):
    """One received message exactly as it came, kept whatever happened to it."""

    __tablename__ = "inbound_emails"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox_id: Mapped[int | None] = mapped_column(ForeignKey("mailboxes.id", ondelete="SET NULL"),
                                                   index=True)
    # The Message-ID without angle brackets (or a hash of the bytes when it had none):
    # unique, so a message delivered twice, by any path, is processed once.
    message_id: Mapped[str] = mapped_column(String(250), unique=True)
    source: Mapped[str] = mapped_column(String(10))  # http | imap
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[InboundStatus] = mapped_column(str_enum(InboundStatus, "inbound_status"),
                                                  default=InboundStatus.RECEIVED, index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    from_address: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(300))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    ticket_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    mailbox: Mapped[Mailbox | None] = relationship()


class TicketMailId(db.Model):
    """A Message-ID in a ticket's thread (sent or received): how replies find their ticket."""

    __tablename__ = "ticket_mail_ids"

    message_id: Mapped[str] = mapped_column(String(250), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           index=True)
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
