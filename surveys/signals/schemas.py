"""Marshmallow schemas of the opportunity rules API: in, patch, test and out shapes.

The schemas check shapes; the rules service checks the values (key format, phrase counts
and lengths, a cross-sell rule's product), so the console and the API agree.
"""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, post_load, validate

from service.schemas import StrictSchema
from surveys.signals.rules import (KEY_MAX, LANGUAGES, NAME_MAX, PHRASE_MAX, PHRASES_MAX,
                                   PRODUCT_MAX, RULE_KINDS, TEXT_MAX)

_KINDS = validate.OneOf([kind.value for kind in RULE_KINDS])
_LANGUAGES = validate.OneOf(LANGUAGES)
# A little room over the service's limits, so its clearer messages are the ones shown.
_PHRASES = validate.Length(min=1, max=PHRASES_MAX * 2)
_PHRASE = fields.String(validate=validate.Length(max=PHRASE_MAX * 2))


class SignalRuleIn(StrictSchema):
    key = fields.String(required=True, validate=validate.Length(min=1, max=KEY_MAX))
    name = fields.String(required=True, validate=validate.Length(min=1, max=NAME_MAX))
    kind = fields.String(required=True, validate=_KINDS)
    language = fields.String(load_default="any", validate=_LANGUAGES)
    phrases = fields.List(_PHRASE, required=True, validate=_PHRASES)
    product = fields.String(allow_none=True, load_default=None,
                            validate=validate.Length(max=PRODUCT_MAX))
    enabled = fields.Boolean(load_default=True, truthy={True}, falsy={False})


class SignalRulePatch(StrictSchema):
    name = fields.String(validate=validate.Length(min=1, max=NAME_MAX))
    kind = fields.String(validate=_KINDS)
    language = fields.String(validate=_LANGUAGES)
    phrases = fields.List(_PHRASE, validate=_PHRASES)
    product = fields.String(allow_none=True, validate=validate.Length(max=PRODUCT_MAX))
    enabled = fields.Boolean(truthy={True}, falsy={False})

    @post_load
    def _require_change(self, data, **_kwargs):
        if not data:
            raise ValidationError("Send at least one field to change.", "_schema")
        return data


class SignalRuleTestIn(StrictSchema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=TEXT_MAX))


class SignalRuleOut(Schema):
    id = fields.Integer()
    key = fields.String()
    name = fields.String()
    kind = fields.String()
    language = fields.String()
    phrases = fields.List(fields.String())
    product = fields.String(allow_none=True)
    enabled = fields.Boolean()
    built_in = fields.Boolean()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class SignalRuleListOut(Schema):
    items = fields.List(fields.Nested(SignalRuleOut))


class SignalMatchRuleOut(Schema):
    id = fields.Integer(allow_none=True)  # None: a plugged-in detector's own rule
    key = fields.String()
    name = fields.String()


class SignalMatchOut(Schema):
    rule = fields.Nested(SignalMatchRuleOut)
    kind = fields.String()
    product = fields.String(allow_none=True)
    phrase = fields.String(metadata={"description": "The words as written in the text."})
    excerpt = fields.String(metadata={"description": "The sentence around them."})
    start = fields.Integer()
    end = fields.Integer()
    fires = fields.Boolean(metadata={"description": "False when a negation cancelled it."})
    cancelled_by = fields.String(allow_none=True,
                                 metadata={"description": "The negation, as written."})


class SignalRuleTestOut(Schema):
    matches = fields.List(fields.Nested(SignalMatchOut))
