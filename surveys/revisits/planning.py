"""Revisit plans of VIP accounts, and the sweep that keeps one revisit planned for each.

An account without a plan row has the default plan: every `revisit_default_days` days
(survey settings, 30: monthly), active, called by its dedicated support agent, else by its
sales owner. A plan row overrides the interval, names another owner or pauses revisits.
The next revisit is due one interval after the last one done, or at once if none was.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from service.auth.models import User
from service.auth.permissions import Permission, can
from service.db_types import utcnow
from service.directory.models import Account, Tier
from service.errors import Conflict, InvalidInput
from service.extensions import db
from service.validation import is_id
from surveys import settings
from surveys.models import Revisit, RevisitPlan, RevisitStatus
from surveys.revisits.access import require_plan
from surveys.revisits.checklist import default_checklist

MIN_DAYS, MAX_DAYS = 1, 365


@dataclass(frozen=True)
class PlanInEffect:
    """An account's plan as it applies: its own row's values, or the defaults."""
    account_id: int
    interval_days: int
    chosen_owner_id: int | None  # the plan's named owner; None: the account's owners
    owner_id: int | None  # who is asked to call now (an active user with revisit.work)
    active: bool
    is_default: bool  # no plan row: the defaults apply


@dataclass(frozen=True)
class SweepResult:
    planned: int
    cancelled: int


def _callers(ids: Iterable[int | None]) -> set[int]:
    """Of these user ids, those who may be asked to call (active, with revisit.work)."""
    wanted = {user_id for user_id in ids if user_id is not None}
    if not wanted:
        return set()
    users = db.session.scalars(select(User).where(User.id.in_(wanted)))
    return {user.id for user in users if can(user, Permission.REVISIT_WORK)}


def _owner(plan: RevisitPlan | None, account: Account, callers: set[int]) -> int | None:
    """The plan's chosen owner, else the dedicated support agent, else the sales owner."""
    for user_id in (plan.owner_id if plan else None, account.dedicated_agent_id,
                    account.sales_owner_id):
        if user_id in callers:
            return user_id
    return None


def _candidates(plan: RevisitPlan | None, account: Account) -> tuple[int | None, ...]:
    return (plan.owner_id if plan else None, account.dedicated_agent_id, account.sales_owner_id)


def plan_in_effect(account: Account) -> PlanInEffect:
    """The account's plan with the defaults filled in and today's caller resolved."""
    plan = db.session.get(RevisitPlan, account.id)
    owner = _owner(plan, account, _callers(_candidates(plan, account)))
    if plan is None:
        return PlanInEffect(account.id, settings.current().revisit_default_days, None, owner,
                            True, True)
    return PlanInEffect(account.id, plan.interval_days, plan.owner_id, owner, plan.active,
                        False)


def _last_done(account_ids: list[int]) -> dict[int, datetime]:
    """When each account's latest revisit was done (absent: never)."""
    if not account_ids:
        return {}
    rows = db.session.execute(
        select(Revisit.account_id, func.max(Revisit.done_at))
        .where(Revisit.account_id.in_(account_ids), Revisit.status == RevisitStatus.DONE)
        .group_by(Revisit.account_id))
    return {account_id: done_at for account_id, done_at in rows if done_at is not None}


def _next_due(last_done: datetime | None, interval_days: int, now: datetime) -> datetime:
    return last_done + timedelta(days=interval_days) if last_done else now


def _new_revisit(account_id: int, owner_id: int | None, due_at: datetime,
                 now: datetime) -> Revisit:
    return Revisit(account_id=account_id, owner_id=owner_id, status=RevisitStatus.PLANNED,
                   due_at=due_at, checklist=default_checklist(), created_at=now)


def _insert(revisits: list[Revisit]) -> int:
    """Insert planned revisits; one another sweeper planned first is skipped. Returns how many."""
    if not revisits:
        return 0
    try:
        with db.session.begin_nested():
            db.session.add_all(revisits)
        return len(revisits)
    except IntegrityError:  # the partial unique index: one planned revisit per account
        pass
    added = 0
    for revisit in revisits:
        try:
            with db.session.begin_nested():
                db.session.add(_new_revisit(revisit.account_id, revisit.owner_id,
                                            revisit.due_at, revisit.created_at))
            added += 1
        except IntegrityError:
            continue
    return added


def planned_revisit(account_id: int, *, for_update: bool = False) -> Revisit | None:
    """The account's planned (not yet done) revisit, if any."""
    query = select(Revisit).where(Revisit.account_id == account_id,
                                  Revisit.status == RevisitStatus.PLANNED)
    if for_update:
        query = query.with_for_update(of=Revisit)
    return db.session.scalar(query)


def plan_next(account: Account, now: datetime, *, after: datetime | None = None) -> Revisit | None:
    """Plan the account's next revisit if it should have one and has none (no commit).

    Due one interval after `after` (the revisit just done or skipped), else after the last
    one done, else now. Standard accounts and paused plans get none.
    """
    plan = plan_in_effect(account)
    if account.tier != Tier.VIP or not plan.active:
        return None
    existing = planned_revisit(account.id)
    if existing is not None:
        return existing
    base = after or _last_done([account.id]).get(account.id)
    revisit = _new_revisit(account.id, plan.owner_id,
                           _next_due(base, plan.interval_days, now), now)
    return revisit if _insert([revisit]) else planned_revisit(account.id)


def set_plan(user: User, account: Account, interval_days: object, owner_id: object,
             active: bool, *, now: datetime | None = None) -> RevisitPlan:
    """Set how often the VIP account is revisited and by whom, or pause it (no commit).

    The planned revisit follows at once: a new interval moves its due time (from the last
    one done), a new owner takes it, pausing cancels it, resuming plans one.
    """
    require_plan(user, account)
    now = now or utcnow()
    if account.tier != Tier.VIP:
        raise Conflict(_("Revisits are planned for VIP accounts only."))
    errors: dict[str, list[str]] = {}
    if not is_id(interval_days) or not MIN_DAYS <= interval_days <= MAX_DAYS:
        errors["interval_days"] = [_("Enter a whole number of days from %(min)d to %(max)d.",
                                     min=MIN_DAYS, max=MAX_DAYS)]
    if owner_id is not None:
        owner = db.session.get(User, owner_id) if is_id(owner_id) else None
        if owner is None or not can(owner, Permission.REVISIT_WORK):
            errors["owner_id"] = [_("Choose an active staff member who may work revisits.")]
    if errors:
        raise InvalidInput(_("The revisit plan has invalid fields."), errors=errors)
    plan = db.session.get(RevisitPlan, account.id, with_for_update=True)
    if plan is None:
        plan = RevisitPlan(account_id=account.id)
        db.session.add(plan)
    plan.interval_days, plan.owner_id, plan.active = interval_days, owner_id, bool(active)
    plan.updated_at = now
    db.session.flush()
    _follow_plan(account, now)
    return plan


def _follow_plan(account: Account, now: datetime) -> None:
    """Bring the account's planned revisit in line with its (changed) plan."""
    plan = plan_in_effect(account)
    revisit = planned_revisit(account.id, for_update=True)
    if revisit is None:
        plan_next(account, now)
        return
    if not plan.active:
        revisit.status = RevisitStatus.CANCELLED
        return
    revisit.owner_id = plan.owner_id
    last = _last_done([account.id]).get(account.id)
    if last is not None:
        revisit.due_at = _next_due(last, plan.interval_days, now)


def plan_due(now: datetime | None = None, limit: int = 200) -> SweepResult:
    """The hourly sweep: one planned revisit for every VIP account with an active plan, and
    none for the others; commits each batch. Safe to run twice, or in two workers at once.
    """
    now = now or utcnow()
    cancelled = _cancel_unwanted()
    db.session.commit()
    default_days = settings.current().revisit_default_days
    has_planned = exists().where(Revisit.account_id == Account.id,
                                 Revisit.status == RevisitStatus.PLANNED)
    planned = 0
    while True:
        rows = db.session.execute(
            select(Account, RevisitPlan)
            .outerjoin(RevisitPlan, RevisitPlan.account_id == Account.id)
            .where(Account.tier == Tier.VIP,
                   or_(RevisitPlan.account_id.is_(None), RevisitPlan.active.is_(True)),
                   ~has_planned)
            .order_by(Account.id).limit(limit)).all()
        if not rows:
            break
        last = _last_done([account.id for account, _plan in rows])
        callers = _callers(user_id for account, plan in rows
                           for user_id in _candidates(plan, account))
        planned += _insert([
            _new_revisit(account.id, _owner(plan, account, callers),
                         _next_due(last.get(account.id),
                                   plan.interval_days if plan else default_days, now), now)
            for account, plan in rows])
        db.session.commit()
        if len(rows) < limit:
            break
    return SweepResult(planned=planned, cancelled=cancelled)


def _cancel_unwanted() -> int:
    """Cancel the planned revisits of accounts no longer VIP, or whose plan is paused."""
    result = db.session.execute(
        update(Revisit)
        .where(Revisit.status == RevisitStatus.PLANNED,
               or_(Revisit.account_id.in_(select(Account.id).where(Account.tier != Tier.VIP)),
                   Revisit.account_id.in_(select(RevisitPlan.account_id)
                                          .where(RevisitPlan.active.is_(False)))))
        .values(status=RevisitStatus.CANCELLED)
        .execution_options(synchronize_session=False))
    return result.rowcount or 0
