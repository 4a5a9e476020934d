"""Writing articles: create, update, status changes, restore, translations and lists.

The service flushes and never commits (the caller does). Every content save becomes an
ArticleVersion and every save re-indexes the article for search in the same transaction.
The field checks live in knowledge_base.article_rules; their limits are re-exported here.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import selectinload

from service.auth.models import User
from service.auth.permissions import Permission, can, require
from service.db_types import utcnow
from service.errors import Conflict, Forbidden, InvalidInput, InvalidTransition
from service.extensions import db
from service.pagination import decode_time_cursor, encode_cursor
from service.validation import is_id

from knowledge_base.access import may_edit
from knowledge_base.article_rules import (FIELDS, LANGUAGES, MAX_BODY, MAX_NOTE, MAX_PAGE,
                                          MAX_PRODUCT, MAX_PRODUCTS, MAX_SECTION, MAX_SUMMARY,
                                          MAX_TAG, MAX_TAGS, MAX_TITLE, clean_fields, clean_note,
                                          enum_value)
from knowledge_base.categories import descendant_ids
from knowledge_base.models import (Article, ArticleKind, ArticleProduct, ArticleStatus,
                                   Audience, Category)
from knowledge_base.versions import (RESTORED_FIELDS, DiffLine, DiffSection, get_version,
                                     snapshot, version_diff, versions, write_version)

__all__ = [
    "FIELDS", "DiffLine", "DiffSection", "create_article", "update_article", "set_status",
    "restore_version", "versions", "version_diff", "translations", "list_articles",
    "review_queue", "business_today", "TRANSITIONS", "LANGUAGES",
    "MAX_TITLE", "MAX_SUMMARY", "MAX_SECTION", "MAX_BODY", "MAX_TAGS", "MAX_TAG",
    "MAX_PRODUCTS", "MAX_PRODUCT", "MAX_NOTE", "MAX_PAGE",
]

# The status flow: (from, to) → the permission the change needs. Anything else is refused.
TRANSITIONS: dict[tuple[ArticleStatus, ArticleStatus], Permission] = {
    (ArticleStatus.DRAFT, ArticleStatus.IN_REVIEW): Permission.KB_WRITE,
    (ArticleStatus.IN_REVIEW, ArticleStatus.DRAFT): Permission.KB_WRITE,
    (ArticleStatus.DRAFT, ArticleStatus.PUBLISHED): Permission.KB_PUBLISH,
    (ArticleStatus.IN_REVIEW, ArticleStatus.PUBLISHED): Permission.KB_PUBLISH,
    (ArticleStatus.PUBLISHED, ArticleStatus.ARCHIVED): Permission.KB_PUBLISH,
    (ArticleStatus.PUBLISHED, ArticleStatus.DRAFT): Permission.KB_PUBLISH,
    (ArticleStatus.ARCHIVED, ArticleStatus.DRAFT): Permission.KB_PUBLISH,
}


def _index(article: Article) -> None:
    # Imported here: the search package imports the models, which import this package.
    from knowledge_base.search import index_article

    index_article(article)


def business_today() -> date:
    """Today in the service's time zone (review dates are calendar days there)."""
    return utcnow().astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()


# ---- translation groups ----

def _group_languages(group_id: int, exclude_id: int | None) -> set[str]:
    query = select(Article.language).where(Article.translation_group_id == group_id)
    if exclude_id is not None:
        query = query.where(Article.id != exclude_id)
    return set(db.session.scalars(query))


def _join_group(article: Article, other: Article) -> None:
    """Put the article in `other`'s translation group (Conflict if its language is taken)."""
    group_id = other.translation_group_id or other.id
    if article.language in _group_languages(group_id, article.id) | {other.language}:
        raise Conflict(_("This article already has a translation in that language."))
    if other.translation_group_id is None:
        other.translation_group_id = other.id
    article.translation_group_id = group_id


def _check_language_change(article: Article, language: str) -> None:
    if article.translation_group_id is not None and language != article.language \
            and language in _group_languages(article.translation_group_id, article.id):
        raise Conflict(_("This article already has a translation in that language."))


def translations(article: Article) -> list[Article]:
    """The other articles of its translation group (by language)."""
    if article.translation_group_id is None:
        return []
    return list(db.session.scalars(
        select(Article).where(Article.translation_group_id == article.translation_group_id,
                              Article.id != article.id).order_by(Article.language)))


# ---- writing ----

def _apply(article: Article, clean: dict[str, Any]) -> None:
    for field in ("kind", "title", "summary", "body", "sections", "known_issue_status",
                  "category_id", "language", "audience", "owner_id", "review_by"):
        if field in clean:
            setattr(article, field, clean[field])
    if "tags" in clean:
        article.tags = list(clean["tags"])
    if "products" in clean and clean["products"] != article.product_names:
        wanted = set(clean["products"])
        article.products = [row for row in article.products if row.product in wanted]
        have = set(article.product_names)
        article.products += [ArticleProduct(product=name) for name in clean["products"]
                             if name not in have]


def create_article(user: User, data: dict, *, source_ticket_id: int | None = None,
                   note: str | None = None) -> Article:
    """A new draft (version 1) written by the user; kb.write required. InvalidInput lists
    every field problem; Conflict when the translation group has this language already."""
    require(user, Permission.KB_WRITE)
    note = clean_note(note)
    if not isinstance(data, dict):
        raise InvalidInput(_("Give the article's fields."))
    data = dict(data)
    if data.get("language") is None:  # default: the author's language
        data["language"] = "zh" if (user.locale or "").startswith("zh") else "en"
    clean = clean_fields(data, None)
    now = utcnow()
    article = Article(status=ArticleStatus.DRAFT, version=1, created_by_id=user.id,
                      owner_id=clean.get("owner_id") or user.id,
                      source_ticket_id=source_ticket_id, created_at=now, updated_at=now,
                      view_count=0, helpful_yes=0, helpful_no=0, products=[])
    _apply(article, {key: value for key, value in clean.items() if key != "owner_id"})
    db.session.add(article)
    db.session.flush()
    if clean.get("translation_of") is not None:
        _join_group(article, clean["translation_of"])
        db.session.flush()
    write_version(article, user, note)
    _index(article)
    return article


def update_article(user: User, article: Article, changes: dict, *,
                   note: str | None = None) -> Article:
    """Change the keys present in `changes` (same rules as create); may_edit required.
    A change of content writes version article.version + 1; re-indexes."""
    if not may_edit(user, article):
        raise Forbidden(_("You may not edit this article in its current status."))
    note = clean_note(note)
    clean = clean_fields(changes, article)
    if "language" in clean:
        _check_language_change(article, clean["language"])
    before = snapshot(article)
    _apply(article, clean)
    if "translation_of" in clean:
        if clean["translation_of"] is None:
            article.translation_group_id = None
        else:
            _join_group(article, clean["translation_of"])
    article.updated_at = utcnow()
    if snapshot(article) != before:
        article.version += 1
        write_version(article, user, note)
    db.session.flush()
    _index(article)
    return article


def restore_version(user: User, article: Article, number: int) -> Article:
    """Copy version `number`'s content back as a new version (note "restored version N");
    may_edit required; NotFound for a missing number."""
    if not may_edit(user, article):
        raise Forbidden(_("You may not edit this article in its current status."))
    old = get_version(article, number)
    content = {field: getattr(old, field) for field in RESTORED_FIELDS}
    if content["category_id"] is not None \
            and db.session.get(Category, content["category_id"]) is None:
        content["category_id"] = None  # deleted since: uncategorised
    _apply(article, content)
    article.updated_at = utcnow()
    article.version += 1
    write_version(article, user, f"restored version {old.number}")
    _index(article)
    return article


def set_status(user: User, article: Article, status: ArticleStatus, *,
               note: str | None = None) -> Article:
    """Move the article along the status flow (TRANSITIONS); the same status is a no-op.
    Publishing stamps published_at and a default review date; re-indexes."""
    clean_note(note)
    try:
        status = ArticleStatus(status)
    except ValueError:
        raise InvalidInput(errors={"status": [_("Not an article status.")]}) from None
    if status == article.status:
        return article
    permission = TRANSITIONS.get((article.status, status))
    if permission is None:
        raise InvalidTransition(_("An article cannot go from %(old)s to %(new)s.",
                                  old=article.status.value, new=status.value))
    if not can(user, permission):
        raise Forbidden(_("Your role may not make this status change."))
    now = utcnow()
    if status == ArticleStatus.PUBLISHED:
        article.published_at = now
        if article.review_by is None:
            days = int(current_app.config.get("KB_REVIEW_DAYS", 180))
            article.review_by = business_today() + timedelta(days=days)
    article.status = status
    article.updated_at = now
    db.session.flush()
    _index(article)
    return article


# ---- reading ----

def _statuses(values: Iterable[Any] | None) -> list[ArticleStatus] | None:
    if values is None:
        return None
    if isinstance(values, (str, ArticleStatus)):
        values = [values]
    try:
        return [ArticleStatus(value) for value in values]
    except ValueError:
        raise InvalidInput(errors={"status": [_("Not an article status.")]}) from None


def list_articles(*, statuses: Iterable[ArticleStatus | str] | None = None,
                  audience: Audience | str | None = None, language: str | None = None,
                  category_id: int | None = None, product: str | None = None,
                  kind: ArticleKind | str | None = None, owner_id: int | None = None,
                  review_due: bool = False, public_only: bool = False, limit: int = 20,
                  cursor: str | None = None) -> tuple[list[Article], str | None]:
    """One keyset page of articles, most recently updated first, and the next cursor.

    `category_id` includes its subcategories; `review_due`: published articles whose
    review date has come; `public_only`: what customers may read (published, public).
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(errors={"limit": [_("Give a number from 1 to %(max)s.",
                                               max=MAX_PAGE)]})
    query = select(Article).options(selectinload(Article.products))
    chosen = _statuses(statuses)
    if chosen is not None:
        query = query.where(Article.status.in_(chosen))
    errors: dict[str, list[str]] = {}
    if audience is not None:
        audience = enum_value(audience, Audience, errors, "audience",
                              _("Choose public or internal."))
    if kind is not None:
        kind = enum_value(kind, ArticleKind, errors, "kind", _("Not a kind of article."))
    if language is not None and language not in LANGUAGES:
        errors["language"] = [_("Choose Chinese (zh) or English (en).")]
    if category_id is not None and not is_id(category_id):
        errors["category_id"] = [_("No such category.")]
    if owner_id is not None and not is_id(owner_id):
        errors["owner_id"] = [_("No such staff member.")]
    if product is not None and not isinstance(product, str):
        errors["product"] = [_("Give a product name.")]
    if errors:
        raise InvalidInput(errors=errors)
    if audience is not None:
        query = query.where(Article.audience == audience)
    if kind is not None:
        query = query.where(Article.kind == kind)
    if language is not None:
        query = query.where(Article.language == language)
    if public_only:
        query = query.where(Article.status == ArticleStatus.PUBLISHED,
                            Article.audience == Audience.PUBLIC)
    if category_id is not None:
        query = query.where(Article.category_id.in_(descendant_ids(category_id)))
    if product:
        query = query.where(exists().where(ArticleProduct.article_id == Article.id,
                                           ArticleProduct.product == product))
    if owner_id is not None:
        query = query.where(Article.owner_id == owner_id)
    if review_due:
        query = query.where(Article.status == ArticleStatus.PUBLISHED,
                            Article.review_by <= business_today())
    if cursor:
        moment, last_id = decode_time_cursor(cursor, "updated_at")
        query = query.where(or_(Article.updated_at < moment,
                                and_(Article.updated_at == moment, Article.id < last_id)))
    rows = list(db.session.scalars(
        query.order_by(Article.updated_at.desc(), Article.id.desc()).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor("updated_at", rows[-1].updated_at, rows[-1].id)


def review_queue() -> list[Article]:
    """Articles waiting for a publisher, oldest first."""
    return list(db.session.scalars(
        select(Article).where(Article.status == ArticleStatus.IN_REVIEW)
        .options(selectinload(Article.products))
        .order_by(Article.updated_at, Article.id)))
