"""The account page's revisit panel: next revisit, last one done, the plan, links."""
from __future__ import annotations

from typing import Any

from service.auth.models import User
from service.auth.permissions import Permission, can
from service.db_types import utcnow
from service.directory import panels as directory_panels
from service.directory.models import Account, Tier
from surveys.revisits import access, services


def revisit_panel(user: User, account: Account) -> dict[str, Any] | None:
    """What the panel shows; hidden from those who may not work revisits, and on standard
    accounts that never had one."""
    if not can(user, Permission.REVISIT_WORK):
        return None
    planned = services.planned_revisit(account.id)
    last = next(iter(services.history(account.id, limit=1)), None)
    if account.tier != Tier.VIP and planned is None and last is None:
        return None
    return {"account": account, "planned": planned, "last": last, "now": utcnow(),
            "plan": services.plan_in_effect(account) if account.tier == Tier.VIP else None,
            "may_plan": access.may_plan(user, account),
            "may_open_planned": planned is not None and access.can_work(user, planned, account),
            "may_open_last": last is not None and access.can_work(user, last, account)}


def register() -> None:
    """Add the panel to every account page."""
    directory_panels.register("account", "revisits", "surveys/revisits/_panel.html",
                              revisit_panel, order=40, column="side")
