"""The reports framework on a small hand-worked data set, on SQLite and PostgreSQL:
measures, percentiles (interpolated like percentile_cont), the previous period, drill-down
and the generic API with its exports.

Data (all in UTC, March 2026 = [03-01, 04-01), February = the previous 28 days… of the
same length: [2026-01-29, 03-01)):
  March: 4 tickets — web ×2 (one still open), email ×1, phone ×1 (a follow-up).
  February: 1 web ticket. April: 1 email ticket (outside).
"""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from service.extensions import db
from service.reports import engine
from service.reports.query import Grouping, Part, Slice, aggregate, percentile
from tickets.analytics.intake import INTAKE
from tickets.models import Channel, Status, Ticket


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


MARCH = Slice(utc(2026, 3, 1), utc(2026, 4, 1))



def _ticket(make_ticket, channel: Channel, created: datetime, *, status=Status.CLOSED,
            follow_up_of=None) -> Ticket:
    ticket = make_ticket(channel=channel)
    ticket.created_at = created
    ticket.status = status
    ticket.follow_up_of_id = follow_up_of
    db.session.commit()
    return ticket


@pytest.fixture
def tickets(database, make_ticket):
    made = [_ticket(make_ticket, Channel.WEB, utc(2026, 3, 2, 9)),
            _ticket(make_ticket, Channel.WEB, utc(2026, 3, 15, 23, 30), status=Status.OPEN),
            _ticket(make_ticket, Channel.EMAIL, utc(2026, 3, 31, 23, 59))]
    made.append(_ticket(make_ticket, Channel.PHONE, utc(2026, 3, 20), follow_up_of=made[0].id))
    made.append(_ticket(make_ticket, Channel.WEB, utc(2026, 2, 10)))
    made.append(_ticket(make_ticket, Channel.EMAIL, utc(2026, 4, 1)))
    return made


def test_totals_groups_and_previous(tickets):
    result = engine.run_with_previous(INTAKE.metric, MARCH, Grouping.CHANNEL)
    assert result["total"] == {"created": 4, "still_open": 1, "follow_ups": 1}
    by_channel = {group["key"]: group for group in result["groups"]}
    assert by_channel["web"]["created"] == 2 and by_channel["web"]["still_open"] == 1
    assert by_channel["web"]["previous"] == {"created": 1, "still_open": 0, "follow_ups": 0}
    assert by_channel["email"]["previous"] is None
    assert result["previous"]["total"]["created"] == 1
    assert result["previous"]["from"] == utc(2026, 1, 29)


def test_drill_down_lists_the_tickets_behind_a_number(tickets):
    web_open = engine.tickets_behind(INTAKE.metric, MARCH, "still_open",
                                     group_by=Grouping.CHANNEL, key=Channel.WEB)
    assert set(db.session.scalars(web_open)) == {tickets[1].id}
    follow_ups = engine.tickets_behind(INTAKE.metric, MARCH, "follow_ups")
    assert set(db.session.scalars(follow_ups)) == {tickets[3].id}


def test_percentiles_interpolate_like_percentile_cont(tickets):
    """Ids of the March tickets as values: p50 and p90 of 4 values a<b<c<d are
    (b+c)/2 and c + 0.7·(d−c); per channel too."""
    ids = sorted(ticket.id for ticket in tickets[:4])
    part = Part(Ticket.created_at, {"n": percentile(Ticket.id, 0.5),
                                    "p90": percentile(Ticket.id, 0.9)})
    total = aggregate([part], MARCH)[()]
    assert total["n"] == pytest.approx((ids[1] + ids[2]) / 2)
    assert total["p90"] == pytest.approx(ids[2] + 0.7 * (ids[3] - ids[2]))
    grouped = aggregate([part], MARCH, groups=[Ticket.channel])
    web = [tickets[0].id, tickets[1].id]
    assert grouped[(Channel.WEB,)]["n"] == pytest.approx(sum(web) / 2)


def test_api_report_catalog_errors_and_exports(tickets, database, make_user, auth):
    client = database.test_client()
    admin = auth(make_user("admin"))
    listing = client.get("/api/v1/reports", headers=admin).get_json()
    assert "intake" in [item["name"] for item in listing["items"]]
    response = client.get("/api/v1/reports/intake?from=2026-03-01&to=2026-03-31&tz=UTC"
                          "&group_by=channel", headers=admin)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["total"]["created"] == 4 and body["previous"]["total"]["created"] == 1
    assert client.get("/api/v1/reports/nope", headers=admin).status_code == 404
    bad = client.get("/api/v1/reports/intake?group_by=breached", headers=admin)
    assert bad.status_code == 400 and "group_by" in bad.get_json()["errors"]
    assert client.get("/api/v1/reports/intake?channel=fax", headers=admin).status_code == 400
    assert client.get("/api/v1/reports/intake").status_code == 401
    agent = auth(make_user("agent"))
    assert client.get("/api/v1/reports/intake", headers=agent).status_code == 403
    exported = client.get("/api/v1/reports/intake?from=2026-03-01&to=2026-03-31&tz=UTC"
                          "&group_by=channel&format=csv", headers=admin)
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert rows[-1][:3] == ["Total", "4", "1"]


def test_exports_keep_formulas_as_text(app):
    from openpyxl import load_workbook

    from service.reports import export

    rows = [["Group", "Created"], ["=HYPERLINK(\"http://x\")", 3], ["+1", -2], ["@SUM(A1)", 1],
            ["－1", 0]]
    text = export.to_csv(rows).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text)))[1:] == [
        ["'=HYPERLINK(\"http://x\")", "3"], ["'+1", "-2"], ["'@SUM(A1)", "1"], ["'－1", "0"]]
    sheet = load_workbook(io.BytesIO(export.to_xlsx(rows, "A: [report]"))).active
    assert sheet["A2"].value == "'=HYPERLINK(\"http://x\")" and sheet["A2"].data_type == "s"
    assert sheet["B3"].value == -2


@pytest.mark.parametrize("query", [
    "from=0001-01-01", "to=9999-12-31", "from=1899-12-01&to=1899-12-31",
    "from=9999-12-31T23:00:00-05:00&to=9999-12-31T23:30:00-05:00", "tz=America",
    "tz=..%2Fzoneinfo%2FUTC", "tz=localtime"])
def test_api_refuses_periods_and_zones_out_of_range(database, make_user, auth, query):
    """Dates Python cannot hold (or whose previous period it cannot) and names that are
    not a zone (a folder of them, a path) are 400s, not 500s."""
    response = database.test_client().get(f"/api/v1/reports/intake?{query}",
                                           headers=auth(make_user("admin")))
    assert response.status_code == 400, response.get_json()
    assert set(response.get_json()["errors"]) <= {"from", "tz"}


def test_drill_refuses_keys_no_group_can_have(tickets):
    """A channel that is not one, an id past the database's integers, a product with a
    NUL: InvalidInput (they used to reach the database and fail there)."""
    from service.errors import InvalidInput
    from service.reports.service import parse_key

    with pytest.raises(InvalidInput):
        engine.tickets_behind(INTAKE.metric, MARCH, "created", group_by=Grouping.CHANNEL,
                              key="fax")
    for grouping, text in ((Grouping.TEAM, "9999999999"), (Grouping.PRODUCT, "a\x00b")):
        with pytest.raises(InvalidInput):
            parse_key(grouping, text)
    assert parse_key(Grouping.TEAM, "2147483647") == 2**31 - 1
    assert parse_key(Grouping.DAY, "2026-03-01") == "2026-03-01"
    email = engine.tickets_behind(INTAKE.metric, MARCH, "created", group_by=Grouping.CHANNEL,
                                  key=parse_key(Grouping.CHANNEL, "email"))
    assert set(db.session.scalars(email)) == {tickets[2].id}
