"""Staff users, roles and API tokens."""
from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db_types import UTCDateTime, str_enum, utcnow
from service.extensions import db


class Role(enum.StrEnum):
    ADMIN = "admin"
    LEAD = "lead"
    AGENT = "agent"
    DEPARTMENT = "department"
    SALES = "sales"
    # An integration (a reseller's or partner's system): API tokens only, no console login.
    PARTNER = "partner"


class Availability(enum.StrEnum):
    AVAILABLE = "available"
    AWAY = "away"
    OUT_OF_OFFICE = "out_of_office"


class User(UserMixin, db.Model):
    """A staff member: agent, lead, department member, sales rep or admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str] = mapped_column(String(10), default="en")
    # IANA zone the console shows times in; None means the service's TIMEZONE.
    timezone: Mapped[str | None] = mapped_column(String(64))
    # Which notices the user wants by mail: {"ticket_assigned": bool, "customer_replied":
    # bool, "sla_alerts": bool}; a missing key means yes (see service.auth.prefs).
    notify_prefs: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    availability: Mapped[Availability] = mapped_column(
        str_enum(Availability, "availability"), default=Availability.AVAILABLE)
    max_open_tickets: Mapped[int] = mapped_column(Integer, default=20)
    # Kept current by tickets.load on every flush that changes a ticket's assignee,
    # status or priority, so assignment reads loads without counting tickets.
    open_tickets: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    open_load: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")

    def wants_notice(self, kind: str) -> bool:
        """Whether the user wants mail of this kind (see service.auth.prefs.NOTICE_KINDS)."""
        return bool((self.notify_prefs or {}).get(kind, True))

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"


class ApiToken(db.Model):
    """A bearer token for a staff user or an integration; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="tokens")


class StaffSession(db.Model):
    """A console sign-in: the cookie carries a random id, only its SHA-256 is stored.

    Ending the row (logout, password reset, disabling the user) ends the session even
    for someone holding a copy of the cookie.
    """

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    user: Mapped[User] = relationship()
