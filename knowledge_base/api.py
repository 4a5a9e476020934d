"""JSON API of the knowledge base: parse → call a service → dump."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Iterator

from flask import Blueprint, current_app, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from knowledge_base import access, articles, deflections, presenters, searches, stats, versions
from knowledge_base import search as kb_search
from knowledge_base.models import ArticleStatus, Audience, Category, SearchSource
from knowledge_base.schemas import (ArticleIn, ArticleOut, ArticlePageOut, ArticlePatch,
                                    ArticleQuery, KbCategoriesOut, KbDeflectionIn, KbDeflectionOut,
                                    KbStatsOut, KbStatsQuery, KbSuggestionsOut, KbSuggestQuery,
                                    KbVersionDetailOut, KbVersionsOut)
from service.api import current_user, doc, json_body, optional_user, query_args
from service.auth.models import User
from service.auth.permissions import Permission, require
from service.db_types import utcnow
from service.errors import DomainError, Forbidden, InvalidInput
from service.extensions import db, limiter
from service.pagination import decode_cursor, encode_cursor

blueprint = Blueprint("kb_api", __name__)

_article_query, _article_in, _article_patch = ArticleQuery(), ArticleIn(), ArticlePatch()
_article_out, _page_out = ArticleOut(), ArticlePageOut()
_suggest_query, _suggestions_out = KbSuggestQuery(), KbSuggestionsOut()
_categories_out, _versions_out = KbCategoriesOut(), KbVersionsOut()
_version_out = KbVersionDetailOut()
_deflection_in, _deflection_out = KbDeflectionIn(), KbDeflectionOut()
_stats_query, _stats_out = KbStatsQuery(), KbStatsOut()
_TAGS = ["knowledge base"]
_STAFF_STATUSES = tuple(status for status in ArticleStatus if status != ArticleStatus.ARCHIVED)
_SEARCH_CURSOR = "search"  # ranked results page by offset: their order has no keyset
_MAX_SEARCH_OFFSET = 1000
_STATS_DEFAULT_DAYS, _STATS_MAX_DAYS = 30, 366


def _reader() -> User | None:
    """The caller if it reads the whole knowledge base (kb.view), else None (a customer)."""
    user = optional_user()
    return user if access.is_staff_reader(user) else None


def _language() -> str:
    locale = get_locale()
    return "zh" if locale is not None and locale.language == "zh" else "en"


def _category_id(value: int | str | None) -> int | None:
    """The id of a category given by id or slug (a slug must exist: 400 otherwise)."""
    if value is None or isinstance(value, int):
        return value
    found = db.session.scalar(select(Category.id).where(Category.slug == value))
    if found is None:
        raise InvalidInput(errors={"category": [_("No such category.")]})
    return found


def _present(article, reader: User | None) -> dict[str, Any]:
    return _article_out.dump(presenters.present_article(article, reader, _language()))


# ---- reading ----

@blueprint.get("/kb/articles")
@doc("Knowledge-base articles: ranked search with `q`, else newest updated first (cursor "
     "pages). Customers (no token) get published public articles only and may not filter "
     "by status, internal audience or review_due; staff see every status but archived by "
     "default.", tags=_TAGS, query=ArticleQuery, responses={200: ArticlePageOut},
     public=True, token_optional=True)
def list_articles():
    reader = _reader()
    args = query_args(_article_query)
    if reader is None:
        errors = {}
        if "status" in args:
            errors["status"] = [_("Only staff may filter by status.")]
        if args.get("audience") == Audience.INTERNAL:
            errors["audience"] = [_("Only staff may read internal articles.")]
        if "review_due" in args:
            errors["review_due"] = [_("Only staff may filter by review date.")]
        if errors:
            raise InvalidInput(errors=errors)
    category_id = _category_id(args.get("category"))
    statuses = tuple(args.get("status") or
                     ((ArticleStatus.PUBLISHED,) if reader is None else _STAFF_STATUSES))
    if "q" in args:
        return _page_out.dump(_search_page(args, reader, category_id, statuses))
    rows, next_cursor = articles.list_articles(
        statuses=list(statuses), audience=args.get("audience"),
        language=args.get("language"), category_id=category_id,
        product=args.get("product"), kind=args.get("kind"),
        review_due=bool(args.get("review_due")), public_only=reader is None,
        limit=args["limit"], cursor=args.get("cursor"))
    return _page_out.dump({
        "items": [presenters.present_item(row) for row in rows],
        "next_cursor": next_cursor, "total": None, "corrected": None})


def _search_page(args: dict[str, Any], reader: User | None, category_id: int | None,
                 statuses: tuple[ArticleStatus, ...]) -> dict[str, Any]:
    if args.get("review_due"):
        raise InvalidInput(errors={"review_due": [_("Cannot be combined with q.")]})
    offset = 0
    if args.get("cursor"):
        offset = decode_cursor(args["cursor"], _SEARCH_CURSOR)[1]
        if offset > _MAX_SEARCH_OFFSET:
            raise InvalidInput(errors={"cursor": [_("Invalid cursor for this list.")]})
    audience = args.get("audience")
    result = kb_search.search(kb_search.SearchQuery(
        text=args["q"], category_id=category_id, product=args.get("product"),
        language=args.get("language"), kind=args["kind"].value if "kind" in args else None,
        audience=audience.value if audience else None, public_only=reader is None,
        statuses=tuple(status.value for status in statuses), limit=args["limit"],
        offset=offset))
    searches.record_search(args["q"], SearchSource.API,
                           language=args.get("language") or _language(), results=result.total)
    db.session.commit()
    found = presenters.articles_by_id([hit.article_id for hit in result.hits])
    # may_see again: a stale index row must never show a customer a withdrawn article.
    items = [presenters.present_item(found[hit.article_id], hit)
             for hit in result.hits
             if hit.article_id in found and access.may_see(reader, found[hit.article_id])]
    following = offset + len(result.hits)
    more = bool(result.hits) and following < result.total and following <= _MAX_SEARCH_OFFSET
    return {"items": items, "total": result.total, "corrected": result.corrected,
            "next_cursor": encode_cursor(_SEARCH_CURSOR, None, following) if more else None}


@blueprint.get("/kb/articles/<id:article_id>")
@doc("One article (404 for anything the caller may not see: customers see published "
     "public articles only); a customer's read counts as a view", tags=_TAGS,
     responses={200: ArticleOut}, public=True, token_optional=True)
def get_article(article_id: int):
    reader = _reader()
    article = access.visible_article(reader, article_id)
    if reader is None:
        stats.record_view(article.id)
        db.session.commit()
        # The count was bumped in SQL: show the reader the number including this view.
        db.session.refresh(article, attribute_names=["view_count"])
    return _present(article, reader)


@blueprint.get("/kb/suggest")
@limiter.limit(lambda: current_app.config["KB_SUGGEST_RATE_LIMIT"])
@doc("Articles for what is being typed (a request's subject, a search box): fast top "
     "matches, public ones only for customers; not recorded as a search", tags=_TAGS,
     query=KbSuggestQuery, responses={200: KbSuggestionsOut}, public=True, token_optional=True)
def suggest():
    reader = _reader()
    args = query_args(_suggest_query)
    hits = kb_search.suggest(args["q"], public_only=reader is None,
                             language=args.get("language"), product=args.get("product"),
                             limit=args["limit"])
    found = presenters.articles_by_id([hit.article_id for hit in hits])
    return _suggestions_out.dump({"items": [
        presenters.present_suggestion(found[hit.article_id], hit) for hit in hits
        if hit.article_id in found and access.may_see(reader, found[hit.article_id])]})


@blueprint.get("/kb/categories")
@doc("The category tree in pre-order with each category's article count (published public "
     "articles for customers)", tags=_TAGS, responses={200: KbCategoriesOut}, public=True,
     token_optional=True)
def list_categories():
    public_only = _reader() is None
    return _categories_out.dump({"items": presenters.present_categories(public_only)})


# ---- writing ----

@blueprint.post("/kb/articles")
@doc("Write an article (kb.write); `status` in_review sends it for review, published "
     "(kb.publish) publishes it at once", tags=_TAGS, body=ArticleIn,
     responses={201: ArticleOut})
def create_article():
    user = current_user()
    require(user, Permission.KB_WRITE)
    data = json_body(_article_in)
    status, note = data.pop("status", ArticleStatus.DRAFT), data.pop("note", None)
    if status == ArticleStatus.PUBLISHED:
        require(user, Permission.KB_PUBLISH)
    with _all_or_nothing():
        article = articles.create_article(user, data, note=note)
        if status != ArticleStatus.DRAFT:
            articles.set_status(user, article, status, note=note)
    db.session.commit()
    location = url_for("api.kb_api.get_article", article_id=article.id)
    return _present(article, user), 201, {"Location": location}


@blueprint.patch("/kb/articles/<id:article_id>")
@doc("Change an article: any of its fields, a `status` change (409 when the change is not "
     "allowed) and a change `note`. 403 when the caller may see it but not edit it",
     tags=_TAGS, body=ArticlePatch, responses={200: ArticleOut})
def patch_article(article_id: int):
    user = current_user()
    article = access.visible_article(user, article_id)
    if not access.may_edit(user, article):
        raise Forbidden(_("Your role may not edit this article in its current status."))
    changes = json_body(_article_patch)
    status, note = changes.pop("status", None), changes.pop("note", None)
    with _all_or_nothing():
        if changes:
            articles.update_article(user, article, changes, note=note)
        if status is not None:
            articles.set_status(user, article, status, note=note)
    db.session.commit()
    return _present(article, user)


@contextmanager
def _all_or_nothing() -> Iterator[None]:
    """Roll back a refused write, so nothing flushed before the refusal is kept."""
    try:
        yield
    except DomainError:
        db.session.rollback()
        raise


# ---- versions ----

@blueprint.get("/kb/articles/<id:article_id>/versions")
@doc("An article's versions, newest first (kb.view)", tags=_TAGS,
     responses={200: KbVersionsOut})
def list_versions(article_id: int):
    user = current_user()
    require(user, Permission.KB_VIEW)
    article = access.visible_article(user, article_id)
    return _versions_out.dump({"items": presenters.present_versions(
        articles.versions(article))})


@blueprint.get("/kb/articles/<id:article_id>/versions/<id:number>")
@doc("One version's snapshot and its diff against the previous version (kb.view)",
     tags=_TAGS, responses={200: KbVersionDetailOut})
def get_version(article_id: int, number: int):
    user = current_user()
    require(user, Permission.KB_VIEW)
    article = access.visible_article(user, article_id)
    version = versions.get_version(article, number)
    return _version_out.dump(presenters.present_version_detail(article, version))


@blueprint.post("/kb/articles/<id:article_id>/versions/<id:number>/restore")
@doc("Restore a version: its content becomes a new version (needs the right to edit)",
     tags=_TAGS, responses={200: ArticleOut})
def restore_version(article_id: int, number: int):
    user = current_user()
    article = access.visible_article(user, article_id)
    with _all_or_nothing():
        articles.restore_version(user, article, number)
    db.session.commit()
    return _present(article, user)


# ---- deflections and numbers ----

@blueprint.post("/kb/deflections")
@limiter.limit(lambda: current_app.config["RATELIMIT_PUBLIC"])
@doc("Record that a published public article solved a customer's problem (no token)",
     tags=_TAGS, body=KbDeflectionIn, responses={201: KbDeflectionOut}, public=True)
def create_deflection():
    data = json_body(_deflection_in)
    deflection = deflections.record_deflection(data["article_id"], data["source"],
                                               query=data["query"], language=_language())
    db.session.commit()
    return _deflection_out.dump({"id": deflection.id, "article_id": deflection.article_id,
                                 "source": deflection.source.value,
                                 "created_at": deflection.created_at}), 201


@blueprint.get("/kb/stats")
@doc("The knowledge base's numbers over a period (kb.stats): since/until as ISO 8601 "
     "(UTC), the last 30 days by default, at most 366 days", tags=_TAGS, query=KbStatsQuery,
     responses={200: KbStatsOut})
def get_stats():
    require(current_user(), Permission.KB_STATS)
    args = query_args(_stats_query)
    until = args.get("until") or utcnow()
    since = args.get("since") or until - timedelta(days=_STATS_DEFAULT_DAYS)
    if since >= until:
        raise InvalidInput(errors={"since": [_("Must be before until.")]})
    if until - since > timedelta(days=_STATS_MAX_DAYS):
        raise InvalidInput(errors={"since": [_("At most %(days)s days.", days=_STATS_MAX_DAYS)]})
    return _stats_out.dump(stats.numbers(since, until))
