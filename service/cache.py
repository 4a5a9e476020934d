"""Per-process snapshots of small, rarely edited tables (SLA policies, routing rules).

Intake reads them on every ticket; caching them as plain data saves several queries per
request. A snapshot is dropped as soon as this process flushes a change to a watched
model, and otherwise lives `ttl` seconds, which bounds how long another process can
serve an admin's edit late.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session


@dataclass
class _Entry:
    loader: Callable[[], Any]
    ttl: float
    watch: tuple[type, ...]
    value: Any = None
    loaded_at: float = field(default=-1e18)


_entries: dict[str, tuple[Callable[[], Any], float, tuple[type, ...]]] = {}


def snapshot(name: str, loader: Callable[[], Any], *, ttl: float,
             watch: tuple[type, ...]) -> Callable[[], Any]:
    """Declare a snapshot; returns a function giving its current value for this app."""
    _entries[name] = (loader, ttl, watch)

    def get() -> Any:
        store = current_app.extensions.setdefault("loopdesk_snapshots", {})
        entry = store.get(name)
        if entry is None:
            entry = store[name] = _Entry(loader, ttl, watch)
        now = time.monotonic()
        if now - entry.loaded_at > entry.ttl:
            entry.value = entry.loader()
            entry.loaded_at = now
        return entry.value

    return get


@event.listens_for(Session, "after_flush")
def _drop_changed(session: Session, _context) -> None:
    changed = {type(obj) for obj in (*session.new, *session.dirty, *session.deleted)}
    if not changed:
        return
    store = current_app.extensions.get("loopdesk_snapshots", {})
    for entry in store.values():
        if any(issubclass(kind, entry.watch) for kind in changed):
            entry.loaded_at = -1e18
