"""The domains that hold a customer's data: each exports and erases its own tables.

A domain registers itself from its own `privacy` module (tickets/privacy.py …); privacy
never reads another domain's tables. The hook modules are imported lazily, on the first
export or erasure, so the app factory needs no import for them.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from sqlalchemy import select, update

from service.extensions import db

# Each domain's hook module; a missing one (a domain not installed) is skipped.
HOOK_MODULES = ("tickets.privacy", "surveys.privacy", "knowledge_base.privacy")

ExportFn = Callable[[int], "dict[str, Any] | list[Any]"]
# Changes rows in the current transaction (never commits); returns how many rows it
# changed, in total or per kind of row.
EraseFn = Callable[[int, str], "int | Mapping[str, int]"]
# Reasons (translated sentences) the contact may not be erased now; empty when it may.
BlockersFn = Callable[[int], "list[str]"]


@dataclass(frozen=True)
class PrivacyDomain:
    """One domain's export and erase functions (and what may block an erasure)."""
    name: str
    export: ExportFn
    erase: EraseFn
    blockers: BlockersFn | None = None


_domains: dict[str, PrivacyDomain] = {}
_loaded = False


def register(name: str, export_fn: ExportFn, erase_fn: EraseFn, *,
             blockers_fn: BlockersFn | None = None) -> None:
    """Add (or replace) a domain: export_fn(contact_id) and erase_fn(contact_id, token).

    `token` is the contact's short id used in placeholders ("Erased customer <token>").
    erase_fn must stay inside the caller's transaction: flush, never commit.
    """
    _domains[name] = PrivacyDomain(name, export_fn, erase_fn, blockers_fn)


def load_hooks() -> None:
    """Import every domain's privacy module once (each registers itself at import)."""
    global _loaded
    if _loaded:
        return
    for module in HOOK_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name != module:
                raise
    _loaded = True


def domains() -> list[PrivacyDomain]:
    """The registered domains, by name (a stable order for exports and summaries)."""
    load_hooks()
    return [_domains[name] for name in sorted(_domains)]


# ---- tools for the hooks ----

ERASED = "[erased]"  # what erased free text reads as
_MIN_NEEDLE = 3  # shorter strings would blank unrelated words


def erased_name(token: str) -> str:
    """The name an erased contact keeps (not translated: it is stored data)."""
    return f"Erased customer {token}"


def erased_email(token: str) -> str:
    """The address an erased contact keeps: `.invalid` never receives mail (RFC 2606)."""
    return f"erased-{token}@invalid"


def is_erased_email(email: str | None) -> bool:
    """Whether an address is an erased contact's placeholder."""
    return bool(email) and email.startswith("erased-") and email.endswith("@invalid")


def personal_strings(contact_id: int) -> list[str]:
    """The contact's own name (and each word of it), email, phone (as written and
    normalised) and company: what scrubbing removes from free text others wrote. Empty
    once erased."""
    from service.directory.models import Contact

    contact = db.session.get(Contact, contact_id)
    if contact is None or is_erased_email(contact.email):
        return []
    values = {contact.name, contact.email, contact.phone, contact.phone_normalized,
              contact.company,
              *(contact.name or "").split()}
    return needles_of(values)


def needles_of(values: Any) -> list[str]:
    """The strings worth scrubbing, longest first: ASCII ones of 3 characters or more
    (shorter ones would blank unrelated words), others (e.g. Chinese names) of 2 or more."""
    kept = {value.strip() for value in values if isinstance(value, str) and value.strip()
            and value.strip() != ERASED}
    return sorted((value for value in kept
                   if len(value) >= (_MIN_NEEDLE if value.isascii() else 2)),
                  key=len, reverse=True)


def scrub(value: Any, needles: list[str]) -> Any:
    """`value` with each needle replaced by "[erased]" (case-insensitive), recursing into
    JSON lists and objects; other values are returned as they are."""
    if isinstance(value, str):
        lowered = value.lower()
        for needle in needles:
            start = lowered.find(needle.lower())
            while start >= 0:
                value = value[:start] + ERASED + value[start + len(needle):]
                lowered = value.lower()
                start = lowered.find(needle.lower(), start + len(ERASED))
        return value
    if isinstance(value, list):
        return [scrub(item, needles) for item in value]
    if isinstance(value, dict):
        return {key: scrub(item, needles) for key, item in value.items()}
    return value


def audit(action: str, contact_id: int, changes: dict[str, Any]) -> None:
    """Add an audit entry about the contact to the caller's transaction."""
    from service import audit as audit_log

    audit_log.record(action, object_type="contact", object_id=contact_id, changes=changes)


def iso(value: Any) -> str | None:
    """A time as ISO 8601 text for an export (None stays None)."""
    return value.isoformat() if value is not None else None


def changed_rows(statement: Any) -> int:
    """Run a bulk UPDATE or DELETE in the caller's transaction; how many rows it changed."""
    return db.session.execute(statement, execution_options={"synchronize_session": False}
                              ).rowcount or 0


def scrub_columns(model: Any, fields: tuple[str, ...], condition: Any,
                  needles: list[str]) -> int:
    """Remove the needles (a contact's name, email, phone) from text columns of the rows
    matching `condition`, in one bulk UPDATE; the number of rows changed."""
    if not needles:
        return 0
    rows = db.session.execute(select(model.id, *(getattr(model, name) for name in fields))
                              .where(condition)).all()
    changes = []
    for row in rows:
        cleaned = {name: scrub(getattr(row, name), needles) for name in fields}
        if any(cleaned[name] != getattr(row, name) for name in fields):
            changes.append({"id": row.id, **cleaned})
    if changes:
        db.session.execute(update(model), changes)
    return len(changes)
