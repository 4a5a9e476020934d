"""One command for the whole benchmark: `bench/run.sh [--tickets N] [...]`.

Creates the bench database, loads the data, starts Loopdesk and the reference app under the
same gunicorn settings, runs every workload with wrk, measures worker RSS and the SLA
sweep, and writes a markdown table (and the raw JSON) to bench/out/.
Run from anywhere; needs the app venv (.venv), wrk, PostgreSQL and Redis.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import psycopg

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV = ROOT / ".venv" / "bin"
OUT = BENCH / "out"
AGENT_PASSWORD = "bench-password-1"

TARGETS = {  # what the issue asks for
    "intake_ratio": 0.40, "read_ratio": 0.50, "intake_p99_ms": 40.0, "queue_p50_ms": 10.0,
    "sweep_s": 5.0, "rss_mb": 150.0,
}


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def sh(args: list[str], env: dict | None = None, capture: bool = True) -> str:
    result = subprocess.run(args, env=env, cwd=ROOT, text=True, check=False,
                            stdout=subprocess.PIPE if capture else None,
                            stderr=subprocess.STDOUT if capture else None)
    if result.returncode != 0:
        raise SystemExit(f"command failed ({result.returncode}): {' '.join(args)}\n"
                         f"{result.stdout or ''}")
    return result.stdout or ""


def cpu_busy(seconds: float = 2.0) -> float:
    """Share of all CPUs busy over `seconds` (from /proc/stat)."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        return sum(fields[:8]), idle

    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    return 1 - (idle1 - idle0) / max(1, total1 - total0)


def cpu_ticks(our_pids: set[int]) -> tuple[int, int]:
    """(all busy CPU ticks, ticks of our processes): wrk, our gunicorns and the PostgreSQL
    backends serving the bench database. The difference is what other processes used."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    busy = sum(fields[:8]) - fields[3] - fields[4]
    ours = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        after = stat.rsplit(")", 1)[1].split()
        ppid = int(after[1])
        if (int(entry.name) in our_pids or ppid in our_pids or b"loopdesk_bench" in cmdline
                or cmdline.startswith(b"wrk")):
            ours += int(after[11]) + int(after[12])
    return busy, ours


def _wrk_version() -> str:
    # `wrk -v` prints its version and exits with status 1.
    result = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return (result.stdout or result.stderr).splitlines()[0].strip()


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.admin_url = f"postgresql://{args.pg}/postgres"
        self.url = f"postgresql://{args.pg}/{args.db}"
        self.redis = f"redis://{args.redis}/{args.redis_db}"
        self.env = dict(os.environ, DATABASE_URL=self.url, REDIS_URL=self.redis,
                        LOG_LEVEL="WARNING")
        self.servers: dict[str, subprocess.Popen] = {}
        self.results: dict = {"workloads": {}, "params": vars(args).copy()}
        self.token = ""

    # ------------------------------------------------------------------ setup
    def flask(self, *args: str) -> str:
        return sh([str(VENV / "flask"), "--app", "wsgi", *args], env=self.env)

    def create_database(self) -> None:
        log(f"creating database {self.args.db}")
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {self.args.db} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {self.args.db}")
        self.flask("setup")
        for i in range(1, self.args.agents + 1):
            self.flask("users", "create", f"bench-agent{i}@bench.loopdesk.test", "--role",
                       "agent", "--password", AGENT_PASSWORD, "--name", f"Bench Agent {i}",
                       "--team", "Support")
        # The API caller is an integration account outside the team: when the caller is one
        # of the candidate agents, concurrent intakes deadlock (see RESULTS.md).
        self.flask("users", "create", "bench-api@bench.loopdesk.test", "--role", "agent",
                   "--password", AGENT_PASSWORD, "--name", "Bench API")
        with psycopg.connect(self.url, autocommit=True) as conn:
            # High capacity, so auto-assignment keeps working for the whole intake run.
            conn.execute("UPDATE users SET max_open_tickets = 1000000 "
                         "WHERE email LIKE 'bench-agent%@bench.loopdesk.test'")

    def generate(self) -> None:
        log(f"generating {self.args.tickets:,} tickets")
        started = time.monotonic()
        sh([str(VENV / "python"), str(BENCH / "generate.py"), "--database-url", self.url,
            "--tickets", str(self.args.tickets)], capture=False)
        self.results["generate_s"] = round(time.monotonic() - started, 1)

    def make_token(self) -> None:
        output = self.flask("tokens", "create", self.args.token_user,
                            "--name", "bench")
        self.token = output.strip().splitlines()[-1].strip()
        with psycopg.connect(self.url) as conn:
            self.counts = dict(zip(
                ("tickets", "messages", "contacts", "accounts", "open", "id_min", "id_max"),
                conn.execute("""SELECT (SELECT count(*) FROM tickets),
                                (SELECT count(*) FROM messages), (SELECT count(*) FROM contacts),
                                (SELECT count(*) FROM accounts),
                                (SELECT count(*) FROM tickets WHERE status = 'open'),
                                (SELECT min(id) FROM tickets), (SELECT max(id) FROM tickets)
                             """).fetchone(), strict=True))
            conn.execute("""CREATE TABLE IF NOT EXISTS bench_ref (id serial PRIMARY KEY,
                            subject text NOT NULL, body text NOT NULL, email text NOT NULL,
                            created_at timestamptz DEFAULT now())""")
            conn.execute("""INSERT INTO bench_ref (subject, body, email)
                            SELECT 'seed ' || g, 'seed body', 'seed@example.com'
                            FROM generate_series(1, 1000) g""")
        self.results["data"] = self.counts

    def checkpoint(self) -> None:
        """Flush the load's dirty pages now, so a checkpoint does not land mid-measurement."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("CHECKPOINT")
        sh(["sync"])  # and the kernel's dirty pages (the load wrote gigabytes)
        time.sleep(5)

    def flush_redis(self) -> None:
        host, _, port = self.args.redis.partition(":")
        sh(["redis-cli", "-h", host, "-p", port or "6379", "-n", str(self.args.redis_db),
            "flushdb"])

    # ------------------------------------------------------------------ servers
    def start(self, name: str, port: int, module: str, chdir: Path) -> None:
        logfile = open(OUT / f"{name}.log", "w")  # noqa: SIM115 - kept open for the server
        process = subprocess.Popen(
            [str(VENV / "gunicorn"), "-w", str(self.args.workers), "-b", f"127.0.0.1:{port}",
             "--chdir", str(chdir), "--timeout", "60", module],
            env=self.env, cwd=chdir, stdout=logfile, stderr=subprocess.STDOUT)
        self.servers[name] = process
        probe = "/healthz" if name == "loopdesk" else "/items"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{probe}", timeout=2).read()
                break
            except OSError:
                if process.poll() is not None:
                    raise SystemExit(f"{name} exited; see {OUT / (name + '.log')}") from None
                time.sleep(0.2)
        log(f"{name} up on :{port} (pid {process.pid})")

    def start_servers(self) -> None:
        self.start("loopdesk", self.args.loopdesk_port, "wsgi:app", ROOT)
        self.start("reference", self.args.ref_port, "reference_app:app", BENCH)

    def stop_servers(self) -> None:
        for name, process in self.servers.items():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
            log(f"{name} stopped")
        self.servers.clear()

    def worker_rss(self, name: str) -> list[float]:
        master = self.servers[name].pid
        children = sh(["pgrep", "-P", str(master)]).split()
        rss = []
        for pid in children:
            value = sh(["ps", "-o", "rss=", "-p", pid]).strip()
            if value:
                rss.append(round(int(value) / 1024, 1))
        return rss

    # ------------------------------------------------------------------ load
    def wait_idle(self) -> float:
        """Wait (up to --idle-wait s) until nothing else loads the CPUs; our servers idle.

        The machine is shared: a test suite running beside the bench halves every number.
        """
        deadline = time.monotonic() + self.args.idle_wait
        while True:
            busy = cpu_busy()
            if busy <= self.args.idle_threshold or time.monotonic() >= deadline:
                if busy > self.args.idle_threshold:
                    log(f"warning: CPUs {busy:.0%} busy before this workload (other processes)")
                    self.results.setdefault("warnings", []).append(
                        f"CPUs {busy:.0%} busy before a workload")
                return busy
            log(f"CPUs {busy:.0%} busy with other processes; waiting")
            time.sleep(5)

    def wrk(self, name: str, script: str, port: int, *, connections: int | None = None,
            extra_env: dict | None = None, record: bool = True) -> dict | None:
        connections = connections or self.args.connections
        threads = min(self.args.threads, connections)
        env = dict(os.environ, BENCH_LUA_DIR=str(BENCH / "lua"), TOKEN=self.token,
                   **(extra_env or {}))
        url = f"http://127.0.0.1:{port}"
        busy = self.wait_idle()
        base = ["wrk", f"-t{threads}", f"-c{connections}", "--timeout", "10s", "-s",
                str(BENCH / "lua" / script)]
        subprocess.run([*base, f"-d{self.args.warmup}s", url], env=env, cwd=ROOT,
                       capture_output=True, text=True, check=False)  # warm-up, discarded
        our_pids = {process.pid for process in self.servers.values()}
        for attempt in range(1 + self.args.retries):
            busy0, ours0 = cpu_ticks(our_pids)
            clock0 = time.monotonic()
            result = subprocess.run([*base, f"-d{self.args.duration}s", url], env=env,
                                    cwd=ROOT, capture_output=True, text=True, check=False)
            busy1, ours1 = cpu_ticks(our_pids)
            ticks = os.sysconf("SC_CLK_TCK") * (time.monotonic() - clock0) * os.cpu_count()
            others = max(0.0, ((busy1 - busy0) - (ours1 - ours0)) / ticks)
            if others <= self.args.idle_threshold or attempt == self.args.retries:
                break
            log(f"{name}: other processes used {others:.0%} of the CPUs meanwhile; again")
            busy = self.wait_idle()
        match = re.search(r"BENCH_JSON (\{.*\})", result.stdout)
        if match is None:
            raise SystemExit(f"wrk {name} failed:\n{result.stdout}\n{result.stderr}")
        data = json.loads(match.group(1))
        data["cpu_others_during"] = round(others, 3)
        data["connections"] = connections
        data["cpu_busy_before"] = round(busy, 3)
        data["command"] = (f"wrk -t{threads} -c{connections} -d{self.args.duration}s "
                           f"--timeout 10s -s bench/lua/{script} {url}")
        socket_errors = data["errors_connect"] + data["errors_read"] + data["errors_timeout"]
        log(f"{name:<18} {data['rps']:8.1f} req/s  p50 {data['p50_ms']:6.2f} ms  "
            f"p99 {data['p99_ms']:7.2f} ms  non-2xx {data['errors_status']}  "
            f"socket errors {socket_errors}  other processes' CPU {others:.0%}")
        if others > self.args.idle_threshold:
            self.results.setdefault("warnings", []).append(
                f"{name}: other processes used {others:.0%} of the CPUs during the run")
        if record:
            self.results["workloads"][name] = data
        return data

    def run_workloads(self) -> None:
        lport, rport = self.args.loopdesk_port, self.args.ref_port
        contacts = {"CONTACTS": str(self.counts["contacts"]),
                    "ACCOUNTS": str(self.counts["accounts"])}
        ids = {"ID_MIN": str(self.counts["id_min"]), "ID_MAX": str(self.counts["id_max"])}
        # The reference runs before and after Loopdesk; the better of the two is the ceiling.
        self.wrk("ref_insert_before", "ref_post.lua", rport)
        self.wrk("ref_read_before", "ref_get.lua", rport)
        self.wrk("intake", "intake.lua", lport, extra_env=contacts)
        self.wrk("queue", "queue.lua", lport)
        self.wrk("queue_c1", "queue.lua", lport, connections=1)
        self.wrk("detail", "detail.lua", lport, extra_env=ids)
        self.wrk("detail_c1", "detail.lua", lport, connections=1, extra_env=ids)
        self.wrk("ref_insert_after", "ref_post.lua", rport)
        self.wrk("ref_read_after", "ref_get.lua", rport)
        for kind in ("insert", "read"):
            runs = [self.results["workloads"][f"ref_{kind}_{when}"] for when in ("before", "after")]
            self.results["workloads"][f"ref_{kind}"] = max(runs, key=lambda run: run["rps"])
        self.results["rss_mb"] = {name: self.worker_rss(name) for name in self.servers}
        log(f"worker RSS (MB): {self.results['rss_mb']}")
        with psycopg.connect(self.url) as conn:
            self.results["intake_check"] = dict(zip(
                ("bench_tickets", "assigned", "events", "jobs_outbox"),
                conn.execute("""SELECT count(*), count(assignee_id),
                                (SELECT count(*) FROM ticket_events e WHERE e.ticket_id > %s),
                                (SELECT count(*) FROM job_outbox)
                                FROM tickets WHERE id > %s""",
                             (self.counts["id_max"], self.counts["id_max"])).fetchone(),
                strict=True))
        host, _, port = self.args.redis.partition(":")
        self.results["intake_check"]["rq_mail_queue"] = int(sh(
            ["redis-cli", "-h", host, "-p", port or "6379", "-n", str(self.args.redis_db),
             "llen", "rq:queue:mail"]).strip() or 0)
        log(f"intake check: {self.results['intake_check']}")

    def sweep(self) -> None:
        log(f"making {self.args.due:,} tickets due, then one SLA sweep")
        sh([str(VENV / "python"), str(BENCH / "generate.py"), "--database-url", self.url,
            "--tickets", "0", "--due", str(self.args.due)])
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE) tickets")
            conn.execute("CHECKPOINT")
        self.results["sweep_cpu_busy_before"] = round(self.wait_idle(), 3)
        output = sh([str(VENV / "python"), str(BENCH / "sweep.py")], env=self.env)
        data = json.loads(output.strip().splitlines()[-1])
        self.results["sweep"] = data
        log(f"sweep: {data}")

    # ------------------------------------------------------------------ report
    def machine(self) -> dict:
        model = re.search(r"Model name:\s*(.+)", sh(["lscpu"]))
        mem = re.search(r"MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text())
        with psycopg.connect(self.url) as conn:
            pg = conn.execute("SHOW server_version").fetchone()[0]
            settings = dict(conn.execute(
                """SELECT name, setting || coalesce(unit, '') FROM pg_settings WHERE name IN
                   ('shared_buffers', 'synchronous_commit', 'work_mem', 'max_connections')"""
            ).fetchall())
        return {"nproc": sh(["nproc"]).strip(), "cpu": model.group(1).strip() if model else "?",
                "memory_gb": round(int(mem.group(1)) / 1024 / 1024, 1) if mem else "?",
                "python": platform.python_version(), "postgres": pg, "pg_settings": settings,
                "wrk": _wrk_version()}

    def report(self) -> str:
        r, w = self.results, self.results["workloads"]
        T = TARGETS

        def ok(passed: bool) -> str:
            return "PASS" if passed else "**MISS**"

        ref_ins, ref_read = w["ref_insert"]["rps"], w["ref_read"]["rps"]
        rows = []

        def row(workload, measured, target, ratio, verdict):
            rows.append(f"| {workload} | {measured} | {target} | {ratio} | {verdict} |")

        for key, label in (("ref_insert", "Reference POST (insert 1 row)"),
                           ("ref_read", "Reference GET (50 rows)")):
            d = w[key]
            runs = " / ".join(f"{w[f'{key}_{when}']['rps']:.0f}" for when in ("before", "after"))
            row(label, f"{d['rps']:.0f} req/s (before / after Loopdesk: {runs}), "
                f"p50 {d['p50_ms']:.1f} ms, p99 {d['p99_ms']:.1f} ms",
                "ceiling (best of 2)", "1.00", "")
        d = w["intake"]
        ratio = d["rps"] / ref_ins
        row("Intake POST /api/v1/tickets (c16)",
            f"{d['rps']:.0f} req/s, p50 {d['p50_ms']:.1f} ms, p99 {d['p99_ms']:.1f} ms",
            f"≥ {T['intake_ratio']:.0%} of ref insert", f"{ratio:.2f}",
            ok(ratio >= T["intake_ratio"]))
        row("Intake p99 (c16)", f"{d['p99_ms']:.1f} ms", f"≤ {T['intake_p99_ms']:.0f} ms",
            "", ok(d["p99_ms"] <= T["intake_p99_ms"]))
        for key, label in (("queue", "Queue first page, open, 50 (c16)"),
                           ("detail", "Ticket detail + messages (c16)")):
            d = w[key]
            ratio = d["rps"] / ref_read
            row(label, f"{d['rps']:.0f} req/s, p50 {d['p50_ms']:.1f} ms, p99 {d['p99_ms']:.1f} ms",
                f"≥ {T['read_ratio']:.0%} of ref read", f"{ratio:.2f}",
                ok(ratio >= T["read_ratio"]))
        d = w["queue_c1"]
        row("Queue first page p50 (c1)",
            f"{d['p50_ms']:.1f} ms (p99 {d['p99_ms']:.1f} ms, {d['rps']:.0f} req/s)",
            f"≤ {T['queue_p50_ms']:.0f} ms", "", ok(d["p50_ms"] <= T["queue_p50_ms"]))
        d = w["queue"]
        row("Queue first page p50 (c16, queueing incl.)", f"{d['p50_ms']:.1f} ms",
            f"(≤ {T['queue_p50_ms']:.0f} ms)", "", "info")
        d = w["detail_c1"]
        row("Ticket detail + messages (c1)",
            f"{d['rps']:.0f} req/s, p50 {d['p50_ms']:.1f} ms, p99 {d['p99_ms']:.1f} ms",
            "", "", "info")
        s = r["sweep"]
        row(f"SLA sweep of {s['checked']:,} due tickets among {r['data']['tickets']:,}",
            f"{s['seconds']:.2f} s ({s['warnings']:,} warnings, {s['breaches']:,} breaches)",
            f"≤ {T['sweep_s']:.0f} s", "", ok(s["seconds"] <= T["sweep_s"]))
        rss = max(r["rss_mb"]["loopdesk"])
        row("Web worker RSS (max of 2, after the runs)",
            f"{rss:.0f} MB (reference: {max(r['rss_mb']['reference']):.0f} MB)",
            f"≤ {T['rss_mb']:.0f} MB", "", ok(rss <= T["rss_mb"]))
        errors = {k: v["errors_status"] + v["errors_connect"] + v["errors_read"]
                  + v["errors_timeout"] for k, v in w.items()
                  if k not in ("ref_insert", "ref_read")}
        m = r["machine"]
        lines = [
            f"# Loopdesk bench — {r['started']}",
            "",
            (f"Machine: {m['nproc']} cores ({m['cpu']}), {m['memory_gb']} GB RAM; Python "
            f"{m['python']}, PostgreSQL {m['postgres']} ({m['pg_settings']}), {m['wrk']}."),
            (f"Data: {r['data']['tickets']:,} tickets, {r['data']['messages']:,} messages, "
            f"{r['data']['contacts']:,} contacts, {r['data']['open']:,} tickets in status open "
            f"(generated in {r.get('generate_s', '-')} s)."),
            (f"Servers: gunicorn -w {self.args.workers} (sync workers) for both apps, same "
            f"database; wrk -t{self.args.threads} -c{self.args.connections} "
            f"-d{self.args.duration}s after a {self.args.warmup}s warm-up per workload."),
            "",
            "| Workload | Measured | Target | Ratio to reference | Verdict |",
            "|---|---|---|---|---|",
            *rows,
            "",
            f"Errors (non-2xx + socket) per workload: {errors}",
            "Share of the CPUs used by other processes during each workload: "
            + str({k: v.get("cpu_others_during") for k, v in w.items()
                   if k not in ("ref_insert", "ref_read")}),
            *[f"Warning: {text}" for text in r.get("warnings", [])],
            f"Intake check: {r['intake_check']}",
            "",
            "Commands:",
            "",
            "```",
            *dict.fromkeys(v["command"] for v in w.values()),
            f"python bench/generate.py --database-url {self.url} --tickets 0 --due {self.args.due}",
            "python bench/sweep.py   # times tickets.sla_sweep.sweep() in an app context",
            "```",
        ]
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------------ main
    def run(self) -> None:
        OUT.mkdir(exist_ok=True)
        self.results["started"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        if not self.args.reuse:
            self.create_database()
            self.generate()
        self.make_token()
        self.flush_redis()
        self.checkpoint()
        try:
            self.start_servers()
            self.run_workloads()
        finally:
            self.stop_servers()
        self.sweep()
        self.flush_redis()
        self.results["machine"] = self.machine()
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        table = self.report()
        (OUT / f"results-{stamp}.md").write_text(table)
        (OUT / f"results-{stamp}.json").write_text(json.dumps(self.results, indent=2,
                                                              default=str))
        print()
        print(table)
        log(f"written to {OUT / f'results-{stamp}.md'}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=20, help="seconds per workload")
    parser.add_argument("--warmup", type=int, default=5, help="seconds before each workload")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per app")
    parser.add_argument("--agents", type=int, default=5, help="bench agents in Support")
    parser.add_argument("--token-user", default="bench-api@bench.loopdesk.test",
                        help="staff user whose API token drives the load")
    parser.add_argument("--db", default="loopdesk_bench")
    parser.add_argument("--pg", default="postgres@127.0.0.1:5432", help="user@host:port")
    parser.add_argument("--redis", default="127.0.0.1:6379")
    parser.add_argument("--redis-db", type=int, default=9)
    parser.add_argument("--loopdesk-port", type=int, default=8101)
    parser.add_argument("--ref-port", type=int, default=8102)
    parser.add_argument("--idle-threshold", type=float, default=0.15,
                        help="CPU share other processes may use before a workload starts")
    parser.add_argument("--idle-wait", type=int, default=600,
                        help="seconds to wait for an idle machine before each workload")
    parser.add_argument("--retries", type=int, default=2,
                        help="repeat a workload when other processes loaded the CPUs")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the existing bench database (no drop, no generate)")
    return parser.parse_args(argv)


def _terminate(signum, _frame) -> None:
    raise SystemExit(f"stopped by signal {signum}")  # so the servers get stopped


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)  # background jobs start with SIGINT ignored
    Bench(parse_args()).run()
