"""The directory: teams, skills, customer accounts and contacts."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, false
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from service.auth.models import User
from service.db_types import UTCDateTime, str_enum, utcnow
from service.extensions import db


class Tier(enum.StrEnum):
    STANDARD = "standard"
    VIP = "vip"


team_members = Table(
    "team_members", db.metadata,
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)

user_skills = Table(
    "user_skills", db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("skill_id", ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True),
)


class Team(db.Model):
    """A team or department (support, R&D, QA, logistics…) with a lead."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    name_zh: Mapped[str | None] = mapped_column(String(80))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    # As a department receiving cross-department tasks: its default turnaround in business
    # minutes on its own calendar (None: the service default, TASK_DEFAULT_MINUTES, on the
    # default calendar).
    task_target_minutes: Mapped[int | None] = mapped_column(Integer)
    calendar_id: Mapped[int | None] = mapped_column(
        ForeignKey("business_calendars.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lead: Mapped[User | None] = relationship(foreign_keys=[lead_id])
    members: Mapped[list[User]] = relationship(secondary=team_members, backref="teams")


class Skill(db.Model):
    """Something a ticket may need and an agent may have (a language, a product line)."""

    __tablename__ = "skills"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)

    users: Mapped[list[User]] = relationship(secondary=user_skills, backref="skills")


class Account(db.Model):
    """A customer company: tier, sales owner, dedicated agent, products owned."""

    __tablename__ = "accounts"
    # Substring search in any language (the console's account search): trigrams on
    # PostgreSQL, a plain index elsewhere.
    __table_args__ = (Index("ix_accounts_name_trgm", "name", postgresql_using="gin",
                            postgresql_ops={"name": "gin_trgm_ops"}),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    tier: Mapped[Tier] = mapped_column(str_enum(Tier, "tier"), default=Tier.STANDARD)
    sales_owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    dedicated_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sales_owner: Mapped[User | None] = relationship(foreign_keys=[sales_owner_id])
    dedicated_agent: Mapped[User | None] = relationship(foreign_keys=[dedicated_agent_id])
    products: Mapped[list[AccountProduct]] = relationship(
        cascade="all, delete-orphan", order_by="AccountProduct.product")
    domains: Mapped[list[AccountDomain]] = relationship(
        cascade="all, delete-orphan", order_by="AccountDomain.domain")


class AccountProduct(db.Model):
    """A product an account owns."""

    __tablename__ = "account_products"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    product: Mapped[str] = mapped_column(String(80), primary_key=True)


class AccountDomain(db.Model):
    """An email domain the account controls: new contacts from it join the account."""

    __tablename__ = "account_domains"

    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                            index=True)


class Contact(db.Model):
    """A customer person, found by email (stored lower-cased, unique) or by phone.

    A caller known only by number has no email: NULLs never collide on the unique index.
    """

    __tablename__ = "contacts"
    __table_args__ = (
        # The console's customer list is ordered by name, and searched by substrings of
        # name and email in any language (trigrams on PostgreSQL, plain indexes elsewhere).
        Index("ix_contacts_name_id", "name", "id"),
        Index("ix_contacts_name_trgm", "name", postgresql_using="gin",
              postgresql_ops={"name": "gin_trgm_ops"}),
        Index("ix_contacts_email_trgm", "email", postgresql_using="gin",
              postgresql_ops={"email": "gin_trgm_ops"}),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(40))
    # `phone` as digits with its leading '+', kept in step with `phone` (see below):
    # how a caller is recognised. Not unique: people share numbers.
    phone_normalized: Mapped[str | None] = mapped_column(String(40), index=True)
    company: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(5))
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    email_bouncing: Mapped[bool] = mapped_column(Boolean, default=False)
    # The account's designated admin contact sees all of the account's tickets in the portal.
    is_account_admin: Mapped[bool] = mapped_column(Boolean, default=False,
                                                   server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    account: Mapped[Account | None] = relationship()

    @validates("phone")
    def _normalize_phone(self, _key: str, value: str | None) -> str | None:
        self.phone_normalized = normalize_phone(value)
        return value


def normalize_phone(value: str | None) -> str | None:
    """A phone number as its digits, keeping a leading '+' (E.164-ish); None if not one.

    '+86 138-0013 8000' → '+8613800138000'. No country code is guessed: a number written
    without '+' stays national and matches only the same national form.
    """
    if not value:
        return None
    text = value.strip()
    digits = "".join(char for char in text if char.isascii() and char.isdigit())
    if not 3 <= len(digits) <= 20:
        return None
    return ("+" if text.startswith("+") else "") + digits
