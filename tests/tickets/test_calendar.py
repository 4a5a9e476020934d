from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tickets.calendar import (
    WorkingCalendar,
    add_business_time,
    business_time_between,
    dump_weekly_hours,
    parse_weekly_hours,
    validate_weekly_hours,
)

H = timedelta(hours=1)
MIDNIGHT = time(0, 0)
SHANGHAI = "Asia/Shanghai"
BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
SANTIAGO = "America/Santiago"


def local(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def shanghai(*args: int) -> datetime:
    return local(SHANGHAI, *args)


def berlin(*args: int) -> datetime:
    return local(BERLIN, *args)


def new_york(*args: int) -> datetime:
    return local(NEW_YORK, *args)


def weekdays(*spans: tuple[time, time], days: range = range(5)) -> dict[int, list]:
    return {day: list(spans) for day in days}


OFFICE = weekdays((time(9), time(18)))  # Mon-Fri 09:00-18:00
FULL_DAY = (MIDNIGHT, MIDNIGHT)
# 2026-03-06 is a Friday, so these are the Saturday and Monday after it.
SAT, MON = date(2026, 3, 7), date(2026, 3, 9)


def shanghai_office(**kwargs) -> WorkingCalendar:
    return WorkingCalendar(SHANGHAI, OFFICE, **kwargs)


# --- 24x7 -----------------------------------------------------------------


def test_always_open_adds_real_time():
    calendar = WorkingCalendar.always_open()
    start = utc(2026, 3, 7, 22, 30)
    assert calendar.is_always_open
    assert add_business_time(calendar, start, H) == utc(2026, 3, 7, 23, 30)
    assert add_business_time(calendar, start, 8 * H) == utc(2026, 3, 8, 6, 30)


def test_always_open_between():
    calendar = WorkingCalendar.always_open()
    assert business_time_between(calendar, utc(2026, 3, 6, 12), utc(2026, 3, 9, 13)) == 73 * H
    assert business_time_between(calendar, utc(2026, 3, 9), utc(2026, 3, 6)) == timedelta(0)


def test_results_are_utc_even_for_local_inputs():
    result = add_business_time(shanghai_office(), shanghai(2026, 3, 9, 10), H)
    assert result == utc(2026, 3, 9, 3)
    assert result.tzinfo is timezone.utc
    fast = add_business_time(WorkingCalendar.always_open(BERLIN), berlin(2026, 3, 9), H)
    assert fast.tzinfo is timezone.utc


# --- office hours in Asia/Shanghai ----------------------------------------------


def test_friday_afternoon_rolls_over_weekend():
    start = shanghai(2026, 3, 6, 17)
    assert add_business_time(shanghai_office(), start, 4 * H) == shanghai(2026, 3, 9, 12)


def test_ticket_on_saturday_starts_counting_monday_morning():
    start = shanghai(2026, 3, 7, 10)
    assert add_business_time(shanghai_office(), start, H) == shanghai(2026, 3, 9, 10)


def test_monday_holiday_pushes_to_tuesday():
    calendar = shanghai_office(holidays=frozenset({MON}))
    start = shanghai(2026, 3, 6, 17)
    assert add_business_time(calendar, start, 4 * H) == shanghai(2026, 3, 10, 12)
    assert business_time_between(calendar, start, shanghai(2026, 3, 10, 12)) == 4 * H


def test_extra_working_saturday_counts():
    calendar = shanghai_office(extra_working_days={SAT: [(time(10), time(14))]})
    start = shanghai(2026, 3, 6, 17)
    assert add_business_time(calendar, start, 4 * H) == shanghai(2026, 3, 7, 13)
    assert add_business_time(calendar, start, 6 * H) == shanghai(2026, 3, 9, 10)


def test_extra_working_day_overrides_holiday():
    calendar = shanghai_office(
        holidays=frozenset({MON}), extra_working_days={MON: [(time(14), time(16))]}
    )
    start = shanghai(2026, 3, 6, 18)
    assert add_business_time(calendar, start, 3 * H) == shanghai(2026, 3, 10, 10)


def test_target_crossing_midnight_and_weekend():
    calendar = shanghai_office()
    assert add_business_time(calendar, shanghai(2026, 3, 5, 17), 10 * H) == local(
        SHANGHAI, 2026, 3, 6, 18
    )
    assert add_business_time(calendar, shanghai(2026, 3, 6, 12), 20 * H) == local(
        SHANGHAI, 2026, 3, 10, 14
    )
    # 120 h is 13 working days plus 3 h: Mon 9 Mar 12:00 -> Thu 26 Mar 12:00.
    assert add_business_time(calendar, shanghai(2026, 3, 9, 9), 120 * H) == local(
        SHANGHAI, 2026, 3, 26, 12
    )


def test_deadline_at_end_of_day_stays_on_that_day():
    start = shanghai(2026, 3, 6, 16)
    assert add_business_time(shanghai_office(), start, 2 * H) == shanghai(2026, 3, 6, 18)


def test_start_given_in_another_zone():
    start = utc(2026, 3, 6, 9)  # Fri 17:00 in Shanghai
    assert add_business_time(shanghai_office(), start, 4 * H) == utc(2026, 3, 9, 4)


def test_between_office_hours():
    calendar = shanghai_office()
    friday = shanghai(2026, 3, 6, 17)
    assert business_time_between(calendar, friday, shanghai(2026, 3, 9, 12)) == 4 * H
    assert business_time_between(calendar, friday, shanghai(2026, 3, 8, 23)) == H
    saturday = shanghai(2026, 3, 7, 1)
    assert business_time_between(calendar, saturday, shanghai(2026, 3, 8, 23)) == timedelta(0)
    assert business_time_between(calendar, shanghai(2026, 3, 9), shanghai(2026, 3, 16)) == 45 * H


def test_zero_duration_means_now_even_outside_working_time():
    saturday = shanghai(2026, 3, 7, 10)
    assert add_business_time(shanghai_office(), saturday, timedelta(0)) == saturday
    monday = shanghai(2026, 3, 9, 10)
    assert add_business_time(shanghai_office(), monday, timedelta(0)) == monday


# --- split days and night shifts ----------------------------------------------------


def test_split_day_skips_lunch_break():
    calendar = WorkingCalendar(SHANGHAI, weekdays((time(9), time(12)), (time(13), time(18))))
    assert add_business_time(calendar, shanghai(2026, 3, 9, 11), 2 * H) == local(
        SHANGHAI, 2026, 3, 9, 14
    )
    assert add_business_time(calendar, shanghai(2026, 3, 9, 11, 30), H / 2) == local(
        SHANGHAI, 2026, 3, 9, 12
    )
    assert add_business_time(calendar, shanghai(2026, 3, 9, 12, 30), H) == local(
        SHANGHAI, 2026, 3, 9, 14
    )
    assert add_business_time(calendar, shanghai(2026, 3, 9, 17), 5 * H) == local(
        SHANGHAI, 2026, 3, 10, 14
    )
    start, end = shanghai(2026, 3, 9, 11), shanghai(2026, 3, 9, 14)
    assert business_time_between(calendar, start, end) == 2 * H


def test_night_shift_is_continuous_across_midnight():
    calendar = WorkingCalendar(SHANGHAI, {0: [(time(22), MIDNIGHT)], 1: [(MIDNIGHT, time(6))]})
    monday = shanghai(2026, 3, 9, 23)
    assert add_business_time(calendar, monday, 3 * H) == shanghai(2026, 3, 10, 2)
    assert add_business_time(calendar, monday, H) == shanghai(2026, 3, 10, 0)
    assert add_business_time(calendar, monday, 7 * H) == shanghai(2026, 3, 10, 6)
    assert add_business_time(calendar, monday, 8 * H) == shanghai(2026, 3, 16, 23)
    shift = (shanghai(2026, 3, 9, 22), shanghai(2026, 3, 10, 6))
    assert business_time_between(calendar, *shift) == 8 * H
    assert business_time_between(calendar, shanghai(2026, 3, 9), shanghai(2026, 3, 16)) == 8 * H


# --- daylight saving time -------------------------------------------------------------
# Berlin: 2026-03-29 02:00 CET -> 03:00 CEST; 2026-10-25 03:00 CEST -> 02:00 CET.
# New York: 2026-03-08 02:00 EST -> 03:00 EDT; 2026-11-01 02:00 EDT -> 01:00 EST.


def full_week_with_holiday(zone: str) -> WorkingCalendar:
    # The (irrelevant) holiday forces the general day-walking path.
    calendar = WorkingCalendar(
        zone, weekdays(FULL_DAY, days=range(7)), holidays=frozenset({date(2020, 1, 1)})
    )
    assert not calendar.is_always_open
    return calendar


def test_always_open_in_local_zone_is_real_time():
    calendar = WorkingCalendar(BERLIN, weekdays(FULL_DAY, days=range(7)))
    assert calendar.is_always_open
    start = berlin(2026, 3, 28, 12)
    assert add_business_time(calendar, start, 24 * H) == berlin(2026, 3, 29, 13)
    assert add_business_time(calendar, start, 24 * H) == utc(2026, 3, 29, 11)
    assert business_time_between(calendar, berlin(2026, 3, 29), berlin(2026, 3, 30)) == 23 * H


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        (BERLIN, date(2026, 3, 29), 23),
        (BERLIN, date(2026, 10, 25), 25),
        (BERLIN, date(2026, 3, 30), 24),
        (NEW_YORK, date(2026, 3, 8), 23),
        (NEW_YORK, date(2026, 11, 1), 25),
        # Santiago shifts at midnight: 04-05 00:00 -> 04-04 23:00; 09-06 00:00 -> 01:00.
        (SANTIAGO, date(2026, 4, 4), 25),
        (SANTIAGO, date(2026, 9, 6), 23),
    ],
)
def test_full_day_has_real_length_on_general_path(zone, day, hours):
    calendar = full_week_with_holiday(zone)
    start = local(zone, day.year, day.month, day.day)
    end = datetime.combine(day + timedelta(days=1), MIDNIGHT, tzinfo=ZoneInfo(zone))
    assert business_time_between(calendar, start, end) == hours * H
    assert add_business_time(calendar, start, hours * H) == end


def test_general_path_across_spring_forward_night():
    calendar = full_week_with_holiday(BERLIN)
    start = berlin(2026, 3, 28, 12)  # 11:00 UTC
    assert add_business_time(calendar, start, 24 * H) == utc(2026, 3, 29, 11)
    assert add_business_time(calendar, new_york(2026, 3, 7, 12), 24 * H) == utc(2026, 3, 8, 17)
    new_york_calendar = full_week_with_holiday(NEW_YORK)
    deadline = add_business_time(new_york_calendar, new_york(2026, 3, 7, 12), 24 * H)
    assert deadline == new_york(2026, 3, 8, 13)


def test_interval_containing_skipped_and_repeated_hour():
    calendar = WorkingCalendar(BERLIN, {6: [(time(1), time(4))]})  # Sundays only
    spring = (berlin(2026, 3, 29), berlin(2026, 3, 30))
    autumn = (berlin(2026, 10, 25), berlin(2026, 10, 26))
    assert business_time_between(calendar, *spring) == 2 * H
    assert business_time_between(calendar, *autumn) == 4 * H
    assert add_business_time(calendar, spring[0], 2 * H) == utc(2026, 3, 29, 2)  # 04:00 CEST
    assert add_business_time(calendar, berlin(2026, 3, 29, 1, 30), H) == utc(2026, 3, 29, 1, 30)
    assert add_business_time(calendar, autumn[0], 4 * H) == utc(2026, 10, 25, 3)  # 04:00 CET


def test_nonexistent_start_maps_to_gap_end_and_ambiguous_uses_first_occurrence():
    calendar = WorkingCalendar(BERLIN, {6: [(time(2, 30), time(5))]})
    spring = (berlin(2026, 3, 29), berlin(2026, 3, 30))
    autumn = (berlin(2026, 10, 25), berlin(2026, 10, 26))
    assert add_business_time(calendar, spring[0], timedelta(minutes=1)) == utc(2026, 3, 29, 1, 1)
    assert business_time_between(calendar, *spring) == 2 * H  # 03:00-05:00 CEST
    assert add_business_time(calendar, autumn[0], timedelta(minutes=1)) == utc(2026, 10, 25, 0, 31)
    assert business_time_between(calendar, *autumn) == 3.5 * H  # 02:30 CEST-05:00 CET

    ny_calendar = WorkingCalendar(NEW_YORK, {6: [(time(1, 30), time(3))]})
    start = new_york(2026, 11, 1)
    assert add_business_time(ny_calendar, start, timedelta(minutes=1)) == utc(2026, 11, 1, 5, 31)
    assert business_time_between(ny_calendar, start, new_york(2026, 11, 2)) == 2.5 * H


def test_interval_wholly_inside_gap_has_no_time():
    calendar = WorkingCalendar(BERLIN, {6: [(time(2, 15), time(2, 45))]})
    spring = (berlin(2026, 3, 29), berlin(2026, 3, 30))
    assert business_time_between(calendar, *spring) == timedelta(0)
    assert add_business_time(calendar, spring[0], H / 4) == berlin(2026, 4, 5, 2, 30)


def test_business_time_between_across_dst_change():
    calendar = WorkingCalendar(BERLIN, weekdays((time(9), time(17))))
    spring = (berlin(2026, 3, 27, 16), berlin(2026, 3, 30, 10))
    autumn = (berlin(2026, 10, 23, 16), berlin(2026, 10, 26, 10))
    assert business_time_between(calendar, *spring) == 2 * H
    assert business_time_between(calendar, *autumn) == 2 * H
    assert business_time_between(calendar, berlin(2026, 3, 23), berlin(2026, 4, 6)) == 80 * H


@pytest.mark.parametrize(
    ("start", "deadline"),
    [
        (berlin(2026, 3, 27, 16), utc(2026, 3, 30, 8)),  # Mon 10:00 CEST
        (berlin(2026, 10, 23, 16), utc(2026, 10, 26, 9)),  # Mon 10:00 CET
        (new_york(2026, 3, 6, 16), utc(2026, 3, 9, 14)),  # Mon 10:00 EDT
        (new_york(2026, 10, 30, 16), utc(2026, 11, 2, 15)),  # Mon 10:00 EST
    ],
)
def test_deadline_keeps_local_wall_clock_when_dst_changes_overnight(start, deadline):
    calendar = WorkingCalendar(str(start.tzinfo), weekdays((time(9), time(17))))
    assert add_business_time(calendar, start, 2 * H) == deadline


def test_daily_office_over_dst_sunday():
    calendar = WorkingCalendar(BERLIN, weekdays((time(9), time(17)), days=range(7)))
    saturday = berlin(2026, 3, 28, 16)
    assert add_business_time(calendar, saturday, 2 * H) == berlin(2026, 3, 29, 10)
    assert add_business_time(calendar, saturday, 9 * H) == berlin(2026, 3, 29, 17)
    assert add_business_time(calendar, saturday, 9 * H) == utc(2026, 3, 29, 15)


# --- inverse property ---------------------------------------------------------------------

INVERSE_CALENDARS = [
    shanghai_office(holidays=frozenset({MON}), extra_working_days={SAT: [(time(10), time(14))]}),
    WorkingCalendar(SHANGHAI, weekdays((time(9), time(12)), (time(13), time(18)))),
    WorkingCalendar(SHANGHAI, {0: [(time(22), MIDNIGHT)], 1: [(MIDNIGHT, time(6))]}),
    WorkingCalendar(BERLIN, weekdays((time(9), time(17)), days=range(7))),
    WorkingCalendar(BERLIN, {6: [(time(1), time(4))], 2: [(time(2, 30), time(5))]}),
    full_week_with_holiday(NEW_YORK),
    full_week_with_holiday(SANTIAGO),
    WorkingCalendar(SANTIAGO, {5: [(time(20), MIDNIGHT)], 6: [(MIDNIGHT, time(3))]}),
    WorkingCalendar.always_open(BERLIN),
]
DURATIONS = [timedelta(minutes=1), H / 2, H, 4 * H, 9 * H, 27 * H, 120 * H]


@pytest.mark.parametrize("calendar", INVERSE_CALENDARS)
def test_between_is_inverse_of_add(calendar):
    starts = [utc(2026, 3, 5, 7, 13) + k * timedelta(hours=7, minutes=17) for k in range(40)]
    starts += [utc(2026, 10, 22, 23, 59) + k * timedelta(hours=5) for k in range(30)]
    starts += [utc(2026, 9, 4, 21, 1) + k * timedelta(hours=3) for k in range(20)]
    for start in starts:
        for duration in DURATIONS:
            deadline = add_business_time(calendar, start, duration)
            assert deadline > start
            assert business_time_between(calendar, start, deadline) == duration
            just_before = deadline - timedelta(seconds=1)
            assert business_time_between(calendar, start, just_before) < duration
        end = start + timedelta(days=3, hours=5)
        elapsed = business_time_between(calendar, start, end)
        if elapsed:
            assert add_business_time(calendar, start, elapsed) <= end


# --- errors and validation ---------------------------------------------------------------


def test_naive_datetimes_are_rejected():
    calendar, aware = shanghai_office(), utc(2026, 3, 9)
    naive = datetime(2026, 3, 9, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_time(calendar, naive, H)
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_time(WorkingCalendar.always_open(), naive, H)
    with pytest.raises(ValueError, match="timezone-aware"):
        business_time_between(calendar, naive, aware)
    with pytest.raises(ValueError, match="timezone-aware"):
        business_time_between(calendar, aware, naive)


def test_negative_duration_is_rejected():
    with pytest.raises(ValueError, match="negative"):
        add_business_time(shanghai_office(), utc(2026, 3, 9), -H)
    with pytest.raises(ValueError, match="negative"):
        add_business_time(WorkingCalendar.always_open(), utc(2026, 3, 9), -H)


def test_no_working_time_in_the_foreseeable_future_is_an_error():
    start = date(2026, 3, 1)
    holidays = frozenset(start + timedelta(days=k) for k in range(3700))
    calendar = WorkingCalendar("UTC", {0: [(time(9), time(17))]}, holidays=holidays)
    with pytest.raises(ValueError, match="no working time"):
        add_business_time(calendar, utc(2026, 3, 1), H)
    past_only = WorkingCalendar(
        "UTC", {}, extra_working_days={date(2020, 1, 1): [(time(9), time(17))]}
    )
    with pytest.raises(ValueError, match="no working time"):
        add_business_time(past_only, utc(2026, 3, 1), H)


def test_empty_calendar_is_rejected():
    for weekly in ({}, {0: [], 6: []}):
        with pytest.raises(ValueError, match="no working time"):
            validate_weekly_hours(weekly)
        with pytest.raises(ValueError, match="no working time"):
            WorkingCalendar("UTC", weekly)
    with pytest.raises(ValueError, match="no working time"):
        parse_weekly_hours({})
    with pytest.raises(ValueError, match="no working time"):
        parse_weekly_hours({"0": []})
    validate_weekly_hours({}, {SAT: [(time(9), time(12))]})  # extra working days suffice


@pytest.mark.parametrize(
    "weekly",
    [
        {0: [(time(18), time(9))]},
        {0: [(time(9), time(9))]},
        {0: [(time(9), time(12)), (time(11), time(13))]},
        {0: [(time(22), MIDNIGHT), (time(23), time(23, 30))]},
        {7: [(time(9), time(17))]},
        {"0": [(time(9), time(17))]},
    ],
)
def test_validate_rejects_malformed_hours(weekly):
    with pytest.raises(ValueError):
        validate_weekly_hours(weekly)


def test_validate_accepts_touching_intervals_and_midnight_end():
    validate_weekly_hours(
        {0: [(time(13), time(18)), (time(9), time(13))], 1: [(time(22), MIDNIGHT)]}
    )
    validate_weekly_hours({0: [FULL_DAY]})


def test_unknown_time_zone_is_rejected():
    with pytest.raises(ValueError, match="time zone"):
        WorkingCalendar("Mars/Olympus_Mons", OFFICE)


def test_is_always_open():
    assert WorkingCalendar.always_open("Asia/Shanghai").is_always_open
    halves = {day: [(time(12), MIDNIGHT), (MIDNIGHT, time(12))] for day in range(7)}
    assert WorkingCalendar("UTC", halves).is_always_open
    assert not WorkingCalendar("UTC", weekdays(FULL_DAY, days=range(6))).is_always_open
    assert not shanghai_office().is_always_open
    full_week = weekdays(FULL_DAY, days=range(7))
    partial_extra = {SAT: [(time(9), time(12))]}
    assert not WorkingCalendar("UTC", full_week, extra_working_days=partial_extra).is_always_open


def test_parse_and_dump_round_trip():
    data = {
        "0": [["13:00", "18:00"], ["09:00", "12:00"]],
        "4": [["22:00", "24:00"]],
        "5": [["00:00", "06:00"]],
    }
    weekly = parse_weekly_hours(data)
    assert weekly == {
        0: [(time(9), time(12)), (time(13), time(18))],
        4: [(time(22), MIDNIGHT)],
        5: [(MIDNIGHT, time(6))],
    }
    assert dump_weekly_hours(weekly) == {
        "0": [["09:00", "12:00"], ["13:00", "18:00"]],
        "4": [["22:00", "24:00"]],
        "5": [["00:00", "06:00"]],
    }
    assert parse_weekly_hours(dump_weekly_hours(weekly)) == weekly
    always = dump_weekly_hours(WorkingCalendar.always_open().weekly_hours)
    assert always["6"] == [["00:00", "24:00"]]


@pytest.mark.parametrize(
    "data",
    [
        {"0": [["09:00", "25:00"]]},
        {"0": [["9am", "18:00"]]},
        {"0": [["9:00", "18:00"]]},
        {"0": [["09:60", "18:00"]]},
        {"0": [["24:00", "24:00"]]},
        {"0": [["18:00", "09:00"]]},
        {"0": [["09:00", "09:00"]]},
        {"0": [["09:00", "12:00"], ["11:00", "13:00"]]},
        {"7": [["09:00", "18:00"]]},
        {"mon": [["09:00", "18:00"]]},
        {"-1": [["09:00", "18:00"]]},
        {0: [["09:00", "18:00"]]},
        {"0": "09:00-18:00"},
        {"0": [["09:00", "12:00", "18:00"]]},
        {"0": [[9, 18]]},
        [["09:00", "18:00"]],
    ],
)
def test_parse_rejects_bad_input(data):
    with pytest.raises(ValueError):
        parse_weekly_hours(data)
