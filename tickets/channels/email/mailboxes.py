"""Mailboxes: their inbound secrets, IMAP settings, and the set of addresses that are ours."""
from __future__ import annotations

import hashlib
import secrets

from flask import current_app
from sqlalchemy import select

from service.cache import snapshot
from service.errors import Conflict, InvalidInput
from service.extensions import db
from service.validation import normalize_email
from tickets.channels.email.models import Mailbox

SECRET_PREFIX = "mbx_"


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_mailbox(name: str, address: str) -> tuple[Mailbox, str]:
    """A new mailbox and its inbound secret (returned once; only the hash is kept)."""
    name = (name or "").strip()
    if not 1 <= len(name) <= 80:
        raise InvalidInput(errors={"name": ["Must be 1-80 characters."]})
    address = normalize_email(address)
    if db.session.scalar(select(Mailbox.id).where(
            (Mailbox.name == name) | (Mailbox.address == address))) is not None:
        raise Conflict("A mailbox with this name or address already exists.")
    raw = SECRET_PREFIX + secrets.token_urlsafe(32)
    mailbox = Mailbox(name=name, address=address, secret_hash=_hash(raw),
                      secret_prefix=raw[:10])
    db.session.add(mailbox)
    db.session.flush()
    return mailbox, raw


def rotate_secret(mailbox: Mailbox) -> str:
    """Replace the mailbox's inbound secret; the old one stops working at once."""
    raw = SECRET_PREFIX + secrets.token_urlsafe(32)
    mailbox.secret_hash, mailbox.secret_prefix = _hash(raw), raw[:10]
    db.session.flush()
    return raw


def mailbox_for_secret(raw: str) -> Mailbox | None:
    """The active mailbox whose inbound secret this is, else None."""
    if not raw.startswith(SECRET_PREFIX) or len(raw) > 200:
        return None
    mailbox = db.session.scalar(select(Mailbox).where(Mailbox.secret_hash == _hash(raw)))
    return mailbox if mailbox is not None and mailbox.is_active else None


def _load_addresses() -> frozenset[str]:
    addresses = set(db.session.scalars(select(Mailbox.address)))
    return frozenset(addresses)


_addresses = snapshot("mailbox_addresses", _load_addresses, ttl=30, watch=(Mailbox,))


def our_addresses() -> frozenset[str]:
    """Every address we send from or receive at: mail from them is a loop, never a customer."""
    sender = current_app.config["MAIL_FROM"].rpartition("<")[2].rstrip(">").strip().lower()
    return _addresses() | {sender}
