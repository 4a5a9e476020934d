"""The phone channel on SQLite: calls staff log, calls the telephony system reports (signed)."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from service.directory.models import Contact, normalize_phone
from service.directory.services import find_or_create_contact, find_or_create_contact_by_phone
from service.extensions import db
from service.notify.models import OutboundMail
from tickets import lifecycle
from tickets.channels.phone.models import CallLog
from tickets.models import Message, Status, Ticket, TicketEvent

SECRET = "telephony-test-secret"
PROBLEM = "application/problem+json"
T0 = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)


@pytest.fixture
def app_config():
    return {"TELEPHONY_SECRET": SECRET}


@pytest.fixture
def agent(make_user, support_team):
    return make_user("agent", team=support_team)


@pytest.fixture
def headers(auth, agent):
    return auth(agent)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def call_body(**overrides) -> dict:
    body = {"direction": "outbound", "number": "+86 138-0013 8000",
            "started_at": iso(datetime.now(UTC) - timedelta(minutes=3)),
            "duration_seconds": 185, "outcome": "answered"}
    body.update(overrides)
    return body


def report(**overrides) -> dict:
    body = {"call_id": f"call-{time.monotonic_ns()}", "from": "+8613800138000",
            "to": "+862100000000", "started_at": iso(datetime.now(UTC) - timedelta(minutes=1)),
            "duration_seconds": 0, "outcome": "missed"}
    body.update(overrides)
    return body


def signed_post(client, body: dict | bytes, *, secret: str = SECRET,
                timestamp: int | None = None, signature: str | None = None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return client.post("/api/v1/inbound/call", data=raw, content_type="application/json",
                       headers={"X-Loopdesk-Timestamp": stamp,
                                "X-Loopdesk-Signature": signature or f"sha256={digest}"})


def close(ticket, agent) -> None:
    for status in (Status.RESOLVED, Status.CLOSED):
        lifecycle.change_status(ticket, status, actor=agent, now=datetime.now(UTC))
    db.session.commit()


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def counts() -> tuple[int, ...]:
    return tuple(count(model) for model in (Ticket, Message, CallLog, Contact, TicketEvent,
                                            OutboundMail))


# ---- staff log calls on tickets ----

def test_outbound_answered_call_meets_first_response_and_joins_the_timeline(
        client, make_ticket, make_user, support_team, auth):
    with time_machine.travel(T0, tick=False):
        ticket = make_ticket(customer_phone="+86 138 0013 8000")  # nobody to assign: new
        assert ticket.status == Status.NEW
    agent = make_user("agent", team=support_team)
    headers = auth(agent)
    with time_machine.travel(T0 + timedelta(minutes=30), tick=False):
        response = client.post(f"/api/v1/tickets/{ticket.id}/calls", headers=headers,
                               json=call_body(started_at=iso(T0 + timedelta(minutes=20)),
                                              notes="Walked them through the reset.",
                                              recording_ref="pbx://rec/981"))
        assert response.status_code == 201, response.json
        call = response.json
        assert (call["direction"], call["outcome"], call["number"]) == (
            "outbound", "answered", "+8613800138000")
        assert call["callee_number"] == "+8613800138000" and call["caller_number"] is None
        assert (call["source"], call["logged_by_id"], call["effect"]) == (
            "staff", agent.id, "ticket_updated")
        shown = client.get(f"/api/v1/tickets/{ticket.id}", headers=headers).json
    assert shown["status"] == "open"
    assert datetime.fromisoformat(shown["sla"]["first_responded_at"]) == \
        T0 + timedelta(minutes=20)
    assert shown["sla"]["state"] == "on_track"  # only resolution is left to meet
    db.session.refresh(ticket)
    assert ticket.first_responded_at == T0 + timedelta(minutes=20)
    assert ticket.first_response_breached_at is None
    events = client.get(f"/api/v1/tickets/{ticket.id}/events", headers=headers).json["items"]
    kinds = [event["kind"] for event in events]
    assert "status_changed" in kinds and "note_added" in kinds
    logged = next(event for event in events if event["kind"] == "call_logged")
    assert logged["channel"] == "phone" and logged["actor_user_id"] == agent.id
    assert logged["data"]["call_id"] == call["id"]
    assert logged["data"]["recording_ref"] == "pbx://rec/981"
    messages = client.get(f"/api/v1/tickets/{ticket.id}/messages",
                          headers=headers).json["items"]
    summary = messages[-1]
    assert summary["id"] == call["message_id"]
    assert (summary["channel"], summary["visibility"], summary["author_kind"]) == (
        "phone", "internal", "staff")
    assert "+8613800138000" in summary["body"] and "3 min 5 s" in summary["body"]
    assert "Walked them through the reset." in summary["body"]
    assert "pbx://rec/981" in summary["body"]  # internal: staff see where the recording is


def test_a_call_that_did_not_reach_the_customer_is_no_first_response(client, headers,
                                                                      make_ticket):
    ticket = make_ticket()
    for outcome in ("no_answer", "voicemail", "busy"):
        response = client.post(f"/api/v1/tickets/{ticket.id}/calls", headers=headers,
                               json=call_body(outcome=outcome, duration_seconds=0))
        assert response.status_code == 201, response.json
    response = client.post(f"/api/v1/tickets/{ticket.id}/calls", headers=headers,
                           json=call_body(direction="inbound", outcome="answered"))
    assert response.status_code == 201
    db.session.refresh(ticket)
    assert ticket.first_responded_at is None
    assert count(CallLog) == 4


def test_a_public_call_summary_is_a_reply_without_the_recording(client, headers, make_ticket):
    ticket = make_ticket()
    response = client.post(f"/api/v1/tickets/{ticket.id}/calls", headers=headers,
                           json=call_body(outcome="no_answer", duration_seconds=0,
                                          visibility="public", recording_ref="pbx://rec/1",
                                          notes="We tried to reach you; please call back."))
    assert response.status_code == 201
    message = db.session.get(Message, response.json["message_id"])
    assert message.visibility.value == "public" and "pbx://rec/1" not in message.body
    db.session.refresh(ticket)
    assert ticket.first_responded_at is not None  # a public message is a reply


def test_an_answered_inbound_call_answers_a_pending_question(client, headers, make_ticket,
                                                             agent):
    ticket = make_ticket()
    patched = client.patch(f"/api/v1/tickets/{ticket.id}", headers=headers,
                           json={"status": "pending_customer"})
    assert patched.status_code == 200 and patched.json["sla"]["state"] == "paused"
    response = client.post(f"/api/v1/tickets/{ticket.id}/calls", headers=headers,
                           json=call_body(direction="inbound",
                                          started_at=iso(datetime.now(UTC))))
    assert response.status_code == 201, response.json
    shown = client.get(f"/api/v1/tickets/{ticket.id}", headers=headers).json
    assert shown["status"] == "open" and shown["sla"]["paused_at"] is None
    change = db.session.scalars(select(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "status_changed")
        .order_by(TicketEvent.id.desc())).first()
    assert change.data["to"] == "open" and change.actor_kind.value == "customer"


def test_staff_who_cannot_see_the_ticket_get_404(client, auth, make_user, make_team,
                                                 make_ticket):
    ticket = make_ticket()
    outsider = make_user("department", team=make_team("R&D"))
    for path in (f"/api/v1/tickets/{ticket.id}/calls", "/api/v1/tickets/999999/calls"):
        response = client.post(path, headers=auth(outsider), json=call_body())
        assert response.status_code == 404 and response.mimetype == PROBLEM
    sales = make_user("sales")
    assert client.post("/api/v1/calls", headers=auth(sales),
                       json={**call_body(), "subject": "x",
                             "customer": {"phone": "+1 555 0100"}}).status_code == 403
    assert count(CallLog) == 0


def test_no_calls_on_a_closed_ticket(client, headers, make_ticket, agent):
    ticket = make_ticket()
    close(ticket, agent)
    response = client.post(f"/api/v1/tickets/{ticket.id}/calls", headers=headers,
                           json=call_body())
    assert response.status_code == 403 and count(CallLog) == 0


# ---- staff log a call that opens a ticket ----

def test_a_call_from_a_phone_only_customer_opens_a_ticket_without_mail(client, headers):
    body = {**call_body(direction="inbound"), "subject": "Router keeps rebooting",
            "customer": {"phone": "+86 139 0000 1111", "name": "Wang Fang"}}
    response = client.post("/api/v1/calls", headers=headers, json=body)
    assert response.status_code == 201, response.json
    ticket, call = response.json["ticket"], response.json["call"]
    assert ticket["channel"] == "phone" and ticket["subject"] == "Router keeps rebooting"
    assert ticket["customer"]["email"] is None
    assert ticket["customer"]["phone"] == "+8613900001111"
    assert ticket["customer"]["name"] == "Wang Fang"
    assert call["ticket_id"] == ticket["id"] and call["effect"] == "ticket_created"
    contact = db.session.get(Contact, ticket["customer"]["id"])
    assert contact.email is None and contact.phone_normalized == "+8613900001111"
    assert count(OutboundMail) == 0  # no address: no acknowledgement is attempted
    listed = client.get("/api/v1/tickets", headers=headers).json["items"]
    assert listed[0]["customer"] == ticket["customer"]


def test_a_call_opening_a_ticket_for_a_customer_with_email_acknowledges_and_is_idempotent(
        client, headers):
    body = {**call_body(), "subject": "Invoice question", "description": "VAT id missing",
            "urgency": "high", "customer": {"email": "Li.Lei@Example.com"}}
    key = {"Idempotency-Key": "call-log-1", **headers}
    first = client.post("/api/v1/calls", headers=key, json=body)
    assert first.status_code == 201, first.json
    assert first.json["ticket"]["customer"]["email"] == "li.lei@example.com"
    # The number on the call becomes the contact's phone: their next call is recognised.
    assert first.json["ticket"]["customer"]["phone"] == "+8613800138000"
    assert first.json["ticket"]["priority"] == "high"
    assert first.json["ticket"]["sla"]["first_responded_at"] is not None  # outbound answered
    assert db.session.scalar(select(OutboundMail.to_address)) == "li.lei@example.com"
    before = counts()
    again = client.post("/api/v1/calls", headers=key, json=body)
    assert again.status_code == 200
    assert again.json["call"]["id"] == first.json["call"]["id"]
    assert again.json["ticket"]["id"] == first.json["ticket"]["id"]
    assert counts() == before
    changed = client.post("/api/v1/calls", headers=key, json={**body, "subject": "Other"})
    assert changed.status_code == 409 and counts() == before


# ---- the telephony system ----

def test_a_missed_call_from_a_known_number_joins_their_open_ticket(client, make_ticket,
                                                                  agent):
    ticket = make_ticket(customer_phone="+86 (138) 0013-8000")
    lifecycle.change_status(ticket, Status.PENDING_CUSTOMER, actor=agent,
                            now=datetime.now(UTC))
    db.session.commit()
    before = counts()
    response = signed_post(client, report())
    assert response.status_code == 201, response.json
    assert response.json["effect"] == "ticket_updated"
    assert response.json["ticket"] == {"id": ticket.id, "number": ticket.number,
                                       "status": "open"}
    call = response.json["call"]
    assert (call["source"], call["caller_number"], call["callee_number"]) == (
        "telephony", "+8613800138000", "+862100000000")
    message = db.session.get(Message, call["message_id"])
    assert (message.ticket_id, message.author_kind.value, message.channel.value) == (
        ticket.id, "customer", "phone")
    assert "Missed call" not in message.body and "missed" in message.body
    db.session.refresh(ticket)
    assert ticket.status == Status.OPEN and ticket.sla_paused_at is None
    tickets, messages, calls, contacts, *_ = counts()
    assert (tickets, messages, calls, contacts) == (before[0], before[1] + 1, 1, before[3])


def test_a_voicemail_from_an_unknown_number_opens_a_ticket_for_a_new_contact(client, agent):
    response = signed_post(client, report(
        outcome="voicemail", duration_seconds=42, caller_name="Zhang Wei",
        **{"from": "+1 (415) 555-0100"},
        voicemail_transcript="Hi, the scanner shows error E42 again. Call me back.",
        recording_ref="https://pbx.example/rec/77"))
    assert response.status_code == 201, response.json
    assert response.json["effect"] == "ticket_created"
    ticket = db.session.get(Ticket, response.json["ticket"]["id"])
    assert ticket.channel.value == "phone"
    assert ticket.subject == "Voicemail from Zhang Wei (+14155550100)"
    contact = ticket.contact
    assert (contact.email, contact.name, contact.phone_normalized) == (
        None, "Zhang Wei", "+14155550100")
    first = db.session.scalars(select(Message).where(Message.ticket_id == ticket.id)).one()
    assert first.id == response.json["call"]["message_id"]
    assert "error E42 again" in first.body and "42 s" in first.body
    assert "pbx.example" not in first.body  # the customer's own message: no internal links
    assert response.json["call"]["recording_ref"] == "https://pbx.example/rec/77"
    assert count(OutboundMail) == 0  # no email address: no acknowledgement attempted
    # Their next missed call goes onto this ticket, not a new one.
    again = signed_post(client, report(**{"from": "+14155550100"}))
    assert again.json["effect"] == "ticket_updated"
    assert again.json["ticket"]["id"] == ticket.id and count(Contact) == 1


def test_a_missed_call_from_a_known_caller_without_open_ticket_opens_one(client, make_ticket,
                                                                        agent):
    old = make_ticket(customer_email="known@example.com", customer_phone="+8613800138000")
    close(old, agent)
    response = signed_post(client, report(outcome="no_answer"))
    assert response.status_code == 201
    ticket = db.session.get(Ticket, response.json["ticket"]["id"])
    assert ticket.id != old.id and ticket.contact_id == old.contact_id
    assert ticket.subject == "+8613800138000 的未接来电"  # +86 and no known language: Chinese
    # A known customer with an address is told their ticket number, as on every channel.
    assert f"ack:ticket:{ticket.id}" in db.session.scalars(
        select(OutboundMail.dedupe_key).where(OutboundMail.to_address == "known@example.com"))


def test_an_answered_call_is_recorded_and_opens_nothing(client):
    before = counts()
    response = signed_post(client, report(outcome="answered", duration_seconds=300))
    assert response.status_code == 201
    assert response.json["effect"] == "recorded" and response.json["ticket"] is None
    assert response.json["call"]["ticket_id"] is None
    assert counts()[:2] == before[:2] and count(CallLog) == 1 and count(Contact) == before[3]


def test_the_same_call_id_twice_is_processed_once(client):
    body = report(outcome="voicemail", voicemail_transcript="Please call back.",
                  **{"from": "+44 20 7946 0000"})
    first = signed_post(client, body)
    assert first.status_code == 201
    before = counts()
    again = signed_post(client, body)
    assert again.status_code == 200
    assert again.json == first.json
    # A retry whose other fields differ (a transcript added later) is still the same call.
    changed = signed_post(client, {**body, "voicemail_transcript": "Different."})
    assert changed.status_code == 200 and changed.json["call"]["id"] == first.json["call"]["id"]
    assert counts() == before
    assert (count(Ticket), count(CallLog)) == (1, 1)


def test_a_report_retried_after_its_ticket_was_opened_logs_the_call_on_that_ticket(client):
    """The first attempt committed the ticket, then stopped before logging the call."""
    body = report(outcome="voicemail", voicemail_transcript="Hello?")
    first = signed_post(client, body)
    db.session.delete(db.session.get(CallLog, first.json["call"]["id"]))
    db.session.commit()
    retry = signed_post(client, body)
    assert retry.status_code == 201
    assert retry.json["effect"] == "ticket_created"
    assert retry.json["ticket"]["id"] == first.json["ticket"]["id"]
    assert count(Ticket) == 1 and count(Message) == 1 and count(CallLog) == 1


@pytest.mark.parametrize("case", ["no headers", "no signature", "bad signature",
                                  "wrong secret", "old timestamp", "future timestamp",
                                  "huge timestamp", "not a number", "signature scheme",
                                  "body changed"])
def test_unsigned_or_badly_signed_reports_are_401_and_write_nothing(client, case):
    body = report()
    before = counts()
    now = int(time.time())
    if case == "no headers":
        response = client.post("/api/v1/inbound/call", json=body)
    elif case == "no signature":
        response = client.post("/api/v1/inbound/call", json=body,
                               headers={"X-Loopdesk-Timestamp": str(now)})
    elif case == "bad signature":
        response = signed_post(client, body, signature="sha256=" + "0" * 64)
    elif case == "wrong secret":
        response = signed_post(client, body, secret="not-the-secret")
    elif case == "old timestamp":
        # A minute outside the 5-minute window, so a slow run cannot bring it back inside.
        response = signed_post(client, body, timestamp=now - 360)
    elif case == "future timestamp":
        response = signed_post(client, body, timestamp=now + 360)
    elif case == "huge timestamp":
        response = signed_post(client, body, timestamp=999999999999)
    elif case == "not a number":
        response = client.post("/api/v1/inbound/call", json=body, headers={
            "X-Loopdesk-Timestamp": "yesterday", "X-Loopdesk-Signature": "sha256=00"})
    elif case == "signature scheme":
        response = signed_post(client, body, signature="md5=" + "0" * 64)
    else:
        raw = json.dumps(body).encode()
        stamp = str(now)
        digest = hmac.new(SECRET.encode(), stamp.encode() + b"." + raw,
                          hashlib.sha256).hexdigest()
        response = client.post("/api/v1/inbound/call", data=raw.replace(b"missed", b"answered"),
                               content_type="application/json",
                               headers={"X-Loopdesk-Timestamp": stamp,
                                        "X-Loopdesk-Signature": f"sha256={digest}"})
    assert response.status_code == 401, (case, response.json)
    assert response.mimetype == PROBLEM
    assert counts() == before


def test_without_a_telephony_secret_reports_are_refused_with_503(app, client):
    app.config["TELEPHONY_SECRET"] = None
    before = counts()
    response = signed_post(client, report())
    assert response.status_code == 503 and response.mimetype == PROBLEM
    assert response.json["detail"] == "telephony not configured"
    assert counts() == before


# ---- bad input: a clear 400 problem naming the field, nothing written ----

_FUTURE = iso(datetime.now(UTC) + timedelta(days=1))


@pytest.mark.parametrize("change, field", [
    ({"number": "call me"}, "number"),
    ({"number": "+++"}, "number"),
    ({"duration_seconds": -1}, "duration_seconds"),
    ({"duration_seconds": 86401}, "duration_seconds"),
    ({"duration_seconds": "60"}, "duration_seconds"),
    ({"started_at": "2025-03-03T10:00:00"}, "started_at"),  # no offset
    ({"started_at": "yesterday"}, "started_at"),
    ({"started_at": "0001-01-01T00:00:00+05:00"}, "started_at"),
    ({"started_at": "1999-12-31T23:00:00+00:00"}, "started_at"),
    ({"started_at": _FUTURE}, "started_at"),
    ({"outcome": "hung_up"}, "outcome"),
    ({"direction": "sideways"}, "direction"),
    ({"visibility": "secret"}, "visibility"),
    ({"recording_ref": "x" * 501}, "recording_ref"),
    ({"caller": "+1"}, "caller"),
])
def test_bad_call_bodies_are_400_with_field_messages(client, headers, make_ticket, change,
                                                    field):
    ticket = make_ticket()
    before = counts()
    response = client.post(f"/api/v1/tickets/{ticket.id}/calls", headers=headers,
                           json=call_body(**change))
    assert response.status_code == 400, response.json
    assert response.mimetype == PROBLEM and field in response.json["errors"]
    assert counts() == before


@pytest.mark.parametrize("change, field", [
    ({"customer": {}}, "customer"),
    ({"customer": {"name": "No way to reach"}}, "customer"),
    ({"customer": {"email": "not-an-email"}}, "customer"),
    ({"customer": {"phone": "abc"}}, "customer"),
    ({"subject": ""}, "subject"),
    ({"subject": None}, "subject"),
    ({"tags": ["no spaces allowed"]}, "tags"),
])
def test_bad_new_ticket_call_bodies_are_400(client, headers, change, field):
    body = {**call_body(), "subject": "Call", "customer": {"phone": "+1 555 0100"}}
    body.update(change)
    before = counts()
    response = client.post("/api/v1/calls", headers=headers, json=body)
    assert response.status_code == 400, response.json
    assert field in response.json["errors"]
    assert counts() == before


@pytest.mark.parametrize("change, field", [
    ({"from": "anonymous"}, "from"),
    ({"from": None}, "from"),
    ({"direction": "outbound"}, "direction"),
    ({"call_id": "has spaces"}, "call_id"),
    ({"call_id": ""}, "call_id"),
    ({"outcome": "ringing"}, "outcome"),
    ({"duration_seconds": 1.5}, "duration_seconds"),
    ({"voicemail_transcript": "x" * 20001}, "voicemail_transcript"),
    ({"extra": 1}, "extra"),
])
def test_bad_reports_are_400_with_field_messages(client, change, field):
    before = counts()
    response = signed_post(client, report(**change))
    assert response.status_code == 400, response.json
    assert field in response.json["errors"]
    assert counts() == before


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b"\xff\xfe"])
def test_signed_reports_that_are_not_json_objects_are_400(client, raw):
    response = signed_post(client, raw)
    assert response.status_code == 400 and response.mimetype == PROBLEM


# ---- contacts known by phone ----

@pytest.mark.parametrize("raw, normalized", [
    ("+86 138-0013-8000", "+8613800138000"), ("(021) 6000 1234", "02160001234"),
    ("+1.415.555.0100", "+14155550100"), ("12", None), ("", None), (None, None),
    ("phone: none", None), ("+١٢٣٤", None)])
def test_normalize_phone(raw, normalized):
    assert normalize_phone(raw) == normalized


def test_contacts_keep_their_normalised_phone(app):
    contact = find_or_create_contact("pat@example.com", phone="+86 138 0013 8000")
    assert contact.phone_normalized == "+8613800138000"
    contact.phone = "+1 415 555 0100"
    assert contact.phone_normalized == "+14155550100"
    by_phone = find_or_create_contact_by_phone("+1-415-555-0100", name="Pat")
    assert by_phone.id == contact.id and by_phone.name == "pat"  # nothing overwritten
    stranger = find_or_create_contact_by_phone("+44 20 7946 0000")
    assert stranger.email is None and stranger.name == "+44 20 7946 0000"
    assert find_or_create_contact_by_phone("+442079460000", name="Sam").name == "Sam"
    db.session.commit()
    # Any number of contacts without email: NULLs never collide on the unique index.
    find_or_create_contact_by_phone("+33 1 00 00 00 00")
    db.session.commit()
    assert db.session.scalar(select(func.count()).where(Contact.email.is_(None))) == 2


def test_an_unknown_chinese_number_gets_a_chinese_ticket(client):
    response = signed_post(client, report(**{"from": "+86 139 1234 5678"}))
    ticket = db.session.get(Ticket, response.json["ticket"]["id"])
    assert ticket.language == "zh"  # routed to Chinese-speaking agents; subject in zh_CN


@pytest.mark.integration
def test_concurrent_deliveries_of_one_report_make_one_ticket_on_postgresql(pg_app):
    from concurrent.futures import ThreadPoolExecutor

    pg_app.config["TELEPHONY_SECRET"] = SECRET
    body = report(outcome="voicemail", voicemail_transcript="Call me.",
                  **{"from": "+49 30 1234567"})

    def deliver(_index: int):
        response = signed_post(pg_app.test_client(), body)
        return response.status_code, response.get_json()

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(deliver, range(16)))
    assert sorted(status for status, _ in results) == [200] * 15 + [201], results
    assert len({body["call"]["id"] for _, body in results}) == 1
    assert (count(Ticket), count(CallLog), count(Contact), count(Message)) == (1, 1, 1, 1)
