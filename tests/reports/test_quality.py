"""Reopen rate, repeat issues and complaint rate on small hand-worked data sets, on SQLite
and PostgreSQL. All times UTC; March 2026 = [03-01, 04-01); its previous period is the 31
days before: [2026-01-29, 03-01)."""
from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

import pytest
from service.directory.models import Account
from service.extensions import db
from service.reports import engine
from service.reports.query import Grouping, Slice
from tickets import lifecycle
from tickets.analytics.quality import COMPLAINTS, REOPEN_RATE, REPEAT_ISSUES
from tickets.models import Status, Ticket

_names = count(1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


MARCH = Slice(utc(2026, 3, 1), utc(2026, 4, 1))



@pytest.fixture
def account(database):
    def make() -> Account:
        made = Account(name=f"Account {next(_names)}")
        db.session.add(made)
        db.session.commit()
        return made
    return make


@pytest.fixture
def ticket(database, make_ticket):
    """ticket(created, **columns) → a ticket with those columns set as given."""
    def make(created: datetime, **columns) -> Ticket:
        made = make_ticket()
        made.created_at = created
        for name, value in columns.items():
            setattr(made, name, value)
        db.session.commit()
        return made
    return make


def ids(query) -> set[int]:
    return set(db.session.scalars(query))


# ---------------------------------------------------------------------------- reopen rate

@pytest.fixture
def resolved(ticket):
    """R1 alpha resolved 03-05 never reopened; R2 alpha resolved 03-10, reopened twice;
    R3 beta resolved 03-20, reopened once; R4 resolved 02-15, reopened once (previous
    period); R5 reopened and open now (no resolved_at: not counted); R6 resolved 04-01
    00:00 (after the period: its end is excluded).

    March: resolved 3, reopened 2 (66.7 %), reopens 3. alpha: 2, 1, 50.0 %, 2;
    beta: 1, 1, 100.0 %, 1. Previous: 1, 1, 100.0 %, 1.
    """
    created = utc(2026, 1, 20)
    return [ticket(created, resolved_at=utc(2026, 3, 5), product="alpha", status=Status.CLOSED),
            ticket(created, resolved_at=utc(2026, 3, 10), product="alpha", reopen_count=2,
                   status=Status.RESOLVED),
            ticket(created, resolved_at=utc(2026, 3, 20), product="beta", reopen_count=1,
                   status=Status.CLOSED),
            ticket(created, resolved_at=utc(2026, 2, 15), product="alpha", reopen_count=1,
                   status=Status.CLOSED),
            ticket(created, reopen_count=1, status=Status.REOPENED),
            ticket(created, resolved_at=utc(2026, 4, 1), product="beta", status=Status.CLOSED)]


def test_reopen_rate_totals_groups_and_previous(resolved):
    result = engine.run_with_previous(REOPEN_RATE.metric, MARCH, Grouping.PRODUCT)
    assert result["total"] == {"resolved": 3, "reopened": 2, "percent": 66.7, "reopens": 3}
    groups = {group["key"]: group for group in result["groups"]}
    assert groups["alpha"]["percent"] == 50.0 and groups["alpha"]["reopens"] == 2
    assert groups["beta"]["resolved"] == 1 and groups["beta"]["percent"] == 100.0
    assert groups["alpha"]["previous"] == {"resolved": 1, "reopened": 1, "percent": 100.0,
                                           "reopens": 1}
    assert groups["beta"]["previous"] is None
    assert result["previous"]["total"]["reopens"] == 1


def test_reopen_rate_drills_to_the_reopened_tickets(resolved):
    reopened = engine.tickets_behind(REOPEN_RATE.metric, MARCH, "reopened")
    assert ids(reopened) == {resolved[1].id, resolved[2].id}
    assert ids(engine.tickets_behind(REOPEN_RATE.metric, MARCH, "reopens")) == ids(reopened)
    alpha = engine.tickets_behind(REOPEN_RATE.metric, MARCH, "resolved",
                                  group_by=Grouping.PRODUCT, key="alpha")
    assert ids(alpha) == {resolved[0].id, resolved[1].id}


def test_a_reopened_ticket_counts_when_it_is_resolved_again(ticket):
    """Resolved 02-27, reopened 03-02, resolved again 03-03 through the status flow: it
    counts once, in March (its latest resolution), as reopened once; February has none."""
    made = ticket(utc(2026, 2, 25), status=Status.OPEN)
    lifecycle.change_status(made, Status.RESOLVED, actor=None, now=utc(2026, 2, 27))
    lifecycle.change_status(made, Status.REOPENED, actor=None, now=utc(2026, 3, 2))
    lifecycle.change_status(made, Status.RESOLVED, actor=None, now=utc(2026, 3, 3))
    db.session.commit()
    result = engine.run_with_previous(REOPEN_RATE.metric, MARCH)
    assert result["total"] == {"resolved": 1, "reopened": 1, "percent": 100.0, "reopens": 1}
    assert result["previous"]["total"] == {"resolved": 0, "reopened": 0, "percent": None,
                                           "reopens": 0}


# ---------------------------------------------------------------------------- repeat issues

@pytest.fixture
def repeats(ticket, account):
    """Account A: P1 billing alpha 02-10; P2 billing alpha 03-05 (P1 23 days before:
    repeat); P3 login alpha 03-06 (no earlier login); P4 billing beta 03-20 (P2: repeat,
    whatever the product). Account B: P5 billing alpha 03-07 (A's tickets are not B's);
    P9 no category 03-08 (not counted); P10a and P10b login gamma at the same instant
    03-10 09:00 (the later id repeats the earlier). No account, contact X: P6 billing beta
    01-31 12:00, P7 billing beta 03-02 12:00 (exactly 30 days later: repeat). Contact Y:
    P8a billing alpha 02-01 11:59:59, P8 billing alpha 03-03 12:00 (30 days and 1 s: not).

    March: 8 tickets with a category, 4 repeats (P2, P4, P7, P10b) = 50.0 %.
    alpha: 4 tickets (P2, P3, P5, P8), 1 repeat, 25.0 %; beta: 2 (P4, P7), 2, 100.0 %;
    gamma: 2, 1, 50.0 %. Previous: 3 tickets (P1, P6, P8a), 0 repeats; alpha 2, beta 1.
    """
    a, b = account(), account()
    made = {"P1": ticket(utc(2026, 2, 10), account_id=a.id, category="billing",
                         product="alpha")}
    made["P2"] = ticket(utc(2026, 3, 5), account_id=a.id, category="billing", product="alpha")
    made["P3"] = ticket(utc(2026, 3, 6), account_id=a.id, category="login", product="alpha")
    made["P4"] = ticket(utc(2026, 3, 20), account_id=a.id, category="billing", product="beta")
    made["P5"] = ticket(utc(2026, 3, 7), account_id=b.id, category="billing", product="alpha")
    made["P9"] = ticket(utc(2026, 3, 8), account_id=b.id, product="alpha")
    made["P10a"] = ticket(utc(2026, 3, 10, 9), account_id=b.id, category="login",
                          product="gamma")
    made["P10b"] = ticket(utc(2026, 3, 10, 9), account_id=b.id, category="login",
                          product="gamma")
    made["P6"] = ticket(utc(2026, 1, 31, 12), category="billing", product="beta")
    made["P7"] = ticket(utc(2026, 3, 2, 12), category="billing", product="beta",
                        contact_id=made["P6"].contact_id)
    made["P8a"] = ticket(utc(2026, 2, 1, 11, 59, 59), category="billing", product="alpha")
    made["P8"] = ticket(utc(2026, 3, 3, 12), category="billing", product="alpha",
                        contact_id=made["P8a"].contact_id)
    return made


def test_repeat_issues_by_product(repeats):
    result = engine.run_with_previous(REPEAT_ISSUES.metric, MARCH, Grouping.PRODUCT)
    assert result["total"] == {"tickets": 8, "repeats": 4, "percent": 50.0}
    groups = {group["key"]: group for group in result["groups"]}
    assert {key: (group["tickets"], group["repeats"], group["percent"])
            for key, group in groups.items()} == {
        "alpha": (4, 1, 25.0), "beta": (2, 2, 100.0), "gamma": (2, 1, 50.0)}
    assert groups["alpha"]["previous"] == {"tickets": 2, "repeats": 0, "percent": 0.0}
    assert groups["gamma"]["previous"] is None
    assert result["previous"]["total"] == {"tickets": 3, "repeats": 0, "percent": 0.0}


def test_repeat_issues_drill_down(repeats):
    behind = engine.tickets_behind(REPEAT_ISSUES.metric, MARCH, "repeats")
    assert ids(behind) == {repeats[name].id for name in ("P2", "P4", "P7", "P10b")}
    beta = engine.tickets_behind(REPEAT_ISSUES.metric, MARCH, "repeats",
                                 group_by=Grouping.PRODUCT, key="beta")
    assert ids(beta) == {repeats["P4"].id, repeats["P7"].id}


# ---------------------------------------------------------------------------- complaints

@pytest.fixture
def complaints(ticket, account):
    """COMPLAINT_CATEGORIES = complaint, 投诉. C1 A "Complaint" alpha 03-02 (Monday);
    C3 B 投诉 beta 03-03; C4 no account "complaint" beta 03-10; C2 A billing alpha 03-16;
    C5 C no category alpha 03-20; C6 no account login 03-25; C7 A complaint 02-10.

    March: 6 tickets, 3 complaints (C1, C3, C4), 2 of accounts (C1, C3), 3 active accounts
    (A, B, C): 0.667 per account, 50.0 % of tickets. alpha: 3 tickets, 1 complaint, 2
    accounts (A, C): 0.5, 33.3 %; beta: 2, 2 (1 of an account), 1 account: 1.0, 100.0 %.
    Weeks (UTC, from Monday): 02-23 (Mar 1 only) 0 accounts, 03-02 2, 03-09 0, 03-16 2,
    03-23 0, 03-30 0 — 4 added up, but 3 distinct in the month. Previous: 1, 1, 1 account.
    """
    a, b, c = account(), account(), account()
    return {"C1": ticket(utc(2026, 3, 2), account_id=a.id, category="Complaint",
                         product="alpha"),
            "C3": ticket(utc(2026, 3, 3), account_id=b.id, category="投诉", product="beta"),
            "C4": ticket(utc(2026, 3, 10), category="complaint", product="beta"),
            "C2": ticket(utc(2026, 3, 16), account_id=a.id, category="billing",
                         product="alpha"),
            "C5": ticket(utc(2026, 3, 20), account_id=c.id, product="alpha"),
            "C6": ticket(utc(2026, 3, 25), category="login"),
            "C7": ticket(utc(2026, 2, 10), account_id=a.id, category="complaint")}


def test_complaint_rate_totals_groups_and_previous(complaints):
    result = engine.run_with_previous(COMPLAINTS.metric, MARCH, Grouping.PRODUCT)
    assert result["total"] == {"tickets": 6, "complaints": 3, "account_complaints": 2,
                               "active_accounts": 3, "per_account": 0.667,
                               "complaints_percent": 50.0}
    groups = {group["key"]: group for group in result["groups"]}
    assert (groups["alpha"]["per_account"], groups["alpha"]["complaints_percent"]) == (0.5, 33.3)
    assert groups["beta"]["complaints"] == 2 and groups["beta"]["per_account"] == 1.0
    assert groups[None]["tickets"] == 1 and groups[None]["per_account"] is None
    assert result["previous"]["total"]["per_account"] == 1.0


def test_active_accounts_are_counted_once_across_weeks(complaints):
    from zoneinfo import ZoneInfo

    result = engine.run(COMPLAINTS.metric, MARCH, Grouping.WEEK, zone=ZoneInfo("UTC"))
    weekly = [group["active_accounts"] for group in result["groups"]]
    assert weekly == [0, 2, 0, 2, 0, 0]
    assert result["total"]["active_accounts"] == 3 and result["total"]["complaints"] == 3


def test_complaints_drill_down(complaints):
    def behind(measure: str) -> set[int]:
        return ids(engine.tickets_behind(COMPLAINTS.metric, MARCH, measure))

    assert behind("complaints") == {complaints[name].id for name in ("C1", "C3", "C4")}
    assert behind("account_complaints") == {complaints["C1"].id, complaints["C3"].id}
    assert behind("active_accounts") == {complaints[name].id for name in ("C1", "C2", "C3", "C5")}


def test_no_complaint_categories_means_no_complaints(database, ticket, monkeypatch):
    """An empty COMPLAINT_CATEGORIES does not make a ticket of an empty category one."""
    monkeypatch.setitem(database.config, "COMPLAINT_CATEGORIES", [])
    ticket(utc(2026, 3, 2), category="")
    result = engine.run(COMPLAINTS.metric, MARCH)
    assert (result["total"]["tickets"], result["total"]["complaints"]) == (1, 0)


# ---------------------------------------------------------------------------- the API

PERIOD = "from=2026-03-01&to=2026-03-31&tz=UTC"


@pytest.fixture
def admin(database, make_user, auth):
    return database.test_client(), auth(make_user("admin"))


def test_api_reopen_rate(resolved, admin):
    """The reopen data set through the API, by product; bad groupings and filters are 400."""
    client, headers = admin
    response = client.get(f"/api/v1/reports/reopen-rate?{PERIOD}&group_by=product",
                          headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["total"] == {"resolved": 3, "reopened": 2, "percent": 66.7, "reopens": 3}
    assert body["previous"]["total"]["resolved"] == 1
    assert {group["key"]: group["percent"] for group in body["groups"]} == {
        "alpha": 50.0, "beta": 100.0}
    bad = client.get(f"/api/v1/reports/reopen-rate?{PERIOD}&group_by=department",
                     headers=headers)
    assert bad.status_code == 400 and "group_by" in bad.get_json()["errors"]
    refused = client.get(f"/api/v1/reports/reopen-rate?{PERIOD}&department=3", headers=headers)
    assert refused.status_code == 400 and "department" in refused.get_json()["errors"]


def test_api_repeat_issues(repeats, admin, make_user, auth):
    """login in March: P3, P10a, P10b (repeat) = 1 of 3, 33.3 %. Agents may not read it."""
    client, headers = admin
    response = client.get(f"/api/v1/reports/repeat-issues?{PERIOD}&category=login",
                          headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["total"] == {"tickets": 3, "repeats": 1, "percent": 33.3}
    agent = auth(make_user("agent"))
    assert client.get(f"/api/v1/reports/repeat-issues?{PERIOD}",
                      headers=agent).status_code == 403


def test_api_complaints(complaints, admin):
    """Filtered to category 投诉: C3 only — 1 complaint of 1 account, 1.0 per account."""
    client, headers = admin
    response = client.get(f"/api/v1/reports/complaints?{PERIOD}&category=%E6%8A%95%E8%AF%89",
                          headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["total"] == {
        "tickets": 1, "complaints": 1, "account_complaints": 1, "active_accounts": 1,
        "per_account": 1.0, "complaints_percent": 100.0}
    catalog = client.get("/api/v1/reports", headers=headers).get_json()["items"]
    assert {"reopen-rate", "repeat-issues", "complaints"} <= {item["name"] for item in catalog}
