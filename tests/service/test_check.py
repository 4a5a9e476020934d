"""`flask check`: each check's OK and problem path over real parts (SQLite, PostgreSQL,
Redis, an aiosmtpd server), and the command's output and exit code."""
from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text

from service import create_app
from service.extensions import db
from service.jobs import QUEUES, JobOutbox
from service.ops import checks
from service.ops.checks import Status
from tests.conftest import BASE_CONFIG, PG_ADMIN_URL, PG_TEST_DB, pg_url, unavailable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stamp_head(app) -> None:
    """Record the head revision in a database built by create_all (the SQLite fixture)."""
    from flask_migrate import stamp

    db.session.commit()
    stamp(directory=app.config["MIGRATIONS_DIR"], revision="head")


@pytest.fixture
def other_app():
    """other_app(**config) → a second app, its context pushed for the rest of the test."""
    contexts = []

    def factory(**config):
        application = create_app({**BASE_CONFIG, **config})
        context = application.app_context()
        context.push()
        contexts.append(context)
        return application

    yield factory
    for context in reversed(contexts):
        db.session.remove()
        db.engine.dispose()
        context.pop()


@pytest.fixture
def production_app(other_app):
    """An app configured for PostgreSQL, for the checks that only read configuration."""
    return other_app(SQLALCHEMY_DATABASE_URI=pg_url())


# ---- database and migrations ----

def test_database_answers(app):
    result = checks.check_database(app)
    assert result.status is Status.OK and "answers" in result.detail


@pytest.mark.parametrize("uri", ["sqlite:////nonexistent/dir/loopdesk.db",
                                 "postgresql+psycopg://loopdesk:hunter2@127.0.0.1:{port}/x"])
def test_database_unreachable_fails_without_showing_the_password(other_app, uri):
    application = other_app(SQLALCHEMY_DATABASE_URI=uri.format(port=free_port()))
    result = checks.check_database(application)
    assert result.status is Status.FAIL and "does not answer" in result.detail
    assert "hunter2" not in result.detail and "DATABASE_URL" in result.fix
    # The migrations (and what needs tables) are skipped, not reported as more failures.
    by_name = {r.name: r for r in checks.run_checks(application)}
    assert by_name["migrations"].status is Status.SKIP
    assert by_name["search_index"].status is Status.SKIP


def test_migrations_never_run_then_at_head_then_unknown(app):
    result = checks.check_migrations(app)  # the fixture's schema comes from create_all
    assert result.status is Status.FAIL and "never migrated" in result.detail
    assert "flask --app wsgi setup" in result.fix
    stamp_head(app)
    result = checks.check_migrations(app)
    assert result.status is Status.OK and "0014" in result.detail
    db.session.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    db.session.commit()
    result = checks.check_migrations(app)
    assert result.status is Status.FAIL and "9999" in result.detail
    assert "do not know" in result.detail


def test_migrations_at_head_on_postgresql(pg_app):
    assert checks.check_migrations(pg_app).status is Status.OK


@pytest.fixture
def behind_database(pg_database):
    """A fresh, empty PostgreSQL database (dropped afterwards)."""
    name = f"{PG_TEST_DB}_behind"
    admin = create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"),
                          isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:
        unavailable("PostgreSQL", error)
    yield pg_url(name)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_migrations_behind_fail_on_postgresql(behind_database, other_app):
    from flask_migrate import upgrade

    application = other_app(SQLALCHEMY_DATABASE_URI=behind_database)
    upgrade(directory=application.config["MIGRATIONS_DIR"], revision="0001")
    result = checks.check_migrations(application)
    assert result.status is Status.FAIL
    assert "13 migration(s) pending" in result.detail
    assert "at 0001" in result.detail and "head is 0014" in result.detail
    assert "flask --app wsgi db upgrade" in result.fix


# ---- secret key, base URL, mixed mode, time zone ----

def test_secret_key_generated_is_fine_embedded_but_warns_in_production(app, production_app,
                                                                      tmp_path):
    pg_app = production_app
    for application in (app, pg_app):
        application.instance_path = str(tmp_path)
        (tmp_path / "secret_key").write_text(application.config["SECRET_KEY"] + "\n")
    assert checks.check_secret_key(app).status is Status.OK
    result = checks.check_secret_key(pg_app)
    assert result.status is Status.WARN and "instance/secret_key" in result.detail
    assert "SECRET_KEY" in result.fix
    (tmp_path / "secret_key").unlink()
    result = checks.check_secret_key(pg_app)
    assert (result.status, result.detail) == (Status.OK, "set from the environment")
    pg_app.config["SECRET_KEY"] = "short"
    result = checks.check_secret_key(pg_app)
    assert result.status is Status.WARN and "5 characters" in result.detail


def test_base_url_in_production(app, production_app):
    pg_app = production_app
    assert checks.check_base_url(app).status is Status.OK  # embedded: anything goes
    for url, status in (("http://127.0.0.1:5000", Status.WARN),
                        ("http://support.example.com", Status.WARN),
                        ("https://support.example.com", Status.OK)):
        pg_app.config["BASE_URL"] = url
        assert checks.check_base_url(pg_app).status is status, url
    pg_app.config["BASE_URL"] = "http://127.0.0.1:5000"
    assert "default" in checks.check_base_url(pg_app).detail


def test_mixed_mode(app, production_app):
    assert checks.check_mixed_mode(app).status is Status.OK
    app.config["REDIS_URL"] = "redis://127.0.0.1:6379/6"
    result = checks.check_mixed_mode(app)
    assert result.status is Status.WARN and "SQLite with REDIS_URL" in result.detail
    production_app.config["REDIS_URL"] = "redis://127.0.0.1:6379/6"
    assert checks.check_mixed_mode(production_app).status is Status.OK


@pytest.mark.parametrize("name, status", [("Asia/Shanghai", Status.OK),
                                          ("Europe/Berlin", Status.OK),
                                          ("Mars/Olympus", Status.FAIL),
                                          ("../../etc/passwd", Status.FAIL),
                                          ("", Status.FAIL)])
def test_timezone(app, name, status):
    app.config["TIMEZONE"] = name
    assert checks.check_timezone(app).status is status


# ---- Redis and workers ----

def test_redis_unset(app, production_app):
    assert checks.check_redis(app).status is Status.OK
    result = checks.check_redis(production_app)
    assert result.status is Status.WARN and "embedded jobs" in result.detail


def test_redis_reachable(app, redis_url):
    app.config["REDIS_URL"] = redis_url
    result = checks.check_redis(app)
    assert result.status is Status.OK and "answers (Redis " in result.detail


def test_redis_unreachable_fails_without_showing_the_password(app):
    app.config["REDIS_URL"] = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    result = checks.check_redis(app)
    assert result.status is Status.FAIL and "does not answer" in result.detail
    assert "hunter2" not in result.detail and ":***@127.0.0.1" in result.detail
    by_name = {r.name: r for r in checks.run_checks(app)}
    assert by_name["workers"].status is Status.SKIP


def test_workers_seen_listening_and_scheduling(app, redis_url):
    from redis import Redis
    from rq import Worker

    app.config["REDIS_URL"] = redis_url
    assert checks.check_workers(app).status is Status.WARN  # none at all
    connection = Redis.from_url(redis_url)
    try:
        partial = Worker(["default"], connection=connection)
        partial.register_birth()
        result = checks.check_workers(app)
        assert result.status is Status.WARN and "none listening on mail" in result.detail
        full = Worker(list(QUEUES), connection=connection)
        full.register_birth()
        result = checks.check_workers(app)
        assert result.status is Status.WARN and "no scheduler" in result.detail
        assert "--with-scheduler" in result.fix
        # What a worker started with --with-scheduler holds while it runs (rq's own key).
        from rq.scheduler import RQScheduler

        for name in QUEUES:
            connection.set(RQScheduler.get_locking_key(name), full.name, ex=60)
        result = checks.check_workers(app)
        assert result.status is Status.OK and "2 worker(s)" in result.detail
        # A worker whose heartbeat stopped long ago no longer counts.
        old = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        for worker in (partial, full):
            connection.hset(worker.key, "last_heartbeat", old)
        result = checks.check_workers(app)
        assert result.status is Status.WARN and "no rq worker seen" in result.detail
    finally:
        connection.close()


def test_workers_not_needed_without_redis(app):
    assert checks.check_workers(app).status is Status.OK


# ---- SMTP ----

class Collector:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook)
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server():
    """smtp_server(**controller options) → (collector, port) of a started aiosmtpd."""
    controllers = []

    def start(hostname: str = "127.0.0.1", **options):
        collector = Collector()
        controller = Controller(collector, hostname=hostname, port=free_port(), **options)
        controller.start()
        controllers.append(controller)
        return collector, controller.port

    yield start
    for controller in controllers:
        controller.stop()


def test_smtp_unset_warns(app):
    result = checks.check_smtp(app)
    assert result.status is Status.WARN and "MAIL_SERVER is not set" in result.detail


def test_smtp_answers_and_nothing_is_sent(app, smtp_server):
    collector, port = smtp_server()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    result = checks.check_smtp(app)
    assert result.status is Status.OK and f"127.0.0.1:{port} (plain)" in result.detail
    assert collector.envelopes == []
    app.config["MAIL_USERNAME"] = "mailer"  # a password over a plain connection
    result = checks.check_smtp(app)
    assert result.status is Status.WARN and "unencrypted" in result.detail


def test_smtp_unreachable_fails(app):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())
    result = checks.check_smtp(app)
    assert result.status is Status.FAIL and "does not answer" in result.detail
    assert "MAIL_PORT" in result.fix


def test_smtp_starttls_asked_of_a_server_without_it(app, smtp_server):
    _collector, port = smtp_server()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=True)
    result = checks.check_smtp(app)
    assert result.status is Status.FAIL and "STARTTLS" in result.detail


@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_smtp_certificate_is_checked(app, smtp_server, tmp_path, monkeypatch, mode):
    from tests.tls import self_signed_server_context

    context = self_signed_server_context(tmp_path, "localhost")
    options = ({"tls_context": context, "require_starttls": True} if mode == "starttls"
               else {"ssl_context": context})
    collector, port = smtp_server("localhost", **options)
    app.config.update(MAIL_SERVER="localhost", MAIL_PORT=port,
                      MAIL_USE_TLS=mode == "starttls", MAIL_USE_SSL=mode == "tls")
    result = checks.check_smtp(app)
    assert result.status is Status.FAIL and "certificate is not trusted" in result.detail
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))
    result = checks.check_smtp(app)
    assert result.status is Status.OK, result
    assert ("STARTTLS" if mode == "starttls" else "(TLS)") in result.detail
    if mode == "tls":  # aiosmtpd offers AUTH only after STARTTLS, not over implicit TLS
        app.config["MAIL_USERNAME"] = "mailer"
        result = checks.check_smtp(app)
        assert result.status is Status.WARN and "no AUTH" in result.detail
    assert collector.envelopes == []


# ---- knowledge-base search index ----

def _article(user):
    from knowledge_base.articles import create_article

    article = create_article(user, {"title": "Reset your password", "language": "en",
                                    "audience": "public", "body": "Open **Settings**."})
    db.session.commit()
    return article


@pytest.mark.parametrize("database", ["app", "pg_app"])
def test_search_index_in_step_then_out_of_step(request, database):
    application = request.getfixturevalue(database)
    article = _article(request.getfixturevalue("make_user")("admin"))
    result = checks.check_search_index(application)
    assert (result.status, result.detail) == (Status.OK, "1 article(s), all indexed")
    table, key = (("kb_search_index", "article_id") if database == "pg_app"
                  else ("kb_search_fts", "rowid"))
    db.session.execute(text(f"DELETE FROM {table} WHERE {key} = :id"), {"id": article.id})
    db.session.commit()
    result = checks.check_search_index(application)
    assert result.status is Status.WARN and "1 of 1 articles not indexed" in result.detail
    assert "flask --app wsgi kb reindex" in result.fix
    from knowledge_base.search import reindex_all

    reindex_all()
    db.session.commit()
    assert checks.check_search_index(application).status is Status.OK


def test_search_index_missing_fails_on_sqlite(app):
    db.session.execute(text("DROP TABLE kb_search_fts"))
    db.session.commit()
    result = checks.check_search_index(app)
    assert result.status is Status.FAIL and "FTS5 trigram" in result.detail


def test_search_index_needs_pg_trgm(pg_app):
    assert checks.check_search_index(pg_app).status is Status.OK
    # A database restored without the extension (the index's trigram column goes with it).
    db.session.execute(text("DROP EXTENSION pg_trgm CASCADE"))
    try:
        result = checks.check_search_index(pg_app)
        assert result.status is Status.FAIL and "pg_trgm" in result.detail
    finally:
        db.session.rollback()  # the shared database keeps its extension


# ---- failed jobs ----

def test_failed_jobs_from_the_outbox(app):
    assert checks.check_failed_jobs(app).status is Status.OK
    now = datetime.now(UTC)
    db.session.add(JobOutbox(func="service.x.job", args=[1], queue="mail", attempts=5,
                             status="failed", next_attempt_at=now, created_at=now))
    db.session.commit()
    result = checks.check_failed_jobs(app)
    assert result.status is Status.WARN and "1 failed job(s)" in result.detail


def test_failed_jobs_from_rq(app, redis_url):
    from redis import Redis
    from rq import Queue
    from rq.registry import FailedJobRegistry

    app.config["REDIS_URL"] = redis_url
    assert checks.check_failed_jobs(app).status is Status.OK
    connection = Redis.from_url(redis_url)
    try:
        queue = Queue("webhooks", connection=connection)
        failed = queue.enqueue("builtins.print", "x")
        FailedJobRegistry(queue=queue).add(failed, exc_string="boom")
    finally:
        connection.close()
    result = checks.check_failed_jobs(app)
    assert result.status is Status.WARN and "1 failed job(s)" in result.detail
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    result = checks.check_failed_jobs(app)
    assert result.status is Status.WARN and "not read" in result.detail


# ---- the command ----

@pytest.fixture
def check_runner(app):
    app.cli.add_command(checks.check_command)
    return app.test_cli_runner()


def test_command_prints_one_line_per_check_and_exits_0(app, check_runner):
    stamp_head(app)
    result = check_runner.invoke(args=["check"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert [line.split()[1].rstrip(":") for line in lines[:-1]] == [
        check.name for check in checks.CHECKS]
    assert "WARN smtp: MAIL_SERVER is not set" in result.output
    assert "Fix: set MAIL_SERVER" in result.output
    assert lines[-1] == "10 OK, 1 WARN"


def test_command_exits_1_on_a_failure(app, check_runner):
    stamp_head(app)
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())
    result = check_runner.invoke(args=["check"])
    assert result.exit_code == 1
    assert "FAIL smtp: 127.0.0.1" in result.output


def test_command_json(app, check_runner):
    result = check_runner.invoke(args=["check", "--json"])
    assert result.exit_code == 1  # the fixture's database was never migrated
    items = json.loads(result.output)
    assert [item["name"] for item in items] == [check.name for check in checks.CHECKS]
    assert set(items[0]) == {"name", "status", "detail", "fix"}
    by_name = {item["name"]: item for item in items}
    assert by_name["migrations"]["status"] == "FAIL"
    assert by_name["search_index"]["status"] == "SKIP"
    assert by_name["database"]["status"] == "OK"
