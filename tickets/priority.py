"""Deriving a ticket's priority at intake, with the reason kept."""
from __future__ import annotations

import re
from dataclasses import dataclass

from tickets.models import PRIORITY_ORDER, Priority

# Words that mean a service is down for the customer; matched case-insensitively.
OUTAGE_KEYWORDS_EN = ("outage", "is down", "are down", "went down", "service down",
                      "production down", "not reachable", "unreachable", "data loss",
                      "cannot access", "can't access", "all users affected")
OUTAGE_KEYWORDS_ZH = ("宕机", "瘫痪", "停机", "无法访问", "不能访问", "打不开", "服务中断",
                      "数据丢失", "全部用户", "所有用户都", "断网")
_OUTAGE = re.compile("|".join(re.escape(word) for word in OUTAGE_KEYWORDS_EN + OUTAGE_KEYWORDS_ZH),
                     re.IGNORECASE)


@dataclass(frozen=True)
class PriorityDecision:
    priority: Priority
    reason: str


def derive_priority(*, staff_priority: Priority | None, urgency: Priority | None,
                    is_vip: bool, text: str) -> PriorityDecision:
    """Staff's choice wins; else urgency, one step up for VIP, urgent on outage words."""
    if staff_priority is not None:
        return PriorityDecision(staff_priority, f"set by staff: {staff_priority}")
    base = urgency or Priority.NORMAL
    reasons = [f"customer urgency {base}" if urgency else "default priority normal"]
    priority = base
    if is_vip and priority is not Priority.URGENT:
        priority = PRIORITY_ORDER[PRIORITY_ORDER.index(priority) + 1]
        reasons.append("VIP account +1 step")
    match = _OUTAGE.search(text)
    if match and priority is not Priority.URGENT:
        priority = Priority.URGENT
        reasons.append(f"outage keyword \"{match.group(0)}\"")
    return PriorityDecision(priority, "; ".join(reasons))
