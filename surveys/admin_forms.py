"""Forms of the survey admin pages: the settings, and a new campaign's segment."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, Field, IntegerField, SelectChoice, SelectField,
                     StringField)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from service.labels import TIER_LABELS
from surveys.settings_admin import BOOL_FIELDS, INT_BOUNDS

# What each setting means, in the admins' words.
SETTING_LABELS: dict[str, Any] = {
    "csat_enabled": _l("Send a CSAT survey after every closed ticket"),
    "csat_delay_minutes": _l("Minutes after closing before the CSAT survey is sent"),
    "nps_enabled": _l("Send the NPS relationship survey"),
    "nps_interval_days": _l("Days between a contact's NPS surveys"),
    "nps_activity_days": _l("Ask only contacts with a ticket within this many days"),
    "campaign_batch_size": _l("Contacts invited per campaign batch"),
    "fatigue_days": _l("Days in which a contact gets at most one survey"),
    "token_days": _l("Days a survey link stays valid"),
    "edit_hours": _l("Hours an answer can still be changed"),
    "recovery_csat_max": _l("Open a recovery follow-up at CSAT up to"),
    "recovery_nps_max": _l("Open a recovery follow-up at NPS up to"),
    "recovery_hours": _l("Hours to finish a recovery follow-up"),
    "resurvey_delay_days": _l("Days after a follow-up before the customer is asked again"),
    "opportunity_contact_hours": _l("Hours for sales to first contact an opportunity"),
    "repeat_ticket_threshold": _l("Tickets that count as repeated problems"),
    "repeat_window_days": _l("…within this many days"),
    "health_priority_enabled": _l("Raise the priority of unhealthy VIP accounts' tickets"),
    "health_priority_threshold": _l("Health score below which a VIP account is unhealthy"),
    "revisit_default_days": _l("Days between VIP revisits (default)"),
}


def _setting_field(name: str) -> Field:
    if name in BOOL_FIELDS:
        return BooleanField(SETTING_LABELS[name])
    low, high = INT_BOUNDS[name]
    message = _l("Give a whole number from %(low)s to %(high)s.", low=low, high=high)
    return IntegerField(SETTING_LABELS[name], validators=[
        InputRequired(message), NumberRange(min=low, max=high, message=message)])


class SettingsForm(FlaskForm):
    """Every survey setting (fields named as SurveySettings' columns)."""

    def setting_values(self) -> dict[str, Any]:
        """The submitted settings by name."""
        return {name: self[name].data for name in SETTING_LABELS}


for _name in SETTING_LABELS:
    setattr(SettingsForm, _name, _setting_field(_name))


class CampaignForm(FlaskForm):
    """A new campaign: its name and the segment (every filter optional)."""

    name = StringField(_l("Name"), validators=[
        InputRequired(_l("Give the campaign a name.")), Length(max=120)])
    tier = SelectField(_l("Customer tier"), default="", choices=[
        SelectChoice("", _l("Any tier")),
        *(SelectChoice(value, label) for value, label in TIER_LABELS.items())])
    product = SelectField(_l("Product the account owns"), default="", validate_choice=False)
    owner_id = SelectField(_l("Account's sales owner"), default="", validate_choice=False)
    last_contact_days = IntegerField(
        _l("Last contact: a ticket within this many days"),
        validators=[Optional(), NumberRange(min=1, max=3650,
                                            message=_l("Give a number of days from 1 to 3650."))])

    def set_choices(self, products: list[str], owners: list[tuple[int, str]]) -> None:
        """Offer the products accounts own and the staff who own accounts."""
        self.product.choices = [SelectChoice("", _l("Any product")),
                                *(SelectChoice(name, name) for name in products)]
        self.owner_id.choices = [SelectChoice("", _l("Any owner")),
                                 *(SelectChoice(str(key), name) for key, name in owners)]

    def segment(self) -> dict[str, Any]:
        """The segment as the campaigns service takes it (unknown values refused there)."""
        owner = self.owner_id.data or ""
        return {"tier": self.tier.data or None, "product": self.product.data or None,
                "owner_id": int(owner) if owner.isdigit() and len(owner) < 11
                else (-1 if owner else None),
                "last_contact_days": self.last_contact_days.data}


class ActionForm(FlaskForm):
    """A button that changes something (start, cancel): only its CSRF token."""


def apply_errors(form: FlaskForm, errors: Mapping[str, Any] | None) -> list[str]:
    """Show a service's field errors on the form (segment errors on their own fields);
    returns the messages that belong to no field."""
    unplaced: list[str] = []
    flat: dict[str, Any] = {}
    for name, messages in (errors or {}).items():
        if isinstance(messages, Mapping):
            flat.update(messages)
        else:
            flat[name] = messages
    for name, messages in flat.items():
        texts = [str(message) for message in messages]
        field = form._fields.get(name)
        if field is None:
            unplaced.extend(texts)
        else:
            field.errors = [*field.errors, *texts]
    return unplaced
