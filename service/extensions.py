"""Flask extensions, created unbound and initialised in create_app."""
from __future__ import annotations

import bisect
import functools
import json

from flask import Flask, has_request_context, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Objects stay readable after commit: a request commits, then presents what it wrote,
# and reloading every attribute for that cost a round trip each.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Keyed on the socket peer, never on X-Forwarded-For (clients can forge it); deploy
# behind a proxy with ProxyFix configured for the known number of hops.
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def init_database(app: Flask) -> None:
    """Configure engines: SQLite in WAL with a busy timeout, PostgreSQL with pre-ping and
    without JIT compilation."""
    uri: str = app.config["SQLALCHEMY_DATABASE_URI"]
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if uri.startswith("sqlite"):
        options.setdefault("connect_args", {}).update({"timeout": 30, "check_same_thread": False})
    else:
        options.setdefault("pool_pre_ping", True)
        options.setdefault("pool_size", 10)
        options.setdefault("max_overflow", 10)
        # JIT pays off for hour-long analytics, not for our queries: it spent 1.4 of 2.5 s
        # compiling a 30-day report over 1,000,000 tickets (bench/RESULTS.md).
        connect_args = options.setdefault("connect_args", {})
        connect_args.setdefault("options", "-c jit=off")
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.config.get("MIGRATIONS_DIR", "migrations")),
                     render_as_batch=True, compare_type=True)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        # The driver must not issue its own BEGIN: _sqlite_begin chooses the kind.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        dbapi_connection.create_function(BUCKET_FUNCTION, 2, _bucket_index, deterministic=True)


# SQLite has no width_bucket: report time buckets (service.reports.query.Buckets) call this
# instead of a CASE of up to 400 branches, which SQLAlchemy would compile per statement.
BUCKET_FUNCTION = "loopdesk_bucket"


@functools.lru_cache(maxsize=64)
def _bucket_starts(starts: str) -> list[str]:
    return json.loads(starts)


def _bucket_index(moment: str | None, starts: str) -> int | None:
    """The index of the bucket a stored timestamp falls in: how many bucket starts (a JSON
    list of timestamps in SQLite's storage format, ascending) are at or before it."""
    return None if moment is None else bisect.bisect_right(_bucket_starts(starts), moment)


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection) -> None:
    # A deferred SQLite transaction that reads and then writes fails at once with
    # "database is locked" when another writer got in between (the busy timeout does
    # not apply to that upgrade). Writers therefore take the lock up front; reads of
    # GET requests stay deferred so they run beside a writer under WAL.
    if connection.dialect.name != "sqlite":
        return
    readonly = has_request_context() and request.method in {"GET", "HEAD", "OPTIONS"}
    connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")
