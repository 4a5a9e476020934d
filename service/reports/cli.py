"""`flask --app wsgi reports …`: the weekly report mail by hand (cron, or to check it)."""
from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import current_app
from flask.cli import with_appcontext

from service import jobs


@click.group("reports")
def reports_cli() -> None:
    """Reports: the weekly mail to leads, the daily rollups."""


def _instant(value: str | None) -> datetime:
    from service.db_types import utcnow

    if value is None:
        return utcnow()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use an ISO date-time, e.g. 2026-12-07T08:00:00+08:00",
                                 param_hint="--now") from None
    # A time without an offset is read as UTC, as the database stores it.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@reports_cli.command("send-weekly")
@click.option("--now", "now_text", default=None, metavar="ISO",
              help="Act as if it were this moment (default: now).")
@click.option("--dry-run", is_flag=True, help="List who is due, send nothing.")
@with_appcontext
def send_weekly_command(now_text: str | None, dry_run: bool) -> None:
    """Send the weekly report mail to every lead it is due for (each once per week)."""
    from service.reports import weekly

    now = _instant(now_text)
    if not weekly.enabled():
        click.echo("WEEKLY_REPORTS_ENABLED is off: no weekly report mail is sent")
        return
    planned = weekly.plan(now)
    for row in planned:
        click.echo(f"{row.state.value:<7} {row.email} week of {row.week_start} ({row.zone})")
    if dry_run:
        due = [row for row in planned if row.state in (weekly.State.DUE, weekly.State.UNSENT)]
        click.echo(f"dry run: {len(due)} to send, nothing sent")
        return
    app = current_app._get_current_object()
    with jobs.finished_before_return(app):  # without Redis, sent before the command ends
        queued = weekly.queue_weekly_reports(now)
    click.echo(f"{queued} weekly report mail(s) queued")


@reports_cli.command("rollup")
@click.option("--all", "everything", is_flag=True,
              help="Rebuild every day of the horizon, not only the stale ones.")
@with_appcontext
def rollup_command(everything: bool) -> None:
    """Rebuild the daily rollups of the long-period reports (the ticker does it every
    10 minutes; run it after a bulk import or a TIMEZONE change)."""
    from service.db_types import utcnow
    from service.reports import rollup
    from service.reports.registry import rolled_up

    for report in rolled_up():
        days = rollup.refresh([report.metric], utcnow(), everything=everything)
        click.echo(f"{report.name}: {days} day(s) rebuilt")
