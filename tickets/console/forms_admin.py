"""Forms of the SLA, calendar and routing admin pages (ranges are checked by the services)."""
from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, IntegerField, RadioField, SelectChoice,
                     SelectField, SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from tickets import sla_admin
from service.labels import CHANNEL_LABELS, TIER_LABELS

WEEKDAY_LABELS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"),
                  _l("Saturday"), _l("Sunday"))
_MINUTES = NumberRange(0, 59, message=_l("Minutes run from 0 to 59."))
_WHOLE = _l("Enter a whole number.")


def choices(labels: Mapping[str, object]) -> list[SelectChoice]:
    """Select choices from a value → label map, in its order."""
    return [SelectChoice(value, label) for value, label in labels.items()]


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as checkboxes; unknown values are left to the service."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("validate_choice", False)
        super().__init__(*args, **kwargs)


class PolicyForm(FlaskForm):
    """An SLA policy's targets as hours and minutes, its warning point and calendar."""

    first_response_hours = IntegerField(_l("Hours"), validators=[InputRequired(_WHOLE)])
    first_response_minutes = IntegerField(_l("Minutes"), default=0,
                                          validators=[InputRequired(_WHOLE), _MINUTES])
    resolution_hours = IntegerField(_l("Hours"), validators=[InputRequired(_WHOLE)])
    resolution_minutes = IntegerField(_l("Minutes"), default=0,
                                      validators=[InputRequired(_WHOLE), _MINUTES])
    warning_percent = IntegerField(_l("Warning point (percent of the target)"),
                                   validators=[InputRequired(_WHOLE)])
    calendar_id = SelectField(_l("Business calendar"), coerce=int)


def _day_hours(form: FlaskForm, field) -> None:
    try:
        field.parsed = sla_admin.parse_day_hours(field.data or "")
    except ValueError as error:
        raise ValidationError(str(error)) from None


class CalendarForm(FlaskForm):
    """A calendar's name, time zone and one line of intervals per weekday."""

    name = StringField(_l("Name"), validators=[InputRequired(_l("Give the calendar a name.")),
                                               Length(max=80)])
    timezone = StringField(_l("Time zone"), validators=[
        InputRequired(_l("Choose a time zone.")), Length(max=64)])
    hours_0 = StringField(WEEKDAY_LABELS[0], validators=[Length(max=200), _day_hours])
    hours_1 = StringField(WEEKDAY_LABELS[1], validators=[Length(max=200), _day_hours])
    hours_2 = StringField(WEEKDAY_LABELS[2], validators=[Length(max=200), _day_hours])
    hours_3 = StringField(WEEKDAY_LABELS[3], validators=[Length(max=200), _day_hours])
    hours_4 = StringField(WEEKDAY_LABELS[4], validators=[Length(max=200), _day_hours])
    hours_5 = StringField(WEEKDAY_LABELS[5], validators=[Length(max=200), _day_hours])
    hours_6 = StringField(WEEKDAY_LABELS[6], validators=[Length(max=200), _day_hours])

    def day_fields(self) -> list:
        """The weekday fields, Monday first."""
        return [self[f"hours_{day}"] for day in sla_admin.WEEKDAYS]

    def weekly_hours(self) -> dict[int, sla_admin.Spans]:
        """The parsed intervals per weekday (after validate())."""
        return {day: field.parsed for day, field in enumerate(self.day_fields())}


class DayForm(FlaskForm):
    """A holiday or an extra working day of one calendar."""

    kind = RadioField(_l("Kind"), default="holiday",
                      choices=[SelectChoice("holiday", _l("Holiday (no working time)")),
                               SelectChoice("working", _l("Extra working day"))])
    day = DateField(_l("Date"), validators=[InputRequired(_l("Enter a date."))])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=120)])
    hours = StringField(_l("Working hours (extra working day)"), validators=[Length(max=200)])

    def validate_hours(self, field) -> None:
        """Hours matter only for an extra working day."""
        field.parsed = None
        if self.kind.data == "working":
            _day_hours(self, field)


class ImportHolidaysForm(FlaskForm):
    """Which country's public holidays to import, for which years."""

    country = SelectField(_l("Country"), validate_choice=False)
    years = StringField(_l("Years"), validators=[Length(max=100)])
    subdivision = StringField(_l("Subdivision (optional)"),
                              validators=[Optional(), Length(max=20)])


class RuleForm(FlaskForm):
    """A routing rule: its conditions, the team it routes to and the skills it requires."""

    name = StringField(_l("Name"), validators=[InputRequired(_l("Give the rule a name.")),
                                               Length(max=120)])
    is_active = BooleanField(_l("Active"), default=True)
    channel = MultiCheckboxField(_l("Channel"), choices=choices(CHANNEL_LABELS))
    category = StringField(_l("Category"), validators=[Length(max=2000)])
    product = StringField(_l("Product"), validators=[Length(max=2000)])
    language = StringField(_l("Language"), validators=[Length(max=500)])
    tier = MultiCheckboxField(_l("Customer tier"), choices=choices(TIER_LABELS))
    keywords = TextAreaField(_l("Keywords"), validators=[Length(max=10000)])
    team_id = SelectField(_l("Team"), coerce=int, validate_choice=False,
                          validators=[InputRequired(_l("Choose a team."))])
    required_skills = MultiCheckboxField(_l("Required skills"))


class DryRunForm(FlaskForm):
    """A hypothetical ticket for the routing dry run."""

    subject = StringField(_l("Subject"), validators=[Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Length(max=20000)])
    channel = SelectField(_l("Channel"), choices=choices(CHANNEL_LABELS), default="web")
    category = StringField(_l("Category"), validators=[Length(max=80)])
    product = StringField(_l("Product"), validators=[Length(max=80)])
    language = StringField(_l("Language"), validators=[Length(max=10)])
    customer_email = StringField(_l("Customer email"), validators=[Length(max=254)])
    tier = SelectField(_l("Customer tier"),
                       choices=[SelectChoice("", _l("From the customer's account")),
                                *choices(TIER_LABELS)], default="")


def apply_errors(form: FlaskForm, errors: Mapping[str, list] | None,
                 aliases: Mapping[str, str] | None = None) -> list[str]:
    """Show a service's field errors on the form's fields; returns those with no field."""
    unplaced: list[str] = []
    for name, messages in (errors or {}).items():
        field = form._fields.get((aliases or {}).get(name, name))
        texts = [str(message) for message in messages]
        if field is None:
            unplaced.extend(texts)
        else:
            field.errors = [*field.errors, *texts]
    return unplaced
