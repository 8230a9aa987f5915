"""The .ics file for a biometric appointment: read back the way a calendar program would."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from portal.appointments.calendar import PRODID, CalendarEvent, ics_bytes

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2027, 3, 1, 14, 30, 5, tzinfo=UTC)

SUMMARY_AR = "موعد تسجيل البيانات البيومترية"
LOCATION_AM = "የባዮሜትሪክ ማዕከል፣ 12 Rue de l'Exemple, 75010 Paris"
DESCRIPTION_VI = (
    "Vui lòng mang theo hộ chiếu hoặc giấy tờ tùy thân và thư xác nhận. "
    "Mã tham chiếu: EOI-2027-ABCD-1234. Hãy đến sớm mười lăm phút."
)


def spring_event(**changes: object) -> CalendarEvent:
    """07:00 UTC on 29 March 2027, the day after the clocks go forward: 09:00 in Paris."""
    event = CalendarEvent(
        uid="3f2b8c1e-7d4a-4e59-9b1a-0c6d2e8f5a71@eoi-portal",
        starts_at=datetime(2027, 3, 29, 7, 0, tzinfo=UTC),
        ends_at=datetime(2027, 3, 29, 7, 20, tzinfo=UTC),
        timezone="Europe/Paris",
        summary=SUMMARY_AR,
        location=LOCATION_AM,
        description=DESCRIPTION_VI,
        sequence=3,
    )
    return replace(event, **changes)


def parse(raw: bytes) -> Calendar:
    return Calendar.from_ical(raw)


def only_event(calendar: Calendar):
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return events[0]


def test_summer_time_is_written_as_paris_wall_time_with_tzid():
    event = spring_event()
    raw = ics_bytes(event, now=NOW)
    vevent = only_event(parse(raw))

    start = vevent.decoded("DTSTART")
    end = vevent.decoded("DTEND")
    assert start.tzinfo.key == "Europe/Paris"
    assert (start.hour, start.minute) == (9, 0)
    assert start.utcoffset() == timedelta(hours=2)
    assert start == event.starts_at
    assert end == event.ends_at
    assert (end.hour, end.minute) == (9, 20)
    assert vevent["DTSTART"].params["TZID"] == "Europe/Paris"
    assert b"DTSTART;TZID=Europe/Paris:20270329T090000\r\n" in raw
    assert b"DTEND;TZID=Europe/Paris:20270329T092000\r\n" in raw


def test_winter_time_is_written_as_paris_wall_time():
    event = spring_event(
        starts_at=datetime(2027, 1, 11, 8, 0, tzinfo=UTC),
        ends_at=datetime(2027, 1, 11, 8, 20, tzinfo=UTC),
    )
    raw = ics_bytes(event, now=NOW)
    start = only_event(parse(raw)).decoded("DTSTART")

    assert start.tzinfo.key == "Europe/Paris"
    assert (start.hour, start.minute) == (9, 0)
    assert start.utcoffset() == timedelta(hours=1)
    assert start == event.starts_at
    assert b"DTSTART;TZID=Europe/Paris:20270111T090000\r\n" in raw


def test_non_utc_input_is_converted_to_the_centre_zone():
    # The same instant given in New York time still comes out as 09:00 in Paris.
    new_york = ZoneInfo("America/New_York")
    event = spring_event(
        starts_at=datetime(2027, 3, 29, 7, 0, tzinfo=UTC).astimezone(new_york),
        ends_at=datetime(2027, 3, 29, 7, 20, tzinfo=UTC).astimezone(new_york),
    )
    start = only_event(parse(ics_bytes(event, now=NOW))).decoded("DTSTART")
    assert start.tzinfo.key == "Europe/Paris"
    assert (start.hour, start.minute) == (9, 0)


def test_vtimezone_defines_the_zone_for_readers_that_do_not_know_it_by_name():
    calendar = parse(ics_bytes(spring_event(), now=NOW))

    timezones = calendar.walk("VTIMEZONE")
    assert [str(tz["TZID"]) for tz in timezones] == ["Europe/Paris"]
    assert calendar.get_missing_tzids() == set()

    # Build the zone from the VTIMEZONE alone, not from the name, as a program without the tz
    # database would: the appointment must still land on 07:00 UTC, and a winter one on 08:00.
    from_file = timezones[0].to_tz(lookup_tzid=False)
    summer = datetime(2027, 3, 29, 9, 0, tzinfo=from_file)
    winter = datetime(2027, 1, 11, 9, 0, tzinfo=from_file)
    assert summer.astimezone(UTC) == datetime(2027, 3, 29, 7, 0, tzinfo=UTC)
    assert winter.astimezone(UTC) == datetime(2027, 1, 11, 8, 0, tzinfo=UTC)


def test_calendar_header():
    raw = ics_bytes(spring_event(), now=NOW)
    calendar = parse(raw)

    assert str(calendar["PRODID"]) == PRODID
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert raw.startswith(b"BEGIN:VCALENDAR\r\n")
    assert raw.endswith(b"END:VCALENDAR\r\n")
    # The zone is defined before the event that uses it.
    assert raw.index(b"BEGIN:VTIMEZONE") < raw.index(b"BEGIN:VEVENT")


def test_event_properties_round_trip():
    event = spring_event()
    vevent = only_event(parse(ics_bytes(event, now=NOW)))

    assert str(vevent["UID"]) == "3f2b8c1e-7d4a-4e59-9b1a-0c6d2e8f5a71@eoi-portal"
    assert vevent.decoded("SEQUENCE") == 3
    assert str(vevent["SUMMARY"]) == SUMMARY_AR
    assert str(vevent["LOCATION"]) == LOCATION_AM
    assert str(vevent["DESCRIPTION"]) == DESCRIPTION_VI
    assert str(vevent["STATUS"]) == "CONFIRMED"
    assert vevent.decoded("DTSTAMP") == NOW


def test_dtstamp_is_utc_even_when_now_is_not():
    now_paris = NOW.astimezone(PARIS)
    raw = ics_bytes(spring_event(), now=now_paris)

    assert b"DTSTAMP:20270301T143005Z\r\n" in raw


def test_text_is_utf8_and_escaped_text_survives():
    description = "Apportez :\n- votre passeport\n- la lettre; référence EOI-1, merci"
    raw = ics_bytes(spring_event(description=description), now=NOW)

    raw.decode("utf-8")  # strict: raises if anything is not UTF-8
    assert "مو".encode() in raw
    assert str(only_event(parse(raw))["DESCRIPTION"]) == description


def test_reminder_one_day_before():
    event = spring_event()
    vevent = only_event(parse(ics_bytes(event, now=NOW)))

    alarms = vevent.walk("VALARM")
    assert len(alarms) == 1
    alarm = alarms[0]
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert alarm["TRIGGER"].to_ical() == b"-P1D"
    assert alarm.decoded("TRIGGER") == timedelta(days=-1)
    assert str(alarm["DESCRIPTION"]) == SUMMARY_AR


def test_cancelled_event_removes_the_appointment_and_has_no_reminder():
    event = spring_event(cancelled=True, sequence=4)
    raw = ics_bytes(event, now=NOW)
    calendar = parse(raw)
    vevent = only_event(calendar)

    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(vevent["STATUS"]) == "CANCELLED"
    assert vevent.walk("VALARM") == []
    assert b"BEGIN:VALARM" not in raw
    # Same UID and a higher SEQUENCE, so the calendar matches it to the event it replaces.
    assert str(vevent["UID"]) == spring_event().uid
    assert vevent.decoded("SEQUENCE") == 4
    assert vevent.decoded("DTSTART") == event.starts_at


def test_lines_are_crlf_and_folded_at_75_octets():
    # Long multi-byte text forces folding, where a naive fold by characters would overflow.
    long_text = (SUMMARY_AR + " ") * 6 + (LOCATION_AM + " ") * 4 + DESCRIPTION_VI * 3
    event = spring_event(summary=long_text, location=long_text, description=long_text)
    raw = ics_bytes(event, now=NOW)

    assert raw.endswith(b"\r\n")
    # Every LF is part of a CRLF, and no CR stands alone.
    assert raw.count(b"\n") == raw.count(b"\r\n")
    assert raw.count(b"\r") == raw.count(b"\r\n")

    lines = raw[: -len(b"\r\n")].split(b"\r\n")
    assert max(len(line) for line in lines) <= 75
    continuations = [line for line in lines if line.startswith(b" ")]
    assert len(continuations) > 10  # folding really happened
    for line in lines:
        line.decode("utf-8")  # folds never split a character

    vevent = only_event(parse(raw))
    assert str(vevent["SUMMARY"]) == long_text
    assert str(vevent["LOCATION"]) == long_text
    assert str(vevent["DESCRIPTION"]) == long_text


def test_same_input_gives_the_same_file():
    assert ics_bytes(spring_event(), now=NOW) == ics_bytes(spring_event(), now=NOW)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"starts_at": datetime(2027, 3, 29, 7, 0)}, "starts_at must be timezone-aware"),
        ({"ends_at": datetime(2027, 3, 29, 7, 20)}, "ends_at must be timezone-aware"),
        ({"ends_at": datetime(2027, 3, 29, 7, 0, tzinfo=UTC)}, "ends_at must be after"),
        ({"sequence": -1}, "sequence must not be negative"),
        ({"timezone": "Europe/Atlantis"}, "unknown time zone"),
        ({"timezone": "../etc/passwd"}, "unknown time zone"),
    ],
)
def test_rejects_input_that_would_give_a_wrong_file(changes, message):
    with pytest.raises(ValueError, match=message):
        ics_bytes(spring_event(**changes), now=NOW)


def test_rejects_naive_now():
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        ics_bytes(spring_event(), now=datetime(2027, 3, 1, 14, 30))
