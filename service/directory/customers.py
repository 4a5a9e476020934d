"""Customers for the staff console: find contacts and accounts, edit them.

Lists are keyset pages ordered by (name, id). Edits validate everything first and raise
InvalidInput with every field's messages, so a refused edit writes nothing; a saved edit
returns what changed (there is no audit log yet: the console tells the editor).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, or_, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload, selectinload

from service.auth.models import Role, User
from service.directory.models import (Account, AccountDomain, AccountProduct, Contact, Tier,
                                      normalize_phone)
from service.directory.services import _DOMAIN, PUBLIC_MAIL_DOMAINS
from service.errors import Conflict, InvalidInput, NotFound
from service.extensions import db
from service.pagination import decode_cursor, encode_cursor
from service.validation import is_id, strip_controls

PAGE_SIZE = 50
MAX_QUERY = 200
MAX_CURSOR = 1000
MAX_PRODUCTS = 50
MAX_PRODUCT_LENGTH = 80
MAX_DOMAINS = 100
LANGUAGES = ("en", "zh")
DEDICATED_AGENT_ROLES = (Role.AGENT, Role.LEAD)
_PHONE = re.compile(r"^[0-9+()\-. ]{3,40}$")
_PHONE_QUERY = re.compile(r"^[0-9+()\-. ]+$")


@dataclass(frozen=True)
class Page:
    """One keyset page of plain rows and the cursor of the next one (None at the end)."""
    rows: list[Any]
    next_cursor: str | None


@dataclass(frozen=True)
class Change:
    """One field an edit changed: old → new, or the items a list gained and lost."""
    field: str
    old: str | None = None
    new: str | None = None
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccountInput:
    """What the account form says; `name` only when creating."""
    tier: str
    sales_owner_id: int | None
    dedicated_agent_id: int | None
    products: Sequence[str] = ()
    domains: Sequence[str] = ()
    name: str | None = None


@dataclass(frozen=True)
class ContactInput:
    """What the contact form says."""
    name: str
    phone: str | None
    company: str | None
    language: str | None
    account_id: int | None


# ---- finding ----

def clean_query(text: str | None) -> str:
    """Search text as typed, without control characters, trimmed and bounded."""
    return strip_controls(text or "").strip()[:MAX_QUERY]


def phone_digits(text: str) -> str | None:
    """The digits of a search that looks like a phone number, else None."""
    if not _PHONE_QUERY.match(text):
        return None
    digits = re.sub(r"\D", "", text)
    return digits if 3 <= len(digits) <= 20 else None


def search_contacts(q: str | None, cursor: str | None = None,
                    limit: int = PAGE_SIZE) -> Page:
    """Contacts whose name, email, phone, company or account name matches, by name."""
    query = (select(Contact.id, Contact.name, Contact.email, Contact.phone, Contact.company,
                    Contact.account_id, Account.name.label("account_name"),
                    Account.tier.label("account_tier"))
             .outerjoin(Account, Account.id == Contact.account_id))
    text = clean_query(q)
    if text:
        pattern = _contains(text)
        conditions = [Contact.name.ilike(pattern, escape="\\"),
                      Contact.email.ilike(pattern, escape="\\"),
                      Contact.company.ilike(pattern, escape="\\"),
                      Account.name.ilike(pattern, escape="\\")]
        digits = phone_digits(text)
        if digits:
            # Both sides as digits: "+86 138-0013-8000" finds "+8613800138000" and the
            # national "13800138000" finds it too.
            conditions.append(Contact.phone_normalized.like(f"%{digits}%"))
        query = query.where(or_(*conditions))
    return _name_page(query, Contact.name, Contact.id, cursor, limit)


def search_accounts(q: str | None, tier: Tier | None = None, cursor: str | None = None,
                    limit: int = PAGE_SIZE) -> Page:
    """Accounts whose name or an email domain matches, with owners and contact counts."""
    owner, agent = aliased(User), aliased(User)
    contacts = (select(func.count(Contact.id)).where(Contact.account_id == Account.id)
                .correlate(Account).scalar_subquery())
    query = (select(Account.id, Account.name, Account.tier,
                    owner.name.label("sales_owner_name"),
                    agent.name.label("dedicated_agent_name"), contacts.label("contact_count"))
             .outerjoin(owner, owner.id == Account.sales_owner_id)
             .outerjoin(agent, agent.id == Account.dedicated_agent_id))
    text = clean_query(q)
    if text:
        pattern = _contains(text)
        domain = exists().where(AccountDomain.account_id == Account.id,
                                AccountDomain.domain.ilike(pattern, escape="\\"))
        query = query.where(or_(Account.name.ilike(pattern, escape="\\"), domain))
    if tier is not None:
        query = query.where(Account.tier == tier)
    return _name_page(query, Account.name, Account.id, cursor, limit)


def get_contact(contact_id: int) -> Contact:
    """The contact with its account, or NotFound."""
    contact = db.session.scalar(select(Contact).options(joinedload(Contact.account))
                                .where(Contact.id == contact_id)) if is_id(contact_id) else None
    if contact is None:
        raise NotFound("No such customer.")
    return contact


def get_account(account_id: int) -> Account:
    """The account with its owners, products and domains, or NotFound."""
    account = db.session.scalar(
        select(Account).options(joinedload(Account.sales_owner),
                                joinedload(Account.dedicated_agent),
                                selectinload(Account.products), selectinload(Account.domains))
        .where(Account.id == account_id)) if is_id(account_id) else None
    if account is None:
        raise NotFound("No such account.")
    return account


def contacts_of_account(account_id: int, limit: int = 100) -> tuple[list[Any], int]:
    """The account's first contacts by name (plain rows) and how many it has in all."""
    rows = list(db.session.execute(
        select(Contact.id, Contact.name, Contact.email, Contact.phone)
        .where(Contact.account_id == account_id).order_by(Contact.name, Contact.id)
        .limit(limit)))
    total = db.session.scalar(select(func.count(Contact.id))
                              .where(Contact.account_id == account_id))
    return rows, total or 0


def sales_owner_choices(current_id: int | None = None) -> list[tuple[int, str]]:
    """Active sales reps (and the current owner, whoever it is) as (id, name)."""
    return _user_choices(User.role == Role.SALES, current_id)


def dedicated_agent_choices(current_id: int | None = None) -> list[tuple[int, str]]:
    """Active agents and leads (and the current dedicated agent) as (id, name)."""
    return _user_choices(User.role.in_(DEDICATED_AGENT_ROLES), current_id)


def account_choices() -> list[tuple[int, str]]:
    """Every account as (id, name), by name."""
    return [(row.id, row.name) for row in db.session.execute(
        select(Account.id, Account.name).order_by(Account.name, Account.id))]


# ---- editing ----

def add_account(data: AccountInput) -> Account:
    """Create an account from the form, or InvalidInput with every field's messages."""
    cleaned = _check_account(None, data)
    account = Account(name=cleaned["name"], tier=cleaned["tier"],
                      sales_owner_id=cleaned["sales_owner_id"],
                      dedicated_agent_id=cleaned["dedicated_agent_id"],
                      products=[AccountProduct(product=item) for item in cleaned["products"]],
                      domains=[AccountDomain(domain=item) for item in cleaned["domains"]])
    db.session.add(account)
    _commit()
    return account


def update_account(account: Account, data: AccountInput) -> list[Change]:
    """Apply the form to an account; returns what changed (nothing written on errors)."""
    cleaned = _check_account(account, data)
    changes: list[Change] = []
    if account.tier != cleaned["tier"]:
        changes.append(Change("tier", account.tier.value, cleaned["tier"].value))
        account.tier = cleaned["tier"]
    for field in ("sales_owner", "dedicated_agent"):
        new_id = cleaned[f"{field}_id"]
        if getattr(account, f"{field}_id") != new_id:
            old_user = getattr(account, field)
            new_user = db.session.get(User, new_id) if new_id else None
            changes.append(Change(field, old_user.name if old_user else None,
                                  new_user.name if new_user else None))
            setattr(account, f"{field}_id", new_id)
    for field, model, key in (("products", AccountProduct, "product"),
                              ("domains", AccountDomain, "domain")):
        rows = getattr(account, field)
        current = [getattr(row, key) for row in rows]
        added = tuple(item for item in cleaned[field] if item not in current)
        removed = tuple(item for item in current if item not in cleaned[field])
        if added or removed:
            # Rows kept stay as they are: deleting and re-adding one key in a flush collides.
            setattr(account, field, [row for row in rows if getattr(row, key) not in removed]
                    + [model(**{key: item}) for item in added])
            changes.append(Change(field, added=added, removed=removed))
    _commit()
    return changes


def update_contact(contact: Contact, data: ContactInput) -> list[Change]:
    """Apply the form to a contact; returns what changed (nothing written on errors)."""
    errors: dict[str, list] = {}
    name = strip_controls(data.name or "").strip()
    if not 1 <= len(name) <= 120:
        errors["name"] = [_l("Enter a name of 1 to 120 characters.")]
    phone = (data.phone or "").strip() or None
    if phone is not None and (not _PHONE.match(phone) or normalize_phone(phone) is None):
        errors["phone"] = [_l("Enter a phone number: digits, spaces, + ( ) - or dots.")]
    company = strip_controls(data.company or "").strip() or None
    if company is not None and len(company) > 200:
        errors["company"] = [_l("Enter at most 200 characters.")]
    language = data.language or None
    if language is not None and language not in LANGUAGES:
        errors["language"] = [_l("Choose English or Chinese.")]
    account = None
    if data.account_id is not None:
        account = db.session.get(Account, data.account_id) if is_id(data.account_id) else None
        if account is None:
            errors["account"] = [_l("There is no such account. Choose one from the list.")]
    if errors:
        raise InvalidInput("The contact has invalid fields.", errors=errors)
    changes = []
    for field, value in (("name", name), ("phone", phone), ("company", company),
                         ("language", language)):
        if getattr(contact, field) != value:
            changes.append(Change(field, getattr(contact, field), value))
            setattr(contact, field, value)
    if contact.account_id != data.account_id:
        changes.append(Change("account", contact.account.name if contact.account else None,
                              account.name if account else None))
        contact.account_id = data.account_id
    _commit()
    return changes


def _check_account(account: Account | None, data: AccountInput) -> dict[str, Any]:
    """Every rule of the account form at once: cleaned values, or InvalidInput."""
    errors: dict[str, list] = {}
    cleaned: dict[str, Any] = {}
    if account is None:
        name = strip_controls(data.name or "").strip()
        cleaned["name"] = name
        if not 1 <= len(name) <= 200:
            errors["name"] = [_l("Enter a name of 1 to 200 characters.")]
        elif db.session.scalar(select(Account.id).where(Account.name == name)) is not None:
            errors["name"] = [_l("An account named %(name)s already exists.", name=name)]
    try:
        cleaned["tier"] = Tier(data.tier)
    except ValueError:
        errors["tier"] = [_l("Choose Standard or VIP.")]
    current = account.sales_owner_id if account else None
    cleaned["sales_owner_id"] = data.sales_owner_id
    message = _owner_problem(data.sales_owner_id, current, (Role.SALES,),
                             lambda name: _l("%(name)s is not a sales rep.", name=name))
    if message:
        errors["sales_owner"] = [message]
    current = account.dedicated_agent_id if account else None
    cleaned["dedicated_agent_id"] = data.dedicated_agent_id
    message = _owner_problem(
        data.dedicated_agent_id, current, DEDICATED_AGENT_ROLES,
        lambda name: _l("%(name)s is not an agent or team lead.", name=name))
    if message:
        errors["dedicated_agent"] = [message]
    cleaned["products"] = _clean_products(data.products, errors)
    cleaned["domains"] = _clean_domains(data.domains, account.id if account else None, errors)
    if errors:
        raise InvalidInput("The account has invalid fields.", errors=errors)
    return cleaned


def _owner_problem(user_id: int | None, current_id: int | None, roles: Sequence[Role],
                   wrong_role: Callable[[str], Any]) -> Any:
    """Why this user cannot hold the role on the account, or None if they can."""
    if user_id is None or user_id == current_id:
        return None  # keeping whoever holds it now is not a change to check
    user = db.session.get(User, user_id) if is_id(user_id) else None
    if user is None:
        return _l("There is no such user. Choose one from the list.")
    if user.role not in roles:
        return wrong_role(user.name)
    if not user.is_active:
        return _l("%(name)s is deactivated.", name=user.name)
    return None


def _clean_products(lines: Sequence[str], errors: dict[str, list]) -> list[str]:
    """Trimmed, non-empty, deduplicated (ignoring case) products in the order given."""
    products: list[str] = []
    seen: set[str] = set()
    for line in lines:
        item = strip_controls(line).strip()
        if item and item.casefold() not in seen:
            seen.add(item.casefold())
            products.append(item)
    problems = [_l("“%(product)s…” is longer than %(max)s characters.",
                   product=item[:30], max=MAX_PRODUCT_LENGTH)
                for item in products if len(item) > MAX_PRODUCT_LENGTH][:3]
    if len(products) > MAX_PRODUCTS:
        problems.append(_l("At most %(max)s products, one per line (%(count)s given).",
                           max=MAX_PRODUCTS, count=len(products)))
    if problems:
        errors["products"] = problems
    return products


def _clean_domains(lines: Sequence[str], account_id: int | None,
                   errors: dict[str, list]) -> list[str]:
    """Lower-cased, deduplicated domains that no other account holds."""
    domains: list[str] = []
    for line in lines:
        item = line.strip().lower().removeprefix("@")
        if item and item not in domains:
            domains.append(item)
    problems: list[Any] = []
    if len(domains) > MAX_DOMAINS:
        errors["domains"] = [_l("At most %(max)s domains, one per line (%(count)s given).",
                                max=MAX_DOMAINS, count=len(domains))]
        return domains
    for item in domains:
        if not _DOMAIN.match(item):
            problems.append(_l("“%(domain)s” is not a domain name such as example.com.",
                               domain=item[:80]))
        elif item in PUBLIC_MAIL_DOMAINS:
            problems.append(_l("%(domain)s is a public mail service: anyone can write "
                               "from it.", domain=item))
    valid = [item for item in domains if _DOMAIN.match(item)]
    if valid:
        taken = select(AccountDomain.domain, Account.name).join(
            Account, Account.id == AccountDomain.account_id).where(
            AccountDomain.domain.in_(valid)).order_by(AccountDomain.domain)
        if account_id is not None:
            taken = taken.where(AccountDomain.account_id != account_id)
        for domain, owner in db.session.execute(taken):
            problems.append(_l("%(domain)s already belongs to the account %(account)s.",
                               domain=domain, account=owner))
    if problems:
        errors["domains"] = problems
    return domains


def _commit() -> None:
    try:
        db.session.commit()
    except IntegrityError:
        # A concurrent edit took the name or a domain between our check and this write.
        db.session.rollback()
        raise Conflict(_l("Someone saved a conflicting change at the same moment (the same "
                          "name or domain). Please check and try again.")) from None


def _user_choices(condition, current_id: int | None) -> list[tuple[int, str]]:
    wanted = (User.is_active.is_(True)) & condition
    if current_id is not None:
        wanted = wanted | (User.id == current_id)
    return [(row.id, row.name) for row in db.session.execute(
        select(User.id, User.name).where(wanted).order_by(User.name, User.id))]


def _contains(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _name_page(query, name_column, id_column, cursor: str | None, limit: int) -> Page:
    """A keyset page ordered by (name, id), continuing after the cursor's row."""
    if cursor:
        name, last_id = _decode_name_cursor(cursor)
        query = query.where(tuple_(name_column, id_column) > (name, last_id))
    rows = list(db.session.execute(query.order_by(name_column, id_column).limit(limit + 1)))
    if len(rows) <= limit:
        return Page(rows, None)
    rows = rows[:limit]
    return Page(rows, encode_cursor("name", rows[-1].name, rows[-1].id))


def _decode_name_cursor(cursor: str) -> tuple[str, int]:
    invalid = InvalidInput(errors={"cursor": [_l("This page link is no longer valid.")]})
    if len(cursor) > MAX_CURSOR:
        raise invalid
    name, last_id = decode_cursor(cursor, "name")
    if not isinstance(name, str) or len(name) > 200 or "\x00" in name:
        raise invalid
    return name, last_id
