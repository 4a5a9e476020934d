"""tickets.is_repeat, kept by tickets.repeats on every flush, and migration 0012's backfill
of the same rule, on SQLite and PostgreSQL.

Casey (no account) opens "billing" tickets on days 0, 10 and 45: the second repeats the
first (10 days), the third does not (35 days after the second).
"""
from __future__ import annotations

import importlib.util
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select, text, update

from service.extensions import db
from tickets.models import Ticket


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request):
    return request.getfixturevalue("pg_app" if request.param == "postgresql" else "app")


def _flags(tickets) -> list[bool]:
    return [db.session.scalar(select(Ticket.is_repeat).where(Ticket.id == ticket.id))
            for ticket in tickets]


def _casey(make_ticket, days: list[int], category: str = "billing") -> list[Ticket]:
    made = [make_ticket(customer_email="casey@example.com", category=category)
            for _ in days]
    # Whole seconds: SQLite compares the window's start to the millisecond.
    start = made[0].created_at.replace(microsecond=0)
    for ticket, day in zip(made, days, strict=True):
        ticket.created_at = start + timedelta(days=day)
    db.session.commit()
    return made


def test_a_ticket_in_the_same_category_within_30_days_repeats(database, make_ticket):
    first, second, third = _casey(make_ticket, [0, 10, 45])
    assert _flags([first, second, third]) == [False, True, False]
    other = make_ticket(customer_email="casey@example.com", category="shipping")
    assert _flags([other]) == [False]


def test_changing_a_category_decides_the_later_tickets_again(database, make_ticket):
    first, second, third = _casey(make_ticket, [0, 10, 45])
    first.category = "shipping"  # the second no longer repeats anything
    db.session.commit()
    assert _flags([first, second, third]) == [False, False, False]
    third.created_at = second.created_at + timedelta(days=30)  # exactly 30 days: repeats
    db.session.commit()
    assert _flags([first, second, third]) == [False, False, True]
    third.category = None  # no category: never a repeat
    db.session.commit()
    assert _flags([third]) == [False]


def test_moving_a_ticket_to_another_contact_decides_both_customers_again(
        database, make_ticket):
    first, second = _casey(make_ticket, [0, 10])
    dana = make_ticket(customer_email="dana@example.com", category="billing")
    dana.created_at = second.created_at + timedelta(days=1)
    db.session.commit()
    assert _flags([first, second, dana]) == [False, True, False]
    db.session.expire(first)
    first.contact_id = dana.contact_id  # filed under the wrong customer
    db.session.commit()
    assert _flags([first, second, dana]) == [False, False, True]


def test_a_category_change_on_an_expired_ticket_decides_the_later_tickets_again(
        database, make_ticket):
    first, second, third = _casey(make_ticket, [0, 10, 45])
    db.session.expire(first)  # the old category is not loaded when it changes
    first.category = "shipping"
    db.session.commit()
    assert _flags([first, second, third]) == [False, False, False]


def test_a_new_ticket_writes_only_the_flags_it_changes(database, make_ticket):
    _casey(make_ticket, [0, 40, 80, 120, 160])  # none within 30 days of another
    written = []

    def count_rows(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE TICKETS SET IS_REPEAT"):
            written.append(cursor.rowcount)

    engine = db.session.get_bind()
    event.listen(engine, "after_cursor_execute", count_rows)
    try:
        latest = make_ticket(customer_email="casey@example.com", category="billing")
    finally:
        event.remove(engine, "after_cursor_execute", count_rows)
    db.session.commit()
    # The customer's earlier tickets keep their rows; the new one, moments after the
    # first (day 0 is now), repeats it.
    assert written == [1] and _flags([latest]) == [True]


def test_the_migration_backfills_the_same_flags(database, make_ticket):
    tickets = _casey(make_ticket, [0, 10, 45, 50])
    kept = _flags(tickets)
    db.session.execute(update(Ticket).values(is_repeat=False))
    db.session.commit()
    path = Path(__file__).parents[2] / "migrations/versions/0012_repeat_issues_kept_on_tickets.py"
    spec = importlib.util.spec_from_file_location("migration_0012", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    db.session.execute(text(migration._backfill(
        "tickets.created_at - interval '30 days'" if postgresql else
        "strftime('%Y-%m-%d %H:%M:%f', tickets.created_at, '-2592000 seconds')")))
    db.session.commit()
    assert kept == [False, True, False, True] and _flags(tickets) == kept
