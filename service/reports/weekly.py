"""The weekly report mail: every Monday from 08:00 in each lead's own time zone, one mail
with last week's headline numbers (Monday 00:00 to Monday 00:00 local) beside the week
before's, for the teams the lead may see, in the lead's language.

Recipients are active leads and admins who lead or belong to at least one team (a lead
with no team would get an empty mail; an admin without one has not asked to manage a
team). The numbers come from service.reports.service.compute, exactly as the reports API
gives them for the same period and reader.

Exactly once per lead and week: the mail's outbound_mail row carries the unique dedupe
key "weekly-report:<user id>:<local Monday>", so however often the hourly check runs, and
however many tickers or workers race, one row is recorded and service.notify.mail sends
it once (a crashed or failed send stays unsent and is resumed by the next check).
"""
from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import exists, or_, select

from service import jobs
from service.auth.models import Role, User
from service.db_types import utcnow
from service.directory.models import Team, team_members
from service.errors import InvalidInput
from service.extensions import db
from service.i18n import locale_for
from service.notify import mail
from service.notify.models import OutboundMail
from service.reports import access
from service.reports.formatting import change, format_value
from service.reports.query import local_midnight
from service.reports.registry import Column, Report, get, reports
from service.reports.service import compute, may_read

log = logging.getLogger(__name__)

SEND_HOUR = 8  # local time on Monday from which the mail is due
NOTICE_KIND = "weekly_report"  # the User.notify_prefs key a lead turns the mail off with
BREACH_REPORT = "sla-compliance"  # the report whose breaches name the team that breached most
BREACH_COLUMN = "breached_tickets"  # its count of breached tickets


class State(enum.StrEnum):
    """Where a lead's mail of the current week stands."""

    DUE = "due"  # to be composed and sent
    UNSENT = "unsent"  # recorded but not delivered yet (SMTP down, a worker died): resume
    SENT = "sent"
    EARLY = "early"  # before Monday 08:00 local
    OFF = "off"  # the lead turned the weekly report off


@dataclass(frozen=True)
class Planned:
    """One recipient's weekly mail as the hourly check sees it."""

    user_id: int
    email: str
    zone: str
    week_start: date  # the local Monday the mail is sent in (last week ends there)
    state: State

    @property
    def key(self) -> str:
        return dedupe_key(self.user_id, self.week_start)


def dedupe_key(user_id: int, week_start: date) -> str:
    """The outbound_mail key of a user's weekly mail (unique: one per user and week)."""
    return f"weekly-report:{user_id}:{week_start.isoformat()}"


def enabled() -> bool:
    """Whether the service sends weekly report mail at all (WEEKLY_REPORTS_ENABLED)."""
    return bool(current_app.config.get("WEEKLY_REPORTS_ENABLED", True))


def week_start(now: datetime, zone: ZoneInfo) -> date:
    """The local Monday of the week `now` falls in."""
    local = now.astimezone(zone).date()
    return local - timedelta(days=local.weekday())


def last_week_days(monday: date) -> tuple[date, date]:
    """The first and last day (Monday, Sunday) of the week before `monday`."""
    return monday - timedelta(days=7), monday - timedelta(days=1)


def last_week(monday: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC period [Monday 00:00, next Monday 00:00) local of the week before `monday`."""
    return local_midnight(last_week_days(monday)[0], zone), local_midnight(monday, zone)


def _recipient_conditions() -> list:
    leads_a_team = exists(select(Team.id).where(Team.lead_id == User.id))
    in_a_team = exists(select(team_members.c.team_id).where(team_members.c.user_id == User.id))
    return [User.is_active.is_(True), User.role.in_((Role.LEAD, Role.ADMIN)),
            or_(leads_a_team, in_a_team)]


def recipients() -> list[User]:
    """Active leads and admins who lead or belong to a team."""
    return list(db.session.scalars(select(User).where(*_recipient_conditions())
                                   .order_by(User.id)))


def is_recipient(user_id: int) -> bool:
    """Whether the user is (still) one of recipients()."""
    return db.session.scalar(select(User.id).where(User.id == user_id,
                                                   *_recipient_conditions())) is not None


def plan(now: datetime) -> list[Planned]:
    """Every recipient's weekly mail at `now`: due, already sent, too early or turned off."""
    if not enabled():
        return []
    rows = []
    for user in recipients():
        zone = access.report_zone(user)
        monday = week_start(now, zone)
        due_at = datetime.combine(monday, time(SEND_HOUR), tzinfo=zone)
        if not user.wants_notice(NOTICE_KIND):
            state = State.OFF
        elif now < due_at:
            state = State.EARLY
        else:
            state = State.DUE
        rows.append(Planned(user.id, user.email, zone.key, monday, state))
    keys = [row.key for row in rows if row.state is State.DUE]
    recorded = dict(db.session.execute(
        select(OutboundMail.dedupe_key, OutboundMail.status)
        .where(OutboundMail.dedupe_key.in_(keys))).all()) if keys else {}
    return [row if row.key not in recorded else
            replace(row, state=State.SENT if recorded[row.key] in ("sent", "logged")
                    else State.UNSENT)
            for row in rows]


def queue_weekly_reports(now: datetime) -> int:
    """Queue one send job per lead whose weekly mail is due (or recorded but unsent);
    returns how many were queued. Safe to run any number of times (see the module)."""
    from service.reports.jobs import send_weekly_report as send_job

    queued = 0
    for row in plan(now):
        if row.state in (State.DUE, State.UNSENT):
            jobs.enqueue(send_job, row.user_id, row.week_start.isoformat())
            queued += 1
    db.session.commit()  # hands the jobs over (RQ, or in-process when embedded)
    return queued


def send_weekly_report(user_id: int, monday: date) -> OutboundMail | None:
    """Compose and send a user's mail for the week starting `monday` (covering the week
    before it), once; None when the user should get none (gone, inactive, turned off)."""
    if monday.weekday() != 0:
        raise ValueError(f"{monday} is not a Monday")
    key = dedupe_key(user_id, monday)
    recorded = db.session.scalar(select(OutboundMail).where(OutboundMail.dedupe_key == key))
    if recorded is not None:
        # Composed before: finish sending it (no-op when sent), never compose a second one.
        return mail.send_mail(key, recorded.to_address, recorded.subject,
                              recorded.body_text, html=recorded.body_html)
    user = db.session.get(User, user_id)
    if user is None or not enabled() or not is_recipient(user_id) \
            or not user.wants_notice(NOTICE_KIND):
        return None
    subject, text, html = compose(user, monday, utcnow())
    return mail.send_mail(key, user.email, subject, text, html=html)


def compose(user: User, monday: date, now: datetime) -> tuple[str, str, str]:
    """(subject, text, HTML) of the user's weekly mail, in the user's language."""
    zone = access.report_zone(user)
    start, end = last_week(monday, zone)
    first_day, last_day = last_week_days(monday)
    locale = locale_for(user.locale)
    with force_locale(locale):
        context = {"user": user, "zone": zone.key, "html_lang": locale.replace("_", "-"),
                   "first_day": first_day, "last_day": last_day,
                   "rows": headline_rows(user, start, end, monday, now),
                   "breaches": most_breaches(user, start, end, now)}
        return (render_template("reports/mail/weekly_subject.txt", **context).strip(),
                render_template("reports/mail/weekly.txt", **context),
                render_template("reports/mail/weekly.html", **context))


def headline_rows(user: User, start: datetime, end: datetime, monday: date,
                  now: datetime) -> list[dict[str, Any]]:
    """For each report the user may read: its title, headline number last week and the
    week before (formatted), the change, and a link to its console page."""
    rows = []
    for report in reports():
        if not may_read(user, report):
            continue
        result = _computed(report, user, {"from_": start, "to": end}, now)
        if result is None:
            continue
        column = report.headline
        current = column.value(result["total"])
        previous = column.value((result.get("previous") or {}).get("total"))
        rows.append({"name": report.name, "title": str(report.title),
                     "label": str(column.label), "current": format_value(current, column.unit),
                     "previous": format_value(previous, column.unit),
                     "change": change(current, previous, column),
                     "link": console_link(report.name, monday)})
    return rows


def most_breaches(user: User, start: datetime, end: datetime,
                  now: datetime) -> dict[str, Any] | None:
    """The team with the most SLA breaches last week ({"team", "count"}) by the SLA
    compliance report grouped by team; None without that report or without breaches."""
    report = get(BREACH_REPORT)
    column = breach_column(report) if report is not None else None
    if column is None or not may_read(user, report):
        return None
    result = _computed(report, user, {"from_": start, "to": end, "group_by": "team",
                                      "top": None, "compare": False}, now)
    teams = [(column.value(group) or 0, group["label"]) for group in (result or {}).get(
        "groups", []) if group["key"] is not None]
    if not teams:
        return None
    count, name = min(teams, key=lambda team: (-team[0], team[1]))  # a tie: by name
    return {"team": name, "count": count} if count else None


def breach_column(report: Report) -> Column | None:
    """The report's count of breached tickets (its BREACH_COLUMN), or None."""
    return next((column for column in report.columns if column.key == BREACH_COLUMN), None)


def console_link(name: str, monday: date) -> str:
    """The console page of a report over last week (dates are local, `to` inclusive)."""
    first_day, last_day = last_week_days(monday)
    query = urlencode({"from": first_day.isoformat(), "to": last_day.isoformat()})
    return f"{current_app.config['BASE_URL']}/console/reports/{quote(name, safe='')}?{query}"


def _computed(report: Report, user: User, args: dict[str, Any],
              now: datetime) -> dict[str, Any] | None:
    try:
        return compute(report, user, args, now)
    except InvalidInput as error:
        # One report refusing this reader's slice must not cost them the whole mail.
        log.warning("weekly report: %s refused for user %s: %s", report.name, user.id,
                    error.errors)
        return None

