"""Prometheus metrics at /metrics: request latency, job queues, SLA breaches, intake.

Counters and the latency histogram live in the process (or in PROMETHEUS_MULTIPROC_DIR
under gunicorn, so every worker's numbers add up); queue depths, failed jobs and open
breached tickets are read at scrape time with a few cheap counts, cached for 15 seconds.
/metrics answers only a direct caller from METRICS_ALLOWED_NETWORKS or one bearing
METRICS_TOKEN; anyone else gets the same 404 as any unknown page.
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from typing import Any, Iterator

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from sqlalchemy import func, select
from werkzeug.exceptions import NotFound

from service import events
from service.extensions import db

log = logging.getLogger(__name__)
blueprint = Blueprint("metrics", __name__)

CACHE_SECONDS = 15.0  # scrape-time gauges are recomputed at most this often per process
DEFAULT_NETWORKS = "127.0.0.0/8,::1"
# A request that went through a reverse proxy arrives from the proxy's (often loopback)
# address: it is let in by the token only, never by its address.
_PROXY_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded")

REQUEST_LATENCY = Histogram(
    "loopdesk_http_request_duration_seconds",
    "Time to answer a request, by Flask endpoint, method and status class.",
    ("endpoint", "method", "status_class"),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
SLA_BREACHES = Counter(
    "loopdesk_sla_breaches", "SLA targets breached, by target and ticket priority.",
    ("target", "priority"))
TICKETS_CREATED = Counter(
    "loopdesk_tickets_created", "Tickets opened, by intake channel.", ("channel",))


def observe_request(status: int, seconds: float | None) -> None:
    """Record the current request's latency under its endpoint (never its raw path)."""
    if seconds is None:
        return
    rule = request.url_rule
    endpoint = rule.endpoint if rule is not None else "unmatched"
    REQUEST_LATENCY.labels(endpoint, request.method, f"{status // 100}xx").observe(seconds)


@events.ticket_created.connect
def _count_intake(ticket_id: int, channel: str | None = None, **_data: Any) -> None:
    if channel is None:
        from tickets.facts import ticket_facts

        facts = ticket_facts(ticket_id)
        channel = facts.channel if facts else "unknown"
    TICKETS_CREATED.labels(str(channel)).inc()


@events.sla_breached.connect
def _count_breach(_ticket_id: int, target: str = "unknown", priority: str | None = None,
                  **_data: Any) -> None:
    # No query here: events cost listeners nothing (the sweep sends one per breach). The
    # priority label is "unknown" for a sender that does not pass the priority.
    SLA_BREACHES.labels(str(target), str(priority or "unknown")).inc()


# ---- scrape-time gauges ----

def _state_samples(app: Flask) -> list[tuple[str, str, tuple[str, ...], list]]:
    """(name, help, label names, [(label values, value)]) of the DB- and Redis-derived
    gauges, cached for CACHE_SECONDS."""
    cached = app.extensions.get("loopdesk_metrics_state")
    now = time.monotonic()
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    samples = _read_state(app)
    app.extensions["loopdesk_metrics_state"] = (now, samples)
    return samples


def _read_state(app: Flask) -> list[tuple[str, str, tuple[str, ...], list]]:
    from service.jobs import JobOutbox

    outbox = dict(db.session.execute(
        select(JobOutbox.status, func.count()).group_by(JobOutbox.status)).all())
    depth = [(("outbox",), outbox.get("pending", 0))]
    failed = [(("outbox",), outbox.get("failed", 0))]
    samples = []
    if app.config.get("REDIS_URL"):
        redis_up = 1
        try:
            queued, rq_failed, listening = _rq_counts(app)
        except Exception as error:  # Redis down: say so, keep serving the other gauges
            log.warning("metrics: redis unavailable: %s", error)
            redis_up = 0
        else:
            depth += [((name,), count) for name, count in queued.items()]
            failed += [((name,), count) for name, count in rq_failed.items()]
            samples.append((
                "loopdesk_rq_workers",
                "Live RQ workers listening on each queue (their heartbeat key has not expired).",
                ("queue",), [((name,), count) for name, count in listening.items()]))
        samples.append(("loopdesk_redis_up", "1 when Redis answered the last scrape.", (),
                        [((), redis_up)]))
    samples += [
        ("loopdesk_job_queue_depth",
         "Jobs waiting: each RQ queue, and the outbox (Redis down, or embedded retries).",
         ("queue",), depth),
        ("loopdesk_jobs_failed",
         "Jobs that exhausted their retries: RQ failed registries and failed outbox rows.",
         ("queue",), failed),
        ("loopdesk_tickets_sla_breached_open", "Open tickets with a breached SLA target.",
         (), [((), _open_breached_tickets())]),
        ("loopdesk_report_rollup_age_seconds",
         "Seconds since each report's daily rollups were last rebuilt (every 10 minutes "
         "while the report-rollups task runs).",
         ("report",), _rollup_ages()),
    ]
    return samples


def _rollup_ages() -> list[tuple[tuple[str], float]]:
    from flask import current_app

    from service.db_types import utcnow
    from service.reports.rollup import ages

    if not current_app.config["REPORT_ROLLUPS"]:
        return []  # not kept: no age to watch
    return [((report,), age) for report, age in sorted(ages(utcnow()).items())]


def _rq_counts(app: Flask) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """Per queue: jobs waiting, jobs failed, and live workers listening."""
    from rq import Queue, Worker
    from rq.registry import FailedJobRegistry

    from service.jobs import QUEUES, redis_connection

    connection = redis_connection(app)
    pipeline = connection.pipeline(transaction=False)  # one round trip, read-only
    for name in QUEUES:
        queue = Queue(name, connection=connection)
        pipeline.llen(queue.key)
        pipeline.zcard(FailedJobRegistry(queue=queue).key)
    counts = pipeline.execute()
    # A worker's key expires when its heartbeat stops, so a dead worker drops out here.
    listening = {name: Worker.count(connection=connection,
                                    queue=Queue(name, connection=connection))
                 for name in QUEUES}
    return ({name: int(counts[2 * i]) for i, name in enumerate(QUEUES)},
            {name: int(counts[2 * i + 1]) for i, name in enumerate(QUEUES)}, listening)


def _open_breached_tickets() -> int:
    from tickets.facts import open_breached_ticket_count

    return open_breached_ticket_count()


class _StateCollector:
    """Yields the scrape-time gauges of one app."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        for name, documentation, labels, values in _state_samples(self.app):
            family = GaugeMetricFamily(name, documentation, labels=list(labels))
            for label_values, value in values:
                family.add_metric(list(label_values), value)
            yield family


class _Forward:
    """Yields another registry's metrics (this process's counters and histogram)."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        yield from self.source.collect()


def render(app: Flask, accept: str | None = None) -> tuple[bytes, str]:
    """The exposition (body, content type) in the format the scraper's Accept header asks
    for: this process's (or all workers') metrics plus the scrape-time gauges."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Forward(REGISTRY))
    registry.register(_StateCollector(app))
    encode, content_type = choose_encoder(accept or "")
    return encode(registry), content_type


# ---- who may scrape ----

def _networks(app: Flask) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    raw = app.config.get("METRICS_ALLOWED_NETWORKS", DEFAULT_NETWORKS)
    if raw is None:
        raw = DEFAULT_NETWORKS
    entries = raw.replace(",", " ").split() if isinstance(raw, str) else list(raw)
    cached = app.extensions.get("loopdesk_metrics_networks")
    if cached is not None and cached[0] == entries:
        return cached[1]
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(str(entry).strip(), strict=False))
        except ValueError:
            log.warning("METRICS_ALLOWED_NETWORKS: ignoring %r (not an address or CIDR)", entry)
    app.extensions["loopdesk_metrics_networks"] = (entries, networks)
    return networks


def scrape_allowed() -> bool:
    """Whether this request may read /metrics: the token, or a direct allowed address."""
    token = current_app.config.get("METRICS_TOKEN")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), str(token).encode()):
        return True
    if any(header in request.headers for header in _PROXY_HEADERS):
        return False
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in _networks(current_app))


@blueprint.get("/metrics")
def scrape() -> Response:
    """The Prometheus exposition, for allowed scrapers only."""
    if not scrape_allowed():
        raise NotFound()
    body, content_type = render(current_app._get_current_object(),
                                request.headers.get("Accept"))
    return Response(body, headers={"Content-Type": content_type, "Cache-Control": "no-store"})


def install_metrics(app: Flask) -> None:
    """Keep /metrics out of rate limits and CSRF checks."""
    from service.extensions import csrf, limiter

    csrf.exempt(blueprint)
    limiter.exempt(blueprint)
