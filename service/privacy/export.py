"""Everything Loopdesk holds about one customer, as one JSON document.

The directory (contact, account link) and the outbound mail log are the shared core's and
read here; every domain adds its own part through the registry.
"""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from service.db_types import utcnow
from service.directory.models import Contact
from service.errors import InvalidInput, NotFound
from service.extensions import db
from service.notify.models import OutboundMail
from service.privacy.registry import audit, domains, is_erased_email, iso
from service.validation import is_id

FORMAT = "loopdesk.customer-export/1"


def find_contact(reference: int | str) -> Contact:
    """The contact by id, or by email (any case); NotFound otherwise."""
    contact = None
    if isinstance(reference, str) and reference.isascii() and reference.isdigit():
        reference = int(reference)
    if isinstance(reference, int):
        # A larger id cannot exist (and PostgreSQL would refuse to compare it).
        contact = db.session.get(Contact, reference) if is_id(reference) else None
    elif isinstance(reference, str) and "@" in reference:
        contact = db.session.scalar(select(Contact).where(
            Contact.email == reference.strip().lower()))
    else:
        raise InvalidInput(_("Give a customer's id or email address."),
                           errors={"customer": [_("Not an id or an email address.")]})
    if contact is None:
        raise NotFound(_("No such customer."))
    return contact


def _profile(contact: Contact) -> dict[str, Any]:
    return {"id": contact.id, "name": contact.name, "email": contact.email,
            "phone": contact.phone, "company": contact.company,
            "language": contact.language, "is_account_admin": contact.is_account_admin,
            "created_at": iso(contact.created_at),
            "erased": is_erased_email(contact.email)}


def _account(contact: Contact) -> dict[str, Any] | None:
    account = contact.account
    if account is None:
        return None
    return {"id": account.id, "name": account.name, "tier": account.tier.value}


def _outbound_mail(contact: Contact) -> list[dict[str, Any]]:
    """Mail we sent them: what and when, never the bodies (they carry sign-in and survey
    links, i.e. secrets)."""
    if not contact.email:
        return []
    rows = db.session.scalars(select(OutboundMail).where(
        OutboundMail.to_address == contact.email).order_by(OutboundMail.id))
    return [{"subject": row.subject, "status": row.status,
             "created_at": iso(row.created_at), "sent_at": iso(row.sent_at)}
            for row in rows]


def export_customer(contact_id: int, *, record: bool = True) -> dict[str, Any]:
    """The contact's data from every domain; with `record`, an audit entry is added to the
    session (the caller commits)."""
    contact = db.session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(_("No such customer."))
    document: dict[str, Any] = {
        "format": FORMAT,
        "exported_at": iso(utcnow()),
        "contact": _profile(contact),
        "account": _account(contact),
        "consents": {"email_bouncing": contact.email_bouncing},
        "outbound_mail": _outbound_mail(contact),
    }
    for domain in domains():
        document[domain.name] = domain.export(contact.id)
    if record:
        audit("customer.export", contact.id, {})
    return document
