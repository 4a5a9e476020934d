"""Outbound webhooks: admin API, SSRF refusals, signed deliveries to a real local receiver,
retries and auto-disable, once-only delivery."""
from __future__ import annotations

import hashlib
import hmac
import json
import socket
import ssl
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest
import time_machine
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from service import events, jobs
from service.crypto import decrypt
from service.extensions import db
from tests.tls import self_signed_server_context
from service.notify.models import Notification
from service.notify.webhooks import services
from service.notify.webhooks.jobs import deliver_webhook
from service.notify.webhooks.models import DeliveryStatus, Webhook, WebhookDelivery
from tickets.resolution.models import ConfirmationChannel, ConfirmationOutcome
from tickets.resolution.services import answer
from tickets.sla_sweep import sweep
from tests.tickets.helpers_resolution import resolve_ticket

RECEIVER_BODY = b"RECEIVER-PRIVATE-BODY: stack trace, internal hosts"
START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


# ---- a real HTTP receiver on 127.0.0.1 ----

@dataclass
class Receiver:
    port: int
    requests: list[dict] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0
    extra_headers: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def received(self, path: str | None = None) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if path is None or r["path"] == path]


@contextmanager
def running_receiver(tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    """A ThreadingHTTPServer on 127.0.0.1 that records every POST and answers as told."""
    state = Receiver(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server hook)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with state.lock:
                state.requests.append({"path": self.path, "headers": dict(self.headers),
                                       "body": body})
            if state.delay:
                time.sleep(state.delay)
            try:
                self.send_response(state.status)
                for name, value in state.extra_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(RECEIVER_BODY)))
                self.end_headers()
                self.wfile.write(RECEIVER_BODY)
            except OSError:
                pass  # the client gave up (timeout test)

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def receiver(app):
    app.config["WEBHOOK_ALLOWED_NETWORKS"] = ["127.0.0.1/32"]
    with running_receiver() as state:
        yield state


@pytest.fixture
def admin(make_user):
    return make_user("admin")


def _create(client, headers, url, events=("ticket.created",), **extra):
    return client.post("/api/v1/admin/webhooks", headers=headers,
                       json={"url": url, "events": list(events), **extra})


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _deliveries(webhook_id: int | None = None) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).order_by(WebhookDelivery.id)
    if webhook_id is not None:
        query = query.where(WebhookDelivery.webhook_id == webhook_id)
    return list(db.session.scalars(query.execution_options(populate_existing=True)))


def _webhook(webhook_id: int) -> Webhook:
    return db.session.get(Webhook, webhook_id, populate_existing=True)


def verify_signature(request: dict, secret: str) -> dict:
    headers = request["headers"]
    timestamp = headers["X-Loopdesk-Timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + request["body"],
                        hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Loopdesk-Signature"], f"sha256={expected}")
    return json.loads(request["body"])


# ---- admin API ----

def test_secret_is_shown_once_and_stored_encrypted(client, auth, admin):
    headers = auth(admin)
    app_url = "http://hooks.example.test/in"
    with _resolving({"hooks.example.test": "93.184.216.34"}):
        created = _create(client, headers, app_url,
                          events=["ticket.updated", "ticket.created", "ticket.created"],
                          description="CRM")
    assert created.status_code == 201, created.json
    secret = created.json["secret"]
    assert secret.startswith("whsec_") and len(secret) > 30
    assert created.json["events"] == ["ticket.created", "ticket.updated"]
    assert created.json["is_active"] is True and created.json["created_by_id"] == admin.id
    webhook_id = created.json["id"]

    row = _webhook(webhook_id)
    assert secret not in row.secret_encrypted and decrypt(row.secret_encrypted) == secret
    shown = client.get(f"/api/v1/admin/webhooks/{webhook_id}", headers=headers)
    listed = client.get("/api/v1/admin/webhooks", headers=headers)
    assert shown.status_code == listed.status_code == 200
    assert "secret" not in shown.json and secret not in shown.get_data(as_text=True)
    assert [item["id"] for item in listed.json["items"]] == [webhook_id]
    assert secret not in listed.get_data(as_text=True)

    rotated = client.post(f"/api/v1/admin/webhooks/{webhook_id}/rotate-secret", headers=headers)
    assert rotated.status_code == 200
    assert rotated.json["secret"] != secret
    assert decrypt(_webhook(webhook_id).secret_encrypted) == rotated.json["secret"]


@pytest.mark.parametrize("role", ["agent", "lead", "sales", "department"])
def test_only_admins_manage_webhooks(client, auth, make_user, role):
    headers = auth(make_user(role))
    assert _create(client, headers, "http://93.184.216.34/").status_code == 403
    assert client.get("/api/v1/admin/webhooks", headers=headers).status_code == 403
    assert client.get("/api/v1/admin/webhooks").status_code == 401
    assert _count(Webhook) == 0


@pytest.mark.parametrize("url, reason", [
    ("http://127.0.0.1/hook", "loopback"),
    ("http://localhost:8080/hook", "loopback"),
    ("http://10.0.0.5/", "resolves to 10.0.0.5 (private)"),
    ("http://192.168.1.10:8443/", "private"),
    ("http://172.16.0.1/", "private"),
    ("http://100.64.0.1/", "CGNAT"),
    ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("http://169.254.1.1/", "link-local"),
    ("http://0.0.0.0:8080/", "unspecified"),
    ("http://224.0.0.1/", "multicast"),
    ("http://[::1]/", "loopback"),
    ("http://[fd00::1]/", "private"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://[::ffff:a9fe:a9fe]/", "cloud metadata"),
    ("http://[2002:7f00:1::]/", "loopback"),  # 6to4 around 127.0.0.1
    ("http://2130706433/", "loopback"),  # 127.0.0.1 as one decimal number
    ("http://0x7f.1/", "loopback"),
    ("http://0177.0.0.1/", "loopback"),
    ("http://127.1:8080/", "loopback"),
    ("ftp://example.com/", "Only http"),
    ("file:///etc/passwd", "Only http"),
    ("javascript:alert(1)", "Only http"),
    ("http://user:pass@93.184.216.34/", "Credentials"),
    ("http://93.184.216.34:22/", "port"),
    ("http://93.184.216.34:0/", "port"),
    ("http://93.184.216.34:99999/", "port"),
    ("http://exa mple.com/", "spaces"),
    ("http://93.184.216.34\\@127.0.0.1/", "backslash"),
    ("http:///nohost", "no host"),
    ("http://does-not-exist.invalid/", "does not resolve"),
])
def test_unsafe_urls_are_refused_when_saved(client, auth, admin, url, reason):
    response = _create(client, auth(admin), url)
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    assert reason in response.json["errors"]["url"][0]
    assert _count(Webhook) == 0


@pytest.mark.parametrize("body", [
    {"url": 123, "events": ["ticket.created"]},
    {"url": "http://93.184.216.34/", "events": []},
    {"url": "http://93.184.216.34/", "events": ["ticket.deleted"]},
    {"url": "http://93.184.216.34/", "events": "ticket.created"},
    {"url": "http://93.184.216.34/"},
    {"url": "http://93.184.216.34/", "events": ["ticket.created"], "secret": "mine"},
    {"url": "http://93.184.216.34/" + "a" * 2000, "events": ["ticket.created"]},
])
def test_malformed_bodies_are_400(client, auth, admin, body):
    response = client.post("/api/v1/admin/webhooks", headers=auth(admin), json=body)
    assert response.status_code == 400, response.json
    assert _count(Webhook) == 0


def test_the_allow_list_admits_named_hosts_and_networks(app, client, auth, admin):
    headers = auth(admin)
    app.config["WEBHOOK_ALLOWED_NETWORKS"] = ["localhost"]
    assert _create(client, headers, "http://localhost:8080/hook").status_code == 201
    assert _create(client, headers, "http://127.0.0.1:8080/hook").status_code == 422
    app.config["WEBHOOK_ALLOWED_NETWORKS"] = ["127.0.0.0/8", "10.1.0.0/16"]
    assert _create(client, headers, "http://127.0.0.1:8080/hook").status_code == 201
    assert _create(client, headers, "http://2130706433:8080/").status_code == 201
    assert _create(client, headers, "http://10.1.2.3/").status_code == 201
    assert _create(client, headers, "http://10.2.0.1/").status_code == 422
    assert _create(client, headers, "http://169.254.169.254/").status_code == 422


def test_patch_delete_and_validation(app, client, auth, admin):
    headers = auth(admin)
    app.config["WEBHOOK_ALLOWED_NETWORKS"] = ["127.0.0.1/32"]
    webhook_id = _create(client, headers, "http://127.0.0.1:9000/a").json["id"]
    path = f"/api/v1/admin/webhooks/{webhook_id}"

    refused = client.patch(path, headers=headers, json={"url": "http://10.0.0.1/"})
    assert refused.status_code == 422 and "url" in refused.json["errors"]
    assert _webhook(webhook_id).url == "http://127.0.0.1:9000/a"
    assert client.patch(path, headers=headers, json={}).status_code == 400
    assert client.patch(path, headers=headers, json={"is_active": "yes"}).status_code == 400
    assert client.patch(path, headers=headers, json={"events": []}).status_code == 400

    changed = client.patch(path, headers=headers, json={
        "url": "http://127.0.0.1:9001/b", "events": ["ticket.closed"], "description": "x",
        "is_active": False})
    assert changed.status_code == 200, changed.json
    assert changed.json["events"] == ["ticket.closed"] and changed.json["is_active"] is False
    assert changed.json["disabled_reason"] == "disabled by an admin"

    db.session.execute(Webhook.__table__.update().values(consecutive_failures=7))
    db.session.commit()
    enabled = client.patch(path, headers=headers, json={"is_active": True})
    assert enabled.json["is_active"] is True and enabled.json["consecutive_failures"] == 0
    assert enabled.json["disabled_at"] is None

    assert client.delete(path, headers=headers).status_code == 204
    assert client.get(path, headers=headers).status_code == 404
    assert client.delete(path, headers=headers).status_code == 404
    assert client.get("/api/v1/admin/webhooks/99999/deliveries",
                      headers=headers).status_code == 404


# ---- deliveries to a real receiver ----

def test_ticket_events_arrive_signed(client, auth, admin, receiver, make_user, support_team):
    make_user("agent", team=support_team)  # intake assigns: part of ticket.created
    headers = auth(admin)
    created = _create(client, headers, receiver.url(),
                      events=["ticket.created", "ticket.updated"])
    secret, webhook_id = created.json["secret"], created.json["id"]

    ticket = client.post("/api/v1/tickets", headers=headers, json={
        "subject": "Printer on fire", "description": "Help",
        "customer": {"email": "casey@example.com", "name": "Casey"}})
    assert ticket.status_code == 201

    [request] = receiver.received()  # created only: the intake assignment is part of it
    assert request["path"] == "/hook"
    sent = request["headers"]
    assert sent["Content-Type"] == "application/json"
    assert sent["User-Agent"] == "Loopdesk-Webhooks/1"
    assert sent["X-Loopdesk-Event"] == "ticket.created"
    assert sent["Host"] == f"127.0.0.1:{receiver.port}"
    assert abs(int(sent["X-Loopdesk-Timestamp"]) - time.time()) < 60
    body = verify_signature(request, secret)
    assert body["event"] == "ticket.created" and body["id"] == sent["X-Loopdesk-Delivery"]
    data = body["data"]
    assert data["id"] == ticket.json["id"] and data["number"] == ticket.json["number"]
    assert data["subject"] == "Printer on fire" and data["status"] == "open"
    assert data["assignee_id"] is not None and data["sla"]["state"] == "on_track"
    assert b"casey@example.com" not in request["body"] and b"Casey" not in request["body"]

    [delivery] = _deliveries(webhook_id)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        DeliveryStatus.DELIVERED, 1, 200)
    assert delivery.event_id == body["id"] and delivery.duration_ms is not None

    patched = client.patch(f"/api/v1/tickets/{ticket.json['id']}", headers=headers,
                           json={"priority": "urgent", "status": "pending_customer"})
    assert patched.status_code == 200, patched.json
    updates = [verify_signature(r, secret) for r in receiver.received()[1:]]
    assert [u["event"] for u in updates] == ["ticket.updated", "ticket.updated"]
    assert [u["data"]["change"] for u in updates] == [
        {"field": "priority", "from": "normal", "to": "urgent"},
        {"field": "status", "from": "open", "to": "pending_customer"}]
    assert updates[1]["data"]["priority"] == "urgent"
    assert len({u["id"] for u in updates}) == 2

    patched = client.patch(f"/api/v1/tickets/{ticket.json['id']}", headers=headers,
                           json={"category": "billing", "tags": ["vip", "printer"]})
    assert patched.status_code == 200, patched.json
    changes = [verify_signature(r, secret)["data"]["change"] for r in receiver.received()[3:]]
    assert changes == [{"field": "category", "from": None, "to": "billing"},
                       {"field": "tags", "from": [], "to": ["printer", "vip"]}]


def test_a_named_host_is_reached_at_its_checked_address(app, client, auth, admin, receiver):
    app.config["WEBHOOK_ALLOWED_NETWORKS"] = ["hooks.example.test"]
    with _resolving({"hooks.example.test": "127.0.0.1"}):
        created = _create(client, auth(admin), f"http://hooks.example.test:{receiver.port}/in")
        assert created.status_code == 201
        services.publish("ticket.created", {"id": 1})
        db.session.commit()
    [request] = receiver.received("/in")
    assert request["headers"]["Host"] == f"hooks.example.test:{receiver.port}"
    verify_signature(request, created.json["secret"])


def test_failures_are_retried_then_the_webhook_is_disabled_and_admins_told(
        app, client, auth, admin, make_user, receiver, make_ticket):
    other_admin = make_user("admin")
    app.config["WEBHOOK_DISABLE_AFTER_FAILURES"] = 3
    receiver.status = 500
    headers = auth(admin)
    webhook_id = _create(client, headers, receiver.url()).json["id"]

    moment = START
    with time_machine.travel(moment, tick=False):
        make_ticket()  # first attempt fails: the job waits in the outbox to be retried
    [delivery] = _deliveries(webhook_id)
    assert (delivery.status, delivery.attempts, delivery.last_error) == (
        DeliveryStatus.PENDING, 1, "HTTP 500")
    assert delivery.next_attempt_at == START + timedelta(seconds=jobs.RETRY_INTERVALS[0])
    assert _webhook(webhook_id).consecutive_failures == 1
    for _ in range(2):
        moment += timedelta(hours=1)
        with time_machine.travel(moment, tick=False):
            assert jobs.sweep_outbox() == 1
    assert len(receiver.received()) == 3

    webhook = _webhook(webhook_id)
    assert webhook.is_active is False and webhook.disabled_at == moment
    assert "3 failed attempts in a row (last: HTTP 500)" in webhook.disabled_reason
    [delivery] = _deliveries(webhook_id)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 3)
    notices = list(db.session.scalars(select(Notification).where(
        Notification.kind == "webhook_disabled")))
    assert {n.user_id for n in notices} == {admin.id, other_admin.id}
    assert all(n.subject_ref == f"webhook:{webhook_id}" for n in notices)
    # The disabling attempt ended its job: nothing is left to retry.
    assert _count(jobs.JobOutbox, jobs.JobOutbox.status == "pending") == 0

    make_ticket()  # a disabled webhook gets no new deliveries
    assert len(_deliveries(webhook_id)) == 1
    for path in (f"/api/v1/admin/webhooks/{webhook_id}/deliveries",
                 f"/api/v1/admin/webhooks/{webhook_id}", "/api/v1/admin/webhooks"):
        response = client.get(path, headers=headers)
        assert response.status_code == 200
        assert b"RECEIVER-PRIVATE-BODY" not in response.data
    log = client.get(f"/api/v1/admin/webhooks/{webhook_id}/deliveries", headers=headers)
    assert log.json["items"][0]["last_error"] == "HTTP 500"
    assert log.json["items"][0]["last_status_code"] == 500


def test_pending_deliveries_of_a_disabled_webhook_stop_quietly(client, auth, admin, receiver):
    webhook_id = _create(client, auth(admin), receiver.url()).json["id"]
    receiver.status = 503
    services.publish("ticket.created", {"id": 1})
    db.session.commit()
    [delivery] = _deliveries(webhook_id)
    assert delivery.status == DeliveryStatus.PENDING
    client.patch(f"/api/v1/admin/webhooks/{webhook_id}", headers=auth(admin),
                 json={"is_active": False})

    deliver_webhook(delivery.id)  # the retry: returns without raising or sending

    assert len(receiver.received()) == 1
    [delivery] = _deliveries(webhook_id)
    assert (delivery.status, delivery.last_error) == (DeliveryStatus.FAILED, "webhook disabled")


def test_redirects_are_not_followed(client, auth, admin, receiver):
    receiver.status = 302
    receiver.extra_headers = {"Location": receiver.url("/elsewhere")}
    webhook_id = _create(client, auth(admin), receiver.url()).json["id"]
    services.publish("ticket.created", {"id": 1})
    db.session.commit()
    assert [r["path"] for r in receiver.received()] == ["/hook"]
    [delivery] = _deliveries(webhook_id)
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_error == "HTTP 302 (redirects are not followed)"


def test_a_slow_receiver_times_out(app, client, auth, admin, receiver):
    app.config["WEBHOOK_TIMEOUT_SECONDS"] = 0.3
    receiver.delay = 1.0
    webhook_id = _create(client, auth(admin), receiver.url()).json["id"]
    services.publish("ticket.created", {"id": 1})
    db.session.commit()
    [delivery] = _deliveries(webhook_id)
    assert delivery.last_error == "timeout" and delivery.last_status_code is None


def test_a_closed_port_is_a_failed_attempt(app, client, auth, admin):
    app.config["WEBHOOK_ALLOWED_NETWORKS"] = ["127.0.0.1/32"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    webhook_id = _create(client, auth(admin), f"http://127.0.0.1:{port}/").json["id"]
    services.publish("ticket.created", {"id": 1})
    db.session.commit()
    [delivery] = _deliveries(webhook_id)
    assert delivery.last_error == "connection failed" and delivery.attempts == 1


def test_https_checks_the_certificate_of_the_host_at_the_pinned_address(
        app, client, auth, admin, tmp_path, monkeypatch):
    app.config["WEBHOOK_ALLOWED_NETWORKS"] = ["localhost"]
    with running_receiver(tls=self_signed_server_context(tmp_path, "localhost")) as tls_receiver:
        created = _create(client, auth(admin), f"https://localhost:{tls_receiver.port}/hook")
        assert created.status_code == 201
        services.publish("ticket.created", {"id": 1})
        db.session.commit()
        assert tls_receiver.received() == []  # not a certificate we trust
        [delivery] = _deliveries(created.json["id"])
        assert delivery.last_error == "TLS handshake or certificate check failed"

        # Trusted, it is checked against the URL's host although we connect to 127.0.0.1.
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))
        deliver_webhook(delivery.id)
        [request] = tls_receiver.received()
    assert request["headers"]["Host"] == f"localhost:{tls_receiver.port}"
    verify_signature(request, created.json["secret"])
    assert _deliveries(created.json["id"])[0].status == DeliveryStatus.DELIVERED


def test_an_unreadable_secret_fails_the_attempt_instead_of_sending_unsigned(
        app, client, auth, admin, receiver):
    from cryptography.fernet import Fernet

    webhook_id = _create(client, auth(admin), receiver.url()).json["id"]
    app.config["ENCRYPTION_KEY"] = Fernet.generate_key().decode()  # the key was rotated
    services.publish("ticket.created", {"id": 1})
    db.session.commit()
    assert receiver.received() == []
    [delivery] = _deliveries(webhook_id)
    assert "secret unreadable" in delivery.last_error and delivery.attempts == 1


def test_dns_changed_since_saving_is_refused_when_sending(app, client, auth, admin, receiver):
    with _resolving({"hooks.example.test": "93.184.216.34"}):
        created = _create(client, auth(admin), "http://hooks.example.test/in")
    assert created.status_code == 201
    with _resolving({"hooks.example.test": "10.0.0.5"}) as asked:
        services.publish("ticket.created", {"id": 1})
        db.session.commit()
    assert "hooks.example.test" in asked
    [delivery] = _deliveries(created.json["id"])
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_error == "refused: resolves to 10.0.0.5 (private)"
    assert receiver.received() == []


def test_duplicate_jobs_and_republished_events_deliver_once(client, auth, admin, receiver):
    webhook_id = _create(client, auth(admin), receiver.url(),
                         events=["ticket.closed"]).json["id"]
    first = services.publish("ticket.closed", {"id": 7}, event_id="e6b8a2f4-0000-4000-8000-1")
    db.session.commit()
    again = services.publish("ticket.closed", {"id": 7}, event_id="e6b8a2f4-0000-4000-8000-1")
    db.session.commit()
    assert len(first) == 1 and again == []

    deliver_webhook(first[0])  # a duplicate copy of the job, after the delivery
    deliver_webhook(first[0])
    assert len(receiver.received()) == 1

    # Another job holds the delivery right now: this copy must not send it too.
    second = services.publish("ticket.closed", {"id": 8})
    db.session.execute(WebhookDelivery.__table__.update()
                       .where(WebhookDelivery.id == second[0])
                       .values(claimed_at=datetime.now(UTC)))
    jobs_before = len(receiver.received())
    db.session.commit()  # the eager job runs now and finds the claim
    assert len(receiver.received()) == jobs_before
    assert _deliveries(webhook_id)[-1].status == DeliveryStatus.PENDING


def test_delivery_log_pages_newest_first_and_redelivers(client, auth, admin, receiver,
                                                        make_user):
    headers = auth(admin)
    webhook_id = _create(client, headers, receiver.url()).json["id"]
    for number in range(3):
        services.publish("ticket.created", {"id": number})
        db.session.commit()
    path = f"/api/v1/admin/webhooks/{webhook_id}/deliveries"
    page = client.get(f"{path}?limit=2", headers=headers)
    assert [item["payload"]["id"] for item in page.json["items"]] == [2, 1]
    rest = client.get(f"{path}?limit=2&cursor={page.json['next_cursor']}", headers=headers)
    assert [item["payload"]["id"] for item in rest.json["items"]] == [0]
    assert rest.json["next_cursor"] is None
    assert client.get(f"{path}?cursor=bogus", headers=headers).status_code == 400
    assert client.get(f"{path}?status=sent", headers=headers).status_code == 400
    assert len(client.get(f"{path}?status=delivered", headers=headers).json["items"]) == 3

    delivery_id = page.json["items"][0]["id"]
    again = client.post(f"{path}/{delivery_id}/redeliver", headers=headers)
    assert again.status_code == 202
    ids = [r["headers"]["X-Loopdesk-Delivery"] for r in receiver.received()]
    assert len(ids) == 4 and ids[-1] == ids[2]  # the same event id: receivers dedupe on it

    other = _create(client, headers, receiver.url("/other")).json["id"]
    assert client.post(f"/api/v1/admin/webhooks/{other}/deliveries/{delivery_id}/redeliver",
                       headers=headers).status_code == 404
    client.patch(f"/api/v1/admin/webhooks/{webhook_id}", headers=headers,
                 json={"is_active": False})
    assert client.post(f"{path}/{delivery_id}/redeliver", headers=headers).status_code == 409
    agent = auth(make_user("agent"))
    assert client.post(f"{path}/{delivery_id}/redeliver", headers=agent).status_code == 403


def test_sla_sweep_publishes_warnings_and_breaches(client, auth, admin, receiver, make_ticket):
    created = _create(client, auth(admin), receiver.url(),
                      events=["ticket.sla_warning", "ticket.sla_breached"])
    with time_machine.travel(START, tick=False):
        ticket = make_ticket()
    sweep(now=START + timedelta(days=30))
    sweep(now=START + timedelta(days=31))
    bodies = [verify_signature(r, created.json["secret"]) for r in receiver.received()]
    assert sorted((b["event"], b["data"]["target"]) for b in bodies) == [
        ("ticket.sla_breached", "first_response"), ("ticket.sla_breached", "resolution")]
    assert all(b["data"]["id"] == ticket.id and b["data"]["sla"]["state"] == "breached"
               for b in bodies)
    assert bodies[0]["data"]["due_at"] is not None


def test_ticket_resolved_and_closed_are_published(client, auth, admin, receiver, make_ticket):
    headers = auth(admin)
    created = _create(client, headers, receiver.url(),
                      events=["ticket.resolved", "ticket.closed"])
    ticket = make_ticket()
    resolve_ticket(admin, ticket)  # resolved through its resolution; the customer confirms
    answer(ticket, ConfirmationOutcome.CONFIRMED, channel=ConfirmationChannel.EMAIL_LINK,
           contact_id=ticket.contact_id)
    bodies = [verify_signature(r, created.json["secret"]) for r in receiver.received()]
    assert [(b["event"], b["data"]["status"]) for b in bodies] == [
        ("ticket.resolved", "resolved"), ("ticket.closed", "closed")]


def test_without_subscribers_events_cost_at_most_one_cached_query(app, make_ticket):
    ticket = make_ticket()
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", count)
    try:
        events.sla_breached.send(ticket.id, target="resolution")
        first = len(statements)
        for _ in range(100):
            events.sla_warning.send(ticket.id, target="resolution")
            events.ticket_status_changed.send(ticket.id, previous=None, current=None)
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", count)
    assert first <= 1 and len(statements) == first
    assert _count(WebhookDelivery) == 0


# ---- the outside world's DNS, faked for one host ----

class _resolving:
    """Answer getaddrinfo for some host names with fixed addresses; others resolve as usual.

    Only the resolver is replaced (the outside world); connections are real.
    """

    def __init__(self, answers: dict[str, str]):
        self.answers = answers
        self.asked: list[str] = []

    def __enter__(self) -> list[str]:
        self.real = socket.getaddrinfo

        def fake(host, port, *args, **kwargs):
            if isinstance(host, str) and host in self.answers:
                self.asked.append(host)
                return self.real(self.answers[host], port, *args, **kwargs)
            return self.real(host, port, *args, **kwargs)

        socket.getaddrinfo = fake
        return self.asked

    def __exit__(self, *_exc) -> None:
        socket.getaddrinfo = self.real
