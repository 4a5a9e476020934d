"""The opportunities API: list with filters and cursor, one with history, PATCH, POST, and
their 400 / 403 / 404 / 409 answers."""
from __future__ import annotations

import pytest

from service.db_types import utcnow
from service.extensions import db
from surveys.models import OpportunityKind
from tests.surveys.test_opportunities import make_account, make_contact, record, signal


@pytest.fixture
def world(make_user):
    rep, other = make_user("sales"), make_user("sales")
    lead = make_user("lead")
    account = make_account("Acme", owner=rep)
    now = utcnow()
    mine = record(signal(account), now=now)
    pooled = record(signal(make_account("Pool Co"), kind=OpportunityKind.REFERRAL,
                           rule="nps_promoter"), now=now)
    pooled.owner_id = None
    theirs = record(signal(make_account("Other Co", owner=other)), now=now)
    db.session.commit()
    return {"rep": rep, "other": other, "lead": lead, "account": account, "mine": mine,
            "pooled": pooled, "theirs": theirs}


def test_list_shows_a_rep_theirs_and_the_pool(client, auth, world):
    response = client.get("/api/v1/opportunities", headers=auth(world["rep"]))
    assert response.status_code == 200
    ids = {item["id"] for item in response.json["items"]}
    assert ids == {world["mine"].id, world["pooled"].id}
    item = next(i for i in response.json["items"] if i["id"] == world["mine"].id)
    assert item["account"] == {"id": world["account"].id, "name": "Acme"}
    assert item["owner"]["id"] == world["rep"].id and item["overdue"] is False
    assert item["evidence"][0]["url"].endswith(f"/console/tickets/{item['evidence'][0]['ref_id']}")
    assert item["evidence"][0]["phrase"] == "more seats"


def test_list_filters_and_cursor(client, auth, world):
    headers = auth(world["lead"])
    everything = client.get("/api/v1/opportunities", headers=headers).json["items"]
    assert len(everything) == 3
    pool = client.get("/api/v1/opportunities?owner=pool", headers=headers).json["items"]
    assert [item["id"] for item in pool] == [world["pooled"].id]
    kind = client.get("/api/v1/opportunities?kind=referral&status=new,contacted",
                      headers=headers).json["items"]
    assert [item["id"] for item in kind] == [world["pooled"].id]
    first = client.get("/api/v1/opportunities?limit=2", headers=headers).json
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = client.get(f"/api/v1/opportunities?limit=2&cursor={first['next_cursor']}",
                      headers=headers).json
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    due = client.get("/api/v1/opportunities?due_before=2100-01-01T00:00:00Z",
                     headers=headers).json["items"]
    assert len(due) == 3


@pytest.mark.parametrize("query", ["status=bogus", "owner=someone", "limit=0", "cursor=xx",
                                   "due_before=tomorrow", "account=-1", "colour=red",
                                   "kind=upsell&kind=referral"])
def test_list_bad_filters(client, auth, world, query):
    response = client.get(f"/api/v1/opportunities?{query}", headers=auth(world["lead"]))
    assert response.status_code == 400
    assert response.content_type.startswith("application/problem+json")


def test_get_one_with_history_and_404s(client, auth, world):
    headers = auth(world["rep"])
    response = client.get(f"/api/v1/opportunities/{world['mine'].id}", headers=headers)
    assert response.status_code == 200
    assert [event["kind"] for event in response.json["history"]] == ["created", "assigned"]
    assert client.get(f"/api/v1/opportunities/{world['theirs'].id}",
                      headers=headers).status_code == 404
    assert client.get("/api/v1/opportunities/99999999999", headers=headers).status_code == 404


def test_roles_without_permission(client, auth, world, make_user):
    agent = make_user("agent")
    assert client.get("/api/v1/opportunities", headers=auth(agent)).status_code == 403
    assert client.get("/api/v1/opportunities").status_code == 401


def test_patch_status_and_conflicts(client, auth, world):
    headers = auth(world["rep"])
    url = f"/api/v1/opportunities/{world['mine'].id}"
    response = client.patch(url, json={"status": "contacted"}, headers=headers)
    assert response.status_code == 200 and response.json["contacted_at"]
    assert response.json["history"][-1]["kind"] == "status_changed"
    response = client.patch(url, json={"status": "lost"}, headers=headers)
    assert response.status_code == 400 and "lost_reason" in response.json["errors"]
    response = client.patch(url, json={"status": "won", "won_value": 900}, headers=headers)
    assert response.status_code == 200 and response.json["won_value"] == 900
    response = client.patch(url, json={"status": "contacted"}, headers=headers)
    assert response.status_code == 409


@pytest.mark.parametrize("body", [{}, {"status": "gold"}, {"estimated_value": -3},
                                  {"estimated_value": "5"}, {"owner_id": "x"},
                                  {"suggested_products": "Seats"}, {"id": 3}, []])
def test_patch_bad_bodies(client, auth, world, body):
    response = client.patch(f"/api/v1/opportunities/{world['mine'].id}", json=body,
                            headers=auth(world["rep"]))
    assert response.status_code == 400


def test_take_from_pool_and_reassign(client, auth, world):
    url = f"/api/v1/opportunities/{world['pooled'].id}"
    response = client.patch(url, json={"status": "contacted"}, headers=auth(world["rep"]))
    assert response.status_code == 403  # take it first
    response = client.patch(url, json={"owner_id": world["rep"].id, "status": "contacted"},
                            headers=auth(world["rep"]))
    assert response.status_code == 200 and response.json["owner"]["id"] == world["rep"].id
    # Now it is the rep's: the other rep no longer sees it.
    assert client.patch(url, json={"owner_id": world["other"].id},
                        headers=auth(world["other"])).status_code == 404
    response = client.patch(url, json={"owner_id": world["other"].id},
                            headers=auth(world["lead"]))
    assert response.status_code == 200 and response.json["owner"]["id"] == world["other"].id


def test_post_manual(client, auth, world, make_user):
    agent = make_user("agent")
    contact = make_contact(world["account"])
    response = client.post("/api/v1/opportunities", headers=auth(agent), json={
        "kind": "cross_sell", "reason": "Asked about the analytics add-on",
        "contact_id": contact.id, "suggested_products": ["Analytics"],
        "estimated_value": 400})
    assert response.status_code == 201
    assert response.json["account"]["id"] == world["account"].id
    assert response.json["source"] == "manual"
    assert response.json["owner"]["id"] == world["rep"].id
    again = client.post("/api/v1/opportunities", headers=auth(agent), json={
        "kind": "cross_sell", "reason": "Again", "account_id": world["account"].id})
    assert again.status_code == 200 and again.json["id"] == response.json["id"]


@pytest.mark.parametrize("body, field", [
    ({"kind": "upsell", "reason": "x"}, "account_id"),
    ({"kind": "gold", "reason": "x", "account_id": 1}, "kind"),
    ({"kind": "upsell", "reason": "", "account_id": 1}, "reason"),
    ({"kind": "upsell", "reason": "x", "account_id": 999999}, "account_id"),
    ({"kind": "upsell", "reason": "x", "account_id": 1, "ticket_id": 999999}, "ticket_id"),
    ({"kind": "upsell", "reason": "x", "account_id": 1, "estimated_value": -1},
     "estimated_value"),
])
def test_post_bad_input(client, auth, world, body, field):
    response = client.post("/api/v1/opportunities", json=body, headers=auth(world["rep"]))
    assert response.status_code == 400
    assert field in response.json["errors"]


def test_post_needs_permission(client, auth, make_user):
    response = client.post("/api/v1/opportunities", headers=auth(make_user("department")),
                           json={"kind": "upsell", "reason": "x", "account_id": 1})
    assert response.status_code == 403


def test_export_csv_endpoint(client, auth, world):
    response = client.get("/api/v1/opportunities/export.csv?owner=me",
                          headers=auth(world["rep"]))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeffid,created_at")
    assert len(text.strip().splitlines()) == 2
    assert client.get("/api/v1/opportunities/export.csv?owner=nobody",
                      headers=auth(world["rep"])).status_code == 400
