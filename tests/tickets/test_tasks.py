"""Cross-department tasks as services: the ticket follows its tasks, clocks, sweep, visibility."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import time_machine
from sqlalchemy import func, select

from service.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, NotFound
from service.extensions import db
from service.notify.models import Notification, OutboundMail
from tickets import conversation, lifecycle
from tickets.models import (Attachment, BusinessCalendar, Channel, Message, Priority, SlaState,
                            Status, TicketEvent, Visibility)
from tickets.tasks import clock, services
from tickets.tasks.models import Task, TaskStatus
from tickets.ticket_page import Upload

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Shanghai
WEEKDAYS_9_TO_18 = {str(day): [["09:00", "18:00"]] for day in range(5)}


@pytest.fixture
def world(make_user, make_team, support_team, make_ticket):
    """A support agent holding a ticket, and two departments with a lead and a member."""
    agent = make_user("agent", team=support_team)
    rnd_lead = make_user("lead", locale="zh_CN")
    rnd = make_team("R&D", lead=rnd_lead)
    developer = make_user("department", team=rnd)
    qa = make_team("QA")
    tester = make_user("department", team=qa)
    with time_machine.travel(T0, tick=False):
        ticket = make_ticket(urgency=Priority.URGENT)
    assert ticket.assignee_id == agent.id and ticket.status == Status.OPEN
    return SimpleNamespace(agent=agent, rnd_lead=rnd_lead, rnd=rnd, developer=developer,
                           qa=qa, tester=tester, ticket=ticket)


def open_task(world, *, department=None, at=T0, **fields):
    fields.setdefault("title", "Check the firmware")
    fields.setdefault("description", "Crashes on boot since 2.3.")
    return services.create_task(world.agent, world.ticket,
                                department_id=(department or world.rnd).id, now=at, **fields)


def kinds(ticket_id: int, kind: str) -> list[TicketEvent]:
    return list(db.session.scalars(select(TicketEvent).where(
        TicketEvent.ticket_id == ticket_id, TicketEvent.kind == kind).order_by(TicketEvent.id)))


def office_calendar(name: str, timezone: str) -> BusinessCalendar:
    calendar = BusinessCalendar(name=name, timezone=timezone, weekly_hours=WEEKDAYS_9_TO_18)
    db.session.add(calendar)
    db.session.commit()
    return calendar


# ---- opening a task ----

def test_opening_a_task_moves_the_ticket_to_pending_internal_without_pausing(world):
    due_before = world.ticket.resolution_due_at
    task = open_task(world, at=T0 + timedelta(minutes=30), assignee_id=world.developer.id,
                     expected_outcome="A patched build")
    ticket = world.ticket
    assert ticket.status == Status.PENDING_INTERNAL
    assert ticket.sla_paused_at is None and ticket.resolution_due_at == due_before
    assert ticket.sla_state != SlaState.PAUSED
    assert task.status == TaskStatus.OPEN and task.created_by_id == world.agent.id
    assert task.due_at == T0 + timedelta(minutes=30) + timedelta(days=1)  # default, 24x7
    [event] = kinds(ticket.id, "task_opened")
    assert event.data == {"task_id": task.id, "title": "Check the firmware",
                          "department_id": world.rnd.id, "assignee_id": world.developer.id,
                          "due_at": task.due_at.isoformat()}
    [moved] = kinds(ticket.id, "status_changed")[-1:]
    assert moved.data["to"] == "pending_internal"


def test_a_ticket_waiting_on_the_customer_keeps_waiting(world):
    lifecycle.change_status(world.ticket, Status.PENDING_CUSTOMER, actor=world.agent, now=T0)
    db.session.commit()
    open_task(world)
    assert world.ticket.status == Status.PENDING_CUSTOMER


def test_department_turnaround_on_office_hours_crosses_the_weekend(world):
    world.rnd.task_target_minutes = 8 * 60
    world.rnd.calendar_id = office_calendar("Shanghai office", "Asia/Shanghai").id
    db.session.commit()
    friday_3pm = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)  # 15:00 in Shanghai
    # 3 h on Friday (to 18:00), 5 h on Monday from 09:00: 14:00 Shanghai time.
    assert services.department_due(world.rnd, friday_3pm) == datetime(2026, 11, 30, 6, 0,
                                                                      tzinfo=UTC)
    task = open_task(world, at=friday_3pm)
    assert task.due_at == datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


def test_department_turnaround_across_a_dst_change(world):
    world.qa.task_target_minutes = 120
    world.qa.calendar_id = office_calendar("Berlin office", "Europe/Berlin").id
    db.session.commit()
    friday_5pm = datetime(2026, 3, 27, 16, 0, tzinfo=UTC)  # 17:00 CET, one hour left
    # Summer time starts on Sunday 29 March: Monday 10:00 CEST is 08:00 UTC, not 09:00.
    assert services.department_due(world.qa, friday_5pm) == datetime(2026, 3, 30, 8, 0,
                                                                     tzinfo=UTC)


def test_default_turnaround_comes_from_config(world, app):
    app.config["TASK_DEFAULT_MINUTES"] = 90
    assert services.department_due(world.qa, T0) == T0 + timedelta(minutes=90)


@pytest.mark.parametrize("fields, field", [
    ({"title": "  "}, "title"),
    ({"department_id": 999_999}, "department_id"),
    ({"assignee_id": "tester"}, "assignee_id"),  # a member of QA, not of R&D
    ({"due_at": T0 - timedelta(minutes=1)}, "due_at"),
    ({"due_at": T0 + timedelta(days=400)}, "due_at"),
])
def test_invalid_task_fields_write_nothing(world, fields, field):
    if fields.get("assignee_id") == "tester":
        fields["assignee_id"] = world.tester.id
    department_id = fields.pop("department_id", world.rnd.id)
    with pytest.raises(InvalidInput) as error:
        services.create_task(world.agent, world.ticket, title=fields.pop("title", "A task"),
                             description="", department_id=department_id, now=T0, **fields)
    assert set(error.value.errors) == {field}
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Task)) == 0
    assert world.ticket.status == Status.OPEN


def test_who_may_open_tasks(world, make_user):
    with pytest.raises(Forbidden):
        services.create_task(make_user("sales"), world.ticket, title="x", description="",
                             department_id=world.rnd.id)
    with pytest.raises(Forbidden):  # departments work tasks; they do not hand them out
        services.create_task(world.developer, world.ticket, title="x", description="",
                             department_id=world.qa.id)
    lifecycle.change_status(world.ticket, Status.RESOLVED, actor=world.agent, now=T0)
    db.session.commit()
    with pytest.raises(InvalidTransition):
        open_task(world)


# ---- seeing and working ----

def test_visibility_and_who_may_work(world, make_user):
    task = open_task(world)
    other_agent = make_user("agent")  # no team: cannot see the Support team's ticket
    for user in (world.developer, world.rnd_lead, world.agent, make_user("admin")):
        assert services.get_task(user, task.id).id == task.id
        assert services.can_work(user, task)
    for user in (world.tester, other_agent, make_user("partner")):
        with pytest.raises(NotFound):
            services.get_task(user, task.id)
    colleague = make_user("agent", team=world.agent.teams[0])  # sees the ticket, not the task's
    assert services.get_task(colleague, task.id).id == task.id
    assert not services.can_work(colleague, task)
    with pytest.raises(Forbidden):
        services.update_task(colleague, task, {"status": "in_progress"})
    assert not services.can_work(make_user("sales"), task)
    # Given to a QA member, QA's member sees it (as its assignee) and may work it.
    task.assignee_id = world.tester.id
    db.session.commit()
    assert services.can_work(world.tester, services.get_task(world.tester, task.id))


# ---- status changes and the ticket ----

def test_finishing_the_last_task_hands_the_ticket_back_to_support(world):
    first = open_task(world)
    second = open_task(world, department=world.qa)
    services.update_task(world.developer, first, {"status": "done", "outcome": "Patched",
                                                  "note": "Fixed in 2.3.1"},
                         now=T0 + timedelta(hours=1))
    assert first.finished_at == T0 + timedelta(hours=1) and first.outcome == "Patched"
    assert world.ticket.status == Status.PENDING_INTERNAL  # QA still works on it
    [note] = first.notes
    assert note.status == TaskStatus.DONE and note.body == "Fixed in 2.3.1"
    services.update_task(world.tester, second, {"status": TaskStatus.CANCELLED},
                         now=T0 + timedelta(hours=2))
    assert world.ticket.status == Status.OPEN
    back = kinds(world.ticket.id, "status_changed")[-1]
    assert back.data["to"] == "open" and back.data["reason"] == "tasks done"
    changes = [(e.data["from"], e.data["to"]) for e in kinds(world.ticket.id,
                                                              "task_status_changed")]
    assert changes == [("open", "done"), ("open", "cancelled")]


def test_reopening_a_task_puts_the_ticket_back_on_hold(world):
    task = open_task(world)
    services.update_task(world.developer, task, {"status": "done"}, now=T0 + timedelta(hours=1))
    task.escalated_at = T0
    db.session.commit()
    assert world.ticket.status == Status.OPEN
    services.update_task(world.agent, task, {"status": "in_progress"},
                         now=T0 + timedelta(hours=2))
    assert task.finished_at is None and task.escalated_at is None
    assert world.ticket.status == Status.PENDING_INTERNAL


def test_status_rules(world):
    task = open_task(world)
    services.update_task(world.developer, task, {"status": "blocked"})
    services.update_task(world.developer, task, {"status": "blocked"})  # no-op
    assert len(kinds(world.ticket.id, "task_status_changed")) == 1
    services.update_task(world.developer, task, {"status": "cancelled"})
    with pytest.raises(InvalidTransition):
        services.update_task(world.developer, task, {"status": "done"})
    with pytest.raises(InvalidInput) as error:
        services.update_task(world.developer, task, {"status": "finished"})
    assert set(error.value.errors) == {"status"}


def test_reassigning_and_moving_the_due_time_are_on_the_timeline(world, make_user):
    other_developer = make_user("department", team=world.rnd)
    task = open_task(world)
    task.escalated_at = T0
    new_due = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    services.update_task(world.rnd_lead, task, {"assignee_id": other_developer.id,
                                                "due_at": new_due})
    assert task.assignee_id == other_developer.id and task.due_at == new_due
    assert task.escalated_at is None  # the new deadline may be escalated again
    [reassigned] = kinds(world.ticket.id, "task_reassigned")
    assert reassigned.data["to"] == other_developer.id and reassigned.data["from"] is None
    [moved] = kinds(world.ticket.id, "task_due_changed")
    assert moved.data["to"] == new_due.isoformat()
    with pytest.raises(InvalidInput) as error:
        services.update_task(world.rnd_lead, task, {"assignee_id": world.tester.id})
    assert set(error.value.errors) == {"assignee_id"}


def test_tasks_of_a_resolved_or_closed_ticket_cannot_change(world):
    task = open_task(world)
    lifecycle.change_status(world.ticket, Status.RESOLVED, actor=world.agent, now=T0)
    db.session.commit()
    with pytest.raises(InvalidTransition):
        services.update_task(world.developer, task, {"status": "done"})
    # An internal note is still welcome on a resolved ticket; publishing on a closed one not.
    services.add_note(world.developer, task, "Root cause written up")
    lifecycle.change_status(world.ticket, Status.CLOSED, actor=world.agent, now=T0)
    db.session.commit()
    with pytest.raises(Conflict):
        services.add_note(world.developer, task, "Hello", publish_to_customer=True)


def test_a_customer_reply_while_tasks_are_open_keeps_the_ticket_on_hold(world):
    task = open_task(world)
    lifecycle.change_status(world.ticket, Status.PENDING_CUSTOMER, actor=world.agent,
                            now=T0 + timedelta(hours=1))
    db.session.commit()
    conversation.add_customer_message(world.ticket, world.ticket.contact_id, "Here it is",
                                      Channel.EMAIL, T0 + timedelta(hours=2))
    db.session.commit()
    assert world.ticket.status == Status.PENDING_INTERNAL
    assert world.ticket.sla_paused_at is None  # the customer answered: the clock runs
    services.update_task(world.developer, task, {"status": "done"})
    lifecycle.change_status(world.ticket, Status.PENDING_CUSTOMER, actor=world.agent,
                            now=T0 + timedelta(hours=3))
    conversation.add_customer_message(world.ticket, world.ticket.contact_id, "And this",
                                      Channel.EMAIL, T0 + timedelta(hours=4))
    db.session.commit()
    assert world.ticket.status == Status.OPEN  # no task left: support's turn


# ---- notes ----

def test_internal_note_keeps_its_files_internal(world):
    task = open_task(world)
    note = services.add_note(world.developer, task, "Log attached",
                             uploads=[Upload("boot.log", b"panic at 0x0", "text/plain")])
    [attachment] = db.session.scalars(select(Attachment)).all()
    assert attachment.task_note_id == note.id and attachment.message_id is None
    assert attachment.visibility == Visibility.INTERNAL
    assert not note.published and note.message_id is None
    assert db.session.scalar(select(func.count()).select_from(Message).where(
        Message.body == "Log attached")) == 0
    [event] = kinds(world.ticket.id, "task_note_added")
    assert event.data == {"task_id": task.id, "note_id": note.id, "published": False}


def test_published_note_reaches_the_customer_with_its_files(world):
    task = open_task(world)
    note = services.add_note(world.developer, task, "We found the cause; a fix is coming.",
                             publish_to_customer=True,
                             uploads=[Upload("analysis.txt", b"root cause", "text/plain")])
    message = db.session.get(Message, note.message_id)
    assert message.visibility == Visibility.PUBLIC and message.body == note.body
    [attachment] = message.attachments
    assert attachment.visibility == Visibility.PUBLIC and attachment.task_note_id == note.id
    mail = db.session.scalar(select(OutboundMail).where(
        OutboundMail.dedupe_key == f"reply:message:{message.id}"))
    assert mail is not None and mail.to_address == world.ticket.contact.email
    assert kinds(world.ticket.id, "task_note_added")[0].data["published"] is True


def test_note_checks(world):
    task = open_task(world)
    with pytest.raises(InvalidInput) as error:
        services.add_note(world.developer, task, " ")
    assert set(error.value.errors) == {"body"}
    with pytest.raises(InvalidInput) as error:
        services.add_note(world.developer, task, "x" * 10001)
    assert set(error.value.errors) == {"body"}
    with pytest.raises(Forbidden):
        services.add_note(world.tester, task, "Not my department")
    note = services.add_note(world.developer, task, "Started", status="in_progress")
    assert note.status == TaskStatus.IN_PROGRESS and task.status == TaskStatus.IN_PROGRESS


# ---- overdue sweep ----

def test_overdue_sweep_escalates_once_and_tells_the_lead(world):
    late = open_task(world, due_at=T0 + timedelta(hours=1))
    open_task(world, due_at=T0 + timedelta(hours=5), title="Not due yet")
    leaderless = open_task(world, department=world.qa, due_at=T0 + timedelta(hours=2))
    assert services.sweep_overdue_tasks(now=T0 + timedelta(hours=3)) == 2
    assert services.sweep_overdue_tasks(now=T0 + timedelta(hours=4)) == 0
    assert late.escalated_at == T0 + timedelta(hours=3)
    assert leaderless.escalated_at is not None
    events = kinds(world.ticket.id, "task_overdue")
    assert [event.data["task_id"] for event in events] == [late.id, leaderless.id]
    assert events[0].data["due_at"] == late.due_at.isoformat()
    [notice] = db.session.scalars(select(Notification)).all()  # QA has no lead
    assert notice.user_id == world.rnd_lead.id and notice.kind == "task_overdue"
    assert notice.dedupe_key == f"task_overdue:{late.id}:{late.due_at.isoformat()}"
    assert notice.emailed_at is not None
    [mail] = db.session.scalars(select(OutboundMail).where(
        OutboundMail.to_address == world.rnd_lead.email)).all()
    assert "Check the firmware" in mail.subject and world.ticket.number in mail.subject
    assert f"/console/tasks/{late.id}" in mail.body_text
    assert "您好" in mail.body_text  # the lead reads Chinese


def test_a_reopened_task_with_the_same_due_time_is_not_notified_twice(world):
    task = open_task(world, due_at=T0 + timedelta(hours=1))
    assert services.sweep_overdue_tasks(now=T0 + timedelta(hours=2)) == 1
    services.update_task(world.developer, task, {"status": "done"})
    services.update_task(world.developer, task, {"status": "open"})
    assert services.sweep_overdue_tasks(now=T0 + timedelta(hours=3)) == 1  # escalated again
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 1


# ---- clocks ----

def test_time_used_on_a_hand_worked_example(world, make_team):
    logistics = make_team("Logistics")
    hour = timedelta(hours=1)
    rnd = open_task(world, at=T0 + hour)
    qa = open_task(world, department=world.qa, at=T0 + 2 * hour)
    services.update_task(world.developer, rnd, {"status": "done"}, now=T0 + 3 * hour)
    services.update_task(world.tester, qa, {"status": "done"}, now=T0 + 4 * hour)
    assert world.ticket.status == Status.OPEN
    lifecycle.change_status(world.ticket, Status.PENDING_CUSTOMER, actor=world.agent,
                            now=T0 + 5 * hour)
    lifecycle.change_status(world.ticket, Status.OPEN, actor=None, now=T0 + 6 * hour,
                            contact_id=world.ticket.contact_id)
    db.session.commit()
    open_task(world, department=logistics, at=T0 + 7 * hour)

    used = clock.time_used(world.ticket, T0 + 8 * hour)
    # 8 h since the start, less 1 h waiting on the customer.
    assert used.total_seconds == 7 * 3600
    assert {(d.name, d.seconds) for d in used.departments} == {
        ("R&D", 2 * 3600), ("QA", 2 * 3600), ("Logistics", 3600)}
    # Departments held it 1-4 h and 7-8 h (R&D and QA overlapped 2-3 h): support the rest.
    assert used.support_seconds == 3 * 3600
    assert used.departments[0].team_id in (world.rnd.id, world.qa.id)


def test_time_used_leaves_out_resolved_stretches_and_stops_at_resolution(world):
    hour = timedelta(hours=1)
    open_task(world, at=T0 + hour)
    lifecycle.change_status(world.ticket, Status.RESOLVED, actor=world.agent, now=T0 + 2 * hour)
    lifecycle.change_status(world.ticket, Status.REOPENED, actor=None, now=T0 + 5 * hour,
                            contact_id=world.ticket.contact_id)
    db.session.commit()
    used = clock.time_used(world.ticket, T0 + 6 * hour)
    assert used.total_seconds == 3 * 3600  # 0-2 h and 5-6 h
    assert [d.seconds for d in used.departments] == [2 * 3600]  # 1-2 h and 5-6 h
    assert used.support_seconds == 3600


def test_customer_update_cadence(world, make_ticket):
    hour = timedelta(hours=1)
    assert clock.customer_update_status(world.ticket, T0) is None  # no tasks
    open_task(world, at=T0 + hour)
    status = clock.customer_update_status(world.ticket, T0 + 3 * hour)
    assert status.last_update_at == T0 + hour and status.due_at == T0 + 5 * hour  # 240 min
    assert not status.late
    assert clock.customer_update_status(world.ticket, T0 + 5 * hour + timedelta(minutes=1)).late
    conversation.add_staff_message(world.ticket, world.agent, "Still on it", Visibility.PUBLIC,
                                   T0 + 4 * hour)
    conversation.add_staff_message(world.ticket, world.agent, "internal", Visibility.INTERNAL,
                                   T0 + 6 * hour)
    db.session.commit()
    status = clock.customer_update_status(world.ticket, T0 + 7 * hour)
    assert status.last_update_at == T0 + 4 * hour and not status.late
    normal = make_ticket(urgency=Priority.NORMAL)
    services.create_task(world.agent, normal, title="x", description="",
                         department_id=world.rnd.id)
    assert clock.customer_update_status(normal, T0) is None  # no cadence promised
