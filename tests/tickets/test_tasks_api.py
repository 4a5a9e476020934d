"""The tasks API as an integrator uses it: shapes, status codes, refusals, lists."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from service.extensions import db
from service.notify.models import OutboundMail
from tickets import lifecycle
from tickets.models import Status, Ticket
from tickets.tasks.models import Task

PROBLEM = "application/problem+json"


@pytest.fixture
def world(make_user, make_team, support_team, make_ticket, auth):
    agent = make_user("agent", team=support_team)
    rnd = make_team("R&D", lead=make_user("lead"))
    developer = make_user("department", team=rnd)
    qa = make_team("QA")
    tester = make_user("department", team=qa)
    ticket = make_ticket()
    assert ticket.assignee_id == agent.id
    return SimpleNamespace(agent=agent, rnd=rnd, developer=developer, qa=qa, tester=tester,
                           ticket=ticket, as_agent=auth(agent), as_developer=auth(developer),
                           as_tester=auth(tester))


def create(client, world, ticket_id=None, headers=None, **fields):
    body = {"title": "Check the firmware", "department_id": world.rnd.id, **fields}
    return client.post(f"/api/v1/tickets/{ticket_id or world.ticket.id}/tasks", json=body,
                       headers=headers or world.as_agent)


def test_create_returns_the_published_shape(client, world):
    response = create(client, world, description="Boot loop", assignee_id=world.developer.id,
                      expected_outcome="A patched build")
    assert response.status_code == 201, response.json
    task = response.json
    assert task["ticket"] == {"id": world.ticket.id, "number": world.ticket.number}
    assert task["department"] == {"id": world.rnd.id, "name": "R&D"}
    assert task["assignee"] == {"id": world.developer.id, "name": world.developer.name}
    assert task["created_by"] == {"id": world.agent.id, "name": world.agent.name}
    assert task["status"] == "open" and task["overdue"] is False
    assert task["escalated_at"] is None and task["finished_at"] is None
    assert task["expected_outcome"] == "A patched build" and task["outcome"] is None
    due = datetime.fromisoformat(task["due_at"])
    assert due - datetime.fromisoformat(task["created_at"]) == timedelta(days=1)
    assert due.utcoffset() == timedelta(0)
    ticket = client.get(f"/api/v1/tickets/{world.ticket.id}", headers=world.as_agent).json
    assert ticket["status"] == "pending_internal" and ticket["sla"]["state"] != "paused"
    listed = client.get(f"/api/v1/tickets/{world.ticket.id}/tasks", headers=world.as_agent)
    assert [item["id"] for item in listed.json["items"]] == [task["id"]]


@pytest.mark.parametrize("fields, field", [
    ({"title": None}, "title"),
    ({"title": ""}, "title"),
    ({"department_id": 999_999}, "department_id"),
    ({"assignee_id": "tester"}, "assignee_id"),
    ({"due_at": "2020-01-01T00:00:00+00:00"}, "due_at"),
    ({"due_at": "2030-01-01T00:00:00"}, "due_at"),  # no offset
    ({"colour": "red"}, "colour"),
])
def test_invalid_fields_are_400_with_the_field_named(client, world, fields, field):
    if fields.get("assignee_id") == "tester":
        fields["assignee_id"] = world.tester.id
    body = {"title": "Check the firmware", "department_id": world.rnd.id, **fields}
    body = {key: value for key, value in body.items() if value is not None}
    response = client.post(f"/api/v1/tickets/{world.ticket.id}/tasks", json=body,
                           headers=world.as_agent)
    assert response.status_code == 400 and response.mimetype == PROBLEM
    assert field in response.json["errors"]
    assert db.session.get(Ticket, world.ticket.id).status == Status.OPEN


def test_who_may_create(client, world, auth, make_user):
    assert create(client, world, headers=auth(make_user("sales"))).status_code == 403
    assert create(client, world, headers=world.as_developer).status_code == 403
    stranger = make_user("agent", team=world.qa)  # cannot see the Support team's ticket
    assert create(client, world, headers=auth(stranger)).status_code == 404


@pytest.mark.parametrize("status", [Status.RESOLVED, Status.CLOSED])
def test_resolved_or_closed_ticket_is_409(client, world, status):
    task = create(client, world).json
    ticket = db.session.get(Ticket, world.ticket.id)
    lifecycle.change_status(ticket, Status.RESOLVED, actor=world.agent, now=datetime.now(UTC))
    lifecycle.change_status(ticket, status, actor=world.agent, now=datetime.now(UTC))
    db.session.commit()
    response = create(client, world)
    assert response.status_code == 409 and response.mimetype == PROBLEM
    response = client.patch(f"/api/v1/tasks/{task['id']}", json={"status": "done"},
                            headers=world.as_developer)
    assert response.status_code == 409


def test_other_departments_cannot_see_or_patch(client, world, auth, make_user):
    task = create(client, world).json
    url = f"/api/v1/tasks/{task['id']}"
    assert client.get(url, headers=world.as_tester).status_code == 404
    assert client.patch(url, json={"status": "done"},
                        headers=world.as_tester).status_code == 404
    assert client.post(url + "/notes", json={"body": "hi"},
                       headers=world.as_tester).status_code == 404
    assert client.get(f"/api/v1/tickets/{world.ticket.id}/tasks",
                      headers=world.as_tester).status_code == 404
    assert client.get("/api/v1/tasks", headers=world.as_tester).json["items"] == []
    # A support colleague sees the ticket and its tasks, but does not work them.
    colleague = auth(make_user("agent", team=world.agent.teams[0]))
    assert client.get(url, headers=colleague).status_code == 200
    response = client.patch(url, json={"status": "done"}, headers=colleague)
    assert response.status_code == 403 and response.mimetype == PROBLEM
    assert client.post(url + "/notes", json={"body": "hi"},
                       headers=colleague).status_code == 403


def test_finishing_and_reopening_move_the_ticket(client, world):
    task = create(client, world).json
    url = f"/api/v1/tasks/{task['id']}"
    response = client.patch(url, json={"status": "done", "outcome": "Patched in 2.3.1",
                                       "note": "Shipped the fix"}, headers=world.as_developer)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["status"] == "done" and body["finished_at"]
    assert body["outcome"] == "Patched in 2.3.1"
    assert [(note["body"], note["status"]) for note in body["notes"]] == [
        ("Shipped the fix", "done")]
    assert db.session.get(Ticket, world.ticket.id).status == Status.OPEN
    response = client.patch(url, json={"status": "in_progress"}, headers=world.as_agent)
    assert response.json["finished_at"] is None
    db.session.expire_all()
    assert db.session.get(Ticket, world.ticket.id).status == Status.PENDING_INTERNAL
    assert client.patch(url, json={"status": "nope"},
                        headers=world.as_agent).json["errors"].keys() == {"status"}
    assert client.patch(url, json={}, headers=world.as_agent).status_code == 400
    client.patch(url, json={"status": "cancelled"}, headers=world.as_agent)
    response = client.patch(url, json={"status": "blocked"}, headers=world.as_agent)
    assert response.status_code == 409  # reopen to open or in_progress first


def test_publishing_a_note_sends_it_to_the_customer(client, world):
    task = create(client, world).json
    response = client.post(f"/api/v1/tasks/{task['id']}/notes",
                           json={"body": "The fix ships tonight.", "publish_to_customer": True,
                                 "status": "in_progress"},
                           headers=world.as_developer)
    assert response.status_code == 201, response.json
    note = response.json
    assert note["published"] is True and note["message_id"] and note["status"] == "in_progress"
    assert note["author"] == {"id": world.developer.id, "name": world.developer.name}
    messages = client.get(f"/api/v1/tickets/{world.ticket.id}/messages",
                          headers=world.as_agent).json["items"]
    [public] = [m for m in messages if m["id"] == note["message_id"]]
    assert public["visibility"] == "public" and public["body"] == "The fix ships tonight."
    mail = db.session.scalar(select(OutboundMail).where(
        OutboundMail.dedupe_key == f"reply:message:{note['message_id']}"))
    assert mail is not None and mail.to_address == world.ticket.contact.email
    assert "The fix ships tonight." in mail.body_text


def test_unpublished_notes_stay_internal(client, world, auth, make_user, ticket_body):
    partner = make_user("partner")
    as_partner = auth(partner)
    created = client.post("/api/v1/tickets", json=ticket_body(), headers=as_partner).json
    task = create(client, world, ticket_id=created["id"]).json
    response = client.post(f"/api/v1/tasks/{task['id']}/notes",
                           json={"body": "Secret: the driver is broken"},
                           headers=world.as_developer)
    assert response.status_code == 201
    assert response.json["published"] is False and response.json["message_id"] is None
    for headers in (as_partner, world.as_agent):
        messages = client.get(f"/api/v1/tickets/{created['id']}/messages",
                              headers=headers).json["items"]
        assert all("Secret" not in message["body"] for message in messages)
    # The integration that opened the ticket never sees its tasks.
    assert client.get(f"/api/v1/tickets/{created['id']}/tasks",
                      headers=as_partner).status_code == 404
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=as_partner).status_code == 404
    assert client.get("/api/v1/tasks", headers=as_partner).json["items"] == []
    notes = client.get(f"/api/v1/tasks/{task['id']}/notes", headers=world.as_agent).json
    assert [note["body"] for note in notes["items"]] == ["Secret: the driver is broken"]


def test_note_validation(client, world):
    task = create(client, world).json
    url = f"/api/v1/tasks/{task['id']}/notes"
    for body in ({}, {"body": ""}, {"body": "x" * 10001}):
        response = client.post(url, json=body, headers=world.as_developer)
        assert response.status_code == 400 and "body" in response.json["errors"]
    response = client.post(url, json={"body": "hi", "publish_to_customer": "maybe"},
                           headers=world.as_developer)
    assert "publish_to_customer" in response.json["errors"]


def test_list_filters_and_pages(client, world, make_ticket):
    now = datetime.now(UTC)
    other = make_ticket()
    ids = []
    for hours, department, ticket in ((30, world.rnd, world.ticket), (10, world.qa, other),
                                      (20, world.rnd, world.ticket)):
        ids.append(create(client, world, ticket_id=ticket.id, department_id=department.id,
                          due_at=(now + timedelta(hours=hours)).isoformat()).json["id"])
    client.patch(f"/api/v1/tasks/{ids[2]}", json={"assignee_id": world.developer.id,
                                                  "status": "blocked"},
                 headers=world.as_agent)
    first = client.get("/api/v1/tasks?limit=2", headers=world.as_agent).json
    assert [item["id"] for item in first["items"]] == [ids[1], ids[2]]  # soonest due first
    second = client.get(f"/api/v1/tasks?limit=2&cursor={first['next_cursor']}",
                        headers=world.as_agent).json
    assert [item["id"] for item in second["items"]] == [ids[0]]
    assert second["next_cursor"] is None

    def listed(query: str, headers=None) -> list[int]:
        response = client.get(f"/api/v1/tasks?{query}", headers=headers or world.as_agent)
        assert response.status_code == 200, response.json
        return [item["id"] for item in response.json["items"]]

    assert listed(f"department={world.rnd.id}") == [ids[2], ids[0]]
    assert listed("status=blocked") == [ids[2]]
    assert listed("status=open,blocked") == [ids[1], ids[2], ids[0]]
    assert listed("status=open&status=done") == [ids[1], ids[0]]
    assert listed(f"assignee={world.developer.id}") == [ids[2]]
    assert listed("assignee=me", world.as_developer) == [ids[2]]
    assert listed("overdue=true") == []
    assert listed("overdue=false") == [ids[1], ids[2], ids[0]]
    assert listed("", world.as_tester) == [ids[1]]  # QA sees its own ticket's task only
    assert listed(f"department={world.qa.id}") == [ids[1]]
    task = db.session.get(Task, ids[0])
    task.due_at = now - timedelta(minutes=5)
    db.session.commit()
    assert listed("overdue=true") == [ids[0]]
    assert client.get(f"/api/v1/tasks/{ids[0]}", headers=world.as_agent).json["overdue"] is True
    for query, field in (("status=finished", "status"), ("overdue=perhaps", "overdue"),
                         ("department=abc", "department"), ("assignee=nobody", "assignee"),
                         ("cursor=garbage", "cursor"), ("limit=0", "limit"),
                         ("colour=red", "colour")):
        response = client.get(f"/api/v1/tasks?{query}", headers=world.as_agent)
        assert response.status_code == 400, query
        assert response.mimetype == PROBLEM and field in response.json["errors"], query


def test_openapi_describes_the_task_endpoints(client):
    spec = client.get("/api/v1/openapi.json").json
    assert {"post", "get"} <= set(spec["paths"]["/api/v1/tickets/{ticket_id}/tasks"])
    assert {"get", "patch"} <= set(spec["paths"]["/api/v1/tasks/{task_id}"])
    assert {"get", "post"} <= set(spec["paths"]["/api/v1/tasks/{task_id}/notes"])
    assert "get" in spec["paths"]["/api/v1/tasks"]
    assert {"TaskIn", "TaskOut", "TaskPatch", "TaskNoteIn", "TaskNoteOut"} <= set(
        spec["components"]["schemas"])
