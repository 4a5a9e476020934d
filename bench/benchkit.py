"""What the in-process benches share (bench/surveys.py, bench/reports.py, bench/closed_loop.py,
bench/console_pages.py): logging, PostgreSQL admin connections, a new migrated database,
percentiles, an API token, SQL statement timing and EXPLAIN."""
from __future__ import annotations

import argparse
import math
import sys
import time
from datetime import datetime

import psycopg


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def pg_admin(args: argparse.Namespace):
    """An autocommit connection to the server's `postgres` database (args.pg: host:port)."""
    return psycopg.connect(f"postgresql://{args.pg}/postgres", autocommit=True)


def database_exists(args: argparse.Namespace, name: str) -> bool:
    with pg_admin(args) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            (name,)).fetchone() is not None


def create_database(args: argparse.Namespace, config: dict, admin_email: str,
                    *also_drop: str) -> None:
    """DROP (with `also_drop`, e.g. a run's copy) and CREATE args.db, then what
    `flask --app wsgi setup` does: the migrations, the defaults, and an admin user."""
    from flask_migrate import upgrade

    from service import create_app
    from service.auth.services import create_user
    from service.extensions import db
    from tickets.defaults import ensure_defaults

    log(f"creating database {args.db}")
    with pg_admin(args) as conn:
        for name in (*also_drop, args.db):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.db}"')
    app = create_app(config)
    with app.app_context():
        upgrade(directory=app.config["MIGRATIONS_DIR"])
        ensure_defaults()
        create_user(admin_email, "admin", "bench-password-1", "Bench Admin")
        db.session.commit()
        db.engine.dispose()


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of `values` (share in 0…1)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def api_token(email: str, name: str = "bench") -> dict[str, str]:
    """Authorization headers with a fresh API token of the user (in an app context)."""
    from sqlalchemy import select

    from service.auth.models import User
    from service.auth.services import issue_token
    from service.extensions import db

    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        raise SystemExit(f"no user {email}: load the database again (without --reuse)")
    token = issue_token(user, name=name)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


class Statements:
    """Counts the SQL statements of an engine and times each (total and slowest run)."""

    def __init__(self, engine) -> None:
        from sqlalchemy import event

        self.count = 0
        self.slowest: dict[str, tuple[float, object]] = {}  # statement → (max s, params)
        self.total: dict[str, float] = {}
        self._started: list[float] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, *_args) -> None:
        self._started.append(time.perf_counter())

    def _after(self, _conn, _cursor, statement, parameters, *_args) -> None:
        elapsed = time.perf_counter() - self._started.pop()
        self.count += 1
        self.total[statement] = self.total.get(statement, 0.0) + elapsed
        if elapsed > self.slowest.get(statement, (0.0, None))[0]:
            self.slowest[statement] = (elapsed, parameters)

    def reset(self) -> None:
        self.count = 0
        self.slowest, self.total = {}, {}

    def top(self, limit: int = 3) -> list[tuple[float, float, str, object]]:
        """(total s, max s, statement, parameters of its slowest run), most time first."""
        rows = sorted(((self.total[sql], self.slowest[sql][0], sql, self.slowest[sql][1])
                       for sql in self.total), key=lambda row: row[0], reverse=True)
        return rows[:limit]


def explain(app, top: list[tuple[float, float, str, object]], *,
            min_seconds: float = 0.0) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the SELECTs among `top` that took at least
    `min_seconds`, with the parameters of their slowest run."""
    from service.extensions import db

    out = []
    with app.app_context():
        with db.engine.connect() as connection:
            for total, slowest, sql, parameters in top:
                if not sql.lstrip().upper().startswith(("SELECT", "WITH")) \
                        or slowest < min_seconds:
                    continue
                try:
                    plan = connection.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {sql}",
                                                      parameters).fetchall()
                except Exception as error:  # noqa: BLE001  (statement_timeout: say so)
                    connection.rollback()
                    plan = [(f"EXPLAIN ANALYZE failed: {str(error).splitlines()[0]}",)]
                out.append(f"-- {slowest * 1000:.1f} ms at worst ({total * 1000:.0f} ms in all):"
                           f"\n-- {' '.join(sql.split())[:900]}\n"
                           + "\n".join(short(row[0]) for row in plan))
            connection.rollback()
    return out


def short(line: str, limit: int = 260) -> str:
    """A plan line cut short (a bucket CASE of 53 weeks fills a screen)."""
    return line if len(line) <= limit else line[:limit] + " …"
