"""Our Message-IDs: they name the ticket, and (HMAC-signed) the agent a mail was sent to.

`<ld.42.c.3f9a1b2c.SIG@domain>` went to the customer of ticket 42; `<ld.42.u7.…>` went to
agent 7 about ticket 42. A reply carrying such an id in References threads to ticket 42,
and is taken as agent 7's reply only if the signature checks out and it comes from agent 7's
address: anyone can put any text in References, nobody can forge the signature.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from flask import current_app

from service.notify import mail

_OURS = re.compile(r"^ld\.(\d{1,10})\.(c|u\d{1,10})\.([0-9a-f]{8,32})\.([0-9a-f]{20})@")


@dataclass(frozen=True)
class OurId:
    ticket_id: int
    user_id: int | None  # the agent it was sent to; None for the customer
    signed: bool         # the signature is ours


def _signature(ticket_id: int, recipient: str, nonce: str) -> str:
    key = ("loopdesk-mail-id:" + current_app.config["SECRET_KEY"]).encode()
    message = f"{ticket_id}.{recipient}.{nonce}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:20]


def new_message_id(ticket_id: int, user_id: int | None = None) -> str:
    """A fresh Message-ID (without angle brackets) for a mail about a ticket."""
    recipient = f"u{user_id}" if user_id is not None else "c"
    nonce = secrets.token_hex(8)
    return (f"ld.{ticket_id}.{recipient}.{nonce}.{_signature(ticket_id, recipient, nonce)}"
            f"@{mail.sender_domain()}")


def read(message_id: str) -> OurId | None:
    """What one of our Message-IDs says, or None if it does not look like ours."""
    match = _OURS.match(message_id)
    if match is None:
        return None
    ticket_id, recipient, nonce, signature = match.groups()
    signed = hmac.compare_digest(signature, _signature(int(ticket_id), recipient, nonce))
    user_id = int(recipient[1:]) if recipient.startswith("u") else None
    return OurId(int(ticket_id), user_id, signed)
