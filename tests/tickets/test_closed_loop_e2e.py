"""The issue's "done when", end to end through the published API paths and the customer's
own pages: intake → task to R&D → progress update to the customer → verified resolution →
the customer confirms from the mail link → closed, every step on the timeline with its
evidence; and the same ticket rejected reopens with its SLA clock running again."""
from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
import time_machine
from sqlalchemy import select

from service.db_types import utcnow
from service.extensions import db
from service.notify.models import OutboundMail
from tickets.models import Ticket

UA = "Mozilla/5.0 (Loopdesk e2e) Firefox/140.0"


class _Forms(HTMLParser):
    """The forms of a page: action → {field: value} (hidden and preset fields)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._current: dict[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self._current = {}
            self.forms.append((attributes.get("action") or "", self._current))
        elif self._current is not None and tag in ("input", "button") and attributes.get("name"):
            kind = attributes.get("type", "text")
            if kind not in ("checkbox", "radio", "submit") or "checked" in attributes:
                self._current.setdefault(attributes["name"], attributes.get("value") or "")
        elif self._current is not None and tag == "textarea" and attributes.get("name"):
            self._current.setdefault(attributes["name"], "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def _post_form(client, page_url: str, fill: dict[str, str] | None = None):
    """Load a page, submit its (only POST) form the way a browser would, return the answer."""
    page = client.get(page_url, headers={"User-Agent": UA})
    assert page.status_code == 200, page.data[:500]
    parser = _Forms()
    parser.feed(page.get_data(as_text=True))
    forms = [(action, fields) for action, fields in parser.forms if "csrf_token" in fields]
    assert forms, "the page has no form to confirm with"
    action, fields = forms[-1]
    data = {**fields, **(fill or {})}
    return client.post(action or page_url, data=data, headers={"User-Agent": UA},
                       environ_base={"REMOTE_ADDR": "203.0.113.7"})


def _links(mail: OutboundMail) -> list[str]:
    return re.findall(r"https?://[^\s\"'<>]+/portal/confirm/[^\s\"'<>]+", mail.body_text)


@pytest.fixture
def people(make_user, make_team, support_team):
    lead = make_user("lead", team=support_team)
    support_team.lead_id = lead.id
    agent = make_user("agent", team=support_team)
    rnd_lead = make_user("department")
    rnd = make_team("R&D", lead=rnd_lead)
    engineer = make_user("department", team=rnd)
    db.session.commit()
    return {"lead": lead, "agent": agent, "rnd": rnd, "engineer": engineer}


def _open_ticket(client, auth, people, ticket_body) -> dict:
    body = ticket_body(subject="Sync fails after upgrade", priority="urgent")
    created = client.post("/api/v1/tickets", json=body, headers=auth(people["agent"]))
    assert created.status_code == 201, created.json
    ticket = created.json
    patch = client.patch(f"/api/v1/tickets/{ticket['id']}",
                         json={"assignee": people["agent"].id},
                         headers=auth(people["lead"]))
    assert patch.status_code == 200, patch.json
    reply = client.post(f"/api/v1/tickets/{ticket['id']}/messages",
                        json={"body": "We are on it.", "visibility": "public"},
                        headers=auth(people["agent"]))
    assert reply.status_code == 201
    return ticket


def _task_to_rnd_and_back(client, auth, people, ticket_id: int) -> None:
    task = client.post(f"/api/v1/tickets/{ticket_id}/tasks",
                       json={"title": "Find why sync fails", "department_id": people["rnd"].id,
                             "expected_outcome": "Root cause and a patched build"},
                       headers=auth(people["agent"]))
    assert task.status_code == 201, task.json
    assert client.get(f"/api/v1/tickets/{ticket_id}",
                      headers=auth(people["agent"])).json["status"] == "pending_internal"
    engineer = auth(people["engineer"])
    listed = client.get(f"/api/v1/tasks?department={people['rnd'].id}&status=open",
                        headers=engineer)
    assert [item["id"] for item in listed.json["items"]] == [task.json["id"]]
    note = client.post(f"/api/v1/tasks/{task.json['id']}/notes",
                       json={"body": "Found it: a race in the sync job. Patch in testing.",
                             "publish_to_customer": True}, headers=engineer)
    assert note.status_code == 201, note.json
    done = client.patch(f"/api/v1/tasks/{task.json['id']}",
                        json={"status": "done", "outcome": "Patched in 4.2.1"}, headers=engineer)
    assert done.status_code == 200, done.json
    assert client.get(f"/api/v1/tickets/{ticket_id}",
                      headers=auth(people["agent"])).json["status"] == "open"


def _resolve(client, auth, people, ticket_id: int) -> dict:
    resolved = client.post(f"/api/v1/tickets/{ticket_id}/resolution", json={
        "summary": "Upgraded the sync service to 4.2.1.",
        "root_cause": "A race between two sync jobs on the same folder.",
        "verification": {"method": "reproduced and retested",
                         "result": "100 sync runs without a failure",
                         "evidence_note": "Test log attached to the task."}},
        headers=auth(people["agent"]))
    assert resolved.status_code == 201, resolved.json
    return resolved.json


def _confirmation_mail(customer_email: str) -> OutboundMail:
    mails = db.session.scalars(select(OutboundMail).where(
        OutboundMail.to_address == customer_email).order_by(OutboundMail.id)).all()
    with_links = [mail for mail in mails if _links(mail)]
    assert with_links, [mail.subject for mail in mails]
    return with_links[-1]


def test_intake_task_update_resolution_and_confirmation_close_the_loop(
        client, auth, people, ticket_body):
    ticket = _open_ticket(client, auth, people, ticket_body)
    customer_email = ticket["customer"]["email"]
    _task_to_rnd_and_back(client, auth, people, ticket["id"])

    # The R&D note reached the customer as an update, by mail, without an agent retyping it.
    messages = client.get(f"/api/v1/tickets/{ticket['id']}/messages",
                          headers=auth(people["agent"])).json["items"]
    assert any("race in the sync job" in m["body"] and m["visibility"] == "public"
               for m in messages)
    assert any("race in the sync job" in mail.body_text for mail in db.session.scalars(
        select(OutboundMail).where(OutboundMail.to_address == customer_email)))

    _resolve(client, auth, people, ticket["id"])
    after = client.get(f"/api/v1/tickets/{ticket['id']}", headers=auth(people["agent"])).json
    assert after["status"] == "resolved" and after["sla"]["resolved_at"] is not None

    fixed_link = next(link for link in _links(_confirmation_mail(customer_email))
                      if "confirm" in link)
    path = fixed_link.split("support.test", 1)[-1]
    # A mail scanner following the link records nothing.
    assert client.get(path).status_code == 200
    assert client.get(f"/api/v1/tickets/{ticket['id']}",
                      headers=auth(people["agent"])).json["status"] == "resolved"
    answered = _post_form(client, path)
    assert answered.status_code in (200, 303), answered.data[:500]

    closed = client.get(f"/api/v1/tickets/{ticket['id']}", headers=auth(people["agent"])).json
    assert (closed["status"], closed["closed_reason"]) == ("closed", "confirmed")

    kinds = [event["kind"] for event in client.get(
        f"/api/v1/tickets/{ticket['id']}/events?limit=200",
        headers=auth(people["agent"])).json["items"]]
    for kind in ("task_opened", "task_note_added", "task_status_changed", "resolved",
                 "confirmation_requested", "customer_confirmed"):
        assert kind in kinds, (kind, kinds)

    export = client.get(f"/api/v1/tickets/{ticket['id']}/export", headers=auth(people["agent"]))
    assert export.status_code == 200
    text = export.get_data(as_text=True)
    assert "203.0.113.7" in text and "Loopdesk e2e" in text and "email_link" in text


def test_a_rejected_fix_reopens_the_ticket_with_its_sla_running_again(
        client, auth, people, ticket_body):
    ticket = _open_ticket(client, auth, people, ticket_body)
    _task_to_rnd_and_back(client, auth, people, ticket["id"])
    _resolve(client, auth, people, ticket["id"])
    before = db.session.get(Ticket, ticket["id"])
    due_before = before.resolution_due_at

    links = _links(_confirmation_mail(ticket["customer"]["email"]))
    still_broken = next(link for link in links if "confirm" in link and link != links[0]) \
        if len(links) > 1 else links[0]
    path = still_broken.split("support.test", 1)[-1]
    with time_machine.travel(utcnow() + timedelta(hours=2), tick=False):
        answered = _post_form(client, path, {"comment": "Still failing on the Mac client.",
                                             "outcome": "rejected"})
    assert answered.status_code in (200, 303), answered.data[:500]

    reopened = client.get(f"/api/v1/tickets/{ticket['id']}", headers=auth(people["agent"])).json
    assert reopened["status"] == "reopened" and reopened["reopen_count"] == 1
    assert reopened["sla"]["resolved_at"] is None
    db.session.expire_all()
    ticket_row = db.session.get(Ticket, ticket["id"])
    # The two hours the customer had it count as the customer's time: the due time moved.
    assert ticket_row.resolution_due_at > due_before
    kinds = [event["kind"] for event in client.get(
        f"/api/v1/tickets/{ticket['id']}/events?limit=200",
        headers=auth(people["agent"])).json["items"]]
    assert "customer_rejected" in kinds
