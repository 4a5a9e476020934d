"""Business calendars: working hours, holidays and SLA arithmetic in business time."""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Interval = tuple[time, time]
WeeklyHours = Mapping[int, Sequence[Interval]]
ExtraDays = Mapping[date, Sequence[Interval]]
Span = tuple[datetime, datetime]  # a working interval as UTC instants

MIDNIGHT = time(0, 0)
MAX_IDLE_DAYS = 3660
_ONE_DAY = timedelta(days=1)
_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


@dataclass(frozen=True)
class WorkingCalendar:
    """Working time of a business calendar, in its own time zone."""

    timezone: str
    weekly_hours: WeeklyHours
    holidays: frozenset[date] = frozenset()
    extra_working_days: ExtraDays = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r}") from exc
        validate_weekly_hours(self.weekly_hours, self.extra_working_days)

    @classmethod
    def always_open(cls, timezone: str = "UTC") -> "WorkingCalendar":
        """Return a 24x7 calendar."""
        return cls(timezone, {day: [(MIDNIGHT, MIDNIGHT)] for day in range(7)})

    @property
    def is_always_open(self) -> bool:
        """Whether every instant is working time (24x7 is the same real time in any zone)."""
        return (
            not self.holidays
            and all(_is_full_day(self.weekly_hours.get(day, ())) for day in range(7))
            and all(_is_full_day(spans) for spans in self.extra_working_days.values())
        )


def add_business_time(calendar: WorkingCalendar, start: datetime, duration: timedelta) -> datetime:
    """Return the UTC instant at which `duration` of working time has elapsed after `start`.

    A zero duration means "now" and returns `start` (in UTC) even outside working time.
    """
    begin = _to_utc_instant(start)
    if duration < timedelta(0):
        raise ValueError("duration must not be negative")
    if not duration:
        return begin
    if calendar.is_always_open:
        return begin + duration
    tz = ZoneInfo(calendar.timezone)
    day, remaining, idle = begin.astimezone(tz).date(), duration, 0
    while idle <= MAX_IDLE_DAYS:
        worked = False
        for lo, hi in _day_intervals(calendar, tz, day):
            lo = max(lo, begin)
            if hi <= lo:
                continue
            worked = True
            if remaining <= hi - lo:
                return lo + remaining
            remaining -= hi - lo
        idle = 0 if worked else idle + 1
        day += _ONE_DAY
    raise ValueError(f"calendar has no working time within {MAX_IDLE_DAYS} days")


def business_time_between(calendar: WorkingCalendar, start: datetime, end: datetime) -> timedelta:
    """Working time elapsed in [start, end) (zero if end <= start)."""
    begin, finish = _to_utc_instant(start), _to_utc_instant(end)
    if finish <= begin:
        return timedelta(0)
    if calendar.is_always_open:
        return finish - begin
    tz = ZoneInfo(calendar.timezone)
    day, last = begin.astimezone(tz).date(), finish.astimezone(tz).date()
    total = timedelta(0)
    while day <= last:
        for lo, hi in _day_intervals(calendar, tz, day):
            total += max(timedelta(0), min(hi, finish) - max(lo, begin))
        day += _ONE_DAY
    return total


def validate_weekly_hours(
    weekly_hours: WeeklyHours, extra_working_days: ExtraDays | None = None
) -> None:
    """Raise ValueError unless the hours are well-formed and give some working time."""
    extra_working_days = extra_working_days or {}
    for weekday, spans in weekly_hours.items():
        if weekday not in range(7) or isinstance(weekday, bool):
            raise ValueError(f"weekday must be an int 0..6 (Mon=0), got {weekday!r}")
        _validate_intervals(spans, f"weekday {weekday}")
    for day, spans in extra_working_days.items():
        _validate_intervals(spans, f"extra working day {day}")
    if not any(weekly_hours.values()) and not any(extra_working_days.values()):
        raise ValueError("calendar has no working time: add weekly hours or extra working days")


def parse_weekly_hours(data: Mapping[str, Sequence[Sequence[str]]]) -> dict[int, list[Interval]]:
    """Parse {"0": [["09:00", "18:00"]], ...} (keys "0".."6", "24:00" as end); ValueError if bad."""
    if not isinstance(data, Mapping):
        raise ValueError("weekly hours must be an object keyed by weekday '0'..'6'")
    weekly: dict[int, list[Interval]] = {}
    for key, spans in data.items():
        if key not in [str(day) for day in range(7)]:
            raise ValueError(f"weekday key must be '0'..'6' (Mon=0), got {key!r}")
        if not _is_list(spans) or not all(_is_list(p) and len(p) == 2 for p in spans):
            raise ValueError(f"weekday {key}: expected a list of [start, end] pairs")
        weekly[int(key)] = sorted(
            (_parse_hhmm(start), _parse_hhmm(end, is_end=True)) for start, end in spans
        )
    validate_weekly_hours(weekly)
    return weekly


def dump_weekly_hours(weekly_hours: WeeklyHours) -> dict[str, list[list[str]]]:
    """Inverse of parse_weekly_hours; a midnight end is written as "24:00"."""
    return {
        str(day): [[f"{start:%H:%M}", _format_end(end)] for start, end in sorted(weekly_hours[day])]
        for day in sorted(weekly_hours)
    }


def _format_end(end: time) -> str:
    return "24:00" if end == MIDNIGHT else f"{end:%H:%M}"


def _is_list(value: object) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str)


def _to_utc_instant(moment: datetime) -> datetime:
    if moment.utcoffset() is None:
        raise ValueError(f"datetime must be timezone-aware, got naive {moment!r}")
    return moment.astimezone(timezone.utc)


def _seconds(wall: time, *, is_end: bool = False) -> int:
    if is_end and wall == MIDNIGHT:
        return 86400
    return wall.hour * 3600 + wall.minute * 60 + wall.second


def _validate_intervals(spans: Sequence[Interval], where: str) -> None:
    for span in spans:
        naive_times = _is_list(span) and all(isinstance(t, time) and not t.tzinfo for t in span)
        if not naive_times or len(span) != 2:
            raise ValueError(f"{where}: expected (start, end) naive datetime.time pairs")
    previous_end = -1
    for start, end in sorted(spans):
        if _seconds(start) >= _seconds(end, is_end=True):
            raise ValueError(f"{where}: interval {start:%H:%M}-{end:%H:%M} is empty or reversed")
        if _seconds(start) < previous_end:
            raise ValueError(f"{where}: interval starting {start:%H:%M} overlaps the previous one")
        previous_end = _seconds(end, is_end=True)


def _is_full_day(spans: Sequence[Interval]) -> bool:
    reached = 0
    for start, end in sorted(spans):
        if _seconds(start) > reached:
            return False
        reached = max(reached, _seconds(end, is_end=True))
    return reached == 86400


def _parse_hhmm(text: str, *, is_end: bool = False) -> time:
    if is_end and text == "24:00":
        return MIDNIGHT
    if not isinstance(text, str) or not _HHMM.fullmatch(text):
        raise ValueError(f"time must be 'HH:MM' in 00:00..23:59 (24:00 as end), got {text!r}")
    return time(int(text[:2]), int(text[3:]))


def _day_intervals(calendar: WorkingCalendar, tz: ZoneInfo, day: date) -> list[Span]:
    if day in calendar.extra_working_days:
        spans = calendar.extra_working_days[day]
    elif day in calendar.holidays:
        return []
    else:
        spans = calendar.weekly_hours.get(day.weekday(), ())
    intervals = []
    for start, end in spans:
        lo = _local_to_utc(tz, day, start)
        hi = _local_to_utc(tz, day + _ONE_DAY if end == MIDNIGHT else day, end)
        if lo < hi:  # an interval lying wholly in a DST gap has no real time
            intervals.append((lo, hi))
    return sorted(intervals)


def _local_to_utc(tz: ZoneInfo, day: date, wall: time) -> datetime:
    local = datetime.combine(day, wall, tzinfo=tz)  # fold=0: first occurrence when ambiguous
    instant = local.astimezone(timezone.utc)
    if instant.astimezone(tz).replace(tzinfo=None) == local.replace(tzinfo=None):
        return instant
    # Nonexistent wall time: fold=1 lands before the transition and fold=0 after it,
    # so bisect for the transition, which is the instant the gap ends.
    before, after = local.replace(fold=1).astimezone(timezone.utc), instant
    new_offset = after.astimezone(tz).utcoffset()
    while after - before > timedelta(seconds=1):
        middle = before + (after - before) / 2
        if middle.astimezone(tz).utcoffset() == new_offset:
            after = middle
        else:
            before = middle
    return after.replace(microsecond=0)
