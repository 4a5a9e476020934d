"""/metrics: who may read it, and what it counts (latency, intake, SLA breaches, jobs)."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from prometheus_client.parser import text_string_to_metric_families

from service import jobs
from service.extensions import db
from service.ops.install import install

OUTSIDE = {"REMOTE_ADDR": "203.0.113.5"}
START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def ops(app):
    install(app)
    return app


def scrape(client, **kwargs) -> str:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def value(text: str, name: str, **labels: str) -> float:
    """The sample's value in the exposition text (0 when absent)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v
                                           for k, v in labels.items()):
                return sample.value
    return 0.0


def metrics_text(app) -> str:
    """A fresh scrape (the scrape-time gauges are cached per app for 15 seconds)."""
    app.extensions.pop("loopdesk_metrics_state", None)
    return scrape(app.test_client())


# ---- protection ----

def test_refused_from_outside_without_token(client):
    response = client.get("/metrics", environ_overrides=OUTSIDE)
    assert response.status_code == 404
    assert "loopdesk_" not in response.get_data(as_text=True)


def test_wrong_or_missing_token_is_refused(app, client):
    app.config["METRICS_TOKEN"] = "s3cret-scrape-token"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret"},
                    {"Authorization": "Bearer "}):
        assert client.get("/metrics", headers=headers,
                          environ_overrides=OUTSIDE).status_code == 404


def test_the_token_lets_anyone_in(app, client):
    app.config["METRICS_TOKEN"] = "s3cret-scrape-token"
    response = client.get("/metrics", environ_overrides=OUTSIDE,
                          headers={"Authorization": "Bearer s3cret-scrape-token"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    openmetrics = client.get("/metrics", environ_overrides=OUTSIDE, headers={
        "Authorization": "Bearer s3cret-scrape-token",
        "Accept": "application/openmetrics-text; version=1.0.0"})
    assert openmetrics.headers["Content-Type"].startswith("application/openmetrics-text")
    assert openmetrics.get_data(as_text=True).endswith("# EOF\n")
    assert response.headers["Cache-Control"] == "no-store"


def test_no_token_configured_means_no_token_works(client):
    assert client.get("/metrics", environ_overrides=OUTSIDE,
                      headers={"Authorization": "Bearer "}).status_code == 404


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.1", "::1", "::ffff:127.0.0.1"])
def test_loopback_is_allowed_by_default(client, address):
    response = client.get("/metrics", environ_overrides={"REMOTE_ADDR": address})
    assert response.status_code == 200
    assert "loopdesk_job_queue_depth" in response.get_data(as_text=True)


def test_allowed_networks_are_configurable(app, client):
    app.config["METRICS_ALLOWED_NETWORKS"] = "10.0.0.0/8, 192.168.1.7 not-a-network"
    assert client.get("/metrics", environ_overrides={"REMOTE_ADDR": "10.2.3.4"}
                      ).status_code == 200
    assert client.get("/metrics", environ_overrides={"REMOTE_ADDR": "192.168.1.7"}
                      ).status_code == 200
    assert client.get("/metrics").status_code == 404  # loopback no longer listed
    app.config["METRICS_ALLOWED_NETWORKS"] = ""
    assert client.get("/metrics").status_code == 404  # token only


@pytest.mark.parametrize("header", ["X-Forwarded-For", "X-Real-IP", "Forwarded"])
def test_a_proxied_request_needs_the_token(app, client, header):
    # Behind a reverse proxy on the same host every visitor arrives from loopback.
    assert client.get("/metrics", headers={header: "203.0.113.5"}).status_code == 404
    app.config["METRICS_TOKEN"] = "tok"
    assert client.get("/metrics", headers={header: "203.0.113.5",
                                           "Authorization": "Bearer tok"}).status_code == 200


def test_only_get(client):
    assert client.post("/metrics").status_code == 405


# ---- what it counts ----

def test_latency_is_recorded_by_endpoint_never_by_path(app, client, make_ticket):
    endpoint_of = app.url_map.bind("support.test").match
    labels = {"endpoint": endpoint_of("/support/new")[0], "method": "GET",
              "status_class": "2xx"}
    name = "loopdesk_http_request_duration_seconds_count"
    before = value(scrape(client), name, **labels)
    for _ in range(3):
        assert client.get("/support/new").status_code == 200
    client.get("/console/tickets/123")  # a redirect to sign in
    client.get("/no/such/page/42")
    text = scrape(client)
    assert value(text, name, **labels) == before + 3
    assert value(text, name, endpoint=endpoint_of("/console/tickets/123")[0], method="GET",
                 status_class="3xx") >= 1
    assert value(text, name, endpoint="unmatched", method="GET", status_class="4xx") >= 1
    assert "/console/tickets" not in text and "/no/such" not in text
    assert value(text, "loopdesk_http_request_duration_seconds_bucket", le="+Inf",
                 **labels) == before + 3


def test_intake_is_counted_by_channel(client):
    from tests.tickets.test_web_form import form_data

    name = "loopdesk_tickets_created_total"
    before = value(scrape(client), name, channel="web")
    before_api = value(scrape(client), name, channel="api")
    assert client.post("/support/new", data=form_data(client)).status_code == 303
    text = scrape(client)
    assert value(text, name, channel="web") == before + 1
    assert value(text, name, channel="api") == before_api


def test_an_sla_breach_is_counted_and_gauged(app, client, make_ticket):
    from tickets.models import Priority
    from tickets.sla_sweep import sweep

    def first_response_breaches(text: str) -> float:
        # By priority once the sweep's signal carries it ("unknown" until then).
        return sum(value(text, "loopdesk_sla_breaches_total", target="first_response",
                         priority=priority) for priority in (*Priority, "unknown"))

    before = first_response_breaches(scrape(client))
    with time_machine.travel(START, tick=False):
        make_ticket(urgency=Priority.URGENT)
        make_ticket(urgency=Priority.URGENT)
    assert value(metrics_text(app), "loopdesk_tickets_sla_breached_open") == 0
    assert sweep(now=START + timedelta(minutes=61)).breaches == 2
    text = metrics_text(app)
    assert first_response_breaches(text) == before + 2
    assert value(text, "loopdesk_tickets_sla_breached_open") == 2


def test_the_breach_count_takes_the_priority_from_the_signal(client):
    from service import events

    name = "loopdesk_sla_breaches_total"
    before = value(scrape(client), name, target="resolution", priority="low")
    events.sla_breached.send(999_999, target="resolution", priority="low")
    assert value(scrape(client), name, target="resolution", priority="low") == before + 1


def test_scrape_time_gauges_are_cached(app, make_ticket):
    from tickets.models import Priority
    from tickets.sla_sweep import sweep

    with time_machine.travel(START, tick=False):
        make_ticket(urgency=Priority.URGENT)
    first = metrics_text(app)
    sweep(now=START + timedelta(minutes=61))
    cached = scrape(app.test_client())
    assert value(first, "loopdesk_tickets_sla_breached_open") == 0
    assert value(cached, "loopdesk_tickets_sla_breached_open") == 0
    assert value(metrics_text(app), "loopdesk_tickets_sla_breached_open") == 1


def test_embedded_mode_reports_the_outbox(app):
    now = datetime.now(UTC)
    for status in ("pending", "pending", "failed"):
        db.session.add(jobs.JobOutbox(func="x.y", args=[], queue="mail", attempts=5,
                                      status=status, next_attempt_at=now, created_at=now))
    db.session.commit()
    text = metrics_text(app)
    assert value(text, "loopdesk_job_queue_depth", queue="outbox") == 2
    assert value(text, "loopdesk_jobs_failed", queue="outbox") == 1
    assert "loopdesk_redis_up" not in text  # no Redis configured: nothing to report


def failing_job(number: int) -> None:
    raise RuntimeError(f"metrics boom {number}")


@pytest.fixture
def rq_app(app, redis_url):
    app.config["REDIS_URL"] = redis_url
    yield app
    client = app.extensions.pop("loopdesk_redis", None)
    if client is not None:
        client.close()


def test_queue_depth_and_failures_with_redis(rq_app):
    from rq import Queue, SimpleWorker

    connection = jobs.redis_connection(rq_app)
    mail, default = Queue("mail", connection=connection), Queue("default", connection=connection)
    mail.enqueue("tests.service.test_metrics.failing_job", 1)
    mail.enqueue("tests.service.test_metrics.failing_job", 2)
    default.enqueue(failing_job, 3)
    SimpleWorker([default], connection=connection).work(burst=True)
    text = metrics_text(rq_app)
    assert value(text, "loopdesk_redis_up") == 1
    assert value(text, "loopdesk_job_queue_depth", queue="mail") == 2
    assert value(text, "loopdesk_job_queue_depth", queue="default") == 0
    assert value(text, "loopdesk_jobs_failed", queue="default") == 1
    assert value(text, "loopdesk_jobs_failed", queue="mail") == 0
    assert re.search(r'loopdesk_job_queue_depth\{queue="webhooks"\} 0', text)
    # The burst worker is gone: the queue is listed, with no worker.
    assert re.search(r'loopdesk_rq_workers\{queue="mail"\} 0', text)


def test_live_workers_per_queue(rq_app):
    from rq import Queue, Worker

    connection = jobs.redis_connection(rq_app)
    worker = Worker([Queue("mail", connection=connection)], connection=connection)
    worker.register_birth()
    try:
        text = metrics_text(rq_app)
        assert value(text, "loopdesk_rq_workers", queue="mail") == 1
        assert value(text, "loopdesk_rq_workers", queue="default") == 0
    finally:
        worker.register_death()


def test_redis_down_is_reported_not_a_500(app):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        text = metrics_text(app)
    finally:
        app.extensions.pop("loopdesk_redis", None)
    assert value(text, "loopdesk_redis_up") == 0
    assert "loopdesk_tickets_sla_breached_open" in text


def test_multiprocess_mode_still_serves_the_gauges(app, tmp_path, monkeypatch):
    directory = tmp_path / "prometheus"  # (tmp_path also holds the SQLite *.db)
    directory.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    text = metrics_text(app)
    assert "loopdesk_tickets_sla_breached_open" in text
    assert "loopdesk_job_queue_depth" in text



def test_the_rollups_age_shows_whether_the_job_runs(app):
    """Yesterday's rollup is rebuilt on every run: its age tells a stopped job."""
    from service.reports import rollup
    from service.reports.registry import rolled_up

    assert "loopdesk_report_rollup_age_seconds{" not in metrics_text(app)  # none built
    rollup.refresh([report.metric for report in rolled_up()], START)
    with time_machine.travel(START + timedelta(hours=2), tick=False):
        text = metrics_text(app)
    for report in rolled_up():
        assert value(text, "loopdesk_report_rollup_age_seconds", report=report.name) == 7200
