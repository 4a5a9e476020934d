"""The customer portal's forms (Flask-WTF: every one carries a CSRF token)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (EmailField, HiddenField, RadioField, SelectChoice, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp

from tickets.forms import SupportRequestForm

BODY_MAX = 20000
COMMENT_MAX = 5000


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


class LoginForm(FlaskForm):
    """Ask for a sign-in link."""

    email = EmailField(_l("Email"), filters=[_strip], validators=[
        DataRequired(_l("Please enter your email address.")),
        Email(_l("Please enter a valid email address."), check_deliverability=False),
        Length(max=254)])


class ButtonForm(FlaskForm):
    """A form that is only a button (sign in with a link, sign out): the CSRF token."""


class ReplyForm(FlaskForm):
    """The customer's reply on a ticket, with files."""

    body = TextAreaField(_l("Your message"), validators=[
        DataRequired(_l("Please write your message.")), Length(max=BODY_MAX)])
    attachments = MultipleFileField(_l("Attach files"))


class NewTicketForm(FlaskForm):
    """A new request from a signed-in customer (their address is already known)."""

    subject = StringField(_l("Subject"), validators=[
        DataRequired(_l("Please describe the problem in a few words.")), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[
        DataRequired(_l("Please tell us what happened.")), Length(max=BODY_MAX)])
    urgency = SelectField(_l("How urgent is it?"),
                          choices=SupportRequestForm.urgency.kwargs["choices"],
                          default="normal")
    product = StringField(_l("Product"), validators=[Optional(), Length(max=80)])
    attachments = MultipleFileField(_l("Attach files"))
    submission_id = HiddenField(validators=[Optional(), Regexp(r"^[0-9a-f]{32}$")])


class ConfirmForm(FlaskForm):
    """The customer's answer to a resolution: fixed, or still a problem (with a comment)."""

    outcome = RadioField(_l("Is the problem solved?"), choices=[
        SelectChoice("confirmed", _l("Yes, it is fixed")),
        SelectChoice("rejected", _l("No, still a problem"))],
        validators=[DataRequired(_l("Please choose an answer."))])
    comment = TextAreaField(_l("What is still wrong?"), validators=[
        Optional(), Length(max=COMMENT_MAX)])
    resolution_id = HiddenField(validators=[Optional(), Regexp(r"^[0-9]{1,10}$")])

    @staticmethod
    def comment_required_message() -> str:
        """The message under an empty comment on a "still a problem" answer."""
        return str(_l("Please tell us what is still wrong."))

    def validate(self, extra_validators=None) -> bool:
        """A "still a problem" answer needs a comment saying what is wrong."""
        if not super().validate(extra_validators):
            return False
        if self.outcome.data == "rejected" and not (self.comment.data or "").strip():
            self.comment.errors = [self.comment_required_message()]
            return False
        return True
