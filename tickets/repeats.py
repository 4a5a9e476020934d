"""Repeat issues: a ticket repeats one when its customer (its account, else its contact)
opened another ticket in the same category within the 30 days before it.

`Ticket.is_repeat` keeps that answer on the ticket, so the repeat-issue rate is a plain
count over any period. Every flush that adds a ticket or changes its category, account,
contact or creation time recomputes the flag, in the same transaction, for the tickets
whose answer can change: the ticket itself, and that customer's tickets in the old and the
new category created in the REPEAT_WINDOW after it (they may have repeated it); only the
flags that change are written. Migration 0012 filled it in for older tickets.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import (Interval, and_, event, exists, false, func, inspect, literal, not_,
                        or_, select, update)
from sqlalchemy.orm import Session, aliased

from service.extensions import db
from tickets.models import Ticket

# Calendar time, not business time.
REPEAT_WINDOW = timedelta(days=30)
# SQLite cuts window_start() to the millisecond, so a ticket slightly more than
# REPEAT_WINDOW after another may still count it: recompute a little past the window.
_SLACK = timedelta(seconds=1)
_KEYS = ("category", "account_id", "contact_id", "created_at")


def window_start(later: Any) -> Any:
    """SQL: the instant REPEAT_WINDOW before the timestamp `later`."""
    if db.session.get_bind().dialect.name == "postgresql":
        return later - literal(REPEAT_WINDOW, Interval())
    # SQLite stores "YYYY-MM-DD HH:MM:SS.ffffff", so a string comparison with this
    # (milliseconds) keeps the index on created_at usable.
    return func.strftime("%Y-%m-%d %H:%M:%f", later,
                         f"-{int(REPEAT_WINDOW.total_seconds())} seconds")


def repeats_earlier_ticket() -> Any:
    """SQL, correlated to Ticket: the ticket has a category, and its customer (its account,
    else its contact, whatever that earlier ticket's account) opened another ticket in the
    same category within REPEAT_WINDOW before it (the lower id on a tie in time)."""
    prior = aliased(Ticket, name="prior")
    earlier = [prior.category == Ticket.category,
               prior.created_at >= window_start(Ticket.created_at),
               prior.created_at <= Ticket.created_at,
               not_(and_(prior.created_at == Ticket.created_at, prior.id >= Ticket.id))]
    # Two EXISTS rather than one with an OR: each can use its own index.
    by_account = exists(select(prior.id).where(prior.account_id == Ticket.account_id, *earlier))
    by_contact = exists(select(prior.id).where(prior.contact_id == Ticket.contact_id, *earlier))
    return and_(Ticket.category.is_not(None), Ticket.category != "",
                or_(and_(Ticket.account_id.is_not(None), by_account),
                    and_(Ticket.account_id.is_(None), by_contact)))


def _values(ticket: Ticket, *, old: bool) -> dict[str, Any]:
    state = inspect(ticket)
    values = {}
    for name in _KEYS:
        history = state.attrs[name].history
        if old and history.deleted:
            values[name] = history.deleted[0]
        else:
            values[name] = getattr(ticket, name)
    return values


def _affected(values: dict[str, Any]) -> Any:
    """SQL: the tickets whose flag a ticket with these values can decide: its account's
    tickets in its category, and its contact's tickets of no account in that category,
    created within REPEAT_WINDOW after it."""
    category, created_at = values["category"], values["created_at"]
    if not category or created_at is None:
        return false()
    mine = [Ticket.category == category, Ticket.created_at >= created_at,
            Ticket.created_at <= created_at + REPEAT_WINDOW + _SLACK]
    parts = [and_(Ticket.account_id.is_(None), Ticket.contact_id == values["contact_id"], *mine)]
    if values["account_id"] is not None:
        parts.append(and_(Ticket.account_id == values["account_id"], *mine))
    return or_(*parts)


@event.listens_for(Session, "after_flush")
def _refresh_repeat_flags(session: Session, _context) -> None:
    changed = [ticket for ticket in session.new if isinstance(ticket, Ticket)]
    for ticket in session.dirty:
        if isinstance(ticket, Ticket) and any(
                inspect(ticket).attrs[name].history.has_changes() for name in _KEYS):
            changed.append(ticket)
    if not changed:
        return
    scopes = [Ticket.id.in_([ticket.id for ticket in changed])]
    for ticket in changed:
        old, new = _values(ticket, old=True), _values(ticket, old=False)
        scopes += [_affected(new)] if old == new else [_affected(old), _affected(new)]
    # Only the flags that change: rewriting (and locking) a customer's other tickets on
    # every intake would cost the intake path for nothing.
    session.connection().execute(
        update(Ticket)
        .where(or_(*scopes), Ticket.is_repeat.is_distinct_from(repeats_earlier_ticket()))
        .values(is_repeat=repeats_earlier_ticket())
        .execution_options(synchronize_session=False))
