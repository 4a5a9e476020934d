"""The sales inbox and opportunity pages: tabs and counts, the page, forms with CSRF and bad
input, "New opportunity", and the panels on account, contact and ticket pages."""
from __future__ import annotations

from datetime import timedelta

import pytest

from service.db_types import utcnow
from service.extensions import db
from surveys.models import OpportunityKind, OpportunityStatus
from tests.surveys.test_opportunities import make_account, make_contact, record, signal


@pytest.fixture
def world(make_user):
    rep, other = make_user("sales", name="Rita Rep"), make_user("sales")
    lead = make_user("lead")
    now = utcnow()
    account = make_account("Acme <b>Corp</b>", owner=rep)
    mine = record(signal(account, reason="Asked for <script>alert(1)</script> more seats"),
                  now=now)
    late = record(signal(make_account("Late Co", owner=rep), kind=OpportunityKind.REFERRAL,
                         rule="nps_promoter"), now=now - timedelta(days=2))
    pooled = record(signal(make_account("Pool Co")), now=now)
    pooled.owner_id = None
    theirs = record(signal(make_account("Other Co", owner=other)), now=now)
    db.session.commit()
    return {"rep": rep, "other": other, "lead": lead, "account": account, "mine": mine,
            "late": late, "pooled": pooled, "theirs": theirs}


def test_inbox_tabs_and_counts(client, console_login, world):
    console_login(client, world["rep"])
    page = client.get("/console/opportunities/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'id="opportunity-{world["mine"].id}"' in html
    assert f'id="opportunity-{world["late"].id}" class="overdue"' in html
    assert f'id="opportunity-{world["pooled"].id}"' not in html
    assert 'id="tab-all"' not in html  # reps have no "all" tab
    assert "Acme &lt;b&gt;Corp&lt;/b&gt;" in html and "<script>alert" not in html
    pool = client.get("/console/opportunities/?tab=pool").get_data(as_text=True)
    assert f'id="opportunity-{world["pooled"].id}"' in pool
    assert f'id="opportunity-{world["mine"].id}"' not in pool
    due = client.get("/console/opportunities/?tab=due").get_data(as_text=True)
    assert f'id="opportunity-{world["late"].id}"' in due
    kind = client.get("/console/opportunities/?kind=referral").get_data(as_text=True)
    assert f'id="opportunity-{world["mine"].id}"' not in kind
    assert f'id="opportunity-{world["late"].id}"' in kind


def test_inbox_for_leads_has_all(client, console_login, world):
    console_login(client, world["lead"])
    html = client.get("/console/opportunities/?tab=all").get_data(as_text=True)
    assert 'id="tab-all"' in html and f'id="opportunity-{world["theirs"].id}"' in html


@pytest.mark.parametrize("query", ["kind=gold", "tab=nope", "cursor=zzz"])
def test_inbox_bad_filters(client, console_login, world, query):
    console_login(client, world["rep"])
    assert client.get(f"/console/opportunities/?{query}").status_code == 400


def test_inbox_needs_permission(client, console_login, make_user):
    console_login(client, make_user("agent"))
    assert client.get("/console/opportunities/").status_code == 403


def test_page_and_others_404(client, console_login, world):
    console_login(client, world["rep"])
    page = client.get(f"/console/opportunities/{world['mine'].id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "The customer asked for more seats or accounts." in html  # the rule explained
    assert "more seats" in html and "/console/tickets/1" in html
    assert "&lt;script&gt;" in html
    assert client.get(f"/console/opportunities/{world['theirs'].id}").status_code == 404


def test_status_form(client, console_login, world):
    console_login(client, world["rep"])
    url = f"/console/opportunities/{world['mine'].id}/status"
    response = client.post(url, data={"csrf_token": client.csrf_token, "status": "contacted"})
    assert response.status_code == 303
    db.session.refresh(world["mine"])
    assert world["mine"].status == OpportunityStatus.CONTACTED
    response = client.post(url, data={"csrf_token": client.csrf_token, "status": "lost"})
    assert response.status_code == 400
    assert "Say why the opportunity was lost." in response.get_data(as_text=True)
    response = client.post(url, data={"csrf_token": client.csrf_token, "status": "won",
                                      "won_value": "abc"})
    assert response.status_code == 400
    response = client.post(url, data={"csrf_token": client.csrf_token, "status": "won",
                                      "won_value": "1500"})
    assert response.status_code == 303
    db.session.refresh(world["mine"])
    assert world["mine"].won_value == 1500


def test_forms_need_csrf(client, console_login, world):
    console_login(client, world["rep"])
    response = client.post(f"/console/opportunities/{world['mine'].id}/status",
                           data={"status": "contacted"})
    assert response.status_code == 400
    db.session.refresh(world["mine"])
    assert world["mine"].status == OpportunityStatus.NEW


def test_take_from_pool_and_reassign(client, console_login, world):
    console_login(client, world["rep"])
    take = f"/console/opportunities/{world['pooled'].id}/take"
    assert client.post(take, data={"csrf_token": client.csrf_token}).status_code == 303
    db.session.refresh(world["pooled"])
    assert world["pooled"].owner_id == world["rep"].id
    assign = f"/console/opportunities/{world['pooled'].id}/assign"
    assert client.post(assign, data={"csrf_token": client.csrf_token,
                                     "owner_id": str(world["other"].id)}).status_code == 403
    console_login(client, world["lead"])
    assert client.post(assign, data={"csrf_token": client.csrf_token,
                                     "owner_id": "nobody"}).status_code == 400
    assert client.post(assign, data={"csrf_token": client.csrf_token,
                                     "owner_id": str(world["other"].id)}).status_code == 303
    db.session.refresh(world["pooled"])
    assert world["pooled"].owner_id == world["other"].id


def test_value_form(client, console_login, world):
    console_login(client, world["rep"])
    url = f"/console/opportunities/{world['mine'].id}/value"
    bad = client.post(url, data={"csrf_token": client.csrf_token, "estimated_value": "-4",
                                 "suggested_products": "Seats"})
    assert bad.status_code == 400
    good = client.post(url, data={"csrf_token": client.csrf_token, "estimated_value": "800",
                                  "suggested_products": "Seats\nPro plan"})
    assert good.status_code == 303
    db.session.refresh(world["mine"])
    assert world["mine"].estimated_value == 800
    assert world["mine"].suggested_products == ["Seats", "Pro plan"]


def test_new_opportunity_form(client, console_login, world, make_user):
    agent = make_user("agent")
    contact = make_contact(world["account"])
    console_login(client, agent)
    page = client.get(f"/console/opportunities/new?contact_id={contact.id}")
    assert page.status_code == 200 and contact.name in page.get_data(as_text=True)
    missing = client.post("/console/opportunities/new", data={
        "csrf_token": client.csrf_token, "kind": "cross_sell", "reason": "",
        "contact_id": str(contact.id)})
    assert missing.status_code == 400
    bogus = client.post("/console/opportunities/new", data={
        "csrf_token": client.csrf_token, "kind": "cross_sell", "reason": "x",
        "contact_id": "999999"})
    assert bogus.status_code == 400 and "No contact has this id." in bogus.get_data(
        as_text=True)
    done = client.post("/console/opportunities/new", data={
        "csrf_token": client.csrf_token, "kind": "cross_sell", "reason": "Wants analytics",
        "contact_id": str(contact.id), "suggested_products": "Analytics",
        "estimated_value": "300"})
    assert done.status_code == 303  # an agent cannot see it: back to the account
    assert done.headers["Location"].endswith(f"/console/accounts/{world['account'].id}")


def test_panels(client, console_login, world, make_user, make_ticket):
    console_login(client, world["rep"])
    html = client.get(f"/console/accounts/{world['account'].id}").get_data(as_text=True)
    assert f'id="panel-opportunity-{world["mine"].id}"' in html
    assert "/console/opportunities/new?account_id=" in html
    ticket = make_ticket()
    record(signal(make_account("Ticket Co", owner=world["rep"]), ref_id=ticket.id))
    admin = make_user("admin")
    console_login(client, admin)
    html = client.get(f"/console/tickets/{ticket.id}").get_data(as_text=True)
    assert 'id="opportunities"' in html and "panel-opportunity-" in html


def test_export_from_the_console(client, console_login, world):
    console_login(client, world["rep"])
    response = client.get("/console/opportunities/export.csv")
    assert response.status_code == 200
    assert response.data.startswith(b"\xef\xbb\xbfid,")
    assert client.get("/console/opportunities/export.csv?kind=gold").status_code == 400
