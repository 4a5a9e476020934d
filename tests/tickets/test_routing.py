"""Routing rules and least-loaded assignment."""
from __future__ import annotations

from sqlalchemy import select

from service.auth.models import Availability
from service.directory.models import Account, AccountDomain, Skill, Tier
from service.extensions import db
from tickets.models import Channel, Priority, RoutingRule, Status, Ticket
from tickets.routing import TicketFacts, rule_matches

from tests.tickets.helpers_resolution import resolve_ticket


def facts(**overrides) -> TicketFacts:
    values = dict(channel="web", category=None, product=None, language=None, tier=None, text="")
    values.update(overrides)
    return TicketFacts(**values)


def test_rule_conditions():
    assert rule_matches({}, facts())
    assert rule_matches({"channel": ["web", "email"]}, facts(channel="web"))
    assert not rule_matches({"channel": ["email"]}, facts(channel="web"))
    assert rule_matches({"keywords": ["发票"]}, facts(text="请重开发票"))
    assert not rule_matches({"keywords": ["invoice"], "language": ["zh"]},
                            facts(text="invoice", language="en"))
    assert rule_matches({"tier": ["vip"], "product": ["WMS"]}, facts(tier="vip", product="wms"))
    assert not rule_matches({"category": ["billing"]}, facts(category=None))


def test_rules_in_order_then_default_team(make_ticket, make_team, make_user, support_team):
    billing = make_team("Billing")
    china = make_team("China desk")
    make_user("agent", team=billing)
    db.session.add_all([
        RoutingRule(position=2, name="Chinese", team_id=china.id, conditions={"language": ["zh"]}),
        RoutingRule(position=1, name="Invoices", team_id=billing.id,
                    conditions={"keywords": ["invoice", "发票"]}),
        RoutingRule(position=0, name="disabled", team_id=china.id, conditions={},
                    is_active=False),
    ])
    db.session.commit()
    assert make_ticket(subject="发票抬头错误", language="zh").team_id == billing.id
    assert make_ticket(subject="扫码枪断线", language="zh").team_id == china.id
    assert make_ticket(subject="Login broken").team_id == support_team.id


def test_least_loaded_then_least_recently_assigned(make_ticket, make_user, support_team):
    first = make_user("agent", team=support_team)
    second = make_user("agent", team=support_team)
    third = make_user("agent", team=support_team)
    assignees = [make_ticket().assignee_id for _ in range(6)]
    assert sorted(assignees) == sorted([first.id, second.id, third.id] * 2)
    # Round robin among equals: each of the first three went to a different agent.
    assert len(set(assignees[:3])) == 3


def test_priority_weight_breaks_ties(make_ticket, make_user, support_team):
    calm = make_user("agent", team=support_team)
    busy = make_user("agent", team=support_team)
    make_ticket(urgency=Priority.URGENT)  # → calm (never assigned before, lower id)
    make_ticket(urgency=Priority.LOW)  # → busy
    # Both hold one ticket; busy's is lighter, so busy takes the next one.
    assert make_ticket().assignee_id == busy.id
    assert calm.id != busy.id


def test_skills_availability_and_capacity(make_ticket, make_user, support_team):
    chinese = Skill(name="zh")
    db.session.add(chinese)
    speaker = make_user("agent", team=support_team, max_open_tickets=1)
    speaker.skills.append(chinese)
    away = make_user("agent", team=support_team, availability=Availability.AWAY)
    away.skills.append(chinese)
    db.session.add(RoutingRule(position=1, name="zh", team_id=support_team.id,
                               conditions={"language": ["zh"]}, required_skills=["zh"]))
    db.session.commit()
    first = make_ticket(subject="你好", language="zh")
    assert first.assignee_id == speaker.id
    queued = make_ticket(subject="再来一个", language="zh")
    assert queued.assignee_id is None and queued.status == Status.NEW
    assert queued.team_id == support_team.id


def test_vip_dedicated_agent_first(make_ticket, make_user, support_team):
    from service.db_types import utcnow
    from tickets.routing import set_assignee

    other = make_user("agent", team=support_team)
    dedicated = make_user("agent", team=support_team)
    for ticket in [make_ticket() for _ in range(3)]:  # the dedicated agent gets them all
        set_assignee(ticket, dedicated, utcnow(), actor=None, reason="test")
    db.session.commit()
    account = Account(name="Big Co", tier=Tier.VIP, dedicated_agent_id=dedicated.id,
                      domains=[AccountDomain(domain="bigco.example")])
    db.session.add(account)
    db.session.commit()
    # Typing the company's name proves nothing; writing from its domain does.
    impostor = make_ticket(customer_email="someone@gmail.com", customer_company="Big Co")
    assert impostor.account_id is None and impostor.priority == Priority.NORMAL
    assert impostor.assignee_id == other.id  # least loaded
    ticket = make_ticket(customer_email="ops@bigco.example", urgency=Priority.NORMAL)
    assert ticket.account_id == account.id
    assert ticket.assignee_id == dedicated.id  # although the busiest
    assert ticket.priority == Priority.HIGH  # VIP +1 step
    dedicated.availability = Availability.OUT_OF_OFFICE
    db.session.commit()
    assert make_ticket(customer_email="it@bigco.example").assignee_id == other.id


def test_queued_ticket_is_assigned_when_an_agent_comes_back(client, auth, make_ticket,
                                                            make_user, support_team):
    agent = make_user("agent", team=support_team, availability=Availability.AWAY)
    waiting = make_ticket()
    assert waiting.assignee_id is None
    response = client.patch(f"/api/v1/agents/{agent.id}", json={"availability": "available"},
                            headers=auth(agent))
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(Ticket, waiting.id).assignee_id == agent.id
    assert db.session.get(Ticket, waiting.id).status == Status.OPEN


def test_queued_ticket_is_assigned_when_capacity_frees_up(client, auth, make_ticket, make_user,
                                                          support_team):
    agent = make_user("agent", team=support_team, max_open_tickets=1)
    held = make_ticket()
    waiting = make_ticket()
    assert (held.assignee_id, waiting.assignee_id) == (agent.id, None)
    resolve_ticket(agent, held)
    db.session.expire_all()
    assert db.session.get(Ticket, waiting.id).assignee_id == agent.id


def test_agent_patch_permissions_and_validation(client, auth, make_user, support_team):
    agent = make_user("agent", team=support_team)
    other = make_user("agent", team=support_team)
    lead = make_user("lead")
    mine = auth(agent)
    assert client.patch(f"/api/v1/agents/{other.id}", json={"availability": "away"},
                        headers=mine).status_code == 403
    assert client.patch(f"/api/v1/agents/{agent.id}", json={"max_open_tickets": 99},
                        headers=mine).status_code == 403
    assert client.patch(f"/api/v1/agents/{agent.id}", json={"availability": "asleep"},
                        headers=mine).status_code == 400
    assert client.patch(f"/api/v1/agents/{agent.id}", json={"max_open_tickets": -1},
                        headers=auth(lead)).status_code == 400
    assert client.patch("/api/v1/agents/99999", json={"availability": "away"},
                        headers=auth(lead)).status_code == 404
    ok = client.patch(f"/api/v1/agents/{agent.id}", json={"max_open_tickets": 5},
                      headers=auth(lead))
    assert ok.status_code == 200 and ok.json["max_open_tickets"] == 5


def test_manual_reassign_and_team_change(client, auth, make_ticket, make_user, make_team,
                                         support_team):
    agent = make_user("agent", team=support_team)
    other_team = make_team("Logistics")
    logistics_agent = make_user("agent", team=other_team)
    ticket = make_ticket()
    # Moving a ticket to another team takes it out of the agent's sight: an admin does it.
    headers = auth(make_user("admin"))
    moved = client.patch(f"/api/v1/tickets/{ticket.id}", json={"team": other_team.id},
                         headers=headers).json
    assert moved["team"]["id"] == other_team.id
    assert moved["assignee"]["id"] == logistics_agent.id
    back = client.patch(f"/api/v1/tickets/{ticket.id}", json={"assignee": agent.id},
                        headers=headers).json
    assert back["assignee"]["id"] == agent.id
    assert client.patch(f"/api/v1/tickets/{ticket.id}", json={"assignee": None},
                        headers=headers).json["assignee"] is None


def test_channel_is_kept(make_ticket):
    assert make_ticket(channel=Channel.PHONE).channel == Channel.PHONE
    assert db.session.scalar(select(Ticket.channel)) == Channel.PHONE


def test_language_is_guessed_from_the_text_when_not_given(make_ticket):
    from tickets.intake import guess_language

    assert guess_language("打印机坏了") == "zh"
    assert guess_language("Printer is broken") == "en"
    assert make_ticket(subject="打印机坏了", description="无法打印").language == "zh"
    assert make_ticket(subject="Broken", description="No print", language="zh").language == "zh"
