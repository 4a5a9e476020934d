"""Bulk actions on a queue page: assign, change priority, add a tag; permissions, skips and
isolation (one ticket's refusal never half-applies the others), bad input and CSRF."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from service.auth.models import Availability
from service.errors import InvalidInput
from service.extensions import db
from tickets.models import Priority, Status, Ticket, TicketEvent

BULK = "/console/tickets/bulk"


@pytest.fixture
def make_agent(make_user, support_team):
    """make_agent(role="agent", team=support_team): staff who get no automatic tickets."""

    def factory(role: str = "agent", team=support_team, **fields):
        return make_user(role, team=team, availability=Availability.AWAY, **fields)

    return factory


@pytest.fixture
def signed_in(app, console_login):
    """signed_in(user) → a new test client with that user signed in to the console."""

    def factory(user):
        return console_login(app.test_client(), user)

    return factory


def fresh(ticket_id: int) -> Ticket:
    """The ticket as stored now."""
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


def post(client, ids, **fields):
    data = {"csrf_token": client.csrf_token, "ids": [str(i) for i in ids],
            "return_to": "queue=all", **fields}
    return client.post(BULK, data=data)


def flash_text(client) -> str:
    return client.get("/console/tickets?queue=all").get_data(as_text=True)


# ---- access ----

def test_signed_out_is_sent_to_sign_in(client, app, make_ticket):
    from flask import current_app
    from itsdangerous import URLSafeTimedSerializer

    ticket = make_ticket()
    with client.session_transaction() as session:  # a CSRF token, but nobody signed in
        session["csrf_token"] = "f" * 40
    token = URLSafeTimedSerializer(current_app.config["SECRET_KEY"],
                                   salt="wtf-csrf-token").dumps("f" * 40)
    response = client.post(BULK, data={"csrf_token": token, "ids": [str(ticket.id)],
                                       "action": "tag", "tag": "x"})
    assert response.status_code == 302
    assert "/console/login" in response.headers["Location"]
    assert fresh(ticket.id).tags == []


@pytest.mark.parametrize("role", ["department", "sales"])
def test_roles_that_may_not_change_tickets_are_refused(signed_in, make_user, make_ticket, role):
    ticket = make_ticket()
    client = signed_in(make_user(role))
    response = post(client, [ticket.id], action="tag", tag="x")
    assert response.status_code == 403
    assert fresh(ticket.id).tags == []


def test_csrf_token_is_required(signed_in, make_agent, make_ticket):
    ticket = make_ticket()
    client = signed_in(make_agent())
    response = client.post(BULK, data={"ids": [str(ticket.id)], "action": "tag", "tag": "x"})
    assert response.status_code == 400
    assert fresh(ticket.id).tags == []


# ---- assign ----

def test_an_agent_takes_tickets_for_themselves(signed_in, make_agent, make_ticket):
    agent = make_agent()
    tickets = [make_ticket() for _ in range(3)]
    client = signed_in(agent)
    response = post(client, [t.id for t in tickets], action="assign", assignee="me")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/console/tickets?queue=all")
    for ticket in tickets:
        assert fresh(ticket.id).assignee_id == agent.id
    events = db.session.scalars(select(TicketEvent).where(TicketEvent.kind == "assigned",
                                                          TicketEvent.actor_user_id == agent.id))
    assert {event.ticket_id for event in events} == {t.id for t in tickets}
    assert "3 tickets changed." in flash_text(client)


def test_an_agent_may_not_give_tickets_to_someone_else(signed_in, make_agent, make_ticket):
    agent, colleague = make_agent(), make_agent()
    ticket = make_ticket()
    client = signed_in(agent)
    page = client.get("/console/tickets?queue=all").get_data(as_text=True)
    assert f'<option value="{colleague.id}">{colleague.name}</option>' not in page.split(
        'id="bulk-form"')[1]  # the bulk form offers only "me"
    response = post(client, [ticket.id], action="assign", assignee=str(colleague.id))
    assert response.status_code == 403
    assert fresh(ticket.id).assignee_id is None


def test_a_lead_assigns_tickets_to_an_agent(signed_in, make_agent, make_ticket):
    lead, agent = make_agent("lead"), make_agent()
    tickets = [make_ticket(), make_ticket()]
    client = signed_in(lead)
    response = post(client, [t.id for t in tickets], action="assign", assignee=str(agent.id),
                    reason="covering for Ann")
    assert response.status_code == 303
    assert [fresh(t.id).assignee_id for t in tickets] == [agent.id, agent.id]
    event = db.session.scalar(select(TicketEvent).where(TicketEvent.kind == "assigned",
                                                        TicketEvent.ticket_id == tickets[0].id,
                                                        TicketEvent.actor_user_id == lead.id))
    assert event.data["reason"] == "covering for Ann"


def test_assigning_to_an_inactive_or_non_agent_user_is_a_form_error(signed_in, make_agent,
                                                                    make_user, make_ticket):
    lead = make_agent("lead")
    gone = make_agent(is_active=False)
    sales = make_user("sales")
    ticket = make_ticket()
    client = signed_in(lead)
    for assignee in (str(gone.id), str(sales.id), "99999", "bob"):
        response = post(client, [ticket.id], action="assign", assignee=assignee)
        assert response.status_code == 400, assignee
        assert "Nothing was changed" in response.get_data(as_text=True)
    admin = signed_in(make_user("admin"))  # an admin cannot hold tickets: "me" is refused
    response = post(admin, [ticket.id], action="assign", assignee="me")
    assert response.status_code == 400
    assert fresh(ticket.id).assignee_id is None


def test_closed_and_unchanged_tickets_are_skipped(signed_in, make_agent, make_ticket):
    agent = make_agent()
    closed, mine, free = make_ticket(), make_ticket(), make_ticket()
    closed.status = Status.CLOSED
    mine.assignee_id = agent.id
    mine.status = Status.OPEN
    db.session.commit()
    client = signed_in(agent)
    response = post(client, [closed.id, mine.id, free.id], action="assign", assignee="me")
    assert response.status_code == 303
    assert fresh(free.id).assignee_id == agent.id
    assert fresh(closed.id).assignee_id is None
    text = flash_text(client)
    assert "1 ticket changed." in text
    assert "1 skipped: the ticket is closed." in text
    assert "1 skipped: it already was so." in text
    assert "flash-warning" in text


# ---- priority ----

def test_raising_priority_recomputes_the_sla(signed_in, make_agent, make_ticket):
    ticket = make_ticket(priority=Priority.LOW)
    due_before = ticket.first_response_due_at
    client = signed_in(make_agent())
    response = post(client, [ticket.id], action="priority", priority="urgent")
    assert response.status_code == 303
    stored = fresh(ticket.id)
    assert stored.priority == Priority.URGENT
    assert stored.first_response_due_at < due_before
    assert db.session.scalar(select(TicketEvent.id).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "priority_changed"))


def test_an_agent_may_not_lower_priority(signed_in, make_agent, make_ticket):
    high, low = make_ticket(priority=Priority.HIGH), make_ticket(priority=Priority.LOW)
    client = signed_in(make_agent())
    response = post(client, [high.id, low.id], action="priority", priority="normal",
                    reason="not that bad")
    assert response.status_code == 303
    assert fresh(high.id).priority == Priority.HIGH  # lowering: refused
    assert fresh(low.id).priority == Priority.NORMAL  # raising: done
    text = flash_text(client)
    assert "1 ticket changed." in text
    assert "1 skipped: your role may not make this change" in text


def test_a_lead_lowers_priority_with_a_reason(signed_in, make_agent, make_ticket):
    ticket = make_ticket(priority=Priority.URGENT)
    client = signed_in(make_agent("lead"))
    response = post(client, [ticket.id], action="priority", priority="low")
    assert response.status_code == 303
    assert fresh(ticket.id).priority == Priority.URGENT
    assert "1 skipped: lowering a priority needs a reason." in flash_text(client)
    response = post(client, [ticket.id], action="priority", priority="low",
                    reason="customer says it can wait")
    assert response.status_code == 303
    assert fresh(ticket.id).priority == Priority.LOW


# ---- tags ----

def test_adding_a_tag_keeps_the_others(signed_in, make_agent, make_ticket):
    tagged, plain = make_ticket(tags=["wifi"]), make_ticket()
    client = signed_in(make_agent())
    response = post(client, [tagged.id, plain.id], action="tag", tag="  Firmware ")
    assert response.status_code == 303
    assert fresh(tagged.id).tags == ["firmware", "wifi"]
    assert fresh(plain.id).tags == ["firmware"]
    response = post(client, [tagged.id], action="tag", tag="firmware")
    assert "1 skipped: it already was so." in flash_text(client)
    response = post(client, [plain.id], action="tag", tag="售后")
    assert fresh(plain.id).tags == ["firmware", "售后"]


def test_a_ticket_has_at_most_twenty_tags(signed_in, make_agent, make_ticket):
    full = make_ticket(tags=[f"t{i}" for i in range(20)])
    client = signed_in(make_agent())
    post(client, [full.id], action="tag", tag="one-more")
    assert len(fresh(full.id).tags) == 20
    assert "1 skipped: a ticket has at most 20 tags." in flash_text(client)


# ---- visibility and isolation ----

def test_tickets_the_user_may_not_see_are_skipped_as_not_found(signed_in, make_agent, make_team,
                                                               make_ticket):
    other_team = make_team("Billing")
    outsider = make_agent(team=other_team)
    theirs, ours = make_ticket(), make_ticket()
    theirs.team_id = other_team.id
    theirs.assignee_id = outsider.id
    db.session.commit()
    client = signed_in(make_agent())
    response = post(client, [theirs.id, ours.id, 999999], action="tag", tag="seen")
    assert response.status_code == 303
    assert fresh(theirs.id).tags == []
    assert fresh(ours.id).tags == ["seen"]
    text = flash_text(client)
    assert "1 ticket changed." in text
    assert "2 skipped: not found, or not tickets you may see." in text


def test_one_refusal_does_not_half_apply_the_others(signed_in, make_agent, make_ticket,
                                                    monkeypatch):
    import tickets.queues as queues
    from tickets.services import update_ticket

    first, refused, last = make_ticket(), make_ticket(), make_ticket()

    def flaky_update(user, ticket, changes):
        if ticket.id == refused.id:
            ticket.priority = Priority.URGENT  # written to the session, then refused
            ticket.subject = "half applied"
            raise InvalidInput(errors={"priority": ["no"]})
        return update_ticket(user, ticket, changes)

    monkeypatch.setattr(queues, "update_ticket", flaky_update)
    client = signed_in(make_agent())
    response = post(client, [first.id, refused.id, last.id], action="priority",
                    priority="high")
    assert response.status_code == 303
    assert fresh(first.id).priority == Priority.HIGH
    assert fresh(last.id).priority == Priority.HIGH
    stored = fresh(refused.id)
    assert stored.priority == Priority.NORMAL and stored.subject != "half applied"
    assert "1 skipped: the change is not allowed for this ticket now." in flash_text(client)


def test_select_all_on_the_page_without_javascript(signed_in, make_agent, make_ticket):
    tickets = [make_ticket() for _ in range(3)]
    client = signed_in(make_agent())
    response = client.post(BULK, data={
        "csrf_token": client.csrf_token, "all_on_page": "y",
        "page_ids": [str(t.id) for t in tickets], "action": "tag", "tag": "batch",
        "return_to": "queue=all"})
    assert response.status_code == 303
    assert all(fresh(t.id).tags == ["batch"] for t in tickets)
    # Without "select all", the page's ids alone change nothing.
    response = client.post(BULK, data={
        "csrf_token": client.csrf_token, "page_ids": [str(t.id) for t in tickets],
        "action": "tag", "tag": "other", "return_to": "queue=all"})
    assert response.status_code == 400


# ---- bad input: the page again with messages, nothing written, never 500 ----

@pytest.mark.parametrize("fields, message", [
    ({"action": "tag", "tag": "x", "ids": []}, "Select at least one ticket."),
    ({"action": "tag", "tag": "x", "ids": ["abc"]}, "Not a valid ticket."),
    ({"action": "tag", "tag": "x", "ids": ["-1"]}, "Not a valid ticket."),
    ({"action": "tag", "tag": "x", "ids": ["99999999999"]}, "Not a valid ticket."),
    ({"action": "tag", "tag": "x", "ids": [str(i) for i in range(1, 102)]},
     "Select at most 100 tickets at a time."),
    ({"action": "", "tag": "x"}, "Choose an action."),
    ({"action": "delete", "tag": "x"}, "Not a valid choice"),
    ({"action": "tag", "tag": ""}, "Type a tag."),
    ({"action": "tag", "tag": "<script>"}, "Tags are 1-50"),
    ({"action": "tag", "tag": "x" * 51}, "Tags are 1-50"),
    ({"action": "priority", "priority": ""}, "Choose a priority."),
    ({"action": "priority", "priority": "p0"}, "Not a valid choice"),
    ({"action": "assign", "assignee": ""}, "Choose an agent."),
    ({"action": "priority", "priority": "high", "reason": "x" * 301},
     "Field cannot be longer than 300 characters."),
    ({"action": "tag", "tag": "x", "return_to": "x" * 3000}, "Field cannot be longer"),
])
def test_bad_input_is_shown_again_and_changes_nothing(signed_in, make_agent, make_ticket, fields,
                                                      message):
    from html import unescape

    ticket = make_ticket(priority=Priority.LOW)
    client = signed_in(make_agent())
    data = {"csrf_token": client.csrf_token, "ids": [str(ticket.id)], "return_to": "queue=all",
            **fields}
    response = client.post(BULK, data=data)
    assert response.status_code == 400
    page = unescape(response.get_data(as_text=True))
    assert message in page
    stored = fresh(ticket.id)
    assert stored.tags == [] and stored.priority == Priority.LOW


def test_a_bad_return_address_stays_on_this_site(signed_in, make_agent, make_ticket):
    ticket = make_ticket()
    client = signed_in(make_agent())
    response = post(client, [ticket.id], action="tag", tag="x",
                    return_to="https://evil.test/?a=1")
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("/console/tickets")
    assert "evil.test" not in location.split("?")[0]


def test_the_bulk_form_keeps_the_queue_it_came_from(signed_in, make_agent, make_ticket):
    urgent = make_ticket(priority=Priority.URGENT)
    make_ticket(priority=Priority.LOW)
    client = signed_in(make_agent())
    page = client.get("/console/tickets?queue=all&priority=urgent").get_data(as_text=True)
    assert 'name="return_to" value="queue=all&amp;priority=urgent"' in page
    response = post(client, [urgent.id], action="tag", tag="x",
                    return_to="queue=all&priority=urgent")
    assert response.headers["Location"].endswith("/console/tickets?queue=all&priority=urgent")
    # A failed form shows the same queue again, with its rows.
    response = post(client, [urgent.id], action="tag", tag="",
                    return_to="queue=all&priority=urgent")
    assert response.status_code == 400
    assert f'<tr data-id="{urgent.id}"' in response.get_data(as_text=True)
