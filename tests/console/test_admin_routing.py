"""Console admin pages for routing rules: list, edit, reorder, delete and the dry run."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from service.auth.models import Availability, User
from service.directory.models import Account, AccountDomain, Contact, Skill, Tier
from service.extensions import db
from tickets.models import Channel, RoutingRule, Ticket, TicketEvent


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def rules_in_order() -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(RoutingRule.name)
                                   .order_by(RoutingRule.position, RoutingRule.id)))


def rule_rows() -> list[tuple]:
    db.session.expire_all()
    return [tuple(row) for row in db.session.execute(
        select(RoutingRule.__table__).order_by(RoutingRule.id))]


@pytest.fixture
def admin_client(client, make_user, console_login):
    console_login(client, make_user("admin"))
    return client


@pytest.fixture
def billing(make_team):
    return make_team("Billing")


@pytest.fixture
def chinese(active_app):
    skill = Skill(name="zh")
    db.session.add(skill)
    db.session.commit()
    return skill


def rule_form(client, team, **overrides) -> dict:
    data = {"csrf_token": client.csrf_token, "name": "Invoices", "is_active": "y",
            "channel": ["email", "web"], "category": "billing, 账单", "product": "",
            "language": "", "tier": [], "keywords": "invoice\n发票, refund",
            "team_id": str(team.id), "required_skills": []}
    data.update(overrides)
    return data


def add_rule(name, team, position, conditions=None, **fields) -> RoutingRule:
    rule = RoutingRule(name=name, team_id=team.id, position=position,
                       conditions=conditions or {}, **fields)
    db.session.add(rule)
    db.session.commit()
    return rule


# ---- access ----

@pytest.mark.parametrize("role", ["admin", "lead"])
def test_admins_and_leads_open_every_page(client, make_user, console_login, billing, role):
    rule = add_rule("Any", billing, 0)
    console_login(client, make_user(role))
    for url in ("/console/admin/routing", "/console/admin/routing/new",
                f"/console/admin/routing/{rule.id}/edit", "/console/admin/routing/dry-run"):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("role", ["agent", "sales", "department"])
def test_other_roles_are_refused(client, make_user, console_login, billing, role):
    rule = add_rule("Any", billing, 0)
    console_login(client, make_user(role))
    for url in ("/console/admin/routing", "/console/admin/routing/new",
                f"/console/admin/routing/{rule.id}/edit", "/console/admin/routing/dry-run"):
        assert client.get(url).status_code == 403, url
    before = rule_rows()
    token = client.csrf_token
    assert client.post("/console/admin/routing/new",
                       data=rule_form(client, billing)).status_code == 403
    assert client.post(f"/console/admin/routing/{rule.id}/delete",
                       data={"csrf_token": token}).status_code == 403
    assert client.post(f"/console/admin/routing/{rule.id}/move",
                       data={"csrf_token": token, "direction": "down"}).status_code == 403
    assert rule_rows() == before


def test_signed_out_is_sent_to_sign_in(client, billing):
    rule = add_rule("Any", billing, 0)
    for url in ("/console/admin/routing", "/console/admin/routing/new",
                f"/console/admin/routing/{rule.id}/edit", "/console/admin/routing/dry-run"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/console/login" in response.headers["Location"]


def test_unknown_rules_are_404(admin_client):
    token = admin_client.csrf_token
    for rule_id in ("424242", "99999999999", "abc"):
        assert admin_client.get(f"/console/admin/routing/{rule_id}/edit").status_code == 404
        assert admin_client.post(f"/console/admin/routing/{rule_id}/delete",
                                 data={"csrf_token": token}).status_code == 404
        assert admin_client.post(f"/console/admin/routing/{rule_id}/move",
                                 data={"csrf_token": token, "direction": "up"}).status_code == 404


# ---- create, edit, delete ----

def test_create_a_rule_and_route_by_it_at_once(admin_client, make_ticket, billing, chinese,
                                               support_team):
    first = make_ticket(subject="Need an invoice", channel=Channel.EMAIL)
    assert first.team_id == support_team.id  # and the routing snapshot is now loaded
    response = admin_client.post("/console/admin/routing/new", data=rule_form(
        admin_client, billing, required_skills=["zh"], language="zh, EN"))
    assert response.status_code == 303
    rule = db.session.scalar(select(RoutingRule))
    assert response.headers["Location"].endswith(f"/console/admin/routing#rule-{rule.id}")
    assert (rule.name, rule.team_id, rule.is_active, rule.required_skills) == \
        ("Invoices", billing.id, True, ["zh"])
    assert rule.conditions == {"channel": ["email", "web"], "category": ["billing", "账单"],
                               "language": ["zh", "EN"], "keywords": ["invoice", "发票", "refund"]}
    ticket = make_ticket(subject="请开发票", channel=Channel.EMAIL, language="zh",
                         category="Billing")
    assert ticket.team_id == billing.id and ticket.required_skills == ["zh"]
    page = admin_client.get("/console/admin/routing").get_data(as_text=True)
    for text in ("Invoices", "Billing", "Email", "Web form", "billing, 账单", "发票", "zh"):
        assert text in page


def test_edit_a_rule_and_route_by_it_at_once(admin_client, make_ticket, make_team, billing):
    china = make_team("China desk")
    rule = add_rule("Invoices", billing, 0, {"keywords": ["invoice"]})
    assert make_ticket(subject="invoice please").team_id == billing.id
    page = admin_client.get(f"/console/admin/routing/{rule.id}/edit").get_data(as_text=True)
    assert "invoice</textarea>" in page
    response = admin_client.post(f"/console/admin/routing/{rule.id}/edit", data=rule_form(
        admin_client, china, channel=[], category="", keywords="invoice"))
    assert response.status_code == 303
    assert make_ticket(subject="invoice please").team_id == china.id
    # Deactivating it sends such tickets back to the default team.
    admin_client.post(f"/console/admin/routing/{rule.id}/edit", data=rule_form(
        admin_client, china, channel=[], category="", keywords="invoice", is_active=""))
    db.session.expire_all()
    assert db.session.get(RoutingRule, rule.id).is_active is False
    assert make_ticket(subject="invoice please").team_id != china.id


def test_delete_a_rule(admin_client, make_ticket, billing, support_team):
    rule = add_rule("Everything", billing, 0)
    assert make_ticket().team_id == billing.id
    response = admin_client.post(f"/console/admin/routing/{rule.id}/delete",
                                 data={"csrf_token": admin_client.csrf_token})
    assert response.status_code == 303
    assert count(RoutingRule) == 0
    assert make_ticket().team_id == support_team.id


@pytest.mark.parametrize("overrides, message", [
    ({"name": ""}, "Give the rule a name"),
    ({"name": "x" * 121}, "120 characters"),
    ({"team_id": ""}, "Choose"),
    ({"team_id": "424242"}, "Choose the team"),
    ({"team_id": "99999999999999999999"}, "Choose the team"),
    ({"team_id": "abc"}, ""),
    ({"channel": ["email", "fax"]}, "Unknown value: fax"),
    ({"tier": ["gold"]}, "Unknown value: gold"),
    ({"required_skills": ["klingon"]}, "Unknown skill: klingon"),
    ({"category": ",".join(f"c{i}" for i in range(101))}, "At most 100 values"),
    ({"keywords": "x" * 101}, "at most 100 characters"),
])
def test_bad_rules_are_refused(admin_client, billing, overrides, message):
    add_rule("Existing", billing, 0)
    before = rule_rows()
    response = admin_client.post("/console/admin/routing/new",
                                 data=rule_form(admin_client, billing, **overrides))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and 'class="field-error"' in page
    assert rule_rows() == before


def test_bad_edit_changes_nothing(admin_client, billing):
    rule = add_rule("Existing", billing, 0, {"keywords": ["invoice"]})
    before = rule_rows()
    response = admin_client.post(f"/console/admin/routing/{rule.id}/edit",
                                 data=rule_form(admin_client, billing, name="Renamed",
                                                channel=["pigeon"]))
    assert response.status_code == 400
    assert rule_rows() == before


def test_rule_forms_need_the_csrf_token(admin_client, billing):
    rule = add_rule("Existing", billing, 0)
    before = rule_rows()
    data = rule_form(admin_client, billing)
    del data["csrf_token"]
    assert admin_client.post("/console/admin/routing/new", data=data).status_code == 400
    assert admin_client.post(f"/console/admin/routing/{rule.id}/edit",
                             data=data).status_code == 400
    assert admin_client.post(f"/console/admin/routing/{rule.id}/delete").status_code == 400
    assert admin_client.post(f"/console/admin/routing/{rule.id}/move",
                             data={"direction": "down"}).status_code == 400
    assert admin_client.post("/console/admin/routing/dry-run",
                             data={"subject": "x", "channel": "web"}).status_code == 400
    assert rule_rows() == before


def test_rule_names_and_values_are_escaped(admin_client, billing):
    evil = "<img src=x onerror=alert(1)>"
    response = admin_client.post("/console/admin/routing/new", data=rule_form(
        admin_client, billing, name=evil, keywords=evil, category=evil))
    assert response.status_code == 303
    for url in ("/console/admin/routing", "/console/admin/routing/dry-run"):
        page = admin_client.get(url).get_data(as_text=True)
        assert "<img src=x" not in page
    page = admin_client.get("/console/admin/routing").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    db.session.add(Account(name=evil, tier=Tier.VIP,
                           domains=[AccountDomain(domain="evil.example")]))
    db.session.commit()
    response = admin_client.post("/console/admin/routing/dry-run", data={
        "csrf_token": admin_client.csrf_token, "subject": evil, "channel": "email",
        "category": evil, "customer_email": "someone@evil.example"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<img src=x" not in page and "from the account &lt;img src=x" in page


# ---- order ----

def test_move_rules_up_and_down(admin_client, make_ticket, make_team, billing):
    china = make_team("China desk")
    first = add_rule("Billing words", billing, 0, {"keywords": ["invoice"]})
    second = add_rule("Chinese", china, 1, {"language": ["zh"]})
    third = add_rule("Phone", billing, 2, {"channel": ["phone"]})
    assert make_ticket(subject="invoice 发票", language="zh").team_id == billing.id
    move = f"/console/admin/routing/{second.id}/move"
    response = admin_client.post(move, data={"csrf_token": admin_client.csrf_token,
                                             "direction": "up"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"#rule-{second.id}")
    assert rules_in_order() == ["Chinese", "Billing words", "Phone"]
    assert make_ticket(subject="invoice 发票", language="zh").team_id == china.id
    admin_client.post(f"/console/admin/routing/{third.id}/move",
                      data={"csrf_token": admin_client.csrf_token, "direction": "up"})
    assert rules_in_order() == ["Chinese", "Phone", "Billing words"]
    # Already first: nothing changes, and the page says so.
    response = admin_client.post(move, data={"csrf_token": admin_client.csrf_token,
                                             "direction": "up"}, follow_redirects=True)
    assert "already at that end" in response.get_data(as_text=True)
    assert rules_in_order() == ["Chinese", "Phone", "Billing words"]
    response = admin_client.post(f"/console/admin/routing/{first.id}/move",
                                 data={"csrf_token": admin_client.csrf_token,
                                       "direction": "sideways"}, follow_redirects=True)
    assert response.status_code == 200 and "Move a rule up or down" in response.get_data(
        as_text=True)
    assert rules_in_order() == ["Chinese", "Phone", "Billing words"]
    positions = list(db.session.scalars(select(RoutingRule.position)
                                        .order_by(RoutingRule.position)))
    assert positions == [0, 1, 2]


def test_move_works_with_equal_positions(admin_client, billing):
    add_rule("A", billing, 5)
    second = add_rule("B", billing, 5)
    admin_client.post(f"/console/admin/routing/{second.id}/move",
                      data={"csrf_token": admin_client.csrf_token, "direction": "up"})
    assert rules_in_order() == ["B", "A"]


def test_new_rules_go_last(admin_client, billing):
    add_rule("First", billing, 7)
    admin_client.post("/console/admin/routing/new", data=rule_form(admin_client, billing,
                                                                   name="Second"))
    assert rules_in_order() == ["First", "Second"]


# ---- dry run ----

@pytest.fixture
def routed_world(make_team, make_user, support_team, chinese):
    """Rules, agents with skills and loads, and a VIP account with a dedicated agent."""
    china = make_team("China desk")
    add_rule("Chinese", china, 0, {"language": ["zh"]}, required_skills=["zh"])
    add_rule("Phone VIP", support_team, 1, {"channel": ["phone"], "tier": ["vip"]})
    speaker = make_user("agent", team=china, name="Speaker")
    speaker.skills.append(chinese)
    make_user("agent", team=china, name="Monolingual")
    away = make_user("agent", team=china, name="Away", availability=Availability.AWAY)
    away.skills.append(chinese)
    busy = make_user("agent", team=support_team, name="Busy")
    calm = make_user("agent", team=support_team, name="Calm")
    dedicated = make_user("agent", team=support_team, name="Dedicated", max_open_tickets=0)
    account = Account(name="Big Co", tier=Tier.VIP, dedicated_agent_id=dedicated.id,
                      domains=[AccountDomain(domain="bigco.example")])
    db.session.add(account)
    db.session.commit()
    return {"china": china, "speaker": speaker, "busy": busy, "calm": calm,
            "dedicated": dedicated, "account": account}


def dry_run(client, **fields):
    data = {"csrf_token": client.csrf_token, "subject": "", "description": "",
            "channel": "web", "category": "", "product": "", "language": "",
            "customer_email": "", "tier": ""}
    data.update(fields)
    return client.post("/console/admin/routing/dry-run", data=data)


def world_state() -> tuple:
    db.session.expire_all()
    users = [tuple(row) for row in db.session.execute(
        select(User.id, User.open_tickets, User.open_load, User.last_assigned_at)
        .order_by(User.id))]
    return (users, count(Ticket), count(Contact), count(TicketEvent), rule_rows())


CASES = [
    dict(subject="打印机坏了", description="无法打印", channel="email"),
    dict(subject="Printer broken", description="help", channel="phone",
         customer_email="ops@bigco.example"),
    dict(subject="Printer broken", description="help", channel="web",
         customer_email="it@bigco.example"),
    dict(subject="Hello", description="question", channel="chat", language="en"),
]


@pytest.mark.parametrize("case", CASES)
def test_dry_run_agrees_with_intake_and_writes_nothing(admin_client, make_ticket,
                                                       routed_world, case):
    make_ticket(subject="warm-up", description="loads the routing snapshot")
    before = world_state()
    response = dry_run(admin_client, **case)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert world_state() == before  # no ticket, contact, event, counter or timestamp
    ticket = make_ticket(subject=case["subject"], description=case["description"],
                         channel=Channel(case["channel"]), language=case.get("language"),
                         customer_email=case.get("customer_email") or "new@example.com")
    team = db.session.get(type(routed_world["china"]), ticket.team_id)
    outcome = page.split('id="outcome"')[1].split("</section>")[0]
    assert team.name in outcome
    if ticket.assignee_id is None:
        assert "nobody is eligible now" in outcome
    else:
        assert f"<strong>{db.session.get(User, ticket.assignee_id).name}</strong>" in outcome


def test_dry_run_explains_the_choice(admin_client, routed_world):
    page = dry_run(admin_client, subject="打印机坏了", channel="email").get_data(as_text=True)
    outcome = page.split('id="outcome"')[1].split("</section>")[0]
    assert "Chinese" in outcome and "China desk" in outcome
    assert "<strong>Speaker</strong>" in outcome
    assert "guessed from the text" in page
    agents = page.split('id="agents-heading"')[1]
    assert re.search(r"Monolingual.*?lacks zh", agents, re.S)
    assert re.search(r"Away.*?not available", agents, re.S)
    # The VIP's dedicated agent is considered first, but has no room.
    page = dry_run(admin_client, subject="Printer", channel="phone",
                   customer_email="ops@bigco.example").get_data(as_text=True)
    assert "Phone VIP" in page and "from the account Big Co" in page and "a new contact" in page
    agents = page.split('id="agents-heading"')[1]
    assert re.search(r"Dedicated.*?dedicated agent.*?at capacity", agents, re.S)
    rules = page.split('id="rules-heading"')[1].split("</section>")[0]
    assert re.search(r"Chinese</strong>:\s*no match — Language", rules)


def test_dry_run_prefers_an_available_dedicated_agent(admin_client, routed_world):
    dedicated = routed_world["dedicated"]
    dedicated.max_open_tickets = 5
    db.session.commit()
    page = dry_run(admin_client, subject="Printer", channel="web",
                   customer_email="boss@bigco.example").get_data(as_text=True)
    outcome = page.split('id="outcome"')[1].split("</section>")[0]
    assert "<strong>Dedicated</strong>" in outcome and "dedicated agent of the account" in outcome


def test_dry_run_with_tier_given_directly(admin_client, routed_world, support_team):
    page = dry_run(admin_client, subject="Printer", channel="phone", tier="vip").get_data(
        as_text=True)
    outcome = page.split('id="outcome"')[1].split("</section>")[0]
    assert "Phone VIP" in outcome and support_team.name in outcome


def test_dry_run_fallback_and_no_team(admin_client, make_team, support_team):
    page = dry_run(admin_client, subject="hi", channel="web").get_data(as_text=True)
    assert "none matched: the fallback default team" in page and support_team.name in page
    assert "The team has no active agents or leads" in page


@pytest.mark.parametrize("fields, message", [
    ({"channel": "fax"}, "Not a valid choice"),
    ({"tier": "gold"}, "Not a valid choice"),
    ({"customer_email": "not-an-email"}, "Not a valid email address"),
    ({"subject": "x" * 201}, "200 characters"),
    ({"language": "klingon-long-tag"}, "10 characters"),
])
def test_dry_run_bad_input(admin_client, fields, message):
    response = dry_run(admin_client, **fields)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count(Contact) == 0 and count(Ticket) == 0


def test_control_characters_are_stripped(admin_client, billing):
    response = admin_client.post("/console/admin/routing/new", data=rule_form(
        admin_client, billing, name="Bad\x00name", keywords="in\x00voice"))
    assert response.status_code == 303
    rule = db.session.scalar(select(RoutingRule))
    assert rule.name == "Badname" and rule.conditions["keywords"] == ["invoice"]


JUNK = ["", " ", "0", "-1", "9" * 30, "null", "<b>x</b>", "\x00", "😀" * 50, "，，、；",
        "x" * 5000]


def test_no_input_makes_a_500(admin_client, billing, chinese):
    rule = add_rule("Existing", billing, 0)
    base_rule = rule_form(admin_client, billing)
    base_dry = {"csrf_token": admin_client.csrf_token, "subject": "s", "description": "d",
                "channel": "web", "category": "", "product": "", "language": "",
                "customer_email": "", "tier": ""}
    forms = {"/console/admin/routing/new": base_rule,
             f"/console/admin/routing/{rule.id}/edit": base_rule,
             "/console/admin/routing/dry-run": base_dry,
             f"/console/admin/routing/{rule.id}/move": {"csrf_token": admin_client.csrf_token,
                                                       "direction": "up"}}
    for url, base in forms.items():
        for name in base:
            if name == "csrf_token":
                continue
            for junk in JUNK:
                response = admin_client.post(url, data={**base, name: junk})
                assert response.status_code < 500, (url, name, junk)
        assert admin_client.post(url, data={"csrf_token": admin_client.csrf_token}
                                 ).status_code < 500, url
