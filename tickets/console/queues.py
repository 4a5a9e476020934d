"""Ticket queues: filters, search, sorting, keyset pages, saved views, bulk actions."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import (Blueprint, current_app, flash, redirect, render_template, request,
                   url_for)
from babel.dates import format_timedelta
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import (BooleanField, Field, HiddenField, IntegerField, SearchField, SelectChoice,
                     SelectField, SelectMultipleField, StringField)
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from service.auth.models import User
from service.auth.permissions import Permission, can
from service.console.access import console_user, staff_required
from service.db_types import utcnow
from service.errors import InvalidInput
from service.extensions import db
from service.templating import PRIORITY_LABELS
from service.validation import is_id, strip_controls
from tickets import queues
from tickets.models import PRIORITY_ORDER, Channel, Priority, SlaState, Status
from tickets.routing import ASSIGNABLE_ROLES
from service.labels import CHANNEL_LABELS, SLA_STATE_LABELS
from service.labels import STAFF_STATUS_LABELS as STATUS_LABELS
from tickets.queues import QUEUES, SORT_LABELS, BulkAction, BulkKind, Skip

blueprint = Blueprint("queues", __name__, url_prefix="/console/tickets",
                      template_folder="templates")

_ROWS = "tickets/console/_queue_rows.html"
_PAGE = "tickets/console/queue.html"
_RETURN_MAX = 2000
_DIGITS = re.compile(r"^[0-9]{1,10}$")


# Most urgent first, as staff read them.
_PRIORITY_CHOICES = [(priority.value, PRIORITY_LABELS[priority.value])
                     for priority in reversed(PRIORITY_ORDER)]


def _choices(pairs) -> list[SelectChoice]:
    """WTForms options from (value, label) pairs; enum values become their strings."""
    return [SelectChoice(str(value), label) for value, label in pairs]


def _clean(value: str | None) -> str | None:
    return strip_controls(value).strip() if isinstance(value, str) else value


# ---- forms ----

def _tag_field() -> StringField:
    return StringField(_l("Tag"), filters=[_clean, lambda v: v.lower() if v else v],
                       validators=[Optional(), Regexp(queues.TAG_PATTERN, message=_l(
                           "Tags are 1-50 letters, digits, '-', '_' or '.'."))])


def _page_size(_form, field) -> None:
    # A value that is not a number already has its message; say nothing more about it.
    if field.data is not None and not 1 <= field.data <= queues.MAX_PAGE_SIZE:
        raise ValidationError(_l("Show between %(min)d and %(max)d tickets per page.",
                                 min=1, max=queues.MAX_PAGE_SIZE))


class QueueFilterForm(FlaskForm):
    """The queue's GET arguments: queue, filters, search, sort and the page cursor."""

    class Meta:
        csrf = False  # a GET form: it changes nothing

    queue = SelectField(_l("Queue"), default=queues.DEFAULT_QUEUE,
                        invalid_choice_message=_l("There is no such queue."),
                        choices=_choices((name, queue.label) for name, queue in QUEUES.items()))
    q = SearchField(_l("Search"), filters=[_clean], validators=[Optional(), Length(max=200)])
    status = SelectMultipleField(_l("Status"), choices=_choices(STATUS_LABELS.items()))
    priority = SelectMultipleField(_l("Priority"), choices=_choices(_PRIORITY_CHOICES))
    sla_state = SelectMultipleField(_l("SLA"), choices=_choices(SLA_STATE_LABELS.items()))
    channel = SelectField(_l("Channel"), default="",
                          choices=_choices([("", _l("Any channel")), *CHANNEL_LABELS.items()]))
    team = SelectField(_l("Team"), default="", choices=[])
    assignee = SelectField(_l("Assignee"), default="", choices=[])
    tag = _tag_field()
    sort = SelectField(_l("Sort by"), default="",
                       invalid_choice_message=_l("Choose one of the listed orders."),
                       choices=_choices([("", _l("Queue default")), *SORT_LABELS.items()]))
    cursor = HiddenField(filters=[_clean], validators=[Optional(), Length(max=200)])
    limit = IntegerField(_l("Tickets per page"), validators=[Optional(), _page_size])


class IdListField(Field):
    """Every value of a repeated form field, as row ids."""

    def process_data(self, value) -> None:
        self.data = list(value or [])

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = []
        for value in valuelist:
            if not _DIGITS.match(value) or not is_id(int(value)):
                raise ValueError(_l("Not a valid ticket."))
            self.data.append(int(value))


class BulkForm(FlaskForm):
    """One action on the checked tickets of a queue page."""

    ids = IdListField(_l("Tickets"))
    all_on_page = BooleanField(_l("Select all on this page"))
    page_ids = IdListField()
    action = SelectField(_l("Action"), default="", choices=_choices([
        ("", _l("Choose an action")), (BulkKind.ASSIGN, _l("Assign to")),
        (BulkKind.PRIORITY, _l("Set priority")), (BulkKind.TAG, _l("Add tag"))]),
        validators=[DataRequired(_l("Choose an action."))])
    assignee = SelectField(_l("Agent"), default="", choices=[])
    priority = SelectField(_l("Priority"), default="",
                           choices=_choices([("", _l("Choose a priority")), *_PRIORITY_CHOICES]))
    tag = _tag_field()
    reason = StringField(_l("Reason (needed to lower a priority)"), filters=[_clean],
                         validators=[Optional(), Length(max=300)])
    return_to = HiddenField(validators=[Optional(), Length(max=_RETURN_MAX)])

    def validate(self, extra_validators=None) -> bool:
        """The fields, then what the chosen action needs."""
        valid = super().validate(extra_validators)
        chosen = self.chosen_ids()
        if not chosen:
            self.ids.errors = [*self.ids.errors, queues.NO_TICKETS]
            valid = False
        elif len(chosen) > queues.MAX_BULK:
            self.ids.errors = [*self.ids.errors, queues.TOO_MANY_TICKETS]
            valid = False
        needs = {BulkKind.ASSIGN.value: (self.assignee, _l("Choose an agent.")),
                 BulkKind.PRIORITY.value: (self.priority, _l("Choose a priority.")),
                 BulkKind.TAG.value: (self.tag, _l("Type a tag."))}.get(self.action.data)
        if needs and not needs[0].data:
            needs[0].errors = [*needs[0].errors, needs[1]]
            valid = False
        return valid

    def chosen_ids(self) -> list[int]:
        """The checked tickets, plus the whole page when "select all" was ticked."""
        ids = list(self.ids.data or [])
        if self.all_on_page.data:
            ids += self.page_ids.data or []
        return list(dict.fromkeys(ids))

    def bulk_action(self, user: User) -> BulkAction:
        """The validated action."""
        kind = BulkKind(self.action.data)
        assignee = None
        if kind is BulkKind.ASSIGN:
            assignee = user.id if self.assignee.data == "me" else int(self.assignee.data)
        return BulkAction(kind, assignee_id=assignee,
                          priority=Priority(self.priority.data) if self.priority.data else None,
                          tag=self.tag.data or None, reason=self.reason.data or None)


class SaveViewForm(FlaskForm):
    """A name for the current queue arguments."""

    name = StringField(_l("Name of this view"), filters=[_clean], validators=[
        DataRequired(_l("Give the view a name.")),
        Length(max=80, message=_l("Give the view a name of 1 to 80 characters."))])
    params = HiddenField(validators=[Optional(), Length(max=_RETURN_MAX)])


# ---- helpers ----

def _filter_form(args: MultiDict, agents: list[tuple[int, str]]) -> QueueFilterForm:
    form = QueueFilterForm(formdata=args)
    chinese = str(get_locale() or "").startswith("zh")
    form.team.choices = _choices([("", _("Any team")), *queues.team_choices(chinese)])
    form.assignee.choices = _choices([("", _("Anyone")), ("me", _("Me")), ("none", _("Nobody")),
                                      *agents])
    return form


def _bulk_form(user: User, agents: list[tuple[int, str]], formdata: Any) -> BulkForm:
    form = BulkForm(formdata=formdata)
    # Every agent is a valid choice: giving tickets to someone else without the assign
    # permission is refused as such (403), not as a bad value. The page offers only "me".
    form.assignee.choices = _choices([("", _("Choose an agent")), ("me", _("Me")),
                                      *((id_, name) for id_, name in agents if id_ != user.id)])
    return form


def _queue_args(form: QueueFilterForm) -> dict[str, Any]:
    """The validated arguments that define the list (no cursor), for links and views."""
    args: dict[str, Any] = {"queue": form.queue.data}
    for name in ("status", "priority", "sla_state"):
        if form[name].data:
            args[name] = list(form[name].data)
    for name in ("channel", "team", "assignee", "tag", "q", "sort"):
        if form[name].data:
            args[name] = form[name].data
    if form.limit.data:
        args["limit"] = form.limit.data
    return args


def _filters(form: QueueFilterForm) -> dict[str, Any]:
    return {
        "status": [Status(value) for value in form.status.data or []],
        "priority": [Priority(value) for value in form.priority.data or []],
        "sla_state": [SlaState(value) for value in form.sla_state.data or []],
        "channel": [Channel(form.channel.data)] if form.channel.data else [],
        "team": int(form.team.data) if form.team.data else None,
        "assignee": form.assignee.data or None, "tag": form.tag.data or None,
        "q": form.q.data or None, "sort": form.sort.data or None,
        "limit": form.limit.data, "cursor": form.cursor.data or None,
    }


def _args_from(text: str | None) -> MultiDict:
    """Queue arguments carried by a POST form as a query string."""
    return MultiDict(parse_qsl((text or "")[:_RETURN_MAX], keep_blank_values=True))


def _queue_url(args: MultiDict) -> str:
    """The queue page for these arguments (only ever a path on this site)."""
    query = urlencode(list(args.items(multi=True)))
    return url_for("queues.queue") + (f"?{query}" if query else "")


def _ticket_url(ticket_id: int) -> str:
    # The ticket page is another blueprint; until it is registered, its path is known.
    if "ticket_page.show" in current_app.view_functions:
        return url_for("ticket_page.show", ticket_id=ticket_id)
    return f"{url_for('queues.queue')}/{ticket_id}"


def relative_times(now: datetime) -> Callable[[datetime | None], str]:
    """'in 3 hours' / '3 hours ago' in the reader's language (the same units as queue.js)."""
    locale = get_locale()  # once: a page formats two times per row

    def relative(moment: datetime | None) -> str:
        if moment is None:
            return ""
        return format_timedelta(moment - now, granularity="minute", threshold=2,
                                add_direction=True, locale=locale)

    return relative


@blueprint.context_processor
def _labels() -> dict[str, Any]:
    # Translated once per request, not once per row.
    status = {key: str(label) for key, label in STATUS_LABELS.items()}
    sla_state = {key: str(label) for key, label in SLA_STATE_LABELS.items()}
    priority = {key: str(label) for key, label in PRIORITY_LABELS.items()}
    no_sla = _("No SLA")
    return {"staff_status_label": lambda value: status.get(value, value),
            "sla_state_label": lambda value: sla_state.get(value, no_sla),
            "queue_priority_label": lambda value: priority.get(value, value),
            "ticket_url": _ticket_url}


def _render_queue(args: MultiDict, *, status: int = 200, bulk_form: BulkForm | None = None,
                  view_form: SaveViewForm | None = None, rows_only: bool = False):
    """The queue page (or its rows alone) for these arguments; 400 with messages if invalid."""
    user = console_user()
    now = utcnow()
    agents = queues.agent_choices()
    form = _filter_form(args, agents)
    page = None
    if form.validate():
        try:
            page = queues.queue_page(user, QUEUES[form.queue.data], _filters(form), now)
        except InvalidInput:
            db.session.rollback()
            form.cursor.errors = [_("This page link is no longer valid. Start from the "
                                    "first page.")]
    if page is None:
        status = 400
    context: dict[str, Any] = {"page": page, "relative": relative_times(now),
                               "can_bulk": can(user, Permission.TICKET_UPDATE)}
    headers = {"Cache-Control": "no-store"}
    if rows_only:
        headers["X-Queue-Rows"] = str(len(page.rows)) if page is not None else "error"
        return render_template(_ROWS, **context), status, headers
    queue_args = _queue_args(form) if page is not None else {"queue": queues.DEFAULT_QUEUE}
    cursor = form.cursor.data if page is not None else None
    here = {**queue_args, **({"cursor": cursor} if cursor else {})}
    context.update({
        "form": form, "queue": QUEUES.get(form.queue.data) or QUEUES[queues.DEFAULT_QUEUE],
        "queue_args": queue_args, "cursor": cursor, "return_to": urlencode(here, doseq=True),
        "first_url": url_for("queues.queue", **queue_args),
        "next_url": (url_for("queues.queue", **queue_args, cursor=page.next_cursor)
                     if page is not None and page.next_cursor else None),
        "rows_url": url_for("queues.rows", **here),
        "max_bulk": queues.MAX_BULK,
        "can_assign": can(user, Permission.TICKET_ASSIGN),
        "can_take": user.role in ASSIGNABLE_ROLES,
        "bulk_form": bulk_form or _bulk_form(user, agents, formdata=MultiDict()),
        "view_form": view_form or SaveViewForm(formdata=MultiDict()),
        "saved_views": queues.saved_views_for(user),
    })
    return render_template(_PAGE, **context), status, headers


# ---- pages ----

@blueprint.get("")
@staff_required()
def queue():
    """A queue of tickets with filters, search, sort and keyset pages."""
    return _render_queue(request.args)


@blueprint.get("/rows")
@staff_required()
def rows():
    """The table rows of a queue page alone, for live refresh."""
    return _render_queue(request.args, rows_only=True)


@blueprint.post("/views")
@staff_required()
def save_view():
    """Save the current queue arguments under a name."""
    user = console_user()
    view_form = SaveViewForm()
    args = _args_from(view_form.params.data)
    if not view_form.validate():
        db.session.rollback()
        return _render_queue(args, status=400, view_form=view_form)
    filters = _filter_form(args, queues.agent_choices())
    if not filters.validate():
        db.session.rollback()
        view_form.params.errors = [_("The filters of this view are not valid.")]
        return _render_queue(args, status=400, view_form=view_form)
    params = _queue_args(filters)
    params.pop("limit", None)
    try:
        view = queues.save_view(user, view_form.name.data, params)
    except InvalidInput as error:
        db.session.rollback()
        view_form.name.errors = list((error.errors or {}).get("name", [error.detail]))
        return _render_queue(args, status=400, view_form=view_form)
    flash(_("Saved the view “%(name)s”.", name=view.name), "success")
    return redirect(url_for("queues.queue", **view.params), 303)


@blueprint.post("/views/<id:view_id>/delete")
@staff_required()
def delete_view(view_id: int):
    """Delete one of the user's saved views."""
    name = queues.delete_view(console_user(), view_id)
    flash(_("Deleted the view “%(name)s”.", name=name), "success")
    return redirect(_queue_url(_args_from(request.form.get("return_to"))), 303)


@blueprint.post("/bulk")
@staff_required(Permission.TICKET_UPDATE)
def bulk():
    """Apply one action to the checked tickets; report how many changed and why others not."""
    user = console_user()
    form = _bulk_form(user, queues.agent_choices(), formdata=request.form)
    args = _args_from(form.return_to.data)
    if not form.validate():
        db.session.rollback()
        return _render_queue(args, status=400, bulk_form=form)
    try:  # a Forbidden action (someone else's tickets without the right) is the 403 page
        result = queues.bulk_update(user, form.chosen_ids(), form.bulk_action(user))
    except InvalidInput as error:
        db.session.rollback()
        for name, messages in (error.errors or {}).items():
            if name in form:
                form[name].errors = [*form[name].errors, *messages]
        return _render_queue(args, status=400, bulk_form=form)
    flash(_bulk_message(result), "warning" if result.skipped else "success")
    return redirect(_queue_url(args), 303)


def _bulk_message(result: queues.BulkResult) -> str:
    sentences = [ngettext("%(num)d ticket changed.", "%(num)d tickets changed.",
                          len(result.changed))]
    explain = {
        Skip.NOT_FOUND: lambda n: ngettext(
            "%(num)d skipped: not found, or not a ticket you may see.",
            "%(num)d skipped: not found, or not tickets you may see.", n),
        Skip.UNCHANGED: lambda n: ngettext(
            "%(num)d skipped: it already was so.", "%(num)d skipped: they already were so.", n),
        Skip.CLOSED: lambda n: ngettext(
            "%(num)d skipped: the ticket is closed.", "%(num)d skipped: the tickets are closed.",
            n),
        Skip.NOT_ALLOWED: lambda n: ngettext(
            "%(num)d skipped: your role may not make this change (lowering a priority needs "
            "a team lead).",
            "%(num)d skipped: your role may not make this change (lowering a priority needs "
            "a team lead).", n),
        Skip.NEEDS_REASON: lambda n: ngettext(
            "%(num)d skipped: lowering a priority needs a reason.",
            "%(num)d skipped: lowering a priority needs a reason.", n),
        Skip.TOO_MANY_TAGS: lambda n: ngettext(
            "%(num)d skipped: a ticket has at most 20 tags.",
            "%(num)d skipped: a ticket has at most 20 tags.", n),
        Skip.REFUSED: lambda n: ngettext(
            "%(num)d skipped: the change is not allowed for this ticket now.",
            "%(num)d skipped: the change is not allowed for these tickets now.", n),
    }
    for reason in Skip:
        if result.skipped.get(reason):
            sentences.append(explain[reason](len(result.skipped[reason])))
    return " ".join(sentences)
