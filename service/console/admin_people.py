"""Admin pages: users and roles, teams and leads, skills, availability and capacity."""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import SelectChoice

from service.auth import admin as users_admin
from service.auth.models import Role, User
from service.auth.permissions import Permission
from service.console.access import console_user, staff_required
from service.console.forms_people import (LANGUAGE_LABELS, AgentSettingsForm, EditUserForm,
                                          NewUserForm, PartnerForm, SkillNameForm, TeamForm)
from service.directory import admin as directory_admin
from service.errors import DomainError, InvalidInput, NotFound
from service.labels import AVAILABILITY_LABELS, ROLE_LABELS
from service.extensions import db
from service.validation import is_id
from tickets import routing_usage, sla_admin

blueprint = Blueprint("admin_people", __name__, url_prefix="/console/admin",
                      template_folder="templates")


@blueprint.context_processor
def _labels() -> dict:
    return {"role_label": lambda value: ROLE_LABELS.get(str(value), value),
            "availability_label": lambda value: AVAILABILITY_LABELS.get(str(value), value),
            "language_label": lambda value: LANGUAGE_LABELS.get(str(value), value)}


def _see_other(endpoint: str, **values):
    return redirect(url_for(endpoint, **values), 303)


def _show_errors(form: FlaskForm, error: DomainError) -> list[str]:
    """Put a service's field errors on the form's fields; return the rest for the page."""
    general: list[str] = []
    for name, messages in (error.errors or {}).items():
        field = form._fields.get(name)
        if field is None:
            general.extend(str(message) for message in messages)
        else:
            field.errors = [*field.errors, *messages]
    if not error.errors:
        general.append(error.detail)
    return general


def _as_id(value: str) -> int | None:
    """A row id written in ASCII digits, or None (anything else: "²", "٣", 5000 digits)."""
    if not (value.isascii() and value.isdigit() and len(value) <= 10):
        return None
    return int(value) if is_id(int(value)) else None


def _int_arg(name: str) -> int | None:
    """An id from the query string, or None: a bad value is ignored."""
    return _as_id(request.args.get(name, ""))


def _int_form(name: str) -> int | None:
    """An id from the posted form, or None."""
    return _as_id(request.form.get(name, ""))


# ---- users ----

@blueprint.get("/users")
@staff_required(Permission.ADMIN_USERS)
def users():
    """Every user, searchable by name or email, filtered by role and status."""
    role = request.args.get("role", "")
    active = request.args.get("active", "")
    filters = users_admin.UserFilter(
        search=request.args.get("q", "")[:100],
        role=Role(role) if role in {r.value for r in Role} else None,
        active={"yes": True, "no": False}.get(active))
    rows, next_cursor = users_admin.list_users(filters, request.args.get("cursor") or None)
    return render_template("console/admin/users.html", users=rows, next_cursor=next_cursor,
                           filters=filters, roles=list(Role))


def _user_choices(form: FlaskForm) -> None:
    form.teams.choices = [SelectChoice(team.id, team.name) for team in users_admin.team_choices()]
    form.skills.choices = [SelectChoice(skill.id, skill.name)
                           for skill in users_admin.skill_choices()]


@blueprint.route("/users/new", methods=["GET", "POST"])
@staff_required(Permission.ADMIN_USERS)
def new_user():
    """Create a console user with an initial password, or mail them a password link."""
    form = NewUserForm()
    _user_choices(form)
    general: list[str] = []
    if form.validate_on_submit():
        try:
            user = users_admin.create_staff_user(
                console_user(), email=form.email.data, name=form.name.data,
                role=form.role.data, locale=form.locale.data, password=form.password.data,
                team_ids=form.teams.data or [], skill_ids=form.skills.data or [],
                send_password_link=form.password_mode.data == "link")
        except DomainError as error:
            db.session.rollback()
            general = _show_errors(form, error)
        else:
            db.session.commit()
            flash(_("User %(name)s was created.", name=user.name), "success")
            if form.password_mode.data == "link":
                flash(_("A link to choose a password is on its way to %(email)s. It expires; "
                        "if it does, they can ask for a new one on the sign-in page.",
                        email=user.email), "success")
            return _see_other(".users")
    status = 400 if request.method == "POST" else 200
    if status == 400:
        db.session.rollback()
    return render_template("console/admin/user_new.html", form=form,
                           form_errors=general), status


@blueprint.route("/users/<id:user_id>/edit", methods=["GET", "POST"])
@staff_required(Permission.ADMIN_USERS)
def edit_user(user_id: int):
    """Change a user's details, role, status, teams, skills, capacity and availability."""
    user = users_admin.get_user(user_id)
    partner = user.role == Role.PARTNER
    form = PartnerForm() if partner else EditUserForm()
    if not partner:
        _user_choices(form)
    if request.method == "GET":
        _fill_user_form(form, user)
    general: list[str] = []
    if form.validate_on_submit():
        try:
            change = _update_user(form, user)
        except DomainError as error:
            db.session.rollback()
            general = _show_errors(form, error)
        else:
            db.session.commit()
            _announce(user, change)
            return _see_other(".users")
    status = 400 if request.method == "POST" else 200
    if status == 400:
        db.session.rollback()
    return render_template("console/admin/user_edit.html", form=form, user=user,
                           partner=partner, is_self=user.id == console_user().id,
                           form_errors=general), status


def _fill_user_form(form: FlaskForm, user: User) -> None:
    form.name.data, form.is_active.data = user.name, user.is_active
    if isinstance(form, EditUserForm):
        form.role.data, form.locale.data = user.role.value, user.locale
        form.teams.data = [team.id for team in user.teams]
        form.skills.data = [skill.id for skill in user.skills]
        form.max_open_tickets.data = user.max_open_tickets
        form.availability.data = user.availability.value


def _update_user(form: FlaskForm, user: User) -> users_admin.UserChange:
    actor = console_user()
    if isinstance(form, PartnerForm):
        return users_admin.update_staff_user(actor, user, name=form.name.data,
                                             role=Role.PARTNER.value,
                                             is_active=form.is_active.data,
                                             locale=user.locale)
    return users_admin.update_staff_user(
        actor, user, name=form.name.data, role=form.role.data, is_active=form.is_active.data,
        locale=form.locale.data, team_ids=form.teams.data or [],
        skill_ids=form.skills.data or [], max_open_tickets=form.max_open_tickets.data,
        availability=form.availability.data)


def _announce(user: User, change: users_admin.UserChange) -> None:
    flash(_("%(name)s was saved.", name=user.name), "success")
    if not change.disabled:
        return
    flash(_("%(name)s is disabled: %(sessions)s console sessions ended, %(tokens)s API "
            "tokens revoked.", name=user.name, sessions=change.sessions_ended,
            tokens=change.tokens_revoked), "success")
    if change.open_tickets:
        flash(_("%(name)s still holds %(n)s open tickets: reassign them.", name=user.name,
                n=change.open_tickets), "warning")
    if change.led_teams:
        flash(_("%(name)s still leads %(teams)s: choose a new lead.", name=user.name,
                teams=", ".join(change.led_teams)), "warning")


# ---- teams ----

@blueprint.get("/teams")
@staff_required(Permission.ADMIN_USERS)
def teams():
    """Every team with its lead, member count and the default flag."""
    return render_template("console/admin/teams.html", rows=directory_admin.list_teams())


def _team_choices(form: TeamForm) -> None:
    people = directory_admin.member_choices()
    label = {person.id: (person.name if person.is_active
                         else _("%(name)s (disabled)", name=person.name)) for person in people}
    form.lead.choices = [SelectChoice("", _("No lead"))] + [SelectChoice(p.id, label[p.id])
                                                            for p in people]
    form.members.choices = [SelectChoice(p.id, label[p.id]) for p in people]
    form.calendar.choices = [SelectChoice("", _("The default calendar"))] + [
        SelectChoice(calendar_id, name) for calendar_id, name in sla_admin.calendar_choices()]


def _hours(minutes: int | None) -> Decimal | None:
    """Minutes as hours for the form: 24, 1.5, 1.67."""
    if minutes is None:
        return None
    if minutes % 60 == 0:
        return Decimal(minutes // 60)
    return round(Decimal(minutes) / 60, 2).normalize()  # not an integer: no exponent form


@blueprint.route("/teams/new", methods=["GET", "POST"])
@staff_required(Permission.ADMIN_USERS)
def new_team():
    """Create a team."""
    return _team_page(None)


@blueprint.route("/teams/<id:team_id>/edit", methods=["GET", "POST"])
@staff_required(Permission.ADMIN_USERS)
def edit_team(team_id: int):
    """Change a team's names, lead, members and default flag."""
    return _team_page(directory_admin.get_team(team_id))


def _team_page(team):
    form = TeamForm()
    _team_choices(form)
    if request.method == "GET" and team is not None:
        form.name.data, form.name_zh.data = team.name, team.name_zh
        form.lead.data, form.is_default.data = team.lead_id, team.is_default
        form.members.data = [member.id for member in team.members]
        form.calendar.data = team.calendar_id
        form.task_turnaround_hours.data = _hours(team.task_target_minutes)
    general: list[str] = []
    if form.validate_on_submit():
        try:
            saved = directory_admin.save_team(
                team, name=form.name.data, name_zh=form.name_zh.data, lead_id=form.lead.data,
                member_ids=form.members.data or [], is_default=form.is_default.data)
            # The department's own clock for the tasks handed to it (tickets.tasks).
            saved.task_target_minutes = form.task_target_minutes()
            saved.calendar_id = form.calendar.data
        except DomainError as error:
            db.session.rollback()
            general = _show_errors(form, error)
        else:
            db.session.commit()
            flash(_("Team %(name)s was saved.", name=saved.name), "success")
            return _see_other(".teams")
    status = 400 if request.method == "POST" else 200
    if status == 400:
        db.session.rollback()
    return render_template("console/admin/team_form.html", form=form, team=team,
                           form_errors=general, default_task_hours=_hours(
                               current_app.config["TASK_DEFAULT_MINUTES"])), status


# ---- skills ----

@blueprint.route("/skills", methods=["GET", "POST"])
@staff_required(Permission.ADMIN_USERS)
def skills():
    """List, add, rename and delete skills, warning when routing rules require one."""
    adding = request.method == "POST" and request.form.get("action") == "add"
    add_form = SkillNameForm(formdata=request.form if adding else None)
    errors, confirm, status = {}, None, 200
    if request.method == "POST":
        action = request.form.get("action", "")
        outcome = _skill_action(action, add_form)
        if outcome is None:
            return _see_other(".skills")
        status, errors, confirm = outcome
        db.session.rollback()
    return render_template("console/admin/skills.html", rows=directory_admin.list_skills(),
                           uses=routing_usage.rules_requiring_skills(), add_form=add_form,
                           errors=errors, confirm=confirm), status


def _skill_action(action: str, add_form: SkillNameForm):
    """Do one skill action; None when done, else (status, errors by skill id, confirmation).

    Renaming or deleting a skill that routing rules require is done only once confirmed:
    such rules would route tickets that no agent can take.
    """
    if action == "add":
        if not add_form.validate():
            return 400, {}, None
        try:
            skill = directory_admin.add_skill(add_form.name.data)
        except InvalidInput as error:
            _show_errors(add_form, error)
            return 400, {}, None
        db.session.commit()
        flash(_("Skill %(name)s was added.", name=skill.name), "success")
        return None
    if action not in ("rename", "delete"):
        return 400, {"_": [_("Choose add, rename or delete.")]}, None
    skill_id = _int_form("skill_id")
    try:
        skill = directory_admin.get_skill(skill_id) if skill_id else None
    except NotFound:
        skill = None
    if skill is None:
        return 400, {"_": [_("That skill does not exist (any more).")]}, None
    old_name, new_name = skill.name, request.form.get("name", "")
    uses = routing_usage.rules_requiring_skill(old_name)
    try:
        if action == "rename":
            directory_admin.rename_skill(skill, new_name)
            message = _("Skill %(old)s is now %(name)s.", old=old_name, name=skill.name)
        else:
            directory_admin.delete_skill(skill)
            message = _("Skill %(name)s was deleted.", name=old_name)
    except InvalidInput as error:
        messages = [str(m) for values in (error.errors or {}).values() for m in values]
        return 400, {skill_id: messages or [error.detail]}, None
    if uses and request.form.get("confirm") != "1":
        return 409, {}, {"action": action, "skill_id": skill_id, "skill_name": old_name,
                         "uses": uses, "name": new_name}
    db.session.commit()
    flash(message, "success")
    if uses:
        flash(_("Routing rules that required it: %(rules)s. Review them.",
                rules=", ".join(use.name for use in uses)), "warning")
    return None


# ---- agents: availability and capacity ----

@blueprint.get("/agents")
@staff_required(Permission.AGENT_MANAGE)
def agents():
    """Availability, capacity and current load of the agents the user manages."""
    return _agents_page()


def _agents_page(failed: tuple[int, AgentSettingsForm] | None = None, status: int = 200):
    actor = console_user()
    teams = directory_admin.managed_teams(actor)
    team_id = _int_arg("team")
    if team_id is not None and team_id not in {team.id for team in teams}:
        team_id = None  # a team the user does not manage shows their whole scope
    rows, next_cursor = directory_admin.managed_agents(actor, team_id=team_id,
                                                       cursor=request.args.get("cursor") or None)
    return render_template("console/admin/agents.html", agents=rows, teams=teams,
                           team_id=team_id, next_cursor=next_cursor, failed=failed,
                           max_capacity=directory_admin.MAX_CAPACITY), status


@blueprint.post("/agents/<id:user_id>")
@staff_required(Permission.AGENT_MANAGE)
def update_agent(user_id: int):
    """Set one agent's availability and capacity; queued tickets follow if they can."""
    agent = directory_admin.get_managed_agent(console_user(), user_id)
    form = AgentSettingsForm()
    if form.validate_on_submit():
        try:
            directory_admin.update_agent_settings(agent, availability=form.availability.data,
                                                  max_open_tickets=form.max_open_tickets.data)
        except DomainError as error:
            db.session.rollback()
            _show_errors(form, error)
        else:
            db.session.commit()
            flash(_("%(name)s: %(availability)s, up to %(n)s open tickets.", name=agent.name,
                    availability=AVAILABILITY_LABELS[agent.availability.value],
                    n=agent.max_open_tickets), "success")
            team = _int_form("team")
            return _see_other(".agents", **({"team": team} if team else {}))
    db.session.rollback()
    return _agents_page((user_id, form), 400)
