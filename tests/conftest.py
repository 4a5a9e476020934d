"""Shared fixtures: an app per test on SQLite (fast) or PostgreSQL (integration)."""
from __future__ import annotations

import os
import shutil
import warnings
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

# Tests choose their own database and queue; never the developer's.
for _name in ("DATABASE_URL", "REDIS_URL", "MAIL_SERVER"):
    os.environ.pop(_name, None)
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")

from service import create_app  # noqa: E402
from service.extensions import db  # noqa: E402

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# Under pytest-xdist each worker process gets its own database and Redis database number.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_WORKER_INDEX = int(_WORKER.removeprefix("gw") or 0) if _WORKER.startswith("gw") else 0
PG_TEST_DB = os.environ.get("TEST_PG_DB", "loopdesk_test") + (f"_{_WORKER}" if _WORKER else "")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL") or f"redis://127.0.0.1:6379/{14 - _WORKER_INDEX}"
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"

def _reuse_url_builders() -> None:
    """Compile each URL rule's builder once per process instead of once per app.

    Every test makes a fresh app, and werkzeug compiles Python code for each of its ~260
    rules' URL builders: two thirds of create_app's time. The builder is a pure function of
    the rule's text and parsed parts (when the rule has no defaults), so an identical rule
    gets an identical function; each rule still binds it to itself.
    """
    from importlib.metadata import version

    from werkzeug.routing.rules import Rule

    # A private method: patched only on the werkzeug this was read against (3.1).
    compile_builder = Rule.__dict__.get("_compile_builder")
    if not version("werkzeug").startswith("3.1.") or compile_builder is None \
            or getattr(compile_builder, "reused", False):
        return
    builders: dict = {}

    def _compile_builder(self, append_unknown: bool = True):
        if self.defaults:  # baked into the code through the converters: not shared
            return compile_builder(self, append_unknown)
        key = (append_unknown, self.rule, tuple(self._trace))
        builder = builders.get(key)
        if builder is None:
            builder = builders[key] = compile_builder(self, append_unknown)
        return builder

    _compile_builder.reused = True
    Rule._compile_builder = _compile_builder


_reuse_url_builders()

BASE_CONFIG = {
    "TESTING": True,
    "JOBS_EAGER": True,
    "RATELIMIT_ENABLED": False,
    "SERVER_NAME": None,
    "BASE_URL": "http://support.test",
    "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
}


def pytest_report_header(config) -> str:
    """Say plainly, at the top of every run, whether the browser tests will run."""
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if os.path.exists(chromium):
        return f"browser tests: Chromium at {chromium}"
    return ("browser tests: SKIPPED, Chromium not found (install Debian's chromium; "
            "REQUIRE_BROWSER=1 turns this into a failure)")


def post_spooled(client, path: str, data: dict):
    """A multipart POST whose body the test client spools to a temporary file (over
    500 KB): closed here, as werkzeug's test client leaves it open."""
    from werkzeug.test import EnvironBuilder

    request = EnvironBuilder(path=path, method="POST", data=data,
                             content_type="multipart/form-data").get_request()
    try:
        return client.open(request)
    finally:
        request.environ["wsgi.input"].close()


def unavailable(what: str, error: Exception) -> None:
    """Skip a test whose service is down, or fail it when CI requires services."""
    message = f"{what} unavailable: {error}"
    if REQUIRE_SERVICES:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file with the schema and defaults, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        from tickets.defaults import ensure_defaults

        db.create_all()
        ensure_defaults(timezone="Asia/Shanghai")
        db.session.commit()
        db.engine.dispose()
    return path


@pytest.fixture
def app_config() -> dict:
    """Extra config for the `app` fixture; override in a test module to change it."""
    return {}


def _fresh_g_per_request(application) -> None:
    """Give each request a fresh flask.g, as production does.

    The app fixtures keep one app context open for the whole test, so without this flask.g
    (Flask-Login's loaded user, Flask-WTF's token, Babel's locale) would outlive a request
    and a second client would see the first one's user.
    """
    from flask import g, request_started

    def clear(_sender, **_extra):
        g.__dict__.clear()

    request_started.connect(clear, application, weak=False)


@pytest.fixture
def app(sqlite_template, tmp_path, app_config):
    path = tmp_path / "loopdesk.db"
    shutil.copy(sqlite_template, path)
    application = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                              **app_config})
    _fresh_g_per_request(application)
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# ---- PostgreSQL and Redis ----

def pg_url(database: str = PG_TEST_DB) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"


@pytest.fixture(scope="session")
def pg_database() -> str:
    """A PostgreSQL test database migrated with Alembic once per session."""
    try:
        admin = create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"),
                              isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{PG_TEST_DB}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{PG_TEST_DB}"'))
            # A throw-away database: no test needs a commit to survive a server crash,
            # and not waiting for the WAL flush makes every commit cheaper.
            connection.execute(text(f'ALTER DATABASE "{PG_TEST_DB}" SET synchronous_commit = off'))
        admin.dispose()
    except Exception as error:  # connection refused, auth…
        unavailable("PostgreSQL", error)
    url = pg_url()
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(directory=app.config["MIGRATIONS_DIR"])
        db.engine.dispose()
    return url


def truncate_all(app) -> None:
    """Empty every table (keeping the Alembic version), then restore the defaults.

    The same end state as one `TRUNCATE <every table> RESTART IDENTITY CASCADE` (plus the
    search vocabulary), only cheaper: a test leaves rows in a handful of tiny tables, and
    DELETE on those costs far less than TRUNCATE, which makes new files for ~70 tables and
    their indexes. Sequences a test used are set back to their start, as RESTART IDENTITY
    would. Should the quick way fail, the TRUNCATE runs instead.
    """
    from tickets.defaults import ensure_defaults

    try:
        _empty_tables_quickly()
        db.session.commit()
    except Exception as error:
        # Still isolated, only slower: say so, as a silent fallback would hide a broken plan.
        warnings.warn(f"the quick table reset failed ({error!r}): TRUNCATE instead",
                      stacklevel=2)
        db.session.rollback()
        _truncate_every_table()
        db.session.commit()
    ensure_defaults(timezone="Asia/Shanghai")
    db.session.commit()


def _truncate_every_table() -> None:
    names = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
    db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    # The search vocabulary is the backend's own table (no models, no foreign key).
    db.session.execute(text("TRUNCATE kb_search_terms"))


@dataclass(frozen=True)
class _EmptyingPlan:
    """What TRUNCATE … CASCADE would empty in one database, read once from its catalog."""
    exists_query: str          # names the tables that have a row
    order: tuple[str, ...]     # delete order: referencing tables before referenced ones
    truncate: frozenset[str]   # tables whose triggers refuse DELETE (the audit log)
    sequences: tuple[str, ...]  # the sequences those tables own


_EMPTYING_PLANS: dict[str, _EmptyingPlan] = {}


def _emptying_plan() -> _EmptyingPlan:
    key = db.engine.url.render_as_string(hide_password=False)
    plan = _EMPTYING_PLANS.get(key)
    if plan is not None:
        return plan
    session = db.session
    oids = dict(session.execute(text(
        "SELECT c.relname, c.oid::int FROM pg_class c "
        "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')")).all())
    # Children of a model table come before it (metadata order reversed); the search
    # vocabulary has no foreign keys.
    order = [table.name for table in reversed(db.metadata.sorted_tables)]
    order += [name for name in ("kb_search_terms",) if name in oids]
    missing = [name for name in order if name not in oids]
    if missing:
        raise RuntimeError(f"tables missing from the database: {missing}")
    # What CASCADE reaches besides: tables with a foreign key into the set (kb_search_index),
    # emptied before the tables they reference.
    edges = session.execute(text(
        "SELECT conrelid::int, confrelid::int FROM pg_constraint WHERE contype = 'f' "
        "AND connamespace = current_schema()::regnamespace")).all()
    names = {oid: name for name, oid in oids.items()}
    chosen = set(order)
    added = True
    while added:
        added = False
        for child, parent in edges:
            if names.get(parent) in chosen and names.get(child) not in chosen:
                order.insert(0, names[child])
                chosen.add(names[child])
                added = True
    table_oids = [oids[name] for name in order]
    # Row triggers that fire on DELETE (TRIGGER_TYPE_DELETE): the audit log refuses it.
    truncate = frozenset(session.scalars(text(
        "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE NOT t.tgisinternal AND t.tgrelid = ANY(:oids) AND (t.tgtype & 8) <> 0"),
        {"oids": table_oids}).all())
    # The sequences RESTART IDENTITY restarts: those owned by columns of these tables.
    sequences = tuple(session.scalars(text(
        "SELECT DISTINCT s.relname FROM pg_depend d JOIN pg_class s ON s.oid = d.objid "
        "WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass "
        "AND s.relkind = 'S' AND d.deptype IN ('a', 'i') AND d.refobjid = ANY(:oids)"),
        {"oids": table_oids}).all())
    exists_query = " UNION ALL ".join(
        f"SELECT '{name}' WHERE EXISTS (SELECT FROM \"{name}\")" for name in order)
    plan = _EMPTYING_PLANS[key] = _EmptyingPlan(exists_query, tuple(order), truncate, sequences)
    return plan


def _empty_tables_quickly() -> None:
    plan = _emptying_plan()
    filled = set(db.session.scalars(text(plan.exists_query)).all())
    for name in plan.order:
        if name in filled and name not in plan.truncate:
            db.session.execute(text(f'DELETE FROM "{name}"'))
    if filled & plan.truncate:
        names = ", ".join(f'"{name}"' for name in plan.order if name in filled & plan.truncate)
        db.session.execute(text(f"TRUNCATE {names}"))
    # RESTART IDENTITY: every sequence a test drew from starts again at its start value.
    db.session.execute(text(
        "SELECT setval(s.seqrelid, s.seqstart, false) FROM pg_sequence s "
        "JOIN pg_class c ON c.oid = s.seqrelid "
        "WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY(:names) "
        "AND pg_sequence_last_value(s.seqrelid) IS NOT NULL"),
        {"names": list(plan.sequences)})


@pytest.fixture
def pg_app(pg_database):
    application = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": pg_database})
    _fresh_g_per_request(application)
    with application.app_context():
        truncate_all(application)
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def redis_url():
    """A clean Redis database for the test."""
    from redis import Redis

    try:
        client = Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1)
        client.flushdb()
    except Exception as error:
        unavailable("Redis", error)
    yield TEST_REDIS_URL
    client.flushdb()
    client.close()


# ---- factories ----

@pytest.fixture
def active_app(request):
    """The app factories write to: PostgreSQL when the test uses pg_app (or already pushed
    another app's context), else the per-test SQLite app."""
    from flask import current_app, has_app_context

    if "pg_app" in request.fixturenames:
        return request.getfixturevalue("pg_app")
    if has_app_context():
        return current_app._get_current_object()
    return request.getfixturevalue("app")


_sequence = count(1)


@pytest.fixture
def make_user(active_app):
    """make_user(role="agent", team=None, **fields) → a committed staff user."""
    from service.auth.services import create_user
    from service.directory.services import add_member

    def factory(role: str = "agent", team=None, password: str = "correct horse battery",
                **fields):
        number = next(_sequence)
        user = create_user(fields.pop("email", f"{role}{number}@staff.test"), role, password,
                           fields.pop("name", f"{role.title()} {number}"))
        for key, value in fields.items():
            setattr(user, key, value)
        if team is not None:
            add_member(team, user)
        db.session.commit()
        return user

    return factory


@pytest.fixture
def make_team(active_app):
    from service.directory.models import Team

    def factory(name: str | None = None, lead=None, is_default: bool = False):
        team = Team(name=name or f"Team {next(_sequence)}", lead_id=lead.id if lead else None,
                    is_default=is_default)
        db.session.add(team)
        db.session.commit()
        return team

    return factory


@pytest.fixture
def support_team(active_app):
    """The default team created by ensure_defaults."""
    from sqlalchemy import select

    from service.directory.models import Team

    return db.session.scalar(select(Team).where(Team.is_default.is_(True)))


@pytest.fixture
def auth(active_app):
    """auth(user) → headers with a fresh bearer token for that user."""
    from service.auth.services import issue_token

    def headers(user) -> dict[str, str]:
        token = issue_token(user, name="test")
        db.session.commit()
        return {"Authorization": f"Bearer {token}"}

    return headers


@pytest.fixture
def ticket_body():
    """ticket_body(**overrides) → a valid POST /api/v1/tickets body."""

    def body(**overrides):
        data = {"subject": "Printer on fire", "description": "It is on fire. Please help.",
                "customer": {"email": f"customer{next(_sequence)}@example.com",
                             "name": "Casey Customer"}}
        data.update(overrides)
        return data

    return body


@pytest.fixture
def make_ticket(active_app):
    """make_ticket(**intake fields) → a ticket made through the intake service."""
    from tickets import intake
    from tickets.models import Channel

    def factory(**overrides):
        fields = {"subject": "Something broke", "description": "Details here.",
                  "customer_email": f"c{next(_sequence)}@example.com", "channel": Channel.API}
        fields.update(overrides)
        return intake.submit(intake.IntakeRequest(**fields)).ticket

    return factory


@pytest.fixture
def console_login(active_app):
    """console_login(client, user) → that test client signed in to the console as user.

    Starts a real staff session (as the sign-in page does) without going through the
    form, so page tests need not repeat the sign-in. The client gets `csrf_token`, a
    valid token for its forms: post `data={"csrf_token": client.csrf_token, ...}`.
    """
    import secrets
    import time

    from flask import current_app
    from itsdangerous import URLSafeTimedSerializer

    from service.auth.sessions import SEEN_KEY, SESSION_KEY, start_session

    def sign_in(client, user):
        raw = start_session(user, ip="127.0.0.1", user_agent="pytest")
        db.session.commit()
        csrf_raw = secrets.token_hex(20)
        with client.session_transaction() as session:
            session[SESSION_KEY] = raw
            session[SEEN_KEY] = int(time.time())
            session["_user_id"] = str(user.id)
            session["_fresh"] = True
            session["csrf_token"] = csrf_raw
        # What Flask-WTF's generate_csrf() would put in a form for this session.
        client.csrf_token = URLSafeTimedSerializer(
            current_app.config["SECRET_KEY"], salt="wtf-csrf-token").dumps(csrf_raw)
        return client

    return sign_in
