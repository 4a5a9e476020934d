"""Directory operations: contacts found by email, teams, skills and agent settings."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from service import events
from service.auth.models import Availability, User
from service.directory.models import Account, Contact, Skill, Team
from service.errors import InvalidInput, NotFound
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
                                  account_id=_account_id_for(company))
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


def _account_id_for(company: str | None) -> int | None:
    # Link a new contact to an account only when the company name matches exactly; a
    # stranger typing a VIP's name gets matched too, which is why tier only raises
    # priority one step and never grants access to anything.
    if not company:
        return None
    return db.session.scalar(select(Account.id).where(Account.name == company.strip()))


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
