"""Console pages for customers (contacts) and accounts, and new tickets on their behalf."""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from flask import (Blueprint, current_app, flash, redirect, render_template, request, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice

from service.auth.permissions import Permission, can
from service.console.access import console_user, staff_required
from service.directory import customers, panels
from service.directory.forms import (AccountForm, ContactForm, NewTicketForm, parse_id)
from service.directory.models import Account, Contact, Tier
from service.errors import Conflict, DomainError, InvalidInput
from service.extensions import db
from tickets import history, on_behalf
from tickets.models import format_number

blueprint = Blueprint("customers", __name__, url_prefix="/console", template_folder="templates")

HISTORY_LIMIT = 50
PICKER_LIMIT = 20
FRAGMENT_LIMIT = 10
ACCOUNT_CONTACTS_LIMIT = 100

FIELD_LABELS = {
    "tier": _l("Tier"), "sales_owner": _l("Sales owner"),
    "dedicated_agent": _l("Dedicated support agent"), "products": _l("Products"),
    "domains": _l("Email domains"), "name": _l("Name"), "phone": _l("Phone"),
    "company": _l("Company"), "language": _l("Language"), "account": _l("Account"),
}
VALUE_LABELS = {
    "tier": {"standard": _l("Standard"), "vip": _l("VIP")},
    "language": {"en": _l("English"), "zh": _l("Chinese")},
}
CHANNEL_LABELS = {"phone": _l("Phone call"), "walk_in": _l("In person"), "email": _l("Email"),
                  "web": _l("Web form"), "portal": _l("Portal"), "chat": _l("Chat"),
                  "api": _l("API")}


@blueprint.context_processor
def _page_helpers() -> dict[str, Any]:
    return {"ticket_url": ticket_url, "ticket_number": format_number,
            "tier_label": lambda value: VALUE_LABELS["tier"].get(str(value), value),
            "language_label": lambda value: VALUE_LABELS["language"].get(str(value), value),
            "channel_label": lambda value: CHANNEL_LABELS.get(str(value), value),
            "may": lambda permission: can(console_user(), permission),
            "Permission": Permission, "Tier": Tier}


def ticket_url(ticket_id: int) -> str | None:
    """The console page of a ticket, while the ticket page is registered."""
    if "ticket_page.show" not in current_app.view_functions:
        return None
    return url_for("ticket_page.show", ticket_id=ticket_id)


# ---- contacts ----

@blueprint.get("/customers")
@staff_required(Permission.CUSTOMER_VIEW)
def contacts():
    """Find contacts by name, email, phone, company or account; 50 a page by name."""
    q = customers.clean_query(request.args.get("q"))
    page, note = _page_or_first(lambda cursor: customers.search_contacts(q, cursor))
    counts = history.ticket_counts_of_contacts(console_user(), [row.id for row in page.rows])
    return render_template("directory/contacts.html", q=q, page=page, counts=counts,
                           note=note, first_page=bool(request.args.get("cursor"))), \
        400 if note else 200


@blueprint.get("/customers/search")
@staff_required(Permission.CUSTOMER_VIEW)
def search_fragment():
    """List items to pick a customer from, for the new-ticket page's as-you-type search."""
    q = customers.clean_query(request.args.get("q"))
    rows = customers.search_contacts(q, limit=FRAGMENT_LIMIT).rows if q else []
    html = render_template("directory/_contact_options.html", candidates=rows, checked=None,
                           searched=bool(q))
    return html, 200, {"Cache-Control": "no-store"}


@blueprint.get("/customers/<id:contact_id>")
@staff_required(Permission.CUSTOMER_VIEW)
def contact(contact_id: int):
    """A contact: details, account and the tickets the reader may see."""
    person = customers.get_contact(contact_id)
    tickets = history.tickets_of_contact(console_user(), person.id, HISTORY_LIMIT)
    return render_template("directory/contact.html", contact=person, tickets=tickets,
                           limit=HISTORY_LIMIT,
                           panels=panels.contact_panels(console_user(), person))


@blueprint.route("/customers/<id:contact_id>/edit", methods=["GET", "POST"])
@staff_required(Permission.CUSTOMER_EDIT)
def edit_contact(contact_id: int):
    """Change a contact's name, phone, company, language and account."""
    person = customers.get_contact(contact_id)
    initial = {"name": person.name, "phone": person.phone, "company": person.company,
               "language": person.language or "",
               "account": str(person.account_id) if person.account_id else ""}
    form = ContactForm(data=initial if request.method == "GET" else None)
    form.account.choices = [SelectChoice("", _("No account"))] + [
        SelectChoice(str(account_id), name) for account_id, name in customers.account_choices()]
    if request.method == "GET":
        return render_template("directory/contact_form.html", form=form, contact=person)
    status = 400
    if form.validate_on_submit():
        try:
            changes = customers.update_contact(person, customers.ContactInput(
                name=form.name.data or "", phone=form.phone.data, company=form.company.data,
                language=form.language.data or None, account_id=parse_id(form.account.data)))
        except DomainError as error:
            db.session.rollback()
            status = _show_errors(form, error)
        else:
            _flash_changes(changes)
            return redirect(url_for(".contact", contact_id=person.id), 303)
    db.session.rollback()
    return render_template("directory/contact_form.html", form=form, contact=person), status


# ---- accounts ----

@blueprint.get("/accounts")
@staff_required(Permission.CUSTOMER_VIEW)
def accounts():
    """Find accounts by name or email domain, optionally by tier; 50 a page by name."""
    q = customers.clean_query(request.args.get("q"))
    tier_text = (request.args.get("tier") or "").strip()
    tier, note = None, None
    if tier_text:
        try:
            tier = Tier(tier_text)
        except ValueError:
            note = _("Unknown tier: showing every tier.")
    page, cursor_note = _page_or_first(
        lambda cursor: customers.search_accounts(q, tier, cursor))
    note = note or cursor_note
    return render_template("directory/accounts.html", q=q, tier=tier, page=page, note=note,
                           first_page=bool(request.args.get("cursor"))), \
        400 if note else 200


@blueprint.get("/accounts/<id:account_id>")
@staff_required(Permission.CUSTOMER_VIEW)
def account(account_id: int):
    """An account: tier, owners, products, domains, contacts and recent tickets."""
    company = customers.get_account(account_id)
    people, people_total = customers.contacts_of_account(company.id, ACCOUNT_CONTACTS_LIMIT)
    tickets = history.tickets_of_account(console_user(), company.id, HISTORY_LIMIT)
    return render_template("directory/account.html", account=company, contacts=people,
                           contacts_total=people_total, tickets=tickets, limit=HISTORY_LIMIT,
                           panels=panels.account_panels(console_user(), company))


@blueprint.route("/accounts/new", methods=["GET", "POST"])
@staff_required(Permission.CUSTOMER_EDIT)
def new_account():
    """Create an account with its tier, owners, products and domains."""
    return _account_form(None)


@blueprint.route("/accounts/<id:account_id>/edit", methods=["GET", "POST"])
@staff_required(Permission.CUSTOMER_EDIT)
def edit_account(account_id: int):
    """Change an account's tier, owners, products and domains."""
    return _account_form(customers.get_account(account_id))


def _account_form(company: Account | None):
    initial = None
    if request.method == "GET" and company is not None:
        initial = {"tier": company.tier.value,
                   "sales_owner": str(company.sales_owner_id or ""),
                   "dedicated_agent": str(company.dedicated_agent_id or ""),
                   "products": "\n".join(row.product for row in company.products),
                   "domains": "\n".join(row.domain for row in company.domains)}
    form = AccountForm(data=initial)
    form.sales_owner.choices = [SelectChoice("", _("None"))] + [
        SelectChoice(str(user_id), name) for user_id, name in
        customers.sales_owner_choices(company.sales_owner_id if company else None)]
    form.dedicated_agent.choices = [SelectChoice("", _("None"))] + [
        SelectChoice(str(user_id), name) for user_id, name in
        customers.dedicated_agent_choices(company.dedicated_agent_id if company else None)]
    if request.method == "GET":
        return render_template("directory/account_form.html", form=form, account=company)
    status = 400
    if form.validate_on_submit():
        data = customers.AccountInput(
            name=form.name.data if company is None else None, tier=form.tier.data or "",
            sales_owner_id=parse_id(form.sales_owner.data),
            dedicated_agent_id=parse_id(form.dedicated_agent.data),
            products=(form.products.data or "").splitlines(),
            domains=(form.domains.data or "").splitlines())
        try:
            if company is None:
                company = customers.add_account(data)
                flash(_("Account %(name)s created.", name=company.name), "success")
            else:
                _flash_changes(customers.update_account(company, data))
        except DomainError as error:
            db.session.rollback()
            status = _show_errors(form, error)
        else:
            return redirect(url_for(".account", account_id=company.id), 303)
    db.session.rollback()
    return render_template("directory/account_form.html", form=form, account=company), status


# ---- new ticket for a customer ----

@blueprint.route("/tickets/new", methods=["GET", "POST"])
@staff_required(Permission.TICKET_CREATE)
def new_ticket():
    """Open a ticket for a customer on the phone or at the counter."""
    user = console_user()
    customer_q = customers.clean_query(request.args.get("customer_q"))
    form = NewTicketForm()
    chosen, status = None, 200
    if request.method == "GET":
        form.submission_id.data = uuid.uuid4().hex
        chosen = _preselected_contact(form)
        if form.contact_id.errors:
            status = 400
        elif chosen is not None:
            form.contact_id.data = str(chosen.id)
            form.acknowledge.data = chosen.email is not None
            if chosen.language in on_behalf.LANGUAGES:
                form.language.data = chosen.language
        found = (customers.search_contacts(customer_q, limit=PICKER_LIMIT).rows
                 if customer_q else [])
        return _new_ticket_page(form, chosen, found, customer_q), status
    chosen = _posted_contact(form)
    if not form.validate_on_submit():
        db.session.rollback()
        return _new_ticket_page(form, chosen, [], customer_q), 400
    try:
        result = on_behalf.open_ticket(user, on_behalf.OnBehalfRequest(
            channel=form.channel.data or "", subject=form.subject.data or "",
            description=form.description.data or "", contact_id=parse_id(form.contact_id.data),
            email=form.email.data, phone=form.phone.data, name=form.name.data,
            company=form.company.data, urgency=form.urgency.data,
            priority=form.priority.data or None,
            category=form.category.data, product=form.product_other.data or form.product.data,
            language=form.language.data or None, acknowledge=bool(form.acknowledge.data),
            submission_id=form.submission_id.data or None))
    except Conflict as error:
        # Intake's only conflict: this form was sent before with other details and its
        # ticket exists. A fresh id lets the user open another ticket on purpose.
        db.session.rollback()
        form.form_errors.append(_("This form was already sent with different details. "
                                  "Send it again to open another ticket."))
        form.submission_id.data = uuid.uuid4().hex
        return _new_ticket_page(form, chosen, [], customer_q), error.status
    except DomainError as error:
        db.session.rollback()
        status = _show_errors(form, error)
        return _new_ticket_page(form, chosen, [], customer_q), status
    ticket = result.ticket
    if result.created:
        flash(_("Ticket %(number)s opened for %(name)s.", number=format_number(ticket.id),
                name=ticket.contact.name), "success")
    return redirect(ticket_url(ticket.id) or url_for("console.home") + f"tickets/{ticket.id}",
                    303)


def _new_ticket_page(form: NewTicketForm, chosen: Contact | None, found: list,
                     customer_q: str) -> str:
    """The form; `found` are the customer search's matches (the chosen one shows apart)."""
    products = ([row.product for row in chosen.account.products]
                if chosen is not None and chosen.account is not None else [])
    candidates = [row for row in found if chosen is None or row.id != chosen.id]
    return render_template("directory/new_ticket.html", form=form, chosen=chosen,
                           candidates=candidates, customer_q=customer_q, products=products,
                           no_match=bool(customer_q) and not found,
                           may_prioritise=can(console_user(),
                                              Permission.TICKET_SET_PRIORITY))


def _preselected_contact(form: NewTicketForm) -> Contact | None:
    """The contact named by ?contact_id= (from a contact page), or a field error."""
    text = request.args.get("contact_id")
    if not text:
        return None
    try:
        return customers.get_contact(parse_id(text) or 0)
    except (ValueError, DomainError):
        form.contact_id.errors = [_("This customer does not exist (any more). Search again "
                                    "or enter a new customer.")]
        return None


def _posted_contact(form: NewTicketForm) -> Contact | None:
    """The contact the form chose, to show it chosen again when the form comes back."""
    try:
        contact_id = parse_id(form.contact_id.data)
    except ValueError:
        return None
    return db.session.get(Contact, contact_id) if contact_id else None


# ---- shared ----

def _page_or_first(search) -> tuple[customers.Page, str | None]:
    """The page the cursor points to, or the first page and a note when it is invalid."""
    try:
        return search(request.args.get("cursor") or None), None
    except InvalidInput:
        return search(None), _("This page link is no longer valid: showing the first page.")


def _show_errors(form: FlaskForm, error: DomainError) -> int:
    """Put a service's refusal on the form: per field where it names one. Returns the status."""
    for field, messages in (error.errors or {}).items():
        # Plain strings, so the template escapes them: Flask-Babel's lazy strings claim to
        # be safe HTML, and these messages quote names and text that users typed.
        texts = [str(message) for message in messages]
        target = form[field] if field in form else None
        if target is not None:
            target.errors = list(target.errors) + texts
        else:
            form.form_errors.extend(texts)
    if not error.errors:
        form.form_errors.append(str(error.detail))
    return error.status


def _flash_changes(changes: list[customers.Change]) -> None:
    if not changes:
        flash(_("Nothing to save: no field changed."), "message")
        return
    flash(_("Saved. %(changes)s", changes="; ".join(_describe(change) for change in changes)),
          "success")


def _describe(change: customers.Change) -> str:
    label = FIELD_LABELS.get(change.field, change.field)
    if change.added or change.removed:
        parts = []
        if change.added:
            parts.append(_("%(field)s added: %(items)s", field=label,
                           items=_items(change.added)))
        if change.removed:
            parts.append(_("%(field)s removed: %(items)s", field=label,
                           items=_items(change.removed)))
        return "; ".join(parts)
    return _("%(field)s: %(old)s → %(new)s", field=label,
             old=_value(change.field, change.old), new=_value(change.field, change.new))


def _value(field: str, value: str | None) -> str:
    if value is None or value == "":
        return _("none")
    return str(VALUE_LABELS.get(field, {}).get(value, value))


def _items(values: Iterable[str], shown: int = 10) -> str:
    values = list(values)
    text = ", ".join(values[:shown])
    return text + (" …" if len(values) > shown else "")
