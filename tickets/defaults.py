"""Defaults a fresh install needs: a 24x7 calendar, the four SLA policies, a support team."""
from __future__ import annotations

from sqlalchemy import select

from service.directory.models import Team
from service.extensions import db
from tickets.models import BusinessCalendar, Priority, SlaPolicy
from tickets.sla import DEFAULT_TARGETS

ALWAYS_OPEN = {str(day): [["00:00", "24:00"]] for day in range(7)}


def ensure_defaults(timezone: str | None = None) -> None:
    """Create what is missing; never changes what an admin has edited."""
    from flask import current_app

    calendar = db.session.scalar(select(BusinessCalendar).order_by(BusinessCalendar.id).limit(1))
    if calendar is None:
        calendar = BusinessCalendar(name="24x7",
                                    timezone=timezone or current_app.config["TIMEZONE"],
                                    weekly_hours=ALWAYS_OPEN)
        db.session.add(calendar)
        db.session.flush()
    existing = set(db.session.scalars(select(SlaPolicy.priority)))
    for priority, (first_response, resolution) in DEFAULT_TARGETS.items():
        if priority not in existing:
            db.session.add(SlaPolicy(name=f"{priority.value.capitalize()}", priority=priority,
                                     first_response_minutes=first_response,
                                     resolution_minutes=resolution, calendar_id=calendar.id,
                                     customer_update_minutes=240
                                     if priority == Priority.URGENT else None))
    if db.session.scalar(select(Team.id).where(Team.is_default.is_(True))) is None:
        team = db.session.scalar(select(Team).where(Team.name == "Support"))
        if team is None:
            db.session.add(Team(name="Support", name_zh="技术支持", is_default=True))
        else:
            team.is_default = True
    db.session.flush()
