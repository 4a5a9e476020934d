"""The one ticker that drives periodic work (SLA sweep, outbox sweep, queued assignment,
overdue tasks, confirmation reminders and auto-close).

Embedded mode runs it as a daemon thread beside the web server; production runs
`flask --app wsgi ticker`, which enqueues the same jobs onto RQ (or cron can call
`flask --app wsgi sweep NAME`). A Redis lock per tick keeps several tickers from
enqueuing the same sweep twice; the sweeps themselves are safe to run concurrently.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

from flask import Flask

from service import jobs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    name: str
    every_seconds: int
    job: Callable  # a @job function taking no arguments


def periodic_tasks(app: Flask) -> list[Periodic]:
    """Every periodic task, with how often it runs."""
    from tickets import jobs as ticket_jobs
    from tickets.channels.chat import jobs as chat_jobs
    from tickets.channels.email import jobs as email_jobs
    from tickets.resolution import jobs as resolution_jobs
    from tickets.tasks import jobs as task_jobs
    from surveys import jobs as survey_jobs
    from surveys import nps_jobs
    from surveys.health import jobs as health_jobs
    from surveys.opportunities import jobs as opportunity_jobs
    from surveys.recovery import jobs as recovery_jobs
    from surveys.revisits import jobs as revisit_jobs
    from service.reports import jobs as report_jobs

    interval = app.config["TICKER_INTERVAL_SECONDS"]
    return [
        Periodic("sla", interval, ticket_jobs.sweep_sla),
        Periodic("assignment", interval, ticket_jobs.assign_queued_tickets),
        Periodic("outbox", interval, sweep_outbox_job),
        Periodic("loads", 3600, ticket_jobs.reconcile_agent_loads),
        Periodic("imap", app.config["IMAP_POLL_SECONDS"], email_jobs.poll_all_mailboxes),
        Periodic("chat", interval, chat_jobs.sweep_chat_handoffs),
        Periodic("tasks", interval, task_jobs.sweep_overdue_tasks),
        Periodic("confirmations", interval, resolution_jobs.sweep_confirmations),
        Periodic("surveys", interval, survey_jobs.sweep_invitations),
        Periodic("nps", 3600, nps_jobs.schedule_nps),
        Periodic("recovery", interval, recovery_jobs.sweep_recoveries),
        Periodic("opportunities", interval, opportunity_jobs.sweep_opportunities),
        Periodic("revisits", 3600, revisit_jobs.sweep_revisits),
        Periodic("health", 3600, health_jobs.refresh_health),
        Periodic("weekly-reports", 3600, report_jobs.queue_weekly_reports),
        Periodic("report-rollups", 600, report_jobs.refresh_rollups),
    ]


@jobs.job(queue="sweeps")
def sweep_outbox_job() -> None:
    """Re-enqueue jobs that waited in the outbox (Redis was down, or they failed)."""
    jobs.sweep_outbox()


def run_task(app: Flask, task: Periodic) -> None:
    """Run one periodic task now: in-process (embedded) or as an RQ job (production)."""
    if app.config.get("REDIS_URL"):
        from rq import Queue

        connection = jobs.redis_connection(app)
        # One enqueue per task per interval, however many tickers run.
        slot = int(time.time() // task.every_seconds)
        if connection.set(f"loopdesk:tick:{task.name}:{slot}", "1", nx=True,
                          ex=task.every_seconds * 2):
            Queue(task.job.job_queue, connection=connection).enqueue(task.job.job_path)
        return
    with app.app_context():
        task.job()


def run_forever(app: Flask, stop: threading.Event) -> None:
    """Run every task on its interval until `stop` is set; errors never stop the loop."""
    tasks = periodic_tasks(app)
    next_run = {task.name: 0.0 for task in tasks}
    while not stop.is_set():
        now = time.monotonic()
        for task in tasks:
            if now >= next_run[task.name]:
                next_run[task.name] = now + task.every_seconds
                try:
                    run_task(app, task)
                except Exception:
                    log.exception("periodic task %s failed", task.name)
        stop.wait(1.0)


def start_thread(app: Flask) -> threading.Event:
    """Start the embedded ticker thread; set the returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(target=run_forever, args=(app, stop), name="ticker", daemon=True)
    thread.start()
    return stop
