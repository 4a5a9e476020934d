"""Portal access control: a customer sees their own tickets (an account admin, the
account's) and nothing else — not by number, not by attachment id, not through a mail
link's scope, not by a link from another ticket; guessing gives 404."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service.db_types import utcnow
from service.directory.models import Account, Contact
from service.extensions import db
from tickets import attachments, conversation
from tickets.models import Message, Ticket, Visibility
from tickets.portal_links import portal_url
from tests.tickets.test_portal import csrf_of, sign_in


@pytest.fixture
def two_customers(make_ticket, make_user, support_team):
    """Customers A and B with a ticket each (B's has a public file); A has a second ticket."""
    agent = make_user("agent", team=support_team)
    a_first = make_ticket(customer_email="a@example.com", customer_name="Alice A",
                          subject="Alice's first")
    a_second = make_ticket(contact=a_first.contact, customer_email="a@example.com",
                           subject="Alice's second")
    b_ticket = make_ticket(customer_email="b@example.com", customer_name="Bob B",
                           subject="Bob's secret")
    reply = conversation.add_staff_message(b_ticket, agent, "Here is your invoice.",
                                           Visibility.PUBLIC, utcnow())
    b_file = attachments.store(b_ticket.id, reply.id, "invoice.pdf", b"%PDF-1.4 bob",
                               "application/pdf")
    db.session.commit()
    return {"a": a_first.contact, "b": b_ticket.contact, "a_first": a_first,
            "a_second": a_second, "b_ticket": b_ticket, "b_file": b_file, "agent": agent}


def test_a_cannot_open_bs_ticket_by_number(client, two_customers):
    sign_in(client, two_customers["a"])
    b_number = two_customers["b_ticket"].number
    stranger = client.get(f"/portal/tickets/{b_number}")
    missing = client.get("/portal/tickets/T-999999")
    assert stranger.status_code == missing.status_code == 404  # guessing tells nothing
    assert "Bob" not in stranger.get_data(as_text=True)
    assert client.get(f"/portal/tickets/{two_customers['a_first'].number}").status_code == 200
    for ref in ("T-1", "t-000003", "T-0000000000000000003", "T-99999999999", "3"):
        assert client.get(f"/portal/tickets/{ref}").status_code == 404


def test_a_cannot_download_bs_file(client, two_customers):
    sign_in(client, two_customers["a"])
    file_id = two_customers["b_file"].id
    a_number, b_number = two_customers["a_first"].number, two_customers["b_ticket"].number
    assert client.get(f"/portal/tickets/{a_number}/attachments/{file_id}").status_code == 404
    assert client.get(f"/portal/tickets/{b_number}/attachments/{file_id}").status_code == 404
    assert client.get(f"/portal/tickets/{a_number}/attachments/99999").status_code == 404
    sign_in(client, two_customers["b"])
    assert client.get(f"/portal/tickets/{b_number}/attachments/{file_id}").status_code == 200


def test_a_mail_link_opens_only_its_ticket(app, two_customers):
    browser = app.test_client()
    a_first, a_second = two_customers["a_first"], two_customers["a_second"]
    link = portal_url(a_first.id, a_first.contact_id).removeprefix("http://support.test")
    assert browser.get(link).status_code == 200
    assert browser.get(f"/portal/tickets/{a_first.number}").status_code == 200
    # Alice's own other ticket is outside this link's scope; Bob's never was.
    assert browser.get(f"/portal/tickets/{a_second.number}").status_code == 404
    assert browser.get(f"/portal/tickets/{two_customers['b_ticket'].number}").status_code == 404
    home = browser.get("/portal").get_data(as_text=True)
    assert "Alice&#39;s first" in home and "Alice&#39;s second" not in home


def test_a_forwarded_link_never_widens_another_session(app, two_customers):
    """B's link followed in A's browser starts a session for that one ticket of B's only."""
    browser = app.test_client()
    sign_in(browser, two_customers["a"])
    b_ticket = two_customers["b_ticket"]
    link = portal_url(b_ticket.id, b_ticket.contact_id).removeprefix("http://support.test")
    assert browser.get(link).status_code == 200
    assert browser.get(f"/portal/tickets/{b_ticket.number}").status_code == 200
    assert browser.get(f"/portal/tickets/{two_customers['a_first'].number}").status_code == 404


def test_a_link_with_another_contact_is_refused(client, two_customers):
    from tickets.portal_links import portal_token

    forged = portal_token(two_customers["b_ticket"].id, two_customers["a"].id)
    assert client.get(f"/portal/tickets/{forged}").status_code == 404
    assert client.get("/portal").status_code == 302


def test_a_cannot_reply_to_or_confirm_bs_ticket(client, two_customers):
    sign_in(client, two_customers["a"])
    csrf = csrf_of(client.get("/portal").data)
    b_number = two_customers["b_ticket"].number
    messages = db.session.scalar(select(func.count()).select_from(Message))
    reply = client.post(f"/portal/tickets/{b_number}/reply",
                        data={"csrf_token": csrf, "body": "mine now"})
    confirm = client.post(f"/portal/tickets/{b_number}/confirm",
                          data={"csrf_token": csrf, "outcome": "confirmed"})
    assert reply.status_code == confirm.status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Message)) == messages


def test_a_cannot_confirm_bs_resolution(client, two_customers):
    from tickets.resolution import services as resolution_services
    from tickets.resolution.models import Confirmation

    b_ticket = two_customers["b_ticket"]
    resolution = resolution_services.resolve(
        two_customers["agent"], b_ticket, summary="Fixed", root_cause="Cause",
        method="retested", result="works")
    sign_in(client, two_customers["a"])
    csrf = csrf_of(client.get("/portal").data)
    response = client.post(f"/portal/tickets/{b_ticket.number}/confirm", data={
        "csrf_token": csrf, "outcome": "confirmed", "resolution_id": str(resolution.id)})
    assert response.status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Confirmation)) == 0
    db.session.refresh(b_ticket)
    assert b_ticket.status.value == "resolved"


def test_a_link_from_another_ticket_does_not_open_it(client, two_customers):
    a_ticket, b_ticket = two_customers["a_first"], two_customers["b_ticket"]
    a_ticket.follow_up_of_id = b_ticket.id  # however it came to point there
    db.session.commit()
    sign_in(client, two_customers["a"])
    html = client.get(f"/portal/tickets/{a_ticket.number}").get_data(as_text=True)
    assert b_ticket.number not in html  # not even named
    assert client.get(f"/portal/tickets/{b_ticket.number}").status_code == 404


def test_account_admin_sees_only_their_account(client, make_ticket):
    ours, theirs = Account(name="Ours Inc"), Account(name="Theirs Inc")
    db.session.add_all([ours, theirs])
    db.session.flush()
    admin = Contact(email="admin@ours.test", name="Ours Admin", account_id=ours.id,
                    is_account_admin=True)
    other_admin = Contact(email="admin@theirs.test", name="Theirs Admin",
                          account_id=theirs.id, is_account_admin=True)
    colleague = Contact(email="dev@ours.test", name="Ours Dev", account_id=ours.id)
    db.session.add_all([admin, other_admin, colleague])
    db.session.commit()
    ours_ticket = make_ticket(contact=colleague, customer_email=colleague.email)
    theirs_ticket = make_ticket(contact=other_admin, customer_email=other_admin.email)
    sign_in(client, admin)
    assert client.get(f"/portal/tickets/{ours_ticket.number}").status_code == 200
    assert client.get(f"/portal/tickets/{theirs_ticket.number}").status_code == 404
    # Admin rights need a full sign-in: a session from one mail link is that ticket only.
    sign_in(client, admin, scope=[ours_ticket.id])
    assert client.get(f"/portal/tickets/{ours_ticket.number}").status_code == 404
    # Leaving the account ends the view of its tickets at once.
    admin.account_id = None
    db.session.commit()
    sign_in(client, admin)
    assert client.get(f"/portal/tickets/{ours_ticket.number}").status_code == 404


def test_internal_attachment_of_own_ticket_is_404(client, two_customers):
    a_ticket = two_customers["a_first"]
    note = conversation.add_staff_message(a_ticket, two_customers["agent"], "note",
                                          Visibility.INTERNAL, utcnow())
    hidden = attachments.store(a_ticket.id, note.id, "internal.txt", b"x", "text/plain",
                               visibility=Visibility.INTERNAL)
    # Even a file wrongly marked public on an internal note stays hidden.
    leaked = attachments.store(a_ticket.id, note.id, "leak.txt", b"y", "text/plain")
    # A file on no message (a department's task note) that was not published.
    task_file = attachments.store(a_ticket.id, None, "task.log", b"z", "text/plain",
                                  visibility=Visibility.INTERNAL)
    db.session.commit()
    sign_in(client, two_customers["a"])
    for file in (hidden, leaked, task_file):
        assert client.get(f"/portal/tickets/{a_ticket.number}/attachments/{file.id}"
                          ).status_code == 404


def test_not_signed_in_never_reaches_a_ticket(client, two_customers):
    number = two_customers["b_ticket"].number
    file_id = two_customers["b_file"].id
    assert client.get(f"/portal/tickets/{number}").status_code == 302
    assert client.get(f"/portal/tickets/{number}/attachments/{file_id}").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 3
