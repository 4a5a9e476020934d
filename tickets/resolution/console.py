"""Console pages of closed-loop resolution: resolve, a phone confirmation, the export."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from service.auth.models import User
from service.auth.permissions import Permission
from service.console.access import console_user, staff_required
from service.errors import DomainError, Forbidden, InvalidTransition
from service.extensions import csrf, db
from service.validation import is_id
from tickets import attachments
from tickets import ticket_page as page
from tickets.upload_forms import explain_expired_csrf, read_upload_form
from tickets.console.ticket_page import render_page as render_ticket_page
from tickets.models import Ticket, Visibility
from tickets.resolution import panel, sentences, services
from tickets.resolution.forms import MAX_EVIDENCE_FILES, PhoneConfirmationForm
from tickets.resolution.models import ConfirmationChannel, ConfirmationOutcome
from tickets.services import get_ticket
from tickets.tasks.services import active_tasks

blueprint = Blueprint("resolution_console", __name__, url_prefix="/console/tickets",
                      template_folder="../templates")

page.register_panel("resolution", panel.TEMPLATE, panel.panel_context, order=30, column="main")
sentences.register()

# Room in the resolve request for its texts beside the evidence files.
# The services' field names → the forms' fields.
RESOLVE_FIELDS = {"summary": "summary", "root_cause": "root_cause",
                  "verification.method": "method", "verification.result": "result",
                  "verification.evidence_note": "evidence_note",
                  "verification.attachment_ids": "attachment_ids",
                  "override_reason": "override_reason"}
PHONE_FIELDS = {"call_reference": "call_reference", "comment": "comment",
                "outcome": "outcome"}


def _show(user: User, ticket_id: int, status: int, name: str, form: FlaskForm):
    """The ticket page again, this panel showing the posted form and its errors."""
    db.session.rollback()
    explain_expired_csrf(form)
    panel.keep_posted(name, form)
    body, _status = render_ticket_page(user, get_ticket(user, ticket_id))
    return body, status


def _refusal(form: FlaskForm, error: DomainError, fields: dict[str, str]) -> int:
    """Put a service's refusal on the form: on the fields it names, else above the form."""
    shown = False
    for key, messages in (error.errors or {}).items():
        target = getattr(form, fields.get(key, ""), None)
        if target is None:
            continue
        for message in messages if isinstance(messages, list) else [messages]:
            target.errors = [*target.errors, str(message)]
        shown = True
    if not shown:
        if isinstance(error, InvalidTransition):
            form.form_errors.append(_("The ticket cannot be resolved from its current "
                                      "status."))
        elif isinstance(error, Forbidden):
            form.form_errors.append(_("Your role may not do this."))
        else:
            form.form_errors.append(error.detail)
    return error.status


@blueprint.post("/<id:ticket_id>/resolve")
@staff_required(Permission.TICKET_RESOLVE)
def resolve(ticket_id: int):
    """Resolve the ticket with a verified fix and evidence; the customer is asked to confirm."""
    user = console_user()
    ticket = get_ticket(user, ticket_id, for_update=True)
    files = panel.ticket_files(ticket.id)
    open_tasks = active_tasks(ticket.id)
    form, valid = read_upload_form(
        lambda **kwargs: panel.resolve_form(user, ticket, files, open_tasks, **kwargs),
        MAX_EVIDENCE_FILES)
    if valid is None:
        return _show(user, ticket_id, 413, "resolve", form)
    if not valid:
        return _show(user, ticket_id, 400, "resolve", form)
    evidence = list(form.attachment_ids.data or [])
    uploads = [item for item in form.evidence_files.data or [] if item.filename]
    for upload in uploads:
        stored = attachments.store(ticket.id, None, upload.filename, upload.read(),
                                   upload.mimetype, visibility=Visibility.INTERNAL)
        if isinstance(stored, attachments.Refused):
            limit = page.file_size(current_app.config["ATTACHMENT_MAX_BYTES"])
            form.evidence_files.errors = [*form.evidence_files.errors, _(
                "Larger than the %(size)s limit: %(files)s", size=limit,
                files=stored.filename)]
            return _show(user, ticket_id, 400, "resolve", form)
        evidence.append(stored.id)
    try:
        services.resolve(user, ticket, summary=form.summary.data,
                         root_cause=form.root_cause.data, method=form.method.data,
                         result=form.result.data, evidence_note=form.evidence_note.data or None,
                         attachment_ids=tuple(evidence),
                         override_reason=(form.override_reason.data or None)
                         if form.may_override else None)
    except services.TasksStillOpen as error:
        if form.may_override:
            form.override_reason.errors = [*form.override_reason.errors, _(
                "Tasks are still open: give the reason for resolving now.")]
        else:
            form.form_errors.append(_("Tasks are still open: they must be done or cancelled "
                                      "first."))
        return _show(user, ticket_id, error.status, "resolve", form)
    except DomainError as error:
        status = _refusal(form, error, RESOLVE_FIELDS)
        return _show(user, ticket_id, status, "resolve", form)
    flash(_("Ticket resolved. The customer was asked to confirm the fix."), "success")
    return _back(ticket_id)


csrf.exempt(resolve)


@blueprint.post("/<id:ticket_id>/confirmation")
@staff_required(Permission.CONFIRMATION_RECORD)
def confirmation(ticket_id: int):
    """Record the customer's answer received on a call (the call reference is required)."""
    user = console_user()
    ticket = get_ticket(user, ticket_id, for_update=True)
    form = PhoneConfirmationForm()
    if not form.validate():
        return _show(user, ticket_id, 400, "phone", form)
    resolution_id = _as_id(form.resolution_id.data)
    try:
        answer = services.answer(
            ticket, ConfirmationOutcome(form.outcome.data), channel=ConfirmationChannel.PHONE,
            user=user, call_reference=form.call_reference.data,
            comment=form.comment.data or None, resolution_id=resolution_id)
    except services.AlreadyAnswered as error:
        form.form_errors.append(_("The customer's answer to this resolution is already "
                                  "recorded."))
        return _show(user, ticket_id, error.status, "phone", form)
    except DomainError as error:
        status = _refusal(form, error, PHONE_FIELDS)
        return _show(user, ticket_id, status, "phone", form)
    flash(_("The customer's confirmation was recorded.")
          if answer.outcome == ConfirmationOutcome.CONFIRMED
          else _("The customer's answer was recorded: the ticket is reopened."), "success")
    return _back(ticket_id)


@blueprint.get("/<id:ticket_id>/export.json")
@staff_required(Permission.TICKET_VIEW_INTERNAL)
def export(ticket_id: int):
    """The ticket with its timeline and closed-loop evidence, as a JSON download."""
    ticket: Ticket = get_ticket(console_user(), ticket_id)
    response = current_app.response_class(
        current_app.json.dumps(services.export_ticket(ticket)), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{ticket.number}.json"'
    return response


def _as_id(value: str | None) -> int | None:
    if value and value.isascii() and value.isdigit() and len(value) <= 10:
        number = int(value)
        return number if is_id(number) else None
    return None


def _back(ticket_id: int):
    return redirect(url_for("ticket_page.show", ticket_id=ticket_id, _anchor="resolution"), 303)
