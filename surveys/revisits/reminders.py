"""The reminder a revisit's owner gets when it falls due: one console notice per revisit and
owner (a new owner is told again)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, cast, exists, literal, select
from sqlalchemy.exc import IntegrityError

from service.auth.models import User
from service.db_types import utcnow
from service.directory.models import Account
from service.extensions import db
from service.notify.models import Notification
from surveys.models import Revisit, RevisitStatus

NOTICE_KIND = "revisit_due"


def notice_key(revisit_id: int, owner_id: int) -> str:
    """The dedupe key of a revisit's "due" notice to one owner."""
    return f"{NOTICE_KIND}:{revisit_id}:{owner_id}"


def remind_due(now: datetime | None = None, limit: int = 200) -> int:
    """Tell each owner of a planned revisit that fell due, once; commits each batch.

    Returns how many were told. The notice's key is computed in SQL so a revisit whose
    owner was told is never read again.
    """
    now = now or utcnow()
    key = (literal(NOTICE_KIND + ":") + cast(Revisit.id, String) + literal(":")
           + cast(Revisit.owner_id, String))
    told = exists().where(Notification.dedupe_key == key)
    reminded = 0
    while True:
        rows = db.session.execute(
            select(Revisit, Account.name)
            .join(Account, Account.id == Revisit.account_id)
            .join(User, User.id == Revisit.owner_id)
            .where(Revisit.status == RevisitStatus.PLANNED, Revisit.due_at <= now,
                   User.is_active.is_(True), ~told)
            .order_by(Revisit.due_at, Revisit.id).limit(limit)).all()
        if not rows:
            break
        try:
            with db.session.begin_nested():
                for revisit, account_name in rows:
                    db.session.add(_notice(revisit, account_name, now))
        except IntegrityError:  # another sweeper told them first
            db.session.rollback()
            break
        db.session.commit()
        reminded += len(rows)
        if len(rows) < limit:
            break
    return reminded


def _notice(revisit: Revisit, account_name: str, now: datetime) -> Notification:
    return Notification(
        user_id=revisit.owner_id, kind=NOTICE_KIND, subject_ref=f"revisit:{revisit.id}",
        title=(f"VIP revisit due: {account_name} "
               f"(due {revisit.due_at:%Y-%m-%d %H:%M} UTC)")[:300],
        data={"revisit_id": revisit.id, "account_id": revisit.account_id,
              "account": account_name, "due_at": revisit.due_at.isoformat()},
        dedupe_key=notice_key(revisit.id, revisit.owner_id), created_at=now)
