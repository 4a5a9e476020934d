"""Deriving a ticket's priority at intake, with the reason kept."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

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


@dataclass(frozen=True)
class PriorityContext:
    """What an adjuster may look at: the new ticket's account and text."""
    account_id: int | None
    is_vip: bool
    text: str


# An adjuster returns a new decision (a step up, with its reason appended) or None.
PriorityAdjuster = Callable[[PriorityDecision, PriorityContext], "PriorityDecision | None"]

# Other domains' rules (e.g. surveys.health: an unhealthy VIP account), by name, consulted
# after intake's own rules; registering a name again replaces the adjuster.
_adjusters: dict[str, PriorityAdjuster] = {}


def register_adjuster(name: str, adjuster: PriorityAdjuster) -> None:
    """Add a rule that may raise a new ticket's derived priority (not a staff choice)."""
    _adjusters[name] = adjuster


def step_up(decision: PriorityDecision, reason: str) -> PriorityDecision:
    """The decision one priority step higher (urgent stays urgent), with the reason added."""
    if decision.priority is Priority.URGENT:
        return decision
    raised = PRIORITY_ORDER[PRIORITY_ORDER.index(decision.priority) + 1]
    return PriorityDecision(raised, f"{decision.reason}; {reason}")


def derive_priority(*, staff_priority: Priority | None, urgency: Priority | None,
                    is_vip: bool, text: str, account_id: int | None = None
                    ) -> PriorityDecision:
    """Staff's choice wins; else urgency, one step up for VIP, urgent on outage words,
    then the registered adjusters in name order."""
    decision = _own_rules(staff_priority=staff_priority, urgency=urgency, is_vip=is_vip,
                          text=text)
    if staff_priority is not None:
        return decision
    context = PriorityContext(account_id=account_id, is_vip=is_vip, text=text)
    for name in sorted(_adjusters):
        decision = _adjusters[name](decision, context) or decision
    return decision


def _own_rules(*, staff_priority: Priority | None, urgency: Priority | None,
               is_vip: bool, text: str) -> PriorityDecision:
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
