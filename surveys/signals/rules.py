"""The admins' opportunity phrase rules: list, create, edit, enable, delete, and try a text.

Built-in rules (surveys.signals.builtin) are seeded on first read; they may be edited or
disabled but never deleted, so a release that re-seeds never brings back one an admin
turned off. A rule's key is fixed once made: evidence records it as the rule that fired.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service.db_types import utcnow
from service.errors import Conflict, InvalidInput, NotFound
from service.extensions import db
from service.validation import is_id, strip_controls
from surveys.models import OpportunityKind, SignalRule
from surveys.signals import detect
from surveys.signals.builtin import BUILTIN_RULES

RULE_KINDS = (OpportunityKind.UPSELL, OpportunityKind.CROSS_SELL, OpportunityKind.CHURN_RISK,
              OpportunityKind.REFERRAL)
LANGUAGES = ("en", "zh", "any")
KEY_PATTERN = re.compile(r"^[a-z0-9]+(?:[_-][a-z0-9]+)*$")
KEY_MAX, NAME_MAX, PRODUCT_MAX = 80, 120, 80
PHRASES_MAX, PHRASE_MIN, PHRASE_MAX = 50, 2, 80
TEXT_MAX = 20000  # the longest sample text the "try" box takes
_PHRASE_LINES = re.compile(r"[\r\n]+")
_FIELDS = ("key", "name", "kind", "language", "phrases", "product", "enabled")


def _rows() -> list[SignalRule]:
    return list(db.session.scalars(select(SignalRule).order_by(SignalRule.kind,
                                                               SignalRule.key)))


def ensure_builtin_rules(rows: list[SignalRule] | None = None) -> list[SignalRule]:
    """Every rule, after inserting the built-in ones not stored yet (first read, new release)."""
    rows = _rows() if rows is None else rows
    keys = {row.key for row in rows}
    missing = [rule for rule in BUILTIN_RULES if rule.key not in keys]
    if not missing:
        return rows
    now = utcnow()
    for rule in missing:
        try:
            with db.session.begin_nested():
                db.session.add(SignalRule(key=rule.key, name=rule.name, kind=rule.kind,
                                          language=rule.language, phrases=list(rule.phrases),
                                          product=rule.product, enabled=True, built_in=True,
                                          created_at=now, updated_at=now))
        except IntegrityError:  # another process seeded it first
            pass
    return _rows()


def list_rules() -> list[SignalRule]:
    """Every rule, by kind and key (built-in ones seeded first)."""
    return ensure_builtin_rules()


def enabled_phrase_rules() -> list[detect.PhraseRule]:
    """The enabled rules, as the phrase detector reads them."""
    return [detect.PhraseRule(key=row.key, name=row.name, kind=OpportunityKind(row.kind),
                              phrases=tuple(row.phrases or ()), product=row.product)
            for row in ensure_builtin_rules() if row.enabled]


def get_rule(rule_id: int) -> SignalRule:
    """The rule with this id, or NotFound."""
    rule = db.session.get(SignalRule, rule_id) if is_id(rule_id) else None
    if rule is None:
        raise NotFound("No such opportunity rule.")
    return rule


def split_phrases(text: str | None) -> list[str]:
    """Phrases written one per line (the console's text box), trimmed, blanks dropped."""
    return [line.strip() for line in _PHRASE_LINES.split(strip_controls(text or ""))
            if line.strip()]


def _clean_text(value: Any) -> Any:
    return strip_controls(value).strip() if isinstance(value, str) else value


def _clean_phrases(value: Any, errors: dict[str, list]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        errors["phrases"] = [_l("Give the phrases as a list of texts.")]
        return []
    phrases: list[str] = []
    for phrase in (re.sub(r"\s+", " ", strip_controls(item)).strip() for item in value):
        if phrase and phrase.casefold() not in {seen.casefold() for seen in phrases}:
            phrases.append(phrase)
    if not 1 <= len(phrases) <= PHRASES_MAX:
        errors["phrases"] = [_l("Give between 1 and %(max)d phrases.", max=PHRASES_MAX)]
    elif bad := [phrase for phrase in phrases
                 if not PHRASE_MIN <= len(phrase) <= PHRASE_MAX]:
        errors["phrases"] = [_l("Each phrase has %(min)d to %(max)d characters: %(bad)s",
                                min=PHRASE_MIN, max=PHRASE_MAX, bad=", ".join(bad[:5]))]
    return phrases


def _validated(data: Mapping[str, Any], rule: SignalRule | None) -> dict[str, Any]:
    """The cleaned values of the given fields (merged over the rule's), or InvalidInput."""
    errors: dict[str, list] = {}
    clean = {name: _clean_text(data[name]) for name in _FIELDS if name in data}
    if rule is None:
        key = clean.get("key")
        if not isinstance(key, str) or not key or len(key) > KEY_MAX \
                or not KEY_PATTERN.match(key):
            errors["key"] = [_l("Use lower-case letters, digits, '-' and '_' (at most "
                                "%(max)d characters), e.g. more_seats_en.", max=KEY_MAX)]
    elif "key" in clean and clean["key"] != rule.key:
        errors["key"] = [_l("A rule's key cannot be changed.")]
    if rule is None or "name" in clean:
        name = clean.get("name")
        if not isinstance(name, str) or not name or len(name) > NAME_MAX:
            errors["name"] = [_l("Give the rule a name of at most %(max)d characters.",
                                 max=NAME_MAX)]
    if rule is None or "kind" in clean:
        if clean.get("kind") not in {kind.value for kind in RULE_KINDS}:
            errors["kind"] = [_l("Choose upsell, cross-sell, churn risk or referral.")]
        else:
            clean["kind"] = OpportunityKind(clean["kind"])
    if (rule is None or "language" in clean) and clean.get("language") not in LANGUAGES:
        errors["language"] = [_l("Choose English, Chinese or any language.")]
    if rule is None or "phrases" in clean:
        clean["phrases"] = _clean_phrases(clean.get("phrases"), errors)
    if "product" in clean:
        product = clean["product"]
        if not (product is None or isinstance(product, str) and len(product) <= PRODUCT_MAX):
            errors["product"] = [_l("A product name has at most %(max)d characters.",
                                    max=PRODUCT_MAX)]
        else:
            clean["product"] = product or None
    if "enabled" in clean and not isinstance(clean["enabled"], bool):
        errors["enabled"] = [_l("Say true or false.")]
    kind = clean.get("kind", rule.kind if rule else None)
    product = clean.get("product", rule.product if rule else None)
    if kind == OpportunityKind.CROSS_SELL and not product and "product" not in errors:
        errors["product"] = [_l("A cross-sell rule names the product it suggests.")]
    if errors:
        raise InvalidInput("The rule has invalid fields.", errors=errors)
    return clean


def create_rule(data: Mapping[str, Any]) -> SignalRule:
    """Add an admin's rule (enabled unless said otherwise); 409 when the key is taken."""
    ensure_builtin_rules()
    clean = _validated(data, None)
    if db.session.scalar(select(SignalRule.id).where(SignalRule.key == clean["key"])):
        raise Conflict("Another rule has this key.",
                       errors={"key": [_l("Another rule has this key.")]})
    now = utcnow()
    rule = SignalRule(key=clean["key"], name=clean["name"], kind=clean["kind"],
                      language=clean["language"], phrases=clean["phrases"],
                      product=clean.get("product"), enabled=clean.get("enabled", True),
                      built_in=False, created_at=now, updated_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(rule)
    except IntegrityError:  # the same key saved at the same moment
        raise Conflict("Another rule has this key.",
                       errors={"key": [_l("Another rule has this key.")]}) from None
    return rule


def update_rule(rule: SignalRule, changes: Mapping[str, Any]) -> SignalRule:
    """Change a rule's name, kind, language, phrases, product or enabled flag."""
    clean = _validated(changes, rule)
    for name in ("name", "kind", "language", "phrases", "product", "enabled"):
        if name in clean:
            setattr(rule, name, clean[name])
    rule.updated_at = utcnow()
    db.session.flush()
    return rule


def set_enabled(rule: SignalRule, enabled: bool) -> SignalRule:
    """Turn a rule on or off (built-in ones too)."""
    return update_rule(rule, {"enabled": bool(enabled)})


def delete_rule(rule: SignalRule) -> None:
    """Delete an admin's rule; a built-in one can only be disabled (409)."""
    if rule.built_in:
        raise Conflict("A built-in rule cannot be deleted; disable it instead.")
    db.session.delete(rule)
    db.session.flush()


def test_text(text: str) -> list[detect.Match]:
    """Which rules fire on a sample text, and which a negation cancelled (nothing saved)."""
    text = strip_controls(text or "")
    if not text.strip() or len(text) > TEXT_MAX:
        raise InvalidInput("Give a text to try.", errors={
            "text": [_l("Give a text of 1 to %(max)d characters.", max=TEXT_MAX)]})
    return detect.explain(text)


def describe_matches(matches: list[detect.Match]) -> list[dict[str, Any]]:
    """Matches as the API and the console show them, each linked to its rule's id."""
    keys = list({match.rule_key for match in matches})
    ids = dict(db.session.execute(select(SignalRule.key, SignalRule.id)
                                  .where(SignalRule.key.in_(keys))).all()) if keys else {}
    return [{"rule": {"id": ids.get(match.rule_key), "key": match.rule_key,
                      "name": match.rule_name},
             "kind": str(match.kind), "product": match.product, "phrase": match.phrase,
             "excerpt": match.excerpt, "start": match.start, "end": match.end,
             "fires": match.cancelled_by is None, "cancelled_by": match.cancelled_by}
            for match in matches]
