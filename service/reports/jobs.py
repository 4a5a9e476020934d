"""Background entry points of the weekly report mail: take ids, call service.reports.weekly."""
from __future__ import annotations

from datetime import date

from flask import current_app

from service.jobs import job


@job(queue="sweeps")
def queue_weekly_reports() -> None:
    """Queue the weekly report mail of every lead it is due for (the ticker runs it hourly)."""
    from service.db_types import utcnow
    from service.reports import weekly

    weekly.queue_weekly_reports(utcnow())


@job(queue="sweeps")
def refresh_rollups() -> None:
    """Rebuild the reports' stale daily rollups (the ticker runs it every 10 minutes)."""
    from service.db_types import utcnow
    from service.reports import rollup
    from service.reports.registry import rolled_up

    if current_app.config["REPORT_ROLLUPS"]:
        rollup.refresh([report.metric for report in rolled_up()], utcnow())


@job(queue="mail")
def send_weekly_report(user_id: int, week_start: str) -> None:
    """Send one lead's weekly report mail for the week starting on `week_start` (ISO date
    of the local Monday; the mail covers the week before it), once."""
    from service.reports import weekly

    weekly.send_weekly_report(user_id, date.fromisoformat(week_start))
