"""Directory operations: contacts found by email, teams, skills and agent settings."""
from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from service import events
from service.auth.models import Availability, User
from service.directory.models import (Account, AccountDomain, AccountProduct, Contact, Skill,
                                      Team, Tier, normalize_phone)
from service.errors import Conflict, InvalidInput, NotFound
from service.extensions import db
from service.validation import normalize_email


def find_or_create_contact(email: str, name: str | None = None, phone: str | None = None,
                           company: str | None = None, language: str | None = None) -> Contact:
    """The contact with this email (case-insensitive), created on first contact.

    Missing details are filled in from what the customer told us; nothing is overwritten.
    Concurrent first contacts by the same address resolve to one row (unique email).
    """
    address = normalize_email(email)
    contact = db.session.scalar(select(Contact).options(joinedload(Contact.account))
                                .where(Contact.email == address))
    if contact is None:
        try:
            with db.session.begin_nested():
                contact = Contact(email=address, name=(name or address.split("@")[0])[:120],
                                  phone=phone, company=company, language=language,
                                  account_id=_account_id_for(address))
                db.session.add(contact)
        except IntegrityError:
            contact = db.session.scalar(select(Contact).where(Contact.email == address))
            if contact is None:
                raise
        return contact
    if name and contact.name == address.split("@")[0]:
        contact.name = name[:120]
    if phone and not contact.phone:
        contact.phone = phone
    if company and not contact.company:
        contact.company = company
    if language and not contact.language:
        contact.language = language
    return contact


def contacts_by_phone(phone: str) -> list[Contact]:
    """Contacts whose normalised phone equals this number's, oldest first."""
    number = normalize_phone(phone)
    if number is None:
        return []
    return list(db.session.scalars(select(Contact).options(joinedload(Contact.account))
                                   .where(Contact.phone_normalized == number)
                                   .order_by(Contact.id)))


def find_or_create_contact_by_phone(phone: str, name: str | None = None) -> Contact:
    """The (oldest) contact with this phone number, or a new one with no email.

    A new caller's name is what the telephony system or the agent told us, else the number
    itself; that placeholder is replaced once a name is known. Nothing else is overwritten.
    """
    number = normalize_phone(phone)
    if number is None:
        raise InvalidInput(errors={"phone": ["Not a valid phone number."]})
    found = contacts_by_phone(number)
    if found:
        contact = found[0]
        if name and contact.name in (contact.phone, contact.phone_normalized):
            contact.name = name[:120]
        return contact
    # Not unique, so two first calls racing from one number can make two contacts; an
    # agent merges them. Email contacts cannot race this way (their address is unique).
    contact = Contact(email=None, name=(name or phone.strip())[:120], phone=phone.strip()[:40])
    db.session.add(contact)
    db.session.flush()
    return contact


def _account_id_for(email: str) -> int | None:
    # A new contact joins an account by the domain of the address they write from, never
    # by the company name they type: anyone can type a VIP's name, not send from its domain.
    domain = email.rpartition("@")[2]
    return db.session.scalar(select(AccountDomain.account_id)
                             .where(AccountDomain.domain == domain))


def team_by_name(name: str) -> Team:
    """The team with this name, or NotFound."""
    team = db.session.scalar(select(Team).where(Team.name == name))
    if team is None:
        raise NotFound(f"No team named {name!r}.")
    return team


def add_member(team: Team, user: User) -> None:
    """Put a user in a team (no-op if already a member)."""
    if user not in team.members:
        team.members.append(user)


def set_availability(user: User, availability: str) -> None:
    """Mark an agent available, away or out of office; coming back triggers assignment."""
    try:
        value = Availability(availability)
    except ValueError:
        raise InvalidInput(errors={"availability": [
            f"Must be one of: {', '.join(Availability)}."]}) from None
    was_available = user.availability == Availability.AVAILABLE
    user.availability = value
    if value == Availability.AVAILABLE and not was_available:
        events.agent_became_available.send(user.id)


def set_capacity(user: User, max_open_tickets: int) -> None:
    """Set how many open tickets an agent may hold; raising it can trigger assignment."""
    if not 0 <= max_open_tickets <= 1000:
        raise InvalidInput(errors={"max_open_tickets": ["Must be between 0 and 1000."]})
    raised = max_open_tickets > user.max_open_tickets
    user.max_open_tickets = max_open_tickets
    if raised:
        events.agent_became_available.send(user.id)


def skill(name: str) -> Skill:
    """The skill with this name, created if new."""
    found = db.session.scalar(select(Skill).where(Skill.name == name))
    if found is None:
        found = Skill(name=name)
        db.session.add(found)
    return found


def create_team(name: str, *, name_zh: str | None = None, lead: User | None = None,
                is_default: bool = False) -> Team:
    """Create a team (department); making it the default unsets the previous default."""
    name = name.strip()
    if not 1 <= len(name) <= 80:
        raise InvalidInput(errors={"name": ["Must be 1-80 characters."]})
    if db.session.scalar(select(Team.id).where(Team.name == name)) is not None:
        raise Conflict(f"A team named {name!r} already exists.")
    if is_default:
        for team in db.session.scalars(select(Team).where(Team.is_default.is_(True))):
            team.is_default = False
    team = Team(name=name, name_zh=name_zh, lead_id=lead.id if lead else None,
                is_default=is_default)
    db.session.add(team)
    if lead is not None:
        add_member(team, lead)
    db.session.flush()
    return team


# Addresses anyone can get: never proof that a contact belongs to a customer company.
PUBLIC_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "yahoo.com",
    "icloud.com", "me.com", "aol.com", "proton.me", "protonmail.com", "gmx.com", "mail.com",
    "qq.com", "foxmail.com", "163.com", "126.com", "yeah.net", "sina.com", "sina.cn",
    "sohu.com", "aliyun.com", "139.com", "189.cn", "yahoo.com.cn", "hotmail.com.cn"})
_DOMAIN = re.compile(r"^(?=.{3,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def create_account(name: str, *, tier: str = "standard", sales_owner: User | None = None,
                   dedicated_agent: User | None = None, products: list[str] = (),
                   domains: list[str] = ()) -> Account:
    """Create a customer account (company) with its tier, owners, products and domains."""
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidInput(errors={"name": ["Must be 1-200 characters."]})
    try:
        tier_value = Tier(tier)
    except ValueError:
        raise InvalidInput(errors={"tier": [f"Must be one of: {', '.join(Tier)}."]}) from None
    if db.session.scalar(select(Account.id).where(Account.name == name)) is not None:
        raise Conflict(f"An account named {name!r} already exists.")
    bad = [product for product in products if not 1 <= len(product.strip()) <= 80]
    if bad:
        raise InvalidInput(errors={"products": ["Each product is 1-80 characters."]})
    domains = sorted({domain.strip().lower() for domain in domains})
    for domain in domains:
        if not _DOMAIN.match(domain):
            raise InvalidInput(errors={"domains": [f"{domain!r} is not a domain name."]})
        if domain in PUBLIC_MAIL_DOMAINS:
            raise InvalidInput(errors={"domains": [
                f"{domain} is a public mail service; anyone can write from it."]})
        if db.session.get(AccountDomain, domain) is not None:
            raise Conflict(f"The domain {domain} already belongs to an account.")
    account = Account(name=name, tier=tier_value,
                      sales_owner_id=sales_owner.id if sales_owner else None,
                      dedicated_agent_id=dedicated_agent.id if dedicated_agent else None,
                      products=[AccountProduct(product=p.strip()) for p in sorted(set(products))],
                      domains=[AccountDomain(domain=domain) for domain in domains])
    db.session.add(account)
    db.session.flush()
    return account


def set_skills(user: User, names: list[str]) -> None:
    """Replace an agent's skills (created on first use)."""
    cleaned = sorted({name.strip() for name in names})
    if any(not 1 <= len(name) <= 60 for name in cleaned):
        raise InvalidInput(errors={"skills": ["Each skill is 1-60 characters."]})
    user.skills = [skill(name) for name in cleaned]


def mark_bouncing(email: str) -> bool:
    """Flag a contact's address as bouncing (no more mail to it); False if unknown."""
    contact = db.session.scalar(select(Contact).where(Contact.email == email.strip().lower()))
    if contact is None:
        return False
    contact.email_bouncing = True
    return True
