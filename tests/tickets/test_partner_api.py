"""Partner integration tokens: create tickets, read only their own, never the internals."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service.auth.models import Role, User
from service.auth.services import create_user
from service.extensions import db
from tickets.models import Ticket

PROBLEM = "application/problem+json"


@pytest.fixture
def make_partner(app, auth):
    """make_partner(name) → bearer headers of a new partner user (no password)."""

    def factory(name: str = "Acme Reseller"):
        user = create_user(f"{name.lower().replace(' ', '-')}@partners.test", "partner", None,
                           name)
        db.session.commit()
        return auth(user)

    return factory


@pytest.fixture
def agent_headers(auth, make_user, support_team):
    return auth(make_user("agent", team=support_team))


def test_a_partner_creates_and_reads_its_own_tickets(client, make_partner, ticket_body):
    partner = make_partner()
    created = client.post("/api/v1/tickets", json=ticket_body(), headers=partner)
    assert created.status_code == 201, created.json
    ticket = created.json
    assert ticket["channel"] == "api"
    assert client.get(f"/api/v1/tickets/{ticket['id']}", headers=partner).json == ticket
    messages = client.get(f"/api/v1/tickets/{ticket['id']}/messages", headers=partner)
    assert messages.status_code == 200 and len(messages.json["items"]) == 1
    listed = client.get("/api/v1/tickets", headers=partner).json["items"]
    assert [item["id"] for item in listed] == [ticket["id"]]


def test_a_partner_sees_nothing_it_did_not_create(client, make_partner, ticket_body,
                                                 agent_headers, make_ticket):
    mine, other = make_partner("Mine"), make_partner("Other")
    theirs = client.post("/api/v1/tickets", json=ticket_body(), headers=other).json["id"]
    by_staff = client.post("/api/v1/tickets", json=ticket_body(),
                           headers=agent_headers).json["id"]
    by_customer = make_ticket().id
    for ticket_id in (theirs, by_staff, by_customer, 999999):
        for path in ("", "/messages", "/events"):
            response = client.get(f"/api/v1/tickets/{ticket_id}{path}", headers=mine)
            assert response.status_code == 404, (ticket_id, path)
            assert response.mimetype == PROBLEM
    assert client.get("/api/v1/tickets", headers=mine).json["items"] == []
    assert client.get(f"/api/v1/tickets?q=T-{theirs:06d}", headers=mine).json["items"] == []


def test_a_partner_changes_nothing_on_a_ticket(client, make_partner, ticket_body):
    partner = make_partner()
    ticket_id = client.post("/api/v1/tickets", json=ticket_body(), headers=partner).json["id"]
    denied = [
        client.patch(f"/api/v1/tickets/{ticket_id}", json={"status": "resolved"},
                     headers=partner),
        client.patch(f"/api/v1/tickets/{ticket_id}", json={"priority": "urgent"},
                     headers=partner),
        client.post(f"/api/v1/tickets/{ticket_id}/messages", json={"body": "hi"},
                    headers=partner),
        client.post(f"/api/v1/tickets/{ticket_id}/messages",
                    json={"body": "note", "visibility": "internal"}, headers=partner),
        client.post(f"/api/v1/tickets/{ticket_id}/calls", headers=partner, json={
            "direction": "outbound", "number": "+1 555 0100", "outcome": "answered",
            "started_at": "2025-01-01T10:00:00+08:00", "duration_seconds": 10}),
        client.post("/api/v1/tickets", json=ticket_body(priority="urgent"), headers=partner),
    ]
    assert [response.status_code for response in denied] == [403] * len(denied)
    assert all(response.mimetype == PROBLEM for response in denied)
    ticket = db.session.get(Ticket, ticket_id)
    assert ticket.status.value in ("new", "open") and ticket.priority.value != "urgent"
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1


def test_a_partner_reads_public_messages_only(client, make_partner, ticket_body,
                                             agent_headers):
    partner = make_partner()
    ticket_id = client.post("/api/v1/tickets", json=ticket_body(), headers=partner).json["id"]
    url = f"/api/v1/tickets/{ticket_id}/messages"
    assert client.post(url, json={"body": "Customer is difficult", "visibility": "internal"},
                       headers=agent_headers).status_code == 201
    assert client.post(url, json={"body": "We are on it."},
                       headers=agent_headers).status_code == 201
    seen = [item["body"] for item in client.get(url, headers=partner).json["items"]]
    assert "We are on it." in seen and "Customer is difficult" not in seen
    staff_seen = [item["body"] for item in client.get(url, headers=agent_headers).json["items"]]
    assert "Customer is difficult" in staff_seen
    assert client.get(f"/api/v1/tickets/{ticket_id}/events",
                      headers=agent_headers).status_code == 200
    assert client.get(f"/api/v1/tickets/{ticket_id}/events", headers=partner).status_code == 404


def test_idempotency_keys_are_scoped_per_partner(client, make_partner, ticket_body):
    first, second = make_partner("First"), make_partner("Second")
    body = ticket_body()
    key = {"Idempotency-Key": "order-4711"}
    a = client.post("/api/v1/tickets", json=body, headers={**first, **key})
    b = client.post("/api/v1/tickets", json=body, headers={**second, **key})
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json["id"] != b.json["id"]
    again = client.post("/api/v1/tickets", json=body, headers={**first, **key})
    assert again.status_code == 200 and again.json["id"] == a.json["id"]
    # The other partner's retry gets its own ticket, never the first partner's.
    assert client.post("/api/v1/tickets", json=body,
                       headers={**second, **key}).json["id"] == b.json["id"]


def test_partners_create_cli_prints_a_working_token(runner, client, ticket_body):
    result = runner.invoke(args=["partners", "create", "Acme Reseller GmbH"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    partner = db.session.scalar(select(User).where(User.role == Role.PARTNER))
    assert partner.name == "Acme Reseller GmbH" and partner.password_hash is None
    assert partner.email.endswith("@partners.invalid") and partner.email in result.output
    headers = {"Authorization": f"Bearer {token}"}
    created = client.post("/api/v1/tickets", json=ticket_body(), headers=headers)
    assert created.status_code == 201
    assert db.session.get(Ticket, created.json["id"]).created_by_id == partner.id
    # No password: the partner cannot trade one for a token (nor log in to the console).
    assert client.post("/api/v1/auth/tokens", json={"email": partner.email,
                                                    "password": "anything at all"}
                       ).status_code == 401
    with_email = runner.invoke(args=["partners", "create", "Beta", "--email",
                                     "API@Beta.example"])
    assert with_email.exit_code == 0 and "api@beta.example" in with_email.output


@pytest.mark.parametrize("args, message", [
    (["partners", "create", "Beta", "--email", "not-an-email"], "email"),
    (["partners", "create", "   "], "NAME"),
    (["partners", "create", "x" * 121], "NAME"),
])
def test_partners_create_cli_rejects_bad_input(runner, args, message):
    result = runner.invoke(args=args)
    assert result.exit_code != 0 and message in result.output
    assert "Traceback" not in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_partners_create_cli_refuses_a_taken_email(runner):
    assert runner.invoke(args=["partners", "create", "A", "--email", "a@x.example"]
                         ).exit_code == 0
    again = runner.invoke(args=["partners", "create", "B", "--email", "A@x.example"])
    assert again.exit_code != 0 and "already exists" in again.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
