"""The tickets API as an integrator uses it: shapes, status codes, errors."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from service.extensions import db
from tickets.models import Ticket

from tests.tickets.helpers_resolution import resolve_ticket

PROBLEM = "application/problem+json"


@pytest.fixture
def agent(make_user, support_team):
    return make_user("agent", team=support_team)


@pytest.fixture
def headers(auth, agent):
    return auth(agent)


def test_create_ticket_returns_the_published_shape(client, headers, ticket_body, agent):
    response = client.post("/api/v1/tickets", json=ticket_body(urgency="high"), headers=headers)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["number"] == f"T-{body['id']:06d}"
    assert body["status"] == "open"  # assigned at once
    assert body["priority"] == "high"
    assert body["priority_reason"] == "customer urgency high"
    assert body["channel"] == "api"
    assert body["customer"]["email"].endswith("@example.com")
    assert body["team"]["name"] == "Support"
    assert body["assignee"] == {"id": agent.id, "name": agent.name}
    sla = body["sla"]
    assert sla["policy"] == "High" and sla["state"] == "on_track"
    created = datetime.fromisoformat(body["created_at"])
    assert datetime.fromisoformat(sla["first_response_due_at"]) - created == timedelta(hours=4)
    assert datetime.fromisoformat(sla["resolution_due_at"]) - created == timedelta(hours=24)
    assert created.utcoffset() == timedelta(0)


def test_customer_is_found_by_email_case_insensitively(client, headers, ticket_body):
    first = client.post("/api/v1/tickets", headers=headers,
                        json=ticket_body(customer={"email": "Mixed.Case@Example.com"})).json
    second = client.post("/api/v1/tickets", headers=headers,
                         json=ticket_body(customer={"email": "mixed.case@example.COM"})).json
    assert first["customer"]["id"] == second["customer"]["id"]
    assert first["customer"]["email"] == "mixed.case@example.com"


@pytest.mark.parametrize("headers_value", [None, "Bearer", "Bearer nope", "Basic abc",
                                           "Bearer ld_" + "x" * 43])
def test_missing_or_bad_token_is_401_problem(client, ticket_body, headers_value):
    headers = {"Authorization": headers_value} if headers_value else {}
    response = client.post("/api/v1/tickets", json=ticket_body(), headers=headers)
    assert response.status_code == 401
    assert response.mimetype == PROBLEM
    assert response.json["status"] == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_department_role_may_not_create_tickets(client, auth, make_user, ticket_body):
    response = client.post("/api/v1/tickets", json=ticket_body(),
                           headers=auth(make_user("department")))
    assert response.status_code == 403
    assert response.mimetype == PROBLEM


def test_sales_may_create_but_not_set_priority(client, auth, make_user, ticket_body):
    headers = auth(make_user("sales"))
    assert client.post("/api/v1/tickets", json=ticket_body(), headers=headers).status_code == 201
    response = client.post("/api/v1/tickets", json=ticket_body(priority="urgent"),
                           headers=headers)
    assert response.status_code == 403


def test_staff_priority_wins(client, headers, ticket_body):
    body = client.post("/api/v1/tickets", json=ticket_body(priority="low", urgency="urgent"),
                       headers=headers).json
    assert body["priority"] == "low"
    assert body["priority_reason"] == "set by staff: low"


@pytest.mark.parametrize("change, field", [
    ({"subject": ""}, "subject"),
    ({"subject": "x" * 201}, "subject"),
    ({"subject": 42}, "subject"),
    ({"description": ""}, "description"),
    ({"description": "x" * 20001}, "description"),
    ({"customer": {"email": "not-an-email"}}, "customer"),
    ({"customer": {"email": "a@b.c", "name": ""}}, "customer"),
    ({"customer": {"email": "ok@example.com", "phone": "call me"}}, "customer"),
    ({"customer": {"email": "ok@example.com", "role": "admin"}}, "customer"),
    ({"customer": "someone@example.com"}, "customer"),
    ({"urgency": "asap"}, "urgency"),
    ({"priority": "p1"}, "priority"),
    ({"language": "fr"}, "language"),
    ({"tags": "one"}, "tags"),
    ({"tags": ["has space"]}, "tags"),
    ({"tags": ["t"] * 21}, "tags"),
    ({"category": "x" * 81}, "category"),
    ({"status": "closed"}, "status"),
    ({"id": 5}, "id"),
    ({"assignee": 1}, "assignee"),
])
def test_bad_fields_are_400_with_field_messages(client, headers, ticket_body, change, field):
    before = db.session.query(Ticket).count()
    response = client.post("/api/v1/tickets", json=ticket_body(**change), headers=headers)
    assert response.status_code == 400, response.json
    assert response.mimetype == PROBLEM
    assert field in response.json["errors"]
    assert db.session.query(Ticket).count() == before


@pytest.mark.parametrize("missing", ["subject", "description", "customer"])
def test_missing_required_fields(client, headers, ticket_body, missing):
    body = ticket_body()
    del body[missing]
    response = client.post("/api/v1/tickets", json=body, headers=headers)
    assert response.status_code == 400
    assert missing in response.json["errors"]


@pytest.mark.parametrize("data, content_type", [
    ("{not json", "application/json"),
    ("[1, 2]", "application/json"),
    ("null", "application/json"),
    ("subject=x", "application/x-www-form-urlencoded"),
    ("\xff\xfe", "application/json"),
])
def test_malformed_bodies_are_400(client, headers, data, content_type):
    response = client.post("/api/v1/tickets", data=data, content_type=content_type,
                           headers=headers)
    assert response.status_code == 400
    assert response.mimetype == PROBLEM


def test_idempotency_key_replays_and_conflicts(client, headers, ticket_body):
    body = ticket_body()
    key = {"Idempotency-Key": "order-42", **headers}
    first = client.post("/api/v1/tickets", json=body, headers=key)
    again = client.post("/api/v1/tickets", json=body, headers=key)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json["id"] == first.json["id"]
    other = client.post("/api/v1/tickets", json={**body, "subject": "Different"}, headers=key)
    assert other.status_code == 409
    assert other.mimetype == PROBLEM
    assert db.session.query(Ticket).count() == 1


@pytest.mark.parametrize("key", ["", "x" * 201, "bad\u0007key"])
def test_bad_idempotency_key_is_400(client, headers, ticket_body, key):
    response = client.post("/api/v1/tickets", json=ticket_body(),
                           headers={**headers, "Idempotency-Key": key})
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json["errors"]


def test_get_and_not_found(client, headers, ticket_body):
    created = client.post("/api/v1/tickets", json=ticket_body(), headers=headers).json
    assert client.get(f"/api/v1/tickets/{created['id']}", headers=headers).json == created
    missing = client.get("/api/v1/tickets/999999", headers=headers)
    assert missing.status_code == 404 and missing.mimetype == PROBLEM
    assert client.get("/api/v1/tickets/abc", headers=headers).status_code == 404
    assert client.get("/api/v1/nowhere", headers=headers).mimetype == PROBLEM


def test_sales_sees_only_their_accounts_tickets(client, auth, make_user, headers, ticket_body):
    ticket_id = client.post("/api/v1/tickets", json=ticket_body(), headers=headers).json["id"]
    sales = auth(make_user("sales"))
    assert client.get(f"/api/v1/tickets/{ticket_id}", headers=sales).status_code == 404
    assert client.get("/api/v1/tickets", headers=sales).json["items"] == []
    assert client.patch(f"/api/v1/tickets/{ticket_id}", json={"priority": "low"},
                        headers=sales).status_code == 403


def test_list_filters_and_keyset_pages(client, headers, ticket_body, agent):
    ids = [client.post("/api/v1/tickets", json=ticket_body(urgency=u), headers=headers).json["id"]
           for u in ["low", "high", "high", "urgent", "normal"]]
    page = client.get("/api/v1/tickets?limit=2", headers=headers).json
    assert [item["id"] for item in page["items"]] == ids[::-1][:2]
    seen = [item["id"] for item in page["items"]]
    while page["next_cursor"]:
        page = client.get(f"/api/v1/tickets?limit=2&cursor={page['next_cursor']}",
                          headers=headers).json
        seen += [item["id"] for item in page["items"]]
    assert seen == ids[::-1]
    high = client.get("/api/v1/tickets?priority=high", headers=headers).json["items"]
    assert {item["id"] for item in high} == {ids[1], ids[2]}
    both = client.get("/api/v1/tickets?priority=high,urgent&sort=created_at",
                      headers=headers).json["items"]
    assert [item["id"] for item in both] == [ids[1], ids[2], ids[3]]
    mine = client.get("/api/v1/tickets?assignee=me&status=open", headers=headers).json["items"]
    assert len(mine) == 5
    assert client.get("/api/v1/tickets?assignee=none", headers=headers).json["items"] == []
    by_number = client.get(f"/api/v1/tickets?q=T-{ids[0]:06d}", headers=headers).json["items"]
    assert [item["id"] for item in by_number] == [ids[0]]


@pytest.mark.parametrize("query, field", [
    ("status=bogus", "status"), ("priority=p0", "priority"), ("limit=0", "limit"),
    ("limit=1000", "limit"), ("limit=abc", "limit"), ("sort=subject", "sort"),
    ("sort=-password_hash", "sort"), ("cursor=%%%", "cursor"), ("cursor=eyJ4IjoxfQ", "cursor"),
    ("assignee=bob", "assignee"), ("team=x", "team"), ("sla_state=late", "sla_state"),
    ("order_by=id", "order_by"), ("limit=1&limit=2", "limit"),
])
def test_bad_query_parameters_are_400(client, headers, query, field):
    response = client.get(f"/api/v1/tickets?{query}", headers=headers)
    assert response.status_code == 400, response.json
    assert field in response.json["errors"]


def test_cursor_from_another_sort_is_rejected(client, headers, ticket_body):
    for _ in range(3):
        client.post("/api/v1/tickets", json=ticket_body(), headers=headers)
    cursor = client.get("/api/v1/tickets?limit=1", headers=headers).json["next_cursor"]
    response = client.get(f"/api/v1/tickets?limit=1&sort=updated_at&cursor={cursor}",
                          headers=headers)
    assert response.status_code == 400


def test_patch_changes_and_records_events(client, headers, ticket_body, make_team):
    ticket = client.post("/api/v1/tickets", json=ticket_body(), headers=headers).json
    url = f"/api/v1/tickets/{ticket['id']}"
    response = client.patch(url, json={"priority": "urgent", "category": "billing",
                                       "tags": ["VIP", "refund"], "reason": "customer escalated"},
                            headers=headers)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["priority"] == "urgent" and body["category"] == "billing"
    assert body["tags"] == ["refund", "vip"]
    created = datetime.fromisoformat(body["created_at"])
    first_due = datetime.fromisoformat(body["sla"]["first_response_due_at"])
    assert first_due - created == timedelta(hours=1)
    kinds = [event["kind"] for event in client.get(f"{url}/events", headers=headers).json["items"]]
    assert kinds[:2] == ["created", "assigned"]
    assert {"priority_changed", "category_changed", "tags_changed"} <= set(kinds)


@pytest.mark.parametrize("change", [
    {"number": "T-1"}, {"subject": "new"}, {"customer": {"email": "x@y.zz"}}, {"sla": {}},
    {"created_at": "2020-01-01T00:00:00Z"}, {}, {"reason": "only a reason"},
    {"priority": "top"}, {"team": 999999}, {"assignee": 999999}, {"team": "1"},
])
def test_bad_patches_are_400(client, headers, ticket_body, change):
    ticket = client.post("/api/v1/tickets", json=ticket_body(), headers=headers).json
    response = client.patch(f"/api/v1/tickets/{ticket['id']}", json=change, headers=headers)
    assert response.status_code == 400, response.json
    assert response.mimetype == PROBLEM
    assert client.get(f"/api/v1/tickets/{ticket['id']}", headers=headers).json == ticket


def test_illegal_status_change_is_409(client, headers, ticket_body, agent):
    ticket = client.post("/api/v1/tickets", json=ticket_body(), headers=headers).json
    url = f"/api/v1/tickets/{ticket['id']}"
    assert client.patch(url, json={"status": "reopened"}, headers=headers).status_code == 409
    # Resolving takes the resolution (with its verification), never a status change.
    resolving = client.patch(url, json={"status": "resolved"}, headers=headers)
    assert resolving.status_code == 409 and resolving.mimetype == PROBLEM
    assert resolving.json["type"].endswith("invalid-transition")
    assert "/api/v1/tickets/{id}/resolution" in resolving.json["detail"]
    assert client.get(url, headers=headers).json["status"] == ticket["status"]
    resolve_ticket(agent, db.session.get(Ticket, ticket["id"]))
    unexplained = client.patch(url, json={"status": "closed"}, headers=headers)
    assert unexplained.status_code == 400 and "reason" in unexplained.json["errors"]
    assert client.get(url, headers=headers).json["status"] == "resolved"
    assert client.patch(url, json={"status": "closed", "reason": "duplicate of T-000001"},
                        headers=headers).status_code == 200
    response = client.patch(url, json={"status": "open"}, headers=headers)
    assert response.status_code == 409
    assert response.mimetype == PROBLEM
    assert response.json["type"].endswith("invalid-transition")
    assert "closed" in response.json["detail"]
    assert client.patch(url, json={"status": "reopened", "reason": "oops"},
                        headers=headers).status_code == 409


def test_messages_first_public_reply_meets_first_response(client, headers, ticket_body):
    ticket = client.post("/api/v1/tickets", json=ticket_body(), headers=headers).json
    url = f"/api/v1/tickets/{ticket['id']}/messages"
    note = client.post(url, json={"body": "internal thought", "visibility": "internal"},
                       headers=headers)
    assert note.status_code == 201
    detail = client.get(f"/api/v1/tickets/{ticket['id']}", headers=headers).json
    assert detail["sla"]["first_responded_at"] is None
    reply = client.post(url, json={"body": "We are on it."}, headers=headers)
    assert reply.status_code == 201 and reply.json["visibility"] == "public"
    detail = client.get(f"/api/v1/tickets/{ticket['id']}", headers=headers).json
    assert detail["sla"]["first_responded_at"] == reply.json["created_at"]
    messages = client.get(url, headers=headers).json["items"]
    assert [m["author_kind"] for m in messages] == ["customer", "staff", "staff"]
    assert messages[0]["body"] == "It is on fire. Please help."


@pytest.mark.parametrize("body", [{}, {"body": ""}, {"body": "x", "visibility": "secret"},
                                  {"body": "x", "author": "ceo"}, {"body": ["x"]}])
def test_bad_messages_are_400(client, headers, ticket_body, body):
    ticket = client.post("/api/v1/tickets", json=ticket_body(), headers=headers).json
    response = client.post(f"/api/v1/tickets/{ticket['id']}/messages", json=body,
                           headers=headers)
    assert response.status_code == 400


def test_department_may_note_but_not_reply(client, auth, make_user, headers, ticket_body,
                                           support_team):
    ticket = client.post("/api/v1/tickets", json=ticket_body(), headers=headers).json
    member = auth(make_user("department", team=support_team))
    url = f"/api/v1/tickets/{ticket['id']}/messages"
    assert client.post(url, json={"body": "x"}, headers=member).status_code == 403
    assert client.post(url, json={"body": "x", "visibility": "internal"},
                       headers=member).status_code == 201


def test_events_and_messages_page_by_cursor(client, headers, ticket_body):
    ticket = client.post("/api/v1/tickets", json=ticket_body(), headers=headers).json
    url = f"/api/v1/tickets/{ticket['id']}/messages"
    for number in range(3):
        client.post(url, json={"body": f"note {number}", "visibility": "internal"},
                    headers=headers)
    first = client.get(f"{url}?limit=2", headers=headers).json
    second = client.get(f"{url}?limit=2&cursor={first['next_cursor']}", headers=headers).json
    assert len(first["items"]) == 2 and len(second["items"]) == 2
    assert second["next_cursor"] is None
    assert client.get(f"{url}?limit=0", headers=headers).status_code == 400


def test_token_endpoint(client, make_user):
    make_user("agent", email="pat@staff.test", password="s3cret-pass")
    response = client.post("/api/v1/auth/tokens",
                           json={"email": "PAT@staff.test", "password": "s3cret-pass"})
    assert response.status_code == 201
    token = response.json["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/tickets", headers=bearer).status_code == 200
    wrong = client.post("/api/v1/auth/tokens", json={"email": "pat@staff.test", "password": "no"})
    unknown = client.post("/api/v1/auth/tokens", json={"email": "who@staff.test", "password": "no"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json["detail"] == unknown.json["detail"]
    assert client.post("/api/v1/auth/tokens", json={"email": "pat@staff.test"}).status_code == 400


def test_tokens_are_stored_hashed(client, make_user):
    from service.auth.models import ApiToken

    make_user("agent", email="hash@staff.test", password="s3cret-pass")
    token = client.post("/api/v1/auth/tokens",
                        json={"email": "hash@staff.test", "password": "s3cret-pass"}).json["token"]
    stored = db.session.query(ApiToken).one()
    assert token not in (stored.token_hash, stored.token_prefix)
    assert len(stored.token_hash) == 64


def test_disabled_user_token_stops_working(client, auth, make_user):
    user = make_user("agent")
    headers = auth(user)
    user.is_active = False
    db.session.commit()
    assert client.get("/api/v1/tickets", headers=headers).status_code == 401


def test_openapi_and_docs(client):
    from openapi_spec_validator import validate

    spec = client.get("/api/v1/openapi.json").json
    validate(spec)  # a valid OpenAPI 3 document, not merely JSON
    assert spec["openapi"].startswith("3.")
    assert {"post", "get"} <= set(spec["paths"]["/api/v1/tickets"])
    assert "patch" in spec["paths"]["/api/v1/tickets/{ticket_id}"]
    assert "TicketIn" in spec["components"]["schemas"]
    page = client.get("/api/docs")
    assert page.status_code == 200 and b"swagger-ui-bundle.js" in page.data
    assert b"//cdn" not in page.data and b"unpkg" not in page.data
    with client.get("/api/docs/assets/swagger-ui-bundle.js") as asset:
        assert asset.status_code == 200
    assert client.get("/api/docs/assets/../../etc/passwd").status_code == 404


def test_health_endpoints(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json["checks"]["database"] == "ok"


def test_list_items_match_the_documented_schema(client, headers, ticket_body):
    from tickets.schemas import TicketOut

    created = client.post("/api/v1/tickets", json=ticket_body(tags=["a", "b"]),
                          headers=headers).json
    item = client.get("/api/v1/tickets", headers=headers).json["items"][0]
    assert item == created
    assert set(item) == set(TicketOut().fields)


@pytest.mark.parametrize("path", [
    "/api/v1/tickets/99999999999999999999", "/api/v1/tickets/2147483648",
    "/api/v1/tickets/0", "/api/v1/tickets/-1", "/api/v1/tickets/2147483648/messages",
    "/api/v1/tickets/2147483648/events",
])
def test_out_of_range_ids_are_404_not_database_errors(client, headers, path):
    response = client.get(path, headers=headers)
    assert response.status_code == 404
    assert response.mimetype == PROBLEM


@pytest.mark.parametrize("query, status", [
    ("team=2147483648", 400), ("assignee=9999999999", 400), ("q=T-9999999999", 200),
])
def test_out_of_range_filters(client, headers, query, status):
    response = client.get(f"/api/v1/tickets?{query}", headers=headers)
    assert response.status_code == status
    if status == 200:
        assert response.json["items"] == []


def test_out_of_range_patch_ids_are_400(client, headers, ticket_body):
    ticket = client.post("/api/v1/tickets", json=ticket_body(), headers=headers).json
    for change in ({"team": 2**31}, {"assignee": 2**40}):
        response = client.patch(f"/api/v1/tickets/{ticket['id']}", json=change, headers=headers)
        assert response.status_code == 400


def test_patch_changes_the_product_on_the_timeline(client, headers, ticket_body):
    ticket_id = client.post("/api/v1/tickets", json=ticket_body(), headers=headers).json["id"]
    response = client.patch(f"/api/v1/tickets/{ticket_id}", json={"product": "Scanner"},
                            headers=headers)
    assert response.status_code == 200 and response.json["product"] == "Scanner"
    events = client.get(f"/api/v1/tickets/{ticket_id}/events", headers=headers).json["items"]
    assert any(event["kind"] == "product_changed" for event in events)
    assert client.patch(f"/api/v1/tickets/{ticket_id}", json={"product": "x" * 500},
                        headers=headers).status_code == 400
