"""Agents hear by mail when a ticket is assigned to them, unless they took it or opted out."""
from __future__ import annotations

from sqlalchemy import select

from service.extensions import db
from service.notify.models import OutboundMail


def mails_to(address: str) -> list[OutboundMail]:
    return list(db.session.scalars(select(OutboundMail)
                                   .where(OutboundMail.to_address == address)
                                   .where(OutboundMail.dedupe_key.startswith("assigned:"))))


def test_a_hand_over_by_a_colleague_is_mailed_an_automatic_assignment_is_not(
        client, make_user, make_ticket, auth, support_team):
    first = make_user("agent", team=support_team, email="first@staff.test")
    ticket = make_ticket(subject="Scanner offline")
    assert ticket.assignee_id == first.id
    assert mails_to("first@staff.test") == []  # it shows up in the live queue instead

    second = make_user("agent", team=support_team, email="second@staff.test",
                       locale="zh_CN")
    admin = make_user("admin")
    response = client.patch(f"/api/v1/tickets/{ticket.id}", json={"assignee": second.id},
                            headers=auth(admin))
    assert response.status_code == 200
    [mail] = mails_to("second@staff.test")
    assert "已分配给您" in mail.subject  # in the agent's language
    assert "Scanner offline" in mail.subject and ticket.number in mail.subject
    assert f"/console/tickets/{ticket.id}" in mail.body_text


def test_taking_a_ticket_yourself_sends_nothing(client, make_user, make_ticket, auth,
                                                support_team):
    agent = make_user("agent", team=support_team, email="taker@staff.test",
                      availability="away")
    ticket = make_ticket()
    assert ticket.assignee_id is None
    response = client.patch(f"/api/v1/tickets/{ticket.id}", json={"assignee": agent.id},
                            headers=auth(agent))
    assert response.status_code == 200 and response.json["assignee"]["id"] == agent.id
    assert mails_to("taker@staff.test") == []


def test_an_agent_who_opted_out_gets_no_mail(client, make_user, make_ticket, auth,
                                             support_team):
    quiet = make_user("agent", team=support_team, email="quiet@staff.test",
                      notify_prefs={"ticket_assigned": False}, max_open_tickets=0)
    ticket = make_ticket()
    response = client.patch(f"/api/v1/tickets/{ticket.id}", json={"assignee": quiet.id},
                            headers=auth(make_user("admin")))
    assert response.status_code == 200 and response.json["assignee"]["id"] == quiet.id
    assert mails_to("quiet@staff.test") == []
