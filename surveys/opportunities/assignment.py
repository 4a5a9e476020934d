"""Who gets a new opportunity, and who hears when a rep lets one go.

- The account's sales owner, when that user is active and may work opportunities (a sales
  rep, or a lead or admin who owns the account themselves).
- Otherwise round robin among active sales reps: the rep whose latest opportunity was
  given to them longest ago (never: first), ties by id. No reps: the shared pool (None).
"""
from __future__ import annotations

from sqlalchemy import func, select

from service.auth.models import Role, User
from service.auth.permissions import Permission, can
from service.directory.models import Account, Team, team_members
from service.extensions import db
from surveys.models import Opportunity


def account_owner(account_id: int | None) -> User | None:
    """The account's sales owner when they may take opportunities now, else None."""
    if account_id is None:
        return None
    account = db.session.get(Account, account_id)
    owner = account.sales_owner if account is not None else None
    if owner is None or not can(owner, Permission.OPPORTUNITY_WORK):
        return None
    return owner


def next_rep() -> User | None:
    """The active sales rep next in turn, or None when there is none (the pool)."""
    # "Latest assignment" is read from the opportunities each rep holds, newest first,
    # through the owner index: no extra bookkeeping column is needed.
    latest = (select(Opportunity.owner_id, func.max(Opportunity.created_at).label("latest"))
              .where(Opportunity.owner_id.is_not(None))
              .group_by(Opportunity.owner_id).subquery())
    query = (select(User).outerjoin(latest, latest.c.owner_id == User.id)
             .where(User.role == Role.SALES, User.is_active.is_(True))
             # Reps who never got one come first (NULL sorts first), then the longest idle.
             .order_by(latest.c.latest.is_not(None), latest.c.latest, User.id).limit(1))
    return db.session.scalar(query)


def choose_owner(account_id: int | None) -> User | None:
    """The owner of a new opportunity of this account (None: the shared pool)."""
    return account_owner(account_id) or next_rep()


def may_own(user: User | None) -> bool:
    """Whether a user may be given opportunities (active, and may work them)."""
    return user is not None and can(user, Permission.OPPORTUNITY_WORK)


def leads_of(user_id: int) -> list[User]:
    """Who hears that a rep let an opportunity go: the leads of the rep's teams, else admins."""
    lead_ids = (select(Team.lead_id).join(team_members, team_members.c.team_id == Team.id)
                .where(team_members.c.user_id == user_id))
    leads = list(db.session.scalars(select(User).where(
        User.id.in_(lead_ids), User.is_active.is_(True), User.id != user_id)
        .order_by(User.id)))
    if leads:
        return leads
    return list(db.session.scalars(select(User).where(
        User.role == Role.ADMIN, User.is_active.is_(True)).order_by(User.id)))


def owner_choices() -> list[tuple[int, str]]:
    """(id, name) of everyone an opportunity may be given to, by name."""
    return [(user.id, user.name) for user in db.session.scalars(
        select(User).where(User.is_active.is_(True),
                           User.role.in_((Role.SALES, Role.LEAD, Role.ADMIN)))
        .order_by(User.name, User.id))]
