"""The feedback reports by every slice issue 8 asks for: survey response rates, service
recovery and opportunities by channel, priority, category and account tier (recovery also
by agent and product), on a small hand-worked data set, on SQLite and PostgreSQL.

Period: March 2026 in UTC, [03-01, 04-01); its previous period is [01-29, 03-01).
Accounts: VIP (tier vip) and STD (tier standard). Tickets (channel, priority, category,
account now):
  T1 web   high    billing  VIP
  T2 email low     login    STD
  T3 web   normal  billing  VIP  (its invitation and follow-up were made while it was STD's)
  T4 web   urgent  billing  STD
Channel, priority and category are the ticket's; the tier is that of the row's own account
(the invitation's or follow-up's), so rows of no ticket have a tier but no channel.

Survey invitations (own account; sent):
  I1 CSAT T1 VIP 03-02 answered       I4 NPS no ticket VIP   03-05 answered
  I2 CSAT T2 STD 03-03 opened only    I5 NPS no ticket, no account 03-06 untouched
  I3 CSAT T3 STD 03-04 untouched      I6 CSAT T4 STD 02-10 answered (previous period)
  I7 NPS no ticket VIP 04-01 (the period's end is excluded)
  Total: CSAT sent 3, opened 2 (66.7 %), answered 1 (33.3 %); NPS sent 2, opened and
  answered 1 (50.0 %).
  channel=web: I1, I3 → CSAT sent 2, answered 1 (50.0 %), NPS sent 0.
  priority=high: I1 → CSAT 1 sent, 1 answered. category=billing: I1, I3 → CSAT 2 sent.
  tier=vip: I1, I4 → CSAT 1/1, NPS 1/1 (I3 is STD's: its own account). tier=standard:
  I2, I3 → CSAT 2 sent, 1 opened, 0 answered.
  By channel (sent): web 2, email 1, none 2 (I4, I5); by priority: high 1, low 1,
  normal 1, none 2; by category: billing 2, login 1, none 2; by tier: vip 2, standard 2,
  none 1 (I5). Previous period by channel: web CSAT sent 1 answered 1 (I6); email and
  none had nothing (None).

Recovery follow-ups (agent and product are the unhappy answer's; now = 03-20):
  F1 T1 VIP Ann cloud   created 03-02 due 03-03 closed 03-02 12:00 (in time), won back
  F2 T2 STD Bob onprem  created 03-05 due 03-06 closed 03-08 (late), not won back
  F3 no ticket VIP (NPS detractor) created 03-10 due 03-11, open (overdue)
  F4 T3 STD Ann cloud   created 03-12 due 03-25, open
  F5 T4 STD Bob         created 02-10 due 02-11 closed 02-11 (previous period, in time)
  Total: opened 4, closed 2, in time 1 (50.0 %), won back 1 of 2 answered (50.0 %),
  open now 2, overdue 1.
  channel=web: F1, F4 → opened 2, closed 1 in time, won back 1; open now 1 (F4), overdue 0.
  priority=high: F1 → 1, 1. category=login: F2 → opened 1, closed 1, in time 0.
  tier=vip: F1, F3 → opened 2, closed 1; open now 1 (F3), overdue 1.
  tier=standard: F2, F4 → opened 2, closed 1 (F2, late); open now 1, overdue 0.
  By (opened, closed): channel web (2, 1), email (1, 1), none (1, 0); priority high (1, 1),
  low (1, 1), normal (1, 0), none (1, 0); category billing (2, 1), login (1, 1), none
  (1, 0); tier vip (2, 1), standard (2, 1); agent Ann (2, 1), Bob (1, 1), none (1, 0);
  product cloud (2, 1), onprem (1, 1), none (1, 0).
  Previous period by tier: standard opened 1, closed 1 in time (F5); vip None.

Opportunities (account; source; created; what became of it):
  O1 VIP nps_promoter  03-02, contacted 2 h later (in time), won 03-10 for 1000
  O2 VIP ticket_signal 03-04, never contacted
  O3 STD csat          03-05, contacted 03-08 (late), lost 03-12
  O4 no account (a contact's) manual 03-06, never contacted
  O5 STD manual        02-10, contacted in time, won 02-20 for 300 (previous period)
  Total: created 4, contacted 2, in time 1 (25.0 %), won 1 (1000), lost 1, win rate 50.0 %.
  tier=vip: O1, O2 → created 2, in time 1 (50.0 %), won 1 (1000), win rate 100.0 %; by
  source nps_promoter 1, ticket_signal 1, the others 0.
  tier=standard: O3 → created 1, lost 1, win rate 0.0 %.
  By tier (created): vip 2, standard 1, none 1 (O4); previous: standard created 1, won 300
  (O5), vip and none None.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.directory.models import Account, Contact, Tier
from service.extensions import db
from service.reports import engine
from service.reports.query import Grouping, Slice
from surveys.models import (Opportunity, OpportunityKind, OpportunitySource,
                            OpportunityStatus, RecoveryFollowUp, RecoveryStatus, SurveyKind)
from surveys.reports import outcomes
from surveys.reports.registered import OPPORTUNITIES, RECOVERY, RESPONSE_RATES
from tests.surveys.test_survey_metrics import contact, invitation, response
from tickets.models import Channel, Priority

CSAT, NPS = SurveyKind.CSAT, SurveyKind.NPS
QUERY = "from=2026-03-01&to=2026-03-31&tz=UTC"
NOW = datetime(2026, 3, 20, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


MARCH = Slice(utc(2026, 3, 1), utc(2026, 4, 1))


def march(**filters) -> Slice:
    """March with the given filters."""
    return Slice(MARCH.start, MARCH.end, **filters)


@pytest.fixture
def world(database, make_ticket, make_user):
    """The accounts, agents and tickets T1–T4 of the module docstring."""
    vip = Account(name="Vip Co", tier=Tier.VIP)
    std = Account(name="Std Co", tier=Tier.STANDARD)
    db.session.add_all([vip, std])
    db.session.commit()
    tickets = {}
    for name, channel, priority, category, owner in (
            ("T1", Channel.WEB, Priority.HIGH, "billing", vip),
            ("T2", Channel.EMAIL, Priority.LOW, "login", std),
            ("T3", Channel.WEB, Priority.NORMAL, "billing", vip),
            ("T4", Channel.WEB, Priority.URGENT, "billing", std)):
        ticket = make_ticket(channel=channel)
        ticket.priority, ticket.category, ticket.account_id = priority, category, owner.id
        tickets[name] = ticket
    db.session.commit()
    return {"VIP": vip.id, "STD": std.id, "Ann": make_user("agent", name="Ann").id,
            "Bob": make_user("agent", name="Bob").id,
            **{name: ticket.id for name, ticket in tickets.items()}}


# ---------------------------------------------------------------------------- survey responses

@pytest.fixture
def invitations(world):
    """The invitations I1–I7 of the module docstring."""
    invitation(CSAT, utc(2026, 3, 2), answered=True, ticket_id=world["T1"],
               account_id=world["VIP"])
    invitation(CSAT, utc(2026, 3, 3), opened=True, ticket_id=world["T2"],
               account_id=world["STD"])
    invitation(CSAT, utc(2026, 3, 4), ticket_id=world["T3"], account_id=world["STD"])
    invitation(NPS, utc(2026, 3, 5), answered=True, account_id=world["VIP"])
    invitation(NPS, utc(2026, 3, 6))
    invitation(CSAT, utc(2026, 2, 10), answered=True, ticket_id=world["T4"],
               account_id=world["STD"])
    invitation(NPS, utc(2026, 4, 1), account_id=world["VIP"])
    db.session.commit()
    return world


def _rates(numbers: dict) -> tuple:
    """(CSAT sent, opened, answered, NPS sent, answered) of one set of numbers."""
    return (numbers["csat"]["sent"], numbers["csat"]["opened"], numbers["csat"]["answered"],
            numbers["nps"]["sent"], numbers["nps"]["answered"])


def _sent(result: dict) -> dict:
    """Group key → invitations sent (both kinds)."""
    return {group["key"]: group["csat"]["sent"] + group["nps"]["sent"]
            for group in result["groups"]}


def test_response_rates_total_and_each_new_filter(invitations):
    total = engine.run(RESPONSE_RATES.metric, MARCH)["total"]
    assert _rates(total) == (3, 2, 1, 2, 1)
    assert (total["csat"]["open_rate"], total["csat"]["response_rate"]) == (66.7, 33.3)
    assert total["nps"]["response_rate"] == 50.0
    expected = {"channel": ("web", (2, 1, 1, 0, 0)), "priority": ("high", (1, 1, 1, 0, 0)),
                "category": ("billing", (2, 1, 1, 0, 0))}
    for name, (value, numbers) in expected.items():
        result = engine.run(RESPONSE_RATES.metric, march(**{name: value}))["total"]
        assert _rates(result) == numbers, name
    web = engine.run(RESPONSE_RATES.metric, march(channel="web"))["total"]["csat"]
    assert web["response_rate"] == 50.0
    # The tier is the invitation's own account's: I4 has no ticket, I3 is STD's.
    assert _rates(engine.run(RESPONSE_RATES.metric, march(tier="vip"))["total"]) == (
        1, 1, 1, 1, 1)
    assert _rates(engine.run(RESPONSE_RATES.metric, march(tier="standard"))["total"]) == (
        2, 1, 0, 0, 0)
    # A ticket filter matches no invitation of no ticket; filters combine.
    assert _rates(engine.run(RESPONSE_RATES.metric, march(channel="web", tier="vip"))[
        "total"]) == (1, 1, 1, 0, 0)
    assert _rates(engine.run(RESPONSE_RATES.metric, march(category="nothing"))["total"]) == (
        0, 0, 0, 0, 0)


def test_response_rates_by_each_new_grouping(invitations):
    def by(grouping: Grouping) -> dict:
        return _sent(engine.run(RESPONSE_RATES.metric, MARCH, grouping))

    assert by(Grouping.CHANNEL) == {"web": 2, "email": 1, None: 2}
    assert by(Grouping.PRIORITY) == {"high": 1, "low": 1, "normal": 1, None: 2}
    assert by(Grouping.CATEGORY) == {"billing": 2, "login": 1, None: 2}
    assert by(Grouping.TIER) == {"vip": 2, "standard": 2, None: 1}
    web = {group["key"]: group for group in engine.run(
        RESPONSE_RATES.metric, MARCH, Grouping.CHANNEL)["groups"]}["web"]
    assert (web["csat"]["answered"], web["csat"]["response_rate"]) == (1, 50.0)


def test_response_rates_previous_period_of_a_breakdown(invitations):
    result = engine.run_with_previous(RESPONSE_RATES.metric, MARCH, Grouping.CHANNEL)
    groups = {group["key"]: group for group in result["groups"]}
    assert _rates(groups["web"]["previous"]) == (1, 1, 1, 0, 0)
    assert groups["email"]["previous"] is None and groups[None]["previous"] is None
    assert _rates(result["previous"]["total"]) == (1, 1, 1, 0, 0)


def test_response_rates_trend_with_a_ticket_filter(invitations):
    """Weeks of March (UTC, from Monday): I1 (03-02) and I3 (03-04) are web, week 03-02."""
    groups = engine.run(RESPONSE_RATES.metric, march(channel="web"), Grouping.WEEK,
                        zone=UTC)["groups"]
    assert [(group["key"], group["csat"]["sent"]) for group in groups if group["csat"]["sent"]
            ] == [("2026-03-02", 2)]


# ---------------------------------------------------------------------------- recovery

def _follow_up(world: dict, created: datetime, due: datetime, *, ticket: str | None = None,
               account: str | None = None, agent: str | None = None,
               product: str | None = None, closed: datetime | None = None,
               won_back: bool | None = None) -> RecoveryFollowUp:
    """A follow-up of a 1 (CSAT on a ticket) or 0 (NPS of no ticket), re-surveyed when
    closed, its re-survey answered when `won_back` is given."""
    kind = CSAT if ticket else NPS
    answer = response(kind, 1 if ticket else 0, created, ticket_id=world.get(ticket),
                      account_id=world.get(account), agent_id=world.get(agent),
                      product=product)
    resurvey = invitation(CSAT, closed, answered=won_back is not None,
                          person=db.session.get(Contact, answer.contact_id)) if closed else None
    row = RecoveryFollowUp(response_id=answer.id, kind=kind, score=answer.score,
                           contact_id=answer.contact_id, account_id=answer.account_id,
                           ticket_id=answer.ticket_id, due_at=due, created_at=created,
                           status=RecoveryStatus.DONE if closed else RecoveryStatus.OPEN,
                           closed_at=closed,
                           resurvey_invitation_id=resurvey.id if resurvey else None,
                           won_back=won_back)
    db.session.add(row)
    db.session.flush()
    return row


@pytest.fixture
def follow_ups(world):
    """The follow-ups F1–F5 of the module docstring."""
    _follow_up(world, utc(2026, 3, 2), utc(2026, 3, 3), ticket="T1", account="VIP",
               agent="Ann", product="cloud", closed=utc(2026, 3, 2, 12), won_back=True)
    _follow_up(world, utc(2026, 3, 5), utc(2026, 3, 6), ticket="T2", account="STD",
               agent="Bob", product="onprem", closed=utc(2026, 3, 8), won_back=False)
    _follow_up(world, utc(2026, 3, 10), utc(2026, 3, 11), account="VIP")
    _follow_up(world, utc(2026, 3, 12), utc(2026, 3, 25), ticket="T3", account="STD",
               agent="Ann", product="cloud")
    _follow_up(world, utc(2026, 2, 10), utc(2026, 2, 11), ticket="T4", account="STD",
               agent="Bob", closed=utc(2026, 2, 11))
    db.session.commit()
    return world


def _recovered(numbers: dict) -> tuple:
    """(opened, closed, closed in time, won back) of one set of numbers."""
    return numbers["opened"], numbers["closed"], numbers["closed_in_time"], numbers["won_back"]


def test_recovery_total_and_each_new_filter(follow_ups):
    total = outcomes.recovery(MARCH, NOW)["total"]
    assert _recovered(total) == (4, 2, 1, 1)
    assert (total["closed_in_time_percent"], total["won_back_percent"]) == (50.0, 50.0)
    assert (total["open_now"], total["overdue_now"]) == (2, 1)
    expected = {"channel": ("web", (2, 1, 1, 1), (1, 0)),
                "priority": ("high", (1, 1, 1, 1), (0, 0)),
                "category": ("login", (1, 1, 0, 0), (0, 0)),
                "tier": ("vip", (2, 1, 1, 1), (1, 1))}
    for name, (value, numbers, now) in expected.items():
        result = outcomes.recovery(march(**{name: value}), NOW)["total"]
        assert _recovered(result) == numbers, name
        assert (result["open_now"], result["overdue_now"]) == now, name
    standard = outcomes.recovery(march(tier="standard"), NOW)["total"]
    assert _recovered(standard) == (2, 1, 0, 0)
    assert (standard["open_now"], standard["overdue_now"]) == (1, 0)
    # Agent and product (the answer's) still filter, now through the join.
    assert _recovered(outcomes.recovery(march(agent=follow_ups["Ann"]), NOW)["total"]) == (
        2, 1, 1, 1)
    assert _recovered(outcomes.recovery(march(product="onprem"), NOW)["total"]) == (1, 1, 0, 0)


def test_recovery_by_each_new_grouping(follow_ups):
    def by(grouping: Grouping) -> dict:
        return {group["key"]: (group["opened"], group["closed"])
                for group in outcomes.recovery(MARCH, NOW, grouping)["groups"]}

    assert by(Grouping.CHANNEL) == {"web": (2, 1), "email": (1, 1), None: (1, 0)}
    assert by(Grouping.PRIORITY) == {"high": (1, 1), "low": (1, 1), "normal": (1, 0),
                                     None: (1, 0)}
    assert by(Grouping.CATEGORY) == {"billing": (2, 1), "login": (1, 1), None: (1, 0)}
    assert by(Grouping.TIER) == {"vip": (2, 1), "standard": (2, 1)}
    assert by(Grouping.AGENT) == {follow_ups["Ann"]: (2, 1), follow_ups["Bob"]: (1, 1),
                                  None: (1, 0)}
    assert by(Grouping.PRODUCT) == {"cloud": (2, 1), "onprem": (1, 1), None: (1, 0)}
    labels = {group["key"]: group["label"]
              for group in outcomes.recovery(MARCH, NOW, Grouping.AGENT)["groups"]}
    assert labels[follow_ups["Ann"]] == "Ann"


def test_recovery_previous_period_and_drill_down_by_channel(follow_ups):
    result = engine.run_with_previous(RECOVERY.metric, MARCH, Grouping.TIER)
    groups = {group["key"]: group for group in result["groups"]}
    assert _recovered(groups["standard"]["previous"]) == (1, 1, 1, 0)
    assert groups["vip"]["previous"] is None
    assert _recovered(result["previous"]["total"]) == (1, 1, 1, 0)
    web = engine.tickets_behind(RECOVERY.metric, MARCH, "opened", group_by=Grouping.CHANNEL,
                                key="web")
    assert set(db.session.scalars(web)) == {follow_ups["T1"], follow_ups["T3"]}
    days = outcomes.recovery(march(tier="vip"), NOW, Grouping.WEEK, zone=UTC)["groups"]
    assert [(group["key"], group["opened"]) for group in days if group["opened"]] == [
        ("2026-03-02", 1), ("2026-03-09", 1)]


def test_recovery_drills_within_tier_agent_and_product(follow_ups):
    """Opened: vip F1 (T1), standard F2 F4 (T2 T3); closed standard: F2 (T2); Ann opened
    F1 F4 (T1 T3); won back of cloud: F1 (T1)."""
    world = follow_ups

    def drill(measure: str, grouping: Grouping, key) -> set[int]:
        return set(db.session.scalars(engine.tickets_behind(
            RECOVERY.metric, MARCH, measure, group_by=grouping, key=key)))

    assert drill("opened", Grouping.TIER, "vip") == {world["T1"]}
    assert drill("opened", Grouping.TIER, "standard") == {world["T2"], world["T3"]}
    assert drill("closed", Grouping.TIER, "standard") == {world["T2"]}
    assert drill("opened", Grouping.AGENT, world["Ann"]) == {world["T1"], world["T3"]}
    assert drill("won_back", Grouping.PRODUCT, "cloud") == {world["T1"]}


def test_a_lead_sees_no_other_teams_rows_in_the_new_slices(follow_ups, database, make_user,
                                                           make_team, make_ticket, auth,
                                                           support_team):
    """Another team's follow-up (web ticket T5, 03-15) and NPS invitation (T5, 03-07):
    the admin counts them in the web group, the Support lead does not (the data set's
    other rows belong to no team, which a lead's scope keeps)."""
    world = dict(follow_ups)
    other = make_team("Other")
    world["T5"] = make_ticket(channel=Channel.WEB).id
    _follow_up(world, utc(2026, 3, 15), utc(2026, 3, 16), ticket="T5", account="VIP",
               agent="Bob", product="cloud").team_id = other.id
    invitation(NPS, utc(2026, 3, 7), ticket_id=world["T5"], account_id=world["VIP"],
               team_id=other.id)
    db.session.commit()
    client = database.test_client()
    admin, lead = auth(make_user("admin")), auth(make_user("lead", team=support_team))

    def web(path: str, headers: dict) -> dict:
        result = client.get(f"/api/v1/reports/{path}?{QUERY}&group_by=channel",
                            headers=headers)
        assert result.status_code == 200, result.get_json()
        return next(group for group in result.get_json()["groups"] if group["key"] == "web")

    assert web("recovery", admin)["opened"] == web("recovery", lead)["opened"] + 1 == 3
    assert web("survey-responses", admin)["nps"]["sent"] == 1
    assert web("survey-responses", lead)["nps"]["sent"] == 0


# ---------------------------------------------------------------------------- opportunities

def _opportunity(source: OpportunitySource, created: datetime, account_id: int | None, *,
                 kind: OpportunityKind = OpportunityKind.UPSELL,
                 contacted: datetime | None = None,
                 status: OpportunityStatus = OpportunityStatus.NEW,
                 closed: datetime | None = None, won_value: int | None = None) -> None:
    """An opportunity (of a fresh contact when it has no account), due 24 h after."""
    db.session.add(Opportunity(
        account_id=account_id, contact_id=None if account_id else contact().id, kind=kind,
        source=source, status=status, reason="test",
        first_contact_due_at=created + timedelta(hours=24), contacted_at=contacted,
        closed_at=closed, won_value=won_value, created_at=created, updated_at=created))


@pytest.fixture
def opportunities(world):
    """The opportunities O1–O5 of the module docstring."""
    vip, std = world["VIP"], world["STD"]
    _opportunity(OpportunitySource.NPS_PROMOTER, utc(2026, 3, 2), vip,
                 contacted=utc(2026, 3, 2, 2), status=OpportunityStatus.WON,
                 closed=utc(2026, 3, 10), won_value=1000)
    _opportunity(OpportunitySource.TICKET_SIGNAL, utc(2026, 3, 4), vip,
                 kind=OpportunityKind.CROSS_SELL)
    _opportunity(OpportunitySource.CSAT, utc(2026, 3, 5), std, contacted=utc(2026, 3, 8),
                 status=OpportunityStatus.LOST, closed=utc(2026, 3, 12))
    _opportunity(OpportunitySource.MANUAL, utc(2026, 3, 6), None,
                 kind=OpportunityKind.REFERRAL)
    _opportunity(OpportunitySource.MANUAL, utc(2026, 2, 10), std,
                 contacted=utc(2026, 2, 10, 1), status=OpportunityStatus.WON,
                 closed=utc(2026, 2, 20), won_value=300)
    db.session.commit()
    return world


def _sales(numbers: dict) -> tuple:
    """(created, contacted in time, won, won value, lost) of one set of numbers."""
    return (numbers["created"], numbers["contacted_in_time"], numbers["won"],
            numbers["won_value"], numbers["lost"])


def test_opportunities_by_tier_filter_and_grouping(opportunities):
    total = outcomes.opportunities(MARCH)["total"]
    assert _sales(total) == (4, 1, 1, 1000, 1)
    assert (total["contacted_in_time_percent"], total["win_rate"]) == (25.0, 50.0)
    vip = outcomes.opportunities(march(tier="vip"))
    assert _sales(vip["total"]) == (2, 1, 1, 1000, 0)
    assert (vip["total"]["contacted_in_time_percent"], vip["total"]["win_rate"]) == (
        50.0, 100.0)
    assert {row["key"]: row["created"] for row in vip["by_source"]} == {
        "nps_promoter": 1, "csat": 0, "ticket_signal": 1, "vip_revisit": 0, "manual": 0}
    standard = outcomes.opportunities(march(tier="standard"))["total"]
    assert (_sales(standard), standard["win_rate"]) == ((1, 0, 0, 0, 1), 0.0)
    # Filters combine: no VIP opportunity belongs to STD.
    assert outcomes.opportunities(march(tier="vip", account=opportunities["STD"]))[
        "total"]["created"] == 0
    by_tier = outcomes.opportunities(MARCH, Grouping.TIER)["groups"]
    assert {group["key"]: group["created"] for group in by_tier} == {
        "vip": 2, "standard": 1, None: 1}


def test_opportunities_previous_period_by_tier(opportunities):
    result = engine.run_with_previous(OPPORTUNITIES.metric, MARCH, Grouping.TIER)
    groups = {group["key"]: group for group in result["groups"]}
    assert _sales(groups["standard"]["previous"]) == (1, 1, 1, 300, 0)
    assert groups["vip"]["previous"] is None and groups[None]["previous"] is None
    assert _sales(result["previous"]["total"]) == (1, 1, 1, 300, 0)


# ---------------------------------------------------------------------------- API and console

def _get(database, make_user, auth, path: str):
    """GET /api/v1/reports/<path> as a fresh admin."""
    client = database.test_client()
    return client.get(f"/api/v1/reports/{path}".rstrip("/"), headers=auth(make_user("admin")))


def test_the_api_slices_survey_responses(invitations, database, make_user, auth):
    """tier=vip by channel: I1 (web, CSAT) and I4 (no ticket, NPS)."""
    rates = _get(database, make_user, auth,
                 f"survey-responses?{QUERY}&tier=vip&group_by=channel")
    assert rates.status_code == 200, rates.get_json()
    body = rates.get_json()
    assert body["filters"] == {"tier": "vip"}
    assert {group["key"]: _rates(group) for group in body["groups"]} == {
        "web": (1, 1, 1, 0, 0), None: (0, 0, 0, 1, 1)}
    web = {group["key"]: group for group in body["groups"]}["web"]
    assert web["previous"] is None  # I6 (February, web) is STD's
    by_priority = _get(database, make_user, auth,
                       f"survey-responses?{QUERY}&channel=web&group_by=priority").get_json()
    assert {group["key"]: group["csat"]["sent"] for group in by_priority["groups"]} == {
        "high": 1, "normal": 1}


def test_the_api_slices_recovery(follow_ups, database, make_user, auth):
    """web, high, billing: F1 only (Ann's), closed; open now none."""
    body = _get(database, make_user, auth, f"recovery?{QUERY}&channel=web&priority=high"
                "&category=billing&group_by=agent").get_json()
    assert (body["total"]["opened"], body["total"]["open_now"]) == (1, 0)
    assert [(group["key"], group["opened"]) for group in body["groups"]] == [
        (follow_ups["Ann"], 1)]


def test_the_api_slices_opportunities_and_lists_the_new_slices(opportunities, database,
                                                                make_user, auth):
    body = _get(database, make_user, auth,
                f"opportunities?{QUERY}&group_by=tier&tier=vip").get_json()
    assert [(group["key"], group["created"], group["previous"]) for group in body["groups"]
            ] == [("vip", 2, None)]
    catalog = {item["name"]: item for item in _get(database, make_user, auth, "").get_json()[
        "items"]}
    for name in ("survey-responses", "recovery"):
        assert {"channel", "priority", "category", "tier"} <= set(catalog[name]["filters"])
        assert {"channel", "priority", "category", "tier"} <= set(catalog[name]["group_by"])
    assert {"agent", "product"} <= set(catalog["recovery"]["group_by"])
    assert catalog["opportunities"]["filters"] == ["tier", "account"]
    assert "tier" in catalog["opportunities"]["group_by"]


@pytest.mark.parametrize("path, field", [
    ("survey-responses?tier=gold", "tier"),  # not a tier: the query schema refuses it
    ("recovery?channel=fax", "channel"),
    ("survey-responses?priority=asap", "priority"),
    ("recovery?group_by=department", "group_by"),
    ("opportunities?group_by=channel", "group_by"),
    ("survey-responses?department=1", "department"),
])
def test_the_api_refuses_unknown_values(world, database, make_user, auth, path, field):
    refused = _get(database, make_user, auth, f"{path}&{QUERY}")
    assert refused.status_code == 400, refused.get_json()
    assert refused.mimetype == "application/problem+json"
    assert field in refused.get_json()["errors"]


@pytest.mark.parametrize("query", ["team=1", "agent=1", "product=cloud", "channel=web",
                                   "priority=high", "category=billing", "department=1"])
def test_opportunities_refuse_the_filters_of_teams_and_tickets(world, database, make_user,
                                                                auth, query):
    """Opportunities belong to accounts: the refusal says so, by the field."""
    refused = _get(database, make_user, auth, f"opportunities?{QUERY}&{query}")
    assert refused.status_code == 400
    assert refused.mimetype == "application/problem+json"
    field = query.split("=")[0]
    assert refused.get_json()["errors"] == {field: [
        "Opportunities belong to accounts, not to teams or tickets: filter them by account "
        "or account tier."]}


def test_an_unknown_category_counts_nothing(invitations, database, make_user, auth):
    """A category is free text: one no ticket has is an empty slice, not an error."""
    body = _get(database, make_user, auth,
                f"survey-responses?{QUERY}&category=nothing&group_by=tier").get_json()
    assert body["total"]["csat"]["sent"] == 0 and body["groups"] == []


def test_the_console_form_offers_and_applies_the_new_filters(invitations, database,
                                                             make_user, console_login):
    """survey-responses for web and vip: I1 only, CSAT answered 1 of 1 = 100.0 %;
    opportunities offer the tier, and none of the ticket filters."""
    admin = make_user("admin", timezone="UTC")
    client = console_login(database.test_client(), admin)
    period = "period=custom&from=2026-03-01&to=2026-03-31&group_by="
    page = client.get(f"/console/reports/survey-responses?{period}&channel=web&tier=vip")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for name in ("channel", "priority", "category", "tier"):
        assert f'id="filter-{name}"' in html, name
    assert '<option value="vip" selected>' in html
    total = html.split('<tr class="total">')[1].split("</tr>")[0]
    assert "100.0%" in total
    bad = client.get(f"/console/reports/survey-responses?{period}&tier=gold")
    assert bad.status_code == 400
    assert "Choose one of the listed values." in bad.get_data(as_text=True)
    sales = client.get(f"/console/reports/opportunities?{period}&tier=standard")
    assert sales.status_code == 200
    html = sales.get_data(as_text=True)
    assert 'id="filter-tier"' in html and 'id="filter-channel"' not in html
    refused = client.get(f"/console/reports/opportunities?{period}&channel=web")
    assert refused.status_code == 400
