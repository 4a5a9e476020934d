"""Symmetric encryption for secrets we must read back (IMAP passwords, webhook secrets)."""
from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


def _fernet() -> Fernet:
    configured = current_app.config.get("ENCRYPTION_KEY")
    if configured:
        return Fernet(configured.encode())
    # Derived, not reused: the session-signing key never directly encrypts data.
    digest = hashlib.sha256(b"loopdesk-encryption:" + current_app.config["SECRET_KEY"].encode())
    return Fernet(base64.urlsafe_b64encode(digest.digest()))


def encrypt(plain: str) -> str:
    """Encrypt a secret for storage (authenticated: tampering is detected)."""
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str | None:
    """The secret behind `encrypt`'s output, or None when the key has changed or it was altered."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        return None


def timestamped_signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`: how Loopdesk signs webhooks
    and how a telephony system signs its calls to us (the timestamp stops replays)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"
