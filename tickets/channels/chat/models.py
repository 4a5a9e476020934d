"""Chat sessions (a visitor's widget bound to one ticket) and their message dedupe keys."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db_types import UTCDateTime, utcnow
from service.extensions import db


class ChatSession(db.Model):
    """One visitor's chat on one ticket, authenticated by a token shown once."""

    __tablename__ = "chat_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    # SHA-256 (hex) of the `chat_…` bearer token; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    language: Mapped[str] = mapped_column(String(5))
    origin: Mapped[str | None] = mapped_column(String(200))
    page_url: Mapped[str | None] = mapped_column(String(500))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the visitor's widget last polled (or posted): whether they are still there.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Slides forward with every request of the visitor; after it the token is refused.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # When we told the visitor no agent was free and the ticket went on by email.
    handed_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChatMessageKey(db.Model):
    """The message a visitor's `client_id` created: a retried POST returns it, not a copy."""

    __tablename__ = "chat_message_keys"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("chat_sessions.id", ondelete="CASCADE"), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    # SHA-256 of the body: the same key with another body is a client bug, refused.
    body_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
