"""Closed-loop resolution as services: resolve with a verification, the customer's answer,
its evidence, staff status changes around it, the export and the one-click links."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import time_machine
from sqlalchemy import func, select

from service import events
from service.auth.models import Availability
from service.errors import Forbidden, InvalidInput, InvalidTransition, NotFound
from service.extensions import db
from service.notify.models import Notification, OutboundMail
from tickets import attachments
from tickets.models import (ClosedReason, Message, Priority, SlaBreach, SlaTarget, Status,
                            Ticket, TicketEvent, Visibility)
from tickets.resolution import links, services
from tickets.resolution.models import (Confirmation, ConfirmationChannel, ConfirmationOutcome,
                                       ConfirmationState, Resolution)
from tickets.services import update_ticket
from tickets.tasks.models import Task, TaskNote, TaskStatus

from tests.tickets.helpers_resolution import VERIFICATION, resolve_ticket

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
CONFIRMED, REJECTED = ConfirmationOutcome.CONFIRMED, ConfirmationOutcome.REJECTED
LINK, PORTAL, PHONE = (ConfirmationChannel.EMAIL_LINK, ConfirmationChannel.PORTAL,
                       ConfirmationChannel.PHONE)


@pytest.fixture
def world(make_user, make_team, support_team, make_ticket):
    """An agent holding an urgent ticket (8 h to resolve) in a team with a Chinese lead."""
    # Away, so the agent gets the ticket.
    lead = make_user("lead", team=support_team, locale="zh_CN", name="Lena Lead",
                     availability=Availability.AWAY)
    support_team.lead_id = lead.id
    agent = make_user("agent", team=support_team, name="Alice Agent")
    rnd = make_team("R&D")
    db.session.commit()
    with time_machine.travel(T0, tick=False):
        ticket = make_ticket(urgency=Priority.URGENT, customer_name="Casey")
    assert ticket.assignee_id == agent.id and ticket.status == Status.OPEN
    return SimpleNamespace(agent=agent, lead=lead, rnd=rnd, ticket=ticket, team=support_team)


def fresh(ticket_id: int) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


def kinds(ticket_id: int, kind: str) -> list[TicketEvent]:
    return list(db.session.scalars(select(TicketEvent).where(
        TicketEvent.ticket_id == ticket_id, TicketEvent.kind == kind).order_by(TicketEvent.id)))


def open_task(world, title="Check the firmware", status=TaskStatus.OPEN) -> Task:
    task = Task(ticket_id=world.ticket.id, department_id=world.rnd.id, title=title,
                status=status, due_at=T0 + timedelta(days=1), created_by_id=world.agent.id)
    db.session.add(task)
    db.session.commit()
    return task


def mails(prefix: str) -> list[OutboundMail]:
    return list(db.session.scalars(select(OutboundMail).where(
        OutboundMail.dedupe_key.like(f"{prefix}%")).order_by(OutboundMail.id)))


def resolve_at(world, hours: float = 2, **fields) -> Resolution:
    at = T0 + timedelta(hours=hours)
    with time_machine.travel(at, tick=False):
        return resolve_ticket(world.agent, world.ticket, now=at, **fields)


# ---- resolving ----

def test_resolving_records_the_verification_and_asks_the_customer(world):
    resolution = resolve_at(world, evidence_note="  Photos of the test pages.  ")
    ticket = fresh(world.ticket.id)
    assert ticket.status == Status.RESOLVED and ticket.resolved_at == T0 + timedelta(hours=2)
    assert ticket.resolution_breached_at is None  # 2 h of the 8 h
    assert (resolution.summary, resolution.root_cause) == (VERIFICATION["summary"],
                                                           VERIFICATION["root_cause"])
    assert resolution.verification_method == "reproduced"
    assert resolution.evidence_note == "Photos of the test pages."
    assert resolution.verified_by_id == world.agent.id
    assert resolution.state == ConfirmationState.PENDING
    resolved_at = T0 + timedelta(hours=2)
    assert resolution.remind_at == resolved_at + timedelta(days=3.5)
    assert resolution.auto_close_at == resolved_at + timedelta(days=7)
    assert resolution.next_action_at == resolution.remind_at
    [event] = kinds(ticket.id, "resolved")
    assert event.actor_user_id == world.agent.id
    assert event.data == {"resolution_id": resolution.id, "method": "reproduced"}
    [asked] = kinds(ticket.id, "confirmation_requested")
    assert asked.data["resolution_id"] == resolution.id
    assert services.current_resolution(ticket.id).id == resolution.id
    assert [r.id for r in services.resolutions_of(ticket.id)] == [resolution.id]
    # The mail: the fix in plain words, two one-click links, the portal, the closing date.
    [mail] = mails("confirm-request:")
    assert mail.to_address == ticket.contact.email and ticket.number in mail.subject
    assert VERIFICATION["summary"] in mail.body_text
    assert "2026-11-30 11:00" in mail.body_text  # 7 days later, in Asia/Shanghai
    urls = [line for line in mail.body_text.splitlines() if "/portal/confirm/" in line]
    answers = [links.read_confirmation_token(url.rsplit("/", 1)[1]) for url in urls]
    assert [(a.resolution_id, a.contact_id, a.outcome) for a in answers] == [
        (resolution.id, ticket.contact_id, "confirmed"),
        (resolution.id, ticket.contact_id, "rejected")]
    assert "Yes, it is fixed" in mail.body_html and "No, it is still a problem" in mail.body_html


def test_the_confirmation_mail_speaks_the_customers_language(world, make_ticket):
    with time_machine.travel(T0, tick=False):
        world.ticket = make_ticket(subject="打印机坏了", description="打印机不能打印了",
                                   language="zh")
    resolve_at(world)
    [mail] = mails("confirm-request:")
    # (Strings added with this feature read in English until the catalogs are extracted.)
    assert "Loopdesk 客户支持" in mail.body_text and 'lang="zh-CN"' in mail.body_html
    assert VERIFICATION["summary"] in mail.body_text


def test_no_mail_for_a_customer_without_a_mailable_address(world):
    world.ticket.contact.email_bouncing = True
    db.session.commit()
    resolve_at(world)
    assert mails("confirm-request:") == []
    assert fresh(world.ticket.id).status == Status.RESOLVED


def test_resolving_late_breaches_the_resolution_target(world):
    resolve_at(world, hours=9)  # urgent: 8 h
    ticket = fresh(world.ticket.id)
    assert ticket.resolution_breached_at == T0 + timedelta(hours=9)
    breaches = db.session.scalars(select(SlaBreach).where(SlaBreach.ticket_id == ticket.id))
    assert [b.target for b in breaches] == [SlaTarget.RESOLUTION]


def test_the_policy_sets_the_waiting_time(world):
    world.ticket.sla_policy.confirmation_days = 2
    db.session.commit()
    resolution = resolve_at(world, hours=0)
    assert resolution.remind_at == T0 + timedelta(days=1)
    assert resolution.auto_close_at == T0 + timedelta(days=2)


def test_open_tasks_block_resolving(world):
    first, second = open_task(world), open_task(world, "Ship a spare", TaskStatus.BLOCKED)
    open_task(world, "Old idea", TaskStatus.CANCELLED)
    with pytest.raises(services.TasksStillOpen) as refused:
        resolve_at(world)
    assert refused.value.status == 409 and refused.value.task_ids == [first.id, second.id]
    assert f"#{first.id}" in refused.value.detail and "Ship a spare" in refused.value.detail
    assert fresh(world.ticket.id).status == Status.OPEN
    assert db.session.scalar(select(func.count()).select_from(Resolution)) == 0


def test_a_lead_overrides_open_tasks_with_a_reason(world):
    task = open_task(world)
    with time_machine.travel(T0, tick=False):
        resolution = resolve_ticket(world.lead, world.ticket,
                                    override_reason="R&D confirmed the fix by phone")
    assert resolution.override_reason == "R&D confirmed the fix by phone"
    assert resolution.overridden_task_ids == [task.id]
    [event] = kinds(world.ticket.id, "resolved")
    assert event.data["override_reason"] == "R&D confirmed the fix by phone"
    assert event.data["overridden_task_ids"] == [task.id]
    assert fresh(world.ticket.id).status == Status.RESOLVED


def test_an_agent_may_not_override(world):
    open_task(world)
    with pytest.raises(Forbidden):
        resolve_ticket(world.agent, world.ticket, override_reason="trust me")
    assert fresh(world.ticket.id).status == Status.OPEN


def test_who_may_resolve(world, make_user, make_team):
    outsider = make_user("agent", team=make_team("Logistics"))
    with pytest.raises(NotFound):
        resolve_ticket(outsider, world.ticket)
    member = make_user("department", team=world.team)
    with pytest.raises(Forbidden):
        resolve_ticket(member, world.ticket)
    assert fresh(world.ticket.id).status == Status.OPEN


@pytest.mark.parametrize("fields, errors", [
    ({"summary": " ", "root_cause": None, "method": "", "result": "\t"},
     {"summary", "root_cause", "verification.method", "verification.result"}),
    ({"method": "m" * 81, "evidence_note": "n" * 10001, "override_reason": "r" * 1001},
     {"verification.method", "verification.evidence_note", "override_reason"}),
    ({"summary": "s" * 10001, "result": 42}, {"summary", "verification.result"}),
    ({"attachment_ids": ["1"]}, {"verification.attachment_ids"}),
    ({"attachment_ids": 5}, {"verification.attachment_ids"}),
    ({"attachment_ids": [999999]}, {"verification.attachment_ids"}),
])
def test_verification_fields_are_checked(world, fields, errors):
    # As a lead: an over-long override reason is then a field error, not a 403.
    with pytest.raises(InvalidInput) as refused:
        resolve_ticket(world.lead, world.ticket, **fields)
    assert set(refused.value.errors) == errors
    assert fresh(world.ticket.id).status == Status.OPEN


def test_evidence_files_must_be_this_tickets(world, make_ticket):
    other = make_ticket()
    theirs = attachments.store(other.id, None, "secret.txt", b"their file")
    mine = attachments.store(world.ticket.id, None, "photo.txt", b"test page photo")
    db.session.commit()
    with pytest.raises(InvalidInput) as refused:
        resolve_ticket(world.agent, world.ticket, attachment_ids=[mine.id, theirs.id])
    assert list(refused.value.errors) == ["verification.attachment_ids"]
    assert "secret" not in json.dumps(refused.value.errors)
    resolution = resolve_ticket(world.agent, world.ticket, attachment_ids=[mine.id, mine.id])
    assert resolution.evidence_attachment_ids == [mine.id]


def test_a_resolved_ticket_cannot_be_resolved_again(world):
    resolve_at(world)
    with pytest.raises(InvalidTransition):
        resolve_ticket(world.agent, fresh(world.ticket.id))
    assert db.session.scalar(select(func.count()).select_from(Resolution)) == 1


# ---- the customer's answer ----

def test_the_customer_confirms_by_link_with_evidence(world):
    resolution = resolve_at(world)
    closed: list[dict] = []
    at = T0 + timedelta(days=1)
    with events.ticket_closed.connected_to(lambda sender, **data: closed.append(
            {"id": sender, **data})):
        confirmation = services.answer(
            world.ticket, CONFIRMED, channel=LINK, contact_id=world.ticket.contact_id,
            ip="203.0.113.9", user_agent="Mozilla/5.0 " + "x" * 600,
            resolution_id=resolution.id, now=at)
    ticket = fresh(world.ticket.id)
    assert ticket.status == Status.CLOSED and ticket.closed_reason == ClosedReason.CONFIRMED
    assert ticket.closed_at == at
    assert closed == [{"id": ticket.id, "closed_reason": "confirmed"}]
    assert confirmation.outcome == CONFIRMED and confirmation.channel == LINK
    assert confirmation.actor_kind.value == "customer"
    assert confirmation.contact_id == ticket.contact_id and confirmation.user_id is None
    assert confirmation.ip_address == "203.0.113.9" and len(confirmation.user_agent) == 400
    assert confirmation.created_at == at
    resolution = db.session.get(Resolution, resolution.id)
    assert resolution.state == ConfirmationState.CONFIRMED and resolution.answered_at == at
    assert resolution.next_action_at is None
    [event] = kinds(ticket.id, "customer_confirmed")
    assert event.actor_contact_id == ticket.contact_id and event.channel == "email"
    assert event.data == {"resolution_id": resolution.id, "confirmation_id": confirmation.id,
                          "channel": "email_link"}


def test_an_answer_counts_once(world):
    resolution = resolve_at(world)
    services.answer(world.ticket, CONFIRMED, channel=PORTAL, contact_id=world.ticket.contact_id)
    for outcome, comment in ((CONFIRMED, None), (REJECTED, "no wait")):
        with pytest.raises(services.AlreadyAnswered) as again:
            services.answer(world.ticket, outcome, channel=LINK, comment=comment,
                            contact_id=world.ticket.contact_id, resolution_id=resolution.id)
        assert again.value.status == 409 and again.value.state == ConfirmationState.CONFIRMED
    assert db.session.scalar(select(func.count()).select_from(Confirmation)) == 1
    assert fresh(world.ticket.id).status == Status.CLOSED


def test_a_stale_link_cannot_answer_a_newer_resolution(world):
    first = resolve_at(world)
    services.answer(world.ticket, REJECTED, channel=PORTAL, comment="Still smudged.",
                    contact_id=world.ticket.contact_id)
    second = resolve_ticket(world.agent, fresh(world.ticket.id))
    with pytest.raises(services.AlreadyAnswered) as stale:
        services.answer(world.ticket, CONFIRMED, channel=LINK, resolution_id=first.id,
                        contact_id=world.ticket.contact_id)
    assert stale.value.state == ConfirmationState.PENDING
    services.answer(world.ticket, CONFIRMED, channel=LINK, resolution_id=second.id,
                    contact_id=world.ticket.contact_id)
    assert fresh(world.ticket.id).status == Status.CLOSED


def test_an_unresolved_ticket_has_nothing_to_answer(world):
    with pytest.raises(services.AlreadyAnswered) as refused:
        services.answer(world.ticket, CONFIRMED, channel=PORTAL,
                        contact_id=world.ticket.contact_id)
    assert refused.value.state is None


@pytest.mark.parametrize("kwargs, field", [
    ({"outcome": REJECTED, "comment": "   "}, "comment"),
    ({"outcome": REJECTED, "comment": "x" * 10001}, "comment"),
    ({"outcome": CONFIRMED, "contact_id": None}, "contact_id"),
    ({"outcome": ConfirmationOutcome.AUTO_CONFIRMED}, "outcome"),
])
def test_bad_answers_change_nothing(world, kwargs, field):
    resolve_at(world)
    kwargs = {"contact_id": world.ticket.contact_id, **kwargs}
    outcome = kwargs.pop("outcome")
    with pytest.raises(InvalidInput) as refused:
        services.answer(world.ticket, outcome, channel=PORTAL, **kwargs)
    assert field in refused.value.errors
    assert fresh(world.ticket.id).status == Status.RESOLVED
    assert db.session.scalar(select(func.count()).select_from(Confirmation)) == 0


def test_still_a_problem_reopens_resumes_the_clock_and_tells_assignee_and_lead(world):
    resolve_at(world, hours=2)  # 6 of the 8 hours were left
    due_before = fresh(world.ticket.id).resolution_due_at
    at = T0 + timedelta(days=2)
    with time_machine.travel(at, tick=False):
        confirmation = services.answer(world.ticket, REJECTED, channel=LINK,
                                       contact_id=world.ticket.contact_id,
                                       comment="  Still smudged on page 2.  ", now=at)
    ticket = fresh(world.ticket.id)
    assert ticket.status == Status.REOPENED and ticket.reopen_count == 1
    assert ticket.resolved_at is None and ticket.closed_reason is None
    # The time spent resolved was the customer's: the due time moved by exactly that.
    assert ticket.resolution_due_at == due_before + (at - (T0 + timedelta(hours=2)))
    assert ticket.resolution_due_at == at + timedelta(hours=6)
    assert confirmation.comment == "Still smudged on page 2."
    resolution = services.current_resolution(ticket.id)
    assert resolution.state == ConfirmationState.REJECTED and resolution.next_action_at is None
    message = db.session.scalars(select(Message).order_by(Message.id.desc())).first()
    assert message.body == "Still smudged on page 2."
    assert message.visibility == Visibility.PUBLIC
    assert message.author_contact_id == ticket.contact_id
    [event] = kinds(ticket.id, "customer_rejected")
    assert event.data["channel"] == "email_link"
    notices = db.session.scalars(select(Notification).where(
        Notification.kind == "ticket_reopened").order_by(Notification.user_id)).all()
    assert {n.user_id for n in notices} == {world.agent.id, world.lead.id}
    assert all(n.emailed_at is not None for n in notices)
    by_address = {m.to_address: m for m in mails("ticket_reopened:")}
    english, chinese = by_address[world.agent.email], by_address[world.lead.email]
    assert "Reopened" in english.subject and ticket.number in english.subject
    assert "Still smudged on page 2." in english.body_text
    assert "Lena Lead，您好" in chinese.body_text and "在控制台中打开" in chinese.body_text
    assert "Hello" in english.body_text


def test_staff_record_a_phone_answer_with_a_call_reference(world, make_user):
    resolve_at(world)
    member = make_user("department", team=world.team)
    with pytest.raises(Forbidden):
        services.answer(world.ticket, CONFIRMED, channel=PHONE, user=member,
                        call_reference="CALL-1")
    with pytest.raises(Forbidden):
        services.answer(world.ticket, CONFIRMED, channel=PHONE, call_reference="CALL-1")
    with pytest.raises(InvalidInput) as missing:
        services.answer(world.ticket, CONFIRMED, channel=PHONE, user=world.agent,
                        call_reference="  ")
    assert list(missing.value.errors) == ["call_reference"]
    confirmation = services.answer(world.ticket, CONFIRMED, channel=PHONE, user=world.agent,
                                   call_reference="CALL-2026-0042", ip="10.0.0.1")
    assert confirmation.actor_kind.value == "staff" and confirmation.user_id == world.agent.id
    assert confirmation.call_reference == "CALL-2026-0042"
    ticket = fresh(world.ticket.id)
    assert ticket.closed_reason == ClosedReason.CONFIRMED
    [event] = kinds(ticket.id, "customer_confirmed")
    assert event.actor_user_id == world.agent.id and event.data["channel"] == "phone"


def test_a_phone_rejection_is_an_internal_note_and_tells_the_lead(world):
    resolve_at(world)
    services.answer(world.ticket, REJECTED, channel=PHONE, user=world.agent,
                    call_reference="CALL-7", comment="Customer says page 2 still smudges.")
    ticket = fresh(world.ticket.id)
    assert ticket.status == Status.REOPENED
    note = db.session.scalars(select(Message).order_by(Message.id.desc())).first()
    assert note.visibility == Visibility.INTERNAL and note.author_user_id == world.agent.id
    # The agent who took the call knows; the lead is told.
    assert {n.user_id for n in db.session.scalars(select(Notification).where(
        Notification.kind == "ticket_reopened"))} == {world.lead.id}


# ---- staff status changes around the loop ----

def test_staff_cannot_resolve_by_status(world):
    with pytest.raises(InvalidTransition) as refused:
        update_ticket(world.agent, world.ticket, {"status": Status.RESOLVED})
    assert "/api/v1/tickets/{id}/resolution" in refused.value.detail
    assert fresh(world.ticket.id).status == Status.OPEN


def test_staff_reopening_supersedes_the_pending_confirmation(world):
    resolution = resolve_at(world)
    update_ticket(world.agent, fresh(world.ticket.id), {"status": Status.REOPENED})
    ticket = fresh(world.ticket.id)
    assert ticket.status == Status.REOPENED and ticket.reopen_count == 1
    resolution = db.session.get(Resolution, resolution.id)
    assert resolution.state == ConfirmationState.SUPERSEDED and resolution.next_action_at is None
    assert [e.data["resolution_id"] for e in kinds(ticket.id, "confirmation_superseded")] == [
        resolution.id]
    with pytest.raises(services.AlreadyAnswered):
        services.answer(ticket, CONFIRMED, channel=LINK, contact_id=ticket.contact_id)


def test_staff_closing_needs_a_reason_and_closes_as_staff(world):
    resolve_at(world)
    with pytest.raises(InvalidInput) as missing:
        update_ticket(world.agent, fresh(world.ticket.id), {"status": Status.CLOSED})
    assert list(missing.value.errors) == ["reason"]
    closed: list[dict] = []
    with events.ticket_closed.connected_to(lambda sender, **data: closed.append(data)):
        update_ticket(world.agent, fresh(world.ticket.id),
                      {"status": Status.CLOSED, "reason": "confirmed at the meeting"})
    ticket = fresh(world.ticket.id)
    assert ticket.closed_reason == ClosedReason.CLOSED_BY_STAFF
    assert closed == [{"closed_reason": "closed_by_staff"}]
    assert services.current_resolution(ticket.id).state == ConfirmationState.SUPERSEDED


def test_a_closed_ticket_takes_no_status_change(world):
    resolve_at(world)
    services.answer(world.ticket, CONFIRMED, channel=PORTAL, contact_id=world.ticket.contact_id)
    for status in (Status.REOPENED, Status.OPEN, Status.RESOLVED):
        with pytest.raises(InvalidTransition) as refused:
            update_ticket(world.lead, fresh(world.ticket.id), {"status": status, "reason": "x"})
        assert "closed" in refused.value.detail
    # Other fields still change (tags for reports, say).
    update_ticket(world.lead, fresh(world.ticket.id), {"tags": ["repeat"]})
    assert fresh(world.ticket.id).status == Status.CLOSED


# ---- export ----

def test_the_export_holds_every_piece_of_evidence(world):
    task = open_task(world)
    db.session.add(TaskNote(task_id=task.id, author_id=world.agent.id, body="Firmware 2.4 fixes"))
    task.status = TaskStatus.DONE
    db.session.commit()
    file = attachments.store(world.ticket.id, None, "proof.txt", b"test page ok")
    db.session.commit()
    resolution = resolve_at(world, attachment_ids=[file.id])
    services.answer(world.ticket, CONFIRMED, channel=LINK, contact_id=world.ticket.contact_id,
                    ip="198.51.100.7", user_agent="Firefox")
    exported = services.export_ticket(fresh(world.ticket.id))
    json.dumps(exported)  # JSON-ready throughout
    assert exported["ticket"]["number"] == world.ticket.number
    assert exported["ticket"]["closed_reason"] == "confirmed"
    assert [m["visibility"] for m in exported["messages"]] == ["public"]
    assert "customer_confirmed" in [e["kind"] for e in exported["events"]]
    assert exported["tasks"][0]["notes"][0]["body"] == "Firmware 2.4 fixes"
    [resolved] = exported["resolutions"]
    assert resolved["id"] == resolution.id and resolved["evidence_attachment_ids"] == [file.id]
    [evidence] = resolved["confirmations"]
    assert (evidence["channel"], evidence["actor_kind"], evidence["ip_address"],
            evidence["user_agent"]) == ("email_link", "customer", "198.51.100.7", "Firefox")
    assert evidence["created_at"].endswith("+00:00")
    [meta] = exported["attachments"]
    assert meta["filename"] == "proof.txt" and "data" not in meta


# ---- one-click links ----

def test_links_name_one_answer_and_reject_tampering(app, world):
    token = links.confirmation_token(7, world.ticket.contact_id, "rejected")
    data = links.read_confirmation_token(token)
    assert (data.resolution_id, data.contact_id, data.outcome) == (7, world.ticket.contact_id,
                                                                   "rejected")
    url = links.confirmation_url(7, world.ticket.contact_id, "confirmed")
    assert url.startswith("http://support.test/portal/confirm/")
    tampered = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    for bad in (tampered, "nonsense", "", token + "x"):
        with pytest.raises(links.LinkInvalid):
            links.read_confirmation_token(bad)
    from tickets.portal_links import portal_token

    with pytest.raises(links.LinkInvalid):  # another purpose's token, however valid
        links.read_confirmation_token(portal_token(world.ticket.id, world.ticket.contact_id))
    with pytest.raises(ValueError):
        links.confirmation_token(7, 1, "maybe")


def test_links_expire(app, world):
    with time_machine.travel(T0, tick=False):
        token = links.confirmation_token(7, 1, "confirmed")
    with time_machine.travel(T0 + timedelta(days=29), tick=False):
        assert links.read_confirmation_token(token).outcome == "confirmed"
    with time_machine.travel(T0 + timedelta(days=31), tick=False):
        with pytest.raises(links.LinkExpired) as expired:
            links.read_confirmation_token(token)
    assert expired.value.status == 410
    app.config["CONFIRMATION_LINK_MAX_AGE_DAYS"] = 60
    with time_machine.travel(T0 + timedelta(days=31), tick=False):
        assert links.read_confirmation_token(token).resolution_id == 7
