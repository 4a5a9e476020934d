"""Surveys and sales (issue 6) on PostgreSQL: reports, sales inbox, survey pages, the CSAT
send sweep and signal detection, in-process.

    .venv/bin/python bench/surveys.py                      # create, load, measure (~2.5 min)
    .venv/bin/python bench/surveys.py --reuse              # keep the loaded database
    .venv/bin/python bench/surveys.py --reuse --only reports,inbox --requests 20
    .venv/bin/python bench/surveys.py --scale 0.2          # a fifth of the history, quick
    .venv/bin/python bench/surveys.py --help

Setup (unless --reuse finds it): DROP/CREATE `loopdesk_bench_surveys` (never a name with
"test"), migrate it with `flask_migrate.upgrade`, defaults, an admin user, --tickets (3,000)
bench/generate.py tickets (teams, leads, agents, SLA policies; the survey tables reference
tickets by id only), then bench/surveys_data.py's history with COPY (at --scale 1: 2,000
accounts, 20,000 contacts, 200,000 CSAT + 50,000 NPS invitations over 12 months with ~60,000
+ ~15,000 answers, 2,000 recovery follow-ups, 10,000 opportunities with evidence, 20 sales
reps), then VACUUM ANALYZE.

Every run measures on a fresh copy (`CREATE DATABASE …_run TEMPLATE …`), because the sweep
and the survey pages consume the contacts that may still be surveyed (fatigue window).
One Python process: requests go through the Flask test client (app + database + template
or JSON; no HTTP), services are called directly. Redis is not used; MAIL_SERVER is unset,
so mails are rendered and recorded in outbound_mail (status "logged"), never sent.

Sections (--only):
- reports: each /api/v1/reports/{nps,csat,survey-responses,recovery,opportunities} over the
  last 30 days and 12 months, group_by=week and group_by=team (opportunities: source, as
  team is refused there), as an admin (bearer token); p50/p95; the slowest statements of
  the slowest report are EXPLAINed (ANALYZE, BUFFERS).
- console: the dashboard (with its satisfaction section) as the Support lead and an admin.
- inbox: /console/opportunities/?tab=mine|pool|due and GET /api/v1/opportunities as sales
  rep 1 (~500 opportunities of their own, the pool visible) and as the lead (all).
- pages: GET /s/<token>?score=N and the POST that records the score, CSAT and NPS, on
  tokens of invitations sent with surveys.sending.send_invitation (the token read back from
  the recorded mail). Twice: "jobs eager" (JOBS_EAGER: the jobs each commit queues — health
  recompute, opportunity rules, mails — run in-process inside the request, as in tests) and
  "jobs not run" (service.jobs.dispatch replaced by a counter, as with RQ minus the enqueue).
- sweep: --sweep (1,000) CSAT invitations scheduled with surveys.invitations.create_invitation
  (due now, each for another closed ticket and fresh contact), then sweep_due() until nothing
  is due, each sweep's send jobs run in-process after its commit (JOBS_EAGER): invitations/s.
- signals: surveys.signals.detect.detect(text) over --texts (10,000) zh/en texts of 100–1,000
  characters: texts/s, p50/p99; and the same matching with the rules read once (to show
  what the per-call rule read costs).
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# This file is named like the `surveys` package: the project root must come first, and the
# package is imported now, so later path changes (the benches imported below put bench/
# first again) cannot make `surveys.…` resolve to this script.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH] \
    + [str(BENCH)]
import surveys  # noqa: E402,F401
for _name in ("DATABASE_URL", "REDIS_URL", "MAIL_SERVER"):  # only what this script says
    os.environ.pop(_name, None)
os.environ.setdefault("SECRET_KEY", "bench-surveys-secret-key")

from benchkit import (Statements, api_token, create_database, database_exists,  # noqa: E402
                      explain, log, percentile, pg_admin)
from closed_loop import machine  # noqa: E402  (the same machine lines as the other benches)
from console_pages import CpuMeter, signed_in_client  # noqa: E402

ADMIN_EMAIL = "bench-surveys-admin@bench.loopdesk.test"
LEAD_EMAIL = "gen-agent1@bench.loopdesk.test"  # generate.py: lead of Support
REP_EMAIL = "bench-sales1@bench.loopdesk.test"  # surveys_data.py: 500 opportunities
SECTIONS = ("reports", "console", "inbox", "pages", "sweep", "signals")
REPORT_BUDGET_MS, PAGE_BUDGET_MS = 500.0, 150.0
TOKEN_IN_MAIL = re.compile(r"/s/([A-Za-z0-9_-]{43})")
CSRF_IN_PAGE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def app_config(url: str) -> dict:
    return {"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False,
            "LOG_LEVEL": "WARNING", "JOBS_EAGER": True, "REDIS_URL": None,
            "MAIL_SERVER": None}


# ---------------------------------------------------------------------------- setup

def create_and_load(args: argparse.Namespace, url: str) -> dict:
    """Drop/create, migrate, defaults, admin, tickets, then the survey history."""
    import generate
    import surveys_data

    create_database(args, app_config(url), ADMIN_EMAIL, f"{args.db}_run")
    log(f"generating {args.tickets:,} tickets")
    with psycopg.connect(url) as conn:
        generate.generate(conn, args.tickets, args.seed)
        generate.refresh_agent_loads(conn)
        conn.commit()
    with psycopg.connect(url) as conn:
        sizes = surveys_data.load_history(conn, args.scale, args.seed)
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    return sizes


def table_sizes(url: str) -> dict[str, int]:
    tables = ("tickets", "accounts", "contacts", "survey_invitations", "survey_responses",
              "recovery_follow_ups", "opportunities", "opportunity_evidence",
              "opportunity_events")
    with psycopg.connect(url) as conn:
        sizes = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                 for table in tables}
        sizes["database"] = conn.execute(
            "SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
    return sizes


def fresh_copy(args: argparse.Namespace) -> str:
    run_db = f"{args.db}_run"
    with pg_admin(args) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{run_db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{run_db}" TEMPLATE "{args.db}"')
    return f"postgresql://{args.pg}/{run_db}"


# ---------------------------------------------------------------------------- measuring

class Runner:
    """Times requests: p50/p95/max wall ms, CPU ms (app + database backends), SQL/request."""

    def __init__(self, args: argparse.Namespace, url: str, run_db: str, statements) -> None:
        self.args = args
        self.cpu = CpuMeter(url, run_db)
        self.statements = statements
        self.rows: list[dict] = []

    def measure(self, section: str, name: str, request, *, expected=(200,), requests=None,
                warmup=None, extra: dict | None = None) -> dict:
        requests = requests or self.args.requests
        warmup = self.args.warmup if warmup is None else warmup
        for _ in range(warmup):
            request().close()
        self.statements.reset()
        times, statuses = [], {}
        cpu_before = self.cpu.sample()
        for _ in range(requests):
            started = time.perf_counter()
            response = request()
            response.get_data()
            times.append((time.perf_counter() - started) * 1000)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code not in expected and statuses[response.status_code] == 1:
                log(f"{name}: {response.status_code} {response.get_data(as_text=True)[:300]}")
            response.close()
        row = {"section": section, "what": name, "p50": statistics.median(times),
               "p95": percentile(times, 0.95), "max": max(times),
               "cpu": self.cpu.since(cpu_before) * 1000 / requests,
               "sql": self.statements.count / requests,
               "sql_ms": sum(self.statements.total.values()) * 1000 / requests,
               "status": ",".join(f"{code}×{n}" for code, n in sorted(statuses.items())),
               "top": self.statements.top(2), **(extra or {})}
        self.rows.append(row)
        log(f"{section}: {name}: p50 {row['p50']:.1f} ms p95 {row['p95']:.1f} ms "
            f"({row['status']})")
        return row


# ---------------------------------------------------------------------------- sections

def run_reports(app, runner: Runner, admin: dict, lead: dict, notes: list[str]) -> None:
    client = app.test_client()
    today = datetime.now(UTC).date()
    periods = {"30 days": "", "12 months": f"&from={today - timedelta(days=364)}"}
    reports = ("nps", "csat", "survey-responses", "recovery", "opportunities")
    slowest = None
    for report in reports:
        for period, extra in periods.items():
            for grouping in ("week", "source" if report == "opportunities" else "team"):
                path = f"/api/v1/reports/{report}?group_by={grouping}{extra}"
                row = runner.measure("reports", f"{report}, {period}, by {grouping}",
                                     lambda path=path: client.get(path, headers=admin),
                                     extra={"path": path})
                if slowest is None or row["p50"] > slowest["p50"]:
                    slowest = row
    # A lead's scope (their teams' rows and rows of no team), over the longest period.
    for report in reports:
        path = f"/api/v1/reports/{report}?group_by=week{periods['12 months']}"
        runner.measure("reports", f"{report}, 12 months, by week (Support lead)",
                       lambda path=path: client.get(path, headers=lead), extra={"path": path})
    if slowest is not None:
        notes.append(f"EXPLAIN of the slowest report ({slowest['what']}, `{slowest['path']}`), "
                     "its statements with the most time:")
        notes.extend(explain(app, slowest["top"]))


def run_console(app, runner: Runner, lead_client, admin_client) -> None:
    for name, client, path in (
            ("dashboard (lead, 7 days)", lead_client, "/console/dashboard"),
            ("dashboard (lead, 30 days)", lead_client, "/console/dashboard?period=30d"),
            ("dashboard (admin, 30 days)", admin_client, "/console/dashboard?period=30d")):
        runner.measure("console", name, lambda client=client, path=path: client.get(path),
                       extra={"path": path})


def run_inbox(app, runner: Runner, rep_client, lead_client, rep: dict, lead: dict) -> None:
    api = app.test_client()
    for name, client, path in (
            ("inbox mine (rep)", rep_client, "/console/opportunities/?tab=mine"),
            ("inbox pool (rep)", rep_client, "/console/opportunities/?tab=pool"),
            ("inbox due (rep)", rep_client, "/console/opportunities/?tab=due"),
            ("inbox mine (lead)", lead_client, "/console/opportunities/?tab=mine"),
            ("inbox pool (lead)", lead_client, "/console/opportunities/?tab=pool"),
            ("inbox due (lead)", lead_client, "/console/opportunities/?tab=due"),
            ("inbox all (lead)", lead_client, "/console/opportunities/?tab=all")):
        runner.measure("inbox", name, lambda client=client, path=path: client.get(path),
                       extra={"path": path})
    for name, headers, path in (
            ("API list (rep: own + pool)", rep, "/api/v1/opportunities"),
            ("API list owner=me (rep)", rep, "/api/v1/opportunities?owner=me"),
            ("API list (lead: all)", lead, "/api/v1/opportunities"),
            ("API list status=new (lead)", lead, "/api/v1/opportunities?status=new"),
            ("API list limit=200 (lead)", lead, "/api/v1/opportunities?limit=200")):
        runner.measure("inbox", name, lambda headers=headers, path=path:
                       api.get(path, headers=headers), extra={"path": path})


def fresh_contacts(count: int, offset: int) -> list[int]:
    """Contacts never invited (surveys_data.py's fresh ones), skipping `offset` of them."""
    from service.extensions import db

    rows = list(db.session.scalars(db.text("""
        SELECT c.id FROM contacts c WHERE c.email LIKE 'fresh%@bench-fresh.example.com'
          AND NOT EXISTS (SELECT 1 FROM survey_invitations i WHERE i.contact_id = c.id)
        ORDER BY c.id OFFSET :offset LIMIT :count"""), {"offset": offset, "count": count}))
    if len(rows) < count:
        raise SystemExit(f"only {len(rows)} fresh contacts left: lower --sweep/--page-requests")
    return rows


def csat_tickets(count: int) -> list[int | None]:
    """Closed-ticket ids with no CSAT invitation yet (None when they run out)."""
    from service.extensions import db

    rows = list(db.session.scalars(db.text("""
        SELECT t.id FROM tickets t WHERE NOT EXISTS (
          SELECT 1 FROM survey_invitations i WHERE i.ticket_id = t.id
            AND i.trigger = 'ticket_closed') ORDER BY t.id LIMIT :count"""), {"count": count}))
    return rows + [None] * (count - len(rows))


def schedule(kind, contacts: list[int], tickets: list[int | None], send_at: datetime) -> list[int]:
    """Scheduled invitations made with the app's create_invitation (committed)."""
    from service.extensions import db
    from surveys.invitations import Snapshot, create_invitation
    from surveys.models import InvitationTrigger, SurveyKind
    from tickets.facts import ticket_facts

    ids = []
    for contact_id, ticket_id in zip(contacts, tickets, strict=True):
        snapshot = Snapshot()
        trigger = InvitationTrigger.NPS_SCHEDULE
        if kind == SurveyKind.CSAT:
            trigger = InvitationTrigger.TICKET_CLOSED
            facts = ticket_facts(ticket_id) if ticket_id else None
            if facts is not None:
                snapshot = Snapshot(ticket_id=facts.id, team_id=facts.team_id,
                                    agent_id=facts.assignee_id, product=facts.product,
                                    channel=facts.channel, language=facts.language)
        ids.append(create_invitation(kind, trigger, contact_id, send_at=send_at,
                                     snapshot=snapshot, now=send_at).id)
    db.session.commit()
    return ids


def sent_tokens(kind, count: int, offset: int) -> list[str]:
    """Tokens of `count` invitations sent with surveys.sending.send_invitation."""
    from sqlalchemy import select

    from service.db_types import utcnow
    from service.extensions import db
    from service.notify.models import OutboundMail
    from surveys.models import SurveyKind
    from surveys.sending import dedupe_key, send_invitation

    now = utcnow()
    tickets = csat_tickets(count) if kind == SurveyKind.CSAT else [None] * count
    ids = schedule(kind, fresh_contacts(count, offset), tickets, now - timedelta(minutes=1))
    tokens = []
    for invitation_id in ids:
        send_invitation(invitation_id)
        body = db.session.scalar(select(OutboundMail.body_text).where(
            OutboundMail.dedupe_key == dedupe_key(invitation_id)))
        found = TOKEN_IN_MAIL.search(body or "")
        if found is None:
            raise SystemExit(f"invitation {invitation_id} was not sent (fatigue? bouncing?)")
        tokens.append(found.group(1))
    db.session.commit()
    return tokens


def run_pages(app, runner: Runner, eager: bool) -> None:
    from sqlalchemy import func, select

    from service import jobs
    from service.extensions import db
    from surveys.models import Opportunity, RecoveryFollowUp, SurveyKind

    mode = "jobs eager" if eager else "jobs not run"
    count = runner.args.page_requests + runner.args.warmup
    with app.app_context():
        log(f"pages ({mode}): sending {2 * count} invitations for their tokens")
        tokens = {SurveyKind.CSAT: sent_tokens(SurveyKind.CSAT, count, 0),
                  SurveyKind.NPS: sent_tokens(SurveyKind.NPS, count, 0)}
        db.session.remove()
    queued: dict[str, int] = {}
    real_dispatch = jobs.dispatch
    if not eager:
        def count_only(_app, pending) -> None:
            for job in pending:
                name = job.func.rsplit(".", 1)[1]
                queued[name] = queued.get(name, 0) + 1
        jobs.dispatch = count_only
    scores = {SurveyKind.CSAT: [5, 4, 5, 1, 3, 5, 2, 4, 5, 5],
              SurveyKind.NPS: [10, 9, 8, 3, 10, 7, 6, 9, 10, 5]}
    try:
        client = app.test_client()
        first = client.get(f"/s/{tokens[SurveyKind.CSAT][0]}")
        csrf = CSRF_IN_PAGE.search(first.get_data(as_text=True))
        if csrf is None:
            raise SystemExit("no csrf_token on the survey page")
        csrf_token = csrf.group(1)
        for kind in (SurveyKind.CSAT, SurveyKind.NPS):
            gets, posts = iter(tokens[kind]), iter(tokens[kind])
            cycle = scores[kind]
            state = {"get": 0, "post": 0}

            def get(kind=kind, gets=gets, state=state, cycle=cycle):
                state["get"] += 1
                return client.get(f"/s/{next(gets)}?score={cycle[state['get'] % len(cycle)]}")

            def post(kind=kind, posts=posts, state=state, cycle=cycle):
                state["post"] += 1
                return client.post(f"/s/{next(posts)}", data={
                    "csrf_token": csrf_token, "step": "score",
                    "score": str(cycle[state["post"] % len(cycle)])})

            with app.app_context():
                before = (db.session.scalar(select(func.count()).select_from(RecoveryFollowUp)),
                          db.session.scalar(select(func.count()).select_from(Opportunity)))
                db.session.remove()
            runner.measure("pages", f"{mode}: GET /s/<token>?score=N ({kind.value}, first open)",
                           get, requests=runner.args.page_requests)
            queued.clear()  # the GETs queue nothing; counted: the POSTs' jobs, warm-up included
            runner.measure("pages", f"{mode}: POST /s/<token> score ({kind.value}; "
                           f"scores {'/'.join(map(str, cycle))})", post,
                           expected=(303,), requests=runner.args.page_requests)
            with app.app_context():
                after = (db.session.scalar(select(func.count()).select_from(RecoveryFollowUp)),
                         db.session.scalar(select(func.count()).select_from(Opportunity)))
                db.session.remove()
            total = runner.args.page_requests + runner.args.warmup
            runner.rows[-1]["jobs"] = (
                "run in-process" if eager else
                ", ".join(f"{n / total:.2g} {name}"
                          for name, n in sorted(queued.items())))
            runner.rows[-1]["effects"] = (f"{after[0] - before[0]} follow-ups and "
                                          f"{after[1] - before[1]} opportunities opened by "
                                          f"{total} answers")
    finally:
        jobs.dispatch = real_dispatch


def run_sweep(app, runner: Runner, count: int, offset: int) -> None:
    from sqlalchemy import func, select

    from service import jobs
    from service.db_types import utcnow
    from service.extensions import db
    from service.notify.models import OutboundMail
    from surveys.models import Invitation, InvitationStatus, SurveyKind
    from surveys.sending import sweep_due

    with app.app_context():
        now = utcnow()
        contacts = fresh_contacts(count, offset)
        tickets = csat_tickets(count)
        started = time.perf_counter()
        ids = schedule(SurveyKind.CSAT, contacts, tickets, now - timedelta(minutes=5))
        scheduling = time.perf_counter() - started
        scheduled = db.session.scalar(select(func.count()).select_from(Invitation).where(
            Invitation.id.in_(ids), Invitation.status == InvitationStatus.SCHEDULED))
        db.session.remove()
    log(f"sweep: {scheduled:,} of {count:,} scheduled in {scheduling:.1f} s")
    real_dispatch = jobs.dispatch
    in_jobs = [0.0]

    def timed(app_, pending) -> None:
        began = time.perf_counter()
        real_dispatch(app_, pending)
        in_jobs[0] += time.perf_counter() - began
    jobs.dispatch = timed
    try:
        with app.app_context():
            runner.statements.reset()
            cpu_before = runner.cpu.sample()
            sweeps, started = 0, time.perf_counter()
            while sweep_due():
                sweeps += 1
            seconds = time.perf_counter() - started
            cpu = runner.cpu.since(cpu_before)
            statuses = dict(db.session.execute(
                select(Invitation.status, func.count()).where(Invitation.id.in_(ids))
                .group_by(Invitation.status)).all())
            mails = db.session.scalar(select(func.count()).select_from(OutboundMail).where(
                OutboundMail.dedupe_key.in_([f"survey:{i}" for i in ids])))
            db.session.remove()
    finally:
        jobs.dispatch = real_dispatch
    sent = statuses.get(InvitationStatus.SENT, 0)
    runner.rows.append({
        "section": "sweep", "what": "CSAT send sweep (sweep_due + send jobs in-process)",
        "items": count, "seconds": seconds, "rate": count / seconds, "sweeps": sweeps,
        "in_jobs": in_jobs[0], "cpu": cpu, "sql": runner.statements.count,
        "scheduling": scheduling, "detail": f"{sent:,} sent, "
        f"{statuses.get(InvitationStatus.SKIPPED, 0):,} skipped; {mails:,} mails recorded"})
    log(f"sweep: {count:,} in {seconds:.1f} s ({count / seconds:.0f}/s), {sent:,} sent")


def run_signals(app, runner: Runner, count: int, seed: int) -> None:
    import surveys_data
    from service.extensions import db
    from surveys.signals import detect

    texts = surveys_data.detection_texts(count, seed)
    lengths = [len(text) for text in texts]
    with app.app_context():
        detect.detect(texts[0])  # seeds the built-in rules once
        db.session.commit()
        rules = detect.PhraseDetector().rules()
        for label, function in (
                ("detect(text) (rules read from the database per call)", detect.detect),
                ("same matching, rules read once", lambda text: detect.first_per_rule(
                    [m for rule in rules for m in detect.find_phrases(rule, text)]))):
            times, fired = [], 0
            runner.statements.reset()
            cpu = time.process_time()
            started = time.perf_counter()
            for text in texts:
                began = time.perf_counter()
                fired += bool(function(text))
                times.append((time.perf_counter() - began) * 1000)
            seconds = time.perf_counter() - started
            runner.rows.append({
                "section": "signals", "what": label, "items": count, "seconds": seconds,
                "rate": count / seconds, "p50": statistics.median(times),
                "p99": percentile(times, 0.99), "max": max(times),
                "cpu": time.process_time() - cpu, "sql": runner.statements.count,
                "detail": f"{fired:,} texts fired a rule; {len(rules)} rules, "
                          f"{sum(len(rule.phrases) for rule in rules)} phrases; text length "
                          f"{min(lengths)}–{max(lengths)} (mean {statistics.mean(lengths):.0f})"})
            log(f"signals: {label}: {count / seconds:,.0f} texts/s")
        db.session.remove()


# ---------------------------------------------------------------------------- report

def report(args: argparse.Namespace, sizes: dict, rows: list[dict], notes: list[str]) -> None:
    print("\n".join(f"- {line}" for line in machine(args)))
    data = ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in sizes.items())
    print(f"- data (measured copy, before the run): {data}")
    print(f"- --scale {args.scale:g}, --requests {args.requests} (pages: {args.page_requests}) "
          f"after {args.warmup} warm-up; in-process (Flask test client, no HTTP)")
    print()
    print("| Section | Request | p50 ms | p95 ms | max ms | CPU ms/req | SQL/req | SQL ms/req "
          "| Status |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for row in rows:
        if "p95" not in row:
            continue
        budget = REPORT_BUDGET_MS if row["section"] == "reports" else (
            PAGE_BUDGET_MS if row["section"] in ("console", "inbox") else None)
        flag = " **OVER**" if budget is not None and row["p50"] > budget else ""
        print(f"| {row['section']} | {row['what']} | **{row['p50']:.1f}**{flag} | "
              f"{row['p95']:.1f} | {row['max']:.1f} | {row['cpu']:.0f} | {row['sql']:.1f} | "
              f"{row['sql_ms']:.1f} | {row['status']} |")
    for row in rows:
        if "jobs" in row or "effects" in row:
            print(f"- {row['what']}: jobs per request: {row.get('jobs', '')}; "
                  f"{row.get('effects', '')}")
    for row in rows:
        if row["section"] == "sweep":
            print()
            print(f"Sweep: {row['items']:,} due invitations in {row['seconds']:.2f} s = "
                  f"**{row['rate']:.0f} invitations/s** ({row['sweeps']} sweeps of ≤ 200; "
                  f"{row['in_jobs']:.2f} s in the send jobs, {row['seconds'] - row['in_jobs']:.2f}"
                  f" s in sweep_due; CPU {row['cpu']:.1f} s; {row['sql']:,} SQL statements, "
                  f"{row['sql'] / row['items']:.1f} per invitation); {row['detail']}. "
                  f"Scheduling them with create_invitation took {row['scheduling']:.2f} s "
                  f"({row['items'] / row['scheduling']:.0f}/s).")
        if row["section"] == "signals":
            print(f"Signals, {row['what']}: {row['items']:,} texts in {row['seconds']:.2f} s = "
                  f"**{row['rate']:,.0f} texts/s**, p50 {row['p50']:.2f} ms, p99 "
                  f"**{row['p99']:.2f} ms**, max {row['max']:.2f} ms, SQL {row['sql']:,}; "
                  f"{row['detail']}.")
    if args.verbose:
        print()
        for row in rows:
            for total, slowest, sql, _params in row.get("top", []):
                print(f"[{row['what']}] {total * 1000:.0f} ms (max {slowest * 1000:.1f}) "
                      f"{' '.join(sql.split())[:300]}")
    if notes:
        print()
        print("```")
        print("\n".join(notes))
        print("```")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", default="postgres@127.0.0.1:5432",
                        help="user@host:port of PostgreSQL (trust auth)")
    parser.add_argument("--db", default="loopdesk_bench_surveys")
    parser.add_argument("--scale", type=float, default=1.0, help="history size multiplier")
    parser.add_argument("--tickets", type=int, default=3000,
                        help="generate.py tickets (a third referenced by the history)")
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--reuse", action="store_true",
                        help="skip setup if the database exists (each run measures a copy)")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per report/page")
    parser.add_argument("--page-requests", type=int, default=100,
                        help="timed survey GETs and POSTs per kind and mode (distinct tokens)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--sweep", type=int, default=1000, help="invitations due for the sweep")
    parser.add_argument("--texts", type=int, default=10000, help="texts for signal detection")
    parser.add_argument("--only", help=f"comma-separated sections: {', '.join(SECTIONS)}")
    parser.add_argument("--verbose", action="store_true", help="print each request's top SQL")
    args = parser.parse_args()
    if "test" in args.db.lower():
        raise SystemExit("refusing a database whose name contains 'test'")
    only = set(args.only.split(",")) if args.only else set(SECTIONS)
    if only - set(SECTIONS):
        raise SystemExit(f"unknown sections: {', '.join(sorted(only - set(SECTIONS)))}")
    if min(args.requests, args.page_requests, args.sweep, args.texts) < 1 or args.scale <= 0:
        raise SystemExit("sizes must be positive")
    url = f"postgresql://{args.pg}/{args.db}"
    started = time.monotonic()
    if args.reuse and database_exists(args, args.db):
        log(f"reusing {args.db}")
    else:
        create_and_load(args, url)
        log(f"database ready in {time.monotonic() - started:.0f} s")
    run_url = fresh_copy(args)
    sizes = table_sizes(run_url)

    from service import create_app
    from service.extensions import db

    app = create_app(app_config(run_url))
    with app.app_context():
        statements = Statements(db.engine)
        admin, lead, rep = api_token(ADMIN_EMAIL), api_token(LEAD_EMAIL), api_token(REP_EMAIL)
        lead_client = signed_in_client(app, LEAD_EMAIL)
        admin_client = signed_in_client(app, ADMIN_EMAIL)
        rep_client = signed_in_client(app, REP_EMAIL)
        db.session.remove()
    runner = Runner(args, run_url, f"{args.db}_run", statements)
    notes: list[str] = []
    if "reports" in only:
        run_reports(app, runner, admin, lead, notes)
    if "console" in only:
        run_console(app, runner, lead_client, admin_client)
    if "inbox" in only:
        run_inbox(app, runner, rep_client, lead_client, rep, lead)
    if "pages" in only:
        run_pages(app, runner, eager=True)
        run_pages(app, runner, eager=False)
    if "sweep" in only:
        run_sweep(app, runner, args.sweep, 0)
    if "signals" in only:
        run_signals(app, runner, args.texts, args.seed)
    with app.app_context():
        db.engine.dispose()
    runner.cpu.monitor.close()
    log(f"done in {time.monotonic() - started:.0f} s")
    report(args, sizes, runner.rows, notes)


if __name__ == "__main__":
    main()
