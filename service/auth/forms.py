"""Forms of the sign-in pages and of the user's own profile."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, EmailField, HiddenField, PasswordField, SelectChoice,
                     SelectField, StringField)
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from service.auth.models import Availability
from service.auth.prefs import NOTICE_KINDS
from service.auth.services import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, valid_timezones
from service.validation import is_email, strip_controls
from service.labels import AVAILABILITY_LABELS

LANGUAGE_CHOICES = [SelectChoice("en", "English"), SelectChoice("zh_CN", "中文")]



def _clean_text(value):
    # As the service will store it, so "required" and "too long" judge the same text.
    return strip_controls(value).strip() if isinstance(value, str) else value


def _email_address(_form, field) -> None:
    # Same check as the services' (service.validation), so the form and they agree.
    if field.data and not is_email(field.data.strip().lower()):
        raise ValidationError(_l("Please enter a valid email address."))


def _new_password_fields() -> tuple[PasswordField, PasswordField]:
    new = PasswordField(_l("New password"), validators=[
        DataRequired(_l("Please choose a new password.")),
        Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH,
               message=_l("Use between %(min)d and %(max)d characters."))])
    confirm = PasswordField(_l("New password again"), validators=[
        DataRequired(_l("Please type the new password again.")),
        EqualTo("new_password", _l("The two passwords are not the same."))])
    return new, confirm


class LoginForm(FlaskForm):
    """Email and password at /console/login."""

    email = EmailField(_l("Email"), validators=[
        DataRequired(_l("Please enter your email address.")), Length(max=254),
        _email_address])
    password = PasswordField(_l("Password"), validators=[
        DataRequired(_l("Please enter your password.")), Length(max=MAX_PASSWORD_LENGTH)])
    next = HiddenField()


class ForgotPasswordForm(FlaskForm):
    """The address a reset link should go to."""

    email = EmailField(_l("Email"), validators=[
        DataRequired(_l("Please enter your email address.")), Length(max=254),
        _email_address])


class ResetPasswordForm(FlaskForm):
    """A new password, twice, from a reset link."""

    new_password, confirm_password = _new_password_fields()


class ChangePasswordForm(FlaskForm):
    """A new password, twice, for the signed-in user who knows the current one."""

    current_password = PasswordField(_l("Current password"), validators=[
        DataRequired(_l("Please enter your current password.")),
        Length(max=MAX_PASSWORD_LENGTH)])
    new_password, confirm_password = _new_password_fields()


class ProfileForm(FlaskForm):
    """What users change about themselves (never their role: there is no such field)."""

    name = StringField(_l("Name"), filters=[_clean_text], validators=[
        DataRequired(_l("Please enter your name.")), Length(max=120)])
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, validate_choice=False)
    timezone = SelectField(_l("Time zone"), validate_choice=False)
    availability = SelectField(_l("Availability"), choices=[
        SelectChoice(value, label) for value, label in AVAILABILITY_LABELS.items()],
        validate_choice=False)

    def __init__(self, *args, default_zone: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = [SelectChoice("", _l("Service default (%(zone)s)",
                                                     zone=default_zone))] + [
            SelectChoice(zone, zone) for zone in valid_timezones()]

    def validate_language(self, field) -> None:
        """Only the languages the console speaks."""
        if field.data not in {choice.value for choice in LANGUAGE_CHOICES}:
            raise ValidationError(_l("Please choose English or Chinese."))

    def validate_timezone(self, field) -> None:
        """An IANA zone from the list, or empty for the service's."""
        if field.data and field.data not in valid_timezones():
            raise ValidationError(_l("Please choose a time zone from the list."))

    def validate_availability(self, field) -> None:
        """One of the three states."""
        if field.data not in {value.value for value in Availability}:
            raise ValidationError(_l("Please choose your availability from the list."))

    def notice_fields(self) -> list[BooleanField]:
        """The notification checkboxes, in NOTICE_KINDS order."""
        return [self[f"notify_{kind}"] for kind in NOTICE_KINDS]

    def wanted_notices(self) -> dict[str, bool]:
        """{kind: checked} for every notice kind."""
        return {kind: bool(self[f"notify_{kind}"].data) for kind in NOTICE_KINDS}


# One checkbox per notice kind, so a new kind in prefs.py shows up without touching this file.
for _kind, _label in NOTICE_KINDS.items():
    setattr(ProfileForm, f"notify_{_kind}", BooleanField(_label))


class LanguageForm(FlaskForm):
    """The language switch in the page header (works signed out too)."""

    language = SelectField(choices=LANGUAGE_CHOICES, validate_choice=False)
    next = HiddenField()

    def validate_language(self, field) -> None:
        """Only the languages the console speaks."""
        if field.data not in {choice.value for choice in LANGUAGE_CHOICES}:
            raise ValidationError(_l("Please choose English or Chinese."))
