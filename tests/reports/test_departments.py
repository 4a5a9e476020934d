"""Department task turnaround, overdue rate and time per department on a hand-worked data
set, on SQLite and PostgreSQL. All times UTC; March 2026 = [03-01, 04-01); its previous
period is [2026-01-29, 03-01).

Teams: S (support) holds tickets K1, K2, K4; L holds K3. Departments D1 and D2.
Tasks (department, ticket, created → finished, due, status):
  T1  D1 K1  03-02 08:00 → 03-02 10:00 (7,200 s)     due 03-03 08:00  done, on time
  T2  D1 K2  03-03 00:00 → 03-04 00:00 (86,400 s)    due 03-03 12:00  done, late
  T3  D1 K1  03-05 00:00 → 03-05 01:00 (3,600 s)     due 03-05 00:30  done, late
  T4  D2 K1  03-10 00:00 → 03-10 06:00 (21,600 s)    due 03-11        done, on time
  T5  D2 K3  02-28 00:00 → 03-02 00:00 (172,800 s)   due 02-28 12:00  done, late
  T6  D2 K2  03-20 00:00 → open                      due 03-25        open: overdue
  T7  D1 K3  03-21 → 03-22                           due 03-23        cancelled
  T8  D2 K4  03-28 → open                            due 04-05        (due after March)
  T9  D1 K4  03-30 → 04-02                           due 03-31 12:00  done, late
  T10 D1 K2  02-01 00:00 → 02-02 00:00 (86,400 s)    due 02-03        done, on time
"""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from service.directory.services import add_member
from service.extensions import db
from service.reports import engine
from service.reports.query import Grouping, Slice
from tickets.analytics.departments import DEPARTMENT_TIME, TASKS
from tickets.tasks.models import Task, TaskStatus


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


MARCH = Slice(utc(2026, 3, 1), utc(2026, 4, 1))
PERIOD = "from=2026-03-01&to=2026-03-31&tz=UTC"



@pytest.fixture
def work(database, make_ticket, make_team):
    """The data set of the module docstring: {"S", "L", "D1", "D2", "K1"…, "T1"…}."""
    made = {name: make_team(name) for name in ("S", "L", "D1", "D2")}
    for name, team in (("K1", "S"), ("K2", "S"), ("K3", "L"), ("K4", "S")):
        made[name] = make_ticket()
        made[name].team_id = made[team].id
    db.session.commit()
    rows = [("T1", "D1", "K1", utc(2026, 3, 2, 8), utc(2026, 3, 2, 10), utc(2026, 3, 3, 8)),
            ("T2", "D1", "K2", utc(2026, 3, 3), utc(2026, 3, 4), utc(2026, 3, 3, 12)),
            ("T3", "D1", "K1", utc(2026, 3, 5), utc(2026, 3, 5, 1), utc(2026, 3, 5, 0, 30)),
            ("T4", "D2", "K1", utc(2026, 3, 10), utc(2026, 3, 10, 6), utc(2026, 3, 11)),
            ("T5", "D2", "K3", utc(2026, 2, 28), utc(2026, 3, 2), utc(2026, 2, 28, 12)),
            ("T6", "D2", "K2", utc(2026, 3, 20), None, utc(2026, 3, 25)),
            ("T7", "D1", "K3", utc(2026, 3, 21), utc(2026, 3, 22), utc(2026, 3, 23)),
            ("T8", "D2", "K4", utc(2026, 3, 28), None, utc(2026, 4, 5)),
            ("T9", "D1", "K4", utc(2026, 3, 30), utc(2026, 4, 2), utc(2026, 3, 31, 12)),
            ("T10", "D1", "K2", utc(2026, 2, 1), utc(2026, 2, 2), utc(2026, 2, 3))]
    for name, department, ticket, created, finished, due in rows:
        status = (TaskStatus.CANCELLED if name == "T7" else
                  TaskStatus.OPEN if finished is None else TaskStatus.DONE)
        made[name] = Task(ticket_id=made[ticket].id, department_id=made[department].id,
                          title=name, due_at=due, created_at=created, updated_at=created,
                          finished_at=finished, status=status)
        db.session.add(made[name])
    db.session.commit()
    return made


def ids(query) -> set[int]:
    return set(db.session.scalars(query))


# ---------------------------------------------------------------------------- tasks

def test_task_turnaround_and_overdue_by_department(work):
    """Done in March: T1–T5 = 3,600, 7,200, 21,600, 86,400, 172,800 s: median 21,600, p90
    at 0.9·4 = 3.6 → 86,400 + 0.6·86,400 = 138,240. Due in March (cancelled T7 left out,
    T8 due later): T1, T2, T3, T4, T6, T9; overdue T2, T3, T6, T9 = 4/6 = 66.7 %.
    D1: done T1–T3 (3,600, 7,200, 86,400): median 7,200, p90 at 1.8 → 7,200 + 0.8·79,200 =
    70,560; due T1, T2, T3, T9, overdue 3 = 75.0 %. D2: done T4, T5: median 97,200, p90
    21,600 + 0.9·151,200 = 157,680; due T4, T6, overdue 1 = 50.0 %.
    Previous (February): done T10 (86,400); due T10 and T5, T5 late: 50.0 %. D1 previous:
    done 1, due 1, overdue 0; D2 previous: done 0, due 1 (T5), overdue 1."""
    result = engine.run_with_previous(TASKS.metric, MARCH, Grouping.DEPARTMENT)
    assert result["total"] == {"done": 5, "median_seconds": 21600, "p90_seconds": 138240,
                               "due": 6, "overdue": 4, "overdue_percent": 66.7}
    groups = {group["key"]: group for group in result["groups"]}
    d1, d2 = groups[work["D1"].id], groups[work["D2"].id]
    assert (d1["done"], d1["median_seconds"], d1["p90_seconds"]) == (3, 7200, 70560)
    assert (d1["due"], d1["overdue"], d1["overdue_percent"]) == (4, 3, 75.0)
    assert (d2["done"], d2["median_seconds"], d2["p90_seconds"]) == (2, 97200, 157680)
    assert (d2["due"], d2["overdue"], d2["overdue_percent"]) == (2, 1, 50.0)
    assert result["previous"]["total"] == {"done": 1, "median_seconds": 86400,
                                           "p90_seconds": 86400, "due": 2, "overdue": 1,
                                           "overdue_percent": 50.0}
    assert (d1["previous"]["done"], d1["previous"]["overdue"]) == (1, 0)
    assert (d2["previous"]["done"], d2["previous"]["due"], d2["previous"]["overdue"]) == (0, 1, 1)


def test_tasks_filtered_by_department_and_cut_into_weeks(work):
    """department=D1: done 3, due 4, overdue 3. Weeks (UTC, from Monday) of all tasks:
    02-23 (Mar 1) nothing; 03-02 done T1, T2, T3, T5, due T1, T2, T3 of which T2, T3
    overdue; 03-09 done T4, due T4; 03-16 nothing; 03-23 due T6 (overdue); 03-30 due T9
    (overdue)."""
    only_d1 = engine.run(TASKS.metric, Slice(MARCH.start, MARCH.end, department=work["D1"].id))
    assert (only_d1["total"]["done"], only_d1["total"]["due"],
            only_d1["total"]["overdue"]) == (3, 4, 3)
    weeks = engine.run(TASKS.metric, MARCH, Grouping.WEEK, zone=ZoneInfo("UTC"))["groups"]
    assert [(week["key"], week["done"], week["due"], week["overdue"]) for week in weeks] == [
        ("2026-02-23", 0, 0, 0), ("2026-03-02", 4, 3, 2), ("2026-03-09", 1, 1, 0),
        ("2026-03-16", 0, 0, 0), ("2026-03-23", 0, 1, 1), ("2026-03-30", 0, 1, 1)]


def test_tasks_drill_down_to_their_tickets(work):
    """Overdue in March: T2 (K2), T3 (K1), T6 (K2), T9 (K4). D2's done: T4 (K1), T5 (K3)."""
    overdue = engine.tickets_behind(TASKS.metric, MARCH, "overdue")
    assert ids(overdue) == {work["K1"].id, work["K2"].id, work["K4"].id}
    d2_done = engine.tickets_behind(TASKS.metric, MARCH, "done", group_by=Grouping.DEPARTMENT,
                                    key=work["D2"].id)
    assert ids(d2_done) == {work["K1"].id, work["K3"].id}


def test_a_lead_sees_their_tickets_tasks_and_their_departments_tasks(work, database,
                                                                     make_user, auth,
                                                                     make_ticket):
    """A lead of L who is also in D2: tasks of L's tickets (T5, T7) and asked of D2 (T4,
    T6, T8), not T11 (D1, done 03-12, on a ticket no team holds). Done in March: T4, T5
    (median 97,200); due: T4, T6, overdue T6: 50.0 %. With team=L (the ticket's team):
    T5 only, and T7 (cancelled): done 1, due 0."""
    lead = make_user("lead", team=work["L"])
    add_member(work["D2"], lead)
    teamless = make_ticket()
    teamless.team_id = None
    db.session.add(Task(ticket_id=teamless.id, department_id=work["D1"].id, title="T11",
                        created_at=utc(2026, 3, 12), updated_at=utc(2026, 3, 12),
                        finished_at=utc(2026, 3, 12, 1), due_at=utc(2026, 3, 13),
                        status=TaskStatus.DONE))
    db.session.commit()
    client, headers = database.test_client(), auth(lead)
    response = client.get(f"/api/v1/reports/tasks?{PERIOD}", headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["total"] == {"done": 2, "median_seconds": 97200,
                                            "p90_seconds": 157680, "due": 2, "overdue": 1,
                                            "overdue_percent": 50.0}
    response = client.get(f"/api/v1/reports/tasks?{PERIOD}&team={work['L'].id}",
                          headers=headers)
    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["total"]["done"], response.get_json()["total"]["due"]) == (1, 0)
    other = client.get(f"/api/v1/reports/tasks?{PERIOD}&team={work['S'].id}", headers=headers)
    assert other.status_code == 400 and "team" in other.get_json()["errors"]


def test_api_tasks_refuses_bad_input(work, database, make_user, auth):
    """A department that is not an id, and a grouping tasks do not have, are 400s."""
    client, headers = database.test_client(), auth(make_user("admin"))
    bad = client.get(f"/api/v1/reports/tasks?{PERIOD}&department=abc", headers=headers)
    assert bad.status_code == 400 and "department" in bad.get_json()["errors"]
    bad = client.get(f"/api/v1/reports/tasks?{PERIOD}&group_by=reopens", headers=headers)
    assert bad.status_code == 400 and "group_by" in bad.get_json()["errors"]


# ---------------------------------------------------------------------------- time per department

def test_department_time_by_department_and_team(work):
    """Done in March: T1 (D1 K1 7,200), T2 (D1 K2 86,400), T3 (D1 K1 3,600), T4 (D2 K1
    21,600), T5 (D2 K3 172,800). Total: 5 tasks, 291,600 s, median 21,600, 3 tickets, 4
    ticket–department pairs: 1.33 departments per ticket. D1: 3 tasks, 97,200 s, median
    7,200, 2 tickets, 1.0; D2: 2, 194,400, 97,200, 2 tickets, 1.0. By team: S (K1, K2):
    T1–T4 = 4 tasks, 2 tickets, 3 pairs: 1.5; L (K3): 1 task, 1.0. Previous: T10 only."""
    result = engine.run_with_previous(DEPARTMENT_TIME.metric, MARCH, Grouping.DEPARTMENT)
    assert result["total"] == {"tasks": 5, "total_seconds": 291600, "median_seconds": 21600,
                               "tickets": 3, "ticket_departments": 4,
                               "departments_per_ticket": 1.33}
    groups = {group["key"]: group for group in result["groups"]}
    assert groups[work["D1"].id]["total_seconds"] == 97200
    assert (groups[work["D2"].id]["median_seconds"], groups[work["D2"].id]["tickets"]) == (
        97200, 2)
    assert groups[work["D1"].id]["previous"]["total_seconds"] == 86400
    assert groups[work["D2"].id]["previous"] is None
    by_team = engine.run(DEPARTMENT_TIME.metric, MARCH, Grouping.TEAM)["groups"]
    assert {group["key"]: (group["tasks"], group["tickets"], group["departments_per_ticket"])
            for group in by_team} == {work["S"].id: (4, 2, 1.5), work["L"].id: (1, 1, 1.0)}


def test_department_time_weeks_do_not_add_up_distinct_tickets(work):
    """Week 03-02 has T1, T2, T3, T5 (tickets K1, K2, K3), week 03-09 T4 (K1): 3 + 1
    tickets, but 3 in the month."""
    result = engine.run(DEPARTMENT_TIME.metric, MARCH, Grouping.WEEK, zone=ZoneInfo("UTC"))
    assert [week["tickets"] for week in result["groups"]] == [0, 3, 1, 0, 0, 0]
    assert result["total"]["tickets"] == 3


def test_api_department_time_and_drill_down(work, database, make_user, auth):
    """department-time through the API by department, and as CSV (time used, then its
    previous period: 291,600 and 86,400 s); D1's tickets behind "tickets"."""
    client, headers = database.test_client(), auth(make_user("admin"))
    response = client.get(f"/api/v1/reports/department-time?{PERIOD}&group_by=department",
                          headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["total"]["total_seconds"] == 291600
    assert {group["key"]: group["tasks"] for group in body["groups"]} == {
        work["D1"].id: 3, work["D2"].id: 2}
    exported = client.get(f"/api/v1/reports/department-time?{PERIOD}&format=csv",
                          headers=headers)
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert rows[-1][:3] == ["Total", "291600", "86400"]
    behind = engine.tickets_behind(DEPARTMENT_TIME.metric, MARCH, "tickets",
                                   group_by=Grouping.DEPARTMENT, key=work["D1"].id)
    assert ids(behind) == {work["K1"].id, work["K2"].id}
