"""Writing audit entries: who acts (staff, API token, CLI, system) and from where.

An entry joins the current transaction, so it is committed or rolled back together with
the change it describes; nothing here commits.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import click
from flask import g, has_request_context, request
from sqlalchemy import func, select

from service.audit.models import AuditEntry
from service.auth.models import User
from service.extensions import db

CONSOLE_PREFIX = "/console"
API_PREFIX = "/api/"
_G_ACTOR = "_audit_actor"
_USER_AGENT_MAX = 300
_ACTION_MAX = 80


class ActorKind(enum.StrEnum):
    STAFF = "staff"  # a console session
    API = "api"  # a bearer token
    SYSTEM = "system"  # jobs, sweeps, anything outside a request
    CLI = "cli"  # a `flask …` command


@dataclass(frozen=True)
class Actor:
    """Who acted, as it was at the time (role and name are copied, not referenced)."""

    kind: ActorKind
    user_id: int | None = None
    role: str | None = None
    name: str | None = None


def _snapshot(user: User, kind: ActorKind) -> Actor:
    return Actor(kind, user.id, str(user.role), (user.name or "")[:200] or None)


def request_staff_actor() -> Actor | None:
    """The staff user acting in this request (API token or console session), else None.

    Cheap by design: it reads only what authentication already loaded (the API's g.user,
    Flask-Login's cached user) and remembers the answer for the rest of the request.
    Customers' pages (portal, surveys, help centre, web form) never have a staff actor,
    even when the browser also holds a console session.
    """
    if not has_request_context():
        return None
    if _G_ACTOR in g:
        return g.get(_G_ACTOR)
    actor = None
    api_user = g.get("user")
    if isinstance(api_user, User):
        actor = _snapshot(api_user, ActorKind.API)
    elif request.path.startswith(CONSOLE_PREFIX + "/"):
        # Flask-Login caches the loaded user in g; a console view has always loaded it
        # (staff_required), and reading the cache never queries.
        console_user = g.get("_login_user")
        if console_user is not None and getattr(console_user, "is_authenticated", False):
            actor = _snapshot(console_user, ActorKind.STAFF)
    if actor is not None:
        setattr(g, _G_ACTOR, actor)
    return actor


def _outside_request_kind() -> ActorKind:
    return ActorKind.CLI if click.get_current_context(silent=True) is not None \
        else ActorKind.SYSTEM


def _kind_for(user: User) -> ActorKind:
    if has_request_context():
        if g.get("user") is user or request.path.startswith(API_PREFIX):
            return ActorKind.API
        return ActorKind.STAFF
    return _outside_request_kind()


def resolve_actor(actor: User | None = None) -> Actor:
    """The actor of an explicit entry: the given user, this request's staff, CLI or system."""
    if actor is not None:
        return _snapshot(actor, _kind_for(actor))
    current = request_staff_actor()
    if current is not None:
        return current
    if has_request_context():
        # Nobody signed in (a failed sign-in, a token request): say which door was used.
        return Actor(ActorKind.API if request.path.startswith(API_PREFIX)
                     else ActorKind.STAFF)
    return Actor(_outside_request_kind())


def request_origin() -> dict[str, str | None]:
    """Address, user agent and request id of the current request (all None outside one)."""
    if not has_request_context():
        return {"ip_address": None, "user_agent": None, "request_id": None}
    # remote_addr is the client as the app sees it: ProxyFix, when configured for the
    # deployment's proxies, has already put the forwarded address there.
    agent = request.user_agent.string or ""
    request_id = g.get("request_id")
    return {"ip_address": (request.remote_addr or "")[:45] or None,
            "user_agent": agent[:_USER_AGENT_MAX] or None,
            "request_id": str(request_id)[:64] if request_id else None}


def plain(value: Any) -> Any:
    """A value as JSON can hold it: enums by value, times in ISO 8601."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return "[binary]"
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    return str(value)


def build_entry(action: str, *, actor: Actor, object_type: str | None = None,
                object_id: int | str | None = None, changes: dict | None = None
                ) -> AuditEntry:
    """An AuditEntry (not yet added to the session) for an action by `actor`."""
    return AuditEntry(
        actor_kind=str(actor.kind), actor_user_id=actor.user_id, actor_role=actor.role,
        actor_name=actor.name, action=action[:_ACTION_MAX], object_type=object_type,
        object_id=str(object_id)[:40] if object_id is not None else None,
        changes=plain(changes or {}), **request_origin())


def record(action: str, *, object_type: str | None = None, object_id: int | str | None = None,
           changes: dict | None = None, actor: User | None = None) -> AuditEntry:
    """Add an entry to the current transaction: it commits or rolls back with the change."""
    entry = build_entry(action, actor=resolve_actor(actor), object_type=object_type,
                        object_id=object_id, changes=changes)
    db.session.add(entry)
    return entry


def record_sign_in_failure(email: str) -> AuditEntry:
    """Note a failed console or API sign-in for the address typed (a staff account's, if any).

    The caller commits: a failed sign-in usually rolls its transaction back first.
    """
    address = (email or "").strip().lower()[:254]
    user_id = db.session.scalar(select(User.id).where(func.lower(User.email) == address)) \
        if address else None
    return record("auth.sign_in_failed", object_type="user" if user_id else None,
                  object_id=user_id, changes={"email": [None, address]})
