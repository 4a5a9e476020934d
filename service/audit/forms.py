"""The audit page's search form (GET: it changes nothing, so it carries no CSRF token)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SearchField, SelectField, StringField
from wtforms.validators import Length, Optional, Regexp, ValidationError

from service.audit.schemas import ACTION_PATTERN, OBJECT_TYPE_PATTERN


def _clean(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class AuditFilterForm(FlaskForm):
    """Who, what, which object, which days and free text; `cursor` is the page."""

    class Meta:
        csrf = False  # a GET form: it changes nothing

    actor = SelectField(_l("Who"), default="", choices=[], validate_choice=True,
                        invalid_choice_message=_l("Choose someone from the list."))
    action = StringField(_l("Action"), filters=[_clean], validators=[
        Optional(), Length(max=80),
        Regexp(ACTION_PATTERN, message=_l("An action like ticket.update, or a prefix like "
                                          "ticket."))])
    object_type = StringField(_l("Object type"), filters=[_clean], validators=[
        Optional(), Length(max=40),
        Regexp(OBJECT_TYPE_PATTERN, message=_l("Lower-case letters, digits and _ only."))])
    object_id = StringField(_l("Object id"), filters=[_clean],
                            validators=[Optional(), Length(max=40)])
    since = DateField(_l("From (day)"), validators=[Optional()])
    until = DateField(_l("To (day, included)"), validators=[Optional()])
    q = SearchField(_l("Search"), filters=[_clean], validators=[Optional(), Length(max=200)])
    cursor = HiddenField(filters=[_clean], validators=[Optional(), Length(max=200)])

    def validate_until(self, field) -> None:
        """The period's last day cannot come before its first."""
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_l("The last day cannot be before the first day."))
