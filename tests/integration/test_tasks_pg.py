"""Tasks on PostgreSQL: concurrent overdue sweeps share the work; the last two tasks
finishing at once still hand the ticket back."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from service.db_types import utcnow
from service.extensions import db
from tickets.models import Status, Ticket, TicketEvent
from tickets.tasks import services
from tickets.tasks.models import Task

pytestmark = pytest.mark.integration


@pytest.fixture
def setup(pg_app, make_user, make_team, support_team, make_ticket):
    agent = make_user("agent", team=support_team)
    rnd = make_team("R&D")
    qa = make_team("QA")
    ticket = make_ticket()
    assert ticket.assignee_id == agent.id
    return agent, rnd, qa, ticket, make_user("department", team=rnd), \
        make_user("department", team=qa)


def test_two_concurrent_sweeps_escalate_every_task_once(pg_app, setup):
    agent, rnd, _, ticket, _, _ = setup
    task = services.create_task(agent, ticket, title="Template", description="",
                                department_id=rnd.id, due_at=utcnow() + timedelta(hours=1))
    total = 400
    columns = ", ".join(f'"{column.name}"' for column in Task.__table__.columns
                        if column.name != "id")
    db.session.execute(text(f"INSERT INTO tasks ({columns}) SELECT {columns} FROM tasks "
                            "CROSS JOIN generate_series(1, :copies) WHERE id = :id"),
                       {"copies": total - 1, "id": task.id})
    db.session.commit()
    later = utcnow() + timedelta(hours=2)
    start = threading.Barrier(2)

    def run_sweep(_: int) -> int:
        with pg_app.app_context():  # its own session and connection
            start.wait(timeout=10)
            return services.sweep_overdue_tasks(now=later, batch_size=50)

    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = list(pool.map(run_sweep, range(2)))

    assert sum(counts) == total  # nobody escalated a task twice, none was missed
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Task)
                             .where(Task.escalated_at.is_(None))) == 0
    assert db.session.scalar(select(func.count()).select_from(TicketEvent)
                             .where(TicketEvent.kind == "task_overdue")) == total
    assert services.sweep_overdue_tasks(now=later) == 0


def test_the_last_two_tasks_finishing_at_once_reopen_the_ticket(pg_app, setup):
    agent, rnd, qa, ticket, developer, tester = setup
    first = services.create_task(agent, ticket, title="Fix", description="", department_id=rnd.id)
    second = services.create_task(agent, ticket, title="Verify", description="",
                                  department_id=qa.id)
    assert ticket.status == Status.PENDING_INTERNAL
    start = threading.Barrier(2)

    def finish(pair) -> None:
        user_id, task_id = pair
        with pg_app.app_context():
            from service.auth.models import User

            user = db.session.get(User, user_id)
            start.wait(timeout=10)
            task = services.get_task(user, task_id, for_update=True)
            services.update_task(user, task, {"status": "done"})

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(finish, [(developer.id, first.id), (tester.id, second.id)]))

    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).status == Status.OPEN
