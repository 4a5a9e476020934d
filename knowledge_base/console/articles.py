"""Console pages around articles: the list and search, one article's page, its status
changes and the review queue."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.routing import BuildError

from knowledge_base import (access, articles, attachments, markdown, search, searches, stats,
                            ticket_links)
from knowledge_base.console import blueprint
from knowledge_base.console.common import (categories_by_id, category_choices,
                                           render_page, users_by_id)
from knowledge_base.forms import LANGUAGE_LABELS, ActionForm
from knowledge_base.models import (Article, ArticleFeedback, ArticleKind, ArticleStatus, Audience,
                                   Category, SearchSource)
from service.auth.models import User
from service.auth.permissions import Permission, can
from service.console.access import console_user, staff_required
from service.console.form_values import as_id
from service.errors import DomainError, Forbidden, InvalidInput
from service.extensions import db

PAGE_SIZE = 20
FEEDBACK_SHOWN = 20


@dataclass(frozen=True)
class StatusAction:
    """A button on the article page: the change it asks for and who may ask."""

    source: ArticleStatus
    target: ArticleStatus
    permission: Permission
    label: Any


# The buttons per status; the service's transition table decides what really happens.
STATUS_ACTIONS = (
    StatusAction(ArticleStatus.DRAFT, ArticleStatus.IN_REVIEW, Permission.KB_WRITE,
                 _l("Send for review")),
    StatusAction(ArticleStatus.IN_REVIEW, ArticleStatus.DRAFT, Permission.KB_WRITE,
                 _l("Withdraw to draft")),
    StatusAction(ArticleStatus.DRAFT, ArticleStatus.PUBLISHED, Permission.KB_PUBLISH,
                 _l("Publish")),
    StatusAction(ArticleStatus.IN_REVIEW, ArticleStatus.PUBLISHED, Permission.KB_PUBLISH,
                 _l("Publish")),
    StatusAction(ArticleStatus.PUBLISHED, ArticleStatus.ARCHIVED, Permission.KB_PUBLISH,
                 _l("Archive")),
    StatusAction(ArticleStatus.PUBLISHED, ArticleStatus.DRAFT, Permission.KB_PUBLISH,
                 _l("Back to draft")),
    StatusAction(ArticleStatus.ARCHIVED, ArticleStatus.DRAFT, Permission.KB_PUBLISH,
                 _l("Back to draft")),
)
STATUS_DONE = {
    ArticleStatus.IN_REVIEW: _l("Sent for review."),
    ArticleStatus.DRAFT: _l("The article is a draft again."),
    ArticleStatus.PUBLISHED: _l("Published."),
    ArticleStatus.ARCHIVED: _l("Archived."),
}


# ---- the article list and search ----

def _list_filters(user: User) -> dict[str, Any]:
    """The list's filters from the query string; InvalidInput for values we do not know."""
    args, errors = request.args, {}
    statuses = []
    for value in args.getlist("status"):
        if value not in ArticleStatus.__members__.values():
            errors["status"] = [_("Unknown status.")]
        else:
            statuses.append(ArticleStatus(value))
    filters: dict[str, Any] = {"statuses": statuses or None}
    for name, allowed in (("audience", list(Audience)), ("language", list(LANGUAGE_LABELS)),
                          ("kind", list(ArticleKind))):
        value = args.get(name) or None
        if value is not None and value not in allowed:
            errors[name] = [_("Unknown value.")]
        filters[name] = value
    category = args.get("category") or None
    filters["category_id"] = as_id(category) if category else None
    if category and filters["category_id"] is None:
        errors["category"] = [_("Unknown category.")]
    product = (args.get("product") or "").strip() or None
    if product and len(product) > articles.MAX_PRODUCT:
        errors["product"] = [_("A product name is at most 100 characters.")]
    filters["product"] = product
    filters["owner_id"] = user.id if args.get("mine") == "1" else None
    filters["review_due"] = args.get("review_due") == "1"
    if len(args.get("q", "")) > searches.QUERY_MAX:  # the width of the logged query
        errors["q"] = [_("Search for at most %(max)d characters.", max=searches.QUERY_MAX)]
    if errors:
        raise InvalidInput(_("Some filters are not valid."), errors=errors)
    return filters


def _search_page(user: User, text: str, filters: dict[str, Any]) -> dict[str, Any]:
    """Ranked hits for `text` over every status chosen, and the articles they are."""
    page = as_id(request.args.get("page", "1"))
    if page is None or page > 500:
        raise InvalidInput(_("This page link is not valid any more."))
    statuses = tuple(filters["statuses"] or ArticleStatus)
    result = search.search(search.SearchQuery(
        text=text, category_id=filters["category_id"], product=filters["product"],
        language=filters["language"], kind=filters["kind"], audience=filters["audience"],
        public_only=False, statuses=tuple(str(status) for status in statuses),
        limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE))
    if page == 1:  # paging through the same search is not another search
        searches.record_search(text, SearchSource.CONSOLE, language=filters["language"],
                               results=result.total)
        db.session.commit()
    ids = [hit.article_id for hit in result.hits]
    found = {article.id: article for article in db.session.scalars(
        select(Article).where(Article.id.in_(ids)))} if ids else {}
    today = articles.business_today()
    rows = []
    for hit in result.hits:
        article = found.get(hit.article_id)
        if article is None:
            continue
        # Owner and review-due are not search filters: applied to the page's hits.
        if filters["owner_id"] and article.owner_id != filters["owner_id"]:
            continue
        if filters["review_due"] and not (article.review_by and article.review_by <= today):
            continue
        rows.append({"article": article, "title_html": hit.title_html,
                     "snippet_html": hit.snippet_html})
    more = page * PAGE_SIZE < result.total
    return {"rows": rows, "total": result.total, "corrected": result.corrected,
            "next_url": _list_url(page=page + 1) if more else None,
            "first_url": _list_url(page=None) if page > 1 else None}


def _list_url(**changes: Any) -> str:
    args = request.args.to_dict(flat=False)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = [str(value)]
    return url_for(".articles", **args)


@blueprint.get("/articles", endpoint="articles")
@staff_required(Permission.KB_VIEW)
def articles_page():
    """Articles of every status: ranked search with snippets, or the newest first."""
    user = console_user()
    text = " ".join(request.args.get("q", "").split())
    error, context = None, {"rows": [], "total": None, "corrected": None, "next_url": None,
                            "first_url": None}
    try:
        filters = _list_filters(user)
        if text:
            context = _search_page(user, text, filters)
        else:
            cursor = request.args.get("cursor") or None
            found, next_cursor = articles.list_articles(limit=PAGE_SIZE, cursor=cursor,
                                                        **filters)
            context.update(rows=[{"article": article} for article in found],
                           next_url=_list_url(cursor=next_cursor) if next_cursor else None,
                           first_url=_list_url(cursor=None) if cursor else None)
    except InvalidInput as refusal:
        db.session.rollback()
        error = refusal
    by_id = categories_by_id()
    owners = users_by_id({row["article"].owner_id for row in context["rows"]})
    return render_page("articles.html", 400 if error else 200, error=error, q=text,
                       args=request.args, chosen_statuses=request.args.getlist("status"),
                       categories_by_id=by_id, owners=owners, today=articles.business_today(),
                       category_choices=category_choices(),
                       may_write=can(user, Permission.KB_WRITE), **context)


# ---- one article ----

def _category_path(category_id: int | None, by_id: dict[int, Category]) -> list[Category]:
    path, seen = [], set()
    while category_id and category_id in by_id and category_id not in seen:
        seen.add(category_id)
        path.insert(0, by_id[category_id])
        category_id = by_id[category_id].parent_id
    return path


def _help_url(article: Article) -> str | None:
    if article.status != ArticleStatus.PUBLISHED or article.audience != Audience.PUBLIC:
        return None
    try:
        return url_for("help_centre.article", article_id=article.id)
    except BuildError:
        return f"/help/articles/{article.id}"


@blueprint.get("/articles/<id:article_id>")
@staff_required(Permission.KB_VIEW)
def show(article_id: int):
    """The article as readers see it, its facts, actions, files, tickets and feedback."""
    user = console_user()
    article = access.visible_article(user, article_id)
    by_id = categories_by_id()
    feedback = list(db.session.scalars(
        select(ArticleFeedback).where(ArticleFeedback.article_id == article.id,
                                      ArticleFeedback.comment.is_not(None),
                                      ArticleFeedback.comment != "")
        .order_by(ArticleFeedback.created_at.desc(), ArticleFeedback.id.desc())
        .limit(FEEDBACK_SHOWN)))
    actions = [action for action in STATUS_ACTIONS
               if action.source == article.status and can(user, action.permission)]
    return render_page("show.html", article=article, body_html=markdown.render_article(article),
                       category_path=_category_path(article.category_id, by_id),
                       translations=articles.translations(article), actions=actions,
                       files=attachments.attachments_of(article),
                       tickets=ticket_links.tickets_of(article.id),
                       numbers=stats.article_numbers(article.id), feedback=feedback,
                       help_url=_help_url(article), may_edit=access.may_edit(user, article),
                       may_write=can(user, Permission.KB_WRITE),
                       review_past=bool(article.review_by
                                        and article.review_by <= articles.business_today()),
                       other_language="en" if article.language == "zh" else "zh",
                       action_form=ActionForm(formdata=None))


@blueprint.post("/articles/<id:article_id>/status")
@staff_required(Permission.KB_VIEW)
def change_status(article_id: int):
    """Send for review, withdraw, publish, archive or back to draft; refusals flashed."""
    user = console_user()
    article = access.visible_article(user, article_id)
    form = ActionForm()
    if form.status.data not in ArticleStatus.__members__.values():
        raise InvalidInput(_("Unknown status."))
    target = ArticleStatus(form.status.data)
    try:
        articles.set_status(user, article, target)
    except Forbidden:
        db.session.rollback()
        raise
    except DomainError as error:
        db.session.rollback()
        flash(str(error.detail), "error")
    else:
        db.session.commit()
        flash(str(STATUS_DONE[target]), "success")
    if form.back.data == "review":
        return redirect(url_for(".review"), 303)
    return redirect(url_for(".show", article_id=article_id), 303)


# ---- review queue ----

@blueprint.get("/review")
@staff_required(Permission.KB_PUBLISH)
def review():
    """Articles waiting for review (oldest first) and published ones past their review date."""
    waiting = articles.review_queue()
    due, _next = articles.list_articles(statuses=[ArticleStatus.PUBLISHED], review_due=True,
                                        limit=50)
    owners = users_by_id({article.owner_id for article in [*waiting, *due]}
                         | {article.created_by_id for article in waiting})
    return render_page("review.html", waiting=waiting, due=due, owners=owners,
                       action_form=ActionForm(formdata=None))
