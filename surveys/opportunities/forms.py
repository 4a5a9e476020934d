"""Forms of the sales inbox and the opportunity page (Flask-WTF: CSRF on every post)."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from service.validation import MAX_ID
from service.console.form_values import as_id, clean
from surveys.models import OpportunityKind, OpportunityStatus
from surveys.opportunities.labels import KIND_LABELS, STATUS_LABELS

POOL = "pool"
ANY_KIND = ""


def _amount(form: FlaskForm, field: StringField) -> None:
    text = (field.data or "").strip()
    if not text:
        field.data = None
        return
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_ID:
        raise ValidationError(_l("Give a whole amount from 0 to %(max)d.", max=MAX_ID))
    field.data = int(text)


def _products(form: FlaskForm, field: TextAreaField) -> None:
    names = [line.strip() for line in (field.data or "").replace(",", "\n").splitlines()]
    names = list(dict.fromkeys(name for name in names if name))
    if any(len(name) > 80 for name in names):
        raise ValidationError(_l("Each product is a name of 1 to 80 characters."))
    if len(names) > 20:
        raise ValidationError(_l("At most 20 products."))
    field.data = names


def kind_choices(*, any_label: Any = None) -> list[SelectChoice]:
    """The kinds as select options (with an "any" option first when labelled)."""
    options = [SelectChoice(kind.value, label) for kind, label in KIND_LABELS.items()]
    return ([SelectChoice(ANY_KIND, any_label)] if any_label else []) + options


class InboxForm(FlaskForm):
    """The inbox's filters (GET: no CSRF)."""

    class Meta:
        csrf = False

    tab = SelectField(_l("Tab"), choices=[SelectChoice(name, name)
                                          for name in ("mine", "pool", "due", "all")],
                      default="mine", validators=[Optional()])
    kind = SelectField(_l("Kind"), validators=[Optional()])
    cursor = StringField(validators=[Optional(), Length(max=200)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = kind_choices(any_label=_l("All kinds"))


class StatusForm(FlaskForm):
    status = SelectField(_l("New status"), validators=[DataRequired()])
    lost_reason = StringField(_l("Why was it lost?"), filters=[clean],
                              validators=[Optional(), Length(max=300)])
    won_value = StringField(_l("Won value"), filters=[clean], validators=[_amount])

    def set_choices(self, targets: frozenset[OpportunityStatus]) -> None:
        """Offer only the moves the status flow allows from here."""
        self.status.choices = [SelectChoice(status.value, label)
                               for status, label in STATUS_LABELS.items() if status in targets]

    def changes(self) -> dict[str, Any]:
        """The service's change for this form."""
        changes: dict[str, Any] = {"status": self.status.data}
        if self.status.data == OpportunityStatus.LOST.value:
            changes["lost_reason"] = self.lost_reason.data or None
        elif self.lost_reason.data:
            changes["lost_reason"] = self.lost_reason.data  # the service explains the error
        if self.won_value.data is not None:
            changes["won_value"] = self.won_value.data
        return changes


class TakeForm(FlaskForm):
    """Take an opportunity from the pool (CSRF only)."""


class ReassignForm(FlaskForm):
    owner_id = SelectField(_l("Owner"), validators=[DataRequired()])

    def set_choices(self, people: list[tuple[int, str]]) -> None:
        """The shared pool and everyone who may work opportunities."""
        self.owner_id.choices = [SelectChoice(POOL, _l("The shared pool")),
                                 *(SelectChoice(str(id_), name) for id_, name in people)]

    def owner(self) -> int | None:
        """The chosen owner id (None: the pool)."""
        return None if self.owner_id.data == POOL else as_id(self.owner_id.data)


class ValueForm(FlaskForm):
    estimated_value = StringField(_l("Estimated value"), filters=[clean], validators=[_amount])
    suggested_products = TextAreaField(_l("Suggested products (one per line)"),
                                       validators=[_products])


class NewOpportunityForm(FlaskForm):
    kind = SelectField(_l("Kind"), validators=[DataRequired()])
    reason = TextAreaField(_l("Why should sales call?"), filters=[clean], validators=[
        DataRequired(_l("Say why sales should call.")),
        Length(max=2000, message=_l("At most %(max)d characters."))])
    account_id = HiddenField()
    contact_id = HiddenField()
    ticket_id = HiddenField()
    suggested_products = TextAreaField(_l("Suggested products (one per line)"),
                                       validators=[_products])
    estimated_value = StringField(_l("Estimated value"), filters=[clean], validators=[_amount])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = kind_choices()
        if self.kind.data is None:
            self.kind.data = OpportunityKind.UPSELL.value

    def values(self) -> dict[str, Any]:
        """The service's arguments; ids that are not ids stay as given (the service says no)."""
        def ref(field: HiddenField) -> Any:
            text = (field.data or "").strip()
            return None if not text else (as_id(text) or text)

        return {"kind": self.kind.data, "reason": self.reason.data,
                "account_id": ref(self.account_id), "contact_id": ref(self.contact_id),
                "ticket_id": ref(self.ticket_id),
                "suggested_products": self.suggested_products.data or [],
                "estimated_value": self.estimated_value.data}
