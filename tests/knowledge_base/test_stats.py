"""The knowledge base's numbers on a hand-made data set with known answers, on SQLite and
PostgreSQL; views counted atomically."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from knowledge_base import stats
from knowledge_base.models import (Article, ArticleDailyViews, ArticleFeedback, ArticleKind,
                                   ArticleStatus, ArticleTicket, Audience, Deflection,
                                   DeflectionSource, Search, SearchSource, TicketLinkKind)
from service.errors import NotFound
from service.extensions import db

SINCE = datetime(2026, 3, 1, tzinfo=UTC)
UNTIL = datetime(2026, 3, 8, tzinfo=UTC)  # one week: 1 … 7 March
IN = datetime(2026, 3, 3, 12, tzinfo=UTC)
BEFORE = datetime(2026, 2, 28, 23, 59, tzinfo=UTC)
AFTER = UNTIL  # the end is excluded


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request):
    """Each test once on SQLite and once on PostgreSQL (migrated)."""
    return request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")


def article(title: str, *, status=ArticleStatus.PUBLISHED, review_by: date | None = None,
            owner=None, **fields) -> Article:
    row = Article(kind=ArticleKind.HOWTO, title=title, language="en", audience=Audience.PUBLIC,
                  status=status, review_by=review_by, owner_id=owner.id if owner else None,
                  sections={}, tags=[], **fields)
    db.session.add(row)
    db.session.flush()
    return row


def views(article_row: Article, day: date, count: int) -> None:
    db.session.add(ArticleDailyViews(article_id=article_row.id, day=day, views=count))


def vote(article_row: Article, key: str, helpful: bool, at: datetime) -> None:
    db.session.add(ArticleFeedback(article_id=article_row.id, visitor_key=key, helpful=helpful,
                                   created_at=at - timedelta(days=30), updated_at=at))


def deflect(article_row: Article, source: DeflectionSource, at: datetime) -> None:
    db.session.add(Deflection(article_id=article_row.id, source=source, created_at=at))


def searched(query: str, results: int, at: datetime) -> None:
    db.session.add(Search(query=query, source=SearchSource.HELP_CENTRE, results=results,
                          created_at=at))


def link(article_row: Article, ticket, kind: TicketLinkKind, at: datetime,
         resolved_at: datetime | None = None) -> None:
    db.session.add(ArticleTicket(article_id=article_row.id, ticket_id=ticket.id, kind=kind,
                                 created_at=at, ticket_resolved_at=resolved_at))


@pytest.fixture
def sqlite_data_set(app, make_ticket, make_user):
    """The data set on SQLite only (checks that do not depend on the dialect)."""
    return _data_set(make_ticket, make_user)


@pytest.fixture
def data_set(backend, make_ticket, make_user):
    return _data_set(make_ticket, make_user)


def _data_set(make_ticket, make_user):
    owner = make_user("agent", name="Olive Owner")
    a = article("Reset a password", review_by=date(2020, 1, 1), owner=owner)
    b = article("Clear a paper jam", review_by=date(2019, 6, 1))
    c = article("Set up the scanner", review_by=date(2999, 1, 1))
    d = article("An old draft", status=ArticleStatus.DRAFT, review_by=date(2018, 1, 1))
    # Views: a 10+5 in the week (+100 before, +7 after), b 20, c 3.
    views(a, date(2026, 3, 1), 10)
    views(a, date(2026, 3, 7), 5)
    views(a, date(2026, 2, 28), 100)
    views(a, date(2026, 3, 8), 7)
    views(b, date(2026, 3, 4), 20)
    views(c, date(2026, 3, 2), 3)
    # Votes in the week: a 2 yes 1 no, b 1 no; one before, one after.
    vote(a, "v1", True, IN)
    vote(a, "v2", True, IN)
    vote(a, "v3", False, IN)
    vote(b, "v1", False, IN)
    vote(b, "v2", True, BEFORE)
    vote(c, "v1", True, AFTER)
    # Deflections: 2 web form + 1 help centre in the week (a, a, b), one before.
    deflect(a, DeflectionSource.WEB_FORM, IN)
    deflect(a, DeflectionSource.WEB_FORM, SINCE)
    deflect(b, DeflectionSource.HELP_CENTRE, IN)
    deflect(b, DeflectionSource.PORTAL, BEFORE)
    # Searches: 6 in the week, 4 without a result ("toner" twice, "wifi" twice); one before.
    searched("toner", 0, IN)
    searched("toner", 0, IN + timedelta(hours=1))
    searched("wifi", 0, IN - timedelta(hours=1))
    searched("wifi", 0, IN - timedelta(hours=2))
    searched("password", 3, IN)
    searched("jam", 1, IN)
    searched("fax", 0, BEFORE)
    # Tickets: a used on t1 and t2, b used on t1, c linked to t3; an old use of a on t4.
    t1, t2, t3, t4 = (make_ticket(subject=f"Ticket {n}") for n in range(4))
    link(a, t1, TicketLinkKind.USED, IN, resolved_at=IN + timedelta(days=1))
    link(b, t1, TicketLinkKind.USED, IN, resolved_at=IN + timedelta(days=1))
    link(a, t2, TicketLinkKind.USED, IN)
    link(c, t3, TicketLinkKind.LINKED, BEFORE, resolved_at=IN)
    link(a, t4, TicketLinkKind.USED, BEFORE, resolved_at=BEFORE)
    link(d, t2, TicketLinkKind.SOURCE, IN, resolved_at=IN)  # a source never counts
    db.session.commit()
    return {"a": a, "b": b, "c": c, "d": d, "tickets": (t1, t2, t3, t4)}


def test_numbers_of_a_week(data_set):
    result = stats.numbers(SINCE, UNTIL)
    assert (result.since, result.until) == (SINCE, UNTIL)
    assert result.views == 10 + 5 + 20 + 3
    assert (result.helpful_yes, result.helpful_no) == (2, 2)
    assert result.helpful_rate == 0.5
    assert result.deflections == 3
    assert result.deflections_by_source == {"web_form": 2, "help_centre": 1}
    assert result.articles_used == 3
    assert result.tickets_with_article == 2
    assert result.tickets_resolved_with_article == 2  # t1 (used) and t3 (linked earlier)
    assert (result.searches, result.searches_without_result) == (6, 4)
    gaps = [(gap.query, gap.searches) for gap in result.content_gaps]
    assert gaps == [("toner", 2), ("wifi", 2)]  # same count: the latest asked first
    assert result.content_gaps[0].last_at == IN + timedelta(hours=1)
    due = [(item.title, item.owner_name) for item in result.review_due]
    assert due == [("Clear a paper jam", None), ("Reset a password", "Olive Owner")]
    top = [(item.title, item.views, item.helpful_yes, item.helpful_no, item.deflections,
            item.used) for item in result.top_articles]
    assert top == [("Clear a paper jam", 20, 0, 1, 1, 1),
                   ("Reset a password", 15, 2, 1, 2, 2),
                   ("Set up the scanner", 3, 0, 0, 0, 0)]


def test_an_empty_period(sqlite_data_set):
    result = stats.numbers(datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 2, 1, tzinfo=UTC))
    assert result.views == result.deflections == result.searches == 0
    assert result.helpful_rate is None
    assert result.content_gaps == [] and result.top_articles == []
    assert result.deflections_by_source == {}
    assert len(result.review_due) == 2  # not bound to the period


def test_a_period_ending_mid_day_counts_that_day(sqlite_data_set):
    result = stats.numbers(SINCE, datetime(2026, 3, 7, 9, tzinfo=UTC))
    assert result.views == 38


def test_naive_times_are_refused(app):
    with pytest.raises(ValueError):
        stats.numbers(datetime(2026, 3, 1), datetime(2026, 3, 8))


def test_article_numbers(sqlite_data_set):
    data_set = sqlite_data_set
    a = data_set["a"]
    a.view_count, a.helpful_yes, a.helpful_no = 122, 3, 1
    db.session.commit()
    result = stats.article_numbers(a.id)
    assert result == stats.ArticleNumbers(views=122, helpful_yes=3, helpful_no=1,
                                          helpful_rate=0.75, deflections=2, tickets_used=3,
                                          tickets_linked=0)
    assert stats.article_numbers(data_set["c"].id).tickets_linked == 1
    with pytest.raises(NotFound):
        stats.article_numbers(999999)


def test_record_view_counts_and_upserts(backend):
    row = article("Counted")
    db.session.commit()
    today = datetime.now(UTC).date()
    for _ in range(3):
        stats.record_view(row.id)
    stats.record_view(row.id, day=today - timedelta(days=1))
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Article, row.id).view_count == 4
    days = dict(db.session.execute(select(ArticleDailyViews.day, ArticleDailyViews.views)
                                   .where(ArticleDailyViews.article_id == row.id)).all())
    assert days == {today: 3, today - timedelta(days=1): 1}


def test_record_view_of_a_missing_article(app):
    with pytest.raises(NotFound):
        stats.record_view(424242)
    db.session.rollback()
    assert db.session.scalar(select(ArticleDailyViews.article_id)) is None
