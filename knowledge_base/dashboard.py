"""The knowledge base's section on the leads' dashboard: self-service and content gaps in the
dashboard's period, with a link to the full numbers."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from service.auth.permissions import Permission, can
from service.console.dashboard import register_section
from knowledge_base import stats

GAPS_SHOWN = 5


def section_context(user, scope, period, starts: dict, now: datetime) -> dict[str, Any] | None:
    """The period's knowledge-base numbers for a lead (None for anyone without kb.stats)."""
    if not can(user, Permission.KB_STATS):
        return None
    numbers = stats.numbers(starts[period], now)
    return {"numbers": numbers, "gaps": numbers.content_gaps[:GAPS_SHOWN],
            "reviews_due": len(numbers.review_due)}


register_section("knowledge_base", "knowledge_base/dashboard/section.html", section_context,
                 order=200)
