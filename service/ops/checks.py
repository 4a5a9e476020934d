"""`flask --app wsgi check`: configuration and dependency checks an operator runs after a
deploy (and a pipeline runs before switching traffic).

Each check is a small function taking the app and returning a `Result`; none changes
anything (no mail is sent, no row written). `run_checks` runs them in order and skips the
ones whose dependency (the database, Redis) already failed, so one outage reads as one FAIL.
"""
from __future__ import annotations

import json
import smtplib
import ssl
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import text
from sqlalchemy.engine import make_url

from service.extensions import db

DEFAULT_BASE_URL = "http://127.0.0.1:5000"
WORKER_SEEN_WITHIN = timedelta(minutes=10)  # rq's worker TTL is 7 min; a live one beats sooner
REINDEX = "`flask --app wsgi kb reindex`"
SHORT_SECRET = 32  # characters; `secrets.token_hex(32)` gives 64


class Status(StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"
    SKIP = "SKIP"  # not checked because a check it depends on failed


@dataclass(frozen=True)
class Result:
    """One check's outcome: what was found, and how to fix it when it is not OK."""

    name: str
    status: Status
    detail: str
    fix: str = ""


def _timeout(app: Flask) -> float:
    return float(app.config.get("CHECK_TIMEOUT_SECONDS", 5))


def _backend(app: Flask) -> str:
    return make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name()


def _production(app: Flask) -> bool:
    """PostgreSQL is how production runs; SQLite is the embedded (single-process) mode."""
    return _backend(app) == "postgresql"


def _safe_redis_url(url: str) -> str:
    """The URL without its password, for output."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _redis(app: Flask):
    from redis import Redis

    timeout = _timeout(app)
    return Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=timeout,
                          socket_timeout=timeout)


# ---- the checks ----

def check_database(app: Flask) -> Result:
    """The database answers a query."""
    where = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).render_as_string(hide_password=True)
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as error:  # any driver error: refused, auth, missing file
        db.session.rollback()
        return Result("database", Status.FAIL, f"{where} does not answer: {_reason(error)}",
                      "check DATABASE_URL and that the server is up and accepts this user")
    return Result("database", Status.OK, f"{where} answers")


def check_migrations(app: Flask) -> Result:
    """The database's Alembic revision is the migration scripts' head."""
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", app.config["MIGRATIONS_DIR"])
    script = ScriptDirectory.from_config(config)
    heads = set(script.get_heads())
    # The session's connection: a second one would wait on SQLite's write lock.
    current = set(MigrationContext.configure(db.session.connection()).get_current_heads())
    shown_heads = ", ".join(sorted(heads))
    if current == heads:
        return Result("migrations", Status.OK, f"at the head revision {shown_heads}")
    if not current:
        return Result("migrations", Status.FAIL,
                      "the database has no migration revision (never migrated)",
                      "run `flask --app wsgi setup` (migrations and defaults)")
    unknown = sorted(revision for revision in current if not _known(script, revision))
    if unknown:
        return Result("migrations", Status.FAIL,
                      f"the database is at {', '.join(unknown)}, which these migration "
                      "scripts do not know (newer code migrated it)",
                      "deploy the code that matches the database, or downgrade with that code")
    pending = list(script.iterate_revisions(list(heads), list(current)))
    return Result("migrations", Status.FAIL,
                  f"{len(pending)} migration(s) pending: the database is at "
                  f"{', '.join(sorted(current))}, the code's head is {shown_heads}",
                  "run `flask --app wsgi db upgrade` before (re)starting web and worker "
                  "processes")


def _known(script, revision: str) -> bool:
    from alembic.util import CommandError

    try:
        return script.get_revision(revision) is not None
    except CommandError:  # alembic raises for a revision it has no script for
        return False


def check_secret_key(app: Flask) -> Result:
    """SECRET_KEY comes from the environment in production, and is long enough."""
    key = app.config.get("SECRET_KEY") or ""
    key_file = Path(app.instance_path) / "secret_key"
    generated = key_file.exists() and key_file.read_text().strip() == key
    if not _production(app):
        source = "generated into instance/secret_key" if generated else "set"
        return Result("secret_key", Status.OK, f"{source} (embedded mode)")
    if generated:
        return Result("secret_key", Status.WARN,
                      "generated into instance/secret_key on this host: other hosts generate "
                      "their own, so sessions, CSRF tokens and portal links break across them",
                      "set the same SECRET_KEY in the environment of every web and worker "
                      "process (`python -c 'import secrets; print(secrets.token_hex(32))'`)")
    if len(key) < SHORT_SECRET:
        return Result("secret_key", Status.WARN,
                      f"only {len(key)} characters long",
                      "use at least 32 random characters (`secrets.token_hex(32)`)")
    return Result("secret_key", Status.OK, "set from the environment")


def check_redis(app: Flask) -> Result:
    """REDIS_URL is set in production and Redis answers."""
    url = app.config.get("REDIS_URL")
    if not url:
        if _production(app):
            return Result("redis", Status.WARN,
                          "REDIS_URL is not set: embedded jobs, run on threads inside each "
                          "web process, and rate limits are counted per process",
                          "set REDIS_URL and run `rq worker` processes (docs/operations.md)")
        return Result("redis", Status.OK, "not set: embedded jobs (embedded mode)")
    client = _redis(app)
    try:
        version = client.info("server").get("redis_version", "?")
    except Exception as error:
        return Result("redis", Status.FAIL,
                      f"{_safe_redis_url(url)} does not answer: {_reason(error)}",
                      "check REDIS_URL and that Redis is up; jobs wait in the job_outbox "
                      "table meanwhile")
    finally:
        client.close()
    return Result("redis", Status.OK, f"{_safe_redis_url(url)} answers (Redis {version})")


def check_workers(app: Flask) -> Result:
    """An rq worker was seen recently on every queue, and one runs the scheduler."""
    if not app.config.get("REDIS_URL"):
        return Result("workers", Status.OK, "no Redis: jobs run in-process")
    from rq import Worker
    from rq.scheduler import RQScheduler

    from service.jobs import QUEUES

    client = _redis(app)
    try:
        now = datetime.now(UTC)
        live = [worker for worker in Worker.all(connection=client)
                if worker.last_heartbeat and now - _aware(worker.last_heartbeat)
                <= WORKER_SEEN_WITHIN]
        scheduled = [name for name in QUEUES
                     if client.exists(RQScheduler.get_locking_key(name))]
    finally:
        client.close()
    fix = ('start `rq worker --with-scheduler -u "$REDIS_URL" mail default sweeps webhooks` '
           "(one) and more workers without --with-scheduler")
    if not live:
        return Result("workers", Status.WARN,
                      "no rq worker seen in the last 10 minutes: jobs queue up and nothing "
                      "runs them", fix)
    served = {name for worker in live for name in worker.queue_names()}
    unserved = [name for name in QUEUES if name not in served]
    if unserved:
        return Result("workers", Status.WARN,
                      f"{len(live)} worker(s), none listening on {', '.join(unserved)}", fix)
    unscheduled = [name for name in QUEUES if name not in scheduled]
    if unscheduled:
        return Result("workers", Status.WARN,
                      f"{len(live)} worker(s), but no scheduler for {', '.join(unscheduled)}: "
                      "retries with backoff never run",
                      "run one of the workers with `--with-scheduler`")
    return Result("workers", Status.OK,
                  f"{len(live)} worker(s) on {', '.join(QUEUES)}, with a scheduler")


def check_smtp(app: Flask) -> Result:
    """MAIL_SERVER is set and answers EHLO (with STARTTLS or TLS as configured); sends nothing."""
    config = app.config
    host = config.get("MAIL_SERVER")
    if not host:
        return Result("smtp", Status.WARN,
                      "MAIL_SERVER is not set: mail is only kept (outbound_mail), never sent",
                      "set MAIL_SERVER, MAIL_PORT and MAIL_USE_TLS or MAIL_USE_SSL (and "
                      "MAIL_USERNAME, MAIL_PASSWORD)")
    port = int(config.get("MAIL_PORT") or 25)
    use_ssl, use_tls = bool(config.get("MAIL_USE_SSL")), bool(config.get("MAIL_USE_TLS"))
    mode = "TLS" if use_ssl else "STARTTLS" if use_tls else "plain"
    where = f"{host}:{port} ({mode})"
    try:
        features = _ehlo(host, port, use_ssl=use_ssl, use_tls=use_tls, timeout=_timeout(app))
    except ssl.SSLCertVerificationError as error:
        return Result("smtp", Status.FAIL,
                      f"{where}: the certificate is not trusted: {error.verify_message}",
                      "use the host name the certificate names, or add its CA to the system "
                      "store (SSL_CERT_FILE)")
    except smtplib.SMTPNotSupportedError:
        return Result("smtp", Status.FAIL, f"{where}: the server does not offer STARTTLS",
                      "use the submission port with STARTTLS (587) or MAIL_USE_SSL (465)")
    except (OSError, smtplib.SMTPException) as error:
        return Result("smtp", Status.FAIL, f"{where} does not answer: {_reason(error)}",
                      "check MAIL_SERVER, MAIL_PORT and MAIL_USE_TLS/MAIL_USE_SSL, and that "
                      "this host may reach the server")
    if config.get("MAIL_USERNAME"):
        if mode == "plain":
            return Result("smtp", Status.WARN,
                          f"{where} answers, but MAIL_PASSWORD would travel unencrypted",
                          "set MAIL_USE_TLS (587) or MAIL_USE_SSL (465)")
        if "auth" not in features:
            return Result("smtp", Status.WARN,
                          f"{where} answers but offers no AUTH, and MAIL_USERNAME is set",
                          "check the port: submission (587/465) usually offers AUTH")
    if use_ssl and use_tls:
        return Result("smtp", Status.WARN,
                      f"{where} answers; MAIL_USE_TLS and MAIL_USE_SSL are both set (TLS used)",
                      "set only one of them")
    return Result("smtp", Status.OK, f"{where} answers EHLO")


def _ehlo(host: str, port: int, *, use_ssl: bool, use_tls: bool,
          timeout: float) -> dict[str, str]:
    """Connect, greet, upgrade to TLS if asked, and leave; returns the EHLO features."""
    context = ssl.create_default_context()
    if use_ssl:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    with smtp:
        smtp.ehlo()
        if use_tls and not use_ssl:
            smtp.starttls(context=context)
            smtp.ehlo()
        return dict(smtp.esmtp_features)


def check_base_url(app: Flask) -> Result:
    """BASE_URL is set to the public https address in production."""
    base_url = app.config.get("BASE_URL") or ""
    if not _production(app):
        return Result("base_url", Status.OK, f"{base_url} (embedded mode)")
    if base_url.rstrip("/") == DEFAULT_BASE_URL:
        return Result("base_url", Status.WARN,
                      f"still the default {DEFAULT_BASE_URL}: links in mail point nowhere",
                      "set BASE_URL to the public address, e.g. https://support.example.com")
    if urlsplit(base_url).scheme != "https":
        return Result("base_url", Status.WARN,
                      f"{base_url} is not https: sign-in and survey links travel in clear",
                      "serve over TLS and set BASE_URL to the https:// address")
    return Result("base_url", Status.OK, base_url)


def check_mixed_mode(app: Flask) -> Result:
    """SQLite is not combined with REDIS_URL (workers would share one SQLite file)."""
    if _backend(app) == "sqlite" and app.config.get("REDIS_URL"):
        return Result("mixed_mode", Status.WARN,
                      "SQLite with REDIS_URL set: rq workers write the same SQLite file as "
                      "the web process (locks, and only on this host)",
                      "use PostgreSQL (DATABASE_URL) with Redis, or unset REDIS_URL")
    return Result("mixed_mode", Status.OK,
                  "PostgreSQL" if _production(app) else "SQLite without Redis (embedded)")


def check_search_index(app: Flask) -> Result:
    """The knowledge-base search tables exist, work, and hold every article."""
    if _backend(app) == "postgresql":
        has_trgm = db.session.scalar(text(
            "SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'"))
        has_index = db.session.scalar(text("SELECT to_regclass('kb_search_index') IS NOT NULL"))
        if not has_trgm or not has_index:
            return Result("search_index", Status.FAIL,
                          "the pg_trgm extension or the kb_search_index table is missing",
                          "install PostgreSQL's contrib package, then `flask --app wsgi db "
                          "upgrade` as a user allowed to CREATE EXTENSION, then " + REINDEX)
        index_table, key = "kb_search_index", "article_id"
    else:
        try:
            db.session.execute(text("SELECT rowid FROM kb_search_fts LIMIT 1")).all()
        except Exception as error:  # no table, or this SQLite lacks FTS5 / trigram
            db.session.rollback()
            import sqlite3

            return Result("search_index", Status.FAIL,
                          f"the FTS5 trigram index does not work: {_reason(error)}",
                          f"use SQLite 3.34 or newer with FTS5 (this is "
                          f"{sqlite3.sqlite_version}), then {REINDEX}")
        index_table, key = "kb_search_fts", "rowid"
    missing = db.session.scalar(text(
        f"SELECT count(*) FROM kb_articles a WHERE NOT EXISTS "
        f"(SELECT 1 FROM {index_table} i WHERE i.{key} = a.id)"))
    stale = db.session.scalar(text(
        f"SELECT count(*) FROM {index_table} i WHERE NOT EXISTS "
        f"(SELECT 1 FROM kb_articles a WHERE a.id = i.{key})"))
    articles = db.session.scalar(text("SELECT count(*) FROM kb_articles"))
    if missing or stale:
        return Result("search_index", Status.WARN,
                      f"out of step: {missing} of {articles} articles not indexed, "
                      f"{stale} index rows without an article", f"run {REINDEX}")
    return Result("search_index", Status.OK, f"{articles} article(s), all indexed")


def check_timezone(app: Flask) -> Result:
    """TIMEZONE names a zone this host's tz database knows."""
    name = app.config.get("TIMEZONE") or ""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return Result("timezone", Status.FAIL, f"TIMEZONE {name!r} is not a known time zone",
                      "use an IANA name such as Asia/Shanghai or Europe/Berlin (and install "
                      "the tzdata package)")
    return Result("timezone", Status.OK, name)


def check_failed_jobs(app: Flask) -> Result:
    """No job has exhausted its retries (RQ's failed registries and the outbox)."""
    from service.jobs import QUEUES, JobOutbox

    outbox = db.session.scalar(db.select(db.func.count()).select_from(JobOutbox)
                               .where(JobOutbox.status == "failed")) or 0
    rq_failed, unread = 0, ""
    if app.config.get("REDIS_URL"):
        from rq import Queue
        from rq.registry import FailedJobRegistry

        client = _redis(app)
        try:
            rq_failed = sum(FailedJobRegistry(queue=Queue(name, connection=client)).count
                            for name in QUEUES)
        except Exception as error:
            unread = f" (RQ's failed registry not read: {_reason(error)})"
        finally:
            client.close()
    total = outbox + rq_failed
    if total:
        return Result("failed_jobs", Status.WARN, f"{total} failed job(s){unread}",
                      "see Administration → Failed jobs (GET /api/v1/admin/jobs/failed): "
                      "fix the cause, then retry or discard each")
    return Result("failed_jobs", Status.OK if not unread else Status.WARN,
                  f"none{unread}")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _reason(error: BaseException) -> str:
    """A one-line reason (drivers put the SQL and a help link on further lines)."""
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {message}"[:300] if message else type(error).__name__


@dataclass(frozen=True)
class Check:
    """A check and the checks that must have passed for it to mean anything."""

    name: str
    run: Callable[[Flask], Result]
    needs: tuple[str, ...] = ()


CHECKS: tuple[Check, ...] = (
    Check("database", check_database),
    Check("migrations", check_migrations, ("database",)),
    Check("secret_key", check_secret_key),
    Check("redis", check_redis),
    Check("workers", check_workers, ("redis",)),
    Check("smtp", check_smtp),
    Check("base_url", check_base_url),
    Check("mixed_mode", check_mixed_mode),
    Check("search_index", check_search_index, ("database", "migrations")),
    Check("timezone", check_timezone),
    Check("failed_jobs", check_failed_jobs, ("database", "migrations")),
)


def run_checks(app: Flask) -> list[Result]:
    """Every check's result, in order; a check whose dependency failed is skipped."""
    results: dict[str, Result] = {}
    for check in CHECKS:
        failed = [need for need in check.needs if results[need].status is Status.FAIL]
        if failed:
            result = Result(check.name, Status.SKIP,
                            f"not checked: the {', '.join(failed)} check failed")
        else:
            try:
                result = check.run(app)
            except Exception as error:  # a check must never hide the others
                result = Result(check.name, Status.FAIL, f"the check broke: {_reason(error)}")
            finally:
                db.session.rollback()  # the checks only read; end each one's transaction
        results[check.name] = result
    return list(results.values())


def format_line(result: Result) -> str:
    """One line for the terminal: status, name, what was found, how to fix it."""
    line = f"{result.status.value:<4} {result.name}: {result.detail}"
    return f"{line}. Fix: {result.fix}" if result.fix else line


@click.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the results as a JSON list.")
@with_appcontext
def check_command(as_json: bool) -> None:
    """Check configuration and dependencies; exits 1 when any check FAILs."""
    results = run_checks(current_app._get_current_object())
    if as_json:
        click.echo(json.dumps([asdict(result) for result in results], ensure_ascii=False,
                              indent=2))
    else:
        for result in results:
            click.echo(format_line(result))
        counts = {status: sum(r.status is status for r in results) for status in Status}
        click.echo(", ".join(f"{count} {status.value}" for status, count in counts.items()
                             if count))
    if any(result.status is Status.FAIL for result in results):
        click.get_current_context().exit(1)
