"""Embedded mode (SQLite in WAL) under parallel requests: no "database is locked"."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from service.extensions import db
from tickets.models import Ticket


def test_parallel_intake_and_reads_on_sqlite(app, auth, make_user, support_team, ticket_body):
    for _ in range(3):
        make_user("agent", team=support_team, max_open_tickets=100)
    headers = auth(make_user("lead"))
    bodies = [ticket_body() for _ in range(60)]

    def create(body):
        with app.test_client() as client:
            return client.post("/api/v1/tickets", json=body, headers=headers).status_code

    def read(_):
        with app.test_client() as client:
            return client.get("/api/v1/tickets?limit=20", headers=headers).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        created = list(pool.map(create, bodies))
        reads = list(pool.map(read, range(30)))
    assert created == [201] * 60
    assert reads == [200] * 30
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 60
    loads = db.session.execute(select(Ticket.assignee_id, func.count())
                               .group_by(Ticket.assignee_id)).all()
    counts = sorted(count for _, count in loads)
    assert counts == [20, 20, 20]
