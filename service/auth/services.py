"""Staff accounts, password checks and API tokens."""
from __future__ import annotations

import hashlib
import secrets
import zoneinfo
from datetime import timedelta
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from service.auth.models import ApiToken, Role, User
from service.db_types import utcnow
from service.errors import Conflict, InvalidInput
from service.extensions import db
from service.i18n import SUPPORTED
from service.validation import normalize_email, strip_controls

TOKEN_PREFIX = "ld_"
MIN_PASSWORD_LENGTH = 8
# Long enough for any passphrase; bounds the work one request can ask the hash to do.
MAX_PASSWORD_LENGTH = 1024
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


def check_password(user: User, password: str) -> bool:
    """Whether the password is the user's (same cost when the user has none)."""
    if not user.password_hash:
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(user.password_hash, password)


def set_password(user: User, password: str) -> None:
    """Give the user a new password, hashed; ending their sessions is the caller's call."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(errors={"password": [
            f"Must be at least {MIN_PASSWORD_LENGTH} characters."]})
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(errors={"password": [
            f"Must be at most {MAX_PASSWORD_LENGTH} characters."]})
    user.password_hash = _hash(password)


# Not places: "localtime" is the server's own setting and "Factory" a tzdata placeholder.
_NOT_ZONES = {"localtime", "Factory", "posixrules"}


@lru_cache(maxsize=1)
def valid_timezones() -> tuple[str, ...]:
    """The IANA zones a user may choose, sorted."""
    return tuple(sorted(zoneinfo.available_timezones() - _NOT_ZONES))


def update_profile(user: User, *, name: str, locale: str, timezone: str | None) -> None:
    """Change what a user may change about themselves: name, language and time zone."""
    errors: dict[str, list[str]] = {}
    clean_name = strip_controls(name or "").strip()
    if not clean_name or len(clean_name) > 120:
        errors["name"] = ["Must be 1 to 120 characters."]
    if locale not in SUPPORTED:
        errors["locale"] = [f"Must be one of: {', '.join(SUPPORTED)}."]
    if timezone is not None and timezone not in valid_timezones():
        errors["timezone"] = ["Not a known time zone."]
    if errors:
        raise InvalidInput(errors=errors)
    user.name, user.locale, user.timezone = clean_name, locale, timezone


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
