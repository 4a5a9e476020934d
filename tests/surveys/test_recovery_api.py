"""The recovery API: who sees which follow-ups, filters and pages, and closing them."""
from __future__ import annotations

from datetime import timedelta

import pytest

from service.directory.models import Tier
from service.extensions import db
from surveys.models import Invitation, RecoveryFollowUp, SurveyKind
from tests.surveys.test_recovery import NOW, answer, follow_ups, make_account, make_contact

URL = "/api/v1/surveys/recoveries"


@pytest.fixture
def world(app, make_user, make_team):
    """Two teams with a lead each, a VIP account with a sales owner, three follow-ups."""
    lead, other_lead, sales = make_user("lead"), make_user("lead"), make_user("sales")
    team, other_team = make_team(lead=lead), make_team(lead=other_lead)
    vip = make_account(Tier.VIP, sales)
    answer(make_contact(vip), 1, team_id=team.id, comment="<b>bad</b>")
    answer(make_contact(), 2, team_id=team.id, now=NOW + timedelta(hours=1))
    answer(make_contact(), 1, team_id=other_team.id, now=NOW + timedelta(hours=2))
    return {"lead": lead, "other_lead": other_lead, "sales": sales, "vip": vip,
            "admin": make_user("admin"), "agent": make_user("agent", team=team),
            "items": follow_ups()}


def _ids(client, headers, query: str = "") -> list[int]:
    response = client.get(URL + query, headers=headers)
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def test_each_role_sees_its_own(client, auth, world):
    first, second, third = (item.id for item in world["items"])
    assert _ids(client, auth(world["admin"])) == [first, second, third]
    assert _ids(client, auth(world["lead"])) == [first, second]
    assert _ids(client, auth(world["other_lead"])) == [third]
    assert _ids(client, auth(world["sales"])) == [first]  # account manager of the VIP one
    assert client.get(URL, headers=auth(world["agent"])).status_code == 403
    assert client.get(URL).status_code == 401


def test_filters_and_pages(client, auth, world):
    first, second, third = (item.id for item in world["items"])
    headers = auth(world["admin"])
    assert _ids(client, headers, f"?account={world['vip'].id}") == [first]
    assert _ids(client, headers, f"?owner={world['other_lead'].id}") == [third]
    assert _ids(client, auth(world["lead"]), "?owner=me") == [first, second]
    assert _ids(client, headers, "?overdue=true") == [first, second, third]  # frozen past
    assert _ids(client, headers, "?overdue=false") == []
    assert _ids(client, headers, "?status=done") == []
    page = client.get(URL + "?limit=2", headers=headers).get_json()
    assert [item["id"] for item in page["items"]] == [first, second]
    rest = client.get(URL + f"?limit=2&cursor={page['next_cursor']}", headers=headers)
    assert [item["id"] for item in rest.get_json()["items"]] == [third]
    assert rest.get_json()["next_cursor"] is None


@pytest.mark.parametrize("query", ["?status=closed", "?owner=someone", "?limit=0",
                                   "?limit=500", "?cursor=garbage", "?colour=red",
                                   "?account=-1", "?overdue=maybe", "?owner=99999999999",
                                   "?status=open&status=done"])
def test_bad_queries_are_400(client, auth, world, query):
    response = client.get(URL + query, headers=auth(world["admin"]))
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


def test_one_follow_up_with_its_answer(client, auth, world):
    first = world["items"][0]
    body = client.get(f"{URL}/{first.id}", headers=auth(world["sales"])).get_json()
    assert body["answer"]["comment"] == "<b>bad</b>" and body["answer"]["score"] == 1
    assert body["owner"]["id"] == world["lead"].id
    assert body["account_manager"]["id"] == world["sales"].id
    assert body["status"] == "open" and body["overdue"] is True
    assert body["due_at"].startswith("2026-03-03T09:00:00")
    for who in ("lead", "sales"):
        assert client.get(f"{URL}/{world['items'][2].id}",
                          headers=auth(world[who])).status_code == 404
    assert client.get(f"{URL}/999999", headers=auth(world["admin"])).status_code == 404


@pytest.mark.parametrize(("body", "fields"), [
    ({"note": "Called."}, {"outcome"}), ({"outcome": "resolved"}, {"note"}),
    ({"outcome": "resolved", "note": ""}, {"note"}),
    ({"outcome": "sorted", "note": "Called."}, {"outcome"}),
    ({"outcome": "resolved", "note": "x" * 4001}, {"note"}),
    ({"outcome": "resolved", "note": "Called.", "won_back": True}, {"won_back"})])
def test_closing_needs_an_outcome_and_a_note(client, auth, world, body, fields):
    response = client.patch(f"{URL}/{world['items'][0].id}", json=body,
                            headers=auth(world["lead"]))
    assert response.status_code == 400
    assert set(response.get_json()["errors"]) == fields


def test_closing_not_json_is_400(client, auth, world):
    response = client.patch(f"{URL}/{world['items'][0].id}", data="outcome=resolved",
                            headers=auth(world["lead"]))
    assert response.status_code == 400


def test_close_then_409(client, auth, world):
    follow_up = world["items"][0]
    body = {"outcome": "resolved", "note": "Called, apologised, credited a month."}
    response = client.patch(f"{URL}/{follow_up.id}", json=body, headers=auth(world["sales"]))
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["status"] == "done" and data["outcome"] == "resolved"
    assert data["closed_by"]["id"] == world["sales"].id
    invitation = db.session.get(Invitation, data["resurvey_invitation_id"])
    assert invitation.recovery_id == follow_up.id and invitation.kind == SurveyKind.CSAT
    again = client.patch(f"{URL}/{follow_up.id}", json=body, headers=auth(world["lead"]))
    assert again.status_code == 409
    assert db.session.get(RecoveryFollowUp, follow_up.id).closed_by_id == world["sales"].id


def test_closing_someone_elses_is_404_and_without_the_permission_403(client, auth, world):
    body = {"outcome": "resolved", "note": "Called."}
    url = f"{URL}/{world['items'][0].id}"
    assert client.patch(url, json=body, headers=auth(world["other_lead"])).status_code == 404
    assert client.patch(url, json=body, headers=auth(world["agent"])).status_code == 403
    assert client.patch(f"{URL}/999999", json=body, headers=auth(world["admin"])).status_code == 404
