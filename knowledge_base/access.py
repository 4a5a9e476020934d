"""Who may see and edit which article: the one check every page, API call and job uses."""
from __future__ import annotations

from flask_babel import gettext as _

from service.auth.models import User
from service.auth.permissions import Permission, can
from service.errors import NotFound
from service.extensions import db
from service.validation import is_id

from knowledge_base.models import Article, ArticleStatus, Audience

_WRITABLE = {ArticleStatus.DRAFT, ArticleStatus.IN_REVIEW}


def is_staff_reader(user: User | None) -> bool:
    """Whether the user reads the whole knowledge base (drafts, internal, archived)."""
    return user is not None and can(user, Permission.KB_VIEW)


def may_see(user: User | None, article: Article) -> bool:
    """Whether the user may read the article.

    None (a customer or anonymous visitor) and callers without kb.view (integration
    partners) see only published public articles; staff with kb.view see every article.
    """
    if is_staff_reader(user):
        return True
    return article.status == ArticleStatus.PUBLISHED and article.audience == Audience.PUBLIC


def visible_article(user: User | None, article_id: int) -> Article:
    """The article if the user may see it; NotFound otherwise (never Forbidden: a
    customer must not learn that a draft or an internal article exists)."""
    article = db.session.get(Article, article_id) if is_id(article_id) else None
    if article is None or not may_see(user, article):
        raise NotFound(_("No such article."))
    return article


def may_edit(user: User | None, article: Article) -> bool:
    """kb.write edits drafts and articles in review; published and archived articles
    need kb.publish (what customers read changes only through a publisher)."""
    if user is None:
        return False
    if article.status in _WRITABLE:
        return can(user, Permission.KB_WRITE)
    return can(user, Permission.KB_PUBLISH)
