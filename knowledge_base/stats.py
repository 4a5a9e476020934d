"""The knowledge base's numbers: views, votes, deflections, tickets served, searches.

Everything is counted in SQL (COUNT / SUM / GROUP BY); no rows are loaded to be counted.
A period is [since, until). Views are kept per UTC day, so a period's views are those of
the days it overlaps.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import distinct, func, select, update

from service.auth.models import User
from service.db_types import utcnow
from service.errors import NotFound
from service.extensions import db
from knowledge_base.models import (Article, ArticleDailyViews, ArticleFeedback, ArticleStatus,
                                   ArticleTicket, Deflection, Search, TicketLinkKind)

CONTENT_GAPS = 20
TOP_ARTICLES = 10
REVIEW_DUE = 50
# Links that count as "this ticket was served by an article".
SERVING_KINDS = (TicketLinkKind.USED, TicketLinkKind.LINKED)


@dataclass(frozen=True)
class ContentGap:
    query: str
    searches: int
    last_at: datetime


@dataclass(frozen=True)
class ReviewDue:
    article_id: int
    title: str
    language: str
    review_by: date
    owner_name: str | None


@dataclass(frozen=True)
class TopArticle:
    article_id: int
    title: str
    views: int
    helpful_yes: int
    helpful_no: int
    deflections: int
    used: int


@dataclass(frozen=True)
class KbNumbers:
    since: datetime
    until: datetime
    views: int
    helpful_yes: int
    helpful_no: int
    helpful_rate: float | None
    deflections: int
    deflections_by_source: dict[str, int]
    articles_used: int
    tickets_with_article: int
    tickets_resolved_with_article: int
    searches: int
    searches_without_result: int
    content_gaps: list[ContentGap]
    review_due: list[ReviewDue]
    top_articles: list[TopArticle]


@dataclass(frozen=True)
class ArticleNumbers:
    views: int
    helpful_yes: int
    helpful_no: int
    helpful_rate: float | None
    deflections: int
    tickets_used: int
    tickets_linked: int


def helpful_rate(yes: int, no: int) -> float | None:
    """The share of "helpful" votes, or None without any vote."""
    return yes / (yes + no) if yes + no else None


# ---- counting a view ----

def _dialect_insert():
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def record_view(article_id: int, *, day: date | None = None) -> None:
    """Count one view: the article's view_count and today's (UTC) row; the caller commits.

    Both are single atomic statements (an UPDATE … + 1 and an upsert), so concurrent views
    never lose a count. NotFound when there is no such article.
    """
    bumped = db.session.execute(update(Article).where(Article.id == article_id)
                                .values(view_count=Article.view_count + 1)
                                .execution_options(synchronize_session=False))
    if bumped.rowcount == 0:
        raise NotFound("No such article.")
    table = ArticleDailyViews.__table__
    statement = _dialect_insert()(table).values(article_id=article_id,
                                                day=day or utcnow().date(), views=1)
    db.session.execute(statement.on_conflict_do_update(
        index_elements=[table.c.article_id, table.c.day],
        set_={"views": table.c.views + 1}))


# ---- a period ----

def _days(since: datetime, until: datetime):
    """SQL condition: the daily-views rows of the days the period overlaps."""
    last = (until - timedelta(microseconds=1)).date()
    return ArticleDailyViews.day.between(since.date(), last)


def _count(statement) -> int:
    return int(db.session.scalar(statement) or 0)


def numbers(since: datetime, until: datetime) -> KbNumbers:
    """The knowledge base's numbers over [since, until) (review_due: as of today)."""
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("since and until must be timezone-aware")
    views = _count(select(func.sum(ArticleDailyViews.views)).where(_days(since, until)))
    voted = ArticleFeedback.updated_at >= since, ArticleFeedback.updated_at < until
    yes, no = db.session.execute(
        select(func.count().filter(ArticleFeedback.helpful.is_(True)),
               func.count().filter(ArticleFeedback.helpful.is_(False))).where(*voted)).one()
    deflected = Deflection.created_at >= since, Deflection.created_at < until
    by_source = {str(getattr(source, "value", source)): int(total) for source, total in
                 db.session.execute(select(Deflection.source, func.count())
                                    .where(*deflected).group_by(Deflection.source))}
    used = (ArticleTicket.kind == TicketLinkKind.USED, ArticleTicket.created_at >= since,
            ArticleTicket.created_at < until)
    articles_used, tickets_with_article = db.session.execute(
        select(func.count(), func.count(distinct(ArticleTicket.ticket_id))).where(*used)).one()
    resolved = _count(select(func.count(distinct(ArticleTicket.ticket_id))).where(
        ArticleTicket.kind.in_(SERVING_KINDS), ArticleTicket.ticket_resolved_at >= since,
        ArticleTicket.ticket_resolved_at < until))
    searched = Search.created_at >= since, Search.created_at < until
    searches, without_result = db.session.execute(
        select(func.count(), func.count().filter(Search.results == 0)).where(*searched)).one()
    return KbNumbers(
        since=since, until=until, views=views, helpful_yes=int(yes), helpful_no=int(no),
        helpful_rate=helpful_rate(int(yes), int(no)), deflections=sum(by_source.values()),
        deflections_by_source=by_source, articles_used=int(articles_used),
        tickets_with_article=int(tickets_with_article), tickets_resolved_with_article=resolved,
        searches=int(searches), searches_without_result=int(without_result),
        content_gaps=content_gaps(since, until), review_due=review_due(),
        top_articles=top_articles(since, until))


def content_gaps(since: datetime, until: datetime, *, limit: int = CONTENT_GAPS
                 ) -> list[ContentGap]:
    """The most frequent searches that found nothing in the period, most asked first."""
    total = func.count().label("total")
    last_at = func.max(Search.created_at).label("last_at")
    rows = db.session.execute(
        select(Search.query, total, last_at)
        .where(Search.results == 0, Search.created_at >= since, Search.created_at < until)
        .group_by(Search.query).order_by(total.desc(), last_at.desc(), Search.query)
        .limit(limit))
    return [ContentGap(row.query, int(row.total), row.last_at) for row in rows]


def review_due(*, today: date | None = None, limit: int = REVIEW_DUE) -> list[ReviewDue]:
    """Published articles past their review date, the longest overdue first."""
    rows = db.session.execute(
        select(Article.id, Article.title, Article.language, Article.review_by, User.name)
        .outerjoin(User, User.id == Article.owner_id)
        .where(Article.status == ArticleStatus.PUBLISHED,
               Article.review_by < (today or utcnow().date()))
        .order_by(Article.review_by, Article.id).limit(limit))
    return [ReviewDue(row[0], row[1], row[2], row[3], row[4]) for row in rows]


def top_articles(since: datetime, until: datetime, *, limit: int = TOP_ARTICLES
                 ) -> list[TopArticle]:
    """The most viewed articles of the period, with their votes, deflections and uses then."""
    views = func.sum(ArticleDailyViews.views).label("views")
    rows = db.session.execute(
        select(ArticleDailyViews.article_id, Article.title, views)
        .join(Article, Article.id == ArticleDailyViews.article_id)
        .where(_days(since, until))
        .group_by(ArticleDailyViews.article_id, Article.title)
        .order_by(views.desc(), ArticleDailyViews.article_id).limit(limit)).all()
    ids = [row.article_id for row in rows]
    if not ids:
        return []
    votes = {row.article_id: (int(row.yes), int(row.no)) for row in db.session.execute(
        select(ArticleFeedback.article_id,
               func.count().filter(ArticleFeedback.helpful.is_(True)).label("yes"),
               func.count().filter(ArticleFeedback.helpful.is_(False)).label("no"))
        .where(ArticleFeedback.article_id.in_(ids), ArticleFeedback.updated_at >= since,
               ArticleFeedback.updated_at < until)
        .group_by(ArticleFeedback.article_id))}
    deflections = dict(db.session.execute(
        select(Deflection.article_id, func.count())
        .where(Deflection.article_id.in_(ids), Deflection.created_at >= since,
               Deflection.created_at < until)
        .group_by(Deflection.article_id)).all())
    uses = dict(db.session.execute(
        select(ArticleTicket.article_id, func.count())
        .where(ArticleTicket.article_id.in_(ids), ArticleTicket.kind == TicketLinkKind.USED,
               ArticleTicket.created_at >= since, ArticleTicket.created_at < until)
        .group_by(ArticleTicket.article_id)).all())
    return [TopArticle(row.article_id, row.title, int(row.views),
                       *votes.get(row.article_id, (0, 0)),
                       int(deflections.get(row.article_id, 0)),
                       int(uses.get(row.article_id, 0))) for row in rows]


# ---- one article ----

def article_numbers(article_id: int) -> ArticleNumbers:
    """One article's numbers since it was written (views and votes from its counters)."""
    row = db.session.execute(select(Article.view_count, Article.helpful_yes, Article.helpful_no)
                             .where(Article.id == article_id)).one_or_none()
    if row is None:
        raise NotFound("No such article.")
    deflections = _count(select(func.count()).select_from(Deflection)
                         .where(Deflection.article_id == article_id))
    used, linked = db.session.execute(
        select(func.count(distinct(ArticleTicket.ticket_id)).filter(
                   ArticleTicket.kind == TicketLinkKind.USED),
               func.count(distinct(ArticleTicket.ticket_id)).filter(
                   ArticleTicket.kind == TicketLinkKind.LINKED))
        .where(ArticleTicket.article_id == article_id)).one()
    yes, no = int(row.helpful_yes or 0), int(row.helpful_no or 0)
    return ArticleNumbers(views=int(row.view_count or 0), helpful_yes=yes, helpful_no=no,
                          helpful_rate=helpful_rate(yes, no), deflections=deflections,
                          tickets_used=int(used), tickets_linked=int(linked))
