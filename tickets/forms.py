"""The public web form for new requests."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (EmailField, HiddenField, SelectChoice, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp


class SupportRequestForm(FlaskForm):
    """What a customer fills in at /support/new."""

    name = StringField(_l("Your name"), validators=[Optional(), Length(max=120)])
    email = EmailField(_l("Email"), validators=[
        DataRequired(_l("Please enter your email address.")),
        Email(_l("Please enter a valid email address."), check_deliverability=False),
        Length(max=254)])
    company = StringField(_l("Company"), validators=[Optional(), Length(max=200)])
    phone = StringField(_l("Phone"), validators=[
        Optional(),
        Regexp(r"^[0-9+()\-. ]{3,40}$", message=_l("Please enter a valid phone number."))])
    subject = StringField(_l("Subject"), validators=[
        DataRequired(_l("Please describe the problem in a few words.")), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[
        DataRequired(_l("Please tell us what happened.")), Length(max=20000)])
    urgency = SelectField(_l("How urgent is it?"), choices=[
        SelectChoice("low", _l("Low: a question or a small issue")),
        SelectChoice("normal", _l("Normal: something does not work as expected")),
        SelectChoice("high", _l("High: important work is blocked")),
        SelectChoice("urgent", _l("Urgent: a service is down for us")),
    ], default="normal")
    product = StringField(_l("Product"), validators=[Optional(), Length(max=80)])
    submission_id = HiddenField(validators=[Optional(), Regexp(r"^[0-9a-f]{32}$")])
