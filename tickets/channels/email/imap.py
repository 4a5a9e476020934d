"""The IMAP poller: fetch a mailbox's unseen mail over TLS and store it like the inbound pipe.

Each message goes through `inbound.receive` (stored once per Message-ID, committed) and
only then is marked \\Seen, so a crash between the two re-fetches it next time and the
duplicate is recognised: a message is never lost and never makes two tickets, even when two
polls of one mailbox overlap. Whatever goes wrong on the IMAP side is recorded on the
mailbox for admins (never with the password) and does not fail the job.
"""
from __future__ import annotations

import base64
import imaplib
import logging
import socket
import ssl
from contextlib import suppress
from dataclasses import dataclass

from flask import current_app

from service.db_types import utcnow
from service.extensions import db
from tickets.channels.email import inbound
from tickets.channels.email.mailboxes import imap_password
from tickets.channels.email.models import Mailbox

log = logging.getLogger(__name__)

ERROR_MAX_CHARS = 1000


@dataclass
class PollStats:
    mailbox_id: int
    fetched: int = 0       # messages downloaded
    stored: int = 0        # new inbound records
    duplicates: int = 0    # already stored (same Message-ID): only marked \Seen
    failed: int = 0        # could not be stored: left unseen for the next poll
    more_waiting: bool = False  # more unseen messages than one poll takes (IMAP_BATCH)
    error: str | None = None

    def __str__(self) -> str:
        text = (f"fetched {self.fetched}: {self.stored} new, {self.duplicates} duplicate, "
                f"{self.failed} failed")
        if self.more_waiting:
            text += "; more are waiting"
        return text + (f"; error: {self.error}" if self.error else "")


@dataclass(frozen=True)
class _Settings:
    host: str
    port: int
    username: str
    folder: str


class PollError(Exception):
    """An IMAP-side failure, already worded for admins and free of secrets."""


def poll(mailbox_id: int) -> PollStats:
    """Fetch up to IMAP_BATCH unseen messages of one mailbox into inbound email (commits)."""
    stats = PollStats(mailbox_id)
    mailbox = db.session.get(Mailbox, mailbox_id)
    if mailbox is None:
        stats.error = "No such mailbox."
        return stats
    if not (mailbox.is_active and mailbox.imap_enabled and mailbox.imap_host):
        stats.error = "IMAP polling is off for this mailbox."
        return stats
    settings = _Settings(mailbox.imap_host, mailbox.imap_port, mailbox.imap_username or "",
                         mailbox.imap_folder)
    password = imap_password(mailbox)
    if password is None:
        stats.error = ("The stored IMAP password cannot be decrypted (was ENCRYPTION_KEY "
                       "changed?); enter it again.")
    else:
        try:
            _fetch_unseen(settings, password, stats)
        except PollError as error:
            stats.error = str(error)
        except (imaplib.IMAP4.error, OSError) as error:  # ssl.SSLError, timeouts included
            stats.error = _describe(error, settings)
        if stats.error:
            stats.error = _scrub(stats.error, password)
    if stats.error:
        log.warning("IMAP poll of mailbox %s (%s:%s) failed: %s", mailbox_id, settings.host,
                    settings.port, stats.error)
    elif stats.failed:
        stats.error = (f"{stats.failed} message(s) could not be stored; they stay unseen and "
                       "are fetched again on the next poll.")
    if stats.fetched:
        log.info("IMAP poll of mailbox %s: %s", mailbox_id, stats)
    _record(mailbox_id, stats)
    return stats


def _fetch_unseen(settings: _Settings, password: str, stats: PollStats) -> None:
    config = current_app.config
    context = _tls_context(config.get("IMAP_CA_FILE"))
    client = imaplib.IMAP4_SSL(settings.host, settings.port, ssl_context=context,
                               timeout=config["IMAP_TIMEOUT_SECONDS"])
    try:
        _login(client, settings.username, password)
        typ, data = client.select(_quote(_utf7(settings.folder)))
        if typ != "OK":
            raise PollError(f"The folder {settings.folder!r} cannot be opened: "
                            f"{_server_text(data)}")
        typ, data = client.uid("SEARCH", None, "UNSEEN")
        if typ != "OK":
            raise PollError(f"Searching for unseen mail failed: {_server_text(data)}")
        uids = (data[0] or b"").split() if data else []
        batch = config["IMAP_BATCH"]
        stats.more_waiting = len(uids) > batch
        for uid in uids[:batch]:
            _take(client, uid, stats, max_bytes=config["INBOUND_EMAIL_MAX_BYTES"])
    finally:
        with suppress(Exception):
            client.logout()


def _take(client: imaplib.IMAP4, uid: bytes, stats: PollStats, max_bytes: int) -> None:
    """Fetch one message, store it, and only then mark it \\Seen."""
    # One byte over the limit is enough for `receive` to record it as too large, and
    # keeps a huge message from being downloaded whole.
    typ, data = client.uid("FETCH", uid, f"(BODY.PEEK[]<0.{max_bytes + 1}>)")
    if typ != "OK":
        raise PollError(f"Fetching a message failed: {_server_text(data)}")
    raw = _body_of(data)
    if raw is None:
        return  # expunged since the search
    stats.fetched += 1
    try:
        result = inbound.receive(stats.mailbox_id, raw, "imap")
    except Exception:  # this message only: leave it unseen, take the next one
        db.session.rollback()
        log.exception("IMAP message uid %s of mailbox %s could not be stored",
                      uid.decode(), stats.mailbox_id)
        stats.failed += 1
        return
    if result.duplicate:
        stats.duplicates += 1
    else:
        stats.stored += 1
    typ, data = client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Seen)")
    if typ != "OK":
        raise PollError(f"Messages cannot be marked as seen: {_server_text(data)}")


def _tls_context(ca_file: str | None) -> ssl.SSLContext:
    """Certificates are always verified; IMAP_CA_FILE adds a CA (e.g. a private one)."""
    context = ssl.create_default_context()
    if ca_file:
        try:
            context.load_verify_locations(cafile=ca_file)
        except (OSError, ssl.SSLError) as error:
            raise PollError(f"IMAP_CA_FILE cannot be used: {error}") from None
    return context


def _login(client: imaplib.IMAP4, username: str, password: str) -> None:
    try:
        if username.isascii() and password.isascii():
            client.login(username, password)
        else:  # LOGIN is ASCII-only; SASL PLAIN carries UTF-8 (RFC 4616)
            client.authenticate("PLAIN", lambda _challenge: f"\0{username}\0{password}".encode())
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as error:
        raise PollError(f"Login as {username!r} failed: {_server_text(error.args)}") from None


def _body_of(data: list) -> bytes | None:
    """The message bytes in a FETCH answer (skipping any unsolicited responses)."""
    for item in data or []:
        if isinstance(item, tuple) and len(item) == 2 and b"BODY[" in item[0].upper():
            return item[1]
    return None


def _utf7(name: str) -> str:
    """A folder name in IMAP's modified UTF-7 (RFC 3501 5.1.3)."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            encoded = base64.b64encode("".join(pending).encode("utf-16-be")).decode()
            out.append("&" + encoded.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _server_text(data: object) -> str:
    """What the server said, as readable text."""
    if isinstance(data, (list, tuple)):
        return " ".join(_server_text(part) for part in data if part is not None)
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return str(data)


def _describe(error: BaseException, settings: _Settings) -> str:
    where = f"{settings.host}:{settings.port}"
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"The TLS certificate of {where} was not accepted: {error.verify_message}."
    if isinstance(error, ssl.SSLError):
        return f"TLS with {where} failed: {error.reason or error}."
    if isinstance(error, TimeoutError):
        return (f"{where} did not answer within "
                f"{current_app.config['IMAP_TIMEOUT_SECONDS']} seconds.")
    if isinstance(error, ConnectionRefusedError):
        return f"{where} refused the connection."
    if isinstance(error, socket.gaierror):
        return f"The host {settings.host} cannot be resolved."
    if isinstance(error, imaplib.IMAP4.abort):
        return f"{where} closed the connection: {_server_text(error.args)}"
    if isinstance(error, imaplib.IMAP4.error):
        return f"IMAP error from {where}: {_server_text(error.args)}"
    return f"Network error with {where}: {getattr(error, 'strerror', None) or error}"


def _scrub(text: str, password: str) -> str:
    """Never let the password reach the database or the logs, whatever echoed it."""
    if password:
        text = text.replace(password, "***")
    return text[:ERROR_MAX_CHARS]


def _record(mailbox_id: int, stats: PollStats) -> None:
    mailbox = db.session.get(Mailbox, mailbox_id)
    if mailbox is None:
        return
    mailbox.last_polled_at = utcnow()
    mailbox.last_poll_error = stats.error
    db.session.commit()
