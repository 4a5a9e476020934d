"""VIP revisits in the console: the lists, a revisit's page and its forms, the plan page, the
account page's panel."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import select

from service.db_types import utcnow
from service.directory.models import Account, Contact, Tier
from service.extensions import db
from surveys.models import (EvidenceKind, Opportunity, OpportunityEvidence, OpportunityKind,
                            OpportunitySource, Revisit, RevisitPlan, RevisitStatus)
from surveys.revisits import services
from tickets.models import Channel, Ticket


@pytest.fixture
def agent(make_user, support_team):
    return make_user("agent", team=support_team, name="Dana Dedicated")


@pytest.fixture
def rep(make_user):
    return make_user("sales", name="Sam Sales")


@pytest.fixture
def vip(app, agent, rep):
    account = Account(name="Acme <VIP>", tier=Tier.VIP, dedicated_agent_id=agent.id,
                      sales_owner_id=rep.id)
    db.session.add(account)
    db.session.commit()
    return account


@pytest.fixture
def contact(vip):
    person = Contact(email="chen@acme.example", name="Chen Li", account_id=vip.id,
                     language="zh")
    db.session.add(person)
    db.session.commit()
    return person


@pytest.fixture
def revisit(vip, contact):
    services.plan_due(now=utcnow() - timedelta(days=1))
    return db.session.scalar(select(Revisit).where(Revisit.account_id == vip.id))


def sign_in(client, console_login, user):
    g.pop("_login_user", None)
    return console_login(client, user)


def html(response) -> str:
    return response.get_data(as_text=True)


def post(client, path: str, data: dict | None = None):
    return client.post(path, data={"csrf_token": client.csrf_token, **(data or {})})


# ---- the lists ----

def test_the_list_shows_my_overdue_revisit(client, console_login, agent, revisit):
    sign_in(client, console_login, agent)
    for view in ("mine", "overdue", None):
        response = client.get("/console/revisits", query_string={"view": view} if view else {})
        assert response.status_code == 200, view
        assert f"/console/revisits/{revisit.id}" in html(response)
        assert "Acme &lt;VIP&gt;" in html(response)
    for view in ("week", "done"):
        response = client.get("/console/revisits", query_string={"view": view})
        assert response.status_code == 200
        assert f"/console/revisits/{revisit.id}\"" not in html(response)


def test_the_nav_links_the_list(client, console_login, agent):
    sign_in(client, console_login, agent)
    assert 'href="/console/revisits"' in html(client.get("/console/revisits"))


def test_only_leads_and_admins_see_all(client, console_login, agent, make_user, revisit):
    sign_in(client, console_login, agent)
    response = client.get("/console/revisits?view=all")
    assert response.status_code == 400
    assert "Choose a list from the menu." in html(response)
    sign_in(client, console_login, make_user("lead"))
    response = client.get("/console/revisits?view=all")
    assert response.status_code == 200
    assert f"/console/revisits/{revisit.id}" in html(response)


def test_others_do_not_see_the_revisit_in_lists(client, console_login, make_user, revisit):
    sign_in(client, console_login, make_user("agent"))
    for view in ("mine", "overdue"):
        assert f"/console/revisits/{revisit.id}" not in html(
            client.get(f"/console/revisits?view={view}"))


def test_a_bad_cursor_shows_the_first_page_with_a_note(client, console_login, agent,
                                                       revisit):
    sign_in(client, console_login, agent)
    response = client.get("/console/revisits?view=overdue&cursor=garbage")
    assert response.status_code == 400
    assert "no longer valid" in html(response)
    assert f"/console/revisits/{revisit.id}" in html(response)


def test_pages_follow_the_cursor(app, client, console_login, make_user):
    from surveys.revisits import queries

    lead = make_user("lead")
    accounts = [Account(name=f"VIP {n}", tier=Tier.VIP) for n in range(3)]
    db.session.add_all(accounts)
    db.session.commit()
    services.plan_due(now=utcnow() - timedelta(days=1))
    first = queries.revisits(lead, "all", utcnow(), limit=2)
    assert len(first.rows) == 2 and first.next_cursor
    second = queries.revisits(lead, "all", utcnow(), first.next_cursor, limit=2)
    assert len(second.rows) == 1 and second.next_cursor is None
    assert {row.revisit.id for row in first.rows + second.rows} == set(
        db.session.scalars(select(Revisit.id)))


def test_the_list_needs_the_permission(client, console_login, make_user):
    sign_in(client, console_login, make_user("department"))
    assert client.get("/console/revisits").status_code == 403


# ---- a revisit's page ----

def test_the_revisit_page_shows_the_account_and_the_checklist(client, console_login, agent,
                                                              vip, revisit, make_ticket,
                                                              contact):
    from service.directory.models import AccountProduct

    db.session.add(AccountProduct(account_id=vip.id, product="Cloud Pro"))
    db.session.commit()
    make_ticket(subject="Login is slow", contact=contact)
    sign_in(client, console_login, agent)
    page = html(client.get(f"/console/revisits/{revisit.id}"))
    assert "Acme &lt;VIP&gt;" in page and "<VIP>" not in page
    assert "Cloud Pro" in page and "Login is slow" in page
    for label in ("Product usage and adoption", "Open issues and recent tickets",
                  "Satisfaction with support", "Upcoming needs, plans and renewal",
                  "Changes of contacts or decision makers"):
        assert label in page
    assert "Chen Li" in page
    assert "Open a ticket" in page and "Open an opportunity" in page


def test_the_revisit_page_shows_the_health_score_and_the_links(client, console_login, rep,
                                                                 vip, revisit):
    from surveys.models import AccountHealth, HealthBand

    db.session.add(AccountHealth(account_id=vip.id, score=35, band=HealthBand.AT_RISK,
                                 components={}, computed_at=utcnow()))
    db.session.commit()
    sign_in(client, console_login, rep)
    assert post(client, f"/console/revisits/{revisit.id}/opportunity", {
        "kind": "renewal", "reason": "Contract ends in June."}).status_code == 303
    page = html(client.get(f"/console/revisits/{revisit.id}"))
    assert "Health score" in page and "35" in page and "At risk" in page
    db.session.refresh(revisit)
    assert f'href="/console/opportunities/{revisit.opportunity_id}"' in page
    assert 'id="open-opportunity"' not in page


def test_the_revisit_page_renders_for_a_chinese_reader(client, console_login, agent,
                                                       revisit):
    agent.locale = "zh_CN"
    db.session.commit()
    sign_in(client, console_login, agent)
    assert client.get(f"/console/revisits/{revisit.id}").status_code == 200


def test_others_get_404_and_the_unknown_404(client, console_login, make_user, revisit):
    sign_in(client, console_login, make_user("agent"))
    assert client.get(f"/console/revisits/{revisit.id}").status_code == 404
    assert post(client, f"/console/revisits/{revisit.id}/done").status_code == 404
    sign_in(client, console_login, make_user("lead"))
    assert client.get(f"/console/revisits/{revisit.id + 100}").status_code == 404
    assert client.get(f"/console/revisits/{revisit.id}").status_code == 200


def test_done_records_the_call_and_plans_the_next(client, console_login, agent, revisit,
                                                 contact):
    sign_in(client, console_login, agent)
    response = post(client, f"/console/revisits/{revisit.id}/done", {
        "checklist": ["product_usage", "upcoming_needs"], "notes": "Renewal in May.",
        "satisfaction": "5", "contact_id": str(contact.id)})
    assert response.status_code == 303
    db.session.refresh(revisit)
    assert revisit.status == RevisitStatus.DONE and revisit.satisfaction == 5
    assert revisit.notes == "Renewal in May." and revisit.contact_id == contact.id
    assert {row["item"] for row in revisit.checklist if row["done"]} == {
        "product_usage", "upcoming_needs"}
    following = services.planned_revisit(revisit.account_id)
    assert following is not None
    assert following.due_at - revisit.done_at == timedelta(days=30)
    page = html(client.get(response.headers["Location"]))
    assert "Revisit recorded." in page and "Renewal in May." in page


@pytest.mark.parametrize("data, message", [
    ({"satisfaction": "9"}, "Choose a satisfaction from 1 to 5, or none."),
    ({"checklist": ["bribes"]}, "Tick only items of the checklist."),
    ({"contact_id": "99999"}, "Choose one of the account"),
    ({"notes": "x" * 10001}, "At most 10000 characters."),
])
def test_done_with_bad_input_is_shown_again_with_messages(client, console_login, agent,
                                                          revisit, data, message):
    sign_in(client, console_login, agent)
    response = post(client, f"/console/revisits/{revisit.id}/done", data)
    assert response.status_code == 400
    assert message in html(response)
    db.session.refresh(revisit)
    assert revisit.status == RevisitStatus.PLANNED


def test_a_post_without_csrf_is_refused(client, console_login, agent, revisit):
    sign_in(client, console_login, agent)
    response = client.post(f"/console/revisits/{revisit.id}/done", data={"notes": "x"})
    assert response.status_code == 400
    db.session.refresh(revisit)
    assert revisit.status == RevisitStatus.PLANNED


def test_done_twice_answers_409(client, console_login, agent, revisit):
    sign_in(client, console_login, agent)
    assert post(client, f"/console/revisits/{revisit.id}/done").status_code == 303
    response = post(client, f"/console/revisits/{revisit.id}/done")
    assert response.status_code == 409
    assert "no longer planned" in html(response)
    db.session.refresh(revisit)
    assert revisit.status == RevisitStatus.DONE


def test_skip_cancels_and_plans_the_next(client, console_login, agent, revisit):
    sign_in(client, console_login, agent)
    assert post(client, f"/console/revisits/{revisit.id}/cancel").status_code == 303
    db.session.refresh(revisit)
    assert revisit.status == RevisitStatus.CANCELLED
    assert services.planned_revisit(revisit.account_id) is not None


# ---- the two buttons ----

def test_open_a_ticket_creates_and_links_it(client, console_login, agent, revisit,
                                            contact):
    sign_in(client, console_login, agent)
    response = post(client, f"/console/revisits/{revisit.id}/ticket", {
        "subject": "Export fails for large reports", "description": "Said on the call.",
        "contact_id": str(contact.id), "acknowledge": "y"})
    assert response.status_code == 303
    db.session.refresh(revisit)
    ticket = db.session.get(Ticket, revisit.ticket_id)
    assert ticket is not None and ticket.contact_id == contact.id
    assert ticket.account_id == revisit.account_id and ticket.channel == Channel.PHONE
    assert ticket.subject == "Export fails for large reports"
    page = html(client.get(response.headers["Location"]))
    assert "opened." in page and 'id="open-ticket"' not in page
    # A second ticket from the same revisit is refused by the service.
    again = post(client, f"/console/revisits/{revisit.id}/ticket", {
        "subject": "Another", "description": "More.", "contact_id": str(contact.id)})
    assert again.status_code == 409
    assert "already opened" in html(again)


@pytest.mark.parametrize("data, message", [
    ({"subject": "", "description": "x"}, "Describe the problem in a few words."),
    ({"subject": "x", "description": ""}, "Write down what the customer told you."),
    ({"subject": "x" * 201, "description": "x"}, "At most 200 characters."),
    ({"subject": "x", "description": "x", "contact_id": ""},
     "Choose the contact the ticket is for."),
    ({"subject": "x", "description": "x", "contact_id": "424242"},
     "Choose one of the account"),
])
def test_open_a_ticket_with_bad_input_says_why(client, console_login, agent, revisit,
                                               contact, data, message):
    sign_in(client, console_login, agent)
    values = {"contact_id": str(contact.id), **data}
    response = post(client, f"/console/revisits/{revisit.id}/ticket", values)
    assert response.status_code == 400
    assert message in html(response)
    assert db.session.scalar(select(Ticket.id)) is None


def test_open_an_opportunity_creates_and_links_it(client, console_login, agent, revisit,
                                                  contact):
    revisit.notes = "They plan to open two new offices."
    revisit.contact_id = contact.id
    db.session.commit()
    sign_in(client, console_login, agent)
    response = post(client, f"/console/revisits/{revisit.id}/opportunity", {
        "kind": "upsell", "reason": "Two new offices need 40 more seats."})
    assert response.status_code == 303
    db.session.refresh(revisit)
    opportunity = db.session.get(Opportunity, revisit.opportunity_id)
    assert opportunity.kind == OpportunityKind.UPSELL
    assert opportunity.source == OpportunitySource.VIP_REVISIT
    assert opportunity.account_id == revisit.account_id
    assert opportunity.contact_id == contact.id
    assert "40 more seats" in opportunity.reason
    evidence = db.session.scalars(select(OpportunityEvidence).where(
        OpportunityEvidence.opportunity_id == opportunity.id)).all()
    assert [(row.kind, row.ref_id, row.rule) for row in evidence] == [
        (EvidenceKind.REVISIT, revisit.id, "vip_revisit")]
    assert evidence[0].excerpt == "They plan to open two new offices."


@pytest.mark.parametrize("data, message", [
    ({"kind": "", "reason": "x"}, "Choose a kind of opportunity."),
    ({"kind": "bribe", "reason": "x"}, "Choose a kind of opportunity from the list."),
    ({"kind": "upsell", "reason": ""}, "Say in a few words what the customer told you."),
])
def test_open_an_opportunity_with_bad_input_says_why(client, console_login, agent, revisit,
                                                     data, message):
    sign_in(client, console_login, agent)
    response = post(client, f"/console/revisits/{revisit.id}/opportunity", data)
    assert response.status_code == 400
    assert message in html(response)
    assert db.session.scalar(select(Opportunity.id)) is None


# ---- the plan ----

def test_the_plan_page_saves_a_plan(client, console_login, make_user, vip, revisit):
    lead = make_user("lead")
    chosen = make_user("agent", name="Chosen Caller")
    sign_in(client, console_login, lead)
    page = client.get(f"/console/revisits/accounts/{vip.id}/plan")
    assert page.status_code == 200 and 'value="30"' in html(page)
    response = post(client, f"/console/revisits/accounts/{vip.id}/plan", {
        "interval_days": "14", "owner_id": str(chosen.id), "active": "y"})
    assert response.status_code == 303
    plan = db.session.get(RevisitPlan, vip.id)
    assert (plan.interval_days, plan.owner_id, plan.active) == (14, chosen.id, True)
    db.session.refresh(revisit)
    assert revisit.owner_id == chosen.id


@pytest.mark.parametrize("data, message", [
    ({"interval_days": "0"}, "Enter a whole number of days from 1 to 365."),
    ({"interval_days": "366"}, "Enter a whole number of days from 1 to 365."),
    ({"interval_days": ""}, "Enter how many days apart the revisits are."),
    ({"interval_days": "abc"}, "Not a valid integer value."),
    ({"interval_days": "30", "owner_id": "999999"}, "Choose someone from the list."),
])
def test_the_plan_page_refuses_bad_input(client, console_login, agent, vip, data, message):
    sign_in(client, console_login, agent)
    response = post(client, f"/console/revisits/accounts/{vip.id}/plan",
                    {"active": "y", **data})
    assert response.status_code == 400
    assert message in html(response)
    assert db.session.get(RevisitPlan, vip.id) is None


def test_the_plan_page_is_for_leads_and_the_account_owners(client, console_login, make_user,
                                                           vip, rep):
    sign_in(client, console_login, make_user("agent"))
    assert client.get(f"/console/revisits/accounts/{vip.id}/plan").status_code == 403
    assert post(client, f"/console/revisits/accounts/{vip.id}/plan",
                {"interval_days": "7"}).status_code == 403
    sign_in(client, console_login, rep)
    assert client.get(f"/console/revisits/accounts/{vip.id}/plan").status_code == 200
    sign_in(client, console_login, make_user("lead"))
    assert client.get("/console/revisits/accounts/424242/plan").status_code == 404


def test_a_standard_account_has_no_plan(client, console_login, make_user):
    plain = Account(name="Plain", tier=Tier.STANDARD)
    db.session.add(plain)
    db.session.commit()
    sign_in(client, console_login, make_user("lead"))
    response = post(client, f"/console/revisits/accounts/{plain.id}/plan",
                    {"interval_days": "7", "active": "y"})
    assert response.status_code == 409
    assert "VIP accounts only" in html(response)


# ---- the account page's panel ----

def test_the_account_page_shows_the_revisit_panel(client, console_login, agent, vip,
                                                  revisit, make_user):
    services.complete(agent, revisit, checklist=[], notes=None, satisfaction=3)
    db.session.commit()
    sign_in(client, console_login, agent)
    page = html(client.get(f"/console/accounts/{vip.id}"))
    assert 'id="revisits"' in page
    assert "satisfaction 3/5" in page
    following = services.planned_revisit(vip.id)
    assert f"/console/revisits/{following.id}" in page
    assert f"/console/revisits/accounts/{vip.id}/plan" in page
    # Someone who may not work this account's revisits sees the dates, not the links.
    sign_in(client, console_login, make_user("agent"))
    page = html(client.get(f"/console/accounts/{vip.id}"))
    assert 'id="revisits"' in page and f"/console/revisits/{following.id}" not in page
    assert not re.search(r"/console/revisits/accounts/\d+/plan", page)


def test_standard_accounts_without_revisits_show_no_panel(client, console_login, make_user):
    plain = Account(name="Plain", tier=Tier.STANDARD)
    db.session.add(plain)
    db.session.commit()
    sign_in(client, console_login, make_user("lead"))
    page = client.get(f"/console/accounts/{plain.id}")
    assert page.status_code == 200 and 'id="revisits"' not in html(page)
