"""Console pages of VIP revisits: the lists, a revisit's page with the call's forms, and an
account's revisit plan.

Importing this module also adds the revisit panel to the account page.
"""
from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from service.auth.models import User
from service.auth.permissions import ROLE_PERMISSIONS, Permission, can
from service.console.form_errors import show_domain_error
from service.console.access import console_user, staff_required
from service.db_types import utcnow
from service.directory import customers
from service.directory.models import Account
from service.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from service.extensions import db
from surveys.revisits import access, panels, presenters, queries, services
from surveys.revisits.forms import (DoneForm, FilterForm, OpportunityForm, PlanForm,
                                    TicketForm, as_id)
from surveys.models import Revisit, RevisitStatus
from tickets import history

blueprint = Blueprint("revisits_console", __name__, url_prefix="/console/revisits",
                      template_folder="../templates")

panels.register()
CONTACTS_LIMIT = 100
TICKETS_LIMIT = 10


@blueprint.app_context_processor
def _helpers() -> dict[str, Any]:
    # App-wide: the revisit panel renders inside the account page, another blueprint's page.
    return presenters.TEMPLATE_HELPERS


def _explain_csrf(form: FlaskForm) -> None:
    if "csrf_token" in form._fields and form.csrf_token.errors:
        form.form_errors.append(_("The form has expired. Reload the page and send it again."))


# ---- the lists ----

@blueprint.get("")
@staff_required(Permission.REVISIT_WORK)
def index():
    """Revisits: mine, due this week, overdue, done (and, for leads, every planned one)."""
    user = console_user()
    form = FilterForm(formdata=request.args or MultiDict())
    form.set_choices(queries.views_for(user))
    page, note = queries.Page([], None), None
    if form.validate():
        try:
            page = queries.revisits(user, form.view.data, utcnow(), form.cursor.data or None)
        except InvalidInput:
            note = _("This page link is no longer valid: showing the first page.")
            page = queries.revisits(user, form.view.data, utcnow())
    return render_template("surveys/revisits/index.html", form=form, page=page, note=note,
                           now=utcnow()), \
        (400 if form.errors or note else 200), {"Cache-Control": "no-store"}


# ---- a revisit's page ----

def _contacts(account_id: int) -> list[tuple[int, str]]:
    rows, _total = customers.contacts_of_account(account_id, CONTACTS_LIMIT)
    return [(row.id, row.name + (f" <{row.email}>" if row.email else "")) for row in rows]


def _done_form(revisit: Revisit, contacts: list[tuple[int, str]], **kwargs) -> DoneForm:
    form = DoneForm(**kwargs)
    form.set_choices(presenters.checklist_keys(revisit), contacts)
    return form


def _ticket_form(contacts: list[tuple[int, str]], **kwargs) -> TicketForm:
    form = TicketForm(**kwargs)
    form.set_choices(contacts)
    return form


def _render(user: User, revisit: Revisit, *, status: int = 200, refusal: str | None = None,
            **forms: FlaskForm):
    """The revisit page; the call's forms while it is planned, the two buttons unless
    cancelled."""
    account = db.session.get(Account, revisit.account_id)
    contacts = _contacts(account.id)
    empty = {"formdata": None}
    chosen = str(revisit.contact_id or "")
    context: dict[str, Any] = {
        "revisit": revisit, "account": account, "now": utcnow(),
        "plan": services.plan_in_effect(account), "health": presenters.health(account.id),
        "tickets": history.tickets_of_account(user, account.id, TICKETS_LIMIT),
        "previous": [row for row in services.history(account.id) if row.id != revisit.id],
        "may_plan": access.may_plan(user, account),
        "may_ticket": can(user, Permission.TICKET_CREATE),
        "may_opportunity": can(user, Permission.OPPORTUNITY_CREATE),
        "may_see_opportunity": can(user, Permission.OPPORTUNITY_WORK),
        "names": presenters.people_names(revisit), "refusal": refusal,
    }
    if revisit.status == RevisitStatus.PLANNED:
        context["done_form"] = forms.get("done_form") or _done_form(
            revisit, contacts, **empty, data={"contact_id": chosen, "checklist": [
                row["item"] for row in revisit.checklist or [] if row.get("done")]})
    if revisit.status != RevisitStatus.CANCELLED:
        # The contact spoken to, else the account's only contact, is who the ticket is for.
        for_whom = chosen or (str(contacts[0][0]) if len(contacts) == 1 else "")
        context["ticket_form"] = forms.get("ticket_form") or _ticket_form(
            contacts, **empty, data={"contact_id": for_whom, "acknowledge": True})
        context["opportunity_form"] = forms.get("opportunity_form") or OpportunityForm(**empty)
    return render_template("surveys/revisits/revisit.html", **context), status


def _back(revisit_id: int, anchor: str | None = None):
    return redirect(url_for("revisits_console.show", revisit_id=revisit_id, _anchor=anchor),
                    303)


@blueprint.get("/<id:revisit_id>")
@staff_required(Permission.REVISIT_WORK)
def show(revisit_id: int):
    """A revisit: the account's facts, the checklist, notes and the buttons."""
    user = console_user()
    return _render(user, access.get_revisit(user, revisit_id))


def _post(revisit_id: int, form_name: str, make_form: Callable[[Revisit], FlaskForm],
          act: Callable[[User, Revisit, Any], str], anchor: str | None = None):
    """One of the revisit page's forms: validate, call the service, say what happened."""
    user = console_user()
    revisit = access.get_revisit(user, revisit_id, for_update=True)
    form = make_form(revisit)
    if not form.validate():
        db.session.rollback()
        _explain_csrf(form)
        return _render(user, access.get_revisit(user, revisit_id), status=400,
                       **{form_name: form})
    try:
        message = act(user, revisit, form)
    except DomainError as error:
        db.session.rollback()
        if isinstance(error, (Forbidden, NotFound)):
            raise
        if isinstance(error, Conflict):
            # Done or linked already: the form may be gone, so the page says it on top.
            return _render(user, access.get_revisit(user, revisit_id), status=error.status,
                           refusal=str(error.detail))
        status = show_domain_error(form, error)
        return _render(user, access.get_revisit(user, revisit_id), status=status,
                       **{form_name: form})
    db.session.commit()
    flash(message, "success")
    return _back(revisit_id, anchor)


def _next_message(next_revisit: Revisit | None) -> str:
    if next_revisit is None:
        return _("No next revisit is planned: the account is not VIP or its plan is paused.")
    return _("The next revisit is due %(when)s.",
             when=presenters.local(next_revisit.due_at))


@blueprint.post("/<id:revisit_id>/done")
@staff_required(Permission.REVISIT_WORK)
def done(revisit_id: int):
    """Record the call and mark the revisit done; the next one is planned."""
    def act(user: User, revisit: Revisit, form: DoneForm) -> str:
        following = services.complete(user, revisit, **form.values())
        return _("Revisit recorded.") + " " + _next_message(following)

    return _post(revisit_id, "done_form",
                 lambda revisit: _done_form(revisit, _contacts(revisit.account_id)), act)


@blueprint.post("/<id:revisit_id>/cancel")
@staff_required(Permission.REVISIT_WORK)
def cancel(revisit_id: int):
    """Skip this revisit; the next one is planned one interval later."""
    def act(user: User, revisit: Revisit, _form: FlaskForm) -> str:
        following = services.cancel(user, revisit)
        return _("Revisit cancelled.") + " " + _next_message(following)

    return _post(revisit_id, "cancel_form", lambda _revisit: FlaskForm(), act)


@blueprint.post("/<id:revisit_id>/ticket")
@staff_required(Permission.REVISIT_WORK)
def open_ticket(revisit_id: int):
    """Open a ticket for what the call brought up, linked to the revisit."""
    def act(user: User, revisit: Revisit, form: TicketForm) -> str:
        from tickets.models import format_number

        ticket_id = services.open_ticket(
            user, revisit, form.subject.data or "", form.description.data or "",
            contact_id=as_id(form.contact_id.data), acknowledge=bool(form.acknowledge.data))
        return _("Ticket %(number)s opened.", number=format_number(ticket_id))

    return _post(revisit_id, "ticket_form",
                 lambda revisit: _ticket_form(_contacts(revisit.account_id)), act, "follow-up")


@blueprint.post("/<id:revisit_id>/opportunity")
@staff_required(Permission.REVISIT_WORK)
def open_opportunity(revisit_id: int):
    """Hand sales an opportunity from what the call revealed, linked to the revisit."""
    def act(user: User, revisit: Revisit, form: OpportunityForm) -> str:
        services.open_opportunity(user, revisit, form.kind.data or "", form.reason.data or "")
        return _("Opportunity opened for sales.")

    return _post(revisit_id, "opportunity_form", lambda _revisit: OpportunityForm(), act,
                 "follow-up")


# ---- an account's plan ----

def _people() -> list[tuple[int, str]]:
    """Active staff who may work revisits, by name."""
    roles = ROLE_PERMISSIONS[Permission.REVISIT_WORK]
    return [(row.id, row.name) for row in db.session.execute(
        select(User.id, User.name).where(User.is_active.is_(True), User.role.in_(roles))
        .order_by(User.name, User.id))]


@blueprint.route("/accounts/<id:account_id>/plan", methods=["GET", "POST"])
@staff_required(Permission.REVISIT_WORK)
def plan(account_id: int):
    """How often a VIP account is revisited and by whom (leads and the account's owners)."""
    user = console_user()
    account = customers.get_account(account_id)
    access.require_plan(user, account)
    current = services.plan_in_effect(account)
    initial = None
    if request.method == "GET":
        initial = {"interval_days": current.interval_days,
                   "owner_id": str(current.chosen_owner_id or ""), "active": current.active}
    form = PlanForm(data=initial)
    form.set_choices(_people())
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate():
            try:
                services.set_plan(user, account, form.interval_days.data,
                                  as_id(form.owner_id.data), bool(form.active.data))
            except DomainError as error:
                db.session.rollback()
                if isinstance(error, Forbidden):
                    raise
                status = show_domain_error(form, error)
            else:
                db.session.commit()
                flash(_("Revisit plan saved."), "success")
                return redirect(url_for("customers.account", account_id=account.id,
                                        _anchor="revisits"), 303)
        else:
            _explain_csrf(form)
        db.session.rollback()
    return render_template("surveys/revisits/plan.html", form=form, account=account,
                           plan=current, planned=services.planned_revisit(account.id)), status
