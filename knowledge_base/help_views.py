"""The public help centre at /help: categories, articles, search, votes, deflections.

Server-rendered, works without JavaScript, zh_CN and en. Only published public articles
exist here: anything else is a 404 (access.visible_article for one article, the same
condition in SQL for lists, public_only for search). Reads never write, except the view
count of an article page and the record of a search, each after the read is committed.
"""
from __future__ import annotations

from collections import defaultdict
from io import BytesIO

from flask import (Blueprint, Response, current_app, redirect, render_template, request,
                   send_file, url_for)
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import case, func, select

from knowledge_base import (access, articles, attachments, feedback, markdown, search, stats,
                            visitors)
from knowledge_base.deflections import QUERY_MAX as DEFLECTION_QUERY_MAX
from knowledge_base.deflections import record_deflection
from knowledge_base.help_forms import (FORM_SOURCES, DeflectionForm, FeedbackForm,
                                       HelpSearchForm)
from knowledge_base.labels import KIND_LABELS
from knowledge_base.labels import KNOWN_ISSUE_LABELS as ISSUE_STATUS_LABELS
from knowledge_base.models import (Article, ArticleKind, ArticleStatus, Audience, Category,
                                   DeflectionSource, SearchSource)
from knowledge_base.searches import record_search
from service.errors import InvalidInput, NotFound
from service.extensions import db, limiter
from service.validation import is_id, strip_controls
from tickets.portal.auth import current_viewer  # read-only: a signed-in portal contact

blueprint = Blueprint("help_centre", __name__, url_prefix="/help", template_folder="templates")

# Same-origin requests keep the full URL (Flask-WTF's HTTPS referrer check needs it); other
# sites learn only our origin, never what was searched.
REFERRER_POLICY = "strict-origin-when-cross-origin"
HOME_LIST = 5  # popular and recently updated articles on the start page
SEARCH_PAGE = 20
CATEGORY_PAGE = 50
RELATED = 5
FILE_MAX_AGE = 3600  # files of published articles; revalidated by ETag afterwards
INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}  # never SVG: scripts
T = "knowledge_base/help/"


@blueprint.after_request
def _headers(response: Response) -> Response:
    response.headers["Referrer-Policy"] = REFERRER_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    if request.endpoint == "help_centre.article_file":
        return response  # cacheable bytes: no cookie, no per-visitor content
    # Pages carry a CSRF token and the visitor's own vote: never from a shared cache.
    response.headers["Cache-Control"] = "private, no-cache"
    if request.endpoint in {"help_centre.search_page", "help_centre.deflected"}:
        response.headers["X-Robots-Tag"] = "noindex"
    return visitors.remember_visitor(response)


@blueprint.errorhandler(NotFound)
def _not_found(error: NotFound):
    return render_template(T + "message.html", status=404), 404


@blueprint.errorhandler(InvalidInput)
def _invalid(error: InvalidInput):
    return render_template(T + "message.html", status=400), 400


@blueprint.context_processor
def _page_helpers() -> dict:
    def lang_url(code: str) -> str:
        # The same page in the other language (keeping ?q= and the rest); a POST's result
        # page switches on the start page instead.
        if request.method != "GET" or not (request.endpoint or "").startswith("help_centre."):
            return url_for("help_centre.home", lang=code)
        view_args = request.view_args or {}
        # Only plain query parameters: a name url_for itself takes ("endpoint", "_scheme"…)
        # or one of the path's would break the link (a TypeError, a 500).
        args = {name: value for name, value in request.args.items()
                if name not in view_args and name != "endpoint" and not name.startswith("_")}
        return url_for(request.endpoint, **view_args, **{**args, "lang": code})

    return {"lang_url": lang_url, "content_language": _language(),
            "kind_label": lambda kind: KIND_LABELS.get(kind, kind),
            "issue_status_label": lambda status: ISSUE_STATUS_LABELS.get(status, status),
            "category_name": lambda category: category.name(_language()),
            "article_url": _article_url}


def _public_limit() -> str:
    return current_app.config["RATELIMIT_PUBLIC"]


def _language() -> str:
    """The reader's language as articles store it: "zh" or "en"."""
    locale = get_locale()
    return "zh" if locale is not None and locale.language == "zh" else "en"


def _article_url(article: Article, **args) -> str:
    return url_for("help_centre.article", article_id=article.id, **args)


def _public():
    """Published public articles: what anyone may read (the SQL form of access.may_see)."""
    return select(Article).where(Article.status == ArticleStatus.PUBLISHED,
                                 Article.audience == Audience.PUBLIC)


# ---- pages ----

@blueprint.get("")
def home():
    """Search box, top-level categories with counts, popular and recent articles."""
    categories, counts = _categories_with_counts()
    top = [category for category in categories if category.parent_id is None]
    return render_template(T + "home.html", categories=top, counts=counts,
                           popular=_in_language_first(Article.view_count.desc()),
                           recent=_in_language_first(Article.updated_at.desc()),
                           form=HelpSearchForm(formdata=None))


@blueprint.get("/categories/<id:category_id>")
def category(category_id: int):
    """A category: breadcrumbs, subcategories, its articles (the reader's language first)."""
    categories, counts = _categories_with_counts()
    by_id = {item.id: item for item in categories}
    current = by_id.get(category_id)
    if current is None:
        raise NotFound(_("No such category."))
    trail, node = [], current.parent_id
    while node is not None and node in by_id and len(trail) < len(by_id):
        trail.insert(0, by_id[node])
        node = by_id[node].parent_id
    children = [item for item in categories if item.parent_id == current.id]
    page = _page_number(request.args.get("page"))
    rows = db.session.scalars(
        _public().where(Article.category_id == current.id)
        .order_by(case((Article.language == _language(), 0), else_=1), Article.title,
                  Article.id)
        .offset((page - 1) * CATEGORY_PAGE).limit(CATEGORY_PAGE + 1)).all()
    return render_template(T + "category.html", category=current, trail=trail,
                           children=children, counts=counts, articles=rows[:CATEGORY_PAGE],
                           page=page, has_next=len(rows) > CATEGORY_PAGE)


@blueprint.get("/articles/<id:article_id>")
@blueprint.get("/articles/<id:article_id>-<slug>")
def article(article_id: int, slug: str | None = None):
    """One article; each GET counts one view."""
    found = access.visible_article(None, article_id)
    if request.method == "GET":  # a HEAD (a link checker) is no reader
        # End the read first: SQLite upgrades a GET's deferred read to a write badly.
        db.session.commit()
        stats.record_view(found.id)
        db.session.commit()
    return _article_page(found, FeedbackForm(formdata=None))


@blueprint.post("/articles/<id:article_id>/feedback")
@limiter.limit(_public_limit, methods=["POST"])
def article_feedback(article_id: int):
    """"Was this helpful?": one vote per visitor (a new vote replaces the old one)."""
    found = access.visible_article(None, article_id)
    form = FeedbackForm()
    if not form.validate_on_submit():
        return _article_page(found, form, feedback_errors=True), 400
    helpful = form.helpful.data == "yes"
    feedback.vote(found.id, visitors.visitor_key(), helpful, comment=form.comment.data,
                  language=_language())
    db.session.commit()
    return render_template(T + "feedback_done.html", article=found, helpful=helpful,
                           commented=bool((form.comment.data or "").strip()))


@blueprint.get("/search")
def search_page():
    """Ranked results with highlights and filters; every search is recorded."""
    form = HelpSearchForm(formdata=request.args)
    categories, _counts = _categories_with_counts()
    context = {"form": form, "category_options": _category_options(categories),
               "result": None, "hits": [], "page": 1}
    if not form.validate():
        return render_template(T + "search.html", **context), 400
    text = strip_controls(form.q.data or "").strip()
    context["q"] = text
    if not text:
        return render_template(T + "search.html", **context)
    category_id = int(form.category.data) if form.category.data else None
    if category_id is not None and not is_id(category_id):
        form.category.errors = [_("Choose a category from the list.")]
        return render_template(T + "search.html", **context), 400
    page = int(form.page.data) if form.page.data else 1
    result = search.search(search.SearchQuery(
        text=text, category_id=category_id, product=(form.product.data or "").strip() or None,
        kind=form.kind.data or None, public_only=True, limit=SEARCH_PAGE,
        offset=(page - 1) * SEARCH_PAGE))
    hits = _public_hits(result.hits)
    if page == 1:  # a further page of the same search is not another search
        db.session.commit()  # end the read (see article())
        record_search(text, SearchSource.HELP_CENTRE, language=_language(), results=result.total)
        db.session.commit()
    context.update(result=result, hits=hits, page=page,
                   has_next=result.total > page * SEARCH_PAGE)
    return render_template(T + "search.html", **context)


@blueprint.post("/deflections")
@limiter.limit(_public_limit, methods=["POST"])
def deflect():
    """"This solved my problem": count a deflection, then say thank you."""
    form = DeflectionForm()
    if not form.validate_on_submit():
        return render_template(T + "message.html", status=400), 400
    viewer = current_viewer()
    source = DeflectionSource(form.source.data)
    query = form.q.data or ""
    record_deflection(int(form.article_id.data), source, query=query,
                      contact_id=viewer.contact.id if viewer else None, language=_language())
    db.session.commit()
    return redirect(url_for("help_centre.deflected", source=source.value, q=query or None), 303)


@blueprint.get("/deflections/done")
def deflected():
    """The thank-you page after "this solved my problem"."""
    source = request.args.get("source")
    query = strip_controls(request.args.get("q", ""))[:DEFLECTION_QUERY_MAX].strip()
    return render_template(T + "deflected.html",
                           request_url=_request_url(source, query or None))


@blueprint.get("/articles/<id:article_id>/files/<id:attachment_id>")
def article_file(article_id: int, attachment_id: int):
    """A file of a published public article: images inline, anything else downloaded."""
    attachment = attachments.attachment_for(None, article_id, attachment_id)
    inline = attachment.content_type in INLINE_TYPES
    response = send_file(BytesIO(attachment.data), mimetype=attachment.content_type,
                         as_attachment=not inline, download_name=attachment.filename,
                         etag=attachment.sha256, last_modified=attachment.created_at,
                         max_age=FILE_MAX_AGE, conditional=True)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# ---- page data ----

def _article_page(found: Article, form: FeedbackForm, *, feedback_errors: bool = False) -> str:
    """The article page (also shown again, with messages, after a bad vote)."""
    came_from = request.args.get("from")
    came_from = came_from if came_from in FORM_SOURCES else None
    query = strip_controls(request.args.get("q", ""))[:DEFLECTION_QUERY_MAX].strip()
    deflection_form = DeflectionForm(formdata=None, article_id=str(found.id),
                                     source=came_from or DeflectionSource.HELP_CENTRE.value,
                                     q=query)
    return render_template(
        T + "article.html", article=found, body=markdown.render_article(found),
        translations=_translations(found), related=_related(found), form=form,
        feedback_errors=feedback_errors,
        vote=feedback.current_vote(found.id, visitors.visitor_key()),
        came_from=came_from, query=query, deflection_form=deflection_form,
        request_url=_request_url(came_from, query or found.title),
        back_url=_request_url(came_from, query or None),
        is_known_issue=found.kind == ArticleKind.KNOWN_ISSUE)


def _request_url(source: str | None, subject: str | None) -> str:
    """Where to submit a request: the portal's form for portal visitors, else the web form."""
    if source == DeflectionSource.PORTAL.value:
        return url_for("portal.new_ticket", subject=subject)
    return url_for("tickets_public.support_new", subject=subject)


def _translations(found: Article) -> list[Article]:
    """The article's published public translations."""
    return [other for other in articles.translations(found) if access.may_see(None, other)]


def _related(found: Article) -> list[Article]:
    """Up to RELATED other public articles like this one (search suggestions on its title)."""
    hits = search.suggest(found.title, public_only=True, limit=RELATED + 1)
    ids = [hit.article_id for hit in hits if hit.article_id != found.id][:RELATED]
    if not ids:
        return []
    rows = {row.id: row for row in db.session.scalars(_public().where(Article.id.in_(ids)))}
    return [rows[article_id] for article_id in ids if article_id in rows]


def _public_hits(hits: list) -> list[tuple]:
    """Search hits with their articles, in rank order; never one the public may not see."""
    ids = [hit.article_id for hit in hits]
    rows = ({row.id: row for row in db.session.scalars(_public().where(Article.id.in_(ids)))}
            if ids else {})
    return [(hit, rows[hit.article_id]) for hit in hits if hit.article_id in rows]


def _in_language_first(order) -> list[Article]:
    """HOME_LIST articles in `order`, the reader's language first."""
    return list(db.session.scalars(
        _public().order_by(case((Article.language == _language(), 0), else_=1), order,
                           Article.id.desc()).limit(HOME_LIST)))


def _categories_with_counts() -> tuple[list[Category], dict[int, int]]:
    """Every category (by position) and its published public articles, subcategories'
    included (one grouped count, added up the tree here)."""
    categories = list(db.session.scalars(select(Category).order_by(Category.position,
                                                                   Category.id)))
    parents = {category.id: category.parent_id for category in categories}
    direct = db.session.execute(
        _public().with_only_columns(Article.category_id, func.count())
        .where(Article.category_id.is_not(None)).group_by(Article.category_id)).all()
    totals: dict[int, int] = defaultdict(int)
    for category_id, number in direct:
        node, seen = category_id, set()
        while node is not None and node not in seen:  # `seen`: a cycle never loops forever
            totals[node] += number
            seen.add(node)
            node = parents.get(node)
    return categories, totals


def _category_options(categories: list[Category]) -> list[tuple[int, str]]:
    """(id, indented name) in tree order, for the search filter."""
    children: dict[int | None, list[Category]] = defaultdict(list)
    for category in categories:
        children[category.parent_id].append(category)
    options: list[tuple[int, str]] = []
    seen: set[int] = set()

    def walk(parent_id: int | None, depth: int) -> None:
        for category in children.get(parent_id, ()):
            if category.id in seen:  # a cycle in the tree is never walked twice
                continue
            seen.add(category.id)
            options.append((category.id, "\u2003" * depth + category.name(_language())))
            walk(category.id, depth + 1)

    walk(None, 0)
    return options


def _page_number(raw: str | None) -> int:
    """?page=N (1–999); anything else is the first page."""
    return int(raw) if raw and raw.isascii() and raw.isdigit() and len(raw) <= 3 \
        and int(raw) > 0 else 1
