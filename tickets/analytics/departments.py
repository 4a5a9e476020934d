"""Cross-department work: how fast departments finish the tasks tickets hand them, how
often they miss the due time, and how much time each department spends on tickets.
Definitions: docs/reports.md."""
from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields
from sqlalchemy import BigInteger, false, func, literal, or_

from service.db_types import utcnow
from service.directory.models import Account
from service.extensions import db
from service.reports.engine import Metric
from service.reports.numbers import average, percent, rounded
from service.reports.query import (Grouping, Part, Slice, count_distinct, count_if, percentile,
                                   sum_if)
from service.reports.registry import Column, Report, Unit, register
from service.reports.rollup import Rollup
from tickets.analytics.dimensions import TICKET_DETAILS, ticket_columns, ticket_groupings
from tickets.models import Ticket
from tickets.tasks.models import Task, TaskStatus


# The slices the task rollups keep per department: the ticket's team and its details.
TASK_DETAILS = (Grouping.TEAM, *TICKET_DETAILS)


def tasks_with_tickets() -> Any:
    """FROM tasks JOIN tickets LEFT JOIN accounts: a task with its ticket's dimensions."""
    return (Task.__table__.join(Ticket.__table__, Ticket.id == Task.ticket_id)
            .outerjoin(Account.__table__, Account.id == Ticket.account_id))


def task_conditions(period: Slice) -> list:
    """The slice's scope and filters on tasks: `department` is the department asked,
    every other filter is the ticket's; a lead sees the tasks of their teams' tickets
    and the tasks asked of their teams (tickets no team holds are the admins', as on
    the dashboard)."""
    columns = {**ticket_columns(), "department": Task.department_id}
    conditions = replace(period, team_ids=None).conditions(columns)
    if period.team_ids is not None:
        conditions.append(or_(Ticket.team_id.in_(period.team_ids),
                              Task.department_id.in_(period.team_ids))
                          if period.team_ids else false())
    return conditions


def task_seconds() -> Any:
    """SQL: a task's turnaround, finished_at − created_at, in (calendar) seconds."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", Task.finished_at - Task.created_at)
    return (func.julianday(Task.finished_at) - func.julianday(Task.created_at)) * 86400.0


def task_dimensions(parts: int) -> dict[Grouping, list]:
    """The task groupings (department asked, and the ticket's), one expression per part."""
    groupings = {Grouping.DEPARTMENT: Task.department_id, **ticket_groupings()}
    return {grouping: [expression] * parts for grouping, expression in groupings.items()}


def _task_part(moment: Any, measures: dict[str, Any], period: Slice, *extra: Any) -> Part:
    return Part(moment, measures, [*task_conditions(period), *extra],
                select_from=tasks_with_tickets(), ticket=Task.ticket_id)


def whole_seconds(value: Any) -> int | None:
    """A number of seconds from SQL (float on SQLite, numeric on PostgreSQL), rounded."""
    return None if value is None else int(rounded(Fraction(value), 0))


# ---------------------------------------------------------------------------- tasks

def _task_parts(period: Slice) -> list[Part]:
    seconds = task_seconds()
    # A task still open at the period's end (or now, if that is earlier) is late once its
    # due time has passed; cancelled tasks are owed no more and are not counted.
    cutoff = min(period.end, utcnow())
    late = or_(Task.finished_at > Task.due_at,
               Task.finished_at.is_(None) & (Task.due_at < cutoff))
    return [
        _task_part(Task.finished_at, {
            "done": count_if(),
            "median": percentile(seconds, 0.5),
            "p90": percentile(seconds, 0.9),
        }, period, Task.status == TaskStatus.DONE),
        _task_part(Task.due_at, {
            "due": count_if(),
            "overdue": count_if(late),
        }, period, Task.status != TaskStatus.CANCELLED),
    ]


def _task_numbers(row: dict[str, Any]) -> dict[str, Any]:
    due, overdue = row.get("due") or 0, row.get("overdue") or 0
    return {"done": row.get("done") or 0, "median_seconds": whole_seconds(row.get("median")),
            "p90_seconds": whole_seconds(row.get("p90")), "due": due, "overdue": overdue,
            "overdue_percent": percent(overdue, due)}


class TaskNumbers(Schema):
    done = fields.Integer(metadata={"description": "Tasks finished as done in the period."})
    median_seconds = fields.Integer(allow_none=True, metadata={
        "description": "Their median turnaround (finished − created), in seconds."})
    p90_seconds = fields.Integer(allow_none=True, metadata={
        "description": "Their 90th-percentile turnaround, in seconds."})
    due = fields.Integer(metadata={"description": "Tasks due in the period (not cancelled)."})
    overdue = fields.Integer(metadata={
        "description": "Of those, finished after their due time or still open past it at "
                       "the period's end."})
    overdue_percent = fields.Float(allow_none=True, metadata={
        "description": "Overdue rate: overdue / due, in % (one decimal)."})


TASKS = register(Report(
    name="tasks",
    title=_l("Department tasks"),
    description=_l("How fast each department finishes the tasks tickets hand it, and how "
                   "often it misses their due time."),
    # Kept per department (and per ticket team, agent, channel…); a lead's scope (their
    # teams' tickets and the tasks asked of their teams) is counted live.
    metric=Metric(_task_parts, task_dimensions(2), _task_numbers,
                  rollup=Rollup("tasks", by=Grouping.DEPARTMENT, scoped=False,
                                details=TASK_DETAILS)),
    numbers=TaskNumbers,
    columns=(Column("median_seconds", _l("Median turnaround"), Unit.SECONDS, drill="done",
                    better="down"),
             Column("p90_seconds", _l("90th-percentile turnaround"), Unit.SECONDS,
                    drill="done", better="down"),
             Column("done", _l("Tasks done"), Unit.COUNT, drill="done"),
             Column("overdue_percent", _l("Overdue rate"), Unit.PERCENT, drill="overdue",
                    better="down"),
             Column("overdue", _l("Overdue"), Unit.COUNT, drill="overdue", better="down"),
             Column("due", _l("Tasks due"), Unit.COUNT, drill="due")),
    order=80,
))


# ---------------------------------------------------------------------------- time per department

def _time_parts(period: Slice) -> list[Part]:
    seconds = task_seconds()
    # One ticket–department pair per department that worked on a ticket, as one integer
    # (ids are below 2^31), which the daily rollup keeps as a member of the count.
    pair = Task.ticket_id * literal(2 ** 31, BigInteger) + Task.department_id
    return [_task_part(Task.finished_at, {
        "tasks": count_if(),
        "total": sum_if(seconds),
        "median": percentile(seconds, 0.5),
        "tickets": count_distinct(Task.ticket_id),
        "ticket_departments": count_distinct(pair),
    }, period, Task.status == TaskStatus.DONE)]


def _time_numbers(row: dict[str, Any]) -> dict[str, Any]:
    tickets, pairs = row.get("tickets") or 0, row.get("ticket_departments") or 0
    return {"tasks": row.get("tasks") or 0, "total_seconds": whole_seconds(row.get("total")),
            "median_seconds": whole_seconds(row.get("median")), "tickets": tickets,
            "ticket_departments": pairs, "departments_per_ticket": average(pairs, tickets)}


class DepartmentTimeNumbers(Schema):
    tasks = fields.Integer(metadata={"description": "Tasks finished as done in the period."})
    total_seconds = fields.Integer(allow_none=True, metadata={
        "description": "Their turnarounds (finished − created) added up, in seconds."})
    median_seconds = fields.Integer(allow_none=True, metadata={
        "description": "Their median turnaround, in seconds."})
    tickets = fields.Integer(metadata={"description": "Tickets those tasks served."})
    ticket_departments = fields.Integer(metadata={
        "description": "Distinct (ticket, department) pairs among those tasks."})
    departments_per_ticket = fields.Float(allow_none=True, metadata={
        "description": "Average departments per ticket: pairs / tickets (2 decimals; "
                       "always 1 within one department)."})


DEPARTMENT_TIME = register(Report(
    name="department-time",
    title=_l("Time per department"),
    description=_l("Time departments spent on the tasks of cross-department tickets they "
                   "finished in the period, and how many departments a ticket involves."),
    metric=Metric(_time_parts, task_dimensions(1), _time_numbers,
                  rollup=Rollup("department-time", by=Grouping.DEPARTMENT,
                                scoped=False, details=TASK_DETAILS)),
    numbers=DepartmentTimeNumbers,
    columns=(Column("total_seconds", _l("Time used"), Unit.SECONDS, drill="tasks"),
             Column("median_seconds", _l("Median per task"), Unit.SECONDS, drill="tasks",
                    better="down"),
             Column("tasks", _l("Tasks done"), Unit.COUNT, drill="tasks"),
             Column("tickets", _l("Tickets"), Unit.COUNT, drill="tickets"),
             Column("departments_per_ticket", _l("Departments per ticket"), Unit.RATIO)),
    order=90,
))
