"""Profile a workload with py-spy: where a Loopdesk request (or the sweep) spends its time.

    bench/run.sh ...                                  # once, to build loopdesk_bench
    .venv/bin/pip install py-spy                      # profiling only
    .venv/bin/python bench/hotspots.py queue           # or intake | detail | sweep
    .venv/bin/python bench/hotspots.py intake --seconds 15 --connections 16

For web workloads it starts both gunicorn apps on the existing bench database (like run.py
--reuse), attaches py-spy (wall-clock, idle frames included, so waiting on PostgreSQL
shows up) to every Loopdesk worker while wrk runs, and prints the hottest functions:
inclusive time of the app's own functions, self time by leaf, and time by library.
`sweep` makes --due tickets due and records `python bench/sweep.py` under py-spy.
Raw stacks are kept in bench/out/profile-<workload>-*.txt (flamegraph.pl format).
"""
from __future__ import annotations

import argparse
import collections
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import BENCH, OUT, ROOT, VENV, Bench, parse_args, sh

PY_SPY = VENV / "py-spy"
SCRIPTS = {"intake": "intake.lua", "queue": "queue.lua", "detail": "detail.lua"}
_FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")

LIBRARIES = [  # (label, path fragment) of the leaf frame, first match wins
    ("psycopg (waiting on PostgreSQL / driver)", "psycopg/"),
    ("sqlalchemy", "sqlalchemy/"),
    ("marshmallow", "marshmallow/"),
    ("flask / werkzeug / jinja", "flask"),
    ("flask / werkzeug / jinja", "werkzeug/"),
    ("redis / rq", "redis/"),
    ("redis / rq", "rq/"),
    ("json / encodings", "json/"),
    ("loopdesk app code", "service/"),
    ("loopdesk app code", "tickets/"),
    ("zoneinfo / datetime", "zoneinfo/"),
    ("gunicorn", "gunicorn/"),
]


def frame_parts(frame: str) -> tuple[str, str, str]:
    match = _FRAME.match(frame)
    if not match:
        return frame, "", ""
    return match["func"], match["file"], match["line"] or ""


def analyse(paths: list[Path], marker: str, top: int = 25) -> str:
    """Aggregate py-spy raw stacks that contain `marker` (a request or the sweep)."""
    inclusive: collections.Counter = collections.Counter()
    leaf: collections.Counter = collections.Counter()
    library: collections.Counter = collections.Counter()
    statements: collections.Counter = collections.Counter()
    total = 0
    for path in paths:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if marker not in stack:
                continue
            n = int(count)
            total += n
            frames = stack.split(";")
            seen = set()
            app_frames = []
            for frame in frames:
                func, file, _ = frame_parts(frame)
                if file.startswith(("service/", "tickets/")) or "/service/" in file \
                        or "/tickets/" in file:
                    key = f"{func} ({file})"
                    if key not in seen:
                        seen.add(key)
                        inclusive[key] += n
                    app_frames.append(frame)
            func, file, lineno = frame_parts(frames[-1])
            leaf[f"{func} ({file}:{lineno})"] += n
            label = next((name for name, fragment in LIBRARIES if fragment in file), "other")
            library[label] += n
            if "psycopg/" in file and app_frames:
                statements[app_frames[-1]] += n  # the app line that issued the DB call
    if total == 0:
        return f"no samples containing {marker!r}\n"

    def table(title: str, counter: collections.Counter) -> list[str]:
        rows = [f"\n{title}", f"{'share':>7}  function"]
        for key, n in counter.most_common(top):
            rows.append(f"{n / total:7.1%}  {key}")
        return rows

    out = [f"{total} samples inside {marker!r} (wall clock, idle included)"]
    out += table("Inclusive time, Loopdesk functions:", inclusive)
    out += table("Time by library of the leaf frame:", library)
    out += table("Waiting in psycopg, by the app line that issued the query:", statements)
    out += table("Self time (leaf frames):", leaf)
    return "\n".join(out) + "\n"


def profile_web(bench: Bench, workload: str, seconds: int, connections: int) -> list[Path]:
    bench.make_token()
    bench.flush_redis()
    bench.start_servers()
    paths: list[Path] = []
    try:
        env = dict(os.environ, BENCH_LUA_DIR=str(BENCH / "lua"), TOKEN=bench.token,
                   CONTACTS=str(bench.counts["contacts"]), ACCOUNTS=str(bench.counts["accounts"]),
                   ID_MIN=str(bench.counts["id_min"]), ID_MAX=str(bench.counts["id_max"]))
        url = f"http://127.0.0.1:{bench.args.loopdesk_port}"
        script = str(BENCH / "lua" / SCRIPTS[workload])
        threads = min(2, connections)
        subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", "-d3s", "-s", script, url],
                       env=env, capture_output=True, check=False)  # warm-up
        workers = sh(["pgrep", "-P", str(bench.servers["loopdesk"].pid)]).split()
        stamp = time.strftime("%H%M%S")
        spies = []
        for pid in workers:
            path = OUT / f"profile-{workload}-{stamp}-{pid}.txt"
            paths.append(path)
            spies.append(subprocess.Popen(
                [str(PY_SPY), "record", "--pid", pid, "--duration", str(seconds), "--rate", "250",
                 "--idle", "--format", "raw", "--output", str(path)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        result = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s",
                                 "-s", script, url], env=env, capture_output=True, text=True,
                                check=False)
        for spy in spies:
            spy.wait(timeout=seconds + 30)
        summary = re.search(r"BENCH_JSON (\{.*\})", result.stdout)
        print(f"wrk under py-spy (slower than the real run): "
              f"{summary.group(1) if summary else result.stdout}")
    finally:
        bench.stop_servers()
    return paths


def profile_sweep(bench: Bench) -> list[Path]:
    sh([str(VENV / "python"), str(BENCH / "generate.py"), "--database-url", bench.url,
        "--tickets", "0", "--due", str(bench.args.due)])
    path = OUT / f"profile-sweep-{time.strftime('%H%M%S')}.txt"
    subprocess.run([str(PY_SPY), "record", "--rate", "250", "--idle", "--format", "raw",
                    "--output", str(path), "--", str(VENV / "python"), str(BENCH / "sweep.py")],
                   env=bench.env, cwd=ROOT, check=True)
    return [path]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workload", choices=[*SCRIPTS, "sweep"])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--top", type=int, default=25)
    args, rest = parser.parse_known_args()
    bench = Bench(parse_args(["--reuse", "--due", str(args.due), *rest]))
    OUT.mkdir(exist_ok=True)
    if not PY_SPY.exists():
        raise SystemExit("py-spy is missing: .venv/bin/pip install py-spy")
    if args.workload == "sweep":
        paths, marker = profile_sweep(bench), "sweep (tickets/sla_sweep.py"
    else:
        paths = profile_web(bench, args.workload, args.seconds, args.connections)
        marker = "Flask.wsgi_app"
    report = analyse(paths, marker, args.top)
    print(report)
    (OUT / f"profile-{args.workload}-{time.strftime('%Y%m%d-%H%M%S')}.summary.txt").write_text(
        report)


if __name__ == "__main__":
    main()
