"""Marshmallow schemas of the knowledge-base API: queries, bodies and what it answers."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields, post_load, validate

from knowledge_base.models import (ArticleKind, ArticleStatus, Audience, DeflectionSource,
                                   KnownIssueStatus)
from knowledge_base.articles import (MAX_BODY, MAX_NOTE, MAX_PRODUCT, MAX_PRODUCTS,
                                     MAX_SECTION, MAX_SUMMARY, MAX_TAG, MAX_TAGS, MAX_TITLE)
from knowledge_base.deflections import QUERY_MAX as DEFLECTION_QUERY_MAX
from knowledge_base.searches import QUERY_MAX as MAX_QUERY
from service.schemas import QuerySchema, StrictSchema
from service.validation import MAX_ID, strip_controls

_ID = validate.Range(min=1, max=MAX_ID)
_LANGUAGE = validate.OneOf(["zh", "en"])
_SLUG = re.compile(r"^[a-z0-9-]{1,80}$")
_DIGITS = re.compile(r"[0-9]+")
# Stats periods: a moment outside these is a typo, and near datetime's ends arithmetic overflows.
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(9000, 1, 1, tzinfo=UTC)


class KbCategoryRef(fields.Field):
    """A category given by id ("12") or by slug ("printers")."""

    def _deserialize(self, value, attr, data, **kwargs) -> int | str:
        text = str(value).strip().lower()
        if _DIGITS.fullmatch(text):  # ASCII only: str.isdigit() also passes "²", int() not
            number = int(text)
            if 1 <= number <= MAX_ID:
                return number
        elif _SLUG.match(text):
            return text
        raise ValidationError(_("Give a category id or slug."))


class KbUtcMoment(fields.Field):
    """An ISO 8601 date ("2026-01-31", midnight UTC) or date-time (naive means UTC), 1970–9000."""

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        text = str(value).strip()
        try:
            if len(text) == 10:
                moment = datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
            else:
                moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValidationError(_("Not an ISO 8601 date or date-time.")) from None
        try:
            moment = (moment.replace(tzinfo=UTC) if moment.tzinfo is None
                      else moment.astimezone(UTC))
        except OverflowError:
            moment = None
        if moment is None or not _EARLIEST <= moment <= _LATEST:
            raise ValidationError(_("Not a valid time."))
        return moment


# ---- queries ----

class ArticleQuery(QuerySchema):
    """GET /kb/articles: `status` may repeat or hold comma-separated values."""

    LIST_PARAMS = ("status",)

    q = fields.String(validate=validate.Length(min=1, max=MAX_QUERY))
    category = KbCategoryRef()
    product = fields.String(validate=validate.Length(min=1, max=100))
    language = fields.String(validate=_LANGUAGE)
    kind = fields.Enum(ArticleKind, by_value=True)
    audience = fields.Enum(Audience, by_value=True)
    status = fields.List(fields.Enum(ArticleStatus, by_value=True),
                         validate=validate.Length(min=1, max=4))
    review_due = fields.Boolean()
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = fields.String(validate=validate.Length(min=1, max=200))


class KbSuggestQuery(QuerySchema):
    q = fields.String(required=True, validate=validate.Length(min=1, max=MAX_QUERY))
    language = fields.String(validate=_LANGUAGE)
    product = fields.String(validate=validate.Length(min=1, max=100))
    limit = fields.Integer(load_default=5, validate=validate.Range(min=1, max=10))


class KbStatsQuery(QuerySchema):
    since = KbUtcMoment()
    until = KbUtcMoment()


# ---- bodies ----

def _article_fields(*, required: bool) -> dict[str, fields.Field]:
    """The writable fields; `required` marks those a new article must have."""
    needed = {"required": True} if required else {}
    text = validate.Length(max=MAX_SECTION)
    return {
        "kind": fields.Enum(ArticleKind, by_value=True, **needed),
        "title": fields.String(validate=validate.Length(min=1, max=MAX_TITLE), **needed),
        "summary": fields.String(validate=validate.Length(max=MAX_SUMMARY)),
        "body": fields.String(validate=validate.Length(max=MAX_BODY)),
        "sections": fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=40)),
                                values=fields.String(validate=text),
                                validate=validate.Length(max=10)),
        "known_issue_status": fields.Enum(KnownIssueStatus, by_value=True, allow_none=True),
        "category_id": fields.Integer(strict=True, allow_none=True, validate=_ID),
        "tags": fields.List(fields.String(validate=validate.Length(max=MAX_TAG)),
                            validate=validate.Length(max=MAX_TAGS)),
        "products": fields.List(fields.String(validate=validate.Length(max=MAX_PRODUCT)),
                                validate=validate.Length(max=MAX_PRODUCTS)),
        # Optional on create too: the service defaults it to the author's language.
        "language": fields.String(validate=_LANGUAGE),
        "audience": fields.Enum(Audience, by_value=True, **needed),
        "owner_id": fields.Integer(strict=True, allow_none=True, validate=_ID),
        "review_by": fields.Date(allow_none=True),
        "translation_of": fields.Integer(strict=True, allow_none=True, validate=_ID),
        "status": fields.Enum(ArticleStatus, by_value=True),
        "note": fields.String(validate=validate.Length(max=MAX_NOTE)),
    }


class _ArticleBody(StrictSchema):
    @post_load
    def _clean_sections(self, data, **_kwargs):
        # Nested strings miss StrictSchema's top-level clean-up: strip controls here too.
        if data.get("sections"):
            data["sections"] = {key: strip_controls(value)
                                for key, value in data["sections"].items()}
        return data


class ArticleIn(_ArticleBody.from_dict(_article_fields(required=True),
                                       name="ArticleInFields")):
    """A new article; `status` (draft by default) is applied after it is created."""

    @post_load
    def _status(self, data, **_kwargs):
        if data.get("status") == ArticleStatus.ARCHIVED:
            raise ValidationError(_("A new article cannot be archived."), "status")
        return data


class ArticlePatch(_ArticleBody.from_dict(_article_fields(required=False),
                                          name="ArticlePatchFields")):
    """Any subset of the writable fields, a status change and a change note."""

    @post_load
    def _require_change(self, data, **_kwargs):
        if not set(data) - {"note"}:
            raise ValidationError(_("Send at least one field or a status to change."), "_schema")
        return data


class KbDeflectionIn(StrictSchema):
    article_id = fields.Integer(required=True, strict=True, validate=_ID)
    source = fields.Enum(DeflectionSource, by_value=True, required=True)
    query = fields.String(load_default="", validate=validate.Length(max=DEFLECTION_QUERY_MAX))


# ---- output ----

class KbRefOut(Schema):
    id = fields.Integer()
    name = fields.String()


class KbTicketRefOut(Schema):
    id = fields.Integer()
    number = fields.String()


class KbCategoryRefOut(Schema):
    id = fields.Integer()
    slug = fields.String()
    name = fields.String()
    path = fields.List(fields.String(), metadata={"description": "names from the root down"})


class KbTranslationOut(Schema):
    id = fields.Integer()
    language = fields.String()
    title = fields.String()


class KbHelpfulOut(Schema):
    yes = fields.Integer()
    no = fields.Integer()


class ArticleOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    summary = fields.String()
    body = fields.String(metadata={"description": "Markdown"})
    body_html = fields.String(metadata={"description": "sections then body, sanitised"})
    sections = fields.Dict(keys=fields.String(), values=fields.String())
    known_issue_status = fields.String(allow_none=True)
    category = fields.Nested(KbCategoryRefOut, allow_none=True)
    tags = fields.List(fields.String())
    products = fields.List(fields.String())
    language = fields.String()
    translations = fields.List(fields.Nested(KbTranslationOut))
    audience = fields.String()
    status = fields.String()
    version = fields.Integer()
    url = fields.String(allow_none=True, metadata={"description": "help-centre page when "
                                                                  "published and public"})
    review_by = fields.Date(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    published_at = fields.AwareDateTime(allow_none=True)
    helpful = fields.Nested(KbHelpfulOut)
    views = fields.Integer()
    owner = fields.Nested(KbRefOut, allow_none=True, metadata={"description": "staff only"})
    source_ticket = fields.Nested(KbTicketRefOut, allow_none=True,
                                  metadata={"description": "staff only"})


class _ArticleFacetsOut(Schema):
    """What a list item and a version snapshot both tell about an article."""

    kind = fields.String()
    summary = fields.String()
    known_issue_status = fields.String(allow_none=True)
    category_id = fields.Integer(allow_none=True)
    tags = fields.List(fields.String())
    products = fields.List(fields.String())
    language = fields.String()
    audience = fields.String()


class ArticleItemOut(_ArticleFacetsOut):
    """An article in a list; `score` and the highlighted HTML only for a search (`q`)."""

    id = fields.Integer()
    title = fields.String()
    status = fields.String()
    version = fields.Integer()
    url = fields.String(allow_none=True)
    review_by = fields.Date(allow_none=True)
    updated_at = fields.AwareDateTime()
    published_at = fields.AwareDateTime(allow_none=True)
    score = fields.Float(allow_none=True)
    title_html = fields.String(allow_none=True)
    snippet_html = fields.String(allow_none=True)


class ArticlePageOut(Schema):
    items = fields.List(fields.Nested(ArticleItemOut))
    next_cursor = fields.String(allow_none=True)
    total = fields.Integer(allow_none=True, metadata={"description": "matches of a search"})
    corrected = fields.String(allow_none=True,
                              metadata={"description": "the typo-corrected query used"})


class KbSuggestionOut(Schema):
    id = fields.Integer()
    title = fields.String()
    title_html = fields.String()
    snippet_html = fields.String()
    kind = fields.String()
    language = fields.String()
    url = fields.String(allow_none=True)


class KbSuggestionsOut(Schema):
    items = fields.List(fields.Nested(KbSuggestionOut))


class KbCategoryOut(Schema):
    id = fields.Integer()
    slug = fields.String()
    parent_id = fields.Integer(allow_none=True)
    depth = fields.Integer()
    name_en = fields.String()
    name_zh = fields.String()
    description_en = fields.String(allow_none=True)
    description_zh = fields.String(allow_none=True)
    position = fields.Integer()
    article_count = fields.Integer()


class KbCategoriesOut(Schema):
    items = fields.List(fields.Nested(KbCategoryOut), metadata={"description": "pre-order"})


class KbVersionOut(Schema):
    number = fields.Integer()
    title = fields.String()
    status = fields.String()
    author = fields.Nested(KbRefOut, allow_none=True)
    note = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()


class KbVersionsOut(Schema):
    items = fields.List(fields.Nested(KbVersionOut))


class KbDiffLineOut(Schema):
    kind = fields.String(metadata={"description": "same, add or del"})
    text = fields.String()


class KbDiffSectionOut(Schema):
    field = fields.String()
    lines = fields.List(fields.Nested(KbDiffLineOut))


class KbVersionDetailOut(KbVersionOut, _ArticleFacetsOut):
    body = fields.String()
    sections = fields.Dict(keys=fields.String(), values=fields.String())
    diff = fields.List(fields.Nested(KbDiffSectionOut),
                       metadata={"description": "against the previous version"})


class KbDeflectionOut(Schema):
    id = fields.Integer()
    article_id = fields.Integer()
    source = fields.String()
    created_at = fields.AwareDateTime()


class KbContentGapOut(Schema):
    query = fields.String()
    searches = fields.Integer()
    last_at = fields.AwareDateTime()


class KbReviewDueOut(Schema):
    article_id = fields.Integer()
    title = fields.String()
    language = fields.String()
    review_by = fields.Date()
    owner_name = fields.String(allow_none=True)


class _KbCountsOut(Schema):
    """The counters of one article and of the whole knowledge base over a period."""

    views = fields.Integer()
    helpful_yes = fields.Integer()
    helpful_no = fields.Integer()
    deflections = fields.Integer()


class KbTopArticleOut(_KbCountsOut):
    article_id = fields.Integer()
    title = fields.String()
    used = fields.Integer()


class KbStatsOut(_KbCountsOut):
    since = fields.AwareDateTime()
    until = fields.AwareDateTime()
    helpful_rate = fields.Float(allow_none=True)
    deflections_by_source = fields.Dict(keys=fields.String(), values=fields.Integer())
    articles_used = fields.Integer()
    tickets_with_article = fields.Integer()
    tickets_resolved_with_article = fields.Integer()
    searches = fields.Integer()
    searches_without_result = fields.Integer()
    content_gaps = fields.List(fields.Nested(KbContentGapOut))
    review_due = fields.List(fields.Nested(KbReviewDueOut))
    top_articles = fields.List(fields.Nested(KbTopArticleOut))
