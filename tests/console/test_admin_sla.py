"""Console admin pages for SLA policies, business calendars and holiday imports."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from service.extensions import db
from tickets.models import BusinessCalendar, CalendarDay, Priority, SlaPolicy

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = {"hours_0": "09:00-12:00, 13:00-18:00", "hours_1": "09:00-18:00",
          "hours_2": "09:00-18:00", "hours_3": "09:00-18:00", "hours_4": "09:00-18:00",
          "hours_5": "", "hours_6": ""}


def policy(priority: Priority) -> SlaPolicy:
    return db.session.scalar(select(SlaPolicy).where(SlaPolicy.priority == priority))


def default_calendar() -> BusinessCalendar:
    return db.session.scalar(select(BusinessCalendar).order_by(BusinessCalendar.id))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def snapshot_rows(model) -> list[tuple]:
    """Every row of a table as plain tuples, to prove a refused request wrote nothing."""
    db.session.expire_all()
    return [tuple(row) for row in db.session.execute(select(model.__table__))]


@pytest.fixture
def admin_client(client, make_user, console_login):
    console_login(client, make_user("admin"))
    return client


def policy_form(client, calendar: int, **overrides) -> dict:
    data = {"csrf_token": client.csrf_token, "first_response_hours": "2",
            "first_response_minutes": "30", "resolution_hours": "10",
            "resolution_minutes": "0", "warning_percent": "75", "calendar_id": str(calendar)}
    data.update(overrides)
    return data


def calendar_form(client, **overrides) -> dict:
    data = {"csrf_token": client.csrf_token, "name": "Shanghai office",
            "timezone": "Asia/Shanghai", **OFFICE}
    data.update(overrides)
    return data


def page_urls(calendar_id: int, policy_id: int) -> list[str]:
    return ["/console/admin/sla", f"/console/admin/sla/{policy_id}/edit",
            "/console/admin/calendars", "/console/admin/calendars/new",
            f"/console/admin/calendars/{calendar_id}/edit",
            f"/console/admin/calendars/{calendar_id}/days"]


# ---- access ----

@pytest.mark.parametrize("role", ["admin", "lead"])
def test_admins_and_leads_open_every_page(client, make_user, console_login, role):
    console_login(client, make_user(role))
    for url in page_urls(default_calendar().id, policy(Priority.URGENT).id):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("role", ["agent", "sales", "department"])
def test_other_roles_are_refused(client, make_user, console_login, role):
    console_login(client, make_user(role))
    calendar = default_calendar()
    for url in page_urls(calendar.id, policy(Priority.URGENT).id):
        assert client.get(url).status_code == 403, url
    response = client.post(f"/console/admin/calendars/{calendar.id}/import-holidays",
                           data={"csrf_token": client.csrf_token, "country": "CN",
                                 "years": "2026"})
    assert response.status_code == 403
    assert count(CalendarDay) == 0


def test_signed_out_is_sent_to_sign_in(client):
    for url in page_urls(default_calendar().id, policy(Priority.URGENT).id):
        response = client.get(url)
        assert response.status_code == 302
        assert "/console/login" in response.headers["Location"]


def test_unknown_ids_are_404(admin_client):
    for url in ("/console/admin/sla/999999/edit", "/console/admin/sla/99999999999/edit",
                "/console/admin/sla/abc/edit", "/console/admin/calendars/424242/edit",
                "/console/admin/calendars/424242/days"):
        assert admin_client.get(url).status_code == 404, url
    calendar = default_calendar()
    for day in ("2026-13-45", "not-a-date", "2026-01-01"):  # the last has no entry
        response = admin_client.post(f"/console/admin/calendars/{calendar.id}/days/{day}/delete",
                                     data={"csrf_token": admin_client.csrf_token})
        assert response.status_code == 404, day


# ---- policies ----

def test_policy_list_shows_targets_in_words(admin_client):
    page = admin_client.get("/console/admin/sla").get_data(as_text=True)
    # urgent 1 h / 8 h, high 4 h / 1 d, normal 1 d / 3 d, low 1 d / 5 d; all on 24x7.
    for text in ("1 h", "8 h", "4 h", "1 d", "3 d", "5 d", "24x7", "80 %"):
        assert text in page


def test_duration_text(app):
    from tickets.console.admin_sla import duration_text

    with app.test_request_context():
        assert duration_text(60) == "1 h"
        assert duration_text(4560) == "3 d 4 h"
        assert duration_text(45) == "45 min"
        assert duration_text(1501) == "1 d 1 h 1 min"


def test_editing_a_policy_applies_to_the_next_ticket(admin_client, make_ticket):
    urgent = policy(Priority.URGENT)
    start = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        before = make_ticket(urgency=Priority.URGENT)  # also loads the SLA snapshot
    assert before.first_response_due_at == start + timedelta(hours=1)
    response = admin_client.post(f"/console/admin/sla/{urgent.id}/edit",
                                 data=policy_form(admin_client, urgent.calendar_id))
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/console/admin/sla")
    db.session.expire_all()
    assert (urgent.first_response_minutes, urgent.resolution_minutes,
            urgent.warning_ratio_percent) == (150, 600, 75)
    with time_machine.travel(start, tick=False):
        after = make_ticket(urgency=Priority.URGENT)
    assert after.first_response_due_at == start + timedelta(minutes=150)
    assert after.resolution_due_at == start + timedelta(hours=10)
    assert after.first_response_warn_at == start + timedelta(minutes=150 * 0.75)
    db.session.refresh(before)
    assert before.first_response_due_at == start + timedelta(hours=1)  # as the page says


@pytest.mark.parametrize("overrides, field_text", [
    ({"first_response_hours": "12"}, "First response cannot be later than resolution"),
    ({"first_response_hours": "0", "first_response_minutes": "0"}, "between 1 minute"),
    ({"resolution_hours": str(366 * 24)}, "between 1 minute"),
    ({"resolution_hours": "-3"}, "between 1 minute"),
    ({"warning_percent": "120"}, "between 50 and 99"),
    ({"warning_percent": "10"}, "between 50 and 99"),
    ({"first_response_minutes": "75"}, "Minutes run from 0 to 59"),
    ({"first_response_hours": "abc"}, "Not a valid integer"),
    ({"resolution_hours": "9" * 40}, "between 1 minute"),
    ({"warning_percent": ""}, "Enter a whole number"),
    ({"calendar_id": "999999"}, ""),
    ({"calendar_id": "x"}, ""),
])
def test_bad_policy_input_is_refused(admin_client, overrides, field_text):
    urgent = policy(Priority.URGENT)
    before = snapshot_rows(SlaPolicy)
    response = admin_client.post(f"/console/admin/sla/{urgent.id}/edit",
                                 data=policy_form(admin_client, urgent.calendar_id, **overrides))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert field_text in page
    assert 'class="field-error"' in page
    assert snapshot_rows(SlaPolicy) == before


def test_policy_edit_needs_the_csrf_token(admin_client):
    urgent = policy(Priority.URGENT)
    data = policy_form(admin_client, urgent.calendar_id)
    del data["csrf_token"]
    before = snapshot_rows(SlaPolicy)
    assert admin_client.post(f"/console/admin/sla/{urgent.id}/edit",
                             data=data).status_code == 400
    assert snapshot_rows(SlaPolicy) == before


# ---- calendars ----

def test_create_a_calendar_and_give_it_to_a_policy(admin_client, make_ticket):
    response = admin_client.post("/console/admin/calendars/new", data=calendar_form(admin_client))
    assert response.status_code == 303
    calendar = db.session.scalar(select(BusinessCalendar)
                                 .where(BusinessCalendar.name == "Shanghai office"))
    assert calendar.timezone == "Asia/Shanghai"
    assert calendar.weekly_hours == {
        "0": [["09:00", "12:00"], ["13:00", "18:00"]], "1": [["09:00", "18:00"]],
        "2": [["09:00", "18:00"]], "3": [["09:00", "18:00"]], "4": [["09:00", "18:00"]],
        "5": [], "6": []}
    high = policy(Priority.HIGH)
    make_ticket(urgency=Priority.HIGH)  # loads the SLA snapshot (and the policy's calendar)
    response = admin_client.post(
        f"/console/admin/sla/{high.id}/edit",
        data=policy_form(admin_client, calendar.id, first_response_hours="4",
                         first_response_minutes="0", resolution_hours="24",
                         warning_percent="80"))
    assert response.status_code == 303
    with time_machine.travel(datetime(2026, 11, 27, 17, 0, tzinfo=SHANGHAI), tick=False):
        ticket = make_ticket(urgency=Priority.HIGH)  # Friday 17:00
    # 1 h on Friday, then Monday 09:00-12:00 (3 h): due Monday noon.
    assert ticket.first_response_due_at == datetime(2026, 11, 30, 12, 0, tzinfo=SHANGHAI)
    listing = admin_client.get("/console/admin/calendars").get_data(as_text=True)
    assert "Shanghai office" in listing and "09:00-12:00, 13:00-18:00" in listing


def test_editing_weekly_hours_applies_at_once(admin_client, make_ticket):
    calendar = default_calendar()
    start = datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI)  # a Saturday
    with time_machine.travel(start, tick=False):
        assert make_ticket(urgency=Priority.URGENT).first_response_due_at == \
            start + timedelta(hours=1)
    response = admin_client.post(f"/console/admin/calendars/{calendar.id}/edit",
                                 data=calendar_form(admin_client, name=calendar.name))
    assert response.status_code == 303
    with time_machine.travel(start, tick=False):
        ticket = make_ticket(urgency=Priority.URGENT)
    assert ticket.first_response_due_at == datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI)


def test_edit_form_shows_the_stored_hours(admin_client):
    calendar = default_calendar()
    page = admin_client.get(f"/console/admin/calendars/{calendar.id}/edit").get_data(
        as_text=True)
    assert 'value="00:00-24:00"' in page and 'value="Asia/Shanghai"' in page


@pytest.mark.parametrize("overrides, message", [
    ({"hours_0": "09:00-25:00"}, "is not a time of day"),
    ({"hours_0": "25:00-26:00"}, "is not a time of day"),
    ({"hours_1": "09:00-13:00, 12:00-18:00"}, "Intervals overlap"),
    ({"hours_2": "18:00-09:00"}, "ends before it starts"),
    ({"hours_3": "09:00-09:00"}, "ends before it starts"),
    ({"hours_4": "nine to five"}, "HH:MM-HH:MM"),
    ({"hours_4": "09:60-10:00"}, "is not a time of day"),
    ({"timezone": "Mars/Olympus_Mons"}, "Choose a time zone"),
    ({"timezone": "../../etc/passwd"}, "Choose a time zone"),
    ({"timezone": ""}, "Choose a time zone"),
    ({"name": ""}, "Give the calendar a name"),
    ({"name": "x" * 81}, "80 characters"),
    ({"name": "24x7"}, "Another calendar already has this name"),
    ({f"hours_{day}": "" for day in range(7)}, "at least one day"),
])
def test_bad_calendar_input_is_refused(admin_client, overrides, message):
    before = snapshot_rows(BusinessCalendar)
    response = admin_client.post("/console/admin/calendars/new",
                                 data=calendar_form(admin_client, **overrides))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert snapshot_rows(BusinessCalendar) == before


def test_bad_edit_changes_nothing(admin_client):
    calendar = default_calendar()
    before = snapshot_rows(BusinessCalendar)
    response = admin_client.post(f"/console/admin/calendars/{calendar.id}/edit",
                                 data=calendar_form(admin_client, name="Renamed",
                                                    hours_0="08:00-12:00, 11:00-14:00"))
    assert response.status_code == 400
    assert snapshot_rows(BusinessCalendar) == before


def test_midnight_end_and_night_shift_are_accepted(admin_client):
    response = admin_client.post("/console/admin/calendars/new", data=calendar_form(
        admin_client, name="Night desk", hours_0="22:00-24:00", hours_1="00:00-06:00, 22:00-24:00",
        hours_2="", hours_3="", hours_4="", hours_5="", hours_6=""))
    assert response.status_code == 303
    calendar = db.session.scalar(select(BusinessCalendar)
                                 .where(BusinessCalendar.name == "Night desk"))
    assert calendar.weekly_hours["1"] == [["00:00", "06:00"], ["22:00", "24:00"]]


def test_a_calendar_in_use_cannot_be_deleted(admin_client):
    calendar = default_calendar()
    response = admin_client.post(f"/console/admin/calendars/{calendar.id}/delete",
                                 data={"csrf_token": admin_client.csrf_token},
                                 follow_redirects=True)
    assert response.status_code == 200
    assert "used by the SLA policies" in response.get_data(as_text=True)
    assert db.session.get(BusinessCalendar, calendar.id) is not None


def test_an_unused_calendar_is_deleted_with_its_days(admin_client):
    admin_client.post("/console/admin/calendars/new", data=calendar_form(admin_client))
    spare = db.session.scalar(select(BusinessCalendar)
                              .where(BusinessCalendar.name == "Shanghai office"))
    db.session.add(CalendarDay(calendar_id=spare.id, day=date(2026, 5, 1), name="Labour"))
    db.session.commit()
    response = admin_client.post(f"/console/admin/calendars/{spare.id}/delete",
                                 data={"csrf_token": admin_client.csrf_token})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(BusinessCalendar, spare.id) is None
    assert count(CalendarDay) == 0


def test_calendar_names_are_escaped(admin_client):
    evil = "<script>alert(1)</script>"
    assert admin_client.post("/console/admin/calendars/new",
                             data=calendar_form(admin_client, name=evil)).status_code == 303
    page = admin_client.get("/console/admin/calendars").get_data(as_text=True)
    assert evil not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_calendar_create_needs_the_csrf_token(admin_client):
    data = calendar_form(admin_client)
    del data["csrf_token"]
    assert admin_client.post("/console/admin/calendars/new", data=data).status_code == 400
    assert count(BusinessCalendar) == 1


# ---- holidays and extra working days ----

def day_form(client, **overrides) -> dict:
    data = {"csrf_token": client.csrf_token, "kind": "holiday", "day": "2026-05-01",
            "name": "Labour Day", "hours": ""}
    data.update(overrides)
    return data


def test_add_and_remove_days(admin_client):
    calendar = default_calendar()
    url = f"/console/admin/calendars/{calendar.id}/days"
    assert admin_client.post(url, data=day_form(admin_client)).status_code == 303
    response = admin_client.post(url, data=day_form(admin_client, kind="working",
                                                    day="2026-05-09", name="Make-up",
                                                    hours=""))
    assert response.status_code == 303
    assert admin_client.post(url, data=day_form(
        admin_client, kind="working", day="2026-05-10", name="Half day",
        hours="09:00-12:00")).status_code == 303
    rows = {row.day: (row.is_working_day, row.hours, row.name)
            for row in db.session.scalars(select(CalendarDay))}
    assert rows == {date(2026, 5, 1): (False, None, "Labour Day"),
                    date(2026, 5, 9): (True, [["00:00", "24:00"]], "Make-up"),
                    date(2026, 5, 10): (True, [["09:00", "12:00"]], "Half day")}
    page = admin_client.get(url + "?year=2026").get_data(as_text=True)
    assert "Labour Day" in page and "Half day" in page
    response = admin_client.post(f"{url}/2026-05-01/delete",
                                 data={"csrf_token": admin_client.csrf_token})
    assert response.status_code == 303
    assert db.session.get(CalendarDay, (calendar.id, date(2026, 5, 1))) is None


@pytest.mark.parametrize("overrides, message", [
    ({"day": "2026-02-30"}, "date"),
    ({"day": "yesterday"}, "date"),
    ({"day": ""}, "Enter a date"),
    ({"day": "1800-01-01"}, "between 2000 and 2100"),
    ({"day": "9999-12-31"}, "between 2000 and 2100"),
    ({"kind": "working", "hours": "09:00-25:00"}, "is not a time of day"),
    ({"kind": "working", "hours": "10:00-12:00, 11:00-13:00"}, "Intervals overlap"),
    ({"kind": "sometimes"}, "Not a valid choice"),
    ({"name": "x" * 121}, "120"),
])
def test_bad_days_are_refused(admin_client, overrides, message):
    calendar = default_calendar()
    response = admin_client.post(f"/console/admin/calendars/{calendar.id}/days",
                                 data=day_form(admin_client, **overrides))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count(CalendarDay) == 0


def test_a_date_is_never_overwritten(admin_client):
    calendar = default_calendar()
    url = f"/console/admin/calendars/{calendar.id}/days"
    admin_client.post(url, data=day_form(admin_client))
    response = admin_client.post(url, data=day_form(admin_client, kind="working",
                                                    name="Changed"))
    assert response.status_code == 400
    assert "already has an entry" in response.get_data(as_text=True)
    assert db.session.get(CalendarDay, (calendar.id, date(2026, 5, 1))).name == "Labour Day"


def test_day_pages_survive_odd_years(admin_client):
    calendar = default_calendar()
    for year in ("1800", "abc", "99999999999999999999", "-1", "2026"):
        response = admin_client.get(f"/console/admin/calendars/{calendar.id}/days?year={year}")
        assert response.status_code == 200, year


def import_form(client, **overrides) -> dict:
    data = {"csrf_token": client.csrf_token, "country": "CN", "years": "2026",
            "subdivision": ""}
    data.update(overrides)
    return data


def test_import_chinese_holidays_and_make_up_days(admin_client, make_ticket):
    admin_client.post("/console/admin/calendars/new", data=calendar_form(admin_client))
    office = db.session.scalar(select(BusinessCalendar)
                               .where(BusinessCalendar.name == "Shanghai office"))
    url = f"/console/admin/calendars/{office.id}/days"
    # A manual entry on National Day: the import must keep it as it is.
    admin_client.post(url, data=day_form(admin_client, day="2026-10-01", name="Our own"))
    response = admin_client.post(f"/console/admin/calendars/{office.id}/import-holidays",
                                 data=import_form(admin_client), follow_redirects=True)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "skipped 1 dates" in page
    days = {row.day: row for row in db.session.scalars(
        select(CalendarDay).where(CalendarDay.calendar_id == office.id))}
    spring_festival = days[date(2026, 2, 17)]
    assert not spring_festival.is_working_day and spring_festival.name
    assert not days[date(2026, 2, 16)].is_working_day  # New Year's Eve, a day off
    # 调休: Saturday 14 and 28 February 2026 are official working days.
    for make_up in (date(2026, 2, 14), date(2026, 2, 28)):
        assert days[make_up].is_working_day
        assert days[make_up].hours == [["09:00", "12:00"], ["13:00", "18:00"]]
    assert days[date(2026, 10, 1)].name == "Our own"
    added = len(days)
    response = admin_client.post(f"/console/admin/calendars/{office.id}/import-holidays",
                                 data=import_form(admin_client), follow_redirects=True)
    assert "Imported 0 holidays and 0 make-up working days" in response.get_data(as_text=True)
    assert count(CalendarDay) == added
    # The clock follows: a Friday-afternoon ticket before the holiday runs into the
    # make-up Saturday (normal policy on the office calendar, 24 h → 1 h Fri + …).
    high = policy(Priority.HIGH)
    admin_client.post(f"/console/admin/sla/{high.id}/edit",
                      data=policy_form(admin_client, office.id, first_response_hours="4",
                                       first_response_minutes="0", resolution_hours="24"))
    with time_machine.travel(datetime(2026, 2, 13, 17, 0, tzinfo=SHANGHAI), tick=False):
        ticket = make_ticket(urgency=Priority.HIGH)
    # Friday 17-18 (1 h), Saturday 14th is a make-up day: 09-12 (3 h) → due Sat 12:00.
    assert ticket.first_response_due_at == datetime(2026, 2, 14, 12, 0, tzinfo=SHANGHAI)


def test_import_other_countries_and_subdivisions(admin_client):
    calendar = default_calendar()
    url = f"/console/admin/calendars/{calendar.id}/import-holidays"
    response = admin_client.post(url, data=import_form(admin_client, country="DE",
                                                       years="2026", subdivision="by"))
    assert response.status_code == 303
    days = {row.day for row in db.session.scalars(select(CalendarDay))}
    assert date(2026, 10, 3) in days  # German Unity Day
    assert date(2026, 1, 6) in days  # Epiphany, Bavaria only
    response = admin_client.post(url, data=import_form(admin_client, country="US",
                                                       years="2026, 2027"))
    assert response.status_code == 303
    assert db.session.get(CalendarDay, (calendar.id, date(2027, 7, 5))) is not None


@pytest.mark.parametrize("overrides, message", [
    ({"country": "XX"}, "Choose a country from the list"),
    ({"country": ""}, "Choose a country from the list"),
    ({"country": "<b>CN</b>"}, "Choose a country from the list"),
    ({"years": "1800"}, "between 2000 and 2100"),
    ({"years": "20260"}, "Write years like"),
    ({"years": "next year"}, "Write years like"),
    ({"years": ""}, "at least one year"),
    ({"years": "2026-2040"}, "at most 5 years"),
    ({"country": "DE", "subdivision": "Narnia"}, "Unknown subdivision"),
])
def test_bad_imports_are_refused(admin_client, overrides, message):
    calendar = default_calendar()
    response = admin_client.post(f"/console/admin/calendars/{calendar.id}/import-holidays",
                                 data=import_form(admin_client, **overrides))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count(CalendarDay) == 0


def test_import_needs_the_csrf_token(admin_client):
    calendar = default_calendar()
    data = import_form(admin_client)
    del data["csrf_token"]
    response = admin_client.post(f"/console/admin/calendars/{calendar.id}/import-holidays",
                                 data=data)
    assert response.status_code == 400
    assert count(CalendarDay) == 0


def test_country_list_is_localised(admin_client):
    from flask_babel import refresh

    calendar = default_calendar()
    page = admin_client.get(f"/console/admin/calendars/{calendar.id}/days").get_data(
        as_text=True)
    assert 'value="CN"' in page and "China (CN)" in page
    refresh()  # tests share one app context, where Flask-Babel caches the locale
    page = admin_client.get(f"/console/admin/calendars/{calendar.id}/days?lang=zh_CN").get_data(
        as_text=True)
    assert "中国 (CN)" in page


def test_a_new_holiday_applies_at_once(admin_client, make_ticket):
    calendar = default_calendar()
    holiday = datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI)
    with time_machine.travel(holiday, tick=False):
        assert make_ticket(urgency=Priority.URGENT).first_response_due_at == \
            holiday + timedelta(hours=1)  # 24x7, and the SLA snapshot is loaded
    response = admin_client.post(f"/console/admin/calendars/{calendar.id}/days",
                                 data=day_form(admin_client, day="2026-12-01", name="Closed"))
    assert response.status_code == 303
    with time_machine.travel(holiday, tick=False):
        ticket = make_ticket(urgency=Priority.URGENT)
    assert ticket.first_response_due_at == datetime(2026, 12, 2, 1, 0, tzinfo=SHANGHAI)


def test_control_characters_are_stripped_from_names(admin_client):
    response = admin_client.post("/console/admin/calendars/new",
                                 data=calendar_form(admin_client, name="Night\x00 desk\x07"))
    assert response.status_code == 303
    assert db.session.scalar(select(BusinessCalendar.name)
                             .where(BusinessCalendar.name.like("Night%"))) == "Night desk"


JUNK = ["", " ", "0", "-1", "1e9", "9" * 30, "２０２６", "null", "<b>x</b>", "\x00", "😀" * 50,
        "2026-02-29", "24:00-24:00", "00:00-24:00, 00:00-24:00", "x" * 5000]


def test_no_input_makes_a_500(admin_client):
    calendar = default_calendar()
    urgent = policy(Priority.URGENT)
    forms = {f"/console/admin/sla/{urgent.id}/edit": policy_form(admin_client, calendar.id),
             "/console/admin/calendars/new": calendar_form(admin_client),
             f"/console/admin/calendars/{calendar.id}/edit": calendar_form(admin_client),
             f"/console/admin/calendars/{calendar.id}/days": day_form(admin_client),
             f"/console/admin/calendars/{calendar.id}/import-holidays": import_form(admin_client)}
    for url, base in forms.items():
        for name in base:
            if name == "csrf_token":
                continue
            for junk in JUNK:
                response = admin_client.post(url, data={**base, name: junk})
                assert response.status_code < 500, (url, name, junk)
        assert admin_client.post(url, data={"csrf_token": admin_client.csrf_token}
                                 ).status_code < 500, url


def test_day_forms_need_the_csrf_token(admin_client):
    calendar = default_calendar()
    url = f"/console/admin/calendars/{calendar.id}/days"
    assert admin_client.post(url, data=day_form(admin_client)).status_code == 303
    data = day_form(admin_client, day="2026-05-02")
    del data["csrf_token"]
    assert admin_client.post(url, data=data).status_code == 400
    assert admin_client.post(f"{url}/2026-05-01/delete").status_code == 400
    assert admin_client.post(f"/console/admin/calendars/{calendar.id}/delete").status_code == 400
    assert count(CalendarDay) == 1 and count(BusinessCalendar) == 1
