"""Console forms of closed-loop resolution: resolving a ticket, a phone confirmation."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (HiddenField, RadioField, SelectChoice, SelectField, SelectMultipleField,
                     StringField, TextAreaField, ValidationError)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from service.validation import strip_controls
from tickets.resolution.labels import VERIFICATION_METHODS
from tickets.resolution.services import CALL_REFERENCE_MAX, OVERRIDE_MAX, TEXT_MAX

MAX_EVIDENCE_FILES = 5


def _clean(value: Any) -> Any:
    return strip_controls(value).strip() if isinstance(value, str) else value


_AT_MOST = _l("At most %(max)d characters.")


class ResolveForm(FlaskForm):
    """The fix, its root cause, how it was verified, evidence and (leads) an override."""

    summary = TextAreaField(_l("Resolution summary"), filters=[_clean], validators=[
        DataRequired(_l("Say what fixed the problem.")), Length(max=TEXT_MAX, message=_AT_MOST)])
    root_cause = TextAreaField(_l("Root cause"), filters=[_clean], validators=[
        DataRequired(_l("Say what caused the problem.")),
        Length(max=TEXT_MAX, message=_AT_MOST)])
    method = SelectField(_l("Verification method"), choices=[
        SelectChoice(value, label) for value, label in VERIFICATION_METHODS.items()])
    result = TextAreaField(_l("Verification result"), filters=[_clean], validators=[
        DataRequired(_l("Say what the verification showed.")),
        Length(max=TEXT_MAX, message=_AT_MOST)])
    evidence_note = TextAreaField(_l("Evidence note"), filters=[_clean], validators=[
        Optional(), Length(max=TEXT_MAX, message=_AT_MOST)])
    evidence_files = MultipleFileField(_l("Evidence files"))
    attachment_ids = SelectMultipleField(_l("Files already on the ticket"), coerce=int,
                                         choices=[])
    override_reason = TextAreaField(_l("Reason for resolving with open tasks"),
                                    filters=[_clean], validators=[
                                        Optional(), Length(max=OVERRIDE_MAX, message=_AT_MOST)])

    def __init__(self, attachments: list[tuple[int, str]], *, may_override: bool, **kwargs):
        super().__init__(**kwargs)
        self.attachment_ids.choices = attachments
        self.may_override = may_override

    def validate_evidence_files(self, field: MultipleFileField) -> None:
        files = [item for item in field.data or [] if getattr(item, "filename", "")]
        if len(files) > MAX_EVIDENCE_FILES:
            raise ValidationError(_l("Attach at most %(count)s files.", count=MAX_EVIDENCE_FILES))


class PhoneConfirmationForm(FlaskForm):
    """What the customer said on the phone about the fix, with the call's reference."""

    resolution_id = HiddenField()
    outcome = RadioField(_l("The customer says"), choices=[
        SelectChoice("confirmed", _l("It is fixed")),
        SelectChoice("rejected", _l("It is still a problem"))],
        validators=[InputRequired(_l("Choose what the customer said."))])
    call_reference = StringField(_l("Call reference"), filters=[_clean], validators=[
        DataRequired(_l("Give the call's reference (e.g. the call id or time).")),
        Length(max=CALL_REFERENCE_MAX, message=_AT_MOST)])
    comment = TextAreaField(_l("Comment"), filters=[_clean], validators=[
        Optional(), Length(max=TEXT_MAX, message=_AT_MOST)])
