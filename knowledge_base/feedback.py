""""Was this helpful?": one vote per visitor per article, and the article's counters."""
from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from knowledge_base import access
from knowledge_base.models import Article, ArticleFeedback
from knowledge_base.searches import search_language
from service.db_types import utcnow
from service.errors import InvalidInput
from service.extensions import db
from service.validation import strip_controls

COMMENT_MAX = 2000
_VISITOR_KEY = re.compile(r"[0-9a-f]{64}")


def vote(article_id: int, visitor_key: str, helpful: bool, *, comment: str | None = None,
         language: str | None = None) -> ArticleFeedback:
    """Record a visitor's vote on a published public article and keep its counters.

    One vote per visitor and article: voting again replaces the vote and moves the
    counters. A new comment replaces the old one; the same answer again without a comment
    keeps the earlier comment, a changed answer drops it (it was about the other answer).
    NotFound for an article the public may not see, InvalidInput for a bad key, answer or
    comment. Flushes; the caller commits.
    """
    errors: dict[str, list[str]] = {}
    if not isinstance(helpful, bool):
        errors["helpful"] = [_("Answer yes or no.")]
    if not isinstance(visitor_key, str) or not _VISITOR_KEY.fullmatch(visitor_key):
        errors["visitor_key"] = [_("Not a visitor key (64 lower-case hex digits).")]
    text = strip_controls(comment or "").strip() or None
    if text is not None and len(text) > COMMENT_MAX:
        errors["comment"] = [_("At most %(limit)d characters.", limit=COMMENT_MAX)]
    if errors:
        raise InvalidInput(_("Some fields need attention."), errors=errors)
    access.visible_article(None, article_id)  # published and public (a valid id), or NotFound
    language = search_language(language)
    existing = current_vote(article_id, visitor_key, lock=True)
    if existing is None:
        try:
            with db.session.begin_nested():
                row = ArticleFeedback(article_id=article_id, visitor_key=visitor_key,
                                      helpful=helpful, comment=text, language=language)
                db.session.add(row)
            _count(article_id, helpful, +1)
            return row
        except IntegrityError:  # the same visitor's other request voted first
            existing = current_vote(article_id, visitor_key, lock=True)
            if existing is None:
                raise
    if existing.helpful != helpful:
        _count(article_id, existing.helpful, -1)
        _count(article_id, helpful, +1)
        existing.comment = text
    elif text is not None:
        existing.comment = text
    existing.helpful = helpful
    existing.language = language or existing.language
    existing.updated_at = utcnow()
    db.session.flush()
    return existing


def current_vote(article_id: int, visitor_key: str, *,
                 lock: bool = False) -> ArticleFeedback | None:
    """The visitor's vote on the article, if any."""
    query = select(ArticleFeedback).where(ArticleFeedback.article_id == article_id,
                                          ArticleFeedback.visitor_key == visitor_key)
    if lock:
        query = query.with_for_update()
    return db.session.scalar(query)


def _count(article_id: int, helpful: bool, step: int) -> None:
    # In SQL, so concurrent votes on one article never lose a count.
    column = Article.helpful_yes if helpful else Article.helpful_no
    db.session.execute(update(Article).where(Article.id == article_id)
                       .values({column: column + step}))
