"""Forms of the people admin pages: users, teams, skills, agents' availability and capacity."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DecimalField, EmailField, IntegerField, PasswordField,
                     RadioField, SelectChoice, SelectField, SelectMultipleField, StringField)
from wtforms.validators import (DataRequired, InputRequired, Length, NumberRange, Optional,
                                ValidationError)

from service.auth.models import Role
from service.auth.services import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from service.directory.admin import MAX_CAPACITY
from service.labels import AVAILABILITY_LABELS, ROLE_LABELS

LANGUAGE_LABELS = {"en": "English", "zh_CN": "中文"}
CONSOLE_ROLE_CHOICES = [SelectChoice(role, ROLE_LABELS[role]) for role in
                        (Role.AGENT.value, Role.LEAD.value, Role.DEPARTMENT.value,
                         Role.SALES.value, Role.ADMIN.value)]
AVAILABILITY_CHOICES = [SelectChoice(value, label) for value, label in AVAILABILITY_LABELS.items()]
LANGUAGE_CHOICES = [SelectChoice(value, label) for value, label in LANGUAGE_LABELS.items()]
# A department's task turnaround: a quarter of an hour to a quarter of a year of business hours.
MIN_TURNAROUND_HOURS, MAX_TURNAROUND_HOURS = Decimal("0.25"), Decimal(2000)


def optional_id(value: object) -> int | None:
    """Coerce a select's value to an id; the empty choice is None."""
    if value in ("", None):
        return None
    return int(value)


def _name_field() -> StringField:
    return StringField(_l("Name"), validators=[DataRequired(_l("Please enter a name.")),
                                               Length(max=120)])


class NewUserForm(FlaskForm):
    """A new console user with an initial password."""

    email = EmailField(_l("Email"), validators=[DataRequired(_l("Please enter an email.")),
                                                Length(max=254)])
    name = _name_field()
    role = SelectField(_l("Role"), choices=CONSOLE_ROLE_CHOICES, default=Role.AGENT.value)
    locale = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, default="en")
    teams = SelectMultipleField(_l("Teams"), coerce=int, choices=[])
    skills = SelectMultipleField(_l("Skills"), coerce=int, choices=[])
    password_mode = RadioField(_l("Password"), choices=[
        SelectChoice("password", _l("Set an initial password now")),
        SelectChoice("link", _l("Mail the user a link to choose their own password")),
    ], default="password")
    password = PasswordField(_l("Initial password"))

    def validate_password(self, field: PasswordField) -> None:
        """Needed, and long enough, only when the admin sets the password."""
        if self.password_mode.data != "password":
            return
        if not field.data:
            raise ValidationError(_l("Please enter an initial password."))
        if not MIN_PASSWORD_LENGTH <= len(field.data) <= MAX_PASSWORD_LENGTH:
            raise ValidationError(_l("Must be at least %(min)d and at most %(max)d characters.",
                                     min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH))


class EditUserForm(FlaskForm):
    """A console user's details, role, status, teams, skills and work settings."""

    name = _name_field()
    role = SelectField(_l("Role"), choices=CONSOLE_ROLE_CHOICES)
    is_active = BooleanField(_l("Active (may sign in)"))
    locale = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
    teams = SelectMultipleField(_l("Teams"), coerce=int, choices=[])
    skills = SelectMultipleField(_l("Skills"), coerce=int, choices=[])
    max_open_tickets = IntegerField(_l("Maximum open tickets"), validators=[
        InputRequired(_l("Please enter a number.")), NumberRange(min=0, max=MAX_CAPACITY)])
    availability = SelectField(_l("Availability"), choices=AVAILABILITY_CHOICES)


class PartnerForm(FlaskForm):
    """What may change about an integration (partner) account here."""

    name = _name_field()
    is_active = BooleanField(_l("Active (its API tokens work)"))


class TeamForm(FlaskForm):
    """A team: names, lead, members and the default flag."""

    name = StringField(_l("Name"), validators=[DataRequired(_l("Please enter a name.")),
                                               Length(max=80)])
    name_zh = StringField(_l("Chinese name"), validators=[Optional(), Length(max=80)])
    lead = SelectField(_l("Lead"), coerce=optional_id, choices=[], validate_choice=True)
    members = SelectMultipleField(_l("Members"), coerce=int, choices=[])
    is_default = BooleanField(_l("Default team (gets tickets no routing rule matches)"))
    # As a department: how long its cross-department tasks get, on which calendar.
    task_turnaround_hours = DecimalField(_l("Task turnaround (business hours)"), places=None,
                                         validators=[Optional(), NumberRange(
                                             min=MIN_TURNAROUND_HOURS, max=MAX_TURNAROUND_HOURS,
                                             message=_l("Between %(min)s and %(max)s hours."))],
                                         render_kw={"inputmode": "decimal"})
    calendar = SelectField(_l("Business calendar for tasks"), coerce=optional_id, choices=[],
                           validate_choice=True)

    def task_target_minutes(self) -> int | None:
        """The turnaround in minutes, or None for the service default."""
        hours = self.task_turnaround_hours.data
        return None if hours is None else int((hours * 60).to_integral_value())


class SkillNameForm(FlaskForm):
    """Add a skill, or rename one (skill_id set)."""

    name = StringField(_l("Skill name"), validators=[DataRequired(_l("Please enter a name.")),
                                                     Length(max=60)])


class AgentSettingsForm(FlaskForm):
    """One agent's availability and capacity."""

    availability = SelectField(_l("Availability"), choices=AVAILABILITY_CHOICES)
    max_open_tickets = IntegerField(_l("Maximum open tickets"), validators=[
        InputRequired(_l("Please enter a number.")), NumberRange(min=0, max=MAX_CAPACITY)])
