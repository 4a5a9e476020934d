"""The ticket page's resolution panel: resolve with evidence, phone answers, history, export."""
from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from service.extensions import db
from tickets import attachments
from tickets.models import Attachment, ClosedReason, Status, Ticket, Visibility
from tickets.resolution.models import Confirmation, Resolution


@pytest.fixture
def agent(make_user, support_team):
    return make_user("agent", team=support_team, name="Alice Agent")


@pytest.fixture
def lead(make_user, support_team):
    return make_user("lead", team=support_team, name="Lee Lead")


@pytest.fixture
def ticket(agent, make_ticket):
    made = make_ticket(subject="Export times out", customer_name="Casey Customer")
    assert made.assignee_id == agent.id
    return made


@pytest.fixture
def rnd(make_team):
    return make_team("R&D")


def url(ticket_id: int, action: str = "") -> str:
    return f"/console/tickets/{ticket_id}" + (f"/{action}" if action else "")


def html(response) -> str:
    return response.get_data(as_text=True)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def fresh(ticket_id: int) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


def sign_in(client, console_login, user):
    from flask import g

    g.pop("_login_user", None)
    return console_login(client, user)


def post(client, path: str, data: dict | None = None, **kwargs):
    return client.post(path, data={"csrf_token": client.csrf_token, **(data or {})}, **kwargs)


RESOLVE = {"summary": "Raised the export timeout", "root_cause": "Whole file built in memory",
           "method": "reproduced_and_retested", "result": "50,000 rows in 40 s",
           "evidence_note": "Ran it twice"}


def open_task(user, ticket, department, title="Find the leak"):
    from tickets.tasks.services import create_task

    return create_task(user, ticket, title=title, description="", department_id=department.id)


def resolve(user, ticket):
    from tickets.resolution.services import resolve as resolve_ticket

    return resolve_ticket(user, ticket, summary="Patched", root_cause="A race",
                          method="automated_test", result="Green")


# ---- the panel ----

def test_the_agent_sees_the_resolve_form_without_the_override(client, console_login, agent,
                                                              ticket):
    console_login(client, agent)
    page = html(client.get(url(ticket.id)))

    assert 'id="resolution"' in page and 'id="resolve-form"' in page
    assert 'name="override_reason"' not in page
    assert "Tested in the customer's environment" in page  # a verification method
    assert "The ticket has not been resolved yet." in page
    assert f'href="/console/tickets/{ticket.id}/export.json"' in page


def test_open_tasks_block_the_agent_and_the_lead_may_override(client, console_login, agent,
                                                              lead, ticket, rnd):
    open_task(agent, ticket, rnd, title="Check the <b>index</b>")
    console_login(client, agent)
    page = html(client.get(url(ticket.id)))
    assert 'id="resolve-form"' not in page
    assert "Check the &lt;b&gt;index&lt;/b&gt;" in page  # listed, escaped
    assert "by a lead who gives a reason" in page

    sign_in(client, console_login, lead)
    page = html(client.get(url(ticket.id)))
    assert 'id="resolve-form"' in page and 'name="override_reason"' in page

    refused = post(client, url(ticket.id, "resolve"), RESOLVE)
    assert refused.status_code == 409
    assert "give the reason for resolving now" in html(refused)
    assert count(Resolution) == 0

    done = post(client, url(ticket.id, "resolve"), {**RESOLVE,
                                                    "override_reason": "Workaround is enough"})
    assert done.status_code == 303
    resolution = db.session.scalar(select(Resolution))
    assert resolution.override_reason == "Workaround is enough"
    assert fresh(ticket.id).status == Status.RESOLVED


def test_department_members_see_the_history_but_cannot_resolve(client, console_login, agent,
                                                               make_user, ticket, rnd):
    engineer = make_user("department", team=rnd)
    open_task(agent, ticket, rnd)
    console_login(client, engineer)
    page = html(client.get(url(ticket.id)))
    assert 'id="resolution"' in page and 'id="resolve-form"' not in page
    assert post(client, url(ticket.id, "resolve"), RESOLVE).status_code == 403


# ---- resolving ----

def test_resolving_with_an_uploaded_and_a_picked_file(client, console_login, agent, ticket):
    old = attachments.store(ticket.id, None, "customer.log", b"customer log")
    db.session.commit()
    console_login(client, agent)

    response = post(client, url(ticket.id, "resolve"), {
        **RESOLVE, "attachment_ids": [str(old.id)],
        "evidence_files": [(io.BytesIO(b"retest passed"), "retest.txt", "text/plain")]},
        content_type="multipart/form-data")

    assert response.status_code == 303, html(response)[:2000]
    resolution = db.session.scalar(select(Resolution))
    assert resolution.verification_method == "reproduced_and_retested"
    assert resolution.evidence_note == "Ran it twice"
    assert resolution.verified_by_id == agent.id
    new = db.session.scalar(select(Attachment).where(Attachment.filename == "retest.txt"))
    assert new.visibility == Visibility.INTERNAL and new.ticket_id == ticket.id
    assert sorted(resolution.evidence_attachment_ids) == sorted([old.id, new.id])
    assert fresh(ticket.id).status == Status.RESOLVED

    page = html(client.get(url(ticket.id)))
    assert "Waiting for the customer" in page and "Raised the export timeout" in page
    assert "retest.txt" in page and "customer.log" in page
    assert 'id="phone-form"' in page and 'id="resolve-form"' not in page
    assert "Alice Agent resolved the ticket." in page  # the timeline tells it


@pytest.mark.parametrize(("change", "message"), [
    ({"summary": ""}, "Say what fixed the problem."),
    ({"root_cause": "  "}, "Say what caused the problem."),
    ({"result": ""}, "Say what the verification showed."),
    ({"method": "guesswork"}, "Not a valid choice"),
    ({"attachment_ids": ["999"]}, "not a valid choice"),
    ({"summary": "x" * 10001}, "At most 10000 characters."),
], ids=["summary", "root-cause", "result", "method", "foreign-file", "long"])
def test_bad_input_shows_the_form_again_and_writes_nothing(client, console_login, agent,
                                                           ticket, change, message):
    console_login(client, agent)
    files_before = count(Attachment)

    response = post(client, url(ticket.id, "resolve"), {
        **RESOLVE, **change,
        "evidence_files": [(io.BytesIO(b"log"), "evidence.txt", "text/plain")]},
        content_type="multipart/form-data")

    assert response.status_code == 400
    page = html(response)
    assert message in page and 'id="resolve-form"' in page
    assert 'class="field-error"' in page
    assert count(Resolution) == 0 and count(Attachment) == files_before
    assert fresh(ticket.id).status == Status.OPEN


def test_an_evidence_file_over_the_limit_writes_nothing(app, client, console_login, agent,
                                                        ticket):
    app.config["ATTACHMENT_MAX_BYTES"] = 10
    console_login(client, agent)

    response = post(client, url(ticket.id, "resolve"), {
        **RESOLVE, "evidence_files": [(io.BytesIO(b"small"), "ok.txt", "text/plain"),
                                      (io.BytesIO(b"x" * 100), "big.log", "text/plain")]},
        content_type="multipart/form-data")

    assert response.status_code == 400
    assert "big.log" in html(response) and "Larger than the 10 B limit" in html(response)
    assert count(Resolution) == 0 and count(Attachment) == 0
    assert fresh(ticket.id).status == Status.OPEN


def test_forms_without_the_csrf_token_are_refused(client, console_login, agent, ticket):
    console_login(client, agent)
    response = client.post(url(ticket.id, "resolve"), data=RESOLVE)
    assert response.status_code == 400 and "The form has expired" in html(response)
    assert count(Resolution) == 0

    resolve(agent, ticket)
    phone = client.post(url(ticket.id, "confirmation"),
                        data={"outcome": "confirmed", "call_reference": "PBX-1",
                              "csrf_token": "forged"})
    assert phone.status_code == 400 and count(Confirmation) == 0


def test_a_ticket_of_another_team_is_404(client, console_login, make_user, make_team, ticket):
    other = make_user("agent", team=make_team("Elsewhere"))
    console_login(client, other)
    assert post(client, url(ticket.id, "resolve"), RESOLVE).status_code == 404
    assert client.get(url(ticket.id, "export.json")).status_code == 404


# ---- the customer's answer by phone ----

def test_the_phone_form_needs_a_call_reference(client, console_login, agent, ticket):
    resolution = resolve(agent, ticket)
    console_login(client, agent)

    missing = post(client, url(ticket.id, "confirmation"),
                   {"outcome": "confirmed", "call_reference": " ",
                    "resolution_id": str(resolution.id)})
    assert missing.status_code == 400
    assert "Give the call's reference" in html(missing)
    assert count(Confirmation) == 0

    done = post(client, url(ticket.id, "confirmation"),
                {"outcome": "confirmed", "call_reference": "PBX-0932",
                 "comment": "Works on every machine", "resolution_id": str(resolution.id)})
    assert done.status_code == 303
    closed = fresh(ticket.id)
    assert (closed.status, closed.closed_reason) == (Status.CLOSED, ClosedReason.CONFIRMED)

    page = html(client.get(url(ticket.id)))
    assert "PBX-0932" in page and "Works on every machine" in page
    assert "Confirmed by the customer" in page and 'id="phone-form"' not in page
    assert "recorded by phone that the customer confirmed the fix" in page

    again = post(client, url(ticket.id, "confirmation"),
                 {"outcome": "rejected", "call_reference": "PBX-0933", "comment": "no",
                  "resolution_id": str(resolution.id)})
    assert again.status_code == 409 and count(Confirmation) == 1


def test_a_rejection_by_phone_reopens_the_ticket(client, console_login, agent, ticket):
    resolution = resolve(agent, ticket)
    console_login(client, agent)
    response = post(client, url(ticket.id, "confirmation"),
                    {"outcome": "rejected", "call_reference": "call 10:02",
                     "comment": "Still slow", "resolution_id": str(resolution.id)})
    assert response.status_code == 303
    assert fresh(ticket.id).status == Status.REOPENED
    page = html(client.get(url(ticket.id)))
    assert 'id="resolve-form"' in page  # it can be resolved again
    assert "Still a problem: reopened" in page


# ---- export and language ----

def test_export_downloads_the_evidence(client, console_login, agent, ticket):
    from tickets.resolution.models import ConfirmationChannel, ConfirmationOutcome
    from tickets.resolution.services import answer

    resolve(agent, ticket)
    answer(fresh(ticket.id), ConfirmationOutcome.CONFIRMED, channel=ConfirmationChannel.PORTAL,
           contact_id=ticket.contact_id, ip="203.0.113.9", user_agent="Firefox/140.0")
    console_login(client, agent)

    response = client.get(url(ticket.id, "export.json"))

    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    assert ticket.number in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    json.loads(text)
    assert "203.0.113.9" in text and "Firefox/140.0" in text and "portal" in text
    page = html(client.get(url(ticket.id)))
    assert "203.0.113.9" in page and "Firefox/140.0" in page  # on the panel too


def test_the_panel_speaks_chinese(client, console_login, make_user, support_team, make_ticket):
    agent = make_user("agent", team=support_team, locale="zh_CN")
    ticket = make_ticket(subject="导出超时")
    resolve(agent, ticket)
    console_login(client, agent)
    response = client.get(url(ticket.id) + "?lang=zh_CN")
    assert response.status_code == 200
    page = html(response)
    assert '<html lang="zh-CN">' in page and 'id="resolution"' in page
    assert 'id="phone-form"' in page


# ---- demo data ----

def test_the_demo_shows_the_closed_loop(runner):
    from service.demo import load_demo
    from tickets.tasks.models import Task, TaskNote, TaskStatus

    load_demo()
    tickets = db.session.scalar(select(func.count()).select_from(Ticket))
    load_demo()
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == tickets

    awaiting = db.session.scalar(select(Ticket).where(
        Ticket.subject == "Sync fails after the 4.2 upgrade"))
    assert awaiting.status == Status.RESOLVED
    task = db.session.scalar(select(Task).where(Task.ticket_id == awaiting.id))
    assert task.status == TaskStatus.DONE and task.department.name_zh == "研发"
    assert count(TaskNote, TaskNote.task_id == task.id, TaskNote.published.is_(True)) == 1
    assert db.session.scalar(select(Resolution.state).where(
        Resolution.ticket_id == awaiting.id)).value == "pending"

    confirmed = db.session.scalar(select(Ticket).where(Ticket.subject == "导出报表时系统崩溃"))
    assert (confirmed.status, confirmed.closed_reason) == (Status.CLOSED,
                                                           ClosedReason.CONFIRMED)
    evidence = db.session.scalar(select(Confirmation).where(
        Confirmation.ticket_id == confirmed.id))
    assert evidence.channel.value == "portal" and evidence.ip_address == "203.0.113.24"
