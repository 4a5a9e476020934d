"""Every registered report (issue 8: "≤ 500 ms with 1,000,000 tickets on PostgreSQL"),
in-process through the real API path.

    .venv/bin/python bench/reports.py                        # create, load 1M tickets, measure
    .venv/bin/python bench/reports.py --reuse                # keep the loaded database
    .venv/bin/python bench/reports.py --tickets 100000 --scale 0.1   # quick
    .venv/bin/python bench/reports.py --reuse --only intake,csat --requests 5
    .venv/bin/python bench/reports.py --help

Setup (unless --reuse finds the database): DROP/CREATE `loopdesk_bench_reports` (never a
name with "test"), migrate it with `flask_migrate.upgrade` and the defaults (what
`flask --app wsgi setup` does), an admin user, `bench/generate.py` tickets (--tickets,
spread over the last 365 days), bench/reports_data.py's tasks, reopens, follow-ups and
satisfaction history (--scale), then VACUUM ANALYZE, then every day of the daily rollups
(service/reports/rollup.py; --rollups). Reports only read, so runs measure the loaded
database itself.

Measured for EVERY report in service.reports.registry.reports() (so reports added later
are included), each GET /api/v1/reports/<name> through the Flask test client with a bearer
token (no HTTP, no gunicorn): --warmup discarded requests, then --requests timed ones:

- `30d`: the default period (the last 30 days, with the previous period), admin;
- `30d team`: group_by=team (or the report's first dimension when it has no team);
- `90d week`: from = 89 days ago, group_by=week (time-grouped reports only);
- `12m month`: from = the 1st of the month 11 months ago, group_by=month;
- `30d lead`: the default as the Support lead (their teams' rows and rows of no team);
- with --slices (default all): over 12 months, `12m by <slice>` (group_by=agent,
  channel, priority, category, product or tier, each the report has), `12m <slice>=`
  (filtered by the data's most common value of that slice, group_by=month), and
  `12m lead <slice>=` (the first of those filters, as the Support lead).

Plus, for --drill (default intake): the drill-down of its headline number (the ids behind
it, first page of 50 tickets, newest first, as the console would list them) and its CSV
export. Wall p50/p95/max ms and SQL ms per request (SQLAlchemy before/after_cursor_execute);
rows over --budget (500 ms) are marked, and the slowest statements of each are EXPLAINed
(ANALYZE, BUFFERS). Prints a markdown table; writes it and the raw JSON to bench/out/.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# bench/surveys.py shares its name with the `surveys` package: the project root must come
# before bench/ so `surveys.…` resolves to the package, which is imported now so that
# bench modules that put bench/ first again (console_pages) cannot change that.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH] \
    + [str(BENCH)]
import surveys  # noqa: E402,F401
for _name in ("DATABASE_URL", "REDIS_URL", "MAIL_SERVER"):  # only what this script says
    os.environ.pop(_name, None)
os.environ.setdefault("SECRET_KEY", "bench-reports-secret-key")

from benchkit import (Statements, api_token, create_database, database_exists,  # noqa: E402
                      explain, log, percentile, pg_admin)

ADMIN_EMAIL = "bench-reports-admin@bench.loopdesk.test"
LEAD_EMAIL = "gen-agent1@bench.loopdesk.test"  # generate.py: lead of Support
OUT = BENCH / "out"

# Indexes the reports want that the migrations do not create (yet): --indexes proposed
# creates them, otherwise they are dropped, so a run measures exactly the schema it names.
# Empty now: the first proposals (ix_tickets_sla_latest, ix_tickets_first_responded,
# ix_tickets_resolved, ix_tickets_account_category_created) are in migration 0011.
PROPOSED_INDEXES: dict[str, str] = {}


def app_config(url: str, jit: str = "default", timeout_s: float = 0,
               rollups: bool = True) -> dict:
    config = {"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False,
              "LOG_LEVEL": "WARNING", "JOBS_EAGER": True, "REDIS_URL": None,
              "MAIL_SERVER": None, "REPORT_ROLLUPS": rollups}
    # The app's sessions only: what `ALTER ROLE … SET …` would do in production. These
    # options replace the app's own (service.extensions: -c jit=off), so "app" restates it.
    options = [f"-c jit={'off' if jit == 'app' else jit}"] if jit != "default" else []
    if timeout_s:
        # A report minutes over budget would hold the run for hours: cancel it (a 500).
        options.append(f"-c statement_timeout={int(timeout_s * 1000)}")
    if options:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"options": " ".join(options)}}
    return config


def set_indexes(url: str, proposed: bool) -> list[str]:
    """Create (proposed) or drop the PROPOSED_INDEXES; the names present afterwards."""
    with psycopg.connect(url, autocommit=True) as conn:
        for name, ddl in PROPOSED_INDEXES.items():
            if proposed:
                started = time.monotonic()
                existed = conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()[0]
                conn.execute(ddl)
                if existed is None:
                    log(f"created {name} in {time.monotonic() - started:.1f} s")
            else:
                conn.execute(f"DROP INDEX IF EXISTS {name}")
        if proposed:
            conn.execute("ANALYZE tickets")
        return [row[0] for row in conn.execute(
            "SELECT indexname FROM pg_indexes WHERE indexname = ANY(%s)",
            (list(PROPOSED_INDEXES),))]


# ---------------------------------------------------------------------------- setup

def build_rollups(url: str, *, everything: bool) -> str:
    """Build the daily rollups as the ticker would (every day with `everything`, as
    `flask reports rollup --all`); how long it took, and how many cells there are."""
    from sqlalchemy import text

    from service import create_app
    from service.db_types import utcnow
    from service.extensions import db
    from service.reports import rollup
    from service.reports.registry import rolled_up

    app = create_app(app_config(url))
    with app.app_context():
        started = time.monotonic()
        days = rollup.refresh([report.metric for report in rolled_up()], utcnow(),
                              everything=everything)
        took = time.monotonic() - started
        cells = db.session.scalar(text("SELECT count(*) FROM report_rollup_cells"))
        db.engine.dispose()
    summary = f"{days:,} report-days built in {took:.0f} s; {cells:,} cells"
    log(f"rollups: {summary}")
    return summary


def create_and_load(args: argparse.Namespace, url: str) -> dict:
    """Drop/create, migrate, defaults, admin, tickets, the reports' extra data, ANALYZE."""
    import generate
    import reports_data

    create_database(args, app_config(url), ADMIN_EMAIL)
    started = time.monotonic()
    log(f"generating {args.tickets:,} tickets")
    with psycopg.connect(url) as conn:
        generate.generate(conn, args.tickets, args.seed)
        generate.refresh_agent_loads(conn)
        conn.commit()
    log(f"tickets loaded in {time.monotonic() - started:.0f} s; report data")
    with psycopg.connect(url) as conn:
        sizes = reports_data.load(conn, args.scale, args.seed)
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    log(f"loaded in {time.monotonic() - started:.0f} s")
    return sizes


def table_sizes(url: str) -> dict:
    tables = ("tickets", "accounts", "contacts", "messages", "tasks", "survey_invitations",
              "survey_responses", "recovery_follow_ups", "opportunities")
    with psycopg.connect(url) as conn:
        sizes = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                 for table in tables}
        sizes["database"] = conn.execute(
            "SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
    return sizes


# ---------------------------------------------------------------------------- machine

PG_SETTINGS = ("shared_buffers", "work_mem", "effective_cache_size", "maintenance_work_mem",
               "max_parallel_workers_per_gather", "max_parallel_workers", "jit",
               "random_page_cost", "effective_io_concurrency")


def machine(args: argparse.Namespace) -> dict:
    """nproc, CPU model, RAM, PostgreSQL version and the settings that shape plans."""
    def run(*command: str) -> str:
        return subprocess.run(command, capture_output=True, text=True, check=False).stdout

    model = [line.split(":", 1)[1].strip() for line in run("lscpu").splitlines()
             if line.startswith("Model name")]
    memory = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), "0")
    with pg_admin(args) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        settings = {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in PG_SETTINGS}
    return {"date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC", "nproc": run("nproc").strip(),
            "cpu": ", ".join(model), "ram_gb": round(int(memory) / 1024 / 1024, 1),
            "postgresql": version, "settings": settings, "python": platform.python_version(),
            "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "command": " ".join([".venv/bin/python", "bench/reports.py", *sys.argv[1:]])}


# ---------------------------------------------------------------------------- measuring

def measure(args, statements: Statements, report: str, case: str, call) -> dict:
    """Time `call` (returns (status, body bytes)) after warm-up: p50/p95/max, SQL ms, and
    CPU ms (this process + the session's backend, not parallel workers: contention inflates
    it far less than wall time)."""
    status, requests = None, args.requests
    for _ in range(args.warmup):
        started = time.perf_counter()
        status, body = call()
        if (time.perf_counter() - started) * 1000 > args.slow:
            requests = 1  # far over budget: one timed request tells enough
    statements.reset()
    times, statuses = [], {}
    cpu_before = args.cpu.sample()
    for _ in range(requests):
        started = time.perf_counter()
        status, body = call()
        times.append((time.perf_counter() - started) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
        if status != 200 and statuses[status] == 1:
            log(f"{report} {case}: {status} {body[:300]!r}")
    row = {"report": report, "case": case, "p50": statistics.median(times),
           "p95": percentile(times, 0.95), "max": max(times),
           "cpu": args.cpu.since(cpu_before) * 1000 / requests, "requests": requests,
           "sql": statements.count / requests,
           "sql_ms": sum(statements.total.values()) * 1000 / requests,
           "status": ",".join(f"{code}×{n}" for code, n in sorted(statuses.items())),
           "top": statements.top()}
    row["over"] = row["p50"] > args.budget or row["p95"] > args.budget
    log(f"{report:<28} {case:<12} p50 {row['p50']:7.1f} ms  p95 {row['p95']:7.1f} ms  "
        f"SQL {row['sql_ms']:7.1f} ms  CPU {row['cpu']:7.1f} ms  {row['status']}"
        f"{'  OVER' if row['over'] else ''}")
    return row


SLICES = ("agent", "channel", "priority", "category", "product", "tier")


def slice_values(url: str) -> dict[str, str]:
    """The most common value of each slice in the loaded data (the costliest filter)."""
    columns = {"agent": "t.assignee_id", "channel": "t.channel", "priority": "t.priority",
               "category": "t.category", "product": "t.product", "tier": "a.tier"}
    with psycopg.connect(url) as conn:
        return {name: str(conn.execute(
            f"SELECT {column} FROM tickets t LEFT JOIN accounts a ON a.id = t.account_id "
            f"WHERE {column} IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]) for name, column in columns.items()}


def slice_cases(report, year_start: date, values: dict[str, str],
                slices: list[str]) -> list[tuple[str, str, bool]]:
    """The 12-month cases of one report's slices (see the module docstring)."""
    dimensions = {grouping.value for grouping in report.metric.dimensions}
    result = [(f"12m by {name}", f"?from={year_start}&group_by={name}", False)
              for name in slices if name in dimensions]
    filters = [name for name in slices if name in report.filters]
    period = f"?from={year_start}" + ("&group_by=month" if report.time_groupings else "")
    result += [(f"12m {name}=", f"{period}&{name}={values[name]}", False) for name in filters]
    if filters:
        result.append((f"12m lead {filters[0]}=", f"{period}&{filters[0]}="
                       f"{values[filters[0]]}", True))
    return result


def cases(report, today: date, values: dict[str, str] | None = None,
          slices: list[str] = ()) -> list[tuple[str, str, bool]]:
    """(case, query string, as lead) for one report (see the module docstring)."""
    from service.reports.query import Grouping

    dimensions = list(report.metric.dimensions)
    chosen = Grouping.TEAM if Grouping.TEAM in dimensions else (
        dimensions[0] if dimensions else None)
    year_start = date(today.year - (1 if today.month < 12 else 0), today.month % 12 + 1, 1)
    result = [("30d", "", False)]
    if chosen is not None:
        result.append((f"30d {chosen.value}", f"?group_by={chosen.value}", False))
    if report.time_groupings:
        result.append(("90d week", f"?from={today - timedelta(days=89)}&group_by=week", False))
        result.append(("12m month", f"?from={year_start}&group_by=month", False))
    result.append(("30d lead", "", True))
    if values is not None:
        result += slice_cases(report, year_start, values, slices)
    return result


def run_reports(app, args, statements: Statements, admin: dict, lead: dict) -> list[dict]:
    from service.reports.registry import reports

    client = app.test_client()
    today = datetime.now(UTC).date()
    rows = []
    for report in reports():
        if args.only and report.name not in args.only:
            continue
        for case, query, as_lead in cases(report, today, args.slice_values, args.slices):
            path = f"/api/v1/reports/{report.name}{query}"
            headers = lead if as_lead else admin

            def call(path=path, headers=headers):
                response = client.get(path, headers=headers)
                body = response.get_data()
                response.close()
                return response.status_code, body
            row = measure(args, statements, report.name, case, call)
            row["path"] = path + (" (lead)" if as_lead else "")
            rows.append(row)
    return rows


def run_drill(app, args, statements: Statements, admin: dict) -> list[dict]:
    """The drill-down behind --drill's headline number (the console's page of its tickets,
    as admin and as the Support lead, and the bare first-page SELECT) and its CSV export."""
    from sqlalchemy import select

    from service.auth.models import User
    from service.db_types import utcnow
    from service.extensions import db
    from service.reports.registry import get
    from service.reports.service import tickets_for
    from tickets.models import Ticket

    report = get(args.drill)
    if report is None:
        log(f"--drill {args.drill}: no such report")
        return []
    measure_name = next((column.drill for column in report.columns if column.drill), None)
    rows = []
    routes = {rule.rule for rule in app.url_map.iter_rules()}
    if measure_name is not None and "/console/reports/<string:name>/tickets" in routes:
        from console_pages import signed_in_client

        with app.app_context():
            clients = {"admin": signed_in_client(app, ADMIN_EMAIL),
                       "lead": signed_in_client(app, LEAD_EMAIL)}
            db.session.remove()
        path = f"/console/reports/{report.name}/tickets?measure={measure_name}"
        for who, client in clients.items():
            def page(client=client) -> tuple[int, bytes]:
                response = client.get(path)
                body = response.get_data()
                response.close()
                return response.status_code, body
            row = measure(args, statements, report.name, f"drill page {who}", page)
            row["path"] = f"{path} ({who})"
            rows.append(row)
    if measure_name is not None:
        def call() -> tuple[int, bytes]:
            with app.test_request_context():
                user = db.session.scalar(select(User).where(User.email == ADMIN_EMAIL))
                ids = tickets_for(report, user, {}, measure_name, None, utcnow())
                page = db.session.execute(
                    select(Ticket.id, Ticket.subject, Ticket.status, Ticket.priority,
                           Ticket.created_at)
                    .where(Ticket.id.in_(ids.scalar_subquery()))
                    .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(50)).all()
                db.session.remove()
            return (200 if page else 204), b""
        row = measure(args, statements, report.name, "drill SELECT", call)
        row["path"] = (f"service.reports.service.tickets_for(…, {measure_name!r}) → first 50 "
                       "tickets, newest first (30 days, admin)")
        rows.append(row)
    client = app.test_client()
    path = f"/api/v1/reports/{report.name}?group_by=day&format=csv"

    def export() -> tuple[int, bytes]:
        response = client.get(path, headers=admin)
        body = response.get_data()
        response.close()
        return response.status_code, body
    row = measure(args, statements, report.name, "csv by day", export)
    row["path"] = path
    rows.append(row)
    return rows


# ---------------------------------------------------------------------------- output

def markdown(args, info: dict, sizes: dict, rows: list[dict], notes: list[str]) -> str:
    settings = ", ".join(f"{k}={v}" for k, v in info["settings"].items())
    data = ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}"
                     for k, v in sizes.items())
    lines = [f"- date: {info['date']}; command: `{info['command']}`",
             f"- nproc {info['nproc']}; CPU: {info['cpu']}; RAM {info['ram_gb']} GB; "
             f"PostgreSQL {info['postgresql']} ({settings}); Python {info['python']}; "
             f"load average at the start {args.load_start}, at the end {info['load']}",
             f"- data: {data}",
             "- daily rollups: " + (f"on ({args.rollup_build})" if args.rollups != "off"
                                    else "off (REPORT_ROLLUPS=false: every report counted "
                                         "from its rows)"),
             f"- {args.requests} timed requests per row after {args.warmup} warm-up (1 when a "
             f"warm-up took over {args.slow:g} ms: see Reqs); "
             "in-process (Flask test client with a bearer token, no HTTP); budget "
             f"{args.budget:g} ms (**OVER** when p50 or p95 exceeds it); CPU ms = this "
             "process + the session's PostgreSQL backend (parallel workers, which live "
             "for one query, are not counted), which other load on the machine inflates far "
             "less than wall time", "",
             "| Report | Case | p50 ms | p95 ms | max ms | SQL/req | SQL ms/req | CPU ms/req "
             "| Reqs | Status |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        flag = " **OVER**" if row["over"] else ""
        lines.append(f"| {row['report']} | {row['case']} | **{row['p50']:.1f}**{flag} | "
                     f"{row['p95']:.1f} | {row['max']:.1f} | {row['sql']:.1f} | "
                     f"{row['sql_ms']:.1f} | {row['cpu']:.0f} | {row['requests']} | "
                     f"{row['status']} |")
    over = [row for row in rows if row["over"]]
    lines += ["", f"{len(over)} of {len(rows)} rows over budget; slowest p50: "
              + (max(rows, key=lambda row: row["p50"])["report"] if rows else "none")]
    if notes:
        lines += ["", "```", *notes, "```"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", default="postgres@127.0.0.1:5432",
                        help="user@host:port of PostgreSQL (trust auth)")
    parser.add_argument("--db", default="loopdesk_bench_reports")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="survey history size multiplier (bench/surveys_data.py)")
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--reuse", action="store_true", help="skip setup if the database exists")
    parser.add_argument("--load-only", action="store_true", help="set up, measure nothing")
    parser.add_argument("--requests", type=int, default=10, help="timed requests per row")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--budget", type=float, default=500.0, help="ms per report request")
    parser.add_argument("--only", help="comma-separated report names")
    parser.add_argument("--drill", default="intake", help="report whose drill-down and CSV "
                        "export are measured ('' for none)")
    parser.add_argument("--slow", type=float, default=5000.0, help="ms: a warm-up request "
                        "slower than this leaves one timed request instead of --requests")
    parser.add_argument("--indexes", choices=("migrations", "proposed"), default="migrations",
                        help="measure the migrations' indexes only, or with PROPOSED_INDEXES")
    parser.add_argument("--jit", choices=("app", "default", "on", "off"), default="app",
                        help="PostgreSQL JIT for the app's sessions: as the app sets it (off, "
                             "the default), the server's setting, on or off")
    parser.add_argument("--statement-timeout", type=float, default=30.0,
                        help="seconds after which the app's statements are cancelled (0: none)")
    parser.add_argument("--no-explain", action="store_true")
    parser.add_argument("--slices", default=",".join(SLICES),
                        help="comma-separated slices measured over 12 months ('' for none)")
    parser.add_argument("--rollups", choices=("refresh", "rebuild", "off"), default="refresh",
                        help="daily rollups: refresh the stale days as the ticker does "
                             "(default), rebuild every day (always after setup), or off: "
                             "REPORT_ROLLUPS=false, every report counted from its rows")
    args = parser.parse_args()
    if "test" in args.db.lower():
        raise SystemExit("refusing a database whose name contains 'test'")
    if args.requests < 1 or args.warmup < 0 or args.tickets < 1 or args.scale <= 0:
        raise SystemExit("sizes must be positive")
    args.only = set(args.only.split(",")) if args.only else None
    args.slices = [name for name in args.slices.split(",") if name]
    if set(args.slices) - set(SLICES):
        raise SystemExit(f"--slices: choose among {', '.join(SLICES)}")
    url = f"postgresql://{args.pg}/{args.db}"
    started = time.monotonic()
    args.load_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    if args.reuse and database_exists(args, args.db):
        log(f"reusing {args.db}")
    else:
        create_and_load(args, url)
        if args.rollups != "off":
            args.rollups = "rebuild"  # a new database has none
    if args.rollups != "off":
        args.rollup_build = build_rollups(url, everything=args.rollups == "rebuild")
    if args.load_only:
        return
    sizes = table_sizes(url)
    args.slice_values = slice_values(url) if args.slices else None
    if args.slice_values:
        sizes["slice values"] = ", ".join(f"{k}={v}" for k, v in args.slice_values.items())
    sizes["proposed indexes"] = ", ".join(set_indexes(url, args.indexes == "proposed")) or "none"
    sizes["jit"] = args.jit

    from service import create_app
    from service.extensions import db

    from console_pages import CpuMeter

    app = create_app(app_config(url, args.jit, args.statement_timeout,
                                rollups=args.rollups != "off"))
    args.cpu = CpuMeter(url, args.db)
    with app.app_context():
        statements = Statements(db.engine)
        admin = api_token(ADMIN_EMAIL, "bench-reports")
        lead = api_token(LEAD_EMAIL, "bench-reports")
        db.session.remove()
    rows = run_reports(app, args, statements, admin, lead)
    if args.drill:
        rows += run_drill(app, args, statements, admin)
    notes: list[str] = []
    if not args.no_explain:
        # Each report's slowest over-budget case (its other cases run the same statements).
        worst: dict[str, dict] = {}
        for row in rows:
            if row["over"] and row["p50"] > worst.get(row["report"], {"p50": 0})["p50"]:
                worst[row["report"]] = row
        for row in worst.values():
            if row["over"]:
                notes.append(f"EXPLAIN {row['report']} {row['case']} ({row['path']}):")
                notes.extend(explain(app, row["top"], min_seconds=0.02))
    with app.app_context():
        db.engine.dispose()
    args.cpu.monitor.close()
    del args.cpu
    info = machine(args)
    text = markdown(args, info, sizes, rows, notes)
    OUT.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    (OUT / f"reports-{stamp}.md").write_text(text + "\n")
    (OUT / f"reports-{stamp}.json").write_text(json.dumps(
        {"machine": info, "sizes": sizes, "args": {k: (sorted(v) if isinstance(v, set) else v)
                                                   for k, v in vars(args).items()},
         "rows": [{**row, "top": [[total, worst, sql] for total, worst, sql, _ in row["top"]]}
                  for row in rows]}, indent=1, default=str))
    log(f"done in {time.monotonic() - started:.0f} s; bench/out/reports-{stamp}.md")
    print(text)


if __name__ == "__main__":
    main()
