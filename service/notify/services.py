"""Staff notifications: one per subject and step, mailed as a digest per recipient."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service.extensions import db
from service.notify.models import Notification


def notify(user_id: int, kind: str, subject_ref: str, title: str,
           dedupe_key: str, data: dict | None = None) -> Notification | None:
    """Create a notification unless one with this key exists; returns the new one."""
    if db.session.scalar(select(Notification.id).where(
            Notification.dedupe_key == dedupe_key)) is not None:
        return None
    notification = Notification(user_id=user_id, kind=kind, subject_ref=subject_ref,
                                title=title[:300], dedupe_key=dedupe_key, data=data or {})
    try:
        with db.session.begin_nested():
            db.session.add(notification)
    except IntegrityError:
        return None
    return notification


def unmailed(user_id: int, kinds: tuple[str, ...]) -> list[Notification]:
    """A user's notifications of these kinds that have not been mailed yet."""
    return list(db.session.scalars(select(Notification).where(
        Notification.user_id == user_id, Notification.kind.in_(kinds),
        Notification.emailed_at.is_(None)).order_by(Notification.id)))
