"""Appointment slots at an enrolment centre, generated from a weekly pattern over a date range.

French public holidays (mainland France) are skipped because the centres are closed on them, as
are any extra closure days a centre declares. Opening hours are French wall-clock times, but slot
times are returned in UTC: they are stored in UTC so that they compare and sort correctly across
the daylight-saving changes, and are shown to people in Paris time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

MIN_SLOT_MINUTES = 5
MAX_SLOT_MINUTES = 240
MAX_RANGE_DAYS = 366


@dataclass(frozen=True)
class WeeklyPattern:
    """A centre's opening week: the same hours on each open weekday (0 = Monday ... 6 = Sunday)."""

    weekdays: frozenset[int]
    opens: time
    closes: time  # the last slot must end at or before this
    slot_minutes: int
    capacity: int


@dataclass(frozen=True)
class SlotTime:
    starts_at: datetime  # timezone-aware, UTC
    ends_at: datetime  # timezone-aware, UTC
    capacity: int


def french_public_holidays(first: date, last: date) -> dict[date, str]:
    """Mainland France's public holidays in [first, last], with their French names.

    No subdivision is given, so Alsace-Moselle's extra days are not included. The language is
    pinned because otherwise the package picks names from the process locale.
    """
    years = range(first.year, last.year + 1)
    calendar = holidays.country_holidays("FR", years=years, language="fr")
    return {day: name for day, name in calendar.items() if first <= day <= last}


def _validate(pattern: WeeklyPattern, first: date, last: date) -> None:
    if not pattern.weekdays:
        raise ValueError("The pattern must open on at least one weekday.")
    outside = sorted(day for day in pattern.weekdays if day not in range(7))
    if outside:
        raise ValueError(f"Weekdays must be 0 (Monday) to 6 (Sunday), got {outside}.")
    if not MIN_SLOT_MINUTES <= pattern.slot_minutes <= MAX_SLOT_MINUTES:
        raise ValueError(
            f"Slots must last {MIN_SLOT_MINUTES} to {MAX_SLOT_MINUTES} minutes, "
            f"got {pattern.slot_minutes}."
        )
    if pattern.capacity < 1:
        raise ValueError(f"Each slot needs at least 1 place, got {pattern.capacity}.")
    if pattern.closes <= pattern.opens:
        raise ValueError(
            f"Closing time {pattern.closes:%H:%M} must be after opening time {pattern.opens:%H:%M}."
        )
    day = date.min
    open_minutes = (
        datetime.combine(day, pattern.closes) - datetime.combine(day, pattern.opens)
    ) // timedelta(minutes=1)
    if open_minutes < pattern.slot_minutes:
        raise ValueError(
            f"No {pattern.slot_minutes}-minute slot fits between {pattern.opens:%H:%M} "
            f"and {pattern.closes:%H:%M}."
        )
    if last < first:
        raise ValueError(f"The last day {last} is before the first day {first}.")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise ValueError(f"The range may cover at most {MAX_RANGE_DAYS} days.")


def generate(
    pattern: WeeklyPattern,
    first: date,
    last: date,
    *,
    timezone: str = "Europe/Paris",
    closures: Iterable[date] = (),
) -> list[SlotTime]:
    """Every slot from `first` to `last` inclusive, sorted by start, in UTC.

    Slots are laid out in local wall time: each ends `slot_minutes` after its start on the
    centre's clock, and only then is it converted to UTC. Adding minutes to an aware datetime with
    a zoneinfo tzinfo is wall-clock arithmetic, which is what opening hours mean; working in UTC
    instead would make 09:00 open at 08:00 or 10:00 local after a daylight-saving change.
    Opening hours are daytime, so no slot falls in the night-time gap or overlap of a change.
    """
    _validate(pattern, first, last)
    zone = ZoneInfo(timezone)
    closed = set(closures) | set(french_public_holidays(first, last))
    step = timedelta(minutes=pattern.slot_minutes)
    slots: list[SlotTime] = []
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        if day.weekday() not in pattern.weekdays or day in closed:
            continue
        start = datetime.combine(day, pattern.opens, tzinfo=zone)
        closing = datetime.combine(day, pattern.closes, tzinfo=zone)
        while start + step <= closing:
            end = start + step
            slots.append(SlotTime(start.astimezone(UTC), end.astimezone(UTC), pattern.capacity))
            start = end
    return slots
