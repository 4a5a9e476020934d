"""Password reset links and password changes.

A reset link is signed (itsdangerous, a salt of its own), expires after
PASSWORD_RESET_MINUTES and carries a fingerprint of the password hash it was issued
against: setting any password (with the link or otherwise) changes the hash, so the link
works once and dies as soon as the password changes.
"""
from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from flask import current_app, render_template
from flask_babel import force_locale
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select

from service import jobs
from service.auth import sessions
from service.auth.models import User
from service.auth.services import check_password, set_password
from service.errors import InvalidInput
from service.extensions import db
from service.i18n import locale_for
from service.validation import is_email

_SALT = "loopdesk.auth.password-reset"
_MAX_TOKEN_LENGTH = 500  # ours are about 100 characters; anything longer is not ours


class ResetProblem(enum.StrEnum):
    """Why a reset link cannot be used."""

    INVALID = "invalid"  # not a link we signed (mangled, truncated, forged)
    EXPIRED = "expired"
    USED = "used"  # the password changed since, or the account is gone or disabled


@dataclass(frozen=True)
class ResetCheck:
    """The user a reset link is good for, or why it is not good."""

    user: User | None
    problem: ResetProblem | None


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _fingerprint(password_hash: str | None) -> str:
    # Keyed, so the link (readable base64) says nothing about the hash itself.
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, (password_hash or "").encode(), hashlib.sha256).hexdigest()[:32]


def reset_token(user: User) -> str:
    """A signed reset token for the user's current password."""
    return _serializer().dumps({"u": user.id, "f": _fingerprint(user.password_hash)})


def reset_url(token: str) -> str:
    """The absolute reset link for a mail (works in a job as well as in a request)."""
    path = current_app.url_map.bind("").build("auth.reset_password", {"token": token})
    return current_app.config["BASE_URL"] + path


def check_reset_token(token: str) -> ResetCheck:
    """The active user a token may set a password for, or why it may not."""
    if not isinstance(token, str) or len(token) > _MAX_TOKEN_LENGTH:
        return ResetCheck(None, ResetProblem.INVALID)
    max_age = current_app.config["PASSWORD_RESET_MINUTES"] * 60
    try:
        data = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        return ResetCheck(None, ResetProblem.EXPIRED)
    except BadSignature:
        return ResetCheck(None, ResetProblem.INVALID)
    user_id = data.get("u") if isinstance(data, dict) else None
    fingerprint = data.get("f") if isinstance(data, dict) else None
    if not isinstance(user_id, int) or not isinstance(fingerprint, str):
        return ResetCheck(None, ResetProblem.INVALID)
    user = db.session.get(User, user_id)
    if (user is None or not user.is_active or not user.password_hash
            or not hmac.compare_digest(fingerprint, _fingerprint(user.password_hash))):
        return ResetCheck(None, ResetProblem.USED)
    return ResetCheck(user, None)


def request_password_reset(email: str) -> None:
    """Queue a reset mail if an active user with a password has this address.

    Says nothing either way: the caller shows the same answer for every address.
    """
    address = (email or "").strip().lower()
    if not is_email(address):
        return
    user = db.session.scalar(select(User).where(func.lower(User.email) == address))
    if user is None or not user.is_active or not user.password_hash:
        return
    # The nonce makes each request its own mail, while a retried job re-sends the same one.
    jobs.enqueue(send_password_reset, user.id, secrets.token_hex(8))


@jobs.job(queue="mail")
def send_password_reset(user_id: int, nonce: str) -> None:
    """Mail the user a reset link, in their language."""
    from service.notify import mail

    user = db.session.get(User, user_id)
    if user is None or not user.is_active or not user.password_hash:
        return  # disabled or changed since the request: nothing to reset
    minutes = current_app.config["PASSWORD_RESET_MINUTES"]
    context = {"user": user, "link": reset_url(reset_token(user)), "minutes": minutes}
    with force_locale(locale_for(user.locale)):
        subject = render_template("auth/mail/password_reset_subject.txt", **context).strip()
        body = render_template("auth/mail/password_reset.txt", **context)
    mail.send_mail(f"password-reset:{user.id}:{nonce}", user.email, subject, body)


def reset_password(user: User, password: str) -> int:
    """Set a new password from a reset link and end every session; returns how many ended."""
    set_password(user, password)
    return sessions.end_all_sessions(user.id)


def change_password(user: User, current: str, new: str) -> int:
    """Change the signed-in user's password given the current one; ends their other sessions.

    Returns how many other sessions ended. Raises InvalidInput (field `current_password`)
    when the current password is wrong.
    """
    if not check_password(user, current or ""):
        raise InvalidInput(errors={"current_password": ["The current password is not right."]})
    set_password(user, new)
    return sessions.end_other_sessions(user.id)
