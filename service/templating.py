"""Template helpers: local times and translated labels for enum values."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app, has_request_context
from flask_babel import lazy_gettext as _l

from service.labels import STAFF_STATUS_LABELS

STATUS_LABELS = {
    "new": _l("New"), "open": _l("Open"), "pending_customer": _l("Waiting for your reply"),
    "pending_internal": _l("With our specialists"), "resolved": _l("Resolved"),
    "reopened": _l("Reopened"), "closed": _l("Closed"),
}
PRIORITY_LABELS = {"low": _l("Low"), "normal": _l("Normal"), "high": _l("High"),
                   "urgent": _l("Urgent")}


def display_zone() -> ZoneInfo:
    """The zone to show times in: the signed-in staff user's, else the service's."""
    name = None
    if has_request_context():
        from flask_login import current_user

        if current_user.is_authenticated:
            name = current_user.timezone
    try:
        return ZoneInfo(name or current_app.config["TIMEZONE"])
    except (ValueError, KeyError):  # a zone removed from tzdata since it was chosen
        return ZoneInfo(current_app.config["TIMEZONE"])


def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M", *,
              with_zone: bool = True) -> str:
    """Format a UTC instant in the reader's time zone, naming the zone."""
    if value is None:
        return ""
    zone = display_zone()
    text = value.astimezone(zone).strftime(fmt)
    return f"{text} ({zone.key})" if with_zone else text


def init_templating(app: Flask) -> None:
    """Register filters and globals."""
    from service.console.nav import nav_for_current_user
    from service.slots import render_slot

    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.globals["slot"] = render_slot
    app.jinja_env.globals["has_endpoint"] = lambda name: name in app.view_functions
    app.jinja_env.globals["console_nav"] = nav_for_current_user
    app.jinja_env.globals["status_label"] = lambda value: STATUS_LABELS.get(str(value), value)
    # Staff pages name statuses as staff do ("Waiting on customer", not "…for your reply").
    app.jinja_env.globals["staff_status_label"] = \
        lambda value: STAFF_STATUS_LABELS.get(str(value), value)
    app.jinja_env.globals["priority_label"] = lambda value: PRIORITY_LABELS.get(str(value), value)
