"""The console's ticket page: who sees it, replies and notes, changes, reassignment, panels."""
from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from service.extensions import db
from tests.conftest import post_spooled
from service.notify.models import OutboundMail
from tickets.models import (Attachment, CannedResponse, ClosedReason, Message, Priority, Status,
                            Ticket, TicketEvent, Visibility)


@pytest.fixture
def agent(make_user, support_team):
    return make_user("agent", team=support_team, name="Alice Agent")


@pytest.fixture
def ticket(agent, make_ticket):
    made = make_ticket(subject="Printer on fire", customer_name="Casey Customer")
    assert made.assignee_id == agent.id
    return made


def url(ticket_id: int, action: str = "") -> str:
    return f"/console/tickets/{ticket_id}" + (f"/{action}" if action else "")


def html(response) -> str:
    return response.get_data(as_text=True)


def fresh(ticket_id: int) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def sign_in(client, console_login, user):
    """console_login, also when the test switches users: the test's app context is shared
    with its requests, and Flask-Login keeps the previous user in `g` otherwise."""
    from flask import g

    g.pop("_login_user", None)
    return console_login(client, user)


def post(client, path: str, data: dict | None = None, **kwargs):
    return client.post(path, data={"csrf_token": client.csrf_token, **(data or {})}, **kwargs)


def post_files(client, path: str, data: dict):
    """A large multipart POST with the client's CSRF token."""
    return post_spooled(client, path, {"csrf_token": client.csrf_token, **data})


def changes_of(ticket: Ticket, **overrides) -> dict:
    """The update form as the page fills it in, with some fields changed."""
    data = {"status": ticket.status.value, "priority": ticket.priority.value,
            "category": ticket.category or "", "product": ticket.product or "",
            "tags": ", ".join(ticket.tags), "reason": ""}
    data.update(overrides)
    return data


# ---- who may see the page ----

def test_signed_out_staff_are_sent_to_sign_in(client, ticket):
    for response in (client.get(url(ticket.id)),
                     client.post(url(ticket.id, "reply"), data={"body": "x"})):
        assert response.status_code == 302
        assert "/console/login" in response.headers["Location"]
    assert count(Message) == 1


@pytest.mark.parametrize("role", ["admin", "lead", "agent"])
def test_the_page_shows_the_ticket_to_admin_lead_and_team_agent(
        client, console_login, make_user, support_team, ticket, role):
    user = make_user(role, team=None if role == "admin" else support_team)
    console_login(client, user)
    response = client.get(url(ticket.id))
    assert response.status_code == 200
    page = html(response)
    assert ticket.number in page and "Printer on fire" in page
    assert "Casey Customer" in page and "Alice Agent" in page
    assert 'class="badge priority-normal"' in page and "On track" in page
    assert "default priority normal" in page  # the priority's reason


def test_other_teams_agent_and_unknown_ids_get_404(client, console_login, make_user,
                                                   make_team, ticket):
    outsider = make_user("agent", team=make_team("Logistics"))
    console_login(client, outsider)
    assert client.get(url(ticket.id)).status_code == 404
    assert post(client, url(ticket.id, "reply"), {"body": "hi"}).status_code == 404
    assert post(client, url(ticket.id, "update"), {"status": "resolved"}).status_code == 404
    assert post(client, url(ticket.id, "assign"), {"action": "take"}).status_code == 404
    for path in ("/console/tickets/999999", "/console/tickets/0", "/console/tickets/-1",
                 "/console/tickets/99999999999999", "/console/tickets/abc"):
        assert client.get(path).status_code == 404
    assert count(Message) == 1 and fresh(ticket.id).assignee_id != outsider.id


def test_department_members_may_read_and_add_notes_only(client, console_login, make_user,
                                                        support_team, ticket):
    member = make_user("department", team=support_team)
    console_login(client, member)
    page = html(client.get(url(ticket.id)))
    assert 'value="internal" checked' in page and 'value="public"' not in page
    assert 'id="update-form"' not in page and "Take it" not in page
    refused = post(client, url(ticket.id, "reply"), {"body": "psst", "visibility": "public"})
    assert refused.status_code == 400 and count(Message) == 1
    note = post(client, url(ticket.id, "reply"), {"body": "QA looked", "visibility": "internal"})
    assert note.status_code == 303
    assert post(client, url(ticket.id, "update"), changes_of(ticket, status="resolved")
                ).status_code == 403
    assert post(client, url(ticket.id, "assign"), {"action": "take"}).status_code == 403
    assert fresh(ticket.id).status == Status.OPEN


def test_sales_see_only_their_accounts_tickets(client, console_login, make_user, make_ticket,
                                               agent):
    from service.directory.services import create_account

    rep = make_user("sales")
    create_account("Big Co", sales_owner=rep, domains=["bigco.example"])
    db.session.commit()
    theirs = make_ticket(customer_email="ops@bigco.example")
    other = make_ticket(customer_email="someone@else.example")
    console_login(client, rep)
    page = html(client.get(url(theirs.id)))
    assert theirs.number in page and 'id="update-form"' not in page
    assert client.get(url(other.id)).status_code == 404
    assert post(client, url(theirs.id, "reply"), {"body": "x", "visibility": "internal"}
                ).status_code == 303


# ---- replies and notes ----

def test_a_public_reply_is_mailed_and_meets_first_response(client, console_login, agent,
                                                           ticket):
    console_login(client, agent)
    response = post(client, url(ticket.id, "reply"),
                    {"body": "We are on it.", "visibility": "public"})
    assert response.status_code == 303
    message = db.session.scalar(select(Message).order_by(Message.id.desc()))
    assert response.headers["Location"].endswith(f"/console/tickets/{ticket.id}#message-"
                                                 f"{message.id}")
    assert (message.body, message.visibility, message.author_user_id) == (
        "We are on it.", Visibility.PUBLIC, agent.id)
    mail = db.session.scalar(select(OutboundMail).where(
        OutboundMail.dedupe_key == f"reply:message:{message.id}"))
    assert mail is not None and "We are on it." in mail.body_text
    assert fresh(ticket.id).first_responded_at is not None
    page = html(client.get(url(ticket.id)))
    assert f'id="message-{message.id}" class="message from-staff"' in page
    assert "Reply sent." in page


def test_an_internal_note_is_not_mailed_and_looks_different(client, console_login, agent,
                                                            ticket):
    console_login(client, agent)
    assert post(client, url(ticket.id, "reply"),
                {"body": "Customer sounds upset", "visibility": "internal"}).status_code == 303
    note = db.session.scalar(select(Message).where(Message.visibility == Visibility.INTERNAL))
    assert note.body == "Customer sounds upset"
    assert count(OutboundMail, OutboundMail.dedupe_key.like("reply:%")) == 0
    assert fresh(ticket.id).first_responded_at is None
    page = html(client.get(url(ticket.id)))
    item = page[page.index(f'id="message-{note.id}"'):]
    item = item[:item.index("</li>")]
    assert 'class="message internal"' in item and "Internal note" in item
    assert "Public reply" not in item


@pytest.mark.parametrize("body", ["", "   \n ", "x" * 20001])
def test_an_empty_or_huge_reply_is_shown_again_with_a_message(client, console_login, agent,
                                                              ticket, body):
    console_login(client, agent)
    response = post(client, url(ticket.id, "reply"), {"body": body, "visibility": "public"})
    assert response.status_code == 400
    page = html(response)
    assert 'class="field-error"' in page
    assert ("Write the reply or note first." in page) or ("at most 20000" in page)
    assert count(Message) == 1


def test_a_closed_ticket_takes_no_replies(client, console_login, agent, ticket):
    from tickets import lifecycle

    for status in (Status.RESOLVED, Status.CLOSED):
        lifecycle.change_status(ticket, status, actor=agent, now=datetime.now(UTC))
    db.session.commit()
    console_login(client, agent)
    assert "This ticket is closed" in html(client.get(url(ticket.id)))
    response = post(client, url(ticket.id, "reply"), {"body": "Hello?", "visibility": "public"})
    assert response.status_code == 409
    assert "This ticket is closed" in html(response) and count(Message) == 1


def test_forms_without_the_csrf_token_are_refused(client, console_login, agent, ticket):
    console_login(client, agent)
    reply = client.post(url(ticket.id, "reply"), data={"body": "hi", "visibility": "public"})
    assert reply.status_code == 400 and "The form has expired" in html(reply)
    forged = client.post(url(ticket.id, "reply"), data={"body": "hi", "csrf_token": "nope"})
    assert forged.status_code == 400
    assert client.post(url(ticket.id, "update"),
                       data=changes_of(ticket, status="resolved")).status_code == 400
    assert client.post(url(ticket.id, "assign"), data={"action": "take"}).status_code == 400
    assert count(Message) == 1 and fresh(ticket.id).status == Status.OPEN


def test_files_are_stored_listed_and_downloaded_with_their_message(client, console_login,
                                                                   agent, ticket):
    console_login(client, agent)
    response = post(client, url(ticket.id, "reply"), {
        "body": "See attached", "visibility": "public",
        "attachments": [(io.BytesIO(b"first file"), "notes.txt", "text/plain"),
                        (io.BytesIO(b"%PDF-1.4 fake"), "../../etc/report.pdf")]},
        content_type="multipart/form-data")
    assert response.status_code == 303
    files = db.session.scalars(select(Attachment).order_by(Attachment.id)).all()
    message = db.session.scalar(select(Message).order_by(Message.id.desc()))
    assert [file.filename for file in files] == ["notes.txt", "report.pdf"]
    assert {file.message_id for file in files} == {message.id}
    assert {file.visibility for file in files} == {Visibility.PUBLIC}
    page = html(client.get(url(ticket.id)))
    link = f"/console/tickets/{ticket.id}/attachments/{files[0].id}"
    assert link in page
    download = client.get(link)
    assert download.status_code == 200 and download.data == b"first file"
    assert download.headers["Content-Disposition"].startswith("attachment")
    # A note's files stay internal (the customer's portal never lists them).
    post(client, url(ticket.id, "reply"), {
        "body": "log", "visibility": "internal",
        "attachments": [(io.BytesIO(b"secret log"), "debug.log")]},
        content_type="multipart/form-data")
    assert db.session.scalar(select(Attachment.visibility)
                             .where(Attachment.filename == "debug.log")) == Visibility.INTERNAL


def test_attachment_downloads_check_the_ticket(client, console_login, agent, ticket,
                                               make_ticket, make_user, make_team):
    from tickets import attachments

    other_team = make_team("Finance")
    make_user("agent", team=other_team)
    elsewhere = make_ticket()
    file = attachments.store(elsewhere.id, None, "x.txt", b"x")
    db.session.commit()
    console_login(client, agent)
    assert client.get(f"/console/tickets/{ticket.id}/attachments/{file.id}").status_code == 404
    assert client.get(f"/console/tickets/{ticket.id}/attachments/999999").status_code == 404
    assert client.get(f"/console/tickets/{ticket.id}/attachments/abc").status_code == 404


@pytest.mark.parametrize("app_config", [{"ATTACHMENT_MAX_BYTES": 1024}])
def test_oversize_files_are_refused_cleanly(client, console_login, agent, ticket, app_config):
    console_login(client, agent)
    response = post(client, url(ticket.id, "reply"), {
        "body": "Two files", "visibility": "public",
        "attachments": [(io.BytesIO(b"ok"), "small.txt"), (io.BytesIO(b"x" * 2048), "big.bin")]},
        content_type="multipart/form-data")
    assert response.status_code == 400
    page = html(response)
    assert "Larger than the 1.0 KB limit: big.bin" in page
    assert "Two files" in page  # what was written is kept in the form
    assert count(Message) == 1 and count(Attachment) == 0
    # Beyond what the request may carry at all (5 files and the text): a clean 413 page.
    huge = post_files(client, url(ticket.id, "reply"), {
        "body": "Huge", "visibility": "public",
        "attachments": [(io.BytesIO(b"x" * (600 * 1024)), "huge.bin")]})
    assert huge.status_code == 413
    assert "too large" in html(huge) and count(Message) == 1


def test_too_many_files_are_refused(client, console_login, agent, ticket):
    console_login(client, agent)
    response = post(client, url(ticket.id, "reply"), {
        "body": "Many", "visibility": "public",
        "attachments": [(io.BytesIO(b"x"), f"f{number}.txt") for number in range(6)]},
        content_type="multipart/form-data")
    assert response.status_code == 400 and "Attach at most 5 files." in html(response)
    assert count(Message) == 1 and count(Attachment) == 0


# ---- canned responses on the page ----

def _macro(body: str, **fields) -> CannedResponse:
    macro = CannedResponse(title=fields.pop("title", "Greeting"), body=body, **fields)
    db.session.add(macro)
    db.session.commit()
    return macro


def test_a_canned_response_is_inserted_with_its_placeholders_filled(client, console_login,
                                                                    agent, ticket):
    macro = _macro("Hi {{ customer.first_name }}, about {{ticket.number}} ({{ ticket.subject }})"
                   " - {{ agent.first_name }} of {{ team.name }}. {{ customer.email }} "
                   "{{ unknown.thing }}")
    console_login(client, agent)
    page = html(client.get(url(ticket.id)))
    expected = (f"Hi Casey, about {ticket.number} (Printer on fire) - Alice of Support. "
                f"{ticket.contact.email} {{{{ unknown.thing }}}}")
    assert f'<template id="macro-{macro.id}">{expected}</template>' in page
    assert f'<option value="{macro.id}">Greeting</option>' in page
    filled = html(client.get(url(ticket.id) + f"?macro={macro.id}"))
    assert f">{expected}</textarea>" in filled


@pytest.mark.parametrize("value", ["abc", "999999", "0", "-1", "99999999999999999", "%00", ""])
def test_an_unusable_canned_response_is_a_notice_not_an_error(client, console_login, agent,
                                                             ticket, make_user, value):
    console_login(client, agent)
    response = client.get(url(ticket.id) + f"?macro={value}")
    assert response.status_code == 200
    assert "That canned response is not available to you." in html(response)


def test_someone_elses_personal_response_cannot_be_inserted(client, console_login, agent,
                                                            ticket, make_user):
    other = make_user("agent")
    macro = _macro("private text", owner_id=other.id)
    console_login(client, agent)
    page = html(client.get(url(ticket.id) + f"?macro={macro.id}"))
    assert "That canned response is not available to you." in page
    assert "private text" not in page


def test_placeholders_never_run_template_code(client, console_login, agent, make_ticket):
    ticket = make_ticket(customer_name="{{ agent.name }} <script>alert(1)</script>")
    macro = _macro("{{ config }} {% for x in range(3) %}{{ x }}{% endfor %} {{ customer.name }}")
    console_login(client, agent)
    page = html(client.get(url(ticket.id) + f"?macro={macro.id}"))
    text = ("{{ config }} {% for x in range(3) %}{{ x }}{% endfor %} "
            "{{ agent.name }} &lt;script&gt;alert(1)&lt;/script&gt;")
    assert f">{text}</textarea>" in page
    assert "SECRET_KEY" not in page and "<script>alert(1)" not in page


# ---- changes ----

def test_status_changes_follow_the_lifecycle(client, console_login, agent, ticket):
    console_login(client, agent)
    page = html(client.get(url(ticket.id)))
    options = re.findall(r'<option value="(\w+)"', page[page.index('id="update-status"'):
                                                         page.index('id="update-priority"')])
    # Resolving takes the resolution form (with its verification), never a status change.
    assert options == ["open", "pending_customer", "pending_internal"]
    for status in ("reopened", "resolved"):
        refused = post(client, url(ticket.id, "update"), changes_of(ticket, status=status))
        assert refused.status_code == 400 and fresh(ticket.id).status == Status.OPEN
    assert post(client, url(ticket.id, "update"),
                changes_of(ticket, status="pending_customer")).status_code == 303
    changed = fresh(ticket.id)
    assert changed.status == Status.PENDING_CUSTOMER and changed.sla_paused_at is not None
    page = html(client.get(url(ticket.id)))
    assert "Alice Agent changed the status from Open to Waiting on customer." in page
    assert "Paused" in page


def test_agents_may_raise_but_not_lower_the_priority(client, console_login, agent, ticket):
    console_login(client, agent)
    assert post(client, url(ticket.id, "update"),
                changes_of(ticket, priority="urgent")).status_code == 303
    assert fresh(ticket.id).priority == Priority.URGENT
    ticket = fresh(ticket.id)
    response = post(client, url(ticket.id, "update"),
                    changes_of(ticket, priority="low", reason="customer said it can wait"))
    assert response.status_code == 403
    assert "Only a lead or an admin may lower the priority" in html(response)
    assert fresh(ticket.id).priority == Priority.URGENT


def test_a_lead_lowers_the_priority_with_a_reason(client, console_login, make_user,
                                                  support_team, make_ticket, agent):
    lead = make_user("lead", team=support_team)
    ticket = make_ticket(priority=Priority.HIGH)
    console_login(client, lead)
    missing = post(client, url(ticket.id, "update"), changes_of(ticket, priority="low"))
    assert missing.status_code == 400
    page = html(missing)
    assert 'id="update-reason-error"' in page and "Give a reason for lowering" in page
    assert fresh(ticket.id).priority == Priority.HIGH
    done = post(client, url(ticket.id, "update"),
                changes_of(ticket, priority="low", reason="only a cosmetic issue"))
    assert done.status_code == 303
    changed = fresh(ticket.id)
    assert changed.priority == Priority.LOW
    assert changed.priority_reason == "changed by staff: only a cosmetic issue"
    page = html(client.get(url(ticket.id)))
    assert "changed the priority from High to Low." in page
    assert "Reason: only a cosmetic issue" in page


def test_closing_an_unresolved_ticket_needs_a_reason(client, console_login, agent, ticket):
    console_login(client, agent)
    refused = post(client, url(ticket.id, "update"), changes_of(ticket, status="closed"))
    # Open cannot close at all; a new ticket can, and then a reason is needed.
    assert refused.status_code == 400
    ticket = fresh(ticket.id)
    ticket.status = Status.NEW
    db.session.commit()
    missing = post(client, url(ticket.id, "update"), changes_of(ticket, status="closed"))
    assert missing.status_code == 400
    assert "Give a reason for closing the ticket yourself" in html(missing)
    assert fresh(ticket.id).status == Status.NEW
    done = post(client, url(ticket.id, "update"),
                changes_of(ticket, status="closed", reason="duplicate of T-000009"))
    assert done.status_code == 303 and fresh(ticket.id).status == Status.CLOSED
    assert fresh(ticket.id).closed_reason == ClosedReason.CLOSED_BY_STAFF


def test_closing_a_resolved_ticket_by_hand_needs_a_reason(client, console_login, agent,
                                                          ticket):
    from tests.tickets.helpers_resolution import resolve_ticket
    from tickets.resolution.models import ConfirmationState
    from tickets.resolution.services import current_resolution

    resolve_ticket(agent, ticket)
    console_login(client, agent)
    page = html(client.get(url(ticket.id)))
    options = re.findall(r'<option value="(\w+)"', page[page.index('id="update-status"'):
                                                         page.index('id="update-priority"')])
    assert options == ["resolved", "reopened", "closed"]
    ticket = fresh(ticket.id)
    missing = post(client, url(ticket.id, "update"), changes_of(ticket, status="closed"))
    assert missing.status_code == 400
    assert "Give a reason for closing the ticket yourself" in html(missing)
    assert fresh(ticket.id).status == Status.RESOLVED
    assert post(client, url(ticket.id, "update"),
                changes_of(ticket, status="closed", reason="confirmed in a meeting")
                ).status_code == 303
    closed = fresh(ticket.id)
    assert closed.status == Status.CLOSED and closed.closed_reason == ClosedReason.CLOSED_BY_STAFF
    # The question to the customer is withdrawn: no reminder, no auto-close.
    resolution = current_resolution(ticket.id)
    assert resolution.state == ConfirmationState.SUPERSEDED and resolution.next_action_at is None
    page = html(client.get(url(ticket.id)))
    options = re.findall(r'<option value="(\w+)"', page[page.index('id="update-status"'):
                                                         page.index('id="update-priority"')])
    assert options == ["closed"]
    refused = post(client, url(ticket.id, "update"), changes_of(closed, status="reopened"))
    assert refused.status_code == 400 and fresh(ticket.id).status == Status.CLOSED


def test_category_product_and_tags(client, console_login, agent, ticket):
    console_login(client, agent)
    response = post(client, url(ticket.id, "update"), changes_of(
        ticket, category="billing", product="Printer X", tags=" VIP , refund,，退款 ,vip"))
    assert response.status_code == 303
    changed = fresh(ticket.id)
    assert (changed.category, changed.product) == ("billing", "Printer X")
    assert changed.tags == ["refund", "vip", "退款"]
    page = html(client.get(url(ticket.id)))
    assert "changed the tags from (none) to refund, vip, 退款." in page
    assert "changed the product from (none) to Printer X." in page
    nothing = post(client, url(ticket.id, "update"), changes_of(changed))
    assert nothing.status_code == 303
    assert "Nothing changed." in html(client.get(url(ticket.id)))


@pytest.mark.parametrize("tags, message", [
    ("a" * 51, "A tag is at most 50 characters"),
    ("good, not good", "Tags hold letters, digits"),
    ("<b>x</b>", "Tags hold letters, digits"),
    (", ".join(f"t{number}" for number in range(21)), "At most 20 tags."),
])
def test_bad_tags_are_shown_again(client, console_login, agent, ticket, tags, message):
    console_login(client, agent)
    response = post(client, url(ticket.id, "update"), changes_of(ticket, tags=tags))
    assert response.status_code == 400 and message in html(response)
    assert fresh(ticket.id).tags == []


@pytest.mark.parametrize("field, value", [
    ("status", "bogus"), ("priority", "p0"), ("priority", ""), ("category", "c" * 81),
    ("product", "p" * 81), ("reason", "r" * 301), ("status", "ÿ\x00"),
])
def test_bad_change_values_are_400_not_500(client, console_login, agent, ticket, field, value):
    console_login(client, agent)
    response = post(client, url(ticket.id, "update"), changes_of(ticket, **{field: value}))
    assert response.status_code == 400
    assert 'class="field-error"' in html(response)
    assert count(TicketEvent, TicketEvent.ticket_id == ticket.id) == 2  # created, assigned


# ---- reassignment ----

def test_reassigning_needs_the_assign_permission(client, console_login, agent, ticket,
                                                 make_user, support_team):
    colleague = make_user("agent", team=support_team, name="Bob Agent")
    console_login(client, agent)
    page = html(client.get(url(ticket.id)))
    assert 'id="assign-form"' not in page
    response = post(client, url(ticket.id, "assign"), {
        "action": "assign", "team": str(ticket.team_id), "assignee": str(colleague.id)})
    assert response.status_code == 403
    assert "Only a lead or an admin may give a ticket to someone else" in html(response)
    assert fresh(ticket.id).assignee_id == agent.id


def test_a_lead_reassigns_and_sees_load_and_availability(client, console_login, agent, ticket,
                                                         make_user, support_team, make_team):
    from service.auth.models import Availability

    lead = make_user("lead", team=support_team, name="Lee Lead")
    colleague = make_user("agent", team=support_team, name="Bob Agent",
                          availability=Availability.AWAY, max_open_tickets=7)
    logistics = make_team("Logistics")
    make_user("agent", team=logistics, name="Lou Logistics",
              availability=Availability.OUT_OF_OFFICE)
    console_login(client, lead)
    page = html(client.get(url(ticket.id)))
    form = page[page.index('id="assign-form"'):]
    assert form.index('<optgroup label="Support">') < form.index('<optgroup label="Logistics">')
    assert "Bob Agent: 0 of 7 open, away" in form
    assert "Alice Agent: 1 of 20 open, available" in form
    assert "Lou Logistics: 0 of 20 open, out of office" in form
    response = post(client, url(ticket.id, "assign"), {
        "action": "assign", "team": str(ticket.team_id), "assignee": str(colleague.id),
        "reason": "Bob knows this printer"})
    assert response.status_code == 303
    assert fresh(ticket.id).assignee_id == colleague.id
    page = html(client.get(url(ticket.id)))
    assert "Lee Lead assigned the ticket to Bob Agent." in page
    assert "Reason: Bob knows this printer" in page
    moved = post(client, url(ticket.id, "assign"), {
        "action": "assign", "team": str(logistics.id), "assignee": ""})
    # The lead no longer sees the ticket (another team's): back to the console, not a 404.
    assert moved.status_code == 303 and moved.headers["Location"].endswith("/console/")
    changed = fresh(ticket.id)
    assert changed.team_id == logistics.id and changed.assignee_id is None
    sign_in(client, console_login, make_user("admin"))
    page = html(client.get(url(ticket.id)))
    assert "Lee Lead moved the ticket from Support to Logistics." in page
    assert "Lee Lead unassigned the ticket." in page and "Reason: the team changed" in page


def test_take_it(client, console_login, agent, ticket, make_user, support_team):
    colleague = make_user("agent", team=support_team, name="Bob Agent")
    console_login(client, colleague)
    assert "Take it" in html(client.get(url(ticket.id)))
    response = post(client, url(ticket.id, "assign"), {"action": "take"})
    assert response.status_code == 303
    assert fresh(ticket.id).assignee_id == colleague.id
    page = html(client.get(url(ticket.id)))
    assert "Bob Agent took the ticket." in page and "Take it" not in page
    admin = make_user("admin")
    sign_in(client, console_login, admin)
    refused = post(client, url(ticket.id, "assign"), {"action": "take"})
    assert refused.status_code == 403
    assert "Your role cannot hold tickets" in html(refused)
    assert fresh(ticket.id).assignee_id == colleague.id


@pytest.mark.parametrize("data", [
    {"team": "abc"}, {"team": "-1"}, {"team": "99999999999"}, {"team": ""},
    {"assignee": "abc"}, {"assignee": "999999"}, {"assignee": "1.5"}, {"reason": "r" * 301},
])
def test_bad_reassign_values_are_400_not_500(client, console_login, make_user, support_team,
                                             ticket, data):
    lead = make_user("lead", team=support_team)
    console_login(client, lead)
    form = {"action": "assign", "team": str(ticket.team_id), "assignee": "", **data}
    response = post(client, url(ticket.id, "assign"), form)
    assert response.status_code == 400
    assert fresh(ticket.id).assignee_id is not None


# ---- safety and rendering ----

def test_user_text_is_escaped(client, console_login, agent, make_ticket):
    evil = "<script>alert(1)</script>"
    ticket = make_ticket(subject=f"Subject {evil}", description=f"Body {evil}",
                         customer_name=f"<img src=x onerror=alert(1)> {evil}",
                         category=f"<b>{evil}</b>")
    console_login(client, agent)
    post(client, url(ticket.id, "reply"), {"body": f"note {evil}", "visibility": "internal"})
    page = html(client.get(url(ticket.id)))
    assert evil not in page and "<img src=x" not in page and "<b><script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_html_mail_is_shown_in_a_sandbox(client, console_login, agent, ticket):
    from tickets import conversation

    conversation.add_customer_message(
        ticket, ticket.contact_id, "Plain version", ticket.channel, datetime.now(UTC),
        body_html='<p>Rich <b>version</b> "quoted"</p>')
    db.session.commit()
    console_login(client, agent)
    page = html(client.get(url(ticket.id)))
    frame = re.search(r'<iframe class="mail-html" sandbox="" [^>]*srcdoc="([^"]*)"', page)
    assert frame is not None
    assert "&lt;p&gt;Rich &lt;b&gt;version&lt;/b&gt; &#34;quoted&#34;&lt;/p&gt;" in frame.group(1)
    assert "Content-Security-Policy" in frame.group(1)
    assert "Plain version" in page


def test_phone_calls_show_their_facts(client, console_login, agent, ticket):
    from tickets.channels.phone.models import CallDirection, CallOutcome
    from tickets.channels.phone.services import CallDetails, log_staff_call

    now = datetime.now(UTC)
    log_staff_call(ticket, agent, CallDetails(
        direction=CallDirection.OUTBOUND, number="+8613800138000",
        started_at=now - timedelta(minutes=5), duration_seconds=185,
        outcome=CallOutcome.ANSWERED, recording_ref="pbx://rec/981",
        notes="Walked them through the reset."), Visibility.INTERNAL, now)
    db.session.commit()
    console_login(client, agent)
    page = html(client.get(url(ticket.id)))
    assert "Outgoing call · answered" in page and "3 min 5 s" in page
    assert "+8613800138000" in page and "pbx://rec/981" in page
    assert "Walked them through the reset." in page


def test_events_read_as_sentences(client, console_login, agent, ticket):
    from tickets import timeline
    from tickets.models import SlaTarget

    due = datetime(2030, 1, 2, 3, 4, tzinfo=UTC).isoformat()
    timeline.record(ticket.id, "sla_breached", target=SlaTarget.FIRST_RESPONSE.value,
                    due_at=due, escalated_to=agent.id)
    timeline.record(ticket.id, "attachment_refused", channel="email", filename="huge.zip",
                    size=20 * 1024 * 1024, reason="larger than the 8 MB limit")
    timeline.record(ticket.id, "some_future_kind", actor=agent, detail={"x": 1})
    db.session.commit()
    console_login(client, agent)
    page = html(client.get(url(ticket.id)))
    assert "Casey Customer opened the ticket through the API." in page
    assert "The ticket was assigned automatically to Alice Agent." in page
    assert "The first response target was breached (due 2030-01-02 11:04 (Asia/Shanghai))." \
        in page
    assert "Escalated to Alice Agent." in page
    assert "The attachment huge.zip (20.0 MB) was not kept" in page
    assert "Alice Agent: some future kind" in page
    assert "{&#39;" not in page and '{"' not in page  # no raw event data


def test_newest_first_toggle(client, console_login, agent, ticket):
    console_login(client, agent)
    post(client, url(ticket.id, "reply"), {"body": "latest words", "visibility": "internal"})
    oldest = html(client.get(url(ticket.id)))
    newest = html(client.get(url(ticket.id) + "?order=newest"))
    assert oldest.index("Details here.") < oldest.index("latest words")
    assert newest.index("latest words") < newest.index("Details here.")
    assert client.get(url(ticket.id) + "?order=%ff%00").status_code == 200


def test_customer_panel(client, console_login, agent, make_user, make_ticket, make_team):
    from service.directory.services import create_account

    rep = make_user("sales", name="Sam Sales")
    create_account("Big Co", tier="vip", sales_owner=rep, dedicated_agent=agent,
                   products=["Printer X", "Ink Plan"], domains=["bigco.example"])
    db.session.commit()
    older = make_ticket(customer_email="ops@bigco.example", subject="Older problem")
    ticket = make_ticket(customer_email="ops@bigco.example", customer_name="Olga Ops",
                         customer_phone="+86 138 0000 0000")
    hidden_team = make_team("R&D")
    hidden = make_ticket(customer_email="ops@bigco.example", subject="Hidden problem")
    hidden.team_id, hidden.assignee_id = hidden_team.id, None
    db.session.commit()
    console_login(client, agent)
    page = html(client.get(url(ticket.id)))
    panel = page[page.index('class="card customer-panel"'):]
    panel = panel[:panel.index("</section>")]
    assert "Olga Ops" in panel and "ops@bigco.example" in panel and "+86 138" in panel
    assert "Big Co" in panel and '<span class="badge vip">VIP</span>' in panel
    assert "Printer X" in panel and "Ink Plan" in panel
    assert "Sam Sales" in panel and "Alice Agent" in panel
    assert "Older problem" in panel and f"/console/tickets/{older.id}" in panel
    assert "Hidden problem" not in panel
    assert "VIP customer" in page  # the header's badge


def test_the_panel_registry_adds_panels(client, console_login, agent, ticket, monkeypatch):
    from tickets import ticket_page

    calls = []

    def context(user, shown):
        calls.append((user.id, shown.id))
        return ticket_page.customer_panel(user, shown) if shown.id == ticket.id else None

    monkeypatch.setattr(ticket_page._panels, "_panels", dict(ticket_page._panels._panels))
    ticket_page.register_panel("copy", "tickets/console/_ticket_customer.html", context,
                               order=5, column="main")
    console_login(client, agent)
    page = html(client.get(url(ticket.id)))
    assert page.count('class="card customer-panel"') == 2
    assert calls == [(agent.id, ticket.id)]
    with pytest.raises(ValueError):
        ticket_page.register_panel("bad", "x.html", context, column="footer")


def test_the_timeline_costs_the_same_queries_however_long(client, console_login, agent,
                                                          ticket, app):
    from tickets import attachments, conversation

    console_login(client, agent)

    def statements() -> int:
        seen: list[str] = []

        def count_statement(*args):
            if args[2].lstrip().upper().startswith("SELECT"):  # not BEGIN after a commit
                seen.append(args[2])

        event.listen(db.engine, "before_cursor_execute", count_statement)
        try:
            assert client.get(url(ticket.id)).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count_statement)
        return len(seen)

    statements()  # the first page fills caches (SLA policies, routing)
    few = statements()
    for number in range(10):
        message = conversation.add_staff_message(
            ticket, agent, f"note {number}", Visibility.INTERNAL, datetime.now(UTC))
        attachments.store(ticket.id, message.id, f"f{number}.txt", f"data {number}".encode())
    db.session.commit()
    assert statements() == few


def test_the_page_speaks_chinese(client, console_login, make_user, support_team, make_ticket):
    agent = make_user("agent", team=support_team, locale="zh_CN")
    ticket = make_ticket(subject="打印机坏了")
    console_login(client, agent)
    response = client.get(url(ticket.id) + "?visibility=internal")
    assert response.status_code == 200
    page = html(response)
    assert '<html lang="zh-CN">' in page and "打印机坏了" in page
    assert "技术支持" in page  # the team's Chinese name
    assert 'value="internal" checked' in page


# ---- the same policy through the API (update_ticket enforces it) ----

def test_the_api_obeys_the_same_policy(client, auth, agent, ticket, make_user, support_team):
    colleague = make_user("agent", team=support_team)
    headers = auth(agent)
    path = f"/api/v1/tickets/{ticket.id}"
    assert client.patch(path, json={"assignee": colleague.id}, headers=headers
                        ).status_code == 403
    assert client.patch(path, json={"assignee": None}, headers=headers).status_code == 403
    assert client.patch(path, json={"team": support_team.id + 1000}, headers=headers
                        ).status_code == 400  # no such team: said before the permission
    assert client.patch(path, json={"priority": "urgent"}, headers=headers).status_code == 200
    lowered = client.patch(path, json={"priority": "low", "reason": "fine"}, headers=headers)
    assert lowered.status_code == 403
    lead = auth(make_user("lead", team=support_team))
    assert client.patch(path, json={"priority": "low"}, headers=lead).status_code == 400
    assert client.patch(path, json={"priority": "low", "reason": "cosmetic"}, headers=lead
                        ).status_code == 200
    # Taking a ticket needs no assign permission.
    assert client.patch(path, json={"assignee": colleague.id}, headers=auth(colleague)
                        ).status_code == 200
    db.session.expire_all()
    assert fresh(ticket.id).assignee_id == colleague.id


def test_a_refused_change_writes_nothing(agent, ticket, make_user, support_team):
    from service.errors import Forbidden
    from tickets.services import update_ticket

    colleague = make_user("agent", team=support_team)
    events_before = count(TicketEvent)
    with pytest.raises(Forbidden):
        # The category would be fine; the reassignment is not: neither happens.
        update_ticket(agent, ticket, {"category": "billing", "assignee": colleague.id})
    # Refused before anything was touched: not even the session holds a change.
    assert ticket.category is None and not db.session.new and not db.session.dirty
    db.session.rollback()
    changed = fresh(ticket.id)
    assert (changed.category, changed.assignee_id) == (None, agent.id)
    assert count(TicketEvent) == events_before


def test_files_beyond_the_app_wide_request_limit_are_accepted_up_to_their_own(
        client, console_login, agent, ticket, app):
    size = app.config["MAX_CONTENT_LENGTH"] + 512 * 1024  # more than any other form may send
    assert size < app.config["ATTACHMENT_MAX_BYTES"]
    console_login(client, agent)
    response = post_files(client, url(ticket.id, "reply"), {
        "body": "The full log", "visibility": "internal",
        "attachments": [(io.BytesIO(b"x" * size), "full.log")]})
    assert response.status_code == 303
    assert db.session.scalar(select(Attachment.size)) == size
