"""Parallel intakes on PostgreSQL: one ticket per key, one assignment each, fair loads."""
from __future__ import annotations

import random
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from service.directory.models import Contact
from service.extensions import db
from service.jobs import JobOutbox
from service.notify.models import OutboundMail
from tickets.models import OPEN_STATUSES, IdempotencyKey, Status, Ticket, TicketEvent

pytestmark = pytest.mark.integration

AGENTS = 5
THREADS = 16
DISTINCT = 200
RETRIES = 40  # requests repeating an earlier key with the same body
SHARED = ("shared.customer@example.com", "Shared.Customer@Example.COM")


def _requests() -> list[tuple[str, dict]]:
    requests = []
    for number in range(DISTINCT):
        if number % 5 == 0:  # one customer in 40 tickets, writing in from many threads
            email = SHARED[number % 2]
        else:
            email = f"parallel{number}@example.com"
        requests.append((f"intake-{number}", {
            "subject": f"Parallel request {number}", "description": "Sent under load.",
            "customer": {"email": email, "name": "Pat Parallel"}}))
    requests += [requests[number] for number in range(0, DISTINCT, DISTINCT // RETRIES)]
    random.Random(20260101).shuffle(requests)
    return requests


@pytest.mark.parametrize("capacity", [50, 30], ids=["capacity-250", "capacity-150"])
def test_parallel_intakes_assign_each_ticket_once_within_capacity(pg_app, make_user,
                                                                  support_team, auth,
                                                                  capacity):
    agents = [make_user("agent", team=support_team, max_open_tickets=capacity)
              for _ in range(AGENTS)]
    agent_ids = sorted(agent.id for agent in agents)
    headers = auth(make_user("admin"))  # admins create tickets but are never assigned
    requests = _requests()

    def post(item: tuple[str, dict]) -> tuple[str, int, dict | None]:
        key, body = item
        response = pg_app.test_client().post(
            "/api/v1/tickets", json=body, headers={**headers, "Idempotency-Key": key})
        return key, response.status_code, response.get_json(silent=True)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(post, requests))

    failures = [result for result in results if result[1] not in (200, 201)]
    assert failures == [], failures[:3]
    ids_by_key: dict[str, set[int]] = defaultdict(set)
    created = Counter()
    for key, status, body in results:
        ids_by_key[key].add(body["id"])
        created[key] += status == 201
    assert len(ids_by_key) == DISTINCT
    assert {key: len(ids) for key, ids in ids_by_key.items() if len(ids) != 1} == {}
    assert set(created.values()) == {1}  # exactly one 201 per key; retries got 200

    db.session.expire_all()
    ticket_ids = {ids.pop() for ids in ids_by_key.values()}
    assert set(db.session.scalars(select(Ticket.id))) == ticket_ids
    assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == DISTINCT

    # Each ticket assigned at most once, and to the assignee its event names.
    assignments = db.session.execute(
        select(TicketEvent.ticket_id, func.count()).where(TicketEvent.kind == "assigned")
        .group_by(TicketEvent.ticket_id)).all()
    assert [row for row in assignments if row[1] != 1] == []
    expected_assigned = min(DISTINCT, AGENTS * capacity)
    assert len(assignments) == expected_assigned
    for event in db.session.scalars(select(TicketEvent).where(TicketEvent.kind == "assigned")):
        assert event.data["assignee_id"] == db.session.get(Ticket, event.ticket_id).assignee_id

    # Nobody over capacity; open loads within one of each other; the rest queued.
    loads = dict(db.session.execute(
        select(Ticket.assignee_id, func.count()).where(Ticket.assignee_id.is_not(None),
                                                       Ticket.status.in_(OPEN_STATUSES))
        .group_by(Ticket.assignee_id)).all())
    assert sorted(loads) == agent_ids
    assert max(loads.values()) <= capacity
    assert max(loads.values()) - min(loads.values()) <= 1
    assert sum(loads.values()) == expected_assigned
    queued = db.session.scalars(select(Ticket.status).where(Ticket.assignee_id.is_(None))).all()
    assert len(queued) == DISTINCT - expected_assigned
    assert set(queued) <= {Status.NEW}

    # One contact for the customer who wrote from many threads at once.
    assert db.session.scalar(select(func.count()).select_from(Contact)
                             .where(Contact.email == SHARED[0])) == 1
    emails = {body["customer"]["email"].lower() for _, body in requests}
    assert db.session.scalar(select(func.count()).select_from(Contact)) == len(emails)

    # Every acknowledgement ran once, after its commit (inline here), and none failed.
    assert db.session.scalar(select(func.count()).select_from(JobOutbox)) == 0
    acknowledged = db.session.scalars(select(OutboundMail.dedupe_key)
                                      .where(OutboundMail.dedupe_key.like("ack:ticket:%")))
    shared_contact = select(Contact.id).where(Contact.email == SHARED[0]).scalar_subquery()
    own = db.session.scalars(select(Ticket.id).where(Ticket.contact_id != shared_contact))
    assert {f"ack:ticket:{ticket_id}" for ticket_id in own} <= set(acknowledged)
