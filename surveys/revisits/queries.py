"""The console's revisit lists: mine, due this week, overdue, done, and (leads) all planned."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import aliased

from service.auth.models import User
from service.directory.models import Account
from service.extensions import db
from service.pagination import decode_time_cursor, encode_cursor
from surveys.models import Revisit, RevisitStatus
from surveys.revisits import access

MINE, WEEK, OVERDUE, DONE, ALL = "mine", "week", "overdue", "done", "all"
VIEWS = (MINE, WEEK, OVERDUE, DONE, ALL)
PAGE_SIZE = 50


@dataclass(frozen=True)
class Row:
    revisit: Revisit
    account_name: str
    owner_name: str | None


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    next_cursor: str | None


def views_for(user: User) -> tuple[str, ...]:
    """The lists this user may open ("all" is for leads and admins)."""
    return VIEWS if access.sees_all(user) else VIEWS[:-1]


def revisits(user: User, view: str, now: datetime, cursor: str | None = None,
             limit: int = PAGE_SIZE) -> Page:
    """One keyset page of a list; planned ones soonest due first, done ones newest first.

    A bad cursor raises InvalidInput.
    """
    owner = aliased(User)
    query = (select(Revisit, Account.name, owner.name)
             .join(Account, Account.id == Revisit.account_id)
             .outerjoin(owner, owner.id == Revisit.owner_id)
             .where(access.visible_to(user)))
    done = view == DONE
    sort_column = Revisit.done_at if done else Revisit.due_at
    if done:
        query = query.where(Revisit.status == RevisitStatus.DONE)
    else:
        query = query.where(Revisit.status == RevisitStatus.PLANNED)
    if view == MINE:
        query = query.where(or_(Revisit.owner_id == user.id,
                                Account.dedicated_agent_id == user.id,
                                Account.sales_owner_id == user.id))
    elif view == WEEK:
        query = query.where(Revisit.due_at >= now, Revisit.due_at < now + timedelta(days=7))
    elif view == OVERDUE:
        query = query.where(Revisit.due_at < now)
    if cursor:
        moment, last_id = decode_time_cursor(cursor, view)
        if done:
            query = query.where(or_(sort_column < moment,
                                    and_(sort_column == moment, Revisit.id < last_id)))
        else:
            query = query.where(or_(sort_column > moment,
                                    and_(sort_column == moment, Revisit.id > last_id)))
    order = ((sort_column.desc(), Revisit.id.desc()) if done
             else (sort_column, Revisit.id))
    found = db.session.execute(query.order_by(*order).limit(limit + 1)).all()
    rows = [Row(revisit, name, owner_name) for revisit, name, owner_name in found[:limit]]
    next_cursor = None
    if len(found) > limit:
        last = rows[-1].revisit
        next_cursor = encode_cursor(view, last.done_at if done else last.due_at, last.id)
    return Page(rows, next_cursor)
