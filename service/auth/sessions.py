"""Console sign-in sessions: a random id in the signed cookie, its hash in the database.

The cookie also carries when the session was last used, so the idle timeout needs no
write per request; the row decides whether the session still exists at all.
"""
from __future__ import annotations

import hashlib
import secrets
import time
from datetime import timedelta

from flask import current_app, g, session
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
    _end_cookie_session()  # signing in over another sign-in replaces it everywhere
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    session[SESSION_KEY] = raw
    session[SEEN_KEY] = int(time.time())
    _forget_csrf_token()
    login_user(user)


def sign_out() -> None:
    """End the current session everywhere its cookie may have been copied to."""
    from flask_login import logout_user

    _end_cookie_session()
    logout_user()
    session.clear()
    _forget_csrf_token()


def _forget_csrf_token() -> None:
    # Flask-WTF caches this request's token in g; it was made from the cleared session.
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)


def _end_cookie_session() -> None:
    """End the row of the session the current cookie names, if any."""
    current = current_session_hash()
    if current is not None:
        db.session.execute(update(StaffSession)
                           .where(StaffSession.token_hash == current,
                                  StaffSession.ended_at.is_(None))
                           .values(ended_at=utcnow()))


def current_session_hash() -> str | None:
    """The stored hash of the session id in this request's cookie, if there is one."""
    raw = session.get(SESSION_KEY)
    return _hash(raw) if isinstance(raw, str) else None


def end_all_sessions(user_id: int) -> int:
    """End every open session of a user (disabled, password changed); returns how many."""
    result = db.session.execute(update(StaffSession)
                                .where(StaffSession.user_id == user_id,
                                       StaffSession.ended_at.is_(None))
                                .values(ended_at=utcnow()))
    return result.rowcount or 0


def end_other_sessions(user_id: int) -> int:
    """End every open session of the user but this request's; returns how many."""
    condition = [StaffSession.user_id == user_id, StaffSession.ended_at.is_(None)]
    current = current_session_hash()
    if current is not None:
        condition.append(StaffSession.token_hash != current)
    result = db.session.execute(update(StaffSession).where(*condition)
                                .values(ended_at=utcnow()))
    return result.rowcount or 0


def open_sessions(user_id: int, limit: int = 50) -> list[StaffSession]:
    """The user's sessions that are neither ended nor past their lifetime, newest first.

    A session idle past CONSOLE_IDLE_MINUTES is listed until its lifetime ends: only its
    cookie knows when it was last used.
    """
    return list(db.session.scalars(
        select(StaffSession)
        .where(StaffSession.user_id == user_id, StaffSession.ended_at.is_(None),
               StaffSession.expires_at > utcnow())
        .order_by(StaffSession.created_at.desc(), StaffSession.id.desc()).limit(limit)))


# First match wins: Edge and Opera also say "Chrome", Chrome also says "Safari".
_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
             ("FxiOS/", "Firefox"), ("CriOS/", "Chrome"), ("Chrome/", "Chrome"),
             ("Safari/", "Safari"), ("curl/", "curl"))
_SYSTEMS = (("Windows", "Windows"), ("Android", "Android"), ("iPhone", "iOS"),
            ("iPad", "iPadOS"), ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"),
            ("Linux", "Linux"))


def describe_user_agent(user_agent: str | None) -> tuple[str | None, str | None]:
    """(browser, operating system) recognised in a User-Agent header, each None if unknown."""
    text = user_agent or ""
    browser = next((name for marker, name in _BROWSERS if marker in text), None)
    system = next((name for marker, name in _SYSTEMS if marker in text), None)
    return browser, system


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
