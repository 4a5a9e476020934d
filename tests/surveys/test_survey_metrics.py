"""Survey report numbers on small hand-worked data sets (rows inserted directly).

The period is March 2026 in UTC: [2026-03-01 00:00, 2026-04-01 00:00).

NPS, hand-worked: ten NPS answers in March, scores 10 10 9 9 9 | 8 7 7 | 6 0:
  promoters (9–10) 5 = 50 %, passives (7–8) 3 = 30 %, detractors (0–6) 2 = 20 %,
  NPS = 50 − 20 = 30.0. An NPS 0 in February and a CSAT answer are not counted.
  A second team's three answers 10 10 0: 66.67 % − 33.33 % = 33.3 (one decimal).

CSAT, hand-worked: four CSAT answers (overall, attitude, efficiency, outcome):
  (5, 5, 4, –) (4, 4, –, –) (2, 1, 2, 2) (1, –, –, 1)
  overall: 12 / 4 = 3.00, satisfied (4–5) 2 of 4 = 50.0 %
  attitude: 10 / 3 = 3.33, satisfied 2 of 3 = 66.7 %
  efficiency: 6 / 2 = 3.00, satisfied 1 of 2 = 50.0 %
  outcome: 3 / 2 = 1.50, satisfied 0 of 2 = 0.0 %

Response rate: CSAT sent in March 4 (1 opened only, 1 answered, 2 untouched): opened
2 = 50.0 %, answered 1 = 25.0 %; NPS sent 2, 1 answered: 50.0 % and 50.0 %. An
invitation sent in February and answered in March is not counted (cohort by sent_at).
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import pytest

from service.directory.models import Account, Contact
from service.errors import InvalidInput
from service.extensions import db
from surveys.models import (Invitation, InvitationStatus, InvitationTrigger, Opportunity,
                            OpportunityKind, OpportunitySource, OpportunityStatus,
                            RecoveryFollowUp, RecoveryStatus, SurveyKind, SurveyResponse)
from surveys.reports import metrics, outcomes
from service.reports.query import Grouping, Slice, buckets

_numbers = count(1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def contact(name: str = "Casey") -> Contact:
    number = next(_numbers)
    row = Contact(email=f"r{number}@example.com", name=f"{name} {number}")
    db.session.add(row)
    db.session.flush()
    return row


def account(name: str | None = None) -> Account:
    row = Account(name=name or f"Account {next(_numbers)}")
    db.session.add(row)
    db.session.flush()
    return row


def invitation(kind: SurveyKind, sent_at: datetime | None, *, opened: bool = False,
               answered: bool = False, person: Contact | None = None, **dims) -> Invitation:
    """An invitation sent at `sent_at`, opened and answered an hour later if asked."""
    person = person or contact()
    row = Invitation(kind=kind, trigger=(InvitationTrigger.TICKET_CLOSED if kind == SurveyKind.CSAT
                                         else InvitationTrigger.NPS_SCHEDULE),
                     status=InvitationStatus.ANSWERED if answered else InvitationStatus.SENT,
                     contact_id=person.id, send_at=sent_at or utc(2026, 1, 1),
                     sent_at=sent_at,
                     opened_at=sent_at + timedelta(hours=1) if opened and sent_at else None,
                     answered_at=sent_at + timedelta(hours=1) if answered and sent_at else None,
                     **dims)
    db.session.add(row)
    db.session.flush()
    return row


def response(kind: SurveyKind, score: int, at: datetime, *, attitude: int | None = None,
             efficiency: int | None = None, outcome: int | None = None,
             **dims) -> SurveyResponse:
    """An answer given at `at` (with its answered invitation), copying the dimensions."""
    invite = invitation(kind, at - timedelta(hours=1), opened=True, answered=True, **dims)
    row = SurveyResponse(invitation_id=invite.id, kind=kind, contact_id=invite.contact_id,
                         score=score, attitude=attitude, efficiency=efficiency,
                         outcome=outcome, created_at=at, updated_at=at,
                         edit_until=at + timedelta(hours=24), **dims)
    db.session.add(row)
    db.session.flush()
    return row


def follow_up(created: datetime, due: datetime, *, closed: datetime | None = None,
              resurveyed: bool = False, won_back: bool | None = None,
              team_id: int | None = None, account_id: int | None = None,
              agent_id: int | None = None, product: str | None = None) -> RecoveryFollowUp:
    """A recovery follow-up of a fresh 1-star CSAT answer."""
    answer = response(SurveyKind.CSAT, 1, created, team_id=team_id, account_id=account_id,
                      agent_id=agent_id, product=product)
    resurvey = invitation(SurveyKind.CSAT, closed, answered=won_back is not None,
                          person=db.session.get(Contact, answer.contact_id)) \
        if resurveyed and closed else None
    row = RecoveryFollowUp(response_id=answer.id, kind=SurveyKind.CSAT, score=1,
                           contact_id=answer.contact_id, account_id=account_id,
                           team_id=team_id, due_at=due, created_at=created,
                           status=RecoveryStatus.DONE if closed else RecoveryStatus.OPEN,
                           closed_at=closed,
                           resurvey_invitation_id=resurvey.id if resurvey else None,
                           won_back=won_back)
    db.session.add(row)
    db.session.flush()
    return row


def opportunity(source: OpportunitySource, created: datetime, *,
                kind: OpportunityKind | None = None, contacted: datetime | None = None,
                status: OpportunityStatus = OpportunityStatus.NEW,
                closed: datetime | None = None, won_value: int | None = None,
                account_id: int | None = None) -> Opportunity:
    """An opportunity created at `created`, due for first contact 24 h later."""
    if account_id is None:
        account_id = account().id
    row = Opportunity(account_id=account_id, kind=kind or OpportunityKind.UPSELL,
                      source=source, status=status, reason="test",
                      first_contact_due_at=created + timedelta(hours=24),
                      contacted_at=contacted, closed_at=closed, won_value=won_value,
                      created_at=created, updated_at=created)
    db.session.add(row)
    db.session.flush()
    return row


# ---------------------------------------------------------------------------- the tests

MARCH = Slice(utc(2026, 3, 1), utc(2026, 4, 1))


@pytest.fixture(autouse=True)
def _database(active_app):
    """Every test here reads a database: SQLite, or PostgreSQL for those using pg_app."""
    return active_app
NPS, CSAT = SurveyKind.NPS, SurveyKind.CSAT


def add_nps_example(team_a: int, team_b: int) -> None:
    for day, score in enumerate([10, 10, 9, 9, 9, 8, 7, 7, 6, 0], start=1):
        response(NPS, score, utc(2026, 3, day, 12), team_id=team_a, product="cloud")
    for day, score in enumerate([10, 10, 0], start=20):
        response(NPS, score, utc(2026, 3, day, 12), team_id=team_b, product="onprem")
    response(NPS, 0, utc(2026, 2, 28, 23, 59), team_id=team_a)  # before the period
    response(CSAT, 5, utc(2026, 3, 5), team_id=team_a)  # another kind
    db.session.flush()


def add_csat_example(**dims) -> None:
    for day, (score, attitude, efficiency, outcome) in enumerate(
            [(5, 5, 4, None), (4, 4, None, None), (2, 1, 2, 2), (1, None, None, 1)], start=2):
        response(CSAT, score, utc(2026, 3, day), attitude=attitude, efficiency=efficiency,
                 outcome=outcome, **dims)
    response(CSAT, 1, utc(2026, 4, 1), **dims)  # the end is excluded


def test_nps_hand_worked_example(support_team, make_team):
    other = make_team("Other")
    add_nps_example(support_team.id, other.id)
    numbers = metrics.nps(Slice(MARCH.start, MARCH.end, team=support_team.id))["total"]
    assert numbers == {"responses": 10, "promoters": 5, "passives": 3, "detractors": 2,
                       "promoters_percent": 50.0, "passives_percent": 30.0,
                       "detractors_percent": 20.0, "nps": 30.0}
    assert metrics.nps(Slice(MARCH.start, MARCH.end, team=other.id))["total"]["nps"] == 33.3
    everything = metrics.nps(MARCH)["total"]
    # 7 promoters, 3 detractors of 13: (7 − 3) / 13 = 30.77 % → 30.8
    assert (everything["responses"], everything["nps"]) == (13, 30.8)


def test_nps_of_nothing_is_none():
    numbers = metrics.nps(MARCH)["total"]
    assert numbers["responses"] == 0 and numbers["nps"] is None
    assert numbers["promoters_percent"] is None


def test_nps_scope_filters_and_breakdowns(support_team, make_team, make_user):
    other = make_team("Other")
    add_nps_example(support_team.id, other.id)
    # A lead's scope of one team; a scope of no team counts nothing.
    assert metrics.nps(Slice(MARCH.start, MARCH.end, team_ids=(other.id,)))["total"][
        "responses"] == 3
    assert metrics.nps(Slice(MARCH.start, MARCH.end, team_ids=()))["total"]["responses"] == 0
    assert metrics.nps(Slice(MARCH.start, MARCH.end, product="onprem"))["total"]["nps"] == 33.3
    by_team = metrics.nps(MARCH, Grouping.TEAM)["groups"]
    assert [(g["key"], g["label"], g["responses"], g["nps"]) for g in by_team] == [
        (support_team.id, support_team.name, 10, 30.0), (other.id, "Other", 3, 33.3)]
    top = metrics.nps(MARCH, Grouping.PRODUCT, top=1)["groups"]
    assert [(g["key"], g["responses"]) for g in top] == [("cloud", 10)]


def test_csat_averages_and_satisfied_per_dimension(make_user):
    agent = make_user("agent")
    add_csat_example(agent_id=agent.id)
    numbers = metrics.csat(MARCH)["total"]
    assert (numbers["responses"], numbers["average"], numbers["satisfied"],
            numbers["satisfied_percent"]) == (4, 3.0, 2, 50.0)
    assert numbers["dimensions"] == {
        "attitude": {"answered": 3, "average": 3.33, "satisfied": 2, "satisfied_percent": 66.7},
        "efficiency": {"answered": 2, "average": 3.0, "satisfied": 1, "satisfied_percent": 50.0},
        "outcome": {"answered": 2, "average": 1.5, "satisfied": 0, "satisfied_percent": 0.0},
    }
    by_agent = metrics.csat(MARCH, Grouping.AGENT)["groups"]
    assert [(g["key"], g["label"], g["responses"]) for g in by_agent] == [
        (agent.id, agent.name, 4)]
    assert metrics.csat(Slice(MARCH.start, MARCH.end, agent=agent.id + 1))["total"][
        "average"] is None


def test_response_rates_by_kind_count_by_sent_at():
    sent = utc(2026, 3, 3)
    invitation(CSAT, sent, opened=True)
    invitation(CSAT, sent, opened=True, answered=True)
    invitation(CSAT, sent)
    invitation(CSAT, sent)
    invitation(NPS, sent, opened=True, answered=True)
    invitation(NPS, sent)
    invitation(CSAT, utc(2026, 2, 28, 23), opened=True, answered=True)  # sent before
    invitation(NPS, None)  # scheduled, never sent
    numbers = metrics.response_rates(MARCH)["total"]
    assert numbers["csat"] == {"sent": 4, "opened": 2, "answered": 1, "open_rate": 50.0,
                               "response_rate": 25.0}
    assert numbers["nps"] == {"sent": 2, "opened": 1, "answered": 1, "open_rate": 50.0,
                              "response_rate": 50.0}


def test_recovery_in_time_overdue_and_won_back(support_team):
    """F1 created 03-02 closed 03-02 (due 03-03) re-surveyed, won back; F2 created 03-05
    closed 03-07 (due 03-06, late) re-surveyed, not won back; F3 created 03-10 due 03-11,
    open; F4 created 03-19 due 03-20 12:00, open; F5 created 02-20 closed 03-01 01:00
    (due 02:00) re-surveyed, unanswered. Now 03-20 00:00.
    Opened 4; closed 3, in time 2 (66.7 %); re-surveyed 3, answered 2, won back 1 (50 %);
    open now 2, overdue 1."""
    team = support_team.id
    follow_up(utc(2026, 3, 2), utc(2026, 3, 3), closed=utc(2026, 3, 2, 5), resurveyed=True,
              won_back=True, team_id=team)
    follow_up(utc(2026, 3, 5), utc(2026, 3, 6), closed=utc(2026, 3, 7), resurveyed=True,
              won_back=False, team_id=team)
    follow_up(utc(2026, 3, 10), utc(2026, 3, 11), team_id=team)
    follow_up(utc(2026, 3, 19), utc(2026, 3, 20, 12), team_id=team, product="cloud")
    follow_up(utc(2026, 2, 20), utc(2026, 3, 1, 2), closed=utc(2026, 3, 1, 1), resurveyed=True,
              team_id=team)
    numbers = outcomes.recovery(MARCH, utc(2026, 3, 20))["total"]
    assert numbers == {"opened": 4, "closed": 3, "closed_in_time": 2,
                       "closed_in_time_percent": 66.7, "resurveyed": 3,
                       "resurvey_answered": 2, "won_back": 1, "won_back_percent": 50.0,
                       "open_now": 2, "overdue_now": 1}
    # Product is the answer's: only F4.
    cloud = outcomes.recovery(Slice(MARCH.start, MARCH.end, product="cloud"),
                              utc(2026, 3, 20))["total"]
    assert (cloud["opened"], cloud["closed"], cloud["open_now"]) == (1, 0, 1)
    assert outcomes.recovery(Slice(MARCH.start, MARCH.end, team_ids=()),
                             utc(2026, 3, 20))["total"]["open_now"] == 0
    by_team = outcomes.recovery(MARCH, utc(2026, 3, 20), Grouping.TEAM)["groups"]
    assert [(g["key"], g["opened"], g["closed"]) for g in by_team] == [(team, 4, 3)]


def test_opportunities_by_source():
    """O1 promoter created 03-02, contacted 2 h later (in time), won 03-10 for 1000;
    O2 promoter created 03-03, contacted 03-05 (late), lost 03-12; O3 ticket signal created
    03-04, never contacted; O4 ticket signal created 02-25, contacted in time, won 03-15 for
    500; O5 csat created 04-02. Created 3, contacted 2, in time 1 (33.3 %), won 2 (1500),
    lost 1."""
    promoter, signal = OpportunitySource.NPS_PROMOTER, OpportunitySource.TICKET_SIGNAL
    opportunity(promoter, utc(2026, 3, 2), contacted=utc(2026, 3, 2, 2),
                status=OpportunityStatus.WON, closed=utc(2026, 3, 10), won_value=1000)
    opportunity(promoter, utc(2026, 3, 3), contacted=utc(2026, 3, 5),
                status=OpportunityStatus.LOST, closed=utc(2026, 3, 12))
    opportunity(signal, utc(2026, 3, 4))
    opportunity(signal, utc(2026, 2, 25), contacted=utc(2026, 2, 25, 1),
                status=OpportunityStatus.WON, closed=utc(2026, 3, 15), won_value=500)
    opportunity(OpportunitySource.CSAT, utc(2026, 4, 2))
    report = outcomes.opportunities(MARCH)
    assert report["total"] == {"created": 3, "contacted": 2, "contacted_in_time": 1,
                               "contacted_in_time_percent": 33.3, "won": 2,
                               "won_value": 1500, "lost": 1, "win_rate": 66.7}
    by_source = {row["key"]: row for row in report["by_source"]}
    assert list(by_source) == [source.value for source in OpportunitySource]
    assert {key: by_source["nps_promoter"][key] for key in
            ("created", "contacted_in_time", "won", "won_value", "lost")} == {
        "created": 2, "contacted_in_time": 1, "won": 1, "won_value": 1000, "lost": 1}
    assert {key: by_source["ticket_signal"][key] for key in
            ("created", "contacted_in_time", "won", "won_value", "lost")} == {
        "created": 1, "contacted_in_time": 0, "won": 1, "won_value": 500, "lost": 0}
    assert by_source["csat"]["created"] == 0 and by_source["manual"]["won_value"] == 0


# ---------------------------------------------------------------------------- buckets

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def test_day_buckets_follow_the_clock_change():
    """Berlin moves to summer time on 2026-03-29 at 02:00: that day is 23 hours long,
    from 03-28 23:00 UTC to 03-29 22:00 UTC."""
    cut = buckets(utc(2026, 3, 27, 23), utc(2026, 3, 30, 22), Grouping.DAY, BERLIN)
    assert cut.keys == ("2026-03-28", "2026-03-29", "2026-03-30")
    assert cut.bounds == (utc(2026, 3, 27, 23), utc(2026, 3, 28, 23), utc(2026, 3, 29, 22),
                          utc(2026, 3, 30, 22))


def test_week_buckets_across_the_clock_change():
    """Weeks start on Monday 00:00 Berlin time. 2026-03-29 21:30 UTC is Sunday 23:30 CEST
    (week of 03-23); 22:30 UTC is Monday 00:30 CEST (week of 03-30) — a fixed +01:00 offset
    would have put both on Sunday."""
    response(NPS, 10, utc(2026, 3, 29, 21, 30))
    response(NPS, 0, utc(2026, 3, 29, 22, 30))
    response(NPS, 9, utc(2026, 3, 25))
    period = Slice(utc(2026, 3, 22, 23), utc(2026, 4, 5, 22))  # 03-23 00:00 CET to 04-06 00:00
    groups = metrics.nps(period, Grouping.WEEK, zone=BERLIN)["groups"]
    assert [(g["key"], g["responses"], g["promoters"], g["detractors"]) for g in groups] == [
        ("2026-03-23", 2, 2, 0), ("2026-03-30", 1, 0, 1)]


def test_month_buckets_in_new_york_with_empty_months():
    """Months start on the 1st at 00:00 New York time: 2026-03-01 04:30 UTC is still
    February 28 (EST, UTC−5); 05:30 UTC is March 1st. January has no answers."""
    response(CSAT, 5, utc(2026, 3, 1, 4, 30))
    response(CSAT, 3, utc(2026, 3, 1, 5, 30))
    response(CSAT, 4, utc(2026, 3, 8, 12))  # after New York's own clock change (03-08)
    period = Slice(utc(2026, 1, 1, 5), utc(2026, 4, 1, 4))
    groups = metrics.csat(period, Grouping.MONTH, zone=NEW_YORK)["groups"]
    assert [(g["key"], g["responses"], g["average"]) for g in groups] == [
        ("2026-01-01", 0, None), ("2026-02-01", 1, 5.0), ("2026-03-01", 2, 3.5)]


def test_first_bucket_is_cut_to_the_period():
    cut = buckets(utc(2026, 3, 4, 12), utc(2026, 3, 12), Grouping.WEEK, BERLIN)
    assert cut.keys == ("2026-03-02", "2026-03-09")
    assert cut.bounds[0] == utc(2026, 3, 4, 12) and cut.bounds[1] == utc(2026, 3, 8, 23)


def test_too_many_buckets_are_refused():
    with pytest.raises(InvalidInput) as error:
        buckets(utc(2024, 1, 1), utc(2026, 1, 1), Grouping.DAY, BERLIN)
    assert "group_by" in error.value.errors


def test_recovery_and_opportunities_trend_by_day():
    follow_up(utc(2026, 3, 2, 10), utc(2026, 3, 4), closed=utc(2026, 3, 3, 9))
    opportunity(OpportunitySource.MANUAL, utc(2026, 3, 3, 10), status=OpportunityStatus.WON,
                closed=utc(2026, 3, 3, 11), won_value=70)
    period = Slice(utc(2026, 3, 1, 23), utc(2026, 3, 4, 23))
    recovery = outcomes.recovery(period, utc(2026, 3, 5), Grouping.DAY, zone=BERLIN)["groups"]
    assert [(g["key"], g["opened"], g["closed_in_time"]) for g in recovery] == [
        ("2026-03-02", 1, 0), ("2026-03-03", 0, 1), ("2026-03-04", 0, 0)]
    sales = outcomes.opportunities(period, Grouping.DAY, zone=BERLIN)["groups"]
    assert [(g["key"], g["created"], g["won_value"]) for g in sales] == [
        ("2026-03-02", 0, 0), ("2026-03-03", 1, 70), ("2026-03-04", 0, 0)]


def test_a_grouping_that_does_not_apply_is_refused():
    with pytest.raises(InvalidInput) as error:
        outcomes.opportunities(MARCH, Grouping.TEAM)
    assert "group_by" in error.value.errors


# ---------------------------------------------------------------------------- PostgreSQL

def test_the_same_numbers_on_postgresql(pg_app, make_team):
    team = make_team("Pg team")
    add_nps_example(team.id, team.id)
    add_csat_example(team_id=team.id)
    follow_up(utc(2026, 3, 2), utc(2026, 3, 3), closed=utc(2026, 3, 2, 5), resurveyed=True,
              won_back=True, team_id=team.id)
    follow_up(utc(2026, 3, 10), utc(2026, 3, 11), team_id=team.id)
    opportunity(OpportunitySource.NPS_PROMOTER, utc(2026, 3, 2), contacted=utc(2026, 3, 2, 2),
                status=OpportunityStatus.WON, closed=utc(2026, 3, 10), won_value=1000)
    db.session.commit()
    scoped = Slice(MARCH.start, MARCH.end, team_ids=(team.id,))
    nps = metrics.nps(scoped)["total"]
    # 13 answers of the NPS example (7 promoters, 3 detractors) + the CSAT-kind ones not
    # counted: (7 − 3) / 13 = 30.77 → 30.8.
    assert (nps["responses"], nps["promoters"], nps["detractors"], nps["nps"]) == (13, 7, 3, 30.8)
    csat = metrics.csat(scoped)["total"]
    # The example's four answers, the NPS example's one CSAT 5 and two recovery CSAT 1s.
    assert (csat["responses"], csat["dimensions"]["attitude"]["average"]) == (7, 3.33)
    recovery = outcomes.recovery(scoped, utc(2026, 3, 20))["total"]
    assert (recovery["opened"], recovery["closed_in_time"], recovery["won_back"],
            recovery["overdue_now"]) == (2, 1, 1, 1)
    sales = outcomes.opportunities(MARCH)["total"]
    assert (sales["created"], sales["contacted_in_time"], sales["won_value"]) == (1, 1, 1000)
    weeks = metrics.nps(scoped, Grouping.WEEK, zone=BERLIN)["groups"]
    assert [g["key"] for g in weeks][:2] == ["2026-02-23", "2026-03-02"]
    assert sum(g["responses"] for g in weeks) == 13
    by_team = metrics.csat(scoped, Grouping.TEAM)["groups"]
    assert [(g["key"], g["responses"]) for g in by_team] == [(team.id, 7)]
    # One bucket only (no CASE), and two parts grouped by day.
    month = metrics.nps(scoped, Grouping.MONTH, zone=ZoneInfo("UTC"))["groups"]
    assert [(g["key"], g["nps"]) for g in month] == [("2026-03-01", 30.8)]
    days = outcomes.recovery(scoped, utc(2026, 3, 20), Grouping.DAY, zone=BERLIN)["groups"]
    assert sum(g["opened"] for g in days) == 2 and sum(g["closed_in_time"] for g in days) == 1
