"""Mailboxes: their inbound secrets, IMAP settings, and the set of addresses that are ours."""
from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service import crypto
from service.cache import snapshot
from service.notify import mail
from service.errors import Conflict, InvalidInput, NotFound
from service.extensions import db
from service.validation import normalize_email
from tickets.channels.email.models import Mailbox

SECRET_PREFIX = "mbx_"
IMAP_FIELDS = ("host", "port", "username", "password", "folder", "enabled")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_PASSWORD_FORBIDDEN = re.compile(r"[\x00\r\n]")


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_mailbox(name: str, address: str) -> tuple[Mailbox, str]:
    """A new mailbox and its inbound secret (returned once; only the hash is kept)."""
    name = (name or "").strip()
    if not 1 <= len(name) <= 80 or not name.isprintable():
        raise InvalidInput(errors={"name": ["Must be 1-80 printable characters."]})
    address = normalize_email(address, field="address")
    if db.session.scalar(select(Mailbox.id).where(
            (Mailbox.name == name) | (Mailbox.address == address))) is not None:
        raise Conflict("A mailbox with this name or address already exists.")
    raw = SECRET_PREFIX + secrets.token_urlsafe(32)
    mailbox = Mailbox(name=name, address=address, secret_hash=_hash(raw),
                      secret_prefix=raw[:10])
    try:
        with db.session.begin_nested():
            db.session.add(mailbox)
    except IntegrityError:  # created concurrently under the same name or address
        raise Conflict("A mailbox with this name or address already exists.") from None
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


def get_mailbox(mailbox_id: int) -> Mailbox:
    """The mailbox with this id, or NotFound."""
    mailbox = db.session.get(Mailbox, mailbox_id)
    if mailbox is None:
        raise NotFound("No such mailbox.")
    return mailbox


def mailbox_by_name(name: str) -> Mailbox:
    """The mailbox with this name, or NotFound."""
    mailbox = db.session.scalar(select(Mailbox).where(Mailbox.name == (name or "").strip()))
    if mailbox is None:
        raise NotFound(f"No mailbox named {name!r}.")
    return mailbox


def list_mailboxes() -> list[Mailbox]:
    """Every mailbox, by name (an admin-configured handful: not paginated)."""
    return list(db.session.scalars(select(Mailbox).order_by(Mailbox.name, Mailbox.id)))


def pollable_mailbox_ids() -> list[int]:
    """The ids of active mailboxes with IMAP polling switched on."""
    return list(db.session.scalars(select(Mailbox.id).where(
        Mailbox.is_active.is_(True), Mailbox.imap_enabled.is_(True)).order_by(Mailbox.id)))


def configure_imap(mailbox: Mailbox, host: str, port: int = 993, *, username: str,
                   password: str | None, folder: str = "INBOX", enabled: bool = True) -> None:
    """Set where the poller fetches this mailbox's mail (IMAP over TLS).

    The password is stored encrypted (service.crypto); `None` keeps the stored one.
    """
    errors: dict[str, list[str]] = {}
    host = _valid_host(host, errors)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        errors["port"] = ["Must be a port number, 1-65535."]
    username = (username or "").strip() if isinstance(username, str) else ""
    if not 1 <= len(username) <= 254 or not username.isprintable():
        errors["username"] = ["Must be 1-254 printable characters."]
    folder = (folder or "").strip() if isinstance(folder, str) else ""
    if not 1 <= len(folder) <= 200 or not folder.isprintable():
        errors["folder"] = ["Must be 1-200 printable characters."]
    if password is None:
        if mailbox.imap_password_encrypted is None:
            errors["password"] = ["Required: no IMAP password is stored yet."]
    elif (not isinstance(password, str) or not 1 <= len(password) <= 1024
          or _PASSWORD_FORBIDDEN.search(password)):
        errors["password"] = ["Must be 1-1024 characters, without line breaks."]
    if errors:
        raise InvalidInput("The IMAP settings are not valid.", errors=errors)
    mailbox.imap_host, mailbox.imap_port, mailbox.imap_username = host, port, username
    mailbox.imap_folder, mailbox.imap_enabled = folder, bool(enabled)
    if password is not None:
        mailbox.imap_password_encrypted = crypto.encrypt(password)
    mailbox.last_poll_error = None  # it was about the old settings
    db.session.flush()


def _valid_host(host: Any, errors: dict[str, list[str]]) -> str:
    text = host.strip().lower().rstrip(".") if isinstance(host, str) else ""
    try:
        return str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        pass
    if not 1 <= len(text) <= 253 or not all(_HOST_LABEL.match(label)
                                            for label in text.split(".")):
        errors["host"] = ["Must be a host name or an IP address."]
    return text


def imap_password(mailbox: Mailbox) -> str | None:
    """The mailbox's IMAP password in clear, or None (not set, or ENCRYPTION_KEY changed)."""
    if mailbox.imap_password_encrypted is None:
        return None
    return crypto.decrypt(mailbox.imap_password_encrypted)


def update_mailbox(mailbox: Mailbox, *, is_active: bool | None = None,
                   imap: dict[str, Any] | None = None) -> None:
    """Switch a mailbox on or off, and change some or all of its IMAP settings.

    `imap` holds any of IMAP_FIELDS; the others keep their stored values (the password
    too). Switching polling off needs nothing else; anything more re-checks them all.
    """
    if is_active is not None:
        mailbox.is_active = bool(is_active)
    if imap:
        unknown = set(imap) - set(IMAP_FIELDS)
        if unknown:
            raise InvalidInput(errors={name: ["Unknown field."] for name in sorted(unknown)})
        if set(imap) == {"enabled"} and not imap["enabled"]:
            mailbox.imap_enabled = False
        else:
            configured = mailbox.imap_host is not None
            configure_imap(
                mailbox, imap.get("host", mailbox.imap_host), imap.get("port", mailbox.imap_port),
                username=imap.get("username", mailbox.imap_username),
                password=imap.get("password"), folder=imap.get("folder", mailbox.imap_folder),
                # Configuring polling for the first time switches it on unless told not to.
                enabled=imap.get("enabled", mailbox.imap_enabled if configured else True))
    db.session.flush()


def _load_addresses() -> frozenset[str]:
    addresses = set(db.session.scalars(select(Mailbox.address)))
    return frozenset(addresses)


_addresses = snapshot("mailbox_addresses", _load_addresses, ttl=30, watch=(Mailbox,))


def our_addresses() -> frozenset[str]:
    """Every address we send from or receive at: mail from them is a loop, never a customer."""
    return _addresses() | {mail.sender_address()}
