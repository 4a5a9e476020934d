"""Forms of the recovery pages: the outcome form that closes a follow-up."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from service.validation import strip_controls
from surveys.models import RecoveryOutcome
from surveys.recovery.labels import OUTCOME_LABELS
from surveys.recovery.services import NOTE_MAX


def _clean(value: object) -> object:
    return strip_controls(value).strip() if isinstance(value, str) else value


class CloseForm(FlaskForm):
    outcome = SelectField(
        _l("Outcome"), choices=[SelectChoice("", _l("Choose…"))] + [
            SelectChoice(outcome.value, OUTCOME_LABELS[outcome.value])
            for outcome in RecoveryOutcome],
        validators=[DataRequired(message=_l("Choose the outcome of the follow-up."))])
    note = TextAreaField(
        _l("What was done and what the customer said"), filters=[_clean],
        validators=[DataRequired(message=_l("Write what was done and what the customer "
                                            "said.")),
                    Length(max=NOTE_MAX, message=_l("Keep the note under %(max)d characters.",
                                                    max=NOTE_MAX))])
