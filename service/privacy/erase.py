"""Erasing (anonymising) a customer on request, keeping every aggregate number true.

Rows that reports count stay (tickets, messages, answers, deflections…) with their personal
content replaced; the contact row stays too, renamed "Erased customer <id>" with the
address `erased-<id>@invalid` — that address is the erased marker (contacts have no
`erased_at` column). One transaction: every domain's changes commit together or not at
all. Running it again changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from flask_babel import gettext as _
from sqlalchemy import or_, update

from service.db_types import utcnow
from service.directory.models import Contact
from service.errors import Conflict, InvalidInput, NotFound
from service.extensions import db
from service.notify.models import OutboundMail
from service.privacy.registry import (ERASED, audit, domains, erased_email, erased_name,
                                      is_erased_email)

MAX_REASON = 500


@dataclass
class ErasureSummary:
    """What an erasure changed: rows per kind, per domain (all zero when run again)."""
    contact_id: int
    already_erased: bool
    erased_at: str
    domains: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        """Rows changed in all."""
        return sum(sum(counts.values()) for counts in self.domains.values())

    def as_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready values."""
        return {"contact_id": self.contact_id, "already_erased": self.already_erased,
                "erased_at": self.erased_at, "changed": self.changed,
                "domains": self.domains}


def token_for(contact: Contact) -> str:
    """The short id erased placeholders use: the contact's id (meaningless outside)."""
    return str(contact.id)


def check_request(contact: Contact, confirm: str | None, reason: str | None) -> str:
    """The cleaned reason, if `confirm` repeats the contact's address (or id when it has
    none, or the erased address when already erased); InvalidInput otherwise."""
    errors: dict[str, list[str]] = {}
    expected = contact.email or str(contact.id)
    if not isinstance(confirm, str) or confirm.strip().lower() != expected.lower():
        errors["confirm"] = [_("Type the customer's email address exactly to confirm.")
                             if contact.email else
                             _("Type the customer's id to confirm (they have no email).")]
    cleaned = reason.strip() if isinstance(reason, str) else ""
    if not cleaned:
        errors["reason"] = [_("Say why the customer is erased (e.g. their request).")]
    elif len(cleaned) > MAX_REASON:
        errors["reason"] = [_("At most %(count)d characters.", count=MAX_REASON)]
    if errors:
        raise InvalidInput(_("The erasure was not confirmed."), errors=errors)
    return cleaned


def blockers(contact_id: int) -> list[str]:
    """Why the contact should not be erased now (e.g. tickets still open); empty if none."""
    reasons: list[str] = []
    for domain in domains():
        if domain.blockers is not None:
            reasons.extend(domain.blockers(contact_id))
    return reasons


def erase_customer(contact_id: int, *, reason: str, force: bool = False) -> ErasureSummary:
    """Anonymise the contact in every domain and commit, all or nothing.

    Refused (Conflict) while a domain has a blocker — open tickets — unless `force`: an
    agent working a ticket whose text vanished would be left guessing.
    """
    contact = db.session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(_("No such customer."))
    found = blockers(contact.id)
    if found and not force:
        raise Conflict(" ".join([_("The customer cannot be erased yet."), *found]),
                       errors={"customer": found})
    summary = ErasureSummary(contact.id, is_erased_email(contact.email), utcnow().isoformat())
    token = token_for(contact)
    try:
        # Domains first: they still need the contact's name and address to find and
        # scrub what mentions them; the contact row is anonymised last.
        for domain in domains():
            summary.domains[domain.name] = _as_counts(domain.erase(contact.id, token))
        summary.domains["mail"] = {"outbound_mail": _erase_outbound_mail(contact, token)}
        summary.domains["directory"] = {"contacts": _anonymise_contact(contact, token)}
        audit("customer.erase", contact.id,
              {"reason": [None, reason], "forced": [None, bool(found) and force],
               "rows_changed": [None, summary.changed]})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    # The bulk updates went around the session's objects: reload whatever is read next.
    db.session.expire_all()
    return summary


def _as_counts(result: int | Mapping[str, int]) -> dict[str, int]:
    if isinstance(result, int):
        return {"rows": result}
    return {str(key): int(value) for key, value in result.items()}


def _erase_outbound_mail(contact: Contact, token: str) -> int:
    """Blank the mail we sent them (subjects and bodies quote their tickets, and carry
    sign-in and survey links); when and whether it was sent stays."""
    if not contact.email or is_erased_email(contact.email):
        return 0
    return db.session.execute(
        update(OutboundMail).where(OutboundMail.to_address == contact.email)
        .values(to_address=erased_email(token), subject=ERASED, body_text=ERASED,
                body_html=None, references=None, reply_to=None),
        execution_options={"synchronize_session": False}).rowcount or 0


def _anonymise_contact(contact: Contact, token: str) -> int:
    """The contact row keeps its id, account and language (reports group by them)."""
    statement = (update(Contact).where(
        Contact.id == contact.id,
        or_(Contact.email.is_(None), Contact.email != erased_email(token),
            Contact.name != erased_name(token), Contact.phone.is_not(None),
            Contact.phone_normalized.is_not(None), Contact.company.is_not(None)))
        .values(name=erased_name(token), email=erased_email(token), phone=None,
                phone_normalized=None, company=None, is_account_admin=False))
    return db.session.execute(statement, execution_options={"synchronize_session": False}
                              ).rowcount or 0
