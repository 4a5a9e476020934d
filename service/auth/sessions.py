"""Console sign-in sessions: a random id in the signed cookie, its hash in the database.

The cookie also carries when the session was last used, so the idle timeout needs no
write per request; the row decides whether the session still exists at all.
"""
from __future__ import annotations

import hashlib
import secrets
import time
from datetime import timedelta

from flask import current_app, session
from sqlalchemy import select, update

from service.auth.models import StaffSession, User
from service.db_types import utcnow
from service.extensions import db

SESSION_KEY = "sid"
SEEN_KEY = "seen"


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def start_session(user: User, *, ip: str | None, user_agent: str | None) -> str:
    """Record a new sign-in for the user and return the raw id for the cookie."""
    raw = secrets.token_urlsafe(32)
    lifetime = timedelta(hours=current_app.config["CONSOLE_SESSION_MAX_HOURS"])
    now = utcnow()
    db.session.add(StaffSession(user_id=user.id, token_hash=_hash(raw), created_at=now,
                                expires_at=now + lifetime, ip=(ip or "")[:45] or None,
                                user_agent=(user_agent or "")[:300] or None))
    db.session.flush()
    return raw


def sign_in(user: User, *, ip: str | None, user_agent: str | None) -> None:
    """Start a session and put it in a fresh cookie (nothing of the old one survives)."""
    from flask_login import login_user

    raw = start_session(user, ip=ip, user_agent=user_agent)
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    session[SESSION_KEY] = raw
    session[SEEN_KEY] = int(time.time())
    login_user(user)


def sign_out() -> None:
    """End the current session everywhere its cookie may have been copied to."""
    from flask_login import logout_user

    raw = session.get(SESSION_KEY)
    if isinstance(raw, str):
        db.session.execute(update(StaffSession)
                           .where(StaffSession.token_hash == _hash(raw),
                                  StaffSession.ended_at.is_(None))
                           .values(ended_at=utcnow()))
    logout_user()
    session.clear()


def end_all_sessions(user_id: int) -> int:
    """End every open session of a user (disabled, password changed); returns how many."""
    result = db.session.execute(update(StaffSession)
                                .where(StaffSession.user_id == user_id,
                                       StaffSession.ended_at.is_(None))
                                .values(ended_at=utcnow()))
    return result.rowcount or 0


def session_user(user_id: str) -> User | None:
    """Flask-Login's loader: the active user of a live, unexpired, non-idle session."""
    raw, seen = session.get(SESSION_KEY), session.get(SEEN_KEY)
    if not user_id.isdigit() or not isinstance(raw, str) or not isinstance(seen, int):
        return None
    idle = current_app.config["CONSOLE_IDLE_MINUTES"] * 60
    now = int(time.time())
    if now - seen > idle:
        return None
    row = db.session.execute(
        select(StaffSession.expires_at, StaffSession.ended_at, User)
        .join(User, User.id == StaffSession.user_id)
        .where(StaffSession.token_hash == _hash(raw))).first()
    if row is None or row.ended_at is not None or row.expires_at <= utcnow():
        return None
    user = row.User
    if user.id != int(user_id) or not user.is_active:
        return None
    if now - seen > 60:  # refresh the idle clock at most once a minute
        session[SEEN_KEY] = now
    return user
