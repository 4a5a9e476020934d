"""The surveys API: responses with filters and pages, invitations, settings, campaigns."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from service.db_types import utcnow
from service.directory.models import Account, AccountProduct, Contact, Tier
from service.extensions import db
from surveys.models import (CampaignStatus, Invitation, InvitationStatus, InvitationTrigger,
                            SurveyCampaign, SurveyKind, SurveyResponse)

BASE = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def world(make_user, make_team, support_team, auth):
    lead = make_user("lead", team=support_team)
    agent = make_user("agent", team=support_team)
    other_team = make_team("Billing")
    account = Account(name="Acme", tier=Tier.VIP)
    db.session.add(account)
    db.session.flush()
    db.session.add(AccountProduct(account_id=account.id, product="Analytics"))
    contact = Contact(name="Casey", email="casey@acme.test", account_id=account.id)
    loner = Contact(name="Lee", email="lee@example.com")
    db.session.add_all([contact, loner])
    db.session.commit()
    return SimpleNamespace(
        lead=lead, agent=agent, team=support_team, other_team=other_team, account=account,
        contact=contact, loner=loner, as_admin=auth(make_user("admin")), as_lead=auth(lead),
        as_sales=auth(make_user("sales")), as_agent=auth(agent))


def answer(contact: Contact, *, kind=SurveyKind.CSAT, score=5, at=BASE, team_id=None,
           agent_id=None, product=None, comment="Thanks") -> SurveyResponse:
    """An answered invitation and its response, made directly."""
    invitation = Invitation(
        kind=kind, trigger=InvitationTrigger.TICKET_CLOSED if kind == SurveyKind.CSAT
        else InvitationTrigger.NPS_SCHEDULE, status=InvitationStatus.ANSWERED,
        contact_id=contact.id, account_id=contact.account_id, team_id=team_id,
        agent_id=agent_id, product=product, channel="email", send_at=at, sent_at=at,
        answered_at=at, expires_at=at + timedelta(days=30), created_at=at)
    db.session.add(invitation)
    db.session.flush()
    response = SurveyResponse(
        invitation_id=invitation.id, kind=kind, contact_id=contact.id,
        account_id=contact.account_id, team_id=team_id, agent_id=agent_id, product=product,
        channel="email", score=score, attitude=4 if kind == SurveyKind.CSAT else None,
        comment=comment, created_at=at, updated_at=at, edit_until=at + timedelta(hours=24))
    db.session.add(response)
    db.session.commit()
    return response


URL = "/api/v1/surveys/responses"


def test_a_response_has_the_published_shape_and_no_token(client, world):
    from surveys.schemas import SurveyResponseOut

    response = answer(world.contact, team_id=world.team.id, agent_id=world.agent.id,
                      product="Analytics")
    body = client.get(URL, headers=world.as_lead)
    assert body.status_code == 200
    [item] = body.json["items"]
    assert set(item) == set(SurveyResponseOut().fields)
    assert item["id"] == response.id and item["score"] == 5 and item["attitude"] == 4
    assert item["contact"] == {"id": world.contact.id, "name": "Casey"}
    assert item["account"] == {"id": world.account.id, "name": "Acme"}
    assert item["team"]["id"] == world.team.id
    assert item["agent"] == {"id": world.agent.id, "name": world.agent.name}
    assert item["ticket"] is None and item["product"] == "Analytics"
    assert item["created_at"] == BASE.isoformat()
    assert "token" not in body.text and body.json["next_cursor"] is None


def test_who_may_read_responses(client, world):
    answer(world.contact)
    assert client.get(URL, headers=world.as_sales).status_code == 200
    assert client.get(URL, headers=world.as_agent).status_code == 403
    assert client.get(URL).status_code == 401


def test_filters(client, world):
    csat_low = answer(world.contact, score=1, team_id=world.team.id, agent_id=world.agent.id)
    csat_high = answer(world.loner, score=5, team_id=world.other_team.id,
                       at=BASE + timedelta(days=3), product="Analytics")
    promoter = answer(world.contact, kind=SurveyKind.NPS, score=9,
                      at=BASE + timedelta(days=10))

    def ids(**params) -> list[int]:
        reply = client.get(URL, query_string=params, headers=world.as_admin)
        assert reply.status_code == 200, reply.json
        return [item["id"] for item in reply.json["items"]]

    assert ids() == [promoter.id, csat_high.id, csat_low.id]  # newest first
    assert ids(kind="csat") == [csat_high.id, csat_low.id]
    assert ids(kind="nps") == [promoter.id]
    assert ids(score_min=5) == [promoter.id, csat_high.id]
    assert ids(score_max=2) == [csat_low.id]
    assert ids(score_min=2, score_max=8) == [csat_high.id]
    assert ids(team=world.team.id) == [csat_low.id]
    assert ids(agent=world.agent.id) == [csat_low.id]
    assert ids(account=world.account.id) == [promoter.id, csat_low.id]
    assert ids(product="Analytics") == [csat_high.id]
    assert ids(since=(BASE + timedelta(days=1)).isoformat()) == [promoter.id, csat_high.id]
    assert ids(since=BASE.isoformat(), until=(BASE + timedelta(days=5)).isoformat()) \
        == [csat_high.id, csat_low.id]


@pytest.mark.parametrize("params, field", [
    ({"score_min": "x"}, "score_min"),
    ({"kind": "foo"}, "kind"),
    ({"score_max": "11"}, "score_max"),
    ({"score_min": "8", "score_max": "2"}, "score_min"),
    ({"since": "yesterday"}, "since"),
    ({"since": "2026-03-02T08:00:00"}, "since"),  # no offset: ambiguous
    ({"since": "2026-03-05T00:00:00+00:00", "until": "2026-03-01T00:00:00+00:00"}, "since"),
    ({"team": "0"}, "team"),
    ({"agent": "99999999999"}, "agent"),
    ({"limit": "0"}, "limit"),
    ({"colour": "red"}, "colour"),
    ({"cursor": "garbage"}, "cursor"),
])
def test_bad_filters_are_400_with_the_field_named(client, world, params, field):
    reply = client.get(URL, query_string=params, headers=world.as_admin)
    assert reply.status_code == 400
    assert reply.mimetype == "application/problem+json"
    assert field in reply.json["errors"]


def test_a_repeated_parameter_is_400(client, world):
    reply = client.get(URL + "?kind=csat&kind=nps", headers=world.as_admin)
    assert reply.status_code == 400 and "kind" in reply.json["errors"]


def test_keyset_pages_walk_every_response_once(client, world):
    made = [answer(world.contact, score=n % 5 + 1, at=BASE + timedelta(hours=n % 3))
            for n in range(7)]
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get(URL, query_string=params, headers=world.as_admin).json
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(response.id for response in made)
    assert len(seen) == len(set(seen)) == 7


# ---- invitations ----

def test_an_invitation_shows_its_life_but_never_its_token(client, world):
    response = answer(world.contact)
    invitation = db.session.get(Invitation, response.invitation_id)
    invitation.token_hash = "f" * 64
    db.session.commit()
    reply = client.get(f"/api/v1/surveys/invitations/{invitation.id}", headers=world.as_sales)
    assert reply.status_code == 200
    body = reply.json
    assert body["status"] == "answered" and body["response_id"] == response.id
    assert body["kind"] == "csat" and body["trigger"] == "ticket_closed"
    assert body["contact"]["name"] == "Casey" and body["account"]["name"] == "Acme"
    assert body["sent_at"] == BASE.isoformat()
    assert "token" not in body and "token_hash" not in body and "f" * 64 not in reply.text


def test_invitation_errors(client, world):
    assert client.get("/api/v1/surveys/invitations/999", headers=world.as_admin).status_code \
        == 404
    assert client.get("/api/v1/surveys/invitations/2147483648",
                      headers=world.as_admin).status_code == 404
    answer(world.contact)
    assert client.get("/api/v1/surveys/invitations/1", headers=world.as_agent).status_code \
        == 403


# ---- settings ----

SETTINGS = "/api/v1/admin/surveys/settings"


def test_settings_read_and_change(client, world):
    body = client.get(SETTINGS, headers=world.as_admin).json
    assert body["fatigue_days"] == 30 and body["csat_enabled"] is True
    assert body["nps_interval_days"] == 90
    reply = client.patch(SETTINGS, json={"fatigue_days": 14, "nps_enabled": False,
                                         "recovery_csat_max": 1}, headers=world.as_admin)
    assert reply.status_code == 200
    assert (reply.json["fatigue_days"], reply.json["nps_enabled"]) == (14, False)
    assert client.get(SETTINGS, headers=world.as_admin).json["recovery_csat_max"] == 1


@pytest.mark.parametrize("body, field", [
    ({"csat_delay_minutes": -1}, "csat_delay_minutes"),
    ({"fatigue_days": 0}, "fatigue_days"),
    ({"recovery_csat_max": 5}, "recovery_csat_max"),
    ({"recovery_nps_max": 9}, "recovery_nps_max"),
    ({"nps_interval_days": "90"}, "nps_interval_days"),
    ({"csat_enabled": "yes"}, "csat_enabled"),
    ({"campaign_batch_size": 1.5}, "campaign_batch_size"),
    ({"token": "x"}, "token"),
    ({}, "_schema"),
])
def test_settings_validation(client, world, body, field):
    reply = client.patch(SETTINGS, json=body, headers=world.as_admin)
    assert reply.status_code == 400
    assert field in reply.json["errors"]


def test_only_admins_see_or_change_settings(client, world):
    assert client.get(SETTINGS, headers=world.as_agent).status_code == 403
    assert client.get(SETTINGS, headers=world.as_lead).status_code == 403
    assert client.patch(SETTINGS, json={"fatigue_days": 3},
                        headers=world.as_sales).status_code == 403


# ---- campaigns ----

CAMPAIGNS = "/api/v1/admin/surveys/campaigns"


def test_campaign_lifecycle(client, world):
    preview = client.post(CAMPAIGNS + "/preview", json={"segment": {"tier": "vip"}},
                          headers=world.as_admin)
    assert preview.status_code == 200 and preview.json == {"count": 1}
    created = client.post(CAMPAIGNS, json={"name": "VIP pulse", "segment": {
        "tier": "vip", "product": "Analytics"}}, headers=world.as_admin)
    assert created.status_code == 201
    campaign = created.json
    assert campaign["status"] == "draft" and campaign["segment"]["tier"] == "vip"
    assert campaign["created_by"]["name"].startswith("Admin")
    url = f"{CAMPAIGNS}/{campaign['id']}"
    started = client.post(url + "/start", headers=world.as_admin)
    assert started.status_code == 200
    assert started.json["status"] == "done"  # jobs run at once in tests; one contact
    assert (started.json["targeted"], started.json["invited"]) == (1, 1)
    assert client.post(url + "/start", headers=world.as_admin).status_code == 409
    assert client.post(url + "/cancel", headers=world.as_admin).status_code == 409
    assert client.get(url, headers=world.as_admin).json["invited"] == 1
    listed = client.get(CAMPAIGNS, headers=world.as_admin).json
    assert [item["id"] for item in listed["items"]] == [campaign["id"]]


def test_cancel_a_draft_then_conflicts(client, world):
    campaign = client.post(CAMPAIGNS, json={"name": "Later"}, headers=world.as_admin).json
    url = f"{CAMPAIGNS}/{campaign['id']}"
    reply = client.post(url + "/cancel", headers=world.as_admin)
    assert reply.status_code == 200 and reply.json["status"] == "cancelled"
    assert client.post(url + "/start", headers=world.as_admin).status_code == 409
    assert client.post(url + "/cancel", headers=world.as_admin).status_code == 409


@pytest.mark.parametrize("body, field", [
    ({"segment": {}}, "name"),
    ({"name": ""}, "name"),
    ({"name": "x", "segment": {"tier": "gold"}}, "segment"),
    ({"name": "x", "segment": {"product": "Unknown"}}, "segment"),
    ({"name": "x", "segment": {"owner_id": 424242}}, "segment"),
    ({"name": "x", "segment": {"last_contact_days": 0}}, "segment"),
    ({"name": "x", "segment": {"colour": "red"}}, "segment"),
    ({"name": "x", "status": "running"}, "status"),
])
def test_campaign_validation(client, world, body, field):
    reply = client.post(CAMPAIGNS, json=body, headers=world.as_admin)
    assert reply.status_code == 400
    assert field in reply.json["errors"]


def test_campaign_permissions_and_missing_ones(client, world):
    assert client.get(CAMPAIGNS, headers=world.as_agent).status_code == 403
    assert client.post(CAMPAIGNS, json={"name": "x"}, headers=world.as_lead).status_code == 403
    assert client.post(CAMPAIGNS + "/preview", json={"segment": {}},
                       headers=world.as_sales).status_code == 403
    assert client.get(CAMPAIGNS + "/77", headers=world.as_admin).status_code == 404
    assert client.post(CAMPAIGNS + "/77/start", headers=world.as_admin).status_code == 404
    assert client.post(CAMPAIGNS + "/preview", json={"segment": {"tier": "gold"}},
                       headers=world.as_admin).status_code == 400
    assert client.post(CAMPAIGNS + "/preview", data="nope",
                       headers=world.as_admin).status_code == 400


def test_campaign_list_pages(client, world):
    for number in range(3):
        db.session.add(SurveyCampaign(name=f"C{number}", status=CampaignStatus.DRAFT,
                                      segment={}, created_at=utcnow()))
    db.session.commit()
    first = client.get(CAMPAIGNS, query_string={"limit": 2}, headers=world.as_admin).json
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = client.get(CAMPAIGNS, query_string={"limit": 2, "cursor": first["next_cursor"]},
                        headers=world.as_admin).json
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    assert client.get(CAMPAIGNS, query_string={"cursor": "bad"},
                      headers=world.as_admin).status_code == 400


def test_the_endpoints_are_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").json
    for path in ("/api/v1/surveys/responses", "/api/v1/surveys/invitations/{invitation_id}",
                 "/api/v1/admin/surveys/settings", "/api/v1/admin/surveys/campaigns",
                 "/api/v1/admin/surveys/campaigns/preview",
                 "/api/v1/admin/surveys/campaigns/{campaign_id}/start",
                 "/api/v1/admin/surveys/campaigns/{campaign_id}/cancel"):
        assert path in spec["paths"], path
    assert "patch" in spec["paths"]["/api/v1/admin/surveys/settings"]
