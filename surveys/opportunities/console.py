"""The sales inbox and opportunity pages: tabs mine / pool / due today / all, the page with
its evidence and history, the forms to work it, and "New opportunity".

Importing this module also adds the opportunity panels to the account, contact and ticket
pages (surveys.opportunities.panels).
"""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any, Callable

from flask import (Blueprint, Response, flash, redirect, render_template, request,
                   stream_with_context, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

from service.auth.models import User
from service.auth.permissions import Permission, can
from service.console.form_errors import show_domain_error
from service.console.access import console_user, staff_required
from service.db_types import utcnow
from service.directory.models import Account, Contact
from service.errors import DomainError, Forbidden
from service.extensions import db
from service.templating import display_zone
from surveys.models import Opportunity, OpportunityKind
from surveys.opportunities import export, labels, panels, presenters, queries, services
from surveys.opportunities.assignment import owner_choices
from surveys.opportunities.forms import (NewOpportunityForm, InboxForm, ReassignForm,
                                         StatusForm, TakeForm, ValueForm, as_id)
from surveys.opportunities.transitions import CLOSED, is_manager

blueprint = Blueprint("opportunities_console", __name__, url_prefix="/console/opportunities",
                      template_folder="../templates")
TAB_LABELS = {"mine": _l("Mine"), "pool": _l("Pool"), "due": _l("Due today"),
              "all": _l("All")}

panels.register()


@blueprint.app_context_processor
def _helpers() -> dict[str, Any]:
    # App-wide: the panels render inside the account, contact and ticket pages.
    return labels.TEMPLATE_HELPERS


def end_of_today(now: datetime) -> datetime:
    """The end of the reader's day (their zone) as a UTC instant: "due today" is before it."""
    zone = display_zone()
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), tzinfo=zone).astimezone(UTC)


# ---- the inbox ----

def _inbox_filters(user: User, form: InboxForm, now: datetime) -> queries.Filters:
    kind = OpportunityKind(form.kind.data) if form.kind.data else None
    tab = form.tab.data if form.tab.data in queries.tabs_for(user) else "mine"
    return queries.Filters(kind=kind, tab=tab if tab in ("mine", "pool") else None,
                           due_before=end_of_today(now) if tab == "due" else None)


@blueprint.get("/")
@staff_required(Permission.OPPORTUNITY_WORK)
def inbox():
    """The sales inbox: a tab of opportunities, a keyset page at a time, with tab counts."""
    user = console_user()
    now = utcnow()
    form = InboxForm(formdata=request.args or MultiDict())
    valid = form.validate()
    tab = form.tab.data if valid and form.tab.data in queries.tabs_for(user) else "mine"
    items, next_cursor, counts = [], None, {}
    if valid:
        filters = _inbox_filters(user, form, now)
        try:
            rows, next_cursor = services.list_opportunities(
                user, filters, limit=50, cursor=form.cursor.data or None,
                by_due=tab != "all")
        except DomainError as error:  # a cursor from another tab or tampered with
            form.cursor.errors = [*form.cursor.errors, *error.errors.get("cursor", [])]
            valid = False
        else:
            items = presenters.present_many(rows, now=now, absolute_urls=False)
            counts = queries.tab_counts(user, due_before=end_of_today(now),
                                        kind=filters.kind)
    return render_template(
        "surveys/opportunities/inbox.html", form=form, valid=valid, items=items, tab=tab,
        tabs=[(name, TAB_LABELS[name]) for name in queries.tabs_for(user)], counts=counts,
        next_cursor=next_cursor, kind=form.kind.data or "",
        may_create=can(user, Permission.OPPORTUNITY_CREATE)), \
        (200 if valid else 400), {"Cache-Control": "no-store"}


@blueprint.get("/export.csv")
@staff_required(Permission.OPPORTUNITY_WORK)
def export_csv():
    """The opportunities the reader may see as CSV for a CRM (optionally one kind)."""
    user = console_user()
    kind = request.args.get("kind") or None
    try:
        filters = queries.Filters(kind=OpportunityKind(kind) if kind else None)
    except ValueError:
        return render_template("surveys/opportunities/bad_export.html"), 400
    lines = export.csv_lines(queries.all_matching(user, filters))
    return Response(stream_with_context(lines), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="opportunities.csv"',
                             "Cache-Control": "no-store"})


# ---- an opportunity's page ----

def _status_form(opportunity: Opportunity, **kwargs) -> StatusForm:
    form = StatusForm(**kwargs)
    form.set_choices(services.TRANSITIONS[opportunity.status])
    return form


def _reassign_form(_opportunity: Opportunity, **kwargs) -> ReassignForm:
    form = ReassignForm(**kwargs)
    form.set_choices(owner_choices())
    return form


def _render(user: User, opportunity: Opportunity, *, status: int = 200, **forms: FlaskForm):
    view = presenters.present(opportunity, with_history=True, absolute_urls=False)
    names = labels.rule_names([item["rule"] for item in view["evidence"]])
    empty = {"formdata": None}
    mine = opportunity.owner_id == user.id
    may_work = is_manager(user) or mine
    open_ = opportunity.status not in CLOSED
    context: dict[str, Any] = {
        "opportunity": opportunity, "view": view, "now": utcnow(), "may_work": may_work,
        "reasons": [labels.rule_reason(item["rule"], names) for item in view["evidence"]],
        "account": db.session.get(Account, opportunity.account_id)
        if opportunity.account_id else None,
        "contact": db.session.get(Contact, opportunity.contact_id)
        if opportunity.contact_id else None,
        "returned_by": db.session.get(User, opportunity.returned_by_id)
        if opportunity.returned_by_id else None,
    }
    if may_work and open_ and services.TRANSITIONS[opportunity.status]:
        context["status_form"] = forms.get("status_form") or _status_form(opportunity, **empty)
    if opportunity.owner_id is None and open_:
        context["take_form"] = forms.get("take_form") or TakeForm(**empty)
    if is_manager(user):
        context["assign_form"] = forms.get("assign_form") or _reassign_form(
            opportunity, **empty, data={"owner_id": str(opportunity.owner_id or "pool")})
    if may_work:
        context["value_form"] = forms.get("value_form") or ValueForm(**empty, data={
            "estimated_value": "" if opportunity.estimated_value is None
            else str(opportunity.estimated_value),
            "suggested_products": "\n".join(opportunity.suggested_products or [])})
    return render_template("surveys/opportunities/opportunity.html", **context), status


@blueprint.get("/<id:opportunity_id>")
@staff_required(Permission.OPPORTUNITY_WORK)
def show(opportunity_id: int):
    """An opportunity: customer, reason, evidence, history and the forms to work it."""
    user = console_user()
    return _render(user, services.get_opportunity(user, opportunity_id))


def _change(opportunity_id: int, form_name: str,
            make_form: Callable[[Opportunity], FlaskForm],
            changes_of: Callable[[Any], dict[str, Any]], done: str):
    """One of the page's change forms: validate, apply, say so (or show the form again)."""
    user = console_user()
    opportunity = services.get_opportunity(user, opportunity_id, for_update=True)
    form = make_form(opportunity)
    if not form.validate():
        db.session.rollback()
        return _render(user, services.get_opportunity(user, opportunity_id), status=400,
                       **{form_name: form})
    try:
        services.update(user, opportunity, changes_of(form))
    except DomainError as error:
        db.session.rollback()
        if isinstance(error, Forbidden):
            raise
        status = show_domain_error(form, error)
        return _render(user, services.get_opportunity(user, opportunity_id), status=status,
                       **{form_name: form})
    flash(done, "success")
    return redirect(url_for(".show", opportunity_id=opportunity_id), 303)


@blueprint.post("/<id:opportunity_id>/status")
@staff_required(Permission.OPPORTUNITY_WORK)
def change_status(opportunity_id: int):
    """Move the opportunity on (lost: with a reason; won: with its value)."""
    return _change(opportunity_id, "status_form", _status_form,
                   lambda form: form.changes(), _("Status changed."))


@blueprint.post("/<id:opportunity_id>/take")
@staff_required(Permission.OPPORTUNITY_WORK)
def take(opportunity_id: int):
    """Take an opportunity from the shared pool."""
    user = console_user()
    return _change(opportunity_id, "take_form", lambda _o: TakeForm(),
                   lambda _form: {"owner_id": user.id}, _("The opportunity is yours now."))


@blueprint.post("/<id:opportunity_id>/assign")
@staff_required(Permission.OPPORTUNITY_WORK)
def reassign(opportunity_id: int):
    """Give the opportunity to someone else, or back to the pool (leads and admins)."""
    if not is_manager(console_user()):
        raise Forbidden(_("Only leads and admins may give an opportunity to someone else."))
    return _change(opportunity_id, "assign_form", _reassign_form,
                   lambda form: {"owner_id": form.owner()}, _("Owner changed."))


@blueprint.post("/<id:opportunity_id>/value")
@staff_required(Permission.OPPORTUNITY_WORK)
def change_value(opportunity_id: int):
    """Change the estimated value and the suggested products."""
    return _change(opportunity_id, "value_form", lambda _o: ValueForm(),
                   lambda form: {"estimated_value": form.estimated_value.data,
                                 "suggested_products": form.suggested_products.data},
                   _("Saved."))


# ---- a new opportunity ----

def _new_context(form: NewOpportunityForm) -> dict[str, Any]:
    """The customer (and ticket) the form is about, for the page's heading."""
    account_id, contact_id = as_id(form.account_id.data or ""), as_id(form.contact_id.data or "")
    return {"form": form,
            "account": db.session.get(Account, account_id) if account_id else None,
            "contact": db.session.get(Contact, contact_id) if contact_id else None,
            "ticket_id": as_id(form.ticket_id.data or "")}


@blueprint.route("/new", methods=["GET", "POST"])
@staff_required(Permission.OPPORTUNITY_CREATE)
def new():
    """Open an opportunity by hand, for an account or contact (from a ticket, maybe)."""
    user = console_user()
    if request.method == "GET":
        form = NewOpportunityForm(formdata=None, data={
            name: request.args.get(name, "") for name in ("account_id", "contact_id",
                                                          "ticket_id")})
        return render_template("surveys/opportunities/new.html", **_new_context(form))
    form = NewOpportunityForm()
    if not form.validate():
        return render_template("surveys/opportunities/new.html", **_new_context(form)), 400
    try:
        opportunity, created = services.create_manual(user, **form.values())
    except DomainError as error:
        db.session.rollback()
        if isinstance(error, Forbidden):
            raise
        status = show_domain_error(form, error)
        for name in ("account_id", "contact_id", "ticket_id"):  # hidden: say it on top
            form.form_errors.extend(str(message) for message in form[name].errors)
        return render_template("surveys/opportunities/new.html", **_new_context(form)), status
    flash(_("Opportunity opened.") if created else
          _("An open opportunity of this kind already existed: your note was added to it."),
          "success")
    if can(user, Permission.OPPORTUNITY_WORK):
        return redirect(url_for(".show", opportunity_id=opportunity.id), 303)
    return redirect(_back_to(opportunity, form), 303)


def _back_to(opportunity: Opportunity, form: NewOpportunityForm) -> str:
    """Where someone who cannot see opportunities goes after opening one (its origin)."""
    ticket_id = as_id(form.ticket_id.data or "")
    if ticket_id:
        return url_for("ticket_page.show", ticket_id=ticket_id)
    if opportunity.account_id:
        return url_for("customers.account", account_id=opportunity.account_id)
    return url_for("customers.contact", contact_id=opportunity.contact_id)
