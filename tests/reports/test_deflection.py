"""The deflection report on a small hand-worked data set, on SQLite and PostgreSQL.

Period: March 2026 in UTC, [03-01, 04-01); its previous period is [01-29, 03-01).

Deflections: March web_form ×3, portal ×1, help_centre ×2 = 6; February portal ×1;
April 1st 00:00 help_centre ×1 (the end is excluded).
Tickets: March web ×2 (one of another team), portal ×2, email ×1 (no suggestion is shown
there: not counted); February web ×1.

Total: 6 deflections, 4 tickets, rate 6 / (6 + 4) = 60.0 %.
Previous: 1 deflection, 1 ticket, 50.0 %.
By source (each beside its channel's tickets): web_form 3 / (3 + 2) = 60.0 %; portal
1 / (1 + 2) = 33.3 %; help_centre 2 / (2 + 0) = 100.0 % (no channel of its own).
Previous by source: portal 1 / (1 + 0) = 100.0 %, web_form 0 / (0 + 1) = 0.0 %.
By month over [02-01, 04-01): February 1 and 1 (50.0 %), March 6 and 4 (60.0 %).
"""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from knowledge_base.models import Article, ArticleKind, ArticleStatus, Audience, Deflection
from knowledge_base.models import DeflectionSource as Source
from knowledge_base.report import DEFLECTION
from service.errors import InvalidInput
from service.extensions import db
from service.reports import engine
from service.reports.query import Grouping, Slice
from service.reports.service import tickets_for
from tickets.models import Channel


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


MARCH = Slice(utc(2026, 3, 1), utc(2026, 4, 1))
QUERY = "from=2026-03-01&to=2026-03-31&tz=UTC"



@pytest.fixture
def data(database, make_ticket, make_team):
    article = Article(kind=ArticleKind.HOWTO, title="Reset the router", language="en",
                      audience=Audience.PUBLIC, status=ArticleStatus.PUBLISHED, sections={},
                      tags=[])
    db.session.add(article)
    db.session.flush()
    for source, at in [(Source.WEB_FORM, utc(2026, 3, 1)), (Source.WEB_FORM, utc(2026, 3, 9)),
                       (Source.WEB_FORM, utc(2026, 3, 31, 23, 59)),
                       (Source.PORTAL, utc(2026, 3, 5)), (Source.HELP_CENTRE, utc(2026, 3, 6)),
                       (Source.HELP_CENTRE, utc(2026, 3, 7)), (Source.PORTAL, utc(2026, 2, 27)),
                       (Source.HELP_CENTRE, utc(2026, 4, 1))]:
        db.session.add(Deflection(article_id=article.id, source=source, created_at=at))
    elsewhere = make_team("Elsewhere")
    for channel, at in [(Channel.WEB, utc(2026, 3, 2)), (Channel.WEB, utc(2026, 3, 3)),
                        (Channel.PORTAL, utc(2026, 3, 4)), (Channel.PORTAL, utc(2026, 3, 30)),
                        (Channel.EMAIL, utc(2026, 3, 10)), (Channel.WEB, utc(2026, 2, 20))]:
        ticket = make_ticket(channel=channel)
        ticket.created_at = at
        if at == utc(2026, 3, 3):
            ticket.team_id = elsewhere.id
    db.session.commit()


def test_counts_rate_and_previous_period(data):
    result = engine.run_with_previous(DEFLECTION.metric, MARCH)
    assert result["total"] == {"deflections": 6, "tickets": 4, "rate": 60.0, "web_form": 3,
                               "portal": 1, "help_centre": 2}
    assert result["previous"]["total"] == {"deflections": 1, "tickets": 1, "rate": 50.0,
                                           "web_form": 0, "portal": 1, "help_centre": 0}


def test_by_source_each_beside_its_channel(data):
    result = engine.run_with_previous(DEFLECTION.metric, MARCH, Grouping.SOURCE)
    groups = {group["key"]: group for group in result["groups"]}
    assert {key: (group["deflections"], group["tickets"], group["rate"])
            for key, group in groups.items()} == {
        "web_form": (3, 2, 60.0), "portal": (1, 2, 33.3), "help_centre": (2, 0, 100.0)}
    # February: the portal deflection beside no portal ticket, the web ticket beside none.
    assert groups["portal"]["previous"]["rate"] == 100.0
    assert (groups["web_form"]["previous"]["deflections"], groups["web_form"]["previous"][
        "tickets"], groups["web_form"]["previous"]["rate"]) == (0, 1, 0.0)
    assert groups["help_centre"]["previous"] is None


def test_by_month(data):
    from zoneinfo import ZoneInfo

    period = Slice(utc(2026, 2, 1), utc(2026, 4, 1))
    result = engine.run(DEFLECTION.metric, period, Grouping.MONTH, zone=ZoneInfo("UTC"))
    assert [(group["key"], group["deflections"], group["tickets"], group["rate"])
            for group in result["groups"]] == [("2026-02-01", 1, 1, 50.0),
                                               ("2026-03-01", 6, 4, 60.0)]
    assert result["total"]["rate"] == round(100 * 7 / 12, 1)  # 58.3


def test_nothing_to_divide_is_none(database):
    assert engine.run(DEFLECTION.metric, MARCH)["total"]["rate"] is None


def test_api_filters_scope_drill_and_readers(data, database, make_user, auth, support_team):
    client = database.test_client()
    admin = auth(make_user("admin"))
    body = client.get(f"/api/v1/reports/deflection?{QUERY}", headers=admin).get_json()
    assert body["metric"] == "deflection" and body["total"]["rate"] == 60.0
    assert body["previous"]["total"]["rate"] == 50.0
    # Company-wide: a lead's team scope does not narrow it (one ticket is another team's).
    lead = auth(make_user("lead", team=support_team))
    led = client.get(f"/api/v1/reports/deflection?{QUERY}", headers=lead)
    assert led.status_code == 200 and led.get_json()["total"]["tickets"] == 4
    for query, field in (("team=1", "team"), ("channel=web", "channel"),
                         ("group_by=team", "group_by"), ("group_by=channel", "group_by")):
        refused = client.get(f"/api/v1/reports/deflection?{QUERY}&{query}", headers=admin)
        assert refused.status_code == 400, (query, refused.get_json())
        assert refused.mimetype == "application/problem+json"
        assert field in refused.get_json()["errors"]
    assert client.get("/api/v1/reports/deflection").status_code == 401
    assert client.get("/api/v1/reports/deflection",
                      headers=auth(make_user("agent"))).status_code == 403
    listing = client.get("/api/v1/reports", headers=admin).get_json()["items"]
    [described] = [item for item in listing if item["name"] == "deflection"]
    assert described["section"] == "self_service" and described["filters"] == []
    assert described["group_by"] == ["day", "week", "month", "source"]
    assert not any(column["drillable"] for column in described["columns"])
    with pytest.raises(InvalidInput):
        tickets_for(DEFLECTION, make_user("admin"), {"tz": "UTC"}, "deflections", None,
                    utc(2026, 4, 10))
    exported = client.get(f"/api/v1/reports/deflection?{QUERY}&group_by=source&format=csv",
                          headers=admin)
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
