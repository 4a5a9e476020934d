"""Real services for the integration tests: an SMTP sink, Redis servers, RQ workers.

Nothing here mocks the database, the queue or SMTP: the app talks to PostgreSQL and
Redis over real connections and RQ workers run as subprocesses, as in production.
"""
from __future__ import annotations

import email
import email.policy
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Callable, Iterator

import pytest

from service import create_app
from service.extensions import db
from tests.conftest import BASE_CONFIG, truncate_all, unavailable

ROOT = Path(__file__).resolve().parents[2]
RQ_BIN = str(Path(sys.executable).with_name("rq"))
BASE_URL = "http://support.test"
WORKER_QUEUES = ("mail", "default", "sweeps")


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], object], timeout: float, interval: float = 0.05,
               message: str | Callable[[], str] = "condition"):
    """Poll `condition()` until it returns something truthy; fail after `timeout` seconds.

    `message` may be a callable, evaluated only on failure (e.g. to read a log then).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            text = message() if callable(message) else message
            pytest.fail(f"timed out after {timeout}s waiting for {text}")
        time.sleep(interval)


# ---- SMTP ----

@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        """The plain-text part (our mails carry text and HTML alternatives)."""
        return self.message.get_body(("plain",)).get_content()


@dataclass
class SmtpSink:
    """An aiosmtpd server on 127.0.0.1 that keeps every message it accepts."""
    host: str
    port: int
    mails: list[ReceivedMail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.mails.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[ReceivedMail]:
        with self.lock:
            return [mail for mail in self.mails if address in mail.rcpt_tos]


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    from aiosmtpd.controller import Controller

    sink = SmtpSink("127.0.0.1", free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port, ready_timeout=10)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


# ---- Redis servers of our own (for outages) ----

class RedisServer:
    """A throw-away redis-server subprocess that a test may stop and start again."""

    def __init__(self, port: int, workdir: Path):
        self.port = port
        self.workdir = workdir
        self.process: subprocess.Popen | None = None
        self.log = workdir / f"redis-{port}.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.process is None, "already running"
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_until(self._answers, timeout=10, message=lambda: f"redis-server on {self.port}: "
                   + self.log.read_text(errors="replace")[-2000:])

    def _answers(self) -> bool:
        from redis import Redis
        from redis.exceptions import ConnectionError as RedisConnectionError

        if self.process is not None and self.process.poll() is not None:
            pytest.fail(f"redis-server exited: {self.log.read_text(errors='replace')[-2000:]}")
        client = Redis(port=self.port, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except RedisConnectionError:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is None:
            return
        process, self.process = self.process, None
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        unavailable("redis-server", FileNotFoundError("redis-server is not on PATH"))
    server = RedisServer(free_port(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# ---- the app wired to Redis, PostgreSQL and the SMTP sink, plus RQ workers ----

@contextmanager
def pushed_app(config: dict) -> Iterator:
    """An app with `config`, its context pushed and the PostgreSQL tables emptied."""
    app = create_app({**BASE_CONFIG, **config})
    context = app.app_context()
    context.push()
    try:
        truncate_all(app)
        yield app
    finally:
        db.session.remove()
        client = app.extensions.pop("loopdesk_redis", None)
        if client is not None:
            client.close()
        db.engine.dispose()
        context.pop()


@dataclass
class RqStack:
    """The test's app plus what an RQ worker subprocess needs to join it."""
    app: object
    database_url: str
    redis_url: str
    smtp: SmtpSink
    workdir: Path

    def redis(self):
        from service.jobs import redis_connection

        return redis_connection(self.app)

    def queue(self, name: str):
        from rq import Queue

        return Queue(name, connection=self.redis())

    def worker_env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items()
               if key not in {"DATABASE_URL", "REDIS_URL", "MAIL_SERVER", "MAIL_PORT"}}
        env.update(DATABASE_URL=self.database_url, REDIS_URL=self.redis_url,
                   SECRET_KEY=os.environ["SECRET_KEY"], BASE_URL=BASE_URL,
                   MAIL_SERVER=self.smtp.host, MAIL_PORT=str(self.smtp.port),
                   TIMEZONE="Asia/Shanghai", PYTHONUNBUFFERED="1")
        return env

    def run_burst_worker(self, queues=WORKER_QUEUES, timeout: float = 90) -> str:
        """Run `rq worker --burst` until the queues are empty; fail on errors or left-overs."""
        command = [RQ_BIN, "worker", "--burst", "--with-scheduler", "-u", self.redis_url,
                   *queues]
        process = subprocess.Popen(command, cwd=ROOT, env=self.worker_env(),
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, text=True,
                                   start_new_session=True)
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(process.pid)
            output, _ = process.communicate(timeout=10)
            pytest.fail(f"rq worker did not finish in {timeout}s:\n{output[-6000:]}")
        finally:
            kill_group(process.pid)  # a scheduler child left behind, if any
        if process.returncode != 0:
            pytest.fail(f"rq worker exited with {process.returncode}:\n{output[-6000:]}")
        self.assert_no_failed_jobs(output)
        return output

    def assert_no_failed_jobs(self, output: str = "") -> None:
        """No job failed and none waits for a retry (a retry means it raised)."""
        from rq.job import Job
        from rq.registry import FailedJobRegistry, ScheduledJobRegistry

        from service.jobs import QUEUES

        problems = []
        for name in QUEUES:
            queue = self.queue(name)
            for registry in (FailedJobRegistry(queue=queue), ScheduledJobRegistry(queue=queue)):
                for job_id in registry.get_job_ids():
                    job = Job.fetch(job_id, connection=self.redis())
                    result = job.latest_result()
                    problems.append(f"{name}: {job.func_name}{tuple(job.args)} "
                                    f"{job.get_status()}: "
                                    f"{result.exc_string if result else job.exc_info}")
        if problems:
            pytest.fail("jobs failed in the worker:\n" + "\n".join(problems)
                        + f"\n--- worker output ---\n{output[-6000:]}")


def kill_group(pid: int, sig: int = signal.SIGKILL) -> None:
    """Signal the process group led by `pid` (never our own group, never 0 or 1)."""
    if pid <= 1 or pid == os.getpgrp():
        raise ValueError(f"refusing to signal process group {pid}")
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


@pytest.fixture
def make_stack(pg_database, smtp_server, tmp_path):
    """make_stack(redis_url) → an RqStack whose app context is pushed for the test."""
    with ExitStack() as stack:
        def factory(redis_url: str, **config) -> RqStack:
            app = stack.enter_context(pushed_app({
                "SQLALCHEMY_DATABASE_URI": pg_database, "REDIS_URL": redis_url,
                "JOBS_EAGER": False, "BASE_URL": BASE_URL,
                "MAIL_SERVER": smtp_server.host, "MAIL_PORT": smtp_server.port, **config}))
            return RqStack(app, pg_database, redis_url, smtp_server, tmp_path)

        yield factory


@pytest.fixture
def rq_stack(make_stack, redis_url) -> RqStack:
    """The app on PostgreSQL with jobs going to the test Redis database."""
    return make_stack(redis_url)
