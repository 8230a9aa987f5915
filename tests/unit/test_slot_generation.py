"""Slot generation: weekly patterns, French public holidays, closures and daylight saving."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from portal.appointments.slots import SlotTime, WeeklyPattern, french_public_holidays, generate

PARIS = ZoneInfo("Europe/Paris")
EVERY_DAY = frozenset(range(7))
WEEKDAYS = frozenset(range(5))
MORNINGS = WeeklyPattern(
    weekdays=WEEKDAYS, opens=time(9), closes=time(12), slot_minutes=30, capacity=3
)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def days_with_slots(slots: list[SlotTime]) -> list[date]:
    return sorted({slot.starts_at.astimezone(PARIS).date() for slot in slots})


def test_a_normal_week_has_six_morning_slots_on_each_weekday():
    # Monday 7 to Sunday 13 June 2027: no public holiday, summer time (UTC+2).
    slots = generate(MORNINGS, date(2027, 6, 7), date(2027, 6, 13))

    assert len(slots) == 30
    assert days_with_slots(slots) == [date(2027, 6, d) for d in range(7, 12)]
    monday = [slot for slot in slots if slot.starts_at.date() == date(2027, 6, 7)]
    assert [(slot.starts_at, slot.ends_at) for slot in monday] == [
        (utc(2027, 6, 7, 7, 0), utc(2027, 6, 7, 7, 30)),
        (utc(2027, 6, 7, 7, 30), utc(2027, 6, 7, 8, 0)),
        (utc(2027, 6, 7, 8, 0), utc(2027, 6, 7, 8, 30)),
        (utc(2027, 6, 7, 8, 30), utc(2027, 6, 7, 9, 0)),
        (utc(2027, 6, 7, 9, 0), utc(2027, 6, 7, 9, 30)),
        (utc(2027, 6, 7, 9, 30), utc(2027, 6, 7, 10, 0)),
    ]
    assert {slot.capacity for slot in slots} == {3}


def test_slots_are_sorted_and_every_datetime_is_aware_utc():
    slots = generate(MORNINGS, date(2027, 3, 1), date(2027, 11, 30))

    assert slots == sorted(slots, key=lambda slot: slot.starts_at)
    for slot in slots:
        assert slot.starts_at.tzinfo is UTC
        assert slot.ends_at.tzinfo is UTC
        assert slot.ends_at - slot.starts_at == timedelta(minutes=30)


def test_french_public_holidays_of_2027_are_mainland_france_in_french():
    assert french_public_holidays(date(2027, 1, 1), date(2027, 12, 31)) == {
        date(2027, 1, 1): "Jour de l'an",
        date(2027, 3, 29): "Lundi de Pâques",
        date(2027, 5, 1): "Fête du Travail",
        date(2027, 5, 6): "Ascension",
        date(2027, 5, 8): "Fête de la Victoire",
        date(2027, 5, 17): "Lundi de Pentecôte",
        date(2027, 7, 14): "Fête nationale",
        date(2027, 8, 15): "Assomption",
        date(2027, 11, 1): "Toussaint",
        date(2027, 11, 11): "Armistice",
        date(2027, 12, 25): "Noël",
    }


def test_french_public_holidays_keeps_only_the_range_across_years():
    assert french_public_holidays(date(2027, 12, 20), date(2028, 1, 5)) == {
        date(2027, 12, 25): "Noël",
        date(2028, 1, 1): "Jour de l'an",
    }


@pytest.mark.parametrize(
    ("holiday", "name"),
    [
        (date(2027, 5, 1), "Fête du Travail"),
        (date(2027, 5, 6), "Ascension"),
        (date(2027, 5, 8), "Fête de la Victoire"),
        (date(2027, 7, 14), "Fête nationale"),
        (date(2027, 11, 1), "Toussaint"),
        (date(2027, 12, 25), "Noël"),
    ],
)
def test_public_holidays_are_skipped(holiday: date, name: str):
    pattern = replace(MORNINGS, weekdays=EVERY_DAY)
    before, after = holiday - timedelta(days=1), holiday + timedelta(days=1)

    slots = generate(pattern, before, after)

    assert french_public_holidays(before, after) == {holiday: name}
    assert days_with_slots(slots) == [before, after]
    assert len(slots) == 12


def test_a_range_with_several_may_holidays_skips_each_of_them():
    # Friday 30 April to Sunday 9 May 2027, open every day: Saturday 1 (Fête du Travail),
    # Thursday 6 (Ascension) and Saturday 8 (Victoire) are closed.
    pattern = replace(MORNINGS, weekdays=EVERY_DAY)

    slots = generate(pattern, date(2027, 4, 30), date(2027, 5, 9))

    assert days_with_slots(slots) == [
        date(2027, 4, 30),
        date(2027, 5, 2),
        date(2027, 5, 3),
        date(2027, 5, 4),
        date(2027, 5, 5),
        date(2027, 5, 7),
        date(2027, 5, 9),
    ]
    assert len(slots) == 7 * 6


def test_a_whole_year_open_every_day_skips_exactly_the_public_holidays():
    pattern = replace(MORNINGS, weekdays=EVERY_DAY)

    slots = generate(pattern, date(2027, 1, 1), date(2027, 12, 31))

    open_days = set(days_with_slots(slots))
    every_day = {date(2027, 1, 1) + timedelta(days=n) for n in range(365)}
    assert every_day - open_days == set(
        french_public_holidays(date(2027, 1, 1), date(2027, 12, 31))
    )
    assert {date(2027, 5, 1), date(2027, 7, 14), date(2027, 12, 25)}.isdisjoint(open_days)
    assert len(slots) == (365 - 11) * 6


def test_closures_are_skipped():
    slots = generate(
        MORNINGS,
        date(2027, 6, 7),
        date(2027, 6, 13),
        closures=[date(2027, 6, 9), date(2027, 6, 12), date(2027, 7, 1)],
    )

    assert days_with_slots(slots) == [
        date(2027, 6, 7),
        date(2027, 6, 8),
        date(2027, 6, 10),
        date(2027, 6, 11),
    ]
    assert len(slots) == 24


def test_closures_may_be_any_iterable():
    closures = (day for day in [date(2027, 6, 7)])

    slots = generate(MORNINGS, date(2027, 6, 7), date(2027, 6, 8), closures=closures)

    assert days_with_slots(slots) == [date(2027, 6, 8)]


@pytest.mark.parametrize(
    ("day", "first_start", "last_end"),
    [
        # Spring forward on Sunday 28 March 2027 at 02:00.
        (date(2027, 3, 26), utc(2027, 3, 26, 8), utc(2027, 3, 26, 11)),  # Friday, winter
        (date(2027, 3, 28), utc(2027, 3, 28, 7), utc(2027, 3, 28, 10)),  # the change itself
        (date(2027, 3, 30), utc(2027, 3, 30, 7), utc(2027, 3, 30, 10)),  # Tuesday, summer
        # Fall back on Sunday 31 October 2027 at 03:00.
        (date(2027, 10, 29), utc(2027, 10, 29, 7), utc(2027, 10, 29, 10)),  # Friday, summer
        (date(2027, 10, 31), utc(2027, 10, 31, 8), utc(2027, 10, 31, 11)),  # the change itself
        (date(2027, 11, 2), utc(2027, 11, 2, 8), utc(2027, 11, 2, 11)),  # Tuesday, winter
    ],
)
def test_nine_o_clock_in_paris_follows_daylight_saving(
    day: date, first_start: datetime, last_end: datetime
):
    pattern = replace(MORNINGS, weekdays=EVERY_DAY)

    slots = generate(pattern, day, day)

    assert len(slots) == 6
    assert slots[0].starts_at == first_start
    assert slots[-1].ends_at == last_end
    assert slots[0].starts_at.astimezone(PARIS).time() == time(9)
    assert slots[-1].ends_at.astimezone(PARIS).time() == time(12)


@pytest.mark.parametrize(
    ("first", "last", "expected_starts"),
    [
        # Monday 29 March is Easter Monday, so the week resumes on Tuesday 30.
        (
            date(2027, 3, 26),
            date(2027, 3, 30),
            [utc(2027, 3, 26, 8), utc(2027, 3, 30, 7)],
        ),
        # Monday 1 November is All Saints' Day, so the week resumes on Tuesday 2.
        (
            date(2027, 10, 29),
            date(2027, 11, 2),
            [utc(2027, 10, 29, 7), utc(2027, 11, 2, 8)],
        ),
    ],
)
def test_weekdays_either_side_of_a_daylight_saving_weekend(
    first: date, last: date, expected_starts: list[datetime]
):
    slots = generate(MORNINGS, first, last)

    assert len(slots) == 12
    assert [slots[0].starts_at, slots[6].starts_at] == expected_starts


@pytest.mark.parametrize(
    ("closes", "slot_minutes", "expected_local"),
    [
        (
            time(10, 50),
            20,
            [
                (time(9, 0), time(9, 20)),
                (time(9, 20), time(9, 40)),
                (time(9, 40), time(10, 0)),
                (time(10, 0), time(10, 20)),
                (time(10, 20), time(10, 40)),
            ],
        ),
        (
            time(10, 40),
            20,
            [
                (time(9, 0), time(9, 20)),
                (time(9, 20), time(9, 40)),
                (time(9, 40), time(10, 0)),
                (time(10, 0), time(10, 20)),
                (time(10, 20), time(10, 40)),
            ],
        ),
        (time(9, 5), 5, [(time(9, 0), time(9, 5))]),
        (time(13, 30), 240, [(time(9, 0), time(13, 0))]),
    ],
)
def test_the_last_slot_ends_at_or_before_closing(
    closes: time, slot_minutes: int, expected_local: list[tuple[time, time]]
):
    pattern = replace(MORNINGS, closes=closes, slot_minutes=slot_minutes)

    slots = generate(pattern, date(2027, 6, 7), date(2027, 6, 7))

    local = [
        (slot.starts_at.astimezone(PARIS).time(), slot.ends_at.astimezone(PARIS).time())
        for slot in slots
    ]
    assert local == expected_local


def test_another_timezone_is_honoured():
    slots = generate(MORNINGS, date(2027, 6, 7), date(2027, 6, 7), timezone="America/Cayenne")

    assert slots[0].starts_at == utc(2027, 6, 7, 12)


def test_a_range_of_exactly_366_days_is_accepted():
    slots = generate(MORNINGS, date(2027, 1, 1), date(2028, 1, 1))

    assert slots[0].starts_at == utc(2027, 1, 4, 8)  # 1 January is a holiday, then a weekend
    assert slots[-1].starts_at == utc(2027, 12, 31, 10, 30)


@pytest.mark.parametrize(
    ("changes", "first", "last", "message"),
    [
        ({"weekdays": frozenset()}, None, None, "at least one weekday"),
        ({"weekdays": frozenset({0, 7})}, None, None, r"0 \(Monday\) to 6 \(Sunday\), got \[7\]"),
        ({"weekdays": frozenset({-1, 2})}, None, None, r"got \[-1\]"),
        ({"slot_minutes": 4}, None, None, "5 to 240 minutes, got 4"),
        ({"slot_minutes": 241}, None, None, "5 to 240 minutes, got 241"),
        ({"slot_minutes": 0}, None, None, "5 to 240 minutes, got 0"),
        ({"capacity": 0}, None, None, "at least 1 place, got 0"),
        ({"capacity": -2}, None, None, "at least 1 place, got -2"),
        ({"closes": time(9)}, None, None, "Closing time 09:00 must be after opening time 09:00"),
        ({"closes": time(8)}, None, None, "Closing time 08:00 must be after opening time 09:00"),
        (
            {"closes": time(9, 25)},
            None,
            None,
            "No 30-minute slot fits between 09:00 and 09:25",
        ),
        ({}, date(2027, 6, 8), date(2027, 6, 7), "last day 2027-06-07 is before the first day"),
        ({}, date(2027, 1, 1), date(2028, 1, 2), "at most 366 days"),
    ],
)
def test_invalid_input_is_rejected(
    changes: dict[str, object], first: date | None, last: date | None, message: str
):
    pattern = replace(MORNINGS, **changes)

    with pytest.raises(ValueError, match=message):
        generate(pattern, first or date(2027, 6, 7), last or date(2027, 6, 11))
