"""Canned responses (macros): list, write, edit, delete."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from service.auth.models import User
from service.auth.permissions import Permission
from service.console.access import console_user, staff_required
from service.directory.models import Team
from service.errors import InvalidInput
from service.extensions import db
from service.validation import strip_controls
from tickets import macros
from tickets.models import CannedResponse
from tickets.ticket_page import team_name

blueprint = Blueprint("macros", __name__, url_prefix="/console/canned-responses",
                      template_folder="../templates")

_MESSAGES = {
    macros.TITLE_REQUIRED: _l("Give the canned response a title."),
    macros.TITLE_TOO_LONG: _l("The title is at most 120 characters."),
    macros.BODY_REQUIRED: _l("Write the text of the canned response."),
    macros.BODY_TOO_LONG: _l("The text is at most 10000 characters."),
    macros.SCOPE_NOT_ALLOWED: _l("You may not keep canned responses there."),
}
# {{ placeholder }} → what it stands for, for the help beside the form.
PLACEHOLDER_HELP = {
    "customer.name": _l("the customer's name"),
    "customer.first_name": _l("the customer's first name (a name without spaces stays whole)"),
    "customer.email": _l("the customer's email address"),
    "ticket.number": _l("the ticket number, e.g. T-000123"),
    "ticket.subject": _l("the ticket's subject"),
    "agent.name": _l("your name"), "agent.first_name": _l("your first name"),
    "team.name": _l("the ticket's team"),
}


def _clean(value: Any) -> Any:
    return strip_controls(value).strip() if isinstance(value, str) else value


class MacroForm(FlaskForm):
    """Title, text and who may use the canned response."""

    title = StringField(_l("Title"), filters=[_clean], validators=[
        DataRequired(_l("Give the canned response a title.")),
        Length(max=macros.TITLE_MAX, message=_l("The title is at most %(max)d characters."))])
    body = TextAreaField(_l("Text"), filters=[_clean], validators=[
        DataRequired(_l("Write the text of the canned response.")),
        Length(max=macros.BODY_MAX, message=_l("The text is at most %(max)d characters."))])
    scope = SelectField(_l("Who may use it"))

    def __init__(self, user: User, **kwargs):
        super().__init__(**kwargs)
        self.scope.choices = _scope_choices(user)


def _scope_choices(user: User) -> list[SelectChoice]:
    choices = [SelectChoice("personal", _("Only me"))]
    if macros.may_keep(user, macros.Scope.SHARED, None):
        choices.append(SelectChoice("shared", _("Everyone")))
    team_ids = macros.manageable_team_ids(user)
    query = select(Team.id, Team.name, Team.name_zh).order_by(Team.name)
    if team_ids is not None:
        query = query.where(Team.id.in_(team_ids))
    if team_ids is None or team_ids:
        choices += [SelectChoice(f"team-{row.id}",
                                 _("Team %(name)s", name=team_name(row.name, row.name_zh)))
                    for row in db.session.execute(query)]
    return choices


def _scope_value(macro: CannedResponse) -> str:
    scope = macros.scope_of(macro)
    return f"team-{macro.team_id}" if scope == macros.Scope.TEAM else scope.value


def _scope_data(value: str) -> dict[str, Any]:
    if value.startswith("team-"):
        return {"scope": macros.Scope.TEAM, "team_id": int(value.removeprefix("team-"))}
    return {"scope": macros.Scope(value), "team_id": None}


def _scope_label(macro: CannedResponse) -> str:
    scope = macros.scope_of(macro)
    if scope == macros.Scope.PERSONAL:
        return _("Only me")
    if scope == macros.Scope.SHARED:
        return _("Everyone")
    return _("Team %(name)s", name=team_name(macro.team.name, macro.team.name_zh))


def _form_page(form: MacroForm, macro: CannedResponse | None, status: int = 200):
    return render_template("tickets/console/macros_form.html", form=form, macro=macro,
                           placeholders=PLACEHOLDER_HELP), status


def _save(user: User, form: MacroForm, macro: CannedResponse | None):
    """Validate and save; the form page again (400) on any error, nothing written."""
    if not form.validate():
        db.session.rollback()
        return _form_page(form, macro, 400)
    try:
        saved = macros.save(user, macro, {"title": form.title.data, "body": form.body.data,
                                          **_scope_data(form.scope.data)})
    except InvalidInput as error:
        db.session.rollback()
        for name, messages in (error.errors or {}).items():
            field = getattr(form, name, None)
            texts = [str(_MESSAGES.get(message, message)) for message in messages]
            if field is not None:
                field.errors = [*field.errors, *texts]
            else:
                form.form_errors.extend(texts)
        return _form_page(form, macro, 400)
    flash(_("Canned response saved."), "success")
    if saved.unknown_placeholders:
        flash(_("These placeholders are unknown and stay as written: %(list)s",
                list=", ".join(saved.unknown_placeholders)), "warning")
    return redirect(url_for("macros.index"), 303)


@blueprint.get("")
@staff_required(Permission.TICKET_REPLY)
def index():
    """The canned responses the user may use, and those they keep for their teams."""
    user = console_user()
    manages = macros.manager_of(user)
    rows = [{"macro": macro, "scope": _scope_label(macro), "manage": manages(macro)}
            for macro in macros.list_for_index(user)]
    return render_template("tickets/console/macros_index.html", rows=rows,
                           placeholders=PLACEHOLDER_HELP)


@blueprint.get("/new")
@staff_required(Permission.TICKET_REPLY)
def new():
    """An empty form for a new canned response."""
    return _form_page(MacroForm(console_user(), formdata=None), None)


@blueprint.post("/new")
@staff_required(Permission.TICKET_REPLY)
def create():
    """Save a new canned response."""
    user = console_user()
    return _save(user, MacroForm(user), None)


@blueprint.route("/<id:macro_id>/edit", methods=["GET", "POST"])
@staff_required(Permission.TICKET_REPLY)
def edit(macro_id: int):
    """Change a canned response the user keeps."""
    user = console_user()
    macro = macros.get_for_change(user, macro_id)
    if request.method != "POST":
        form = MacroForm(user, formdata=None, data={"title": macro.title, "body": macro.body,
                                                    "scope": _scope_value(macro)})
        return _form_page(form, macro)
    return _save(user, MacroForm(user), macro)


@blueprint.post("/<id:macro_id>/delete")
@staff_required(Permission.TICKET_REPLY)
def delete(macro_id: int):
    """Delete a canned response the user keeps."""
    user = console_user()
    macros.delete(user, macros.get_for_change(user, macro_id))
    flash(_("Canned response deleted."), "success")
    return redirect(url_for("macros.index"), 303)
