"""Admin operations on staff users: list, create, edit, disable, and the rules on roles.

The rules, enforced here whatever page or script calls them:
- only admins grant or revoke the admin role;
- nobody changes their own role or disables themselves;
- the last active admin is never demoted or disabled;
- disabling a user ends all their console sessions and revokes their API tokens;
- integration (partner) users stay partners: they have API tokens and no console sign-in,
  and a console user never becomes one here.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from service import audit, jobs
from service.auth.models import ApiToken, Availability, Role, User
from service.auth.services import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, create_user
from service.auth.sessions import end_all_sessions
from service.db_types import utcnow
from service.directory import services as directory
from service.directory.admin import MAX_CAPACITY
from service.directory.models import Skill, Team
from service.errors import Conflict, Forbidden, InvalidInput, NotFound
from service.extensions import db
from service.i18n import SUPPORTED
from service.pagination import decode_cursor, encode_cursor
from service.validation import is_email, strip_controls


CONSOLE_ROLES = (Role.ADMIN, Role.LEAD, Role.AGENT, Role.DEPARTMENT, Role.SALES)
PAGE_SIZE = 50


@dataclass(frozen=True)
class UserFilter:
    """What the users list is narrowed to."""

    search: str = ""
    role: Role | None = None
    active: bool | None = None


@dataclass
class UserChange:
    """What an edit did beyond the fields, for the admin to hear about."""

    disabled: bool = False
    sessions_ended: int = 0
    tokens_revoked: int = 0
    open_tickets: int = 0  # still assigned to a user who was just disabled
    led_teams: list[str] = field(default_factory=list)  # teams a disabled user still leads


def get_user(user_id: int) -> User:
    """The user with this id, or NotFound."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def list_users(filters: UserFilter, cursor: str | None = None,
               limit: int = PAGE_SIZE) -> tuple[list[User], str | None]:
    """A page of users (teams loaded) matching the filter, by id; InvalidInput on a bad cursor."""
    query = select(User).options(selectinload(User.teams))
    text = strip_controls(filters.search).strip()[:100]  # PostgreSQL refuses NUL bytes
    if text:
        pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace(
            "_", "\\_") + "%"
        query = query.where(or_(func.lower(User.name).like(pattern, escape="\\"),
                                User.email.like(pattern, escape="\\")))
    if filters.role is not None:
        query = query.where(User.role == filters.role)
    if filters.active is not None:
        query = query.where(User.is_active.is_(filters.active))
    if cursor:
        _value, last_id = decode_cursor(cursor, "id")
        query = query.where(User.id > last_id)
    rows = list(db.session.scalars(query.order_by(User.id).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor("id", None, rows[-1].id)


def team_choices() -> list[Team]:
    """Every team, by name, for the user form."""
    return list(db.session.scalars(select(Team).order_by(Team.name)))


def skill_choices() -> list[Skill]:
    """Every skill, by name, for the user form."""
    return list(db.session.scalars(select(Skill).order_by(Skill.name)))


def create_staff_user(actor: User, *, email: str, name: str, role: str, locale: str,
                      password: str | None, team_ids: list[int], skill_ids: list[int],
                      send_password_link: bool = False) -> User:
    """Create a console user with teams and skills, and an initial password or a link.

    With `send_password_link` the account gets a random password nobody knows and the user
    is mailed a password link (service.auth.passwords' reset link) after the commit.
    """
    if send_password_link:
        password = secrets.token_urlsafe(32)
    errors: dict[str, list[str]] = {}
    address = (email or "").strip().lower()
    if not is_email(address):
        errors["email"] = [_("Not a valid email address.")]
    clean_name = _clean_name(name, errors)
    role_value = _console_role(role, errors)
    if locale not in SUPPORTED:
        errors["locale"] = [_("Choose a language from the list.")]
    if not password or len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = [_("Must be at least %(n)s characters.", n=MIN_PASSWORD_LENGTH)]
    elif len(password) > MAX_PASSWORD_LENGTH:
        errors["password"] = [_("Must be at most %(n)s characters.", n=MAX_PASSWORD_LENGTH)]
    teams = _rows(Team, team_ids, "teams", errors)
    skills = _rows(Skill, skill_ids, "skills", errors)
    if errors:
        raise InvalidInput(errors=errors)
    if role_value == Role.ADMIN and actor.role != Role.ADMIN:
        raise Forbidden(_("Only admins grant the admin role."))
    try:
        with db.session.begin_nested():
            user = create_user(address, role_value.value, password, clean_name)
    except (Conflict, IntegrityError):  # IntegrityError: the same address, concurrently
        raise InvalidInput(errors={"email": [
            _("A user with this email already exists.")]}) from None
    user.locale = locale
    user.skills = skills
    for team in teams:
        directory.add_member(team, user)
    db.session.flush()
    if send_password_link:
        from service.auth import passwords

        jobs.enqueue(passwords.send_password_reset, user.id, secrets.token_hex(8))
    return user


def update_staff_user(actor: User, user: User, *, name: str, role: str, is_active: bool,
                      locale: str, team_ids: list[int] | None = None,
                      skill_ids: list[int] | None = None, max_open_tickets: int | None = None,
                      availability: str | None = None) -> UserChange:
    """Change a user's details, role and status under the rules in this module's docstring.

    For a partner only the name, language and active flag apply (teams, skills, capacity and
    availability are about console work).
    """
    errors: dict[str, list[str]] = {}
    clean_name = _clean_name(name, errors)
    if locale not in SUPPORTED:
        errors["locale"] = [_("Choose a language from the list.")]
    partner = user.role == Role.PARTNER
    if partner:
        if role != Role.PARTNER.value:
            errors["role"] = [_("An integration (partner) account has API tokens and no "
                                "console sign-in; it cannot become a console user. Create a "
                                "staff user instead.")]
        role_value = Role.PARTNER
    else:
        role_value = _console_role(role, errors)
    if not partner:
        if max_open_tickets is not None and not 0 <= max_open_tickets <= MAX_CAPACITY:
            errors["max_open_tickets"] = [_("Must be between 0 and %(n)s.", n=MAX_CAPACITY)]
        if availability is not None and availability not in {a.value for a in Availability}:
            errors["availability"] = [_("Choose an availability from the list.")]
    teams = _rows(Team, team_ids or [], "teams", errors) if not partner else []
    skills = _rows(Skill, skill_ids or [], "skills", errors) if not partner else []
    if user.id == actor.id:
        if role_value is not None and role_value != user.role:
            errors["role"] = [_("You cannot change your own role; ask another admin.")]
        if not is_active and user.is_active:
            errors["is_active"] = [_("You cannot disable yourself; ask another admin.")]
    if errors:
        raise InvalidInput(errors=errors)
    if (user.role == Role.ADMIN) != (role_value == Role.ADMIN) and actor.role != Role.ADMIN:
        raise Forbidden(_("Only admins grant or revoke the admin role."))
    if user.is_active and user.role == Role.ADMIN and (role_value != Role.ADMIN
                                                      or not is_active):
        _keep_an_admin(user)
    if not partner:
        _keep_leads_in_their_teams(user, teams)

    change = UserChange()
    user.name, user.locale, user.role = clean_name, locale, role_value
    if not partner:
        user.teams = teams
        user.skills = skills
        if availability is not None:
            directory.set_availability(user, availability)
        if max_open_tickets is not None:
            directory.set_capacity(user, max_open_tickets)
    if user.is_active and not is_active:
        user.is_active = False
        change = disable_access(user)
    elif is_active and not user.is_active:
        user.is_active = True
    db.session.flush()
    return change


def disable_access(user: User) -> UserChange:
    """End every console session and revoke every API token of a user being disabled."""
    sessions = end_all_sessions(user.id)
    tokens = db.session.execute(update(ApiToken)
                                .where(ApiToken.user_id == user.id,
                                       ApiToken.revoked_at.is_(None))
                                .values(revoked_at=utcnow())).rowcount or 0
    if tokens:  # a bulk UPDATE: the audit log's automatic capture does not see it
        audit.record("api_token.revoke_all", object_type="user", object_id=user.id,
                     changes={"tokens_revoked": [None, tokens]})
    led = list(db.session.scalars(select(Team.name).where(Team.lead_id == user.id)
                                  .order_by(Team.name)))
    return UserChange(disabled=True, sessions_ended=sessions, tokens_revoked=tokens,
                      open_tickets=user.open_tickets or 0, led_teams=led)


def _keep_an_admin(user: User) -> None:
    """Refuse to demote or disable the last active admin.

    The other active admins' rows are locked (PostgreSQL), so two admins demoting each
    other at the same moment cannot both succeed.
    """
    others = db.session.scalars(select(User.id).where(User.role == Role.ADMIN,
                                                      User.is_active.is_(True),
                                                      User.id != user.id)
                                .with_for_update()).all()
    if not others:
        raise InvalidInput(errors={"role": [
            _("This is the last active admin: make someone else an admin first.")]})


def _keep_leads_in_their_teams(user: User, teams: list[Team]) -> None:
    # A team's lead is always one of its members (see service.directory.admin).
    kept = {team.id for team in teams}
    led = db.session.scalars(select(Team).where(Team.lead_id == user.id)).all()
    dropped = sorted(team.name for team in led if team.id not in kept)
    if dropped:
        raise InvalidInput(errors={"teams": [
            _("%(name)s leads %(teams)s: choose another lead for that team first.",
              name=user.name, teams=", ".join(dropped))]})


def _clean_name(name: str, errors: dict[str, list[str]]) -> str:
    clean = strip_controls(name or "").strip()
    if not 1 <= len(clean) <= 120:
        errors["name"] = [_("Must be 1 to 120 characters.")]
    return clean


def _console_role(role: str, errors: dict[str, list[str]]) -> Role | None:
    try:
        value = Role(role)
    except ValueError:
        value = None
    if value not in CONSOLE_ROLES:
        errors["role"] = [_("Choose a console role from the list.")]
        return None
    return value


def _rows(model: type, ids: list[int], field_name: str,
          errors: dict[str, list[str]]) -> list:
    """The rows with these ids; an error on the field if any id is unknown."""
    wanted = sorted({value for value in ids if isinstance(value, int)})
    rows = list(db.session.scalars(select(model).where(model.id.in_(wanted)))) if wanted else []
    if len(rows) != len(wanted) or len(wanted) != len(set(ids)):
        errors[field_name] = [_("Choose from the list.")]
    return rows
