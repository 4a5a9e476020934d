"""Routing rule: a new ticket of an unhealthy VIP account is raised one priority step."""
from __future__ import annotations

from surveys import settings as survey_settings
from surveys.health import services
from surveys.models import HealthBand
from tickets.priority import PriorityContext, PriorityDecision, register_adjuster, step_up

# How the reason reads on the ticket (stored in English like intake's own reasons).
_BAND_WORDS = {HealthBand.HEALTHY: "healthy", HealthBand.WATCH: "watch",
               HealthBand.AT_RISK: "at risk"}


def unhealthy_vip(decision: PriorityDecision,
                  context: PriorityContext) -> PriorityDecision | None:
    """One step up when enabled, the account is VIP and its score is below the threshold."""
    if not context.is_vip or context.account_id is None:
        return None
    settings = survey_settings.current()
    if not settings.health_priority_enabled:
        return None
    health = services.current(context.account_id)
    if health is None or health.score >= settings.health_priority_threshold:
        return None
    return step_up(decision, f"account health {health.score} ({_BAND_WORDS[health.band]})")


def register() -> None:
    """Add the rule to intake's priority adjusters."""
    register_adjuster("surveys.health", unhealthy_vip)
