"""The chat API: sessions, visitor messages, polling, CORS, dedupe and hand-off to email."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from service.extensions import db
from service.notify.models import OutboundMail
from tickets.channels.chat.models import ChatSession
from tickets.channels.chat.services import hand_off_abandoned, visitor_present
from tickets.models import Channel, Message, Status, Ticket, TicketEvent

SHOP = "https://shop.example.com"
SESSIONS = "/api/v1/chat/sessions"


@pytest.fixture
def app_config():
    return {"CHAT_ALLOWED_ORIGINS": [SHOP, "http://127.0.0.1:8080/"]}


def start(client, **overrides):
    body = {"name": "Vera Visitor", "email": "vera@example.com",
            "message": "My order has not arrived.", "language": "en"}
    body.update(overrides)
    response = client.post(SESSIONS, json=body, headers={"Origin": SHOP})
    assert response.status_code == 201, response.json
    return response.json


def bearer(chat) -> dict[str, str]:
    return {"Authorization": f"Bearer {chat['token']}"}


def poll(client, chat, after=0):
    response = client.get(f"{SESSIONS}/{chat['id']}/messages?after={after}",
                          headers=bearer(chat))
    assert response.status_code == 200, response.json
    return response.json


def say(client, chat, body, **extra):
    return client.post(f"{SESSIONS}/{chat['id']}/messages", json={"body": body, **extra},
                       headers=bearer(chat))


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def agent(make_user, support_team, auth):
    user = make_user("agent", team=support_team, name="Alice Agent")
    return user, auth(user)


def ticket_of(chat) -> Ticket:
    db.session.expire_all()
    session = db.session.get(ChatSession, chat["id"])
    return db.session.get(Ticket, session.ticket_id)


def test_a_chat_becomes_a_chat_ticket_without_an_acknowledgement(client):
    chat = start(client, page_url="https://shop.example.com/orders")
    assert chat["token"].startswith("chat_") and len(chat["token"]) >= 40
    assert chat["ticket_number"] == "T-000001"
    assert chat["poll_interval_seconds"] > 0 and "T-000001" in chat["notice"]
    assert [(m["author"], m["body"]) for m in chat["messages"]] == [
        ("visitor", "My order has not arrived.")]
    ticket = ticket_of(chat)
    assert ticket.channel == Channel.CHAT and ticket.subject == "My order has not arrived."
    assert ticket.contact.email == "vera@example.com" and ticket.language == "en"
    session = db.session.get(ChatSession, chat["id"])
    assert session.token_hash != chat["token"] and chat["token"] not in session.token_hash
    assert session.origin == SHOP and session.page_url == "https://shop.example.com/orders"
    assert count(OutboundMail) == 0  # the chat itself answers; no mail yet
    assert count(TicketEvent, TicketEvent.kind == "chat_started") == 1

    first_id = chat["messages"][0]["id"]
    sent = say(client, chat, "Order 1234, placed Monday.")
    assert sent.status_code == 201 and sent.json["author"] == "visitor"
    assert [m["body"] for m in poll(client, chat, after=first_id)["items"]] == [
        "Order 1234, placed Monday."]
    stored = db.session.get(Message, sent.json["id"])
    assert stored.channel == Channel.CHAT and stored.ticket_id == ticket.id


def test_agent_replies_reach_the_visitor_and_notes_never_do(client, agent):
    user, headers = agent
    chat = start(client)
    ticket = ticket_of(chat)
    url = f"/api/v1/tickets/{ticket.id}/messages"
    assert client.post(url, json={"body": "Internal: courier lost it", "visibility":
                                  "internal"}, headers=headers).status_code == 201
    assert client.post(url, json={"body": "Sorry! Sending a new one today."},
                       headers=headers).status_code == 201
    items = poll(client, chat, after=chat["messages"][0]["id"])["items"]
    assert [(m["author"], m["name"], m["body"]) for m in items] == [
        ("agent", "Alice Agent", "Sorry! Sending a new one today.")]
    assert all("courier" not in m["body"] for m in poll(client, chat)["items"])
    assert set(items[0]) == {"id", "author", "name", "body", "created_at"}
    assert ticket_of(chat).first_responded_at is not None


def test_wrong_token_or_another_sessions_id_is_not_found(client):
    mine, theirs = start(client), start(client, email="other@example.com")
    url = f"{SESSIONS}/{theirs['id']}/messages"
    for headers in (bearer(mine), {"Authorization": "Bearer chat_guess"},
                    {"Authorization": "Bearer " + theirs["token"][:-1]},
                    {"Authorization": "Bearer " + "x" * 300}):
        for response in (client.get(url, headers=headers),
                         client.post(url, json={"body": "hi"}, headers=headers),
                         client.delete(f"{SESSIONS}/{theirs['id']}", headers=headers)):
            assert response.status_code == 404, response.json
            assert response.mimetype == "application/problem+json"
    assert client.get(f"{SESSIONS}/999999/messages", headers=bearer(mine)).status_code == 404
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": "Basic abc"}).status_code == 401
    assert count(Message) == 2


def test_an_expired_session_is_refused(client):
    with time_machine.travel(datetime(2025, 3, 3, 9, 0, tzinfo=UTC), tick=False) as clock:
        chat = start(client)
        clock.shift(timedelta(hours=23))
        poll(client, chat)  # activity keeps it alive
        clock.shift(timedelta(hours=23))
        poll(client, chat)
        clock.shift(timedelta(hours=25))
        assert client.get(f"{SESSIONS}/{chat['id']}/messages",
                          headers=bearer(chat)).status_code == 404


@pytest.mark.parametrize("body", [
    {},
    {"name": "", "email": "v@example.com", "message": "hi"},
    {"name": "V", "email": "not-an-email", "message": "hi"},
    {"name": "V", "email": "v@example.com", "message": "   "},
    {"name": "V", "email": "v@example.com", "message": "x" * 5001},
    {"name": "V" * 121, "email": "v@example.com", "message": "hi"},
    {"name": "V", "email": "v@example.com", "message": "hi", "language": "fr"},
    {"name": "V", "email": "v@example.com", "message": "hi", "page_url": "javascript:alert(1)"},
    {"name": "V", "email": "v@example.com", "message": "hi",
     "page_url": "https://a.example/" + "p" * 500},
    {"name": "V", "email": "v@example.com", "message": "hi", "is_vip": True},
    {"name": ["V"], "email": "v@example.com", "message": "hi"},
])
def test_bad_session_requests_are_refused_and_write_nothing(client, body):
    response = client.post(SESSIONS, json=body)
    assert response.status_code == 400, response.json
    assert response.mimetype == "application/problem+json" and response.json["errors"]
    assert count(Ticket) == 0 and count(ChatSession) == 0


def test_bad_message_and_poll_requests_are_refused(client):
    chat = start(client)
    url = f"{SESSIONS}/{chat['id']}/messages"
    bad_posts = [({"body": ""}, {}), ({"body": "x" * 5001}, {}), ({"text": "hi"}, {}),
                 ({"body": "hi", "client_id": "has space"}, {}),
                 ({"body": "hi", "client_id": "c" * 65}, {}),
                 ({"body": "hi"}, {"Idempotency-Key": "bad key!"}),
                 ({"body": "hi", "client_id": "a"}, {"Idempotency-Key": "b"})]
    for body, headers in bad_posts:
        response = client.post(url, json=body, headers={**bearer(chat), **headers})
        assert response.status_code == 400, (body, response.json)
    assert client.post(url, data="hi", headers=bearer(chat)).status_code == 400
    assert client.post(url, data=b"\xff{", content_type="application/json",
                       headers=bearer(chat)).status_code == 400
    for after in ("abc", "-1", "1.5", str(2**31), ""):
        response = client.get(f"{url}?after={after}", headers=bearer(chat))
        assert response.status_code == 400, (after, response.json)
        assert "after" in response.json["errors"]
    assert client.get(f"{url}?after=0&after=1", headers=bearer(chat)).status_code == 400
    assert client.get(f"{url}?since=1", headers=bearer(chat)).status_code == 400
    assert count(Message) == 1


def test_cors_answers_only_configured_origins_and_only_on_chat(client, agent):
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type, idempotency-key"}
    allowed = client.options(SESSIONS, headers={"Origin": SHOP, **preflight})
    assert allowed.headers["Access-Control-Allow-Origin"] == SHOP
    assert {"authorization", "content-type", "idempotency-key"} <= {
        part.strip().lower() for part in allowed.headers["Access-Control-Allow-Headers"]
        .split(",")}
    assert "Access-Control-Allow-Credentials" not in allowed.headers
    # Normalised from the configured "http://127.0.0.1:8080/".
    assert client.options(SESSIONS, headers={"Origin": "http://127.0.0.1:8080", **preflight}
                          ).headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8080"
    for origin in ("https://evil.example", "https://shop.example.com.evil.example",
                   "http://shop.example.com", "null"):
        refused = client.options(SESSIONS, headers={"Origin": origin, **preflight})
        assert "Access-Control-Allow-Origin" not in refused.headers, origin

    chat = start(client)
    url = f"{SESSIONS}/{chat['id']}/messages"
    actual = client.get(url, headers={**bearer(chat), "Origin": SHOP})
    assert actual.headers["Access-Control-Allow-Origin"] == SHOP
    assert "Origin" in actual.headers["Vary"]
    denied = client.get(url, headers={**bearer(chat), "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in denied.headers
    error = client.get(f"{url}?after=x", headers={**bearer(chat), "Origin": SHOP})
    assert error.headers["Access-Control-Allow-Origin"] == SHOP  # the widget can read errors
    staff = client.get("/api/v1/tickets", headers={**agent[1], "Origin": SHOP})
    assert "Access-Control-Allow-Origin" not in staff.headers


@pytest.mark.parametrize("app_config", [{"CHAT_ALLOWED_ORIGINS": []}])
def test_without_configured_origins_no_site_may_call_the_chat(client):
    preflight = client.options(SESSIONS, headers={"Origin": SHOP,
                                                  "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight.headers
    assert client.post(SESSIONS, json={"name": "V", "email": "v@example.com", "message": "hi"},
                       headers={"Origin": SHOP}).status_code == 403


def test_a_post_from_a_foreign_origin_is_forbidden(client):
    for origin in ("https://evil.example", "null"):
        response = client.post(SESSIONS, json={"name": "V", "email": "v@example.com",
                                               "message": "hi"}, headers={"Origin": origin})
        assert response.status_code == 403, origin
        assert response.mimetype == "application/problem+json"
    assert count(Ticket) == 0
    chat = start(client)
    response = client.post(f"{SESSIONS}/{chat['id']}/messages", json={"body": "hi"},
                           headers={**bearer(chat), "Origin": "https://evil.example"})
    assert response.status_code == 403 and count(Message) == 1
    # Our own origin (the demo page) and requests without Origin (not a browser) pass.
    assert client.post(SESSIONS, json={"name": "V", "email": "v@example.com", "message": "hi"},
                       headers={"Origin": "http://localhost"}).status_code == 201
    assert client.post(SESSIONS, json={"name": "V", "email": "v@example.com",
                                       "message": "hi"}).status_code == 201


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True,
                                         "RATELIMIT_PUBLIC": "3 per minute",
                                         "CHAT_RATELIMIT_POLL": "4 per minute",
                                         "CHAT_ALLOWED_ORIGINS": [SHOP]}])
def test_chat_endpoints_are_rate_limited_per_client(client):
    from service.extensions import limiter

    limiter.reset()
    codes = [client.post(SESSIONS, json={"name": "V", "email": f"v{n}@example.com",
                                         "message": "hi"}, headers={"Origin": SHOP})
             for n in range(4)]
    assert [response.status_code for response in codes] == [201, 201, 201, 429]
    assert codes[-1].mimetype == "application/problem+json"
    assert codes[-1].headers["Access-Control-Allow-Origin"] == SHOP
    chat = codes[0].json
    url = f"{SESSIONS}/{chat['id']}/messages"
    polls = [client.get(url, headers=bearer(chat)).status_code for _ in range(5)]
    assert polls == [200, 200, 200, 200, 429]
    other_client = client.application.test_client()
    assert other_client.get(url, headers=bearer(chat),
                            environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 200
    assert count(Ticket) == 3
    limiter.reset()


def test_a_retried_message_is_stored_once(client):
    chat = start(client)
    first = say(client, chat, "Are you there?", client_id="m-1")
    again = say(client, chat, "Are you there?", client_id="m-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json == again.json
    assert say(client, chat, "Something else", client_id="m-1").status_code == 409
    url = f"{SESSIONS}/{chat['id']}/messages"
    by_header = [client.post(url, json={"body": "Hello?"},
                             headers={**bearer(chat), "Idempotency-Key": "k-2"})
                 for _ in range(2)]
    assert [r.status_code for r in by_header] == [201, 200]
    assert by_header[0].json["id"] == by_header[1].json["id"]
    assert say(client, chat, "Hello?", client_id="k-2").status_code == 200  # same key
    assert say(client, chat, "No key").status_code == 201
    assert say(client, chat, "No key").status_code == 201  # no key: two messages
    other = start(client, email="other@example.com")
    assert say(client, other, "Are you there?", client_id="m-1").status_code == 201
    ticket = ticket_of(chat)
    bodies = [m.body for m in db.session.scalars(
        select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id))]
    assert bodies == ["My order has not arrived.", "Are you there?", "Hello?", "No key",
                      "No key"]


def test_no_agent_within_the_wait_hands_the_chat_to_email_once(client, agent):
    user, headers = agent
    with time_machine.travel(datetime(2025, 3, 3, 9, 0, tzinfo=UTC), tick=False) as clock:
        chat = start(client)
        ticket_id = ticket_of(chat).id
        clock.shift(timedelta(seconds=170))
        state = poll(client, chat)
        assert not state["handed_off"] and state["notice"] is None
        assert visitor_present(ticket_id)
        clock.shift(timedelta(seconds=15))
        state = poll(client, chat)
        assert state["handed_off"] and not state["closed"]
        assert state["notice"] == ("No agent is free right now. We will answer by email "
                                   "at vera@example.com.")
        for _ in range(2):
            assert poll(client, chat)["handed_off"]
        assert count(TicketEvent, TicketEvent.kind == "chat_handed_off") == 1
        acks = db.session.scalars(select(OutboundMail)).all()
        assert [mail.dedupe_key for mail in acks] == [f"ack:ticket:{ticket_id}"]
        assert acks[0].to_address == "vera@example.com"
        # From now on the ticket goes on by email: the widget stopped, replies are mailed.
        assert not visitor_present(ticket_id)
        reply = client.post(f"/api/v1/tickets/{ticket_id}/messages",
                            json={"body": "Back now, sorry."}, headers=headers)
        assert reply.status_code == 201
        assert not visitor_present(ticket_id)
        assert say(client, chat, "Thanks, email is fine.").status_code == 201


def test_an_agent_reply_in_time_prevents_the_hand_off(client, agent):
    user, headers = agent
    with time_machine.travel(datetime(2025, 3, 3, 9, 0, tzinfo=UTC), tick=False) as clock:
        chat = start(client)
        ticket_id = ticket_of(chat).id
        clock.shift(timedelta(seconds=60))
        client.post(f"/api/v1/tickets/{ticket_id}/messages", json={"body": "Hi, checking."},
                    headers=headers)
        clock.shift(timedelta(seconds=600))
        assert not poll(client, chat)["handed_off"]
        assert say(client, chat, "Any news?").status_code == 201  # a new unanswered message
        clock.shift(timedelta(seconds=100))
        assert not poll(client, chat)["handed_off"]
        clock.shift(timedelta(seconds=100))
        assert poll(client, chat)["handed_off"]
    assert count(OutboundMail) == 1


@pytest.mark.parametrize("app_config", [{"CHAT_AGENT_WAIT_SECONDS": 30,
                                         "CHAT_ALLOWED_ORIGINS": [SHOP]}])
def test_the_wait_is_configurable_and_notices_follow_the_chat_language(client):
    with time_machine.travel(datetime(2025, 3, 3, 9, 0, tzinfo=UTC), tick=False) as clock:
        chat = start(client, message="我的订单还没有到。", language="zh")
        assert "T-000001" in chat["notice"]
        clock.shift(timedelta(seconds=31))
        state = poll(client, chat)
    assert state["handed_off"] and "vera@example.com" in state["notice"]


def test_the_sweep_hands_off_visitors_who_left(client):
    with time_machine.travel(datetime(2025, 3, 3, 9, 0, tzinfo=UTC), tick=False) as clock:
        gone = start(client)
        clock.shift(timedelta(seconds=100))
        fresh = start(client, email="fresh@example.com")
        clock.shift(timedelta(seconds=100))
        assert hand_off_abandoned(datetime.now(UTC)) == 1
        assert hand_off_abandoned(datetime.now(UTC)) == 0
        assert poll(client, gone)["handed_off"] and not poll(client, fresh)["handed_off"]
    assert count(OutboundMail) == 1


def test_a_closed_ticket_takes_no_more_chat_messages(client):
    chat = start(client)
    ticket = ticket_of(chat)
    ticket.status = Status.CLOSED
    db.session.commit()
    response = say(client, chat, "One more thing")
    assert response.status_code == 409 and "new chat" in response.json["detail"]
    state = poll(client, chat)
    assert state["closed"] and state["notice"].startswith("This chat has ended")
    assert count(Message) == 1


def test_visitor_presence_follows_polling_and_ending(client):
    with time_machine.travel(datetime(2025, 3, 3, 9, 0, tzinfo=UTC), tick=False) as clock:
        chat = start(client)
        ticket_id = ticket_of(chat).id
        assert visitor_present(ticket_id)
        clock.shift(timedelta(seconds=61))
        assert not visitor_present(ticket_id)
        poll(client, chat)
        assert visitor_present(ticket_id) and not visitor_present(ticket_id + 1)
        assert client.delete(f"{SESSIONS}/{chat['id']}", headers=bearer(chat)).status_code == 204
        assert not visitor_present(ticket_id)
        assert say(client, chat, "hello?").status_code == 409
        assert poll(client, chat)["closed"]
        assert count(TicketEvent, TicketEvent.kind == "chat_ended") == 1


def test_widget_script_and_demo_page(client):
    script = client.get("/chat/widget.js")
    assert script.status_code == 200
    assert script.headers["Content-Type"].startswith("text/javascript")
    assert "max-age=86400" in script.headers["Cache-Control"]
    assert script.headers["ETag"]
    code = script.data.split(b"*/", 1)[1]  # after the usage comment
    assert b"attachShadow" in code and b"innerHTML" not in code
    assert b"://" not in code  # no host of its own: it talks to where it came from
    cached = client.get("/chat/widget.js", headers={"If-None-Match": script.headers["ETag"]})
    assert cached.status_code == 304
    demo = client.get("/chat/demo?lang=zh_CN")
    assert demo.status_code == 200
    assert b'src="/chat/widget.js"' in demo.data and b'data-lang="zh_CN"' in demo.data


def test_chat_endpoints_are_documented(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"post"} <= set(paths["/api/v1/chat/sessions"])
    assert {"get", "post"} <= set(paths["/api/v1/chat/sessions/{session_id}/messages"])
    assert "security" not in paths["/api/v1/chat/sessions"]["post"]
