"""Closed loop (issue 5) on PostgreSQL: the two sweeps' throughput and three pages' latency.

    .venv/bin/python bench/closed_loop.py                    # create, seed, measure
    .venv/bin/python bench/closed_loop.py --reuse            # keep the seeded database
    .venv/bin/python bench/closed_loop.py --tickets 2000 --tasks 2000 --requests 50
    .venv/bin/python bench/closed_loop.py --explain          # also EXPLAIN the sweeps' picks

Setup (unless --reuse): DROP/CREATE `loopdesk_bench_closed_loop`, migrate it with
`flask_migrate.upgrade`, defaults, an admin user, bench/generate.py's --base-tickets
(100,000) tickets with teams, leads, contacts and messages; then, in SQL (no service calls):

- --tickets (10,000) tickets turned resolved with a pending resolution each, as `resolve()`
  leaves them 3.5 to 6.6 days later: ticket `resolved` (resolved_at, SLA state met/breached,
  no next check), a `resolutions` row (state pending, remind_at = resolved + half the
  policy's confirmation_days — now past —, auto_close_at = resolved + confirmation_days —
  still ahead —, next_action_at = remind_at), and the three timeline events resolve()
  records (status_changed, resolved, confirmation_requested). The confirmation-request
  mail rows the job would have written are not seeded.
- --tasks (10,000) active tasks (60 % open, 25 % in progress, 15 % blocked), two per ticket
  on --tasks/2 tickets moved to pending_internal, spread over the 5 departments (each has a
  lead), half assigned to a member, all past their due time (1 minute to 3 days) and not
  escalated; a task_opened event each and the ticket's status_changed event.
- --requests (+5 warm-up) open Support tickets without tasks, for POST .../resolution.
- One customer with 20 tickets; on the newest, resolved an hour ago (pending resolution,
  reminder still ahead), 30 public messages: the measured portal page.

Measurement. Every phase runs on a fresh copy of the seeded database
(`CREATE DATABASE loopdesk_bench_closed_loop_run TEMPLATE loopdesk_bench_closed_loop`), so
each starts from the same state and --reuse stays valid. One Python process, in-process:
the services are called directly and the pages through the Flask test client (no HTTP,
no network; app + database + template/JSON). Redis is not used. Two phases:

- "jobs not run": service.jobs.dispatch replaced by a counter, so the jobs the sweeps and
  requests queue after each commit are counted, not run (what the app does with Redis,
  minus the RQ enqueue);
- "jobs eager": JOBS_EAGER, MAIL_SERVER unset: each commit's jobs run in-process right
  after it (mails rendered and recorded in outbound_mail, not sent), as the other benches.
  Rendering a mail per item dominates, so by default only --eager-items (1,000)
  resolutions and tasks are due in this phase (the others stay in the tables, not due).

In each phase: sweep_confirmations() once (the reminders), auto_close_at moved into the
past, sweep_confirmations() again (auto-close), sweep_overdue_tasks() once, each with the
app's default batch size; then 200 requests each (after 5 warm-up) of POST
/api/v1/tickets/{id}/resolution (distinct tickets, as the Support lead with a bearer
token), GET /api/v1/tasks?department=<Support>&status=open (as that lead and as an admin)
and GET /portal/tickets/<number> (portal session of the customer). "tx per batch" is the
time from a sweep batch's first statement (its FOR UPDATE SKIP LOCKED pick) to its COMMIT:
how long that batch holds its row locks.
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime

import psycopg

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
# The project root before bench/: bench/surveys.py must not hide the `surveys` package.
sys.path.insert(0, ROOT)
sys.path.insert(1, BENCH)
for _name in ("DATABASE_URL", "REDIS_URL", "MAIL_SERVER"):  # only what this script says
    os.environ.pop(_name, None)
os.environ.setdefault("SECRET_KEY", "bench-closed-loop-secret-key")

from benchkit import create_database, database_exists, log, pg_admin  # noqa: E402

ADMIN_EMAIL = "bench-loop-admin@bench.loopdesk.test"
LEAD_EMAIL = "gen-agent1@bench.loopdesk.test"  # generate.py: lead of Support
WARMUP = 5
PORTAL_TICKETS = 20
PORTAL_MESSAGES = 30
RESOLUTION_BODY = {
    "summary": "Replaced the worn fuser unit; test pages print clean.",
    "root_cause": "The fuser wore out after 200,000 pages.",
    "verification": {"method": "reproduced",
                     "result": "Ten test pages printed without smudges."}}


def app_config(url: str) -> dict:
    return {"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False,
            "LOG_LEVEL": "WARNING", "JOBS_EAGER": True, "REDIS_URL": None,
            "MAIL_SERVER": None}


# ---------------------------------------------------------------------------- setup

def seed(args: argparse.Namespace, url: str) -> None:
    import generate

    log(f"generating {args.base_tickets:,} background tickets")
    with psycopg.connect(url) as conn:
        generate.generate(conn, args.base_tickets, args.seed)
        conn.commit()
    started = time.monotonic()
    with psycopg.connect(url) as conn:
        conn.execute("SET LOCAL synchronous_commit = off")
        now = datetime.now(UTC).replace(microsecond=0)
        support = conn.execute("SELECT id FROM teams WHERE name = 'Support'").fetchone()[0]
        pick_requests(conn, args.requests + WARMUP, support)
        contact_id = pick_portal(conn, now)
        pick_resolved(conn, args.tickets, now)
        pick_tasks(conn, args.tasks, now)
        generate.refresh_agent_loads(conn)
        conn.commit()
    log(f"closed-loop rows seeded in {time.monotonic() - started:.1f} s "
        f"(portal contact {contact_id})")
    with psycopg.connect(url, autocommit=True) as conn:
        for table in ("tickets", "messages", "ticket_events", "resolutions", "tasks",
                      "users", "team_members", "contacts"):
            conn.execute(f"VACUUM (ANALYZE) {table}")


def pick_requests(conn, count: int, support: int) -> None:
    """Open Support tickets without tasks for POST .../resolution (converted if too few)."""
    conn.execute("""
        CREATE TEMP TABLE pick_c ON COMMIT DROP AS
        SELECT id FROM tickets WHERE team_id = %s AND assignee_id IS NOT NULL
        ORDER BY (status IN ('open', 'reopened', 'pending_customer')) DESC, id DESC
        LIMIT %s""", (support, count))
    got = conn.execute("SELECT count(*) FROM pick_c").fetchone()[0]
    if got < count:
        raise SystemExit(f"only {got} Support tickets for the requests: raise --base-tickets")
    # Tickets not open already become open, as if never resolved (SLA clock running).
    conn.execute("""
        UPDATE tickets t SET status = 'open', resolved_at = NULL, closed_at = NULL,
               closed_reason = NULL, sla_paused_at = NULL,
               first_responded_at = COALESCE(t.first_responded_at, t.created_at
                                             + interval '10 minutes'),
               resolution_breached_at = CASE WHEN t.resolution_due_at < now()
                                             THEN t.resolution_due_at END,
               resolution_warned_at = CASE WHEN t.resolution_warn_at < now()
                                           THEN t.resolution_warn_at END,
               sla_state = CASE WHEN t.resolution_due_at < now()
                                  OR t.first_response_breached_at IS NOT NULL
                                THEN 'breached' WHEN t.resolution_warn_at < now()
                                THEN 'at_risk' ELSE 'on_track' END,
               sla_next_check_at = CASE WHEN t.resolution_warn_at >= now()
                                        THEN t.resolution_warn_at
                                        WHEN t.resolution_due_at >= now()
                                        THEN t.resolution_due_at END
        FROM pick_c c WHERE t.id = c.id AND t.status NOT IN ('open', 'reopened',
                                                             'pending_customer')""")


def pick_portal(conn, now: datetime) -> int:
    """One customer with 20 tickets; the newest resolved an hour ago, 30 messages on it."""
    contact_id, account_id = conn.execute("""
        SELECT c.id, c.account_id FROM contacts c WHERE NOT c.email_bouncing
        ORDER BY c.id LIMIT 1""").fetchone()
    conn.execute("""
        CREATE TEMP TABLE pick_d ON COMMIT DROP AS
        SELECT id FROM tickets WHERE id NOT IN (SELECT id FROM pick_c)
        ORDER BY id DESC LIMIT %s""", (PORTAL_TICKETS,))
    conn.execute("UPDATE tickets SET contact_id = %s, account_id = %s "
                 "WHERE id IN (SELECT id FROM pick_d)", (contact_id, account_id))
    conn.execute("""UPDATE messages SET author_contact_id = %s
                    WHERE ticket_id IN (SELECT id FROM pick_d) AND author_kind = 'customer'""",
                 (contact_id,))
    conn.execute("UPDATE ticket_events SET actor_contact_id = %s WHERE ticket_id IN "
                 "(SELECT id FROM pick_d) AND actor_kind = 'customer'", (contact_id,))
    ticket_id = conn.execute("SELECT max(id) FROM pick_d").fetchone()[0]
    staff = conn.execute("SELECT assignee_id FROM tickets WHERE id = %s",
                         (ticket_id,)).fetchone()[0]
    if staff is None:
        staff = conn.execute("SELECT lead_id FROM teams WHERE name = 'Support'").fetchone()[0]
        conn.execute("UPDATE tickets SET assignee_id = %s WHERE id = %s", (staff, ticket_id))
    conn.execute("DELETE FROM messages WHERE ticket_id = %s", (ticket_id,))
    conn.execute("""
        INSERT INTO messages (ticket_id, author_kind, author_user_id, author_contact_id,
                              visibility, channel, body, created_at)
        SELECT %(t)s, CASE WHEN i %% 2 = 0 THEN 'customer' ELSE 'staff' END,
               CASE WHEN i %% 2 = 1 THEN %(u)s END, CASE WHEN i %% 2 = 0 THEN %(c)s END,
               'public', 'portal',
               'Message ' || i || ': the device still restarts every few hours; '
               || repeat('我们已经按照说明重新配置，但问题依旧。', 3),
               %(now)s - interval '3 days' + i * interval '2 hours'
        FROM generate_series(0, %(n)s - 1) AS i""",
                 {"t": ticket_id, "u": staff, "c": contact_id, "now": now,
                  "n": PORTAL_MESSAGES})
    conn.execute("""UPDATE tickets SET created_at = %(now)s - interval '3 days',
                    first_responded_at = %(now)s - interval '3 days' + interval '2 hours'
                    WHERE id = %(t)s""", {"now": now, "t": ticket_id})
    conn.execute("CREATE TEMP TABLE pick_a ON COMMIT DROP AS "
                 "SELECT %s::int AS id, %s::timestamptz AS r, true AS portal",
                 (ticket_id, now.replace(second=0) - _hours(1)))
    return contact_id


def _hours(hours: float):
    from datetime import timedelta

    return timedelta(hours=hours)


def pick_resolved(conn, count: int, now: datetime) -> None:
    """`count` tickets resolved 3.5-6.6 days ago with a pending resolution (reminder due)."""
    conn.execute("""
        INSERT INTO pick_a (id, r, portal)
        SELECT t.id, date_trunc('second', %(now)s - (0.5 + 0.45 * random())
                                * COALESCE(p.confirmation_days, 7) * interval '1 day'), false
        FROM tickets t LEFT JOIN sla_policies p ON p.id = t.sla_policy_id
        WHERE t.created_at < %(now)s - interval '8 days' AND t.assignee_id IS NOT NULL
          AND t.id NOT IN (SELECT id FROM pick_c) AND t.id NOT IN (SELECT id FROM pick_d)
        ORDER BY t.id DESC LIMIT %(n)s""", {"now": now, "n": count})
    got = conn.execute("SELECT count(*) FROM pick_a WHERE NOT portal").fetchone()[0]
    if got < count:
        raise SystemExit(f"only {got} tickets to resolve: raise --base-tickets")
    # What lifecycle.change_status(RESOLVED) and sla.stop_resolution_clock leave.
    conn.execute("""
        UPDATE tickets t SET status = 'resolved', resolved_at = a.r, closed_at = NULL,
               closed_reason = NULL, sla_paused_at = NULL, sla_next_check_at = NULL,
               first_responded_at = COALESCE(t.first_responded_at,
                                             LEAST(t.created_at + interval '1 hour', a.r)),
               resolution_breached_at = CASE WHEN t.resolution_due_at < a.r
                                             THEN COALESCE(t.resolution_breached_at,
                                                           t.resolution_due_at) END,
               resolution_warned_at = CASE WHEN t.resolution_warn_at < a.r
                                           THEN COALESCE(t.resolution_warned_at,
                                                         t.resolution_warn_at) END,
               sla_state = CASE WHEN t.first_response_breached_at IS NOT NULL
                                  OR t.resolution_due_at < a.r THEN 'breached'
                                ELSE 'met' END,
               updated_at = a.r
        FROM pick_a a WHERE t.id = a.id""")
    conn.execute("""
        CREATE TEMP TABLE new_res ON COMMIT DROP AS
        WITH ins AS (
          INSERT INTO resolutions (ticket_id, summary, root_cause, verification_method,
                 verification_result, evidence_note, evidence_attachment_ids, verified_by_id,
                 override_reason, overridden_task_ids, created_at, state, remind_at,
                 reminded_at, auto_close_at, next_action_at, answered_at)
          SELECT a.id, %(summary)s, %(cause)s, 'reproduced', %(result)s, NULL, '[]',
                 t.assignee_id, NULL, '[]', a.r, 'pending',
                 a.r + COALESCE(p.confirmation_days, 7) * interval '1 day' / 2, NULL,
                 a.r + COALESCE(p.confirmation_days, 7) * interval '1 day',
                 a.r + COALESCE(p.confirmation_days, 7) * interval '1 day' / 2, NULL
          FROM pick_a a JOIN tickets t ON t.id = a.id
          LEFT JOIN sla_policies p ON p.id = t.sla_policy_id
          ORDER BY a.id
          RETURNING id, ticket_id, created_at, auto_close_at, verified_by_id)
        SELECT * FROM ins""",
                 {"summary": RESOLUTION_BODY["summary"],
                  "cause": RESOLUTION_BODY["root_cause"],
                  "result": RESOLUTION_BODY["verification"]["result"]})
    # resolve(): status_changed (staff), resolved (staff), confirmation_requested (system).
    conn.execute("""
        INSERT INTO ticket_events (ticket_id, kind, actor_kind, actor_user_id,
                                   actor_contact_id, channel, data, created_at)
        SELECT ticket_id, 'status_changed', 'staff', verified_by_id, NULL::int, NULL::text,
               json_build_object('from', 'open', 'to', 'resolved', 'reason', NULL),
               created_at FROM new_res
        UNION ALL
        SELECT ticket_id, 'resolved', 'staff', verified_by_id, NULL::int, NULL::text,
               json_build_object('resolution_id', id, 'method', 'reproduced'), created_at
        FROM new_res
        UNION ALL
        SELECT ticket_id, 'confirmation_requested', 'system', NULL::int, NULL::int, NULL::text,
               json_build_object('resolution_id', id, 'auto_close_at',
                                 to_char(auto_close_at AT TIME ZONE 'UTC',
                                         'YYYY-MM-DD"T"HH24:MI:SS') || '+00:00'),
               created_at FROM new_res
        ORDER BY 8, 1""")


def pick_tasks(conn, count: int, now: datetime) -> None:
    """`count` overdue active tasks, two per ticket, over the 5 departments."""
    conn.execute("""
        CREATE TEMP TABLE pick_b ON COMMIT DROP AS
        SELECT id, row_number() OVER (ORDER BY id) AS n FROM (
          SELECT id FROM tickets
          WHERE created_at < %(now)s - interval '4 days' AND assignee_id IS NOT NULL
            AND id NOT IN (SELECT id FROM pick_c) AND id NOT IN (SELECT id FROM pick_d)
            AND id NOT IN (SELECT id FROM pick_a)
          ORDER BY id DESC LIMIT %(n)s) s""", {"now": now, "n": math.ceil(count / 2)})
    conn.execute("""
        CREATE TEMP TABLE depts ON COMMIT DROP AS
        SELECT row_number() OVER (ORDER BY m.id) - 1 AS k, m.id, m.lead_id,
               (SELECT array_agg(tm.user_id ORDER BY tm.user_id) FROM team_members tm
                WHERE tm.team_id = m.id) AS members
        FROM teams m WHERE m.lead_id IS NOT NULL ORDER BY m.id LIMIT 5""")
    if conn.execute("SELECT count(*) FROM depts").fetchone()[0] < 5:
        raise SystemExit("expected 5 departments with leads (bench/generate.py)")
    conn.execute("""
        CREATE TEMP TABLE new_tasks ON COMMIT DROP AS
        WITH src AS (
          SELECT b.id AS ticket_id, b.n, j, t.assignee_id AS creator,
                 ((b.n * 2 + j) %% 5) AS k,
                 %(now)s - (interval '1 minute' + random() * interval '3 days') AS due,
                 random() AS roll, ((b.n * 2 + j) %% 2 = 0) AS assigned
          FROM pick_b b JOIN tickets t ON t.id = b.id
          CROSS JOIN generate_series(0, 1) AS j
          WHERE b.n * 2 + j - 2 < %(count)s),
        ins AS (
          INSERT INTO tasks (ticket_id, department_id, assignee_id, title, description,
                             expected_outcome, outcome, status, due_at, escalated_at,
                             created_by_id, created_at, updated_at, finished_at)
          SELECT s.ticket_id, d.id,
                 CASE WHEN s.assigned
                      THEN d.members[1 + (s.n %% cardinality(d.members))] END,
                 'Check the unit returned for ' || s.ticket_id,
                 'Please check the returned unit and send us the log.',
                 'Test result and the firmware log', NULL,
                 CASE WHEN s.roll < 0.6 THEN 'open' WHEN s.roll < 0.85 THEN 'in_progress'
                      ELSE 'blocked' END,
                 date_trunc('second', s.due), NULL, s.creator,
                 date_trunc('second', s.due - interval '1 day'),
                 date_trunc('second', s.due - interval '1 day'), NULL
          FROM src s JOIN depts d ON d.k = s.k
          ORDER BY s.ticket_id, s.j
          RETURNING id, ticket_id, department_id, assignee_id, title, due_at, created_at,
                    created_by_id)
        SELECT * FROM ins""", {"now": now, "count": count})
    conn.execute("""
        UPDATE tickets t SET status = 'pending_internal', resolved_at = NULL, closed_at = NULL,
               closed_reason = NULL, sla_paused_at = NULL,
               updated_at = (SELECT max(created_at) FROM new_tasks n WHERE n.ticket_id = t.id)
        WHERE t.id IN (SELECT id FROM pick_b)""")
    conn.execute("""
        INSERT INTO ticket_events (ticket_id, kind, actor_kind, actor_user_id,
                                   actor_contact_id, channel, data, created_at)
        SELECT ticket_id, 'task_opened', 'staff', created_by_id, NULL::int, NULL::text,
               json_build_object('task_id', id, 'title', title, 'department_id',
                                 department_id, 'assignee_id', assignee_id, 'due_at',
                                 to_char(due_at AT TIME ZONE 'UTC',
                                         'YYYY-MM-DD"T"HH24:MI:SS') || '+00:00'),
               created_at FROM new_tasks
        UNION ALL
        SELECT ticket_id, 'status_changed', 'staff', min(created_by_id), NULL::int, NULL::text,
               json_build_object('from', 'open', 'to', 'pending_internal',
                                 'reason', 'task opened'), min(created_at)
        FROM new_tasks GROUP BY ticket_id
        ORDER BY 8, 1""")


# ---------------------------------------------------------------------------- measurement

def fresh_copy(args: argparse.Namespace) -> str:
    run_db = f"{args.db}_run"
    with pg_admin(args) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{run_db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{run_db}" TEMPLATE "{args.db}"')
    return f"postgresql://{args.pg}/{run_db}"


def limit_due(url: str, items: int) -> None:
    """Leave only `items` resolutions and `items` tasks due; the rest wait (still present).

    The other pending resolutions get their next action 10 days later, the other tasks a
    due time a day ahead, so eager runs (mail rendered per item) stay short.
    """
    with psycopg.connect(url) as conn:
        conn.execute("""
            UPDATE resolutions SET remind_at = remind_at + interval '10 days',
                   auto_close_at = auto_close_at + interval '10 days',
                   next_action_at = next_action_at + interval '10 days'
            WHERE state = 'pending' AND next_action_at <= now() AND id NOT IN (
              SELECT id FROM resolutions WHERE state = 'pending' AND next_action_at <= now()
              ORDER BY next_action_at, id LIMIT %s)""", (items,))
        conn.execute("""
            UPDATE tasks SET due_at = now() + interval '1 day'
            WHERE escalated_at IS NULL AND due_at <= now() AND id NOT IN (
              SELECT id FROM tasks WHERE escalated_at IS NULL AND due_at <= now()
              ORDER BY due_at, id LIMIT %s)""", (items,))
        conn.execute("ANALYZE resolutions")
        conn.execute("ANALYZE tasks")


class StatementLog:
    """SQL statements of the current measurement: count and time per statement text."""

    def __init__(self, engine) -> None:
        from sqlalchemy import event

        self.stats: dict[str, list[float]] = {}
        self._started: list[float] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, *_args) -> None:
        self._started.append(time.perf_counter())

    def _after(self, _conn, _cursor, statement, *_args) -> None:
        elapsed = time.perf_counter() - self._started.pop()
        entry = self.stats.setdefault(statement, [0, 0.0])
        entry[0] += 1
        entry[1] += elapsed

    def reset(self) -> None:
        self.stats = {}

    def count(self) -> int:
        return sum(int(n) for n, _ in self.stats.values())

    def top(self, limit: int = 3) -> list[tuple[float, int, str]]:
        rows = sorted(((total, int(n), sql) for sql, (n, total) in self.stats.items()),
                      reverse=True)
        return rows[:limit]


class Transactions:
    """Begin-to-COMMIT times of one session's transactions (a sweep's batches).

    The end is the connection's COMMIT (an engine event on the session's own connection),
    so jobs run eagerly after the commit, on other connections, are not counted.
    """

    def __init__(self, session, engine) -> None:
        from sqlalchemy import event

        self.times: list[float] = []
        self._begun: float | None = None
        self._connection = None
        event.listen(session, "after_begin", self._begin)
        event.listen(engine, "commit", self._commit)

    def _begin(self, _session, _transaction, connection) -> None:
        self._begun = time.perf_counter()
        self._connection = connection

    def _commit(self, connection) -> None:
        if self._begun is not None and connection is self._connection:
            self.times.append(time.perf_counter() - self._begun)
            self._begun = None


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def run_phase(args: argparse.Namespace, eager: bool) -> list[dict]:
    from sqlalchemy import func, select, update

    from service import create_app, jobs
    from service.auth.models import User
    from service.auth.services import issue_token
    from service.extensions import db
    from tickets.models import Status, Ticket, format_number
    from tickets.resolution.models import ConfirmationState, Resolution
    from tickets.resolution.sweep import sweep_confirmations
    from tickets.tasks.overdue import sweep_overdue_tasks

    mode = "jobs eager" if eager else "jobs not run"
    log(f"{mode}: copying the seeded database")
    url = fresh_copy(args)
    if eager and args.eager_items:
        limit_due(url, args.eager_items)
    queued: dict[str, int] = {}
    real_dispatch = jobs.dispatch
    if not eager:
        def count_only(_app, pending) -> None:
            for job in pending:
                name = job.func.rsplit(".", 1)[1]
                queued[name] = queued.get(name, 0) + 1
        jobs.dispatch = count_only
    rows: list[dict] = []
    app = create_app(app_config(url))
    try:
        with app.app_context():
            statements = StatementLog(db.engine)

            def pending_count() -> int:
                return db.session.scalar(select(func.count()).select_from(Resolution).where(
                    Resolution.state == ConfirmationState.PENDING))

            def sweep_row(name: str, call, unit: str) -> None:
                db.session.commit()
                queued.clear()
                statements.reset()
                batches = Transactions(db.session(), db.engine)
                cpu = time.process_time()
                started = time.perf_counter()
                done, detail = call()
                seconds = time.perf_counter() - started
                cpu = time.process_time() - cpu
                jobs_note = (", ".join(f"{n:,} {k}" for k, n in sorted(queued.items()))
                             if not eager else "run in-process")
                tx = batches.times
                rows.append({
                    "phase": mode, "what": name, "items": done, "unit": unit,
                    "seconds": seconds, "rate": done / seconds if seconds else 0.0,
                    "cpu": cpu, "sql": statements.count(), "detail": detail,
                    "batches": len(tx), "tx_p50": statistics.median(tx) if tx else None,
                    "tx_max": max(tx) if tx else None, "jobs": jobs_note,
                    "top": statements.top()})
                log(f"{mode}: {name}: {done:,} in {seconds:.2f} s "
                    f"({done / seconds if seconds else 0:,.0f}/s), {len(tx)} batches")

            before = pending_count()

            def remind():
                result = sweep_confirmations()
                return result.reminded, (f"{before:,} pending; reminded {result.reminded:,}, "
                                         f"closed {result.auto_closed:,}")
            sweep_row("confirmation sweep: reminders", remind, "resolutions")
            # Time passes: the auto-close point of every reminded resolution is now past.
            moved = db.session.execute(
                update(Resolution).where(Resolution.state == ConfirmationState.PENDING,
                                         Resolution.reminded_at.is_not(None))
                .values(auto_close_at=func.now() - func.make_interval(0, 0, 0, 0, 0, 1),
                        next_action_at=func.now() - func.make_interval(0, 0, 0, 0, 0, 1))
            ).rowcount
            db.session.commit()
            db.session.execute(db.text("ANALYZE resolutions"))
            db.session.commit()

            def auto_close():
                result = sweep_confirmations()
                closed = db.session.scalar(select(func.count()).select_from(Ticket).where(
                    Ticket.status == Status.CLOSED, Ticket.closed_reason == "auto_confirmed"))
                return result.auto_closed, (f"{moved:,} moved past auto_close_at; closed "
                                            f"{result.auto_closed:,} (tickets auto_confirmed: "
                                            f"{closed:,})")
            sweep_row("confirmation sweep: auto-close", auto_close, "resolutions")

            def overdue():
                escalated = sweep_overdue_tasks()
                from service.notify.models import Notification
                notes = db.session.scalar(select(func.count()).select_from(Notification)
                                          .where(Notification.kind == "task_overdue"))
                return escalated, f"escalated {escalated:,}; lead notifications {notes:,}"
            sweep_row("overdue task sweep", overdue, "tasks")

            # ---- requests
            lead = db.session.scalar(select(User).where(User.email == LEAD_EMAIL))
            admin = db.session.scalar(select(User).where(User.email == ADMIN_EMAIL))
            lead_auth = {"Authorization": f"Bearer {issue_token(lead, name='bench')}"}
            admin_auth = {"Authorization": f"Bearer {issue_token(admin, name='bench')}"}
            support = db.session.scalar(db.text("SELECT id FROM teams WHERE name = 'Support'"))
            open_ids = list(db.session.scalars(db.text("""
                SELECT t.id FROM tickets t WHERE t.team_id = :team
                  AND t.status IN ('open', 'reopened', 'pending_customer')
                  AND NOT EXISTS (SELECT 1 FROM tasks k WHERE k.ticket_id = t.id)
                  AND NOT EXISTS (SELECT 1 FROM resolutions r WHERE r.ticket_id = t.id)
                ORDER BY t.id DESC LIMIT :n"""), {"team": support,
                                                   "n": args.requests + WARMUP}))
            portal = db.session.execute(db.text("""
                SELECT t.id, t.contact_id FROM resolutions r JOIN tickets t ON t.id = r.ticket_id
                WHERE r.state = 'pending' ORDER BY r.created_at DESC LIMIT 1""")).one()
            db.session.commit()
            db.session.remove()
        if len(open_ids) < args.requests + WARMUP:
            raise SystemExit(f"only {len(open_ids)} open Support tickets to resolve")
        client = app.test_client()
        portal_client = app.test_client()
        with portal_client.session_transaction() as session:
            session["portal"] = {"c": portal.contact_id, "s": "all", "iat": int(time.time())}
        posts = iter(open_ids)
        measures = [
            ("POST /api/v1/tickets/{id}/resolution (lead)",
             lambda: client.post(f"/api/v1/tickets/{next(posts)}/resolution",
                                 json=RESOLUTION_BODY, headers=lead_auth), 201),
            (f"GET /api/v1/tasks?department={support}&status=open (lead)",
             lambda: client.get(f"/api/v1/tasks?department={support}&status=open",
                                headers=lead_auth), 200),
            (f"GET /api/v1/tasks?department={support}&status=open (admin)",
             lambda: client.get(f"/api/v1/tasks?department={support}&status=open",
                                headers=admin_auth), 200),
            (f"GET /portal/tickets/{format_number(portal.id)} (customer)",
             lambda: portal_client.get(f"/portal/tickets/{format_number(portal.id)}"), 200),
        ]
        for name, request, expected in measures:
            for _ in range(WARMUP):
                request().close()
            queued.clear()
            statements.reset()
            times, statuses = [], {}
            cpu = time.process_time()
            for _ in range(args.requests):
                started = time.perf_counter()
                response = request()
                response.get_data()
                times.append((time.perf_counter() - started) * 1000)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                if response.status_code != expected and statuses[response.status_code] == 1:
                    log(f"{name}: {response.status_code} {response.get_data(as_text=True)[:300]}")
                response.close()
            cpu = time.process_time() - cpu
            jobs_note = (", ".join(f"{n / args.requests:g} {k}" for k, n in sorted(queued.items()))
                         if not eager else "run in-process")
            rows.append({"phase": mode, "what": name, "p50": statistics.median(times),
                         "p95": percentile(times, 0.95), "max": max(times),
                         "cpu": cpu * 1000 / args.requests,
                         "sql": statements.count() / args.requests,
                         "status": ",".join(f"{code}×{n}" for code, n in sorted(statuses.items())),
                         "jobs": jobs_note, "top": statements.top()})
            log(f"{mode}: {name}: p50 {rows[-1]['p50']:.1f} ms p95 {rows[-1]['p95']:.1f} ms")
        if args.explain:
            rows.append({"phase": mode, "what": "EXPLAIN", "explain_sweeps":
                         explain_sweeps(url)})
        with app.app_context():
            db.engine.dispose()
    finally:
        jobs.dispatch = real_dispatch
    return rows


def explain_sweeps(url: str) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the sweeps' work-list picks on the (swept) copy."""
    queries = {
        "confirmation sweep pick": """
            SELECT tickets.id FROM tickets WHERE tickets.id IN (
              SELECT resolutions.ticket_id FROM resolutions
              WHERE resolutions.state = 'pending' AND resolutions.next_action_at <= now()
              ORDER BY resolutions.next_action_at, resolutions.id LIMIT 500)
            FOR UPDATE OF tickets SKIP LOCKED""",
        "overdue task pick": """
            SELECT tasks.id FROM tasks
            WHERE tasks.status IN ('open', 'in_progress', 'blocked') AND tasks.due_at <= now()
              AND tasks.escalated_at IS NULL
            ORDER BY tasks.due_at, tasks.id LIMIT 200 FOR UPDATE OF tasks SKIP LOCKED""",
    }
    out = []
    with psycopg.connect(url) as conn:
        for name, sql in queries.items():
            plan = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}").fetchall()
            out.append(f"-- {name}\n" + "\n".join(row[0] for row in plan))
        conn.rollback()
    return "\n".join(out)


# ---------------------------------------------------------------------------- report

def machine(args: argparse.Namespace) -> list[str]:
    def run(*command: str) -> str:
        return subprocess.run(command, capture_output=True, text=True, check=False).stdout

    model = [line.split(":", 1)[1].strip() for line in run("lscpu").splitlines()
             if line.startswith("Model name")]
    with pg_admin(args) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
    return [f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            f"nproc: {run('nproc').strip()}; CPU: {', '.join(model)}; PostgreSQL {version}; "
            f"Python {platform.python_version()}",
            f"load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}"]


def report(args: argparse.Namespace, rows: list[dict]) -> None:
    print("\n".join(f"- {line}" for line in machine(args)))
    print(f"- sizes: --tickets {args.tickets:,} --tasks {args.tasks:,} --requests "
          f"{args.requests} on {args.base_tickets:,} background tickets; jobs-eager sweeps: "
          f"{args.eager_items or 'all'} items due; in-process (services called directly, "
          "pages through the Flask test client, no HTTP)")
    print()
    print("| Phase | Sweep | Items | Seconds | Items/s | CPU s | Batches | tx p50 / max ms "
          "| SQL | Jobs | Result |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for row in rows:
        if "rate" in row:
            print(f"| {row['phase']} | {row['what']} | {row['items']:,} | "
                  f"{row['seconds']:.2f} | **{row['rate']:,.0f}** | {row['cpu']:.2f} | "
                  f"{row['batches']} | {row['tx_p50'] * 1000:.0f} / {row['tx_max'] * 1000:.0f}"
                  f" | {row['sql']:,} | {row['jobs']} | {row['detail']} |")
    print()
    print(f"| Phase | Request ({args.requests} each, after {WARMUP} warm-up) | p50 ms | p95 ms "
          "| max ms | CPU ms/req | SQL/req | Status | Jobs per request |")
    print("|---|---|---:|---:|---:|---:|---:|---|---|")
    for row in rows:
        if "p50" in row:
            print(f"| {row['phase']} | `{row['what']}` | **{row['p50']:.1f}** | "
                  f"**{row['p95']:.1f}** | {row['max']:.1f} | {row['cpu']:.1f} | "
                  f"{row['sql']:.1f} | {row['status']} | {row['jobs']} |")
    if args.verbose or args.explain:
        print()
        for row in rows:
            for total, count, sql in row.get("top", []):
                print(f"[{row['phase']}] {row['what']}: {total * 1000:.0f} ms in {count}× "
                      f"{' '.join(sql.split())[:400]}")
            if "explain_sweeps" in row:
                print(row["explain_sweeps"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", default="postgres@127.0.0.1:5432",
                        help="user@host:port of PostgreSQL (trust auth)")
    parser.add_argument("--db", default="loopdesk_bench_closed_loop")
    parser.add_argument("--tickets", type=int, default=10_000,
                        help="resolved tickets waiting for confirmation (reminder due)")
    parser.add_argument("--tasks", type=int, default=10_000, help="overdue active tasks")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    parser.add_argument("--base-tickets", type=int, default=100_000,
                        help="tickets bench/generate.py loads first (the background)")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--reuse", action="store_true",
                        help="skip setup and seeding if the database exists")
    parser.add_argument("--eager-items", type=int, default=1_000,
                        help="items due in the jobs-eager phase's sweeps (0: all)")
    parser.add_argument("--only", choices=("eager", "noop"),
                        help="run one phase only (default both)")
    parser.add_argument("--explain", action="store_true",
                        help="print EXPLAIN ANALYZE of the sweeps' picks and the top SQL")
    parser.add_argument("--verbose", action="store_true",
                        help="print the slowest SQL statements of each measurement")
    args = parser.parse_args()
    if "test" in args.db.lower():
        raise SystemExit("refusing a database whose name contains 'test'")
    if min(args.tickets, args.tasks, args.requests) < 1:
        raise SystemExit("--tickets, --tasks and --requests must be at least 1")
    url = f"postgresql://{args.pg}/{args.db}"
    started = time.monotonic()
    if args.reuse and database_exists(args, args.db):
        log(f"reusing {args.db}")
    else:
        create_database(args, app_config(url), ADMIN_EMAIL, f"{args.db}_run")
        seed(args, url)
        log(f"database ready in {time.monotonic() - started:.0f} s")
    rows: list[dict] = []
    if args.only in (None, "noop"):
        rows += run_phase(args, eager=False)
    if args.only in (None, "eager"):
        rows += run_phase(args, eager=True)
    report(args, rows)


if __name__ == "__main__":
    main()
