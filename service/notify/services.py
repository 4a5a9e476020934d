"""Staff notifications: one per subject and step, mailed as a digest per recipient."""
from __future__ import annotations

from sqlalchemy import select

from service.extensions import db
from service.notify.models import Notification


def unmailed(user_id: int, kinds: tuple[str, ...]) -> list[Notification]:
    """A user's notifications of these kinds that have not been mailed yet."""
    return list(db.session.scalars(select(Notification).where(
        Notification.user_id == user_id, Notification.kind.in_(kinds),
        Notification.emailed_at.is_(None)).order_by(Notification.id)))
