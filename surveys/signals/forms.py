"""Forms of the opportunity rules pages (values are checked by surveys.signals.rules)."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from service.validation import strip_controls
from surveys.opportunities.labels import KIND_LABELS
from surveys.signals.rules import (KEY_MAX, NAME_MAX, PRODUCT_MAX, RULE_KINDS, TEXT_MAX,
                                   split_phrases)

LANGUAGE_LABELS = {"en": _l("English"), "zh": _l("Chinese"), "any": _l("Any language")}


def _clean(value: Any) -> Any:
    return strip_controls(value).strip() if isinstance(value, str) else value


class RuleForm(FlaskForm):
    """A rule's key (new rules only), name, kind, language, phrases one per line, product."""

    key = StringField(_l("Key"), filters=[_clean], validators=[Length(max=KEY_MAX)])
    name = StringField(_l("Name"), filters=[_clean], validators=[
        InputRequired(_l("Give the rule a name.")), Length(max=NAME_MAX)])
    kind = SelectField(_l("Kind of opportunity"), choices=[
        SelectChoice(kind.value, KIND_LABELS[kind]) for kind in RULE_KINDS])
    language = SelectField(_l("Language"), choices=[
        SelectChoice(value, label) for value, label in LANGUAGE_LABELS.items()])
    phrases = TextAreaField(_l("Phrases"), validators=[
        InputRequired(_l("Write at least one phrase.")), Length(max=10000)])
    product = StringField(_l("Suggested product"), filters=[_clean],
                          validators=[Length(max=PRODUCT_MAX)])
    enabled = BooleanField(_l("Enabled"), default=True)

    def values(self, *, with_key: bool) -> dict[str, Any]:
        """What the rules service takes."""
        data = {"name": self.name.data or "", "kind": self.kind.data,
                "language": self.language.data, "phrases": split_phrases(self.phrases.data),
                "product": self.product.data or None, "enabled": bool(self.enabled.data)}
        if with_key:
            data["key"] = self.key.data or ""
        return data


class TryForm(FlaskForm):
    """A sample text to run the enabled rules over."""

    text = TextAreaField(_l("Text to try"), filters=[_clean], validators=[
        InputRequired(_l("Write a text to try.")), Length(max=TEXT_MAX)])
