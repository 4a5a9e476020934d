"""Editing SLA policies and business calendars: targets, weekly hours, holidays, imports."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from zoneinfo import available_timezones

from flask_babel import lazy_gettext as _l
from sqlalchemy import extract, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from service.errors import Conflict, InvalidInput, NotFound
from service.extensions import db
from service.validation import is_id, strip_controls
from tickets.calendar import parse_weekly_hours
from tickets.models import PRIORITY_ORDER, BusinessCalendar, CalendarDay, SlaPolicy

MIN_TARGET_MINUTES = 1
MAX_TARGET_MINUTES = 365 * 24 * 60
MIN_WARNING_PERCENT, MAX_WARNING_PERCENT = 50, 99
# Calendar days and holiday imports: a range that covers any real planning horizon.
MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_IMPORT_YEARS = 5
WEEKDAYS = range(7)  # 0 = Monday, as BusinessCalendar.weekly_hours stores them

_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–~]\s*(\d{1,2}):(\d{2})\s*$")
_SPAN_SEPARATORS = re.compile(r"[,，;；\n]")

Spans = list[list[str]]  # [["09:00", "12:00"], ["13:00", "18:00"]]


def _flush_or_refuse(field: str, message) -> None:
    """Flush; a unique clash with a concurrent request becomes a form error, not a 500."""
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise InvalidInput(errors={field: [message]}) from None


# ---- policies ----

def list_policies() -> list[SlaPolicy]:
    """The SLA policies, most urgent first, with their calendars."""
    policies = db.session.scalars(select(SlaPolicy).options(selectinload(SlaPolicy.calendar)))
    return sorted(policies, key=lambda policy: -PRIORITY_ORDER.index(policy.priority))


def get_policy(policy_id: int) -> SlaPolicy:
    """The policy with this id, or NotFound."""
    policy = db.session.get(SlaPolicy, policy_id) if is_id(policy_id) else None
    if policy is None:
        raise NotFound("No such SLA policy.")
    return policy


def update_policy(policy: SlaPolicy, *, first_response_minutes: int, resolution_minutes: int,
                  warning_percent: int, calendar_id: int) -> None:
    """Change a policy's targets, warning point and calendar (InvalidInput if out of range).

    New tickets use the new terms at once (the SLA snapshot watches SlaPolicy); open
    tickets keep their due times until their clock is next recomputed.
    """
    errors: dict[str, list[str]] = {}
    for field, minutes in (("first_response", first_response_minutes),
                           ("resolution", resolution_minutes)):
        if not MIN_TARGET_MINUTES <= minutes <= MAX_TARGET_MINUTES:
            errors[field] = [_l("A target must be between 1 minute and 365 days.")]
    if not errors and first_response_minutes > resolution_minutes:
        errors["first_response"] = [_l("First response cannot be later than resolution.")]
    if not MIN_WARNING_PERCENT <= warning_percent <= MAX_WARNING_PERCENT:
        errors["warning_percent"] = [_l("The warning point must be between %(low)s and "
                                         "%(high)s %%.", low=MIN_WARNING_PERCENT,
                                         high=MAX_WARNING_PERCENT)]
    calendar = db.session.get(BusinessCalendar, calendar_id) if is_id(calendar_id) else None
    if calendar is None:
        errors["calendar_id"] = [_l("Choose one of the business calendars.")]
    if errors:
        raise InvalidInput(errors=errors)
    policy.first_response_minutes = first_response_minutes
    policy.resolution_minutes = resolution_minutes
    policy.warning_ratio_percent = warning_percent
    policy.calendar = calendar  # the relationship too: the SLA snapshot reads it


# ---- calendars ----

@dataclass(frozen=True)
class CalendarRow:
    calendar: BusinessCalendar
    policy_names: list[str]
    day_count: int


def list_calendars() -> list[CalendarRow]:
    """Every calendar with the policies that use it and how many special days it has."""
    calendars = list(db.session.scalars(select(BusinessCalendar).order_by(BusinessCalendar.name)))
    day_counts = dict(db.session.execute(
        select(CalendarDay.calendar_id, func.count()).group_by(CalendarDay.calendar_id)).all())
    policy_names: dict[int, list[str]] = {}
    for calendar_id, name in db.session.execute(
            select(SlaPolicy.calendar_id, SlaPolicy.name).order_by(SlaPolicy.name)):
        policy_names.setdefault(calendar_id, []).append(name)
    return [CalendarRow(calendar, policy_names.get(calendar.id, []),
                        day_counts.get(calendar.id, 0))
            for calendar in calendars]


def calendar_choices() -> list[tuple[int, str]]:
    """(id, name) of every calendar, for a select."""
    return [(row.id, row.name) for row in db.session.execute(
        select(BusinessCalendar.id, BusinessCalendar.name).order_by(BusinessCalendar.name))]


def get_calendar(calendar_id: int) -> BusinessCalendar:
    """The calendar with this id, or NotFound."""
    calendar = db.session.get(BusinessCalendar, calendar_id) if is_id(calendar_id) else None
    if calendar is None:
        raise NotFound("No such business calendar.")
    return calendar


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def timezone_names() -> list[str]:
    """The IANA time zones this installation knows, sorted."""
    return sorted(_zones())


def is_timezone(name: str) -> bool:
    """Whether the name is a known IANA zone (checked by list: never opens a path)."""
    return name in _zones()


def parse_day_hours(text: str) -> Spans:
    """Parse "09:00-12:00, 13:00-18:00" into sorted [start, end] pairs (ValueError if bad).

    Times are HH:MM, "24:00" may end a day, each start is before its end and intervals
    may not overlap; an empty text means the day is closed.
    """
    spans: list[tuple[int, int]] = []
    for part in _SPAN_SEPARATORS.split(text or ""):
        if not part.strip():
            continue
        match = _SPAN.match(part)
        if match is None:
            raise ValueError(_l("Write each interval as HH:MM-HH:MM, e.g. 09:00-18:00."))
        start_h, start_m, end_h, end_m = (int(group) for group in match.groups())
        start, end = start_h * 60 + start_m, end_h * 60 + end_m
        if start_h > 23 or start_m > 59 or end_m > 59 or end > 24 * 60:
            raise ValueError(_l("%(span)s is not a time of day (00:00 to 24:00).",
                               span=part.strip()))
        if start >= end:
            raise ValueError(_l("%(span)s ends before it starts.", span=part.strip()))
        spans.append((start, end))
    spans.sort()
    for earlier, later in zip(spans, spans[1:], strict=False):
        if later[0] < earlier[1]:
            raise ValueError(_l("Intervals overlap: %(first)s and %(second)s.",
                               first=format_day_hours([[_hhmm(m) for m in earlier]]),
                               second=format_day_hours([[_hhmm(m) for m in later]])))
    return [[_hhmm(start), _hhmm(end)] for start, end in spans]


def format_day_hours(spans: Spans | None) -> str:
    """Inverse of parse_day_hours."""
    return ", ".join(f"{start}-{end}" for start, end in spans or [])


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def save_calendar(calendar: BusinessCalendar | None, *, name: str, timezone: str,
                  weekly_hours: dict[int, Spans]) -> BusinessCalendar:
    """Create (calendar None) or update a calendar; InvalidInput names the bad fields."""
    name = strip_controls(name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name or len(name) > 80:
        errors["name"] = [_l("Give the calendar a name of at most 80 characters.")]
    else:
        clash = select(BusinessCalendar.id).where(BusinessCalendar.name == name)
        if calendar is not None:
            clash = clash.where(BusinessCalendar.id != calendar.id)
        if db.session.scalar(clash) is not None:
            errors["name"] = [_l("Another calendar already has this name.")]
    if not is_timezone(timezone or ""):
        errors["timezone"] = [_l("Choose a time zone from the list, e.g. Asia/Shanghai.")]
    stored = {str(day): [list(span) for span in weekly_hours.get(day, [])] for day in WEEKDAYS}
    if not any(stored.values()):
        errors["hours"] = [_l("Give at least one day working hours.")]
    else:
        try:  # the engine's own check, so nothing it would refuse is ever stored
            parse_weekly_hours(stored)
        except ValueError as error:
            errors["hours"] = [str(error)]
    if errors:
        raise InvalidInput(errors=errors)
    if calendar is None:
        calendar = BusinessCalendar(name=name, timezone=timezone, weekly_hours=stored)
        db.session.add(calendar)
    else:
        calendar.name, calendar.timezone = name, timezone
        calendar.weekly_hours = stored  # a new object, so the JSON change is detected
    _flush_or_refuse("name", _l("Another calendar already has this name."))
    return calendar


def delete_calendar(calendar: BusinessCalendar) -> None:
    """Delete a calendar no SLA policy uses (Conflict otherwise)."""
    used_by = list(db.session.scalars(select(SlaPolicy.name)
                                      .where(SlaPolicy.calendar_id == calendar.id)))
    if used_by:
        raise Conflict(_l("This calendar is used by the SLA policies %(names)s; give them "
                         "another calendar first.", names=", ".join(used_by)))
    db.session.delete(calendar)
    db.session.flush()


def usual_working_hours(calendar: BusinessCalendar) -> Spans:
    """The hours of a regular working day: the first weekday (Mon–Fri) that has hours."""
    weekly = calendar.weekly_hours or {}
    for day in (*range(5), 5, 6):
        if weekly.get(str(day)):
            return [list(span) for span in weekly[str(day)]]
    return []


# ---- holidays and extra working days ----

def check_day(day: date, field: str = "day") -> None:
    """InvalidInput unless the date lies in the years calendars may hold."""
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise InvalidInput(errors={field: [_l("Choose a date between %(first)s and %(last)s.",
                                             first=MIN_YEAR, last=MAX_YEAR)]})


def add_day(calendar: BusinessCalendar, day: date, name: str,
            working_hours: Spans | None) -> CalendarDay:
    """Add a holiday (working_hours None) or an extra working day; never replaces one."""
    check_day(day)
    if working_hours is not None and not working_hours:
        raise InvalidInput(errors={"hours": [_l("An extra working day needs working hours.")]})
    if db.session.get(CalendarDay, (calendar.id, day)) is not None:
        raise InvalidInput(errors={"day": [_l("This date already has an entry; remove it "
                                             "first to change it.")]})
    entry = CalendarDay(day=day, name=strip_controls(name or "").strip()[:120],
                        is_working_day=working_hours is not None, hours=working_hours)
    # Through the relationship, so a calendar already loaded in this session (sessions
    # keep objects across commits) sees the day when the SLA snapshot reloads.
    calendar.days.append(entry)
    _flush_or_refuse("day", _l("This date already has an entry; remove it first to change it."))
    return entry


def remove_day(calendar: BusinessCalendar, day: date) -> None:
    """Remove one holiday or extra working day (NotFound if the date has none)."""
    entry = db.session.get(CalendarDay, (calendar.id, day))
    if entry is None:
        raise NotFound("This date has no entry.")
    calendar.days.remove(entry)  # delete-orphan: the row goes at flush
    db.session.flush()


def days_in_year(calendar: BusinessCalendar, year: int) -> list[CalendarDay]:
    """The calendar's holidays and extra working days of one year, by date."""
    return list(db.session.scalars(
        select(CalendarDay).where(CalendarDay.calendar_id == calendar.id,
                                  CalendarDay.day >= date(year, 1, 1),
                                  CalendarDay.day <= date(year, 12, 31))
        .order_by(CalendarDay.day)))


def years_with_days(calendar: BusinessCalendar) -> list[int]:
    """The years in which the calendar has special days."""
    year = extract("year", CalendarDay.day)
    return [int(value) for value in db.session.scalars(
        select(year).where(CalendarDay.calendar_id == calendar.id).distinct().order_by(year))]


# ---- public holidays from the `holidays` package ----

@dataclass(frozen=True)
class ImportReport:
    holidays_added: int
    working_days_added: int
    skipped: int


def holiday_countries() -> list[str]:
    """ISO 3166-1 alpha-2 codes of the countries the holidays package knows."""
    from holidays.registry import COUNTRIES

    return sorted({entry[1] for entry in COUNTRIES.values()})


def country_subdivisions(country: str) -> tuple[str, ...]:
    """The subdivision codes (states, provinces…) of a supported country."""
    import holidays

    return tuple(getattr(holidays, country).subdivisions) if country in holiday_countries() \
        else ()


def parse_years(text: str) -> list[int]:
    """Parse "2026, 2027" (or "2026-2028") into years; InvalidInput when out of range."""
    years: set[int] = set()
    for part in re.split(r"[,，\s]+", (text or "").strip()):
        if not part:
            continue
        bounds = re.fullmatch(r"(\d{1,4})(?:-(\d{1,4}))?", part)
        if bounds is None:
            raise InvalidInput(errors={"years": [_l("Write years like 2026, 2027.")]})
        first = int(bounds.group(1))
        last = int(bounds.group(2) or first)
        if not MIN_YEAR <= first <= last <= MAX_YEAR:
            raise InvalidInput(errors={"years": [_l("Years must lie between %(first)s and "
                                                   "%(last)s.", first=MIN_YEAR,
                                                   last=MAX_YEAR)]})
        years.update(range(first, last + 1))
        if len(years) > MAX_IMPORT_YEARS:
            raise InvalidInput(errors={"years": [_l("Import at most %(n)s years at a time.",
                                                   n=MAX_IMPORT_YEARS)]})
    if not years:
        raise InvalidInput(errors={"years": [_l("Give at least one year.")]})
    return sorted(years)


def import_public_holidays(calendar: BusinessCalendar, country: str, years: list[int],
                           subdivision: str | None = None, language: str | None = None,
                           make_up_day_name: str = "Official make-up working day"
                           ) -> ImportReport:
    """Add a country's public holidays (and official make-up working days) to a calendar.

    Dates the calendar already has (typed by hand or imported before) are skipped, never
    overwritten. Make-up working days (China's 调休 and the like, which the package lists
    as `weekend_workdays`) become extra working days with the calendar's usual weekday
    hours. Holiday names come in `language` where the package has it (e.g. "zh_CN").
    """
    import holidays

    country = (country or "").strip().upper()
    if country not in holiday_countries():
        raise InvalidInput(errors={"country": [_l("Choose a country from the list.")]})
    for year in years:
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise InvalidInput(errors={"years": [_l("Years must lie between %(first)s and "
                                                   "%(last)s.", first=MIN_YEAR,
                                                   last=MAX_YEAR)]})
    subdiv = None
    if subdivision and subdivision.strip():
        known = {code.upper(): code for code in country_subdivisions(country)}
        subdiv = known.get(subdivision.strip().upper())
        if subdiv is None:
            raise InvalidInput(errors={"subdivision": [
                _l("Unknown subdivision for this country; known codes: %(codes)s.",
                  codes=", ".join(sorted(known.values())) or "—")]})
    entity = getattr(holidays, country)
    chosen_language = language if language in entity.supported_languages else None
    found = holidays.country_holidays(country, subdiv=subdiv, years=years,
                                      language=chosen_language)
    wanted = set(years)
    days_off = {day: name for day, name in found.items() if day.year in wanted}
    workdays = sorted(day for day in getattr(found, "weekend_workdays", ()) if day.year in wanted)
    present = set(db.session.scalars(select(CalendarDay.day).where(
        CalendarDay.calendar_id == calendar.id,
        CalendarDay.day >= date(min(years), 1, 1), CalendarDay.day <= date(max(years), 12, 31))))
    added_off = added_work = skipped = 0
    for day in sorted(days_off):
        if day in present:
            skipped += 1
            continue
        calendar.days.append(CalendarDay(day=day, name=str(days_off[day])[:120],
                                         is_working_day=False))
        present.add(day)
        added_off += 1
    hours = usual_working_hours(calendar)
    for day in workdays:
        if day in present or not hours:
            skipped += 1
            continue
        calendar.days.append(CalendarDay(day=day, name=make_up_day_name[:120],
                                         is_working_day=True, hours=hours))
        present.add(day)
        added_work += 1
    _flush_or_refuse("country", _l("Another change to this calendar's days came first; "
                                   "please import again."))
    return ImportReport(added_off, added_work, skipped)
