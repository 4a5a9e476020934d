"""New tickets staff open for a customer on the phone or at the counter."""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from service.directory.models import Contact
from service.directory.services import create_account
from service.extensions import db
from service.notify.models import OutboundMail
from tickets.models import (Channel, IdempotencyKey, Message, Priority, Ticket,
                            TicketEvent)

URL = "/console/tickets/new"


@pytest.fixture
def staff(client, make_user, console_login, support_team):
    """staff(role) → the client signed in as a new user of that role (in support)."""

    def sign_in(role: str = "agent"):
        user = make_user(role, team=support_team if role in ("agent", "lead") else None)
        console_login(client, user)
        return user

    return sign_in


@pytest.fixture
def known(app):
    """A known customer of a VIP account that owns two products."""
    account = create_account("Globex", tier="vip", products=["Router X", "Cloud Backup"])
    contact = Contact(name="Hank Scorpio", email="hank@globex.test", phone="+1 555 0100",
                      account_id=account.id, language="en")
    db.session.add(contact)
    db.session.commit()
    return contact


def submission_id(client, path: str = URL) -> str:
    body = client.get(path).get_data(as_text=True)
    return re.search(r'name="submission_id" type="hidden" value="([0-9a-f]{32})"', body) \
        .group(1)


def post(client, **fields):
    data = {"csrf_token": client.csrf_token, "channel": "phone", "subject": "Router down",
            "description": "The customer says the router blinks red.", "urgency": "normal"}
    data.update(fields)
    return client.post(URL, data=data)


def counts() -> tuple[int, int, int]:
    return (db.session.scalar(select(func.count()).select_from(Ticket)),
            db.session.scalar(select(func.count()).select_from(Contact)),
            db.session.scalar(select(func.count()).select_from(IdempotencyKey)))


def only_ticket() -> Ticket:
    db.session.expire_all()
    tickets = list(db.session.scalars(select(Ticket)))
    assert len(tickets) == 1
    return tickets[0]


def body_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


# ---- the gate ----

def test_signed_out_staff_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/console/login" in response.headers["Location"]


@pytest.mark.parametrize("role,status", [("admin", 200), ("lead", 200), ("agent", 200),
                                         ("sales", 200), ("department", 403)])
def test_the_page_needs_ticket_create(client, staff, role, status):
    staff(role)
    assert client.get(URL).status_code == status


def test_department_members_cannot_post(client, staff):
    staff("department")
    response = post(client, email="someone@example.com")
    assert response.status_code == 403
    assert counts()[0] == 0


def test_posts_without_csrf_are_refused(client, staff):
    staff("agent")
    response = client.post(URL, data={"channel": "phone", "subject": "x", "description": "y",
                                      "email": "someone@example.com"})
    assert response.status_code == 400
    assert counts() == (0, 0, 0)


# ---- opening tickets ----

def test_a_ticket_for_a_known_customer(client, staff, known):
    agent = staff("agent")
    page = body_of(client.get(f"{URL}?contact_id={known.id}"))
    assert f'id="contact-{known.id}" value="{known.id}" checked' in page
    assert '<option value="Router X"' in page  # the account's products to choose from
    assert '<input checked id="acknowledge" name="acknowledge" type="checkbox"' in page
    response = post(client, contact_id=str(known.id), product="Router X",
                    submission_id=submission_id(client), acknowledge="y")
    assert response.status_code == 303
    ticket = only_ticket()
    assert response.headers["Location"].endswith(f"/console/tickets/{ticket.id}")
    assert (ticket.contact_id, ticket.account_id, ticket.channel, ticket.created_by_id,
            ticket.product) == (known.id, known.account_id, Channel.PHONE, agent.id, "Router X")
    assert ticket.priority == Priority.HIGH  # normal urgency, one step up for the VIP
    event = db.session.scalar(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                        TicketEvent.kind == "created"))
    assert event.actor_user_id == agent.id
    assert db.session.scalar(select(OutboundMail).where(
        OutboundMail.dedupe_key == f"ack:ticket:{ticket.id}")).to_address == "hank@globex.test"


def test_a_product_the_account_does_not_own(client, staff, known):
    staff("agent")
    response = post(client, contact_id=str(known.id), product="Router X",
                    product_other="Satellite Z")
    assert response.status_code == 303
    assert only_ticket().product == "Satellite Z"


def test_a_caller_known_only_by_phone(client, staff):
    staff("agent")
    response = post(client, phone="+86 138-0013-8000", name="王先生", company="长城公司",
                    acknowledge="y")
    assert response.status_code == 303
    ticket = only_ticket()
    contact = db.session.get(Contact, ticket.contact_id)
    assert (contact.email, contact.name, contact.phone_normalized, contact.company) == (
        None, "王先生", "+8613800138000", "长城公司")
    assert db.session.scalar(select(func.count()).select_from(OutboundMail)) == 0
    # The same caller again, the number written another way: the same customer.
    response = post(client, phone="+8613800138000", subject="Second call")
    assert response.status_code == 303
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 1
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 2


def test_a_new_customer_by_email(client, staff):
    staff("lead")
    response = post(client, email="  New.Person@Example.COM ", name="New Person",
                    phone="+1 (555) 010-0199", acknowledge="y", language="zh")
    assert response.status_code == 303
    ticket = only_ticket()
    contact = db.session.get(Contact, ticket.contact_id)
    assert (contact.email, contact.name, contact.phone_normalized) == (
        "new.person@example.com", "New Person", "+15550100199")
    assert ticket.language == "zh"
    assert db.session.scalar(select(func.count()).select_from(OutboundMail)) == 1


def test_no_acknowledgement_when_unticked(client, staff):
    staff("agent")
    assert post(client, email="quiet@example.com").status_code == 303  # box not sent: off
    assert db.session.scalar(select(func.count()).select_from(OutboundMail)) == 0


def test_walk_in_is_stored(client, staff):
    staff("agent")
    response = post(client, channel="walk_in", email="visitor@example.com")
    assert response.status_code == 303
    ticket = only_ticket()
    assert ticket.channel == Channel.WALK_IN
    message = db.session.scalar(select(Message).where(Message.ticket_id == ticket.id))
    assert message.channel == Channel.WALK_IN
    event = db.session.scalar(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                        TicketEvent.kind == "created"))
    assert event.channel == "walk_in"


def test_staff_may_set_the_priority(client, staff):
    staff("agent")
    assert 'name="priority"' in client.get(URL).get_data(as_text=True)
    response = post(client, email="p@example.com", urgency="low", priority="urgent")
    assert response.status_code == 303
    ticket = only_ticket()
    assert ticket.priority == Priority.URGENT
    assert ticket.priority_reason.startswith("set by staff")


def test_urgency_derives_the_priority(client, staff):
    staff("sales")
    page = client.get(URL).get_data(as_text=True)
    assert 'name="priority"' not in page and 'name="urgency"' in page
    response = post(client, email="u@example.com", urgency="high")
    assert response.status_code == 303
    ticket = only_ticket()
    assert ticket.priority == Priority.HIGH and "urgency" in ticket.priority_reason


def test_the_priority_is_refused_without_the_permission(client, staff):
    staff("sales")
    response = post(client, email="p@example.com", priority="urgent")
    assert response.status_code == 403
    assert "may not set the priority" in body_of(response)
    assert counts() == (0, 0, 0)


def test_a_double_submit_makes_one_ticket(client, staff):
    staff("agent")
    key = submission_id(client)
    first = post(client, email="twice@example.com", submission_id=key)
    second = post(client, email="twice@example.com", submission_id=key)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert counts() == (1, 1, 1)


def test_a_double_submit_by_a_phone_caller_makes_one_ticket(client, staff):
    staff("agent")
    key = submission_id(client)
    for _ in range(2):
        assert post(client, phone="010 6552 9988", submission_id=key).status_code == 303
    assert counts() == (1, 1, 1)


def test_a_resent_form_with_other_details_is_not_a_replay(client, staff):
    staff("agent")
    key = submission_id(client)
    assert post(client, email="a@example.com", submission_id=key).status_code == 303
    response = post(client, email="a@example.com", subject="Changed", submission_id=key)
    assert response.status_code == 409
    body = body_of(response)
    assert "already sent with different details" in body
    assert "Idempotency-Key" not in body  # the API's wording is not for this page
    fresh = re.search(r'name="submission_id" type="hidden" value="([0-9a-f]{32})"', body)
    assert fresh and fresh.group(1) != key
    assert counts()[0] == 1
    assert post(client, email="a@example.com", subject="Changed",
                submission_id=fresh.group(1)).status_code == 303
    assert counts()[0] == 2


# ---- refusals ----

@pytest.mark.parametrize("fields,message", [
    ({}, "Choose a customer from the search, or enter the new customer's email"),
    ({"email": "not-an-address"}, "Enter a valid email address."),
    ({"phone": "call me"}, "Enter a phone number"),
    ({"phone": "12"}, "Enter a phone number"),
    ({"email": "x@example.com", "subject": ""}, "Describe the problem in a few words."),
    ({"email": "x@example.com", "subject": "   "}, "Describe the problem in a few words"),
    ({"email": "x@example.com", "description": ""}, "Write down what the customer told you."),
    ({"email": "x@example.com", "subject": "s" * 201}, "Enter at most 200 characters."),
    ({"email": "x@example.com", "channel": "email"}, "Choose phone call or in person."),
    ({"email": "x@example.com", "channel": ""}, "Choose phone call or in person."),
    ({"email": "x@example.com", "urgency": "panic"}, "Choose how urgent it is."),
    ({"email": "x@example.com", "priority": "p0"}, "Choose a priority."),
    ({"email": "x@example.com", "language": "fr"}, "Choose English or Chinese."),
    ({"email": "x@example.com", "category": "c" * 81}, "Enter at most 80 characters."),
    ({"contact_id": "999999"}, "This customer does not exist (any more)."),
    ({"contact_id": "99999999999999"}, "Choose an entry from the list."),
    ({"contact_id": "abc", "email": "x@example.com"}, "Choose an entry from the list."),
    ({"email": "x@example.com", "submission_id": "not-hex"}, "Please correct the marked"),
])
def test_bad_input_shows_the_form_and_writes_nothing(client, staff, fields, message):
    staff("agent")
    response = post(client, **fields)
    assert response.status_code == 400
    body = body_of(response)
    assert message in body
    assert '<form method="post"' in body
    assert counts() == (0, 0, 0)


def test_a_refused_form_keeps_what_was_typed(client, staff, known):
    staff("agent")
    response = post(client, contact_id=str(known.id), subject="", description="Kept text 文字")
    body = body_of(response)
    assert response.status_code == 400
    assert "Kept text 文字</textarea>" in body
    assert f'id="contact-{known.id}" value="{known.id}" checked' in body


@pytest.mark.parametrize("value", ["999999", "abc", "-1", "1e9", "99999999999999999999", ""])
def test_a_bad_preselected_customer_is_a_form_error(client, staff, value):
    staff("agent")
    response = client.get(URL, query_string={"contact_id": value})
    if value:
        assert response.status_code == 400
        assert "This customer does not exist" in body_of(response)
    else:
        assert response.status_code == 200


def test_a_customer_without_email_is_preselected_without_acknowledgement(client, staff):
    caller = Contact(name="Caller", phone="+1 555 0199")
    db.session.add(caller)
    db.session.commit()
    staff("agent")
    page = client.get(f"{URL}?contact_id={caller.id}").get_data(as_text=True)
    box = re.search(r"<input[^>]*name=\"acknowledge\"[^>]*>", page).group(0)
    assert "checked" not in box
    response = post(client, contact_id=str(caller.id), acknowledge="y")
    assert response.status_code == 303
    assert db.session.scalar(select(func.count()).select_from(OutboundMail)) == 0


# ---- finding the customer on the page ----

def test_the_customer_search_lists_matches_to_pick(client, staff, known):
    wang = Contact(name="王小明", email="wang@example.cn", phone="+86 138-0013-8000")
    db.session.add(wang)
    db.session.commit()
    staff("agent")
    page = body_of(client.get(URL, query_string={"customer_q": "王"}))
    assert f'name="contact_id" id="contact-{wang.id}" value="{wang.id}"' in page
    assert f'id="contact-{known.id}"' not in page
    by_phone = body_of(client.get(URL, query_string={"customer_q": "138 0013 8000"}))
    assert f'id="contact-{wang.id}"' in by_phone
    vip = body_of(client.get(URL, query_string={"customer_q": "globex"}))
    assert f'id="contact-{known.id}"' in vip and "VIP" in vip
    none = body_of(client.get(URL, query_string={"customer_q": "nobody"}))
    assert "No customer matches this search" in none
    # The preselected customer shows once, chosen, and is no "no match".
    both = body_of(client.get(URL, query_string={"customer_q": "Hank",
                                                 "contact_id": known.id}))
    assert both.count(f'id="contact-{known.id}"') == 1
    assert "No customer matches" not in both
    # Picking one from the list is a radio of the ticket form.
    response = post(client, contact_id=str(wang.id))
    assert response.status_code == 303
    assert only_ticket().contact_id == wang.id


def test_customer_names_are_escaped_in_the_picker(client, staff):
    evil = "<script>alert(1)</script>"
    db.session.add(Contact(name=f"Eve {evil}", email="eve@example.com"))
    db.session.commit()
    staff("agent")
    for response in (client.get(URL, query_string={"customer_q": "Eve"}),
                     client.get("/console/customers/search", query_string={"q": "Eve"})):
        text = response.get_data(as_text=True)
        assert evil not in text and "&lt;script&gt;" in text


@pytest.mark.parametrize("query", ["x" * 5000, "a\u0000b", "%", "😀"])
def test_odd_customer_searches_never_fail(client, staff, query):
    staff("agent")
    assert client.get(URL, query_string={"customer_q": query}).status_code == 200


def test_the_contact_page_links_here(client, staff, known):
    staff("agent")
    page = client.get(f"/console/customers/{known.id}").get_data(as_text=True)
    assert f'href="/console/tickets/new?contact_id={known.id}"' in page
