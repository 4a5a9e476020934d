"""Automatic audit entries for staff changes, and the sign-in / sign-out entries.

Before each flush inside a staff request (console session or API token), every new,
changed or deleted object of an audited model (see service.audit.registry) is written
down with the columns that changed. The changes are read from attribute history, which
never queries. They are gathered per object over the transaction's flushes (services
flush as they go) and added as entries when it commits, when new objects have their ids:
one entry per object and transaction, committed or rolled back with the change.

Nothing happens outside staff requests: customers' pages, jobs and sweeps write nothing
here (jobs and sweeps may call `record` themselves).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_login import user_logged_in, user_logged_out
from sqlalchemy import event, inspect
from sqlalchemy.orm import MANYTOONE, Session

from service.audit.recording import Actor, build_entry, plain, record, request_staff_actor
from service.audit.registry import CHANGED, REDACTED, Audited, audited, register_defaults
from service.extensions import db

_PENDING = "audit_pending"
_COMMITTING = "audit_committing"


def _shown(settings: Audited, key: str, value: Any) -> Any:
    if key in settings.redact:
        return REDACTED if value is not None else None
    if key in settings.opaque:
        return CHANGED if value not in (None, "", [], {}) else None
    return plain(value)


def _label(item: Any, attribute: str) -> Any:
    # Only what is in memory: an expired member is named by its key rather than reloaded.
    state = inspect(item)
    if attribute in state.dict:
        return plain(state.dict[attribute])
    return ":".join(map(str, state.identity)) if state.identity else None


def _collection_changes(state, settings: Audited) -> dict[str, list]:
    changes: dict[str, list] = {}
    for name, attribute in settings.collections.items():
        if name not in state.mapper.relationships:
            continue
        history = state.attrs[name].history
        if not history.added and not history.deleted:
            continue
        kept = list(history.unchanged or ())
        before = sorted((_label(item, attribute) for item in [*kept, *history.deleted]), key=str)
        after = sorted((_label(item, attribute) for item in [*kept, *history.added]), key=str)
        if before != after:
            changes[name] = [before, after]
    return changes


def _foreign_keys_by_relationship(state) -> list[tuple[str, str, str]]:
    """(relationship, its foreign-key column attribute, the related key attribute) of each
    single-column many-to-one relationship: code often sets `rule.team = team`, and the
    `team_id` column only follows during the flush."""
    found = []
    for relationship in state.mapper.relationships:
        if relationship.direction is not MANYTOONE or len(relationship.local_remote_pairs) != 1:
            continue
        local, remote = relationship.local_remote_pairs[0]
        try:
            local_key = state.mapper.get_property_by_column(local).key
            remote_key = relationship.mapper.get_property_by_column(remote).key
        except Exception:  # a column not mapped as an attribute: nothing to show
            continue
        found.append((relationship.key, local_key, remote_key))
    return found


def _related_key(item: Any, key: str) -> Any:
    return None if item is None else inspect(item).dict.get(key)


def _update_changes(state, settings: Audited) -> dict[str, list]:
    changes: dict[str, list] = {}
    for column in state.mapper.column_attrs:
        key = column.key
        if not settings.follows(key):
            continue
        history = state.attrs[key].history  # never loads an unloaded value
        if not history.added and not history.deleted:
            continue
        before = history.deleted[0] if history.deleted else None
        after = history.added[0] if history.added else None
        if before == after:
            continue
        if key in settings.redact:
            changes[key] = [REDACTED, REDACTED]
        elif key in settings.opaque:
            changes[key] = [None, CHANGED]
        else:
            changes[key] = [plain(before), plain(after)]
    for name, local_key, remote_key in _foreign_keys_by_relationship(state):
        if local_key in changes or not settings.follows(local_key):
            continue
        history = state.attrs[name].history
        if not history.added and not history.deleted:
            continue
        before = _related_key(history.deleted[0] if history.deleted else None, remote_key)
        after = _related_key(history.added[0] if history.added else None, remote_key)
        if before != after:
            changes[local_key] = [_shown(settings, local_key, before),
                                  _shown(settings, local_key, after)]
    changes.update(_collection_changes(state, settings))
    return changes


def _snapshot_changes(state, settings: Audited, *, created: bool) -> dict[str, list]:
    """What a new object holds ([None, value]) or a deleted one held ([value, None])."""
    changes: dict[str, list] = {}
    loaded = state.dict  # only what is in memory: no query for a deleted row's columns
    for column in state.mapper.column_attrs:
        key = column.key
        if not settings.follows(key) or key not in loaded or loaded[key] is None:
            continue
        shown = _shown(settings, key, loaded[key])
        changes[key] = [None, shown] if created else [shown, None]
    for name, local_key, remote_key in _foreign_keys_by_relationship(state):
        if local_key in changes or not settings.follows(local_key) or name not in loaded:
            continue
        value = _related_key(loaded[name], remote_key)
        if value is not None:
            shown = _shown(settings, local_key, value)
            changes[local_key] = [None, shown] if created else [shown, None]
    if created:
        changes.update(_collection_changes(state, settings))
    return changes


@dataclass
class _Pending:
    """One object's entry, gathered over the flushes of a transaction."""

    actor: Actor
    verb: str
    obj: Any
    changes: dict[str, list] = field(default_factory=dict)

    def merge(self, changes: dict[str, list]) -> None:
        """Fold a later change in: the first `before` stays, the last `after` wins."""
        for key, (before, after) in changes.items():
            if key in self.changes:
                self.changes[key] = [self.changes[key][0], after]
            else:
                self.changes[key] = [before, after]
            first, last = self.changes[key]
            if self.verb == "update" and first == last and last not in _MARKERS:
                del self.changes[key]  # changed and changed back


_MARKERS = (REDACTED, CHANGED)


def _gather(pending: dict, actor: Actor, verb: str, obj: Any, changes: dict) -> None:
    # Creates and updates of one object in one transaction make one entry; a delete its own.
    key = (id(obj), "delete" if verb == "delete" else "write")
    known = pending.get(key)
    if known is None:
        pending[key] = _Pending(actor, verb, obj, dict(changes))
    else:
        known.merge(changes)


def _before_flush(session: Session, _context, _instances) -> None:
    actor = request_staff_actor()
    if actor is None:
        return
    pending: dict = session.info.setdefault(_PENDING, {})
    for obj in session.new:
        settings = audited(type(obj))
        if settings is not None:
            _gather(pending, actor, "create", obj,
                    _snapshot_changes(inspect(obj), settings, created=True))
    for obj in session.dirty:
        settings = audited(type(obj))
        if settings is None:
            continue
        changes = _update_changes(inspect(obj), settings)
        if changes:
            _gather(pending, actor, "update", obj, changes)
    for obj in session.deleted:
        settings = audited(type(obj))
        if settings is not None:
            _gather(pending, actor, "delete", obj,
                    _snapshot_changes(inspect(obj), settings, created=False))


def _object_id(obj: Any) -> str | None:
    identity = inspect(obj).identity
    if not identity:
        return None
    return str(identity[0]) if len(identity) == 1 else ":".join(map(str, identity))


def _write_pending(session: Session) -> None:
    """Add the gathered entries to the session; the commit's flushes write them."""
    pending = session.info.pop(_PENDING, None)
    for item in (pending or {}).values():
        if item.verb == "update" and not item.changes:
            continue
        settings = audited(type(item.obj))
        session.add(build_entry(f"{settings.object_type}.{item.verb}", actor=item.actor,
                                object_type=settings.object_type,
                                object_id=_object_id(item.obj), changes=item.changes))


def _before_commit(session: Session) -> None:
    # Entries wait for the commit, so that several flushes of one change (services flush
    # as they go) make one entry; the commit's own flush adds its part in postexec.
    if _PENDING in session.info:
        session.flush()  # gather what is still unflushed into the same entries
    session.info[_COMMITTING] = True
    _write_pending(session)


def _after_flush_postexec(session: Session, _context) -> None:
    if session.info.get(_COMMITTING):
        _write_pending(session)  # new objects have their ids now


def _end_transaction(session: Session, *_args) -> None:
    session.info.pop(_COMMITTING, None)
    if _args and getattr(_args[0], "nested", False):
        return  # a savepoint ended: the outer transaction's entries still wait
    session.info.pop(_PENDING, None)


def _signed_in(_app, user, **_extra) -> None:
    record("auth.sign_in", object_type="user", object_id=user.id, actor=user)


def _signed_out(_app, user, **_extra) -> None:
    if user is None or not getattr(user, "is_authenticated", False):
        user = _user_of_ending_session()
    if user is not None:
        record("auth.sign_out", object_type="user", object_id=user.id, actor=user)


def _user_of_ending_session():
    """The user whose console session the cookie still names.

    Signing out ends the session row before Flask-Login's signal, so the signal carries an
    anonymous user; the cookie still names the session until the sign-out clears it.
    """
    from sqlalchemy import select

    from service.auth.models import StaffSession, User
    from service.auth.sessions import current_session_hash

    session_hash = current_session_hash()
    if session_hash is None:
        return None
    return db.session.scalar(select(User).join(StaffSession, StaffSession.user_id == User.id)
                             .where(StaffSession.token_hash == session_hash))


def install() -> None:
    """Register the flush listeners and Flask-Login signals (once; safe to call again)."""
    if event.contains(db.session, "before_flush", _before_flush):
        return
    register_defaults()
    event.listen(db.session, "before_flush", _before_flush)
    event.listen(db.session, "after_flush_postexec", _after_flush_postexec)
    event.listen(db.session, "before_commit", _before_commit)
    event.listen(db.session, "after_commit", _end_transaction)
    event.listen(db.session, "after_soft_rollback", _end_transaction)
    user_logged_in.connect(_signed_in, weak=False)
    user_logged_out.connect(_signed_out, weak=False)


install()
