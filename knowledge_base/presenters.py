"""The API's views of articles, hits, categories and versions (plain dicts for the schemas)."""
from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from knowledge_base import access, markdown
from knowledge_base.categories import category_tree
from knowledge_base import articles as article_service
from knowledge_base.models import Article, ArticleVersion, Category
from service.auth.models import User
from service.extensions import db
from tickets.models import format_number


def help_url(article: Article) -> str | None:
    """The absolute help-centre address of a published public article, else None."""
    if not access.may_see(None, article):
        return None
    return article_address(article.id)


def article_address(article_id: int) -> str:
    """The help-centre page of an article as an absolute URL (mails, replies, the API)."""
    path = current_app.url_map.bind("").build("help_centre.article", {"article_id": article_id})
    return current_app.config["BASE_URL"].rstrip("/") + path


def articles_by_id(article_ids: list[int]) -> dict[int, Article]:
    """The articles of a list of hits, loaded in one query."""
    if not article_ids:
        return {}
    rows = db.session.scalars(select(Article).where(Article.id.in_(article_ids))
                              .options(selectinload(Article.products)))
    return {article.id: article for article in rows}


def present_item(article: Article, hit: Any = None) -> dict[str, Any]:
    """An article in a list; a search hit adds its score and highlighted title/snippet."""
    return {
        "id": article.id, "kind": article.kind.value, "title": article.title,
        "summary": article.summary, "known_issue_status": _value(article.known_issue_status),
        "category_id": article.category_id, "tags": list(article.tags or []),
        "products": article.product_names, "language": article.language,
        "audience": article.audience.value, "status": article.status.value,
        "version": article.version, "url": help_url(article), "review_by": article.review_by,
        "updated_at": article.updated_at, "published_at": article.published_at,
        "score": hit.score if hit is not None else None,
        "title_html": str(hit.title_html) if hit is not None else None,
        "snippet_html": str(hit.snippet_html) if hit is not None else None,
    }


def present_suggestion(article: Article, hit: Any) -> dict[str, Any]:
    """A suggestion while typing: just enough to show and link it."""
    return {"id": article.id, "title": article.title, "title_html": str(hit.title_html),
            "snippet_html": str(hit.snippet_html), "kind": article.kind.value,
            "language": article.language, "url": help_url(article)}


def present_article(article: Article, viewer: Any, language: str) -> dict[str, Any]:
    """The full article; staff readers also get its owner and source ticket."""
    translations = [other for other in article_service.translations(article)
                    if access.may_see(viewer, other)]
    view = {
        "id": article.id, "kind": article.kind.value, "title": article.title,
        "summary": article.summary, "body": article.body,
        "body_html": str(markdown.render_article(article)),
        "sections": dict(article.sections or {}),
        "known_issue_status": _value(article.known_issue_status),
        "category": _category_ref(article.category, language),
        "tags": list(article.tags or []), "products": article.product_names,
        "language": article.language,
        "translations": [{"id": other.id, "language": other.language, "title": other.title}
                         for other in translations],
        "audience": article.audience.value, "status": article.status.value,
        "version": article.version, "url": help_url(article), "review_by": article.review_by,
        "created_at": article.created_at, "updated_at": article.updated_at,
        "published_at": article.published_at,
        "helpful": {"yes": article.helpful_yes, "no": article.helpful_no},
        "views": article.view_count,
    }
    if access.is_staff_reader(viewer):
        view["owner"] = ({"id": article.owner.id, "name": article.owner.name}
                         if article.owner else None)
        view["source_ticket"] = ({"id": article.source_ticket_id,
                                  "number": format_number(article.source_ticket_id)}
                                 if article.source_ticket_id else None)
    return view


def _category_ref(category: Category | None, language: str) -> dict[str, Any] | None:
    if category is None:
        return None
    path, node, seen = [], category, set()
    while node is not None and node.id not in seen:  # `seen` guards against a bad cycle
        seen.add(node.id)
        path.append(node.name(language))
        node = node.parent
    return {"id": category.id, "slug": category.slug, "name": category.name(language),
            "path": path[::-1]}


def present_categories(public_only: bool) -> list[dict[str, Any]]:
    """The category tree in pre-order, each with the articles in it and its subcategories:
    published public ones for customers, every article for staff."""
    return [{"id": node.category.id, "slug": node.category.slug,
             "parent_id": node.category.parent_id, "depth": node.depth,
             "name_en": node.category.name_en, "name_zh": node.category.name_zh,
             "description_en": node.category.description_en,
             "description_zh": node.category.description_zh,
             "position": node.category.position, "article_count": node.article_count}
            for node in category_tree(public_only=public_only)]


def present_versions(versions: list[ArticleVersion]) -> list[dict[str, Any]]:
    """The history list, its authors' names read in one query."""
    author_ids = {version.author_id for version in versions if version.author_id}
    names = dict(db.session.execute(select(User.id, User.name)
                                    .where(User.id.in_(author_ids))).all()) \
        if author_ids else {}
    return [present_version(version, names) for version in versions]


def present_version(version: ArticleVersion,
                    names: dict[int, str] | None = None) -> dict[str, Any]:
    """A version in the history list (`names`: author names by id, else loaded)."""
    if names is None:
        names = {version.author.id: version.author.name} if version.author else {}
    author = ({"id": version.author_id, "name": names[version.author_id]}
              if version.author_id in names else None)
    return {"number": version.number, "title": version.title,
            "status": version.status.value, "author": author, "note": version.note,
            "created_at": version.created_at}


def present_version_detail(article: Article, version: ArticleVersion) -> dict[str, Any]:
    """A version's whole snapshot and its diff against the version before it."""
    diff = (article_service.version_diff(article, version.number - 1, version.number)
            if version.number > 1 else [])
    return {**present_version(version), "kind": version.kind.value,
            "summary": version.summary, "body": version.body,
            "sections": dict(version.sections or {}),
            "known_issue_status": _value(version.known_issue_status),
            "category_id": version.category_id, "tags": list(version.tags or []),
            "products": list(version.products or []), "language": version.language,
            "audience": version.audience.value,
            "diff": [{"field": section.field,
                      "lines": [{"kind": line.kind, "text": line.text}
                                for line in section.lines]} for section in diff]}


def _value(member: Any) -> Any:
    return member.value if member is not None else None
