"""The weekly report mail to leads, over a real SMTP server (aiosmtpd), on SQLite and
PostgreSQL.

Time: TIMEZONE is Europe/Berlin for this test; Li (lead of Alpha, zh, Asia/Shanghai) and
Ada (admin, member of Alpha, en, Asia/Shanghai) have their own zone, Bob (lead of the team
named `<script>alert(1)</script>`, en) has none, so Berlin. "Now" is Monday 2026-12-07:
  Li/Ada's Monday 08:00 = 2026-12-07T00:00Z; last week = [2026-11-29T16:00Z, 12-06T16:00Z),
  the week before = [11-22T16:00Z, 11-29T16:00Z).
  Bob's Monday 08:00 = 2026-12-07T07:00Z; last week = [11-29T23:00Z, 12-06T23:00Z),
  the week before = [11-22T23:00Z, 11-29T23:00Z).

Tickets (created_at UTC, team, SLA breached?):
  a1 11-29T17:00 Alpha breached   (Mon 01:00 in Shanghai: last week there, not in UTC)
  a2 12-03T10:00 Alpha
  a3 12-06T15:59 Alpha            (Sun 23:59 in Shanghai)
  a4 12-06T16:00 Alpha            (Mon 00:00 in Shanghai: this week, left out)
  a5 11-25T00:00 Alpha            (the week before)
  s1 12-01T00:00 Script breached, s2 12-04T12:00 Script breached
  s3 11-24T12:00 Script, s4 11-24T13:00 Script (the week before)
  o1 12-02T00:00 Other breached (a team neither Li nor Bob sees)
Intake "created", last week / the week before:
  Li (Alpha): 3 / 1.  Bob (Script, Berlin): 2 / 2.  Ada (admin: every team): 6 / 3.
Most breaches last week: Li → Alpha (1); Bob → <script> (2); Ada → <script> (2, then
Alpha and Other with 1).
Nobody else gets mail: Ian (inactive lead of Idle), Olga (lead of Quiet who turned the
weekly report off), Al (an agent in Alpha), Sam (a lead of no team).
"""
from __future__ import annotations

import re
import socket
from datetime import UTC, date, datetime

import pytest
from aiosmtpd.controller import Controller
from marshmallow import Schema, fields
from sqlalchemy import func, select

from service.extensions import db
from service.notify import mail
from service.notify.models import OutboundMail
from service.reports import registry, weekly
from service.reports.engine import Metric
from service.reports.query import Part, Slice, count_if
from service.reports.registry import Column, Report, Unit
from tickets.analytics.dimensions import (breached, ticket_columns, ticket_groupings,
                                          tickets_with_accounts)
from tickets.models import Channel, Ticket


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


MONDAY = date(2026, 12, 7)
SCRIPT = "<script>alert(1)</script>"


class Collector:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"

    def to(self, address: str) -> list:
        """The messages delivered to one address (customers get acknowledgements too)."""
        return [envelope for envelope in self.envelopes if address in envelope.rcpt_tos]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]



# A stand-in for the SLA compliance report (another module's): breached tickets by the
# moment they were created, enough to name the team that breached most.
class _BreachNumbers(Schema):
    breached_tickets = fields.Integer()
    tickets = fields.Integer()


def _breach_parts(period: Slice) -> list[Part]:
    return [Part(Ticket.created_at, {"breached_tickets": count_if(breached()),
                                     "tickets": count_if()},
                 period.conditions(ticket_columns()), select_from=tickets_with_accounts(),
                 ticket=Ticket.id)]


BREACHES = Report(
    name="weekly-test-breaches", title="Breaches", description="Test stand-in",
    metric=Metric(_breach_parts, {grouping: [expression]
                                  for grouping, expression in ticket_groupings().items()},
                  lambda row: {"breached_tickets": row.get("breached_tickets") or 0,
                               "tickets": row.get("tickets") or 0}),
    numbers=_BreachNumbers,
    columns=(Column("tickets", "Tickets", Unit.COUNT, drill="tickets"),
             Column("breached_tickets", "Breached", Unit.COUNT, drill="breached_tickets")),
    order=999)


@pytest.fixture
def breach_report(monkeypatch):
    monkeypatch.setitem(registry._REPORTS, BREACHES.name, BREACHES)
    monkeypatch.setattr(weekly, "BREACH_REPORT", BREACHES.name)


@pytest.fixture
def smtp(database):
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=_free_port())
    controller.start()
    database.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    yield collector
    controller.stop()


@pytest.fixture
def world(database, make_user, make_team, make_ticket, breach_report):
    """The people, teams and tickets of the module docstring (made before SMTP is up,
    so the customers' acknowledgements are only logged)."""
    database.config["TIMEZONE"] = "Europe/Berlin"
    li = make_user("lead", email="li@staff.test", name="Li Lei", locale="zh_CN",
                   timezone="Asia/Shanghai")
    bob = make_user("lead", email="bob@staff.test", name="Bob", locale="en")
    alpha = make_team("Alpha", lead=li)
    alpha.name_zh = "阿尔法组"
    script = make_team(SCRIPT, lead=bob)
    other = make_team("Other")
    ada = make_user("admin", team=alpha, email="ada@staff.test", name="Ada", locale="en",
                    timezone="Asia/Shanghai")
    ian = make_user("lead", email="ian@staff.test", is_active=False)
    make_team("Idle", lead=ian)
    olga = make_user("lead", email="olga@staff.test", notify_prefs={"weekly_report": False})
    make_team("Quiet", lead=olga)
    make_user("agent", team=alpha, email="al@staff.test")
    make_user("lead", email="sam@staff.test")

    def ticket(created: datetime, team, breach: bool = False) -> Ticket:
        made = make_ticket(channel=Channel.WEB)
        made.created_at, made.team_id = created, team.id
        made.first_response_breached_at = created if breach else None
        db.session.commit()
        return made

    ticket(utc(2026, 11, 29, 17), alpha, breach=True)
    ticket(utc(2026, 12, 3, 10), alpha)
    ticket(utc(2026, 12, 6, 15, 59), alpha)
    ticket(utc(2026, 12, 6, 16), alpha)
    ticket(utc(2026, 11, 25), alpha)
    ticket(utc(2026, 12, 1), script, breach=True)
    ticket(utc(2026, 12, 4, 12), script, breach=True)
    ticket(utc(2026, 11, 24, 12), script)
    ticket(utc(2026, 11, 24, 13), script)
    ticket(utc(2026, 12, 2), other, breach=True)
    db.session.commit()
    return {"li": li, "bob": bob, "ada": ada}


def _weekly_rows() -> list[OutboundMail]:
    return list(db.session.scalars(select(OutboundMail).where(
        OutboundMail.dedupe_key.like("weekly-report:%")).order_by(OutboundMail.id)))


def _text(envelope) -> str:
    import email
    import email.policy

    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def _html(envelope) -> str:
    import email
    import email.policy

    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    return message.get_body(("html",)).get_content()


def test_due_from_monday_0800_local_once_per_week(world, smtp):
    """Li (Shanghai): nothing at Monday 07:59 local, her mail at 08:00, none again at
    09:00 and 10:00; Bob (Berlin) only from 07:00Z; next Monday a new one."""
    assert weekly.queue_weekly_reports(utc(2026, 12, 6, 23, 59)) == 0
    assert smtp.envelopes == []
    assert weekly.queue_weekly_reports(utc(2026, 12, 7, 0, 0)) == 2  # Li and Ada
    assert weekly.queue_weekly_reports(utc(2026, 12, 7, 1, 0)) == 0
    assert weekly.queue_weekly_reports(utc(2026, 12, 7, 2, 0)) == 0
    assert len(smtp.to("li@staff.test")) == 1 and len(smtp.to("ada@staff.test")) == 1
    assert smtp.to("bob@staff.test") == []
    assert weekly.queue_weekly_reports(utc(2026, 12, 7, 6, 59)) == 0
    assert weekly.queue_weekly_reports(utc(2026, 12, 7, 7, 0)) == 1
    assert len(smtp.to("bob@staff.test")) == 1
    assert {row.dedupe_key for row in _weekly_rows()} == {
        f"weekly-report:{world[name].id}:2026-12-07" for name in ("ada", "bob", "li")}
    # The inactive lead, the lead who turned it off, the agent and the lead of no team:
    for address in ("ian@staff.test", "olga@staff.test", "al@staff.test", "sam@staff.test"):
        assert smtp.to(address) == []
    assert weekly.queue_weekly_reports(utc(2026, 12, 14, 0, 0)) == 2  # the next week
    assert len(smtp.to("li@staff.test")) == 2


def test_plan_says_why_and_the_cli_dry_run_sends_nothing(world, smtp, database):
    states = {row.email: row.state for row in weekly.plan(utc(2026, 12, 7, 0, 30))}
    assert states == {"li@staff.test": weekly.State.DUE, "ada@staff.test": weekly.State.DUE,
                      "bob@staff.test": weekly.State.EARLY,
                      "olga@staff.test": weekly.State.OFF}
    from service.reports.cli import reports_cli

    runner = database.test_cli_runner()
    result = runner.invoke(reports_cli, ["send-weekly", "--now", "2026-12-07T08:30:00+08:00",
                                         "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "due     li@staff.test week of 2026-12-07 (Asia/Shanghai)" in result.output
    assert "dry run: 2 to send" in result.output and smtp.envelopes == []
    result = runner.invoke(reports_cli, ["send-weekly", "--now", "2026-12-07T08:30:00+08:00"])
    assert result.exit_code == 0 and "2 weekly report mail(s) queued" in result.output
    assert len(smtp.to("li@staff.test")) == 1
    bad = runner.invoke(reports_cli, ["send-weekly", "--now", "Monday"])
    assert bad.exit_code == 2 and "--now" in bad.output


def test_numbers_equal_the_apis_and_scope(world, smtp, database, auth):
    """Bob's mail (Berlin) and the API with Bob's token for the same period: 2 / 2; Li's
    rows 3 / 1 as the API gives them to her; each sees only their teams' breaches."""
    weekly.queue_weekly_reports(utc(2026, 12, 7, 7, 0))
    client = database.test_client()
    for name, period, created, before in (
            ("bob", "from=2026-11-29T23:00:00Z&to=2026-12-06T23:00:00Z", 2, 2),
            ("li", "from=2026-11-29T16:00:00Z&to=2026-12-06T16:00:00Z", 3, 1),
            ("ada", "from=2026-11-29T16:00:00Z&to=2026-12-06T16:00:00Z", 6, 3)):
        body = client.get(f"/api/v1/reports/intake?{period}",
                          headers=auth(world[name])).get_json()
        assert (body["total"]["created"], body["previous"]["total"]["created"]) == \
            (created, before), name
    bob = _text(smtp.to("bob@staff.test")[0])
    assert "Intake · Created: 2\n  Week before: 2 · Change: ±0\n" in bob
    assert ("http://support.test/console/reports/intake?from=2026-11-30&to=2026-12-06"
            in bob)
    assert f"Most SLA breaches: {SCRIPT} (2 tickets)" in bob
    ada = _text(smtp.to("ada@staff.test")[0])
    assert "Intake · Created: 6\n  Week before: 3 · Change: +3\n" in ada
    li = _text(smtp.to("li@staff.test")[0])
    # Her three, not Ada's six (her mail is in Chinese: full-width colons).
    assert re.search(r": 3\n  [^\n]*[:：] ?1 [^\n]*\+2\n", li)
    assert "阿尔法组（1 个工单）" in li and SCRIPT not in li and "Other" not in li


def test_chinese_mail_for_a_chinese_lead_and_html_escaped(world, smtp):
    weekly.queue_weekly_reports(utc(2026, 12, 7, 7, 0))
    li = smtp.to("li@staff.test")[0]
    assert "Li Lei，您好" in _text(li) and "Hello" not in _text(li)
    assert '<html lang="zh-CN">' in _html(li)
    assert "Hello Bob," in _text(smtp.to("bob@staff.test")[0])
    html = _html(smtp.to("ada@staff.test")[0])
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; (2" in html
    assert 'href="http://support.test/console/reports/intake?from=2026-11-30&amp;to=2026-12-06"' \
        in html


def test_a_failed_send_is_resumed_not_repeated(world, smtp, database):
    """SMTP down at 08:00: the mail is recorded unsent (the job failed and will retry);
    the 09:00 check resumes that same mail; a late duplicate job sends nothing more."""
    port = database.config["MAIL_PORT"]
    database.config["MAIL_PORT"] = _free_port()
    assert weekly.queue_weekly_reports(utc(2026, 12, 7, 0, 0)) == 2
    assert {row.status for row in _weekly_rows()} == {"queued"}
    database.config["MAIL_PORT"] = port
    assert {row.state for row in weekly.plan(utc(2026, 12, 7, 1))
            if row.email == "li@staff.test"} == {weekly.State.UNSENT}
    assert weekly.queue_weekly_reports(utc(2026, 12, 7, 1, 0)) == 2
    assert {row.status for row in _weekly_rows()} == {"sent"}
    weekly.send_weekly_report(world["li"].id, MONDAY)  # e.g. RQ's retry of the first job
    assert len(smtp.to("li@staff.test")) == 1 and len(smtp.to("ada@staff.test")) == 1


def test_a_mail_recorded_by_a_racing_worker_is_not_composed_again(world, smtp):
    """Another worker recorded Li's mail first: this one neither composes nor sends a
    second (the unique dedupe key of outbound_mail)."""
    key = weekly.dedupe_key(world["li"].id, MONDAY)
    mail.send_mail(key, "li@staff.test", "First", "Sent by the other worker")
    weekly.send_weekly_report(world["li"].id, MONDAY)
    weekly.queue_weekly_reports(utc(2026, 12, 7, 0, 0))
    assert len(smtp.to("li@staff.test")) == 1
    assert db.session.scalar(select(func.count()).select_from(OutboundMail)
                             .where(OutboundMail.dedupe_key == key)) == 1
    with pytest.raises(ValueError):
        weekly.send_weekly_report(world["li"].id, date(2026, 12, 8))  # not a Monday


def test_switched_off_for_the_service_or_the_lead(world, smtp, database):
    database.config["WEEKLY_REPORTS_ENABLED"] = False
    assert weekly.queue_weekly_reports(utc(2026, 12, 7, 7, 0)) == 0
    assert weekly.send_weekly_report(world["li"].id, MONDAY) is None
    database.config["WEEKLY_REPORTS_ENABLED"] = True
    world["bob"].notify_prefs = {"weekly_report": False}
    world["li"].is_active = False
    db.session.commit()
    assert weekly.queue_weekly_reports(utc(2026, 12, 7, 7, 0)) == 1  # Ada only
    assert weekly.send_weekly_report(world["li"].id, MONDAY) is None
    assert smtp.to("li@staff.test") == [] and smtp.to("bob@staff.test") == []


def test_the_sla_compliance_report_names_the_team(app, make_user, make_team, make_ticket):
    """With the real sla-compliance report: its breached_tickets column is the one read,
    and a lead's mail composes with it (no breaches in this data: no team named)."""
    sla = pytest.importorskip("tickets.analytics.sla")
    report = registry.get(weekly.BREACH_REPORT)
    assert report is sla.SLA_COMPLIANCE
    assert weekly.breach_column(report).key == "breached_tickets"
    lead = make_user("lead", email="lead@staff.test", timezone="Asia/Shanghai")
    make_team("Alpha", lead=lead)
    subject, text, html = weekly.compose(lead, MONDAY, utc(2026, 12, 7, 1))
    assert subject == "Weekly report: 2026-11-30 to 2026-12-06"
    assert "/console/reports/sla-compliance?from=2026-11-30&to=2026-12-06" in text
    assert "Most SLA breaches" not in text


def test_the_tickers_hourly_job_queues_by_the_clock(world):
    """The ticker's job reads the clock: at Monday 07:30Z all three mails are due (no SMTP
    server: they are kept as logged); run again, nothing more."""
    import time_machine

    from service.reports import jobs as report_jobs

    with time_machine.travel(utc(2026, 12, 7, 7, 30), tick=False):
        report_jobs.queue_weekly_reports()
        report_jobs.queue_weekly_reports()
    assert {(row.dedupe_key, row.status) for row in _weekly_rows()} == {
        (f"weekly-report:{world[name].id}:2026-12-07", "logged") for name in ("ada", "bob", "li")}


def test_the_cli_reads_a_time_without_offset_as_utc(world, database):
    """--now 2026-12-07T07:00:00 is 07:00Z: Bob's Monday 08:00 in Berlin, so he is due."""
    from service.reports.cli import reports_cli

    result = database.test_cli_runner().invoke(
        reports_cli, ["send-weekly", "--now", "2026-12-07T07:00:00", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "due     bob@staff.test week of 2026-12-07 (Europe/Berlin)" in result.output
    assert "dry run: 3 to send" in result.output and _weekly_rows() == []
