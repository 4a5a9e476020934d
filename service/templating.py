"""Template helpers: local times and translated labels for enum values."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l

STATUS_LABELS = {
    "new": _l("New"), "open": _l("Open"), "pending_customer": _l("Waiting for your reply"),
    "pending_internal": _l("With our specialists"), "resolved": _l("Resolved"),
    "reopened": _l("Reopened"), "closed": _l("Closed"),
}
PRIORITY_LABELS = {"low": _l("Low"), "normal": _l("Normal"), "high": _l("High"),
                   "urgent": _l("Urgent")}


def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Format a UTC instant in the service's time zone, naming the zone."""
    if value is None:
        return ""
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    return f"{value.astimezone(zone).strftime(fmt)} ({zone.key})"


def init_templating(app: Flask) -> None:
    """Register filters and globals."""
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.globals["status_label"] = lambda value: STATUS_LABELS.get(str(value), value)
    app.jinja_env.globals["priority_label"] = lambda value: PRIORITY_LABELS.get(str(value), value)
