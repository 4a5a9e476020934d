"""Console forms for contacts, accounts and tickets opened on a customer's behalf.

Choices (tier, owners, language, priority…) are checked by the services with messages of
their own, so selects here skip WTForms' generic "Not a valid choice".
"""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, EmailField, HiddenField, RadioField, SelectChoice,
                     SelectField, StringField, TextAreaField)
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from service.validation import MAX_ID

_ID = re.compile(r"^[0-9]{1,10}$")
PHONE_PATTERN = r"^[0-9+()\-. ]{3,40}$"


def parse_id(text: str | None) -> int | None:
    """A row id typed or chosen in a form, None when empty; ValueError when not an id."""
    text = (text or "").strip()
    if not text:
        return None
    if not _ID.match(text) or not 1 <= int(text) <= MAX_ID:
        raise ValueError(text)
    return int(text)


def _id_choice(_form: FlaskForm, field) -> None:
    try:
        parse_id(field.data)
    except ValueError:
        raise ValidationError(_l("Choose an entry from the list.")) from None


def _choices(*pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def _free_select(label, **kwargs) -> SelectField:
    return SelectField(label, validate_choice=False, coerce=str, **kwargs)


class AccountForm(FlaskForm):
    """Tier, owners, products and domains of an account; the name only when creating."""

    name = StringField(_l("Account name"), validators=[
        Length(max=200, message=_l("Enter at most 200 characters."))])
    tier = _free_select(_l("Tier"), choices=_choices(("standard", _l("Standard")),
                                                     ("vip", _l("VIP"))), default="standard")
    sales_owner = _free_select(_l("Sales owner"), validators=[_id_choice])
    dedicated_agent = _free_select(_l("Dedicated support agent"), validators=[_id_choice])
    products = TextAreaField(_l("Products owned (one per line)"), validators=[
        Length(max=20000, message=_l("This list is too long."))])
    domains = TextAreaField(_l("Email domains (one per line)"), validators=[
        Length(max=30000, message=_l("This list is too long."))])


class ContactForm(FlaskForm):
    """What staff may change about a contact (the email is who they are: not editable)."""

    name = StringField(_l("Name"), validators=[
        DataRequired(_l("Enter the customer's name.")),
        Length(max=120, message=_l("Enter at most 120 characters."))])
    phone = StringField(_l("Phone"), validators=[
        Optional(), Regexp(PHONE_PATTERN, message=_l("Enter a phone number: digits, spaces, "
                                                     "+ ( ) - or dots."))])
    company = StringField(_l("Company"), validators=[
        Optional(), Length(max=200, message=_l("Enter at most 200 characters."))])
    language = _free_select(_l("Language"), choices=_choices(
        ("", _l("Not known")), ("en", _l("English")), ("zh", _l("Chinese"))))
    account = _free_select(_l("Account"), validators=[_id_choice])


class NewTicketForm(FlaskForm):
    """A ticket staff open for a customer on the phone or at the counter."""

    submission_id = HiddenField(validators=[Optional(), Regexp(r"^[0-9a-f]{32}$")])
    contact_id = StringField(validators=[Optional(), _id_choice])
    email = EmailField(_l("Email"), validators=[
        Optional(), Length(max=254, message=_l("Enter at most 254 characters."))])
    phone = StringField(_l("Phone"), validators=[
        Optional(), Regexp(PHONE_PATTERN, message=_l("Enter a phone number: digits, spaces, "
                                                     "+ ( ) - or dots."))])
    name = StringField(_l("Name"), validators=[
        Optional(), Length(max=120, message=_l("Enter at most 120 characters."))])
    company = StringField(_l("Company"), validators=[
        Optional(), Length(max=200, message=_l("Enter at most 200 characters."))])
    channel = RadioField(_l("How did the customer reach us?"), validate_choice=False,
                         choices=_choices(("phone", _l("Phone call")),
                                          ("walk_in", _l("In person"))), default="phone")
    subject = StringField(_l("Subject"), validators=[
        DataRequired(_l("Describe the problem in a few words.")),
        Length(max=200, message=_l("Enter at most 200 characters."))])
    description = TextAreaField(_l("Description"), validators=[
        DataRequired(_l("Write down what the customer told you.")),
        Length(max=20000, message=_l("Enter at most 20,000 characters."))])
    urgency = _free_select(_l("How urgent is it for the customer?"), choices=_choices(
        ("low", _l("Low: a question or a small issue")),
        ("normal", _l("Normal: something does not work as expected")),
        ("high", _l("High: important work is blocked")),
        ("urgent", _l("Urgent: a service is down for them"))), default="normal")
    priority = _free_select(_l("Priority"), choices=_choices(
        ("", _l("Automatic (from urgency, VIP tier and outage words)")),
        ("low", _l("Low")), ("normal", _l("Normal")), ("high", _l("High")),
        ("urgent", _l("Urgent"))), default="")
    category = StringField(_l("Category"), validators=[
        Optional(), Length(max=80, message=_l("Enter at most 80 characters."))])
    product = StringField(_l("Product"), validators=[
        Optional(), Length(max=80, message=_l("Enter at most 80 characters."))])
    product_other = StringField(_l("Other product"), validators=[
        Optional(), Length(max=80, message=_l("Enter at most 80 characters."))])
    language = _free_select(_l("Language of the ticket"), choices=_choices(
        ("", _l("Automatic")), ("en", _l("English")), ("zh", _l("Chinese"))), default="")
    acknowledge = BooleanField(_l("Send the customer an acknowledgement by email"),
                               default=True)
