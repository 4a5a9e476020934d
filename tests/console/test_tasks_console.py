"""Cross-department tasks in the console: the queue, a task's page, the ticket-page panels."""
from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from flask import g
from sqlalchemy import func, select

from service.db_types import utcnow
from service.directory.models import Team
from service.extensions import db
from tests.conftest import post_spooled
from tickets.models import (Attachment, BusinessCalendar, Message, Priority, SlaPolicy, Status,
                            Ticket, Visibility)
from tickets.tasks import services
from tickets.tasks.models import Task, TaskNote, TaskStatus


# ---- fixtures and helpers ----

@pytest.fixture
def agent(make_user, support_team):
    return make_user("agent", team=support_team, name="Alice Agent")


@pytest.fixture
def rnd(make_team, make_user):
    lead = make_user("lead", name="Rita Lead")
    team = make_team("R&D", lead=lead)
    team.name_zh = "研发部"
    team.members.append(lead)
    db.session.commit()
    return team


@pytest.fixture
def qa(make_team):
    return make_team("QA")


@pytest.fixture
def engineer(make_user, rnd):
    return make_user("department", team=rnd, name="Eddie Engineer")


@pytest.fixture
def tester(make_user, qa):
    return make_user("department", team=qa, name="Tina Tester")


@pytest.fixture
def ticket(agent, make_ticket):
    made = make_ticket(subject="Printer on fire", customer_name="Casey Customer")
    assert made.assignee_id == agent.id
    return made


def open_task(user, ticket, department, **fields) -> Task:
    values = {"title": "Find the root cause", "description": "Logs attached.",
              "department_id": department.id, "expected_outcome": "A root cause"}
    values.update(fields)
    return services.create_task(user, ticket, **values)


def sign_in(client, console_login, user):
    """console_login, also when the test switches users (Flask-Login keeps the previous
    user in `g` otherwise: the test's app context is shared with its requests)."""
    g.pop("_login_user", None)
    return console_login(client, user)


def html(response) -> str:
    return response.get_data(as_text=True)


def post(client, path: str, data: dict | None = None, **kwargs):
    return client.post(path, data={"csrf_token": client.csrf_token, **(data or {})}, **kwargs)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def fresh(model, row_id: int):
    db.session.expire_all()
    return db.session.get(model, row_id)


# ---- the queue ----

def test_queue_lists_only_the_tasks_the_user_may_see(client, console_login, agent, ticket,
                                                     make_ticket, rnd, qa, engineer):
    mine = open_task(agent, ticket, rnd, title="Check the firmware")
    other_ticket = make_ticket(subject="Another problem")
    open_task(agent, other_ticket, qa, title="Reproduce on the test rig")
    sign_in(client, console_login, engineer)
    response = client.get("/console/tasks")
    page = html(response)
    assert response.status_code == 200
    assert "Check the firmware" in page and f"/console/tasks/{mine.id}" in page
    assert "Reproduce on the test rig" not in page
    # The ticket's number and subject link to the ticket.
    assert f'href="/console/tickets/{ticket.id}"' in page and "Printer on fire" in page
    assert ticket.number in page
    # "All departments I can see" still hides the other department's task on a ticket the
    # engineer cannot see.
    page = html(client.get("/console/tasks?department=all&status=any"))
    assert "Check the firmware" in page and "Reproduce on the test rig" not in page


def test_queue_filters_status_assignee_overdue_and_department(client, console_login, agent,
                                                              ticket, rnd, qa, engineer):
    first = open_task(agent, ticket, rnd, title="Active and mine", assignee_id=engineer.id)
    second = open_task(agent, ticket, rnd, title="Finished work")
    services.update_task(agent, second, {"status": TaskStatus.DONE})
    late = open_task(agent, ticket, rnd, title="Late work",
                     now=utcnow() - timedelta(days=3),
                     due_at=utcnow() - timedelta(days=3) + timedelta(hours=1))
    open_task(agent, ticket, qa, title="Quality check")
    sign_in(client, console_login, agent)

    page = html(client.get(f"/console/tasks?department={rnd.id}"))
    assert "Active and mine" in page and "Late work" in page
    assert "Finished work" not in page and "Quality check" not in page  # active, R&D only
    page = html(client.get(f"/console/tasks?department={rnd.id}&status=done"))
    assert "Finished work" in page and "Active and mine" not in page
    page = html(client.get("/console/tasks?department=all&overdue=y"))
    assert "Late work" in page and "Active and mine" not in page and "Quality check" not in page
    assert "overdue" in page

    sign_in(client, console_login, engineer)
    page = html(client.get("/console/tasks?assignee=me"))
    assert "Active and mine" in page and "Late work" not in page
    assert first.id and late.id


def test_queue_pages_with_a_next_link(client, console_login, agent, ticket, rnd, monkeypatch):
    from tickets.tasks import queue_view

    monkeypatch.setattr(queue_view, "PAGE_SIZE", 2)
    for number in range(3):
        open_task(agent, ticket, rnd, title=f"Task number {number}",
                  due_at=utcnow() + timedelta(hours=number + 1))
    sign_in(client, console_login, agent)
    page = html(client.get(f"/console/tasks?department={rnd.id}"))
    assert "Task number 0" in page and "Task number 1" in page and "Task number 2" not in page
    next_url = page.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    page = html(client.get(next_url))
    assert "Task number 2" in page and "Task number 0" not in page
    assert client.get("/console/tasks?cursor=garbage").status_code == 400


def test_queue_refuses_bad_filters_with_messages(client, console_login, agent):
    sign_in(client, console_login, agent)
    response = client.get("/console/tasks?status=sleeping&department=99999")
    assert response.status_code == 400
    assert "Choose a status from the list." in html(response)


def test_queue_is_in_the_navigation_for_those_who_work_tasks(client, console_login, engineer,
                                                             make_user):
    sign_in(client, console_login, engineer)
    assert 'href="/console/tasks"' in html(client.get("/console/tasks"))
    sales = make_user("sales")
    sign_in(client, console_login, sales)
    assert client.get("/console/tasks").status_code == 403


# ---- a task's page ----

def test_task_page_shows_the_task_and_its_notes(client, console_login, agent, ticket, rnd,
                                                engineer):
    task = open_task(agent, ticket, rnd, title="Check <the> firmware")
    services.add_note(engineer, task, "Looked at the logs: <b>not</b> the firmware.",
                      uploads=[_upload("trace.log")])
    sign_in(client, console_login, engineer)
    response = client.get(f"/console/tasks/{task.id}")
    page = html(response)
    assert response.status_code == 200
    assert "Check &lt;the&gt; firmware" in page and "<the>" not in page
    assert "&lt;b&gt;not&lt;/b&gt; the firmware" in page
    assert "Eddie Engineer" in page and "A root cause" in page and "R&amp;D" in page
    file = db.session.scalar(select(Attachment).where(Attachment.task_note_id.is_not(None)))
    link = f"/console/tickets/{ticket.id}/attachments/{file.id}"
    assert link in page and "trace.log" in page
    assert client.get(link).data == b"stack trace"
    # Forms for someone who may work it.
    for action in ("status", "assign", "due", "notes"):
        assert f'action="/console/tasks/{task.id}/{action}"' in page
    assert "the customer will" in page.lower() or "sent to the customer" in page


def _upload(name: str):
    from tickets.ticket_page import Upload

    return Upload(name, b"stack trace", "text/plain")


def test_change_status_with_a_note_and_the_outcome(client, console_login, agent, ticket, rnd,
                                                   engineer):
    task = open_task(agent, ticket, rnd)
    assert fresh(Ticket, ticket.id).status == Status.PENDING_INTERNAL
    sign_in(client, console_login, engineer)
    response = post(client, f"/console/tasks/{task.id}/status",
                    {"status": "done", "note": "Fixed in 2.3.1", "outcome": "Firmware 2.3.1"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/console/tasks/{task.id}")
    task = fresh(Task, task.id)
    assert task.status == TaskStatus.DONE and task.outcome == "Firmware 2.3.1"
    assert db.session.scalar(select(TaskNote.body).where(TaskNote.task_id == task.id)) == \
        "Fixed in 2.3.1"
    assert fresh(Ticket, ticket.id).status == Status.OPEN  # the last task finished
    page = html(client.get(f"/console/tasks/{task.id}"))
    assert "Task status changed" in page and "Fixed in 2.3.1" in page


def test_a_status_the_task_cannot_reach_is_refused(client, console_login, agent, ticket, rnd,
                                                   engineer):
    task = open_task(agent, ticket, rnd)
    services.update_task(agent, task, {"status": TaskStatus.CANCELLED})
    sign_in(client, console_login, engineer)
    response = post(client, f"/console/tasks/{task.id}/status", {"status": "blocked"})
    assert response.status_code == 400
    assert "Choose a status from the list." in html(response)
    assert fresh(Task, task.id).status == TaskStatus.CANCELLED


def test_reassign_within_the_department_and_change_the_due_time(client, console_login, agent,
                                                                ticket, rnd, engineer, tester):
    task = open_task(agent, ticket, rnd)
    sign_in(client, console_login, engineer)
    assert post(client, f"/console/tasks/{task.id}/assign",
                {"assignee_id": str(engineer.id)}).status_code == 303
    assert fresh(Task, task.id).assignee_id == engineer.id
    response = post(client, f"/console/tasks/{task.id}/assign",
                    {"assignee_id": str(tester.id)})  # not a member of R&D
    assert response.status_code == 400
    assert "Choose a member of the department" in html(response)
    assert fresh(Task, task.id).assignee_id == engineer.id

    # The time is read in the user's zone (Asia/Shanghai: UTC+8).
    engineer.timezone = "Asia/Shanghai"
    db.session.commit()
    year = utcnow().year + 1
    assert post(client, f"/console/tasks/{task.id}/due",
                {"due_at": f"{year}-01-02T09:30"}).status_code == 303
    assert fresh(Task, task.id).due_at == datetime(year, 1, 2, 1, 30, tzinfo=UTC)
    response = post(client, f"/console/tasks/{task.id}/due", {"due_at": "2001-01-01T09:00"})
    assert response.status_code == 400 and "must be in the future" in html(response)
    response = post(client, f"/console/tasks/{task.id}/due", {"due_at": "next week"})
    assert response.status_code == 400
    assert fresh(Task, task.id).due_at == datetime(year, 1, 2, 1, 30, tzinfo=UTC)


def test_published_note_becomes_a_public_message(client, console_login, agent, ticket, rnd,
                                                 engineer):
    task = open_task(agent, ticket, rnd)
    before = count(Message, Message.ticket_id == ticket.id, Message.visibility == Visibility.PUBLIC)
    sign_in(client, console_login, engineer)
    response = post(client, f"/console/tasks/{task.id}/notes",
                    {"body": "We found the cause; a fix ships Friday.",
                     "publish_to_customer": "y",
                     "attachments": (io.BytesIO(b"report"), "report.txt")},
                    content_type="multipart/form-data")
    assert response.status_code == 303
    note = db.session.scalar(select(TaskNote).where(TaskNote.task_id == task.id))
    assert note.published and note.message_id is not None
    message = db.session.get(Message, note.message_id)
    assert message.visibility == Visibility.PUBLIC
    assert message.body == "We found the cause; a fix ships Friday."
    assert count(Message, Message.ticket_id == ticket.id,
                 Message.visibility == Visibility.PUBLIC) == before + 1
    page = html(client.get(f"/console/tasks/{task.id}"))
    assert "Published to the customer" in page and "report.txt" in page


def test_an_unpublished_note_stays_internal(client, console_login, agent, ticket, rnd,
                                            engineer):
    task = open_task(agent, ticket, rnd)
    before = count(Message)
    sign_in(client, console_login, engineer)
    assert post(client, f"/console/tasks/{task.id}/notes",
                {"body": "Internal only"}).status_code == 303
    note = db.session.scalar(select(TaskNote).where(TaskNote.task_id == task.id))
    assert not note.published and note.message_id is None and count(Message) == before
    response = post(client, f"/console/tasks/{task.id}/notes", {"body": "   "})
    assert response.status_code == 400 and "Write the note first." in html(response)
    assert count(TaskNote) == 1


@pytest.mark.parametrize("action, data", [
    ("status", {"status": "in_progress"}),
    ("notes", {"body": "A note"}),
    ("assign", {"assignee_id": ""}),
])
def test_a_post_without_the_csrf_token_is_refused(client, console_login, agent, ticket, rnd,
                                                  engineer, action, data):
    task = open_task(agent, ticket, rnd, assignee_id=engineer.id)
    sign_in(client, console_login, engineer)
    response = client.post(f"/console/tasks/{task.id}/{action}", data=data)
    assert response.status_code == 400
    task = fresh(Task, task.id)
    assert task.status == TaskStatus.OPEN and task.assignee_id == engineer.id
    assert count(TaskNote) == 0


def test_another_departments_member_gets_404(client, console_login, agent, ticket, rnd,
                                             tester):
    task = open_task(agent, ticket, rnd)
    sign_in(client, console_login, tester)
    assert client.get(f"/console/tasks/{task.id}").status_code == 404
    assert post(client, f"/console/tasks/{task.id}/status",
                {"status": "done"}).status_code == 404
    assert client.get("/console/tasks/99999").status_code == 404
    assert fresh(Task, task.id).status == TaskStatus.OPEN


def test_who_may_see_but_not_work_gets_no_forms_and_403(client, console_login, agent, ticket,
                                                        rnd, make_user, support_team):
    task = open_task(agent, ticket, rnd)
    colleague = make_user("agent", team=support_team)  # sees the ticket, not its owner
    sign_in(client, console_login, colleague)
    response = client.get(f"/console/tasks/{task.id}")
    assert response.status_code == 200
    page = html(response)
    assert "Find the root cause" in page and f"/console/tasks/{task.id}/status" not in page
    assert "may work this task" in page
    response = post(client, f"/console/tasks/{task.id}/status", {"status": "done"})
    assert response.status_code == 403
    response = post(client, f"/console/tasks/{task.id}/notes", {"body": "Sneaky"})
    assert response.status_code == 403
    assert fresh(Task, task.id).status == TaskStatus.OPEN and count(TaskNote) == 0


# ---- the ticket page ----

def test_ticket_page_shows_the_panels_and_the_task_sentences(client, console_login, agent,
                                                             ticket, rnd, engineer):
    task = open_task(agent, ticket, rnd, title="Check <script>the</script> firmware")
    services.update_task(engineer, task, {"status": TaskStatus.IN_PROGRESS,
                                          "assignee_id": engineer.id})
    sign_in(client, console_login, agent)
    page = html(client.get(f"/console/tickets/{ticket.id}"))
    assert 'id="tasks"' in page and 'id="time-used"' in page
    assert "Check &lt;script&gt;the&lt;/script&gt; firmware" in page
    assert "<script>the</script>" not in page
    link = f'<a href="/console/tasks/{task.id}">Check &lt;script&gt;the&lt;/script&gt; firmware</a>'
    assert f"Alice Agent opened the task {link} for R&amp;D" in page
    assert f"moved the task {link} from Open to In progress." in page
    assert f"gave the task {link} to Eddie Engineer (before: nobody)." in page
    assert "Support" in page and "<meter" in page
    assert f'action="/console/tickets/{ticket.id}/tasks"' in page  # the New task form


def test_ticket_page_tells_due_changes_notes_and_overdue_tasks(client, console_login, agent,
                                                               ticket, rnd, engineer):
    from tickets import timeline

    task = open_task(agent, ticket, rnd, title="Check the firmware")
    year = utcnow().year + 1
    services.update_task(engineer, task, {"due_at": datetime(year, 3, 1, 2, tzinfo=UTC)})
    services.add_note(engineer, task, "Internal progress")
    timeline.record(ticket.id, "task_overdue", task_id=task.id, title=task.title,
                    department_id=rnd.id, due_at=task.due_at.isoformat())
    db.session.commit()
    sign_in(client, console_login, agent)
    page = html(client.get(f"/console/tickets/{ticket.id}"))
    link = f'<a href="/console/tasks/{task.id}">Check the firmware</a>'
    # Times in the reader's zone (the service's, Asia/Shanghai: UTC+8).
    assert f"Eddie Engineer moved the due time of the task {link} from " in page
    assert f"to {year}-03-01 10:00 (Asia/Shanghai)." in page
    assert f"Eddie Engineer added a progress note to the task {link}." in page
    assert f"The task {link} for R&amp;D is overdue (due {year}-03-01 10:00" in page


def test_ticket_page_warns_when_the_customer_is_due_an_update(client, console_login, agent,
                                                              make_ticket, rnd):
    ticket = make_ticket(subject="Urgent outage", priority=Priority.URGENT)
    policy = db.session.get(SlaPolicy, ticket.sla_policy_id)
    assert policy.customer_update_minutes
    sign_in(client, console_login, agent)
    open_task(agent, ticket, rnd)
    assert "is due an update" not in html(client.get(f"/console/tickets/{ticket.id}"))
    policy.customer_update_minutes = 1
    db.session.execute(Task.__table__.update().values(
        created_at=utcnow() - timedelta(hours=1)))
    db.session.execute(Message.__table__.update().values(
        created_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    page = html(client.get(f"/console/tickets/{ticket.id}"))
    assert "The customer is due an update since" in page


def test_new_task_from_the_ticket_page(client, console_login, agent, ticket, rnd, engineer):
    sign_in(client, console_login, agent)
    response = post(client, f"/console/tickets/{ticket.id}/tasks", {
        "title": "Check the firmware", "description": "Version 2.3", "department_id": str(rnd.id),
        "assignee_id": str(engineer.id), "due_at": "", "expected_outcome": "Root cause"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/console/tickets/{ticket.id}#tasks")
    task = db.session.scalar(select(Task).where(Task.ticket_id == ticket.id))
    assert (task.title, task.department_id, task.assignee_id, task.expected_outcome) == (
        "Check the firmware", rnd.id, engineer.id, "Root cause")
    assert task.due_at > utcnow()  # the department's turnaround
    assert fresh(Ticket, ticket.id).status == Status.PENDING_INTERNAL


@pytest.mark.parametrize("data, message", [
    ({"title": ""}, "Give the task a title."),
    ({"department_id": "99999"}, "Choose a department from the list."),
    ({"department_id": "R&D"}, "Choose a department from the list."),
    ({"due_at": "2001-01-01T10:00"}, "The due time must be in the future."),
    ({"assignee_id": "99999"}, "Choose a member of the department, or nobody."),
])
def test_bad_new_task_input_is_shown_again_and_nothing_written(client, console_login, agent,
                                                               ticket, rnd, data, message):
    sign_in(client, console_login, agent)
    form = {"title": "Check", "description": "", "department_id": str(rnd.id),
            "assignee_id": "", "due_at": "", "expected_outcome": ""}
    response = post(client, f"/console/tickets/{ticket.id}/tasks", {**form, **data})
    assert response.status_code == 400
    page = html(response)
    assert message in page
    assert "Printer on fire" in page  # the ticket page, its New task form open again
    assert '<details class="new-task" open>' in page
    assert count(Task) == 0
    assert fresh(Ticket, ticket.id).status != Status.PENDING_INTERNAL


def test_the_assignee_must_belong_to_the_department(client, console_login, agent, ticket, rnd,
                                                    tester):
    sign_in(client, console_login, agent)
    response = post(client, f"/console/tickets/{ticket.id}/tasks", {
        "title": "Check", "department_id": str(rnd.id), "assignee_id": str(tester.id)})
    assert response.status_code == 400
    assert "No active member of this department" in html(response)
    assert count(Task) == 0


def test_new_task_without_csrf_or_permission_is_refused(client, console_login, agent, ticket,
                                                        rnd, engineer):
    sign_in(client, console_login, agent)
    response = client.post(f"/console/tickets/{ticket.id}/tasks",
                           data={"title": "Check", "department_id": str(rnd.id)})
    assert response.status_code == 400
    sign_in(client, console_login, engineer)  # departments work tasks; they do not open them
    assert post(client, f"/console/tickets/{ticket.id}/tasks",
                {"title": "Check", "department_id": str(rnd.id)}).status_code == 403
    assert count(Task) == 0


def test_no_new_task_form_on_a_resolved_ticket(client, console_login, agent, ticket, rnd):
    ticket.status = Status.RESOLVED
    db.session.commit()
    sign_in(client, console_login, agent)
    page = html(client.get(f"/console/tickets/{ticket.id}"))
    assert 'id="tasks"' in page and f"/console/tickets/{ticket.id}/tasks" not in page
    response = post(client, f"/console/tickets/{ticket.id}/tasks",
                    {"title": "Check", "department_id": str(rnd.id)})
    assert response.status_code == 409
    assert "its tasks can no longer change" in html(response)
    assert count(Task) == 0


# ---- Chinese ----

def test_pages_render_in_chinese(client, console_login, agent, ticket, rnd, engineer):
    task = open_task(agent, ticket, rnd)
    services.add_note(engineer, task, "进展顺利")
    sign_in(client, console_login, agent)
    for url in ("/console/tasks?department=all", f"/console/tasks/{task.id}",
                f"/console/tickets/{ticket.id}"):
        response = client.get(url + ("&" if "?" in url else "?") + "lang=zh_CN")
        assert response.status_code == 200, url
        page = html(response)
        assert 'lang="zh-CN"' in page
        assert "研发部" in page  # the department's Chinese name
    assert "进展顺利" in html(client.get(f"/console/tasks/{task.id}"))


# ---- the team form ----

@pytest.fixture
def admin_client(client, console_login, make_user):
    return sign_in(client, console_login, make_user("admin"))


def test_team_form_saves_the_task_turnaround_and_calendar(admin_client, rnd):
    calendar = BusinessCalendar(name="R&D hours", timezone="Europe/Berlin",
                                weekly_hours={"0": [["09:00", "17:00"]]})
    db.session.add(calendar)
    db.session.commit()
    page = html(admin_client.get(f"/console/admin/teams/{rnd.id}/edit"))
    assert "Task turnaround (business hours)" in page and "R&amp;D hours" in page
    response = post(admin_client, f"/console/admin/teams/{rnd.id}/edit", {
        "name": "R&D", "name_zh": "研发部", "lead": str(rnd.lead_id),
        "task_turnaround_hours": "1.5", "calendar": str(calendar.id)})
    assert response.status_code == 303
    team = fresh(Team, rnd.id)
    assert (team.task_target_minutes, team.calendar_id) == (90, calendar.id)
    page = html(admin_client.get(f"/console/admin/teams/{rnd.id}/edit"))
    assert 'value="1.5"' in page

    response = post(admin_client, f"/console/admin/teams/{rnd.id}/edit", {
        "name": "R&D", "lead": str(rnd.lead_id), "task_turnaround_hours": "-3",
        "calendar": "99999"})
    assert response.status_code == 400
    assert "Between 0.25 and 2000 hours." in html(response)
    team = fresh(Team, rnd.id)
    assert (team.task_target_minutes, team.calendar_id) == (90, calendar.id)

    assert post(admin_client, f"/console/admin/teams/{rnd.id}/edit", {
        "name": "R&D", "lead": str(rnd.lead_id), "task_turnaround_hours": "",
        "calendar": ""}).status_code == 303
    team = fresh(Team, rnd.id)
    assert (team.task_target_minutes, team.calendar_id) == (None, None)


# ---- PostgreSQL: the row locks and queries as production runs them ----

def test_task_pages_on_postgresql(pg_app, console_login, agent, make_ticket, rnd, engineer):
    ticket = make_ticket(subject="Printer on fire")
    client = sign_in(pg_app.test_client(), console_login, agent)
    response = post(client, f"/console/tickets/{ticket.id}/tasks", {
        "title": "Check the firmware", "department_id": str(rnd.id),
        "assignee_id": str(engineer.id)})
    assert response.status_code == 303
    task = db.session.scalar(select(Task).where(Task.ticket_id == ticket.id))
    bad = post(client, f"/console/tickets/{ticket.id}/tasks",
               {"title": "", "department_id": str(rnd.id)})
    assert bad.status_code == 400 and count(Task) == 1

    sign_in(client, console_login, engineer)
    assert "Check the firmware" in html(client.get("/console/tasks"))
    assert post(client, f"/console/tasks/{task.id}/status",
                {"status": "in_progress", "note": "On it"}).status_code == 303
    assert post(client, f"/console/tasks/{task.id}/notes",
                {"body": "Fix ships Friday", "publish_to_customer": "y"}).status_code == 303
    assert fresh(Task, task.id).status == TaskStatus.IN_PROGRESS
    assert count(TaskNote, TaskNote.published.is_(True)) == 1
    page = html(client.get(f"/console/tickets/{ticket.id}"))
    assert "added a progress note to the task" in page and "published it" in page


@pytest.mark.parametrize("app_config", [{"ATTACHMENT_MAX_BYTES": 1024}])
def test_note_files_too_large_together_get_a_clean_413(client, console_login, agent, ticket,
                                                      rnd, engineer, app_config):
    task = open_task(agent, ticket, rnd)
    sign_in(client, console_login, engineer)
    response = post_spooled(client, f"/console/tasks/{task.id}/notes", {
        "csrf_token": client.csrf_token, "body": "Logs",
        "attachments": [(io.BytesIO(b"x" * (600 * 1024)), "huge.log")]})
    assert response.status_code == 413
    assert "too large together" in html(response)
    assert count(TaskNote) == 0 and count(Attachment) == 0
