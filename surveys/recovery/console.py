"""Console pages of service-recovery follow-ups: the list and a follow-up's page.

Importing this module also adds the survey panels to the ticket and customer pages.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from service.auth.models import User
from service.auth.permissions import Permission, can
from service.console.access import console_user, staff_required
from service.db_types import utcnow
from service.directory.models import Account, Contact
from service.errors import DomainError, InvalidInput
from service.extensions import db
from surveys import panels  # noqa: F401  (registers the survey panels at import)
from surveys.models import RecoveryFollowUp, RecoveryStatus, SurveyResponse
from surveys.recovery import access, services
from surveys.recovery.forms import CloseForm
from surveys.recovery.labels import KIND_LABELS, OUTCOME_LABELS, STATUS_LABELS, label
from surveys.recovery.presenters import present_many
from tickets.upload_forms import explain_expired_csrf

blueprint = Blueprint("recovery_console", __name__, url_prefix="/console/recovery",
                      template_folder="../templates")

# The list's tabs: what each shows.
VIEWS = {"mine": _l("Mine"), "open": _l("Open"), "overdue": _l("Overdue"), "done": _l("Done")}


def _filters(user: User, view: str) -> dict[str, Any]:
    if view == "mine":
        return {"mine": True, "status": [RecoveryStatus.OPEN]}
    if view == "overdue":
        return {"overdue": True}
    if view == "done":
        return {"status": [RecoveryStatus.DONE]}
    return {"status": [RecoveryStatus.OPEN]}


@blueprint.get("/")
@staff_required(Permission.RECOVERY_WORK)
def index():
    """Follow-ups the user may see: mine, open, overdue or done, soonest due first."""
    user = console_user()
    view = request.args.get("view", "mine")
    if view not in VIEWS:
        view = "mine"
    cursor = request.args.get("cursor") or None
    try:
        rows, next_cursor = access.list_follow_ups(user, cursor=cursor, limit=50,
                                                   **_filters(user, view))
        error = None
    except InvalidInput:
        rows, next_cursor, error = [], None, _("This page link is not valid any more.")
    items = present_many(rows)
    return render_template(
        "surveys/recovery/index.html", items=items, view=view, views=VIEWS, error=error,
        kind_label=lambda value: label(KIND_LABELS, value),
        status_label=lambda value: label(STATUS_LABELS, value),
        outcome_label=lambda value: label(OUTCOME_LABELS, value),
        next_url=url_for(".index", view=view, cursor=next_cursor) if next_cursor else None,
        first_url=url_for(".index", view=view) if cursor else None), \
        (400 if error else 200), {"Cache-Control": "no-store"}


def _render(user: User, follow_up: RecoveryFollowUp, form: CloseForm | None = None,
            status: int = 200):
    view = present_many([follow_up], with_answer=True)[0]
    response = db.session.get(SurveyResponse, follow_up.response_id)
    contact = db.session.get(Contact, follow_up.contact_id)
    account = db.session.get(Account, follow_up.account_id) if follow_up.account_id else None
    may_close = follow_up.status == RecoveryStatus.OPEN and access.may_work(user, follow_up)
    return render_template(
        "surveys/recovery/show.html", follow_up=follow_up, view=view, response=response,
        contact=contact, account=account, now=utcnow(),
        form=(form or CloseForm(formdata=None)) if may_close else None,
        may_view_customers=can(user, Permission.CUSTOMER_VIEW),
        kind_label=label(KIND_LABELS, follow_up.kind),
        status_label=label(STATUS_LABELS, follow_up.status),
        outcome_label=label(OUTCOME_LABELS, follow_up.outcome) if follow_up.outcome
        else None), status, {"Cache-Control": "no-store"}


@blueprint.get("/<id:follow_up_id>")
@staff_required(Permission.RECOVERY_WORK)
def show(follow_up_id: int):
    """A follow-up: the answer, the customer, the deadline and the outcome form."""
    user = console_user()
    return _render(user, access.get_follow_up(user, follow_up_id))


@blueprint.post("/<id:follow_up_id>/close")
@staff_required(Permission.RECOVERY_WORK)
def close(follow_up_id: int):
    """Record the outcome and a note; the customer is asked again later."""
    user = console_user()
    follow_up = access.get_follow_up(user, follow_up_id, for_update=True)
    form = CloseForm()
    if not form.validate():
        db.session.rollback()
        explain_expired_csrf(form)
        return _render(user, access.get_follow_up(user, follow_up_id), form, 400)
    try:
        services.close(user, follow_up, form.outcome.data, form.note.data)
    except DomainError as error:
        db.session.rollback()
        for key, messages in (error.errors or {}).items():
            field = form._fields.get(key)
            if field is not None:
                field.errors = [*field.errors, *map(str, messages)]
        if not error.errors:
            form.form_errors.append(str(error.detail))
        return _render(user, access.get_follow_up(user, follow_up_id), form, error.status)
    flash(_("Follow-up done. The customer will be asked again."), "success")
    return redirect(url_for(".show", follow_up_id=follow_up_id), 303)
