"""Marshmallow schemas of the surveys API: responses, invitations, settings, campaigns."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, post_load, validate

from service.schemas import QuerySchema, StrictSchema, page_of
from service.validation import MAX_ID
from surveys.campaigns import MAX_LAST_CONTACT_DAYS
from surveys.models import SurveyKind
from surveys.settings_admin import BOOL_FIELDS, INT_BOUNDS

_ID = validate.Range(min=1, max=MAX_ID)
_SCORE = validate.Range(min=0, max=10)


class SurveyResponseQuery(QuerySchema):
    kind = fields.Enum(SurveyKind, by_value=True)
    score_min = fields.Integer(validate=_SCORE)
    score_max = fields.Integer(validate=_SCORE)
    team = fields.Integer(validate=_ID)
    agent = fields.Integer(validate=_ID)
    account = fields.Integer(validate=_ID)
    product = fields.String(validate=validate.Length(min=1, max=80))
    since = fields.AwareDateTime()  # answered at or after
    until = fields.AwareDateTime()  # answered before
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(validate=validate.Length(max=200))

    @post_load
    def _ranges(self, data, **_kwargs):
        if data.get("score_min", 0) > data.get("score_max", 10):
            raise ValidationError("score_min cannot be above score_max.", "score_min")
        if "since" in data and "until" in data and data["since"] >= data["until"]:
            raise ValidationError("since must be before until.", "since")
        return data


# ---- output ----

class SurveyRefOut(Schema):
    id = fields.Integer()
    name = fields.String()


class SurveyTicketRefOut(Schema):
    id = fields.Integer()
    number = fields.String()


class SurveyResponseOut(Schema):
    id = fields.Integer()
    invitation_id = fields.Integer()
    kind = fields.String()
    score = fields.Integer()
    attitude = fields.Integer(allow_none=True)
    efficiency = fields.Integer(allow_none=True)
    outcome = fields.Integer(allow_none=True)
    comment = fields.String(allow_none=True)
    contact = fields.Nested(SurveyRefOut)
    account = fields.Nested(SurveyRefOut, allow_none=True)
    ticket = fields.Nested(SurveyTicketRefOut, allow_none=True)
    team = fields.Nested(SurveyRefOut, allow_none=True)
    agent = fields.Nested(SurveyRefOut, allow_none=True)
    product = fields.String(allow_none=True)
    channel = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    edit_until = fields.AwareDateTime()


SurveyResponsePageOut = page_of(SurveyResponseOut, "SurveyResponsePageOut")


class SurveyInvitationOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    trigger = fields.String()
    status = fields.String()
    skip_reason = fields.String(allow_none=True)
    contact = fields.Nested(SurveyRefOut, allow_none=True)
    account = fields.Nested(SurveyRefOut, allow_none=True)
    ticket = fields.Nested(SurveyTicketRefOut, allow_none=True)
    campaign_id = fields.Integer(allow_none=True)
    send_at = fields.AwareDateTime()
    sent_at = fields.AwareDateTime(allow_none=True)
    opened_at = fields.AwareDateTime(allow_none=True)
    answered_at = fields.AwareDateTime(allow_none=True)
    expires_at = fields.AwareDateTime(allow_none=True)
    response_id = fields.Integer(allow_none=True)


# ---- settings ----

def _settings_fields(*, out: bool) -> dict[str, fields.Field]:
    made: dict[str, fields.Field] = {}
    for name in BOOL_FIELDS:
        made[name] = fields.Boolean() if out else fields.Boolean(truthy={True},
                                                                falsy={False})
    for name, (low, high) in INT_BOUNDS.items():
        made[name] = fields.Integer() if out else fields.Integer(
            strict=True, validate=validate.Range(min=low, max=high))
    return made


class SurveySettingsPatch(StrictSchema.from_dict(_settings_fields(out=False),
                                                  name="SurveySettingsFields")):
    """Any of the settings; each within its bounds (see surveys.settings_admin)."""

    @post_load
    def _require_change(self, data, **_kwargs):
        if not data:
            raise ValidationError("Send at least one setting to change.", "_schema")
        return data


class SurveySettingsOut(Schema.from_dict(_settings_fields(out=True),
                                         name="SurveySettingsOutFields")):
    updated_at = fields.AwareDateTime()
    updated_by_id = fields.Integer(allow_none=True)


# ---- campaigns ----

class CampaignSegmentIn(StrictSchema):
    tier = fields.String(allow_none=True, validate=validate.OneOf(["standard", "vip"]))
    product = fields.String(allow_none=True, validate=validate.Length(min=1, max=80))
    owner_id = fields.Integer(allow_none=True, strict=True, validate=_ID)
    last_contact_days = fields.Integer(
        allow_none=True, strict=True,
        validate=validate.Range(min=1, max=MAX_LAST_CONTACT_DAYS))


class CampaignIn(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    segment = fields.Nested(CampaignSegmentIn, load_default=dict)


class CampaignPreviewIn(StrictSchema):
    segment = fields.Nested(CampaignSegmentIn, required=True)


class CampaignPreviewOut(Schema):
    count = fields.Integer()


class CampaignQuery(QuerySchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(validate=validate.Length(max=200))


class CampaignSegmentOut(Schema):
    tier = fields.String(allow_none=True)
    product = fields.String(allow_none=True)
    owner_id = fields.Integer(allow_none=True)
    last_contact_days = fields.Integer(allow_none=True)


class CampaignOut(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    status = fields.String()
    segment = fields.Nested(CampaignSegmentOut)
    targeted = fields.Integer()
    invited = fields.Integer()
    skipped = fields.Integer()
    sent = fields.Integer()
    opened = fields.Integer()
    answered = fields.Integer()
    created_by = fields.Nested(SurveyRefOut, allow_none=True)
    created_at = fields.AwareDateTime()
    started_at = fields.AwareDateTime(allow_none=True)
    finished_at = fields.AwareDateTime(allow_none=True)


CampaignPageOut = page_of(CampaignOut, "CampaignPageOut")
