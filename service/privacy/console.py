"""Console actions of customer privacy: download a customer's data, erase a customer.

Importing this module also adds the "Personal data" panel to the contact page.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from service.auth.permissions import Permission
from service.console.access import staff_required
from service.console.form_errors import show_domain_error
from service.directory.models import Contact
from service.errors import DomainError
from service.extensions import db
from service.privacy.download import customer_file
from service.privacy import erase, export
from service.privacy import panel  # noqa: F401  (registers the contact page's panel)
from service.privacy.registry import is_erased_email
from service.validation import strip_controls
from tickets.upload_forms import explain_expired_csrf

blueprint = Blueprint("privacy_console", __name__, url_prefix="/console/admin/privacy",
                      template_folder="templates")


def _clean(value: object) -> object:
    return strip_controls(value).strip() if isinstance(value, str) else value


class EraseForm(FlaskForm):
    confirm = StringField(_l("Type the customer's email address to confirm"),
                          filters=[_clean],
                          validators=[DataRequired(message=_l("Type the customer's email "
                                                              "address to confirm."))])
    reason = TextAreaField(
        _l("Reason"), filters=[_clean],
        validators=[DataRequired(message=_l("Say why the customer is erased.")),
                    Length(max=erase.MAX_REASON, message=_l(
                        "At most %(max)d characters.", max=erase.MAX_REASON))])
    force = BooleanField(_l("Erase even though tickets are still open"))


@blueprint.get("/customers/<id:contact_id>/export")
@staff_required(Permission.ADMIN_PRIVACY)
def export_customer(contact_id: int):
    """Download everything held about the customer as a JSON file."""
    return customer_file(contact_id)


def _page(contact: Contact, form: EraseForm, status: int = 200):
    return render_template("privacy/erase.html", contact=contact, form=form,
                           erased=is_erased_email(contact.email),
                           blockers=erase.blockers(contact.id)), status, \
        {"Cache-Control": "no-store"}


@blueprint.get("/customers/<id:contact_id>/erase")
@staff_required(Permission.ADMIN_PRIVACY)
def erase_form(contact_id: int):
    """The erasure's confirmation form: type the address, give a reason."""
    return _page(export.find_contact(contact_id), EraseForm(formdata=None))


@blueprint.post("/customers/<id:contact_id>/erase")
@staff_required(Permission.ADMIN_PRIVACY)
def erase_customer(contact_id: int):
    """Erase (anonymise) the customer everywhere; back to their (now anonymous) page."""
    contact = export.find_contact(contact_id)
    form = EraseForm()
    if not form.validate():
        explain_expired_csrf(form)
        return _page(contact, form, 400)
    try:
        reason = erase.check_request(contact, form.confirm.data, form.reason.data)
        summary = erase.erase_customer(contact.id, reason=reason, force=form.force.data)
    except DomainError as error:
        db.session.rollback()
        return _page(export.find_contact(contact_id), form, show_domain_error(form, error))
    flash(_("Customer erased: %(count)d records changed.", count=summary.changed)
          if summary.changed else _("This customer was already erased; nothing changed."),
          "success")
    return redirect(url_for("customers.contact", contact_id=contact_id), 303)
