"""Staff accounts, password checks and API tokens."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from service.auth.models import ApiToken, Role, User
from service.db_types import utcnow
from service.errors import Conflict, InvalidInput
from service.extensions import db
from service.validation import normalize_email

TOKEN_PREFIX = "ld_"
MIN_PASSWORD_LENGTH = 8
# Checked against when the email is unknown, so both answers take the same time.
_DUMMY_HASH = generate_password_hash("loopdesk-dummy-password")


def create_user(email: str, role: str, password: str | None, name: str | None = None) -> User:
    """Create a staff user; the password is hashed with scrypt."""
    address = normalize_email(email)
    try:
        role_value = Role(role)
    except ValueError:
        raise InvalidInput(errors={"role": [f"Must be one of: {', '.join(Role)}."]}) from None
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(errors={"password": [
            f"Must be at least {MIN_PASSWORD_LENGTH} characters."]})
    if db.session.scalar(select(User.id).where(User.email == address)) is not None:
        raise Conflict(f"A user with the email {address} already exists.")
    user = User(email=address, role=role_value, name=(name or address.split("@")[0])[:120],
                password_hash=_hash(password) if password else None)
    db.session.add(user)
    db.session.flush()
    return user


def _hash(password: str) -> str:
    from flask import current_app

    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, else None (same cost either way)."""
    try:
        address = normalize_email(email)
    except InvalidInput:
        address = ""
    user = db.session.scalar(select(User).where(func.lower(User.email) == address))
    if user is None or not user.password_hash:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.is_active:
        return None
    return user


def hash_token(raw: str) -> str:
    """SHA-256 of a token: tokens carry 256 random bits, so a fast hash is enough."""
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(user: User, name: str = "api", ttl: timedelta | None = None) -> str:
    """Create an API token for the user and return it; only its hash is stored."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, name=name[:120], token_hash=hash_token(raw),
                            token_prefix=raw[:10],
                            expires_at=utcnow() + ttl if ttl else None))
    db.session.flush()
    return raw


def user_for_token(raw: str) -> User | None:
    """The active user owning an unexpired, unrevoked token, else None."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = db.session.scalar(select(ApiToken).options(joinedload(ApiToken.user))
                              .where(ApiToken.token_hash == hash_token(raw)))
    if token is None or token.revoked_at is not None:
        return None
    now = utcnow()
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if not token.user.is_active:
        return None
    return token.user
