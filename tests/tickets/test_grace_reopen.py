"""After closing: a reply within the grace window reopens the ticket, a later one opens a
linked follow-up; a "still a problem" mail is kept as the customer's answer."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from itertools import count

import pytest
import time_machine
from sqlalchemy import func, select

from service.errors import InvalidTransition
from service.extensions import db
from tickets import intake
from tickets.channels.email.mailboxes import create_mailbox
from tickets.models import Channel, ClosedReason, Message, Status, Ticket, TicketEvent
from tickets.resolution import services
from tickets.resolution.models import (Confirmation, ConfirmationChannel, ConfirmationOutcome,
                                       ConfirmationState)

from tests.tickets.helpers_resolution import resolve_ticket

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
CLOSED_AT = T0 + timedelta(days=1)
_numbers = count(1)


@pytest.fixture
def secret(app):
    _, secret = create_mailbox("Support", "help@loopdesk.local")
    db.session.commit()
    return secret


@pytest.fixture
def agent(make_user, support_team):
    return make_user("agent", team=support_team)


def mail(subject: str, body: str, sender: str = "alice@customer.test",
         headers: dict | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = f"Alice <{sender}>"
    message["To"] = "help@loopdesk.local"
    message["Subject"] = subject
    message["Date"] = formatdate()
    message["Message-ID"] = f"<grace{next(_numbers)}@customer.test>"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message.as_bytes()


def deliver(client, secret, raw: bytes, at: datetime) -> None:
    with time_machine.travel(at, tick=False):
        response = client.post("/api/v1/inbound/email", data=raw, headers={
            "Authorization": f"Bearer {secret}", "Content-Type": "message/rfc822"})
    assert response.status_code == 202, response.json


def tickets() -> list[Ticket]:
    db.session.expire_all()
    return list(db.session.scalars(select(Ticket).order_by(Ticket.id)))


def kinds(ticket_id: int, kind: str) -> list[TicketEvent]:
    return list(db.session.scalars(select(TicketEvent).where(
        TicketEvent.ticket_id == ticket_id, TicketEvent.kind == kind)))


@pytest.fixture
def closed_ticket(client, secret, agent) -> Ticket:
    """A mailed-in ticket, resolved and confirmed by the customer a day later."""
    deliver(client, secret, mail("Printer jammed", "It jams on page 2."), T0)
    [ticket] = tickets()
    with time_machine.travel(CLOSED_AT, tick=False):
        resolve_ticket(agent, ticket, now=CLOSED_AT)
        services.answer(ticket, ConfirmationOutcome.CONFIRMED,
                        channel=ConfirmationChannel.PORTAL, contact_id=ticket.contact_id,
                        now=CLOSED_AT)
    assert ticket.status == Status.CLOSED and ticket.closed_at == CLOSED_AT
    return ticket


# ---- the window ----

def test_the_grace_window(app, closed_ticket):
    assert services.within_grace(closed_ticket, CLOSED_AT + timedelta(days=7, seconds=-1))
    assert not services.within_grace(closed_ticket, CLOSED_AT + timedelta(days=7))
    app.config["REOPEN_GRACE_DAYS"] = 10
    assert services.within_grace(closed_ticket, CLOSED_AT + timedelta(days=9))


def test_reopen_after_close_within_the_window(closed_ticket):
    at = CLOSED_AT + timedelta(days=2)
    services.reopen_after_close(closed_ticket, contact_id=closed_ticket.contact_id,
                                channel=Channel.PORTAL, now=at)
    db.session.commit()
    ticket = tickets()[0]
    assert ticket.status == Status.REOPENED and ticket.reopen_count == 1
    assert ticket.closed_at is None and ticket.closed_reason is None
    assert ticket.resolved_at is None  # the resolution clock runs again
    [event] = kinds(ticket.id, "reopened_after_close")
    assert event.actor_contact_id == ticket.contact_id and event.channel == "portal"
    assert event.data == {"closed_at": CLOSED_AT.isoformat(), "closed_reason": "confirmed"}


def test_reopen_after_close_is_refused_after_the_window_or_when_not_closed(closed_ticket,
                                                                           make_ticket):
    with pytest.raises(InvalidTransition):
        services.reopen_after_close(closed_ticket, contact_id=closed_ticket.contact_id,
                                    channel=Channel.EMAIL, now=CLOSED_AT + timedelta(days=8))
    open_ticket = make_ticket()
    with pytest.raises(InvalidTransition):
        services.reopen_after_close(open_ticket, contact_id=open_ticket.contact_id,
                                    channel=Channel.EMAIL)
    assert tickets()[0].status == Status.CLOSED


# ---- mail after closing ----

def test_a_mail_within_the_window_reopens_the_same_ticket(client, secret, closed_ticket):
    deliver(client, secret, mail(f"Re: [{closed_ticket.number}] Printer jammed",
                                 "It started again this morning."),
            CLOSED_AT + timedelta(days=3))
    [ticket] = tickets()
    assert ticket.status == Status.REOPENED and ticket.reopen_count == 1
    last = db.session.scalars(select(Message).order_by(Message.id.desc())).first()
    assert last.ticket_id == ticket.id and last.body == "It started again this morning."
    assert len(kinds(ticket.id, "reopened_after_close")) == 1


def test_a_mail_after_the_window_opens_a_linked_follow_up(client, secret, closed_ticket):
    deliver(client, secret, mail(f"Re: [{closed_ticket.number}] Printer jammed",
                                 "Jams again, a month later."),
            CLOSED_AT + timedelta(days=30))
    old, new = tickets()
    assert old.status == Status.CLOSED and old.closed_reason == ClosedReason.CONFIRMED
    assert new.follow_up_of_id == old.id and new.status in (Status.NEW, Status.OPEN)
    assert new.contact_id == old.contact_id
    [linked] = kinds(new.id, "follow_up_of")
    assert linked.data == {"ticket_id": old.id, "number": old.number}
    [opened] = kinds(old.id, "follow_up_opened")
    assert opened.data == {"ticket_id": new.id, "number": new.number}
    assert opened.actor_contact_id == old.contact_id


def test_an_auto_reply_never_reopens(client, secret, closed_ticket):
    deliver(client, secret, mail(f"Re: [{closed_ticket.number}]", "I am out of office.",
                                 headers={"Auto-Submitted": "auto-replied"}),
            CLOSED_AT + timedelta(hours=1))
    old, new = tickets()
    assert old.status == Status.CLOSED and new.follow_up_of_id == old.id


# ---- "still a problem" by mail ----

def test_a_still_a_problem_mail_is_kept_as_the_customers_answer(client, secret, agent):
    deliver(client, secret, mail("Printer jammed", "It jams on page 2."), T0)
    [ticket] = tickets()
    resolution = resolve_ticket(agent, ticket)
    messages_before = db.session.scalar(select(func.count()).select_from(Message))
    deliver(client, secret, mail(f"Re: [{ticket.number}] Printer jammed",
                                 "Sorry, it is still not working.\n\n> We fixed it."),
            T0 + timedelta(days=1))
    [ticket] = tickets()
    assert ticket.status == Status.REOPENED and ticket.reopen_count == 1
    [confirmation] = db.session.scalars(select(Confirmation)).all()
    assert (confirmation.outcome, confirmation.channel) == (ConfirmationOutcome.REJECTED,
                                                            ConfirmationChannel.EMAIL_REPLY)
    assert confirmation.contact_id == ticket.contact_id
    assert confirmation.comment == "Sorry, it is still not working."
    assert services.current_resolution(ticket.id).state == ConfirmationState.REJECTED
    assert resolution.id == confirmation.resolution_id
    # Their mail is the message; the comment is not added a second time.
    assert db.session.scalar(select(func.count()).select_from(Message)) == messages_before + 1
    [event] = kinds(ticket.id, "customer_rejected")
    assert event.data["channel"] == "email_reply"


def test_a_thank_you_mail_leaves_the_question_open(client, secret, agent):
    deliver(client, secret, mail("Printer jammed", "It jams on page 2."), T0)
    [ticket] = tickets()
    resolve_ticket(agent, ticket)
    deliver(client, secret, mail(f"Re: [{ticket.number}]", "Thanks a lot!"),
            T0 + timedelta(hours=3))
    assert tickets()[0].status == Status.RESOLVED
    assert services.current_resolution(ticket.id).state == ConfirmationState.PENDING


# ---- intake ----

def test_intake_links_a_follow_up_and_keeps_old_fingerprints(make_ticket):
    old = make_ticket()
    request = intake.IntakeRequest(subject="Again", description="Same as before.",
                                   customer_email="again@example.com", channel=Channel.WEB)
    unlinked = intake._fingerprint(request)
    request.follow_up_of_id = old.id
    assert intake._fingerprint(request) != unlinked
    request.follow_up_of_id = None
    assert intake._fingerprint(request) == unlinked
    request.follow_up_of_id = old.id
    new = intake.submit(request).ticket
    assert new.follow_up_of_id == old.id
    assert [e.data["ticket_id"] for e in kinds(old.id, "follow_up_opened")] == [new.id]
