"""Forms of the revisit pages: list filter, the call's outcome, a ticket, an opportunity,
the plan. Shapes are checked here; the rules again in the services."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, HiddenField, IntegerField, SelectChoice, SelectField,
                     SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import (DataRequired, InputRequired, Length, NumberRange, Optional,
                                ValidationError)
from wtforms.widgets import CheckboxInput, ListWidget

from service.console.form_values import as_id, clean
from surveys.models import OpportunityKind
from surveys.revisits import checklist as checklists
from surveys.revisits.planning import MAX_DAYS, MIN_DAYS
from surveys.revisits.queries import MINE
from surveys.revisits.services import (DESCRIPTION_MAX, NOTES_MAX, REASON_MAX,
                                       SUBJECT_MAX)

VIEW_LABELS = {"mine": _l("Mine"), "week": _l("Due this week"), "overdue": _l("Overdue"),
               "done": _l("Done"), "all": _l("All planned")}
KIND_LABELS = {"upsell": _l("Upsell"), "cross_sell": _l("Cross-sell"),
               "referral": _l("Referral"), "renewal": _l("Renewal"),
               "churn_risk": _l("Churn risk")}
SATISFACTION_LABELS = {"1": _l("1 — very dissatisfied"), "2": _l("2 — dissatisfied"),
                       "3": _l("3 — neutral"), "4": _l("4 — satisfied"),
                       "5": _l("5 — very satisfied")}


def _length(max_length: int) -> Length:
    return Length(max=max_length, message=_l("At most %(max)d characters."))


class FilterForm(FlaskForm):
    """The list's GET arguments: which list, and the page cursor."""

    class Meta:
        csrf = False  # a GET form: it changes nothing

    view = SelectField(_l("Show"), default=MINE, choices=[],
                       invalid_choice_message=_l("Choose a list from the menu."))
    cursor = HiddenField(filters=[clean], validators=[Optional(), Length(max=200)])

    def set_choices(self, views: tuple[str, ...]) -> None:
        """The lists this user may open."""
        self.view.choices = [SelectChoice(view, VIEW_LABELS[view]) for view in views]


class ContactChoice(SelectField):
    """One of the account's contacts, or none."""

    def __init__(self, label: Any, **kwargs: Any) -> None:
        super().__init__(label, choices=[], validate_choice=True, default="",
                         invalid_choice_message=_l("Choose one of the account's contacts."),
                         **kwargs)

    def set_contacts(self, contacts: list[tuple[int, str]], empty: Any) -> None:
        """The account's contacts as options, after an empty one."""
        self.choices = [SelectChoice("", empty),
                        *(SelectChoice(str(id_), name) for id_, name in contacts)]


class DoneForm(FlaskForm):
    """The call's outcome: checklist, notes, satisfaction, who was spoken to."""

    checklist = SelectMultipleField(
        _l("Checklist"), choices=[], option_widget=CheckboxInput(), widget=ListWidget(),
        invalid_choice_message=_l("Tick only items of the checklist."))
    notes = TextAreaField(_l("Notes"), filters=[clean], validators=[_length(NOTES_MAX)])
    satisfaction = SelectField(
        _l("Satisfaction on the call"), default="",
        choices=[SelectChoice("", _l("Not asked")),
                 *(SelectChoice(value, text) for value, text in SATISFACTION_LABELS.items())],
        invalid_choice_message=_l("Choose a satisfaction from 1 to 5, or none."))
    contact_id = ContactChoice(_l("Spoke with"))

    def set_choices(self, items: list[str], contacts: list[tuple[int, str]]) -> None:
        """The revisit's checklist items and the account's contacts."""
        self.checklist.choices = [SelectChoice(key, checklists.label(key)) for key in items]
        self.contact_id.set_contacts(contacts, _l("Nobody named"))

    def values(self) -> dict[str, Any]:
        """The fields as services.complete takes them."""
        return {"checklist": list(self.checklist.data or []), "notes": self.notes.data,
                "satisfaction": int(self.satisfaction.data) if self.satisfaction.data else None,
                "contact_id": as_id(self.contact_id.data)}


class TicketForm(FlaskForm):
    """A ticket for what the call brought up."""

    subject = StringField(_l("Subject"), filters=[clean], validators=[
        DataRequired(_l("Describe the problem in a few words.")), _length(SUBJECT_MAX)])
    description = TextAreaField(_l("What the customer told you"), filters=[clean], validators=[
        DataRequired(_l("Write down what the customer told you.")),
        _length(DESCRIPTION_MAX)])
    contact_id = ContactChoice(_l("For"))
    acknowledge = BooleanField(_l("Mail the customer the ticket number"), default=True)

    def set_choices(self, contacts: list[tuple[int, str]]) -> None:
        """The account's contacts."""
        self.contact_id.set_contacts(contacts, _l("Choose a contact"))

    def validate_contact_id(self, field: SelectField) -> None:
        if not field.data:
            raise ValidationError(_l("Choose the contact the ticket is for."))


class OpportunityForm(FlaskForm):
    """An opportunity for sales from what the call revealed."""

    kind = SelectField(_l("Kind"), choices=[
        SelectChoice("", _l("Choose a kind")),
        *(SelectChoice(kind.value, KIND_LABELS[kind.value]) for kind in OpportunityKind)],
        validators=[DataRequired(_l("Choose a kind of opportunity."))],
        invalid_choice_message=_l("Choose a kind of opportunity from the list."))
    reason = TextAreaField(_l("What the customer said"), filters=[clean], validators=[
        DataRequired(_l("Say in a few words what the customer told you.")),
        _length(REASON_MAX)])


class PlanForm(FlaskForm):
    """How often the account is revisited, by whom, and whether at all."""

    interval_days = IntegerField(_l("Every (days)"), validators=[
        InputRequired(_l("Enter how many days apart the revisits are.")),
        NumberRange(min=MIN_DAYS, max=MAX_DAYS,
                    message=_l("Enter a whole number of days from %(min)s to %(max)s."))])
    owner_id = SelectField(_l("Who calls"), choices=[], validate_choice=True, default="",
                           invalid_choice_message=_l("Choose someone from the list."))
    active = BooleanField(_l("Revisit this account"))

    def set_choices(self, people: list[tuple[int, str]]) -> None:
        """The staff who may work revisits."""
        self.owner_id.choices = [
            SelectChoice("", _l("The account's support agent, else its sales owner")),
            *(SelectChoice(str(id_), name) for id_, name in people)]
