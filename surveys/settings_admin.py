"""Changing the survey settings: every field's bounds, and the groups the admins see."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from service.auth.models import User
from service.db_types import utcnow
from service.errors import InvalidInput
from surveys import settings as survey_settings
from surveys.models import SurveySettings

# Whole-number settings and their bounds (inclusive). Delays may be 0; day counts start at
# 1; recovery opens at CSAT ≤ 1–4 and NPS ≤ 0–8 (never for a satisfied or promoter score).
INT_BOUNDS: dict[str, tuple[int, int]] = {
    "csat_delay_minutes": (0, 7 * 24 * 60),
    "nps_interval_days": (1, 3650),
    "nps_activity_days": (1, 3650),
    "fatigue_days": (1, 365),
    "token_days": (1, 365),
    "edit_hours": (0, 30 * 24),
    "campaign_batch_size": (1, 5000),
    "recovery_hours": (1, 30 * 24),
    "recovery_csat_max": (1, 4),
    "recovery_nps_max": (0, 8),
    "resurvey_delay_days": (0, 90),
    "opportunity_contact_hours": (1, 30 * 24),
    "repeat_ticket_threshold": (2, 100),
    "repeat_window_days": (1, 365),
    "health_priority_threshold": (0, 100),
    "revisit_default_days": (1, 365),
}
BOOL_FIELDS = ("csat_enabled", "nps_enabled", "health_priority_enabled")
FIELDS = (*BOOL_FIELDS, *INT_BOUNDS)

# The settings form's sections, in order.
GROUPS: list[tuple[Any, tuple[str, ...]]] = [
    (_l("CSAT"), ("csat_enabled", "csat_delay_minutes")),
    (_l("NPS"), ("nps_enabled", "nps_interval_days", "nps_activity_days",
                 "campaign_batch_size")),
    (_l("Fatigue and links"), ("fatigue_days", "token_days", "edit_hours")),
    (_l("Service recovery"), ("recovery_csat_max", "recovery_nps_max", "recovery_hours",
                              "resurvey_delay_days")),
    (_l("Opportunities"), ("opportunity_contact_hours", "repeat_ticket_threshold",
                           "repeat_window_days")),
    (_l("Account health"), ("health_priority_enabled", "health_priority_threshold")),
    (_l("Revisits"), ("revisit_default_days",)),
]


def as_dict(settings: SurveySettings) -> dict[str, Any]:
    """Every setting by name, with when and by whom it was last changed."""
    values: dict[str, Any] = {name: getattr(settings, name) for name in FIELDS}
    values.update(updated_at=settings.updated_at, updated_by_id=settings.updated_by_id)
    return values


def update_settings(user: User | None, changes: dict[str, Any]) -> SurveySettings:
    """Apply the given settings (no commit); InvalidInput with field errors, nothing changed."""
    errors: dict[str, list[str]] = {}
    for name, value in changes.items():
        if name in BOOL_FIELDS:
            if not isinstance(value, bool):
                errors[name] = [_("Give true or false.")]
        elif name in INT_BOUNDS:
            low, high = INT_BOUNDS[name]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                errors[name] = [_("Give a whole number from %(low)s to %(high)s.",
                                  low=low, high=high)]
        else:
            errors[name] = [_("Unknown setting.")]
    if errors:
        raise InvalidInput(errors=errors)
    settings = survey_settings.current()
    for name, value in changes.items():
        setattr(settings, name, value)
    settings.updated_at = utcnow()
    settings.updated_by_id = user.id if user else None
    return settings
