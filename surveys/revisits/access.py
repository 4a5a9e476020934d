"""Who may see and work VIP revisits, and set an account's revisit plan.

- work a revisit (see it, record the call, cancel it, open a ticket or an opportunity from
  it): revisit.work and being its owner, the account's dedicated support agent or sales
  owner, a lead or an admin. Everyone else gets 404: the revisit does not exist for them.
- set an account's plan: revisit.work and being a lead, an admin, or one of the account's
  two owners (dedicated support agent, sales owner).
"""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import false, or_, select, true

from service.auth.models import Role, User
from service.auth.permissions import Permission, can
from service.directory.models import Account
from service.errors import Forbidden, NotFound
from service.extensions import db
from service.validation import is_id
from surveys.models import Revisit

MANAGERS = (Role.ADMIN, Role.LEAD)


def sees_all(user: User) -> bool:
    """Whether the user works every account's revisits (leads and admins)."""
    return can(user, Permission.REVISIT_WORK) and user.role in MANAGERS


def owns_account(user: User, account: Account) -> bool:
    """Whether the user is the account's dedicated support agent or sales owner."""
    return user.id in (account.dedicated_agent_id, account.sales_owner_id)


def can_work(user: User, revisit: Revisit, account: Account | None = None) -> bool:
    """Whether the user may see and work this revisit."""
    if not can(user, Permission.REVISIT_WORK):
        return False
    if user.role in MANAGERS or revisit.owner_id == user.id:
        return True
    account = account or db.session.get(Account, revisit.account_id)
    return account is not None and owns_account(user, account)


def visible_to(user: User):
    """SQL condition: the revisits this user may see (the others answer 404)."""
    if not can(user, Permission.REVISIT_WORK):
        return false()
    if user.role in MANAGERS:
        return true()
    owned = select(Account.id).where(or_(Account.dedicated_agent_id == user.id,
                                         Account.sales_owner_id == user.id))
    return or_(Revisit.owner_id == user.id, Revisit.account_id.in_(owned))


def get_revisit(user: User, revisit_id: object, *, for_update: bool = False) -> Revisit:
    """The revisit if the user may work it, else NotFound (whether or not it exists)."""
    revisit = None
    if is_id(revisit_id):
        query = select(Revisit).where(Revisit.id == revisit_id)
        if for_update:
            query = query.with_for_update(of=Revisit)
        revisit = db.session.scalar(query)
    if revisit is None or not can_work(user, revisit):
        raise NotFound(_("There is no such revisit, or it is not yours to work."))
    return revisit


def may_plan(user: User, account: Account) -> bool:
    """Whether the user may change the account's revisit plan."""
    if not can(user, Permission.REVISIT_WORK):
        return False
    return user.role in MANAGERS or owns_account(user, account)


def require_plan(user: User, account: Account) -> None:
    """Raise Forbidden unless the user may change the account's revisit plan."""
    if not may_plan(user, account):
        raise Forbidden(_("Only leads, admins and the account's owners may change its "
                          "revisit plan."))
