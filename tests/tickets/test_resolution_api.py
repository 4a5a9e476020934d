"""The resolution API: resolve with verification, refusals, history, phone answers, export."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service.extensions import db
from tickets import attachments
from tickets.models import ClosedReason, Status, Ticket
from tickets.resolution.models import Confirmation, Resolution


@pytest.fixture
def agent(make_user, support_team):
    return make_user("agent", team=support_team, name="Alice Agent")


@pytest.fixture
def lead(make_user, support_team):
    return make_user("lead", team=support_team, name="Lee Lead")


@pytest.fixture
def ticket(agent, make_ticket):
    made = make_ticket(subject="Export times out")
    assert made.assignee_id == agent.id
    return made


@pytest.fixture
def rnd(make_team, make_user):
    team = make_team("R&D")
    make_user("department", team=team, name="Rita Research")
    return team


def body(**overrides) -> dict:
    data = {"summary": "Raised the export timeout", "root_cause": "Whole file built in memory",
            "verification": {"method": "reproduced_and_retested",
                             "result": "50,000 rows in 40 s"}}
    data.update(overrides)
    return data


def url(ticket_id: int, what: str = "resolution") -> str:
    return f"/api/v1/tickets/{ticket_id}/{what}"


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def fresh(ticket_id: int) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


def open_task(user, ticket, department, title="Find the leak"):
    from tickets.tasks.services import create_task

    return create_task(user, ticket, title=title, description="", department_id=department.id)


# ---- resolving ----

def test_resolve_records_the_verification_and_asks_the_customer(client, auth, agent, ticket):
    file = attachments.store(ticket.id, None, "retest.log", b"all green")
    db.session.commit()
    verification = {"method": "log_review", "result": "No timeouts for a day",
                    "evidence_note": "Checked the job log", "attachment_ids": [file.id]}

    response = client.post(url(ticket.id), json=body(verification=verification),
                           headers=auth(agent))

    assert response.status_code == 201, response.json
    out = response.json
    assert out["ticket_id"] == ticket.id
    assert out["ticket"]["status"] == "resolved" and out["ticket"]["resolved_at"]
    assert out["ticket"]["closed_at"] is None and out["ticket"]["closed_reason"] is None
    assert out["summary"] == "Raised the export timeout"
    assert out["verification"]["method"] == "log_review"
    assert out["verification"]["evidence_note"] == "Checked the job log"
    assert out["verification"]["attachment_ids"] == [file.id]
    assert out["verification"]["verified_by"] == {"id": agent.id, "name": "Alice Agent"}
    assert out["confirmation"]["state"] == "pending"
    assert out["confirmation"]["remind_at"] < out["confirmation"]["auto_close_at"]
    assert out["confirmations"] == [] and out["override_reason"] is None
    assert fresh(ticket.id).status == Status.RESOLVED

    latest = client.get(url(ticket.id), headers=auth(agent))
    assert latest.status_code == 200 and latest.json == out
    history = client.get(url(ticket.id, "resolutions"), headers=auth(agent))
    assert [item["id"] for item in history.json["items"]] == [out["id"]]


def test_open_tasks_block_resolving_with_a_409_listing_them(client, auth, agent, ticket, rnd):
    task = open_task(agent, ticket, rnd)

    response = client.post(url(ticket.id), json=body(), headers=auth(agent))

    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 409
    assert response.json["open_tasks"] == [{"id": task.id, "title": "Find the leak",
                                            "status": "open",
                                            "department": {"id": rnd.id, "name": "R&D"}}]
    assert count(Resolution) == 0 and fresh(ticket.id).status == Status.PENDING_INTERNAL


def test_only_a_lead_may_resolve_over_open_tasks_and_says_why(client, auth, agent, lead,
                                                               ticket, rnd):
    task = open_task(agent, ticket, rnd)
    reason = "The customer needs the workaround now"

    refused = client.post(url(ticket.id), json=body(override_reason=reason), headers=auth(agent))
    assert refused.status_code == 403
    assert count(Resolution) == 0

    response = client.post(url(ticket.id), json=body(override_reason=reason), headers=auth(lead))
    assert response.status_code == 201, response.json
    assert response.json["override_reason"] == reason
    assert response.json["overridden_task_ids"] == [task.id]
    assert fresh(ticket.id).status == Status.RESOLVED


@pytest.mark.parametrize(("payload", "fields"), [
    ({}, {"summary", "root_cause", "verification"}),
    (body(verification={}), {"verification.method", "verification.result"}),
    (body(summary="   "), {"summary"}),
    (body(verification={"method": "x" * 81, "result": "ok"}), {"verification.method"}),
    (body(verification={"method": "m", "result": "ok", "attachment_ids": ["a"]}),
     {"verification.attachment_ids"}),
    (body(verification={"method": "m", "result": "ok", "color": "red"}),
     {"verification.color"}),
    (body(verification="yes"), {"verification"}),
    (body(assignee=3), {"assignee"}),
    (body(override_reason=""), {"override_reason"}),
], ids=["empty", "no-verification", "blank-summary", "long-method", "bad-file-id",
        "unknown-nested", "not-an-object", "unknown", "empty-override"])
def test_bad_input_names_each_field_and_writes_nothing(client, auth, agent, ticket, payload,
                                                       fields):
    response = client.post(url(ticket.id), json=payload, headers=auth(agent))

    assert response.status_code == 400, response.json
    assert response.mimetype == "application/problem+json"
    assert set(response.json["errors"]) == fields
    assert count(Resolution) == 0 and fresh(ticket.id).status != Status.RESOLVED


def test_a_body_that_is_not_a_json_object_is_refused(client, auth, agent, ticket):
    headers = auth(agent)
    assert client.post(url(ticket.id), data="summary=x", headers=headers).status_code == 400
    assert client.post(url(ticket.id), json=["x"], headers=headers).status_code == 400


def test_evidence_files_of_another_ticket_are_refused(client, auth, agent, ticket, make_ticket):
    other = make_ticket()
    file = attachments.store(other.id, None, "secret.txt", b"not yours")
    db.session.commit()
    payload = body(verification={"method": "m", "result": "ok", "attachment_ids": [file.id]})

    response = client.post(url(ticket.id), json=payload, headers=auth(agent))

    assert response.status_code == 400
    assert "verification.attachment_ids" in response.json["errors"]
    assert count(Resolution) == 0


def test_a_closed_or_resolved_ticket_cannot_be_resolved_again(client, auth, agent, ticket):
    assert client.post(url(ticket.id), json=body(), headers=auth(agent)).status_code == 201
    again = client.post(url(ticket.id), json=body(), headers=auth(agent))
    assert again.status_code == 409
    assert count(Resolution) == 1


def test_roles_and_visibility(client, auth, make_user, make_team, ticket, ticket_body):
    outsider = make_user("department", team=make_team("Logistics"))
    assert client.post(url(ticket.id), json=body(), headers=auth(outsider)).status_code == 403
    lead_elsewhere = make_user("lead", team=make_team("Elsewhere"))
    # Leads see tickets no team holds; this one is the support team's.
    assert client.post(url(ticket.id), json=body(),
                       headers=auth(lead_elsewhere)).status_code == 404
    assert client.post(url(999999), json=body(), headers=auth(lead_elsewhere)).status_code == 404
    assert client.get(url(ticket.id), headers=auth(lead_elsewhere)).status_code == 404
    sales = make_user("sales")
    assert client.post(url(ticket.id), json=body(), headers=auth(sales)).status_code == 403

    partner = make_user("partner")
    created = client.post("/api/v1/tickets", json=ticket_body(), headers=auth(partner)).json
    partner_headers = auth(partner)
    assert client.post(url(created["id"]), json=body(),
                       headers=partner_headers).status_code == 403
    for what in ("resolution", "resolutions", "export"):
        assert client.get(url(created["id"], what), headers=partner_headers).status_code == 404
    assert client.post(url(ticket.id), json=body()).status_code == 401
    assert count(Resolution) == 0


def test_no_resolution_yet_is_404_and_history_is_empty(client, auth, agent, ticket):
    assert client.get(url(ticket.id), headers=auth(agent)).status_code == 404
    history = client.get(url(ticket.id, "resolutions"), headers=auth(agent))
    assert history.status_code == 200 and history.json == {"items": []}


# ---- phone answers ----

def test_a_phone_confirmation_closes_the_ticket_with_its_evidence(client, auth, agent, ticket):
    resolved = client.post(url(ticket.id), json=body(), headers=auth(agent)).json

    response = client.post(url(ticket.id, "confirmation"), headers=auth(agent), json={
        "outcome": "confirmed", "call_reference": "PBX-0932", "comment": "Works now"})

    assert response.status_code == 201, response.json
    out = response.json
    assert out["outcome"] == "confirmed" and out["channel"] == "phone"
    assert out["actor_kind"] == "staff" and out["user"] == {"id": agent.id, "name": "Alice Agent"}
    assert out["call_reference"] == "PBX-0932" and out["comment"] == "Works now"
    assert out["resolution_id"] == resolved["id"]
    closed = fresh(ticket.id)
    assert (closed.status, closed.closed_reason) == (Status.CLOSED, ClosedReason.CONFIRMED)

    latest = client.get(url(ticket.id), headers=auth(agent)).json
    assert latest["confirmation"]["state"] == "confirmed"
    assert latest["confirmation"]["answered_at"] is not None
    assert [answer["id"] for answer in latest["confirmations"]] == [out["id"]]
    assert latest["ticket"]["status"] == "closed"

    twice = client.post(url(ticket.id, "confirmation"), headers=auth(agent),
                        json={"outcome": "rejected", "call_reference": "PBX-0933",
                              "comment": "No, broken"})
    assert twice.status_code == 409
    assert count(Confirmation) == 1 and fresh(ticket.id).status == Status.CLOSED


def test_a_phone_rejection_reopens_the_ticket(client, auth, agent, ticket):
    client.post(url(ticket.id), json=body(), headers=auth(agent))

    response = client.post(url(ticket.id, "confirmation"), headers=auth(agent), json={
        "outcome": "rejected", "call_reference": "call at 10:02",
        "comment": "Still times out with 80,000 rows"})

    assert response.status_code == 201, response.json
    reopened = fresh(ticket.id)
    assert reopened.status == Status.REOPENED and reopened.reopen_count == 1


@pytest.mark.parametrize(("payload", "field"), [
    ({"outcome": "confirmed"}, "call_reference"),
    ({"outcome": "confirmed", "call_reference": "  "}, "call_reference"),
    ({"outcome": "auto_confirmed", "call_reference": "x"}, "outcome"),
    ({"outcome": "confirmed", "call_reference": "x" * 101}, "call_reference"),
    ({"outcome": "confirmed", "call_reference": "x", "channel": "portal"}, "channel"),
], ids=["missing-reference", "blank-reference", "not-a-phone-outcome", "long-reference",
        "unknown-field"])
def test_phone_answers_need_a_call_reference_and_a_real_outcome(client, auth, agent, ticket,
                                                                 payload, field):
    client.post(url(ticket.id), json=body(), headers=auth(agent))

    response = client.post(url(ticket.id, "confirmation"), json=payload, headers=auth(agent))

    assert response.status_code == 400
    assert field in response.json["errors"]
    assert count(Confirmation) == 0 and fresh(ticket.id).status == Status.RESOLVED


def test_a_phone_answer_needs_a_resolved_ticket_and_the_permission(client, auth, agent,
                                                                   make_user, rnd, ticket):
    payload = {"outcome": "confirmed", "call_reference": "PBX-1"}
    assert client.post(url(ticket.id, "confirmation"), json=payload,
                       headers=auth(agent)).status_code == 409
    open_task(agent, ticket, rnd)  # lets R&D see the ticket
    engineer = make_user("department", team=rnd)
    assert client.post(url(ticket.id, "confirmation"), json=payload,
                       headers=auth(engineer)).status_code == 403
    assert count(Confirmation) == 0


# ---- export and OpenAPI ----

def test_the_export_carries_every_answer_and_its_evidence(client, auth, agent, ticket):
    client.post(url(ticket.id), json=body(), headers=auth(agent))
    client.post(url(ticket.id, "confirmation"), headers=auth(agent), json={
        "outcome": "confirmed", "call_reference": "PBX-7781"})

    response = client.get(url(ticket.id, "export"), headers=auth(agent))

    assert response.status_code == 200 and response.is_json
    text = response.get_data(as_text=True)
    assert "PBX-7781" in text and "phone" in text and "Raised the export timeout" in text
    assert ticket.number in text


def test_openapi_lists_the_resolution_paths(client):
    spec = client.get("/api/v1/openapi.json").json
    paths = spec["paths"]
    assert {"post", "get"} <= set(paths["/api/v1/tickets/{ticket_id}/resolution"])
    assert "get" in paths["/api/v1/tickets/{ticket_id}/resolutions"]
    assert "post" in paths["/api/v1/tickets/{ticket_id}/confirmation"]
    assert "get" in paths["/api/v1/tickets/{ticket_id}/export"]
    for name in ("ResolutionIn", "VerificationIn", "ResolutionOut", "ConfirmationOut",
                 "PhoneConfirmationIn"):
        assert name in spec["components"]["schemas"], name
    from openapi_spec_validator import validate

    validate(spec)
