"""Profile one workload in-process: `python bench/inprocess.py intake|queue`.

Runs 200 requests through the Flask test client against the bench database (DATABASE_URL,
default loopdesk_bench; REDIS_URL, default db 9) after a warm-up, prints the mean time per
request, then the self time of 200 more requests under cProfile, grouped by library.
"""
from __future__ import annotations

import collections
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DATABASE_URL", "postgresql://postgres@127.0.0.1/loopdesk_bench")

from service import create_app  # noqa: E402
from service.extensions import db  # noqa: E402

GROUPS = (("psycopg/connection.py", "waiting on PostgreSQL / Redis"), ("/psycopg", "psycopg"),
          ("/sqlalchemy/", "SQLAlchemy"), ("/marshmallow/", "marshmallow"),
          ("/flask", "Flask / Werkzeug"), ("/werkzeug/", "Flask / Werkzeug"),
          ("/redis/", "RQ / Redis"), ("/rq/", "RQ / Redis"))


def group(filename: str, function: str) -> str:
    if function == "wait" and "psycopg" in filename or function.startswith("recv"):
        return "waiting on PostgreSQL / Redis"
    for fragment, name in GROUPS:
        if fragment in filename:
            return name
    if "/.venv/" not in filename and ("/service/" in filename or "/tickets/" in filename):
        return "Loopdesk code"
    return "stdlib, JSON, blinker"


def main(kind: str) -> None:
    app = create_app({"JOBS_EAGER": False,
                      "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9")})
    with app.app_context():
        from sqlalchemy import select

        from service.auth.models import User
        from service.auth.services import issue_token

        user = db.session.scalar(select(User).where(User.email.like("bench-%")).limit(1))
        token = issue_token(user, name="inprocess profile")
        db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def request(number: int):
        if kind == "intake":
            return client.post("/api/v1/tickets", headers=headers, json={
                "subject": f"Printer {number} broken", "description": "It prints nothing.",
                "customer": {"email": f"inprocess{number % 500}@example.com"},
                "urgency": "high"})
        return client.get("/api/v1/tickets?status=open&limit=50", headers=headers)

    for number in range(30):
        request(number)
    started = time.perf_counter()
    for number in range(200):
        request(number)
    print(f"{kind}: {(time.perf_counter() - started) * 5:.2f} ms per request in-process")
    profile = cProfile.Profile()
    profile.enable()
    for number in range(200):
        request(number)
    profile.disable()
    totals: collections.Counter = collections.Counter()
    for (filename, _line, function), (_cc, _nc, self_time, _ct, _callers) in \
            pstats.Stats(profile).stats.items():
        totals[group(filename, function)] += self_time
    whole = sum(totals.values())
    for name, seconds in totals.most_common():
        print(f"  {100 * seconds / whole:5.1f} %  {name}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "queue")
