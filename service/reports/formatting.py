"""How a report's numbers and groups read on the console pages, in the reader's language.

Counts get thousands separators, percents one decimal and a %, durations the two largest
sensible units ("2 h 05 min", "3 d 4 h"); a missing number (nothing to divide) is "—".
A change against the previous period is the plain difference, signed with + or −,
with an arrow and a tone from the column's `better` (good, bad or neutral).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import format_date, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from service.labels import CHANNEL_LABELS, TIER_LABELS
from service.reports.query import TIME_GROUPINGS, Grouping
from service.reports.registry import Column, Unit
from service.templating import PRIORITY_LABELS

MISSING = "—"
MINUS = "−"  # U+2212, the minus sign, not a hyphen
_PATTERNS = {Unit.COUNT: "#,##0", Unit.PERCENT: "#,##0.0", Unit.SCORE: "#,##0.0#",
             Unit.MONEY: "#,##0.00", Unit.RATIO: "#,##0.00#"}


def format_value(value: Any, unit: str) -> str:
    """A number as the console shows it (see the module docstring); None is "—"."""
    if value is None:
        return MISSING
    if isinstance(value, bool):  # not a number, whatever Python thinks
        return str(value).lower()
    if unit == Unit.SECONDS:
        return format_seconds(value)
    text = format_decimal(value, _PATTERNS.get(unit, "#,##0.##"))
    return _("%(value)s%%", value=text) if unit == Unit.PERCENT else text


def format_seconds(seconds: float | None) -> str:
    """A duration in its two largest units: 45 s, 12 min, 2 h 05 min, 3 d 4 h."""
    if seconds is None:
        return MISSING
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return _("%(s)d s", s=seconds)
    minutes = seconds // 60
    if minutes < 60:
        return _("%(m)d min", m=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return _("%(h)d h %(m)02d min", h=hours, m=minutes)
    days, hours = divmod(hours, 24)
    return _("%(d)d d %(h)d h", d=days, h=hours)


@dataclass(frozen=True)
class Change:
    """A number against the previous period: the signed difference and how it reads."""

    text: str  # "+3", "−2.5 pts", "+1 h 05 min"
    direction: str  # "up", "down" or "same"
    tone: str  # "good", "bad" or "neutral"
    arrow: str  # ▲ ▼ or =
    description: str  # the same for a screen reader: "up, better"


_ARROWS = {"up": "▲", "down": "▼", "same": "="}


def change(current: Any, previous: Any, column: Column) -> Change | None:
    """How `current` moved from `previous` (None when either is missing)."""
    if current is None or previous is None or isinstance(current, bool) \
            or isinstance(previous, bool):
        return None
    delta = current - previous
    if isinstance(delta, float):
        delta = round(delta, 6)  # 70.1 − 70.0 is 0.1, not 0.09999…
    direction = "up" if delta > 0 else "down" if delta < 0 else "same"
    tone = "neutral"
    if column.better in ("up", "down") and direction != "same":
        tone = "good" if direction == column.better else "bad"
    magnitude = format_value(abs(delta), column.unit)
    if column.unit == Unit.PERCENT:
        # A difference of percentages is in percentage points, not percent.
        magnitude = _("%(value)s pts", value=format_decimal(abs(delta), "#,##0.0"))
    sign = "+" if delta > 0 else MINUS if delta < 0 else "±"
    words = {"up": _("up"), "down": _("down"), "same": _("no change")}[direction]
    judged = {"good": _("better"), "bad": _("worse"), "neutral": ""}[tone]
    description = _("%(direction)s, %(judgement)s", direction=words, judgement=judged) \
        if judged else words
    return Change(f"{sign}{magnitude}", direction, tone, _ARROWS[direction], description)


# ---- the names of sections and groups ----

SECTION_TITLES = {"service": _l("Service"), "satisfaction": _l("Satisfaction"),
                  "sales": _l("Sales"), "self_service": _l("Self-service")}
GROUPING_LABELS = {
    Grouping.DAY: _l("Day"), Grouping.WEEK: _l("Week"), Grouping.MONTH: _l("Month"),
    Grouping.TEAM: _l("Team"), Grouping.AGENT: _l("Agent"), Grouping.PRODUCT: _l("Product"),
    Grouping.ACCOUNT: _l("Account"), Grouping.SOURCE: _l("Source"),
    Grouping.CHANNEL: _l("Channel"), Grouping.PRIORITY: _l("Priority"),
    Grouping.CATEGORY: _l("Category"), Grouping.TIER: _l("Account tier"),
    Grouping.DEPARTMENT: _l("Department"), Grouping.BREACHED: _l("SLA breached"),
    Grouping.REOPENS: _l("Times reopened"), Grouping.DEPARTMENTS: _l("Departments involved")}
def group_label(grouping: Grouping | None, key: Any, named: str = "") -> str:
    """A group's name: a period's dates, a translated value, or the name given."""
    if grouping is None:
        return ""
    if grouping in TIME_GROUPINGS:
        day = date.fromisoformat(key)
        if grouping is Grouping.MONTH:
            return format_date(day, "MMM y")
        text = format_date(day, "medium")
        return _("Week of %(date)s", date=text) if grouping is Grouping.WEEK else text
    if key is None:
        return {Grouping.TEAM: _("No team"), Grouping.AGENT: _("Unassigned")}.get(
            grouping, _("Not set"))
    labels = {Grouping.CHANNEL: CHANNEL_LABELS, Grouping.PRIORITY: PRIORITY_LABELS,
              Grouping.TIER: TIER_LABELS}.get(grouping)
    if labels is not None:
        return str(labels.get(str(key), key))
    if grouping is Grouping.BREACHED:
        return _("Breached") if key else _("Not breached")
    capped = {Grouping.REOPENS: 2, Grouping.DEPARTMENTS: 3}.get(grouping)
    if capped is not None and key >= capped:
        return _("%(n)d or more", n=capped)
    return named or str(key)


def key_text(key: Any) -> str:
    """A group's key as written in a drill-down link."""
    if key is None:
        return ""
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)
