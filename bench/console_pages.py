"""Server time of every staff-console page on 100,000 tickets (PostgreSQL), in-process.

    .venv/bin/python bench/console_pages.py              # create loopdesk_bench_console,
                                                         # load 100,000 tickets, measure
    .venv/bin/python bench/console_pages.py --reuse      # keep the loaded database
    .venv/bin/python bench/console_pages.py --reuse --only dashboard --requests 50
    .venv/bin/python bench/console_pages.py --help       # database, sizes, budget…

Setup (unless --reuse): DROP/CREATE the database (never one whose name contains "test"),
migrate it with `flask_migrate.upgrade` in `create_app`, add the defaults, an admin user
and, with bench/generate.py, 100,000 tickets (teams, agents and leads, routing rules,
accounts, contacts, ~3.6 messages, a `created` event and some tags per ticket), breach
records for the breaches the generator marked on tickets, and a long conversation (messages,
notes, events) on the ticket whose page is measured; then VACUUM ANALYZE.

Measurement: the Flask test client signed in through a real staff session (a
`staff_sessions` row and its cookie, as tests/conftest.py console_login does), PAGES below
requested `--warmup` times (discarded) then `--requests` times each; the server time of a
request is the wall time of `client.get` (app, database and template; no network). Prints
a markdown table: page, median and p95 ms, SQL statements per request, status. A page whose
route does not exist yet is "missing" (reported, not an error). Exits 1 when a page's
median is over --max-ms (default 150) or a page answers 5xx.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# The project root before bench/: bench/surveys.py must not hide the `surveys` package.
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(BENCH))
for _name in ("DATABASE_URL", "REDIS_URL", "MAIL_SERVER"):  # only what this script says
    os.environ.pop(_name, None)
os.environ.setdefault("SECRET_KEY", "bench-console-secret-key")

from benchkit import create_database, log  # noqa: E402

ADMIN_EMAIL = "bench-console-admin@bench.loopdesk.test"
LEAD_EMAIL = "gen-agent1@bench.loopdesk.test"  # generate.py: lead of Support
QUEUES = ("mine", "team", "unassigned", "at_risk", "waiting_customer", "waiting_internal",
          "resolved", "all")

# Indexes the dashboard's reports want that the migrations do not create (yet); see
# tickets/reports.py _sla_moment_since. --proposed-indexes creates them, else they are
# dropped, so a run measures exactly the schema it says.
PROPOSED_INDEXES = {
    "ix_tickets_sla_latest": "CREATE INDEX IF NOT EXISTS ix_tickets_sla_latest ON tickets "
                             "(GREATEST(first_response_due_at, resolution_due_at, "
                             "first_responded_at, resolved_at))",
}

# (page, path, who requests it). {placeholders} are filled from the loaded data.
PAGES: list[tuple[str, str, str]] = [
    *[(f"queue {queue}", f"/console/tickets?queue={queue}", "lead") for queue in QUEUES],
    *[(f"queue {queue} + search", f"/console/tickets?queue={queue}&q=router", "lead")
      for queue in QUEUES],
    ("queue all + Chinese search", "/console/tickets?queue=all&q=重启", "lead"),
    ("queue all (admin: 100k)", "/console/tickets?queue=all", "admin"),
    ("queue all + search (admin)", "/console/tickets?queue=all&q=router", "admin"),
    ("queue rows fragment", "/console/tickets/rows?queue=team", "lead"),
    ("ticket page", "/console/tickets/{ticket_id}", "lead"),
    ("new ticket", "/console/tickets/new", "lead"),
    ("customers", "/console/customers", "lead"),
    ("customers search", "/console/customers?q=wang", "lead"),
    ("customer page", "/console/customers/{contact_id}", "lead"),
    ("accounts", "/console/accounts", "lead"),
    ("accounts search", "/console/accounts?q=Account%2000", "lead"),
    ("account page", "/console/accounts/{account_id}", "lead"),
    ("dashboard (lead, 7 days)", "/console/dashboard", "lead"),
    ("dashboard (lead, 30 days)", "/console/dashboard?period=30d", "lead"),
    ("dashboard (admin, all, today)", "/console/dashboard?period=today", "admin"),
    ("dashboard (admin, all, 30 days)", "/console/dashboard?period=30d", "admin"),
    ("dashboard (admin, one team)", "/console/dashboard?period=30d&team={team_id}", "admin"),
    ("profile", "/console/profile", "lead"),
    ("canned responses", "/console/canned-responses", "lead"),
    ("admin users", "/console/admin/users", "admin"),
    ("admin user edit", "/console/admin/users/{user_id}/edit", "admin"),
    ("admin teams", "/console/admin/teams", "admin"),
    ("admin team edit", "/console/admin/teams/{team_id}/edit", "admin"),
    ("admin skills", "/console/admin/skills", "admin"),
    ("admin agents", "/console/admin/agents", "admin"),
    ("admin agents (lead)", "/console/admin/agents", "lead"),
    ("admin SLA policies", "/console/admin/sla", "admin"),
    ("admin SLA policy edit", "/console/admin/sla/{policy_id}/edit", "admin"),
    ("admin calendars", "/console/admin/calendars", "admin"),
    ("admin calendar edit", "/console/admin/calendars/{calendar_id}/edit", "admin"),
    ("admin calendar days", "/console/admin/calendars/{calendar_id}/days", "admin"),
    ("admin routing rules", "/console/admin/routing", "admin"),
    ("admin routing rule edit", "/console/admin/routing/{rule_id}/edit", "admin"),
    ("admin routing dry run", "/console/admin/routing/dry-run", "admin"),
    ("admin failed jobs", "/console/admin/jobs", "admin"),
    ("admin outbound mail", "/console/admin/mail", "admin"),
    ("admin inbound mail", "/console/admin/inbound-mail", "admin"),
]


def app_config(url: str) -> dict:
    # No rate limits: the same client requests each page dozens of times in a second.
    return {"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False, "LOG_LEVEL": "WARNING",
            "JOBS_EAGER": True}


# ---------------------------------------------------------------------------- setup

def load_data(args: argparse.Namespace, url: str) -> None:
    """bench/generate.py's tickets, then breach records and one long conversation."""
    import generate

    log(f"generating {args.tickets:,} tickets")
    with psycopg.connect(url) as conn:
        generate.generate(conn, args.tickets, args.seed)
        generate.refresh_agent_loads(conn)
        # The generator marks breaches on tickets; the app also keeps a record per breach
        # (tickets.sla.record_breach), which the dashboard lists.
        conn.execute("""
            INSERT INTO sla_breaches (ticket_id, target, priority, due_at, breached_at, team_id,
                                      assignee_id)
            SELECT id, 'first_response', priority, first_response_due_at,
                   first_response_breached_at, team_id, assignee_id
            FROM tickets WHERE first_response_breached_at IS NOT NULL
            UNION ALL
            SELECT id, 'resolution', priority, resolution_due_at, resolution_breached_at,
                   team_id, assignee_id
            FROM tickets WHERE resolution_breached_at IS NOT NULL""")
        ticket_id = measured_ticket(conn)
        long_conversation(conn, ticket_id)
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        for table in ("tickets", "messages", "ticket_events", "ticket_tags", "contacts",
                      "accounts", "users", "team_members", "sla_breaches"):
            conn.execute(f"VACUUM (ANALYZE) {table}")


def measured_ticket(conn) -> int:
    """The newest open ticket of Support: the one whose page is measured."""
    return conn.execute("""SELECT t.id FROM tickets t JOIN teams m ON m.id = t.team_id
                           WHERE m.name = 'Support' AND t.status = 'open'
                           ORDER BY t.id DESC LIMIT 1""").fetchone()[0]


def long_conversation(conn, ticket_id: int) -> None:
    """30 more messages (a fifth internal notes) and 20 events on the measured ticket."""
    contact_id, channel, created, assignee = conn.execute(
        "SELECT contact_id, channel, created_at, assignee_id FROM tickets WHERE id = %s",
        (ticket_id,)).fetchone()
    staff = assignee or conn.execute("SELECT min(id) FROM users WHERE role = 'agent'").fetchone()[0]
    with conn.cursor() as cur:
        for i in range(30):
            customer = i % 2 == 0
            cur.execute(
                """INSERT INTO messages (ticket_id, author_kind, author_user_id,
                   author_contact_id, visibility, channel, body, created_at)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s::timestamptz + %s * interval '1 min')""",
                (ticket_id, "customer" if customer else "staff", None if customer else staff,
                 contact_id if customer else None, "internal" if i % 5 == 4 else "public",
                 channel, f"Message {i}: the device still restarts every few hours; "
                 "我们已经按照说明重新配置，但问题依旧。" * 3, created, i + 1))
        for i in range(20):
            kind, data = (("status_changed", '{"from": "open", "to": "pending_customer"}')
                          if i % 2 else
                          ("priority_changed", '{"from": "normal", "to": "high", "reason": null}'))
            cur.execute(
                """INSERT INTO ticket_events (ticket_id, kind, actor_kind, actor_user_id,
                   channel, data, created_at)
                   VALUES (%s, %s, 'staff', %s, 'web', %s,
                           %s::timestamptz + %s * interval '1 min')""",
                (ticket_id, kind, staff, data, created, i + 1))


def apply_proposed_indexes(url: str, wanted: bool) -> list[str]:
    """Create (wanted) or drop the proposed indexes that migrations do not make."""
    present = []
    with psycopg.connect(url, autocommit=True) as conn:
        existing = {row[0] for row in conn.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'tickets'")}
        for name, ddl in PROPOSED_INDEXES.items():
            if wanted:
                conn.execute(ddl)
                conn.execute("ANALYZE tickets")
                present.append(name)
            elif name in existing and not _from_migrations(name):
                conn.execute(f"DROP INDEX {name}")
    return present


def _from_migrations(name: str) -> bool:
    """Whether the model (so a migration) defines this index: then it is never dropped."""
    from tickets.models import Ticket

    return any(index.name == name for index in Ticket.__table__.indexes)


# ---------------------------------------------------------------------------- measurement

def placeholders(conn) -> dict[str, int]:
    """The ids the page paths need."""
    row = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
    ticket_id = measured_ticket(conn)
    return {
        "ticket_id": ticket_id,
        "contact_id": row(f"SELECT contact_id FROM tickets WHERE id = {ticket_id}"),
        "account_id": row("""SELECT account_id FROM tickets WHERE account_id IS NOT NULL
                             GROUP BY account_id ORDER BY count(*) DESC LIMIT 1"""),
        "user_id": row(f"SELECT id FROM users WHERE email = '{LEAD_EMAIL}'"),
        "team_id": row("SELECT id FROM teams WHERE name = 'Support'"),
        "policy_id": row("SELECT min(id) FROM sla_policies"),
        "calendar_id": row("SELECT min(id) FROM business_calendars"),
        "rule_id": row("SELECT min(id) FROM routing_rules"),
    }


def signed_in_client(app, email: str):
    """A test client holding a real staff session of the user with this email."""
    from flask import current_app
    from sqlalchemy import select

    from service.auth.models import User
    from service.auth.sessions import SEEN_KEY, SESSION_KEY, start_session
    from service.extensions import db

    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        raise SystemExit(f"no user {email}: run without --reuse to load the data")
    raw = start_session(user, ip="127.0.0.1", user_agent="bench/console_pages.py")
    db.session.commit()
    client = app.test_client()
    with client.session_transaction() as session:
        session[SESSION_KEY] = raw
        session[SEEN_KEY] = int(time.time())
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
    assert current_app
    return client


class StatementCounter:
    """Counts SQL statements sent to the database (per request, on average)."""

    def __init__(self, engine) -> None:
        from sqlalchemy import event

        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args) -> None:
        self.count += 1


class CpuMeter:
    """CPU time used by this process and by the PostgreSQL backends of the bench database.

    Wall time suffers when other processes share the CPUs; CPU seconds per request do
    not (much), so the table shows both.
    """

    def __init__(self, url: str, database: str) -> None:
        self.monitor = psycopg.connect(url, autocommit=True)
        self.database = database
        self.tick = os.sysconf("SC_CLK_TCK")

    def _backends(self) -> dict[int, float]:
        pids = [row[0] for row in self.monitor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (self.database,))]
        seconds = {}
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # ended meanwhile, or another machine
                continue
            seconds[pid] = (int(fields[11]) + int(fields[12])) / self.tick
        return seconds

    def sample(self) -> tuple[float, dict[int, float]]:
        return time.process_time(), self._backends()

    def since(self, before: tuple[float, dict[int, float]]) -> float:
        """CPU seconds used since `before` (this process plus the database backends)."""
        app_then, db_then = before
        app_now, db_now = self.sample()
        return (app_now - app_then) + sum(value - db_then.get(pid, 0.0)
                                          for pid, value in db_now.items())


def routed_path(app, path: str) -> str | None:
    """The path as the app routes it (a missing trailing slash added), None if no route."""
    from urllib.parse import urlsplit

    from werkzeug.exceptions import MethodNotAllowed, NotFound
    from werkzeug.routing import RequestRedirect

    route, _, query = path.partition("?")
    adapter = app.url_map.bind("localhost")
    try:
        adapter.match(route, method="GET")
    except (NotFound, MethodNotAllowed):
        return None
    except RequestRedirect as redirect:  # e.g. /console/canned-responses → …/
        route = urlsplit(redirect.new_url).path
    return f"{route}?{query}" if query else route


def measure(args: argparse.Namespace, url: str) -> list[dict]:
    from service import create_app
    from service.extensions import db

    app = create_app(app_config(url))
    results = []
    with app.app_context():
        with psycopg.connect(url) as conn:
            ids = placeholders(conn)
        clients = {"lead": signed_in_client(app, LEAD_EMAIL),
                   "admin": signed_in_client(app, ADMIN_EMAIL)}
        counter = StatementCounter(db.engine)
        db.session.remove()
    cpu = CpuMeter(url, args.db)
    for name, template, who in PAGES:
        if args.only and args.only.lower() not in name.lower():
            continue
        path = template.format(**ids)
        result = {"page": name, "path": path, "user": who, "status": "missing",
                  "median": None, "p95": None, "queries": None, "cpu": None}
        results.append(result)
        routed = routed_path(app, path)
        if routed is None:
            log(f"{name}: missing ({path})")
            continue
        path = result["path"] = routed
        client = clients[who]
        for _ in range(args.warmup):
            client.get(path).close()
        times, statuses = [], set()
        before = counter.count
        cpu_before = cpu.sample()
        for _ in range(args.requests):
            started = time.perf_counter()
            response = client.get(path)
            response.get_data()
            times.append((time.perf_counter() - started) * 1000)
            statuses.add(response.status_code)
            response.close()
        result["cpu"] = cpu.since(cpu_before) * 1000 / args.requests
        result["queries"] = round((counter.count - before) / args.requests, 1)
        result["status"] = ",".join(str(code) for code in sorted(statuses))
        result["median"] = statistics.median(times)
        result["p95"] = sorted(times)[max(0, round(0.95 * len(times)) - 1)]
        log(f"{name}: {result['median']:.1f} ms median, {result['status']}")
    return results


def machine() -> list[str]:
    def run(*command: str) -> str:
        return subprocess.run(command, capture_output=True, text=True, check=False).stdout

    memory = run("free", "-h").splitlines()
    return [f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            f"nproc: {run('nproc').strip()}; Python {platform.python_version()}; load average "
            f"(1, 5, 15 min) {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
            *(f"free -h: {line}" for line in memory[:2])]


def report(args: argparse.Namespace, results: list[dict], indexes: list[str]) -> bool:
    """Print the table; whether every measured page stayed within the budget."""
    print("\n".join(f"- {line}" for line in machine()))
    print(f"- proposed indexes (not in the migrations): {', '.join(indexes) or 'none'}")
    print()
    print("| Page | Path | As | Median ms | p95 ms | CPU ms/request | SQL/request | Status |")
    print("|---|---|---|---:|---:|---:|---:|---|")
    ok = True
    for row in results:
        over = row["median"] is not None and row["median"] > args.max_ms
        failed = any(code.startswith("5") for code in row["status"].split(","))
        ok = ok and not over and not failed
        median = "" if row["median"] is None else f"{row['median']:.1f}"
        p95 = "" if row["p95"] is None else f"{row['p95']:.1f}"
        cpu = "" if row["cpu"] is None else f"{row['cpu']:.0f}"
        flag = " **OVER**" if over else ""
        queries = "" if row["queries"] is None else row["queries"]
        print(f"| {row['page']} | `{row['path']}` | {row['user']} | {median}{flag} | {p95} | "
              f"{cpu} | {queries} | {row['status']} |")
    measured = [row for row in results if row["median"] is not None]
    print()
    print(f"{len(measured)} pages measured ({args.requests} requests each after "
          f"{args.warmup} warm-up), {len(results) - len(measured)} missing; budget "
          f"{args.max_ms:g} ms median: {'met' if ok else 'NOT met'}.")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", default="postgres@127.0.0.1:5432",
                        help="user@host:port of PostgreSQL (trust auth)")
    parser.add_argument("--db", default="loopdesk_bench_console")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--reuse", action="store_true", help="keep the loaded database")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=3, help="discarded requests per page")
    parser.add_argument("--max-ms", type=float, default=150.0,
                        help="fail when a page's median server time is above this")
    parser.add_argument("--only", help="measure only pages whose name contains this")
    parser.add_argument("--proposed-indexes", action="store_true",
                        help="create the indexes in PROPOSED_INDEXES (else drop them)")
    args = parser.parse_args()
    if "test" in args.db.lower():
        raise SystemExit("refusing a database whose name contains 'test'")
    if args.requests < 1 or args.warmup < 0:
        raise SystemExit("--requests must be at least 1, --warmup at least 0")
    url = f"postgresql://{args.pg}/{args.db}"
    started = time.monotonic()
    if not args.reuse:
        create_database(args, app_config(url), ADMIN_EMAIL)
        load_data(args, url)
        log(f"database ready in {time.monotonic() - started:.0f} s")
    indexes = apply_proposed_indexes(url, args.proposed_indexes)
    log(f"proposed indexes present: {', '.join(indexes) or 'none'}")
    ok = report(args, measure(args, url), indexes)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
