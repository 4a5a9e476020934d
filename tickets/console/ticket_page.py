"""The ticket page: header, timeline, reply box, changes, reassignment, customer panel."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (RadioField, SelectChoice, SelectField, StringField, TextAreaField,
                     ValidationError)
from wtforms.validators import DataRequired, Length, Optional

from service.auth.models import User
from service.auth.permissions import Permission, can
from service.console.access import console_user, staff_required
from service.db_types import utcnow
from service.errors import (Conflict, DomainError, Forbidden, InvalidInput, InvalidTransition,
                            NotFound)
from service.extensions import csrf, db
from service.templating import PRIORITY_LABELS
from service.validation import is_id, strip_controls
from tickets import macros, services
from tickets import ticket_page as page
from tickets.upload_forms import read_upload_form
from tickets.attachments_api import attachment_response
from tickets.models import PRIORITY_ORDER, Attachment, Priority, Status, Ticket, Visibility
from tickets.services import ensure_visible, get_ticket

blueprint = Blueprint("ticket_page", __name__, url_prefix="/console/tickets",
                      template_folder="../templates")

TAGS_MAX = 20
TAG_MAX = 50
# Room in a reply's request for its text (20000 characters of UTF-8) and fields beside files.
_TAG = re.compile(r"^[\w\-.]+$")  # \w is Unicode: Chinese tags are fine
_TAG_SPLIT = re.compile(r"[,，、]")
# Remote content in a mail's HTML (tracking pixels) never loads; scripts never run (sandbox).
MAIL_FRAME_HEAD = ('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
                   'style-src \'unsafe-inline\'; img-src data:">'
                   '<base target="_blank"><style>body{font:14px/1.5 system-ui,sans-serif;'
                   'margin:.5rem;color:#1f2933}</style>')

# What the services say, in the reader's language (keyed on the services' own texts).
_MESSAGES = {
    services.REASON_TOO_LONG: _l("The reason is at most 300 characters."),
    services.LOWER_PRIORITY_NEEDS_OVERRIDE: _l(
        "Only a lead or an admin may lower the priority of a ticket."),
    services.LOWER_PRIORITY_NEEDS_REASON: _l("Give a reason for lowering the priority."),
    services.CLOSE_NEEDS_REASON: _l(
        "Give a reason for closing the ticket yourself: a resolved ticket closes by itself "
        "when the customer confirms the fix."),
    services.RESOLVE_THROUGH_RESOLUTION: _l(
        "Resolve the ticket with the resolution form: a summary, the root cause and how the "
        "fix was verified."),
    services.TICKET_IS_CLOSED: _l(
        "This ticket is closed: its status no longer changes. A reply from the customer "
        "soon after closing reopens it; later ones open a new ticket."),
    services.ASSIGN_NEEDS_PERMISSION: _l(
        "Only a lead or an admin may give a ticket to someone else or move it to another "
        "team."),
    services.NO_SUCH_TEAM: _l("Choose a team from the list."),
    services.NO_SUCH_AGENT: _l("Choose an active agent or lead from the list."),
    page.TICKET_CLOSED: _l("This ticket is closed: it takes no more replies or notes. "
                           "Open a new ticket instead."),
    page.BODY_REQUIRED: _l("Write the reply or note first."),
    page.BODY_TOO_LONG: _l("The text is at most 20000 characters."),
    page.TOO_MANY_FILES: _l("Attach at most 5 files."),
}


def _say(message: str) -> str:
    translated = _MESSAGES.get(message)
    return str(translated) if translated is not None else message


def _clean(value: Any) -> Any:
    return strip_controls(value).strip() if isinstance(value, str) else value


# ---- forms ----

class ReplyForm(FlaskForm):
    """A public reply or an internal note, with files."""

    visibility = RadioField(_l("Send as"), choices=[
        SelectChoice("public", _l("Public reply")), SelectChoice("internal", _l("Internal note"))],
        default="public")
    body = TextAreaField(_l("Message"), filters=[_clean], validators=[
        DataRequired(_l("Write the reply or note first.")),
        Length(max=page.BODY_MAX, message=_l("The text is at most %(max)d characters."))])
    attachments = MultipleFileField(_l("Attachments"))

    def __init__(self, user: User, **kwargs):
        super().__init__(**kwargs)
        if not can(user, Permission.TICKET_REPLY):  # department and sales: notes only
            self.visibility.choices = [SelectChoice("internal", _l("Internal note"))]
            if kwargs.get("formdata", True) is None:  # a fresh form, not a posted one
                self.visibility.data = "internal"


class UpdateForm(FlaskForm):
    """Status, priority, category, product and tags, with a reason."""

    status = SelectField(_l("Status"))
    priority = SelectField(_l("Priority"))
    category = StringField(_l("Category"), filters=[_clean], validators=[
        Optional(), Length(max=80, message=_l("At most %(max)d characters."))])
    product = StringField(_l("Product"), filters=[_clean], validators=[
        Optional(), Length(max=80, message=_l("At most %(max)d characters."))])
    tags = StringField(_l("Tags"), filters=[_clean], validators=[
        Length(max=2000, message=_l("Too many tags."))])
    reason = StringField(_l("Reason"), filters=[_clean], validators=[
        Optional(), Length(max=300, message=_l("At most %(max)d characters."))])

    def __init__(self, ticket: Ticket, **kwargs):
        super().__init__(**kwargs)
        self.status.choices = [SelectChoice(status.value, page.STAFF_STATUS_LABELS[status.value])
                               for status in [ticket.status, *page.allowed_statuses(ticket)]]
        self.priority.choices = [SelectChoice(priority.value, PRIORITY_LABELS[priority.value])
                                 for priority in PRIORITY_ORDER]
        self.parsed_tags: list[str] = []

    def validate_tags(self, field: StringField) -> None:
        tags = sorted({part.strip().lower() for part in _TAG_SPLIT.split(field.data or "")
                       if part.strip()})
        for tag in tags:
            if len(tag) > TAG_MAX:
                raise ValidationError(_("A tag is at most %(max)s characters: %(tag)s",
                                        max=TAG_MAX, tag=tag))
            if not _TAG.match(tag):
                raise ValidationError(_("Tags hold letters, digits, '-', '_' and '.', "
                                        "separated by commas: %(tag)s", tag=tag))
        if len(tags) > TAGS_MAX:
            raise ValidationError(_("At most %(max)s tags.", max=TAGS_MAX))
        self.parsed_tags = tags

    def changes(self, ticket: Ticket) -> dict[str, Any]:
        """What differs from the ticket (the reason joins only a real change)."""
        changes: dict[str, Any] = {}
        if self.status.data != ticket.status.value:
            changes["status"] = Status(self.status.data)
        if self.priority.data != ticket.priority.value:
            changes["priority"] = Priority(self.priority.data)
        for name in ("category", "product"):
            value = getattr(self, name).data or None
            if value != getattr(ticket, name):
                changes[name] = value
        if self.parsed_tags != ticket.tags:
            changes["tags"] = self.parsed_tags
        if changes and self.reason.data:
            changes["reason"] = self.reason.data
        return changes


class AssignForm(FlaskForm):
    """Another team and/or agent; the choices are checked against the lists shown."""

    team = SelectField(_l("Team"), validate_choice=False)
    assignee = SelectField(_l("Agent"), validate_choice=False)
    reason = StringField(_l("Reason"), filters=[_clean], validators=[
        Optional(), Length(max=300, message=_l("At most %(max)s characters."))])

    def __init__(self, teams: list[page.TeamOption], **kwargs):
        super().__init__(**kwargs)
        self.team_ids = {team.id for team in teams}
        self.agent_ids = {agent.id for team in teams for agent in team.agents}

    def validate_team(self, field: SelectField) -> None:
        if _as_id(field.data) not in self.team_ids:
            raise ValidationError(_("Choose a team from the list."))

    def validate_assignee(self, field: SelectField) -> None:
        if field.data and _as_id(field.data) not in self.agent_ids:
            raise ValidationError(_("Choose an agent from the list."))


def _as_id(value: Any) -> int | None:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        number = int(value)
        return number if is_id(number) else None
    return None


def _add_error(field: Any, message: str) -> None:
    field.errors = [*field.errors, message]


def _show_error(form: FlaskForm, error: DomainError, *, fields: dict[str, str]) -> int:
    """Put a service's refusal on the form (field messages where it names one)."""
    shown = False
    for key, messages in (error.errors or {}).items():
        target = getattr(form, fields.get(key, key), None)
        if target is not None and key in fields:
            for message in messages if isinstance(messages, list) else [messages]:
                _add_error(target, _say(str(message)))
            shown = True
    if not shown:
        if isinstance(error, InvalidTransition) and error.detail not in _MESSAGES:
            message = _("The ticket cannot move to this status from where it is now.")
        elif isinstance(error, Forbidden) and error.detail not in _MESSAGES:
            message = _("Your role may not make this change.")
        else:
            message = _say(error.detail)
        form.form_errors.append(message)
    return error.status


# ---- helpers for the template ----

def span(seconds: int) -> str:
    """A length of time for people: 2 d 3 h, 4 h 10 min, 25 min."""
    days, rest = divmod(max(int(seconds), 0), 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return _("%(days)s d %(hours)s h", days=days, hours=hours)
    if hours:
        return _("%(hours)s h %(minutes)s min", hours=hours, minutes=rest // 60)
    return _("%(minutes)s min", minutes=rest // 60)


def countdown(due: datetime, now: datetime) -> str:
    """"due in 2 h 5 min" / "overdue by 10 min" (ticket.js keeps it current)."""
    seconds = int((due - now).total_seconds())
    if seconds >= 0:
        return _("due in %(time)s", time=span(seconds))
    return _("overdue by %(time)s", time=span(-seconds))


def record_url(endpoint: str, record_id: int) -> str | None:
    """The URL of another page about one record (customer, account), or None while that
    page does not exist; its one URL argument is found from the route, whatever its name."""
    if endpoint not in current_app.view_functions:
        return None
    for rule in current_app.url_map.iter_rules(endpoint):
        if len(rule.arguments) == 1:
            return url_for(endpoint, **{next(iter(rule.arguments)): record_id})
    return None


def _label(labels: dict) -> Any:
    return lambda value: str(labels.get(getattr(value, "value", value), value or ""))


_HELPERS = {
    "staff_status": _label(page.STAFF_STATUS_LABELS), "sla_label": _label(page.SLA_STATE_LABELS),
    "channel_label": page.channel_label, "availability_label": _label(page.AVAILABILITY_LABELS),
    "call_direction_label": _label(page.CALL_DIRECTION_LABELS),
    "call_outcome_label": _label(page.CALL_OUTCOME_LABELS), "tier_label": _label(page.TIER_LABELS),
    "file_size": page.file_size, "duration": page.duration, "countdown": countdown,
    "team_label": lambda team: page.team_name(team.name, team.name_zh) if team else None,
    "mail_frame_head": MAIL_FRAME_HEAD, "record_url": record_url,
}


def _update_defaults(ticket: Ticket) -> dict[str, Any]:
    return {"status": ticket.status.value, "priority": ticket.priority.value,
            "category": ticket.category or "", "product": ticket.product or "",
            "tags": ", ".join(ticket.tags), "reason": ""}


def _placeholders(user: User, ticket: Ticket) -> dict[str, str]:
    """What canned responses' placeholders stand for on this ticket, written by this user."""
    return macros.placeholder_values(
        customer_name=ticket.contact.name, customer_email=ticket.contact.email,
        ticket_number=ticket.number, ticket_subject=ticket.subject, agent_name=user.name,
        team_name=_HELPERS["team_label"](ticket.team))


def _teams_for(ticket: Ticket) -> list[page.TeamOption]:
    # The ticket's own team first: most reassignments stay inside it.
    return sorted(page.reassign_options(), key=lambda team: team.id != ticket.team_id)


def render_page(user: User, ticket: Ticket, *, status: int = 200, reply: ReplyForm | None = None,
            update: UpdateForm | None = None, assign: AssignForm | None = None,
            macro_notice: str | None = None):
    """The ticket page (body, status); other domains' forms re-render it with their errors."""
    now = utcnow()
    newest_first = request.args.get("order") == "newest"
    updates = can(user, Permission.TICKET_UPDATE)
    teams = _teams_for(ticket) if updates else []
    usable = macros.list_usable(user) if can(user, Permission.TICKET_REPLY) else []
    values = _placeholders(user, ticket)
    context = {
        "ticket": ticket, "now": now, "sla": page.sla_view(ticket, now),
        "entries": page.timeline(user, ticket, newest_first=newest_first),
        "newest_first": newest_first, "panels": page.panels_for(user, ticket),
        "reply_form": reply or ReplyForm(user, formdata=None),
        "may_reply": can(user, Permission.TICKET_REPLY),
        "may_write": can(user, Permission.TICKET_NOTE),
        "update_form": (update or UpdateForm(ticket, formdata=None,
                                             data=_update_defaults(ticket))) if updates else None,
        "assign_form": (assign or AssignForm(teams, formdata=None, data={
            "team": str(ticket.team_id or ""), "assignee": str(ticket.assignee_id or "")}))
        if updates else None,
        "teams": teams, "may_take": page.may_take(user, ticket),
        "may_assign": can(user, Permission.TICKET_ASSIGN),
        "macros": [(macro, macros.render(macro.body, values)) for macro in usable],
        "macro_notice": macro_notice, "max_uploads": page.MAX_UPLOADS,
        "max_upload_size": page.file_size(current_app.config["ATTACHMENT_MAX_BYTES"]),
        **_HELPERS,
    }
    return render_template("tickets/console/ticket.html", **context), status


def _back(ticket_id: int, anchor: str | None = None):
    return redirect(url_for("ticket_page.show", ticket_id=ticket_id, _anchor=anchor), 303)


# ---- pages ----

@blueprint.get("/<id:ticket_id>")
@staff_required()
def show(ticket_id: int):
    """The ticket: header, timeline, reply box, changes and panels."""
    user = console_user()
    ticket = get_ticket(user, ticket_id)
    reply = ReplyForm(user, formdata=None)
    if request.args.get("visibility") == "internal":
        reply.visibility.data = "internal"
    draft = page.reply_draft(user, ticket, request.args)
    if draft is not None:
        reply.body.data = draft.body
        reply.visibility.data = draft.visibility
    notice = None
    if "macro" in request.args:
        macro_id = _as_id(request.args.get("macro"))
        try:
            if macro_id is None or not can(user, Permission.TICKET_REPLY):
                raise NotFound("No such canned response.")
            macro = macros.get_usable(user, macro_id)
        except NotFound:
            notice = _("That canned response is not available to you.")
        else:
            reply.body.data = macros.render(macro.body, _placeholders(user, ticket))
    return render_page(user, ticket, reply=reply, macro_notice=notice)


@blueprint.post("/<id:ticket_id>/reply")
@staff_required(Permission.TICKET_NOTE)
def reply(ticket_id: int):
    """Post a public reply or an internal note (with files) and show it."""
    user = console_user()
    form, valid = read_upload_form(lambda **kwargs: ReplyForm(user, **kwargs),
                                   page.MAX_UPLOADS)
    if valid is None:
        return render_page(user, get_ticket(user, ticket_id), reply=form, status=413)
    ticket = get_ticket(user, ticket_id, for_update=True)
    if not valid:
        db.session.rollback()
        return render_page(user, ticket, reply=form, status=400)
    visibility = Visibility(form.visibility.data)
    uploads = [page.Upload(storage.filename or "", storage.read(), storage.mimetype)
               for storage in form.attachments.data or []]
    try:
        message = page.post_reply(user, ticket, form.body.data, visibility, uploads, utcnow())
    except page.AttachmentTooLarge as error:
        db.session.rollback()
        _add_error(form.attachments, _("Larger than the %(size)s limit: %(files)s",
                                       size=page.file_size(error.limit),
                                       files=", ".join(error.filenames)))
        return render_page(user, get_ticket(user, ticket_id), reply=form, status=400)
    except (InvalidInput, Conflict, Forbidden) as error:
        db.session.rollback()
        status = _show_error(form, error, fields={"body": "body", "attachments": "attachments"})
        return render_page(user, get_ticket(user, ticket_id), reply=form, status=status)
    flash(_("Reply sent.") if visibility == Visibility.PUBLIC else _("Internal note added."),
          "success")
    return _back(ticket_id, f"message-{message.id}")


csrf.exempt(reply)


@blueprint.post("/<id:ticket_id>/update")
@staff_required(Permission.TICKET_UPDATE)
def update(ticket_id: int):
    """Change status, priority, category, product or tags."""
    user = console_user()
    ticket = get_ticket(user, ticket_id, for_update=True)
    form = UpdateForm(ticket)
    if not form.validate():
        db.session.rollback()
        return render_page(user, ticket, update=form, status=400)
    changes = form.changes(ticket)
    if not changes:
        db.session.rollback()
        flash(_("Nothing changed."), "warning")
        return _back(ticket_id)
    try:
        services.update_ticket(user, ticket, changes)
    except DomainError as error:
        db.session.rollback()
        status = _show_error(form, error, fields={"reason": "reason", "status": "status",
                                                  "priority": "priority", "tags": "tags",
                                                  "category": "category",
                                                  "product": "product"})
        return render_page(user, get_ticket(user, ticket_id), update=form, status=status)
    flash(_("Ticket updated."), "success")
    return _back(ticket_id)


@blueprint.post("/<id:ticket_id>/assign")
@staff_required(Permission.TICKET_UPDATE)
def assign(ticket_id: int):
    """Take the ticket, or give it to another agent and/or team."""
    user = console_user()
    ticket = get_ticket(user, ticket_id, for_update=True)
    teams = _teams_for(ticket)
    form = AssignForm(teams)
    taking = request.form.get("action") == "take"
    if taking:
        changes: dict[str, Any] = {"assignee": user.id}
    elif not form.validate():
        db.session.rollback()
        return render_page(user, ticket, assign=form, status=400)
    else:
        changes = {}
        team_id, assignee_id = _as_id(form.team.data), _as_id(form.assignee.data)
        if team_id != ticket.team_id:
            changes["team"] = team_id
        if assignee_id != ticket.assignee_id:
            changes["assignee"] = assignee_id
        if changes and form.reason.data:
            changes["reason"] = form.reason.data
    if not changes or (taking and ticket.assignee_id == user.id):
        db.session.rollback()
        flash(_("Nothing changed."), "warning")
        return _back(ticket_id)
    try:
        services.update_ticket(user, ticket, changes)
    except DomainError as error:
        db.session.rollback()
        if taking and isinstance(error, InvalidInput):
            form.form_errors.append(_("Your role cannot hold tickets, so you cannot take "
                                      "this one."))
            status = 403
        else:
            status = _show_error(form, error, fields={"team": "team", "assignee": "assignee",
                                                      "reason": "reason"})
        return render_page(user, get_ticket(user, ticket_id), assign=form, status=status)
    flash(_("You took the ticket.") if taking else _("Ticket reassigned."), "success")
    try:
        ensure_visible(user, ticket_id)
    except NotFound:  # moved to a team this user does not see: back to their queue
        flash(_("%(number)s is now with a team you do not see.", number=ticket.number),
              "warning")
        return redirect(url_for("console.home"), 303)
    return _back(ticket_id)


@blueprint.get("/<id:ticket_id>/attachments/<id:attachment_id>")
@staff_required()
def attachment(ticket_id: int, attachment_id: int):
    """Download a file of a ticket the user may see (always as a download)."""
    user = console_user()
    ensure_visible(user, ticket_id)
    file = db.session.get(Attachment, attachment_id)
    if file is None or file.ticket_id != ticket_id or (
            file.visibility != Visibility.PUBLIC
            and not can(user, Permission.TICKET_VIEW_INTERNAL)):
        raise NotFound("No such attachment.")
    return attachment_response(file)
