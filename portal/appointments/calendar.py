"""An iCalendar (.ics) file for a biometric enrolment appointment, to add it to a phone's calendar.

Appointment times are stored in UTC, but the file gives them in the centre's time zone, with a
TZID (``DTSTART;TZID=Europe/Paris:20270329T090000``) and a VTIMEZONE that defines that zone. A
UTC time would describe the same instant, but the file would no longer say where it happens: a
phone in another zone (a relative's, or the applicant's before travelling) converts a TZID time
correctly and can still show that the appointment is at 09:00 Paris time, which is the time on
the letter and on the centre's door. The VTIMEZONE is there for calendar programs that do not
know the zone by name; the others use their own, more up-to-date, rules for it.

The same UID is used for every file about one appointment, with a higher SEQUENCE each time the
appointment moves, so that importing a new file updates the event instead of adding a second one;
a cancelled appointment gets a CANCEL file that removes it.

Everything shown to the person (summary, location, description) arrives already translated: this
module only lays it out. Text is written as UTF-8, so Arabic, Amharic or Vietnamese survive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Alarm, Calendar, Event, Timezone

PRODID = "-//EOI portal//Biometric appointments//EN"

# A day's notice leaves time to find the documents, arrange childcare or plan the journey; a
# reminder on the morning itself would come too late for that.
REMINDER_BEFORE = timedelta(days=1)


@dataclass(frozen=True)
class CalendarEvent:
    """One appointment, as the calendar file describes it."""

    uid: str  # stable per appointment, e.g. "<appointment uuid>@eoi-portal"
    starts_at: datetime  # tz-aware (UTC as stored)
    ends_at: datetime  # tz-aware
    timezone: str  # the centre's IANA zone, e.g. "Europe/Paris"
    summary: str  # already translated, e.g. "Biometric appointment"
    location: str  # centre name and address, one line
    description: str  # already translated: what to bring, the reference
    sequence: int = 0  # increases each time the appointment is moved (or cancelled)
    cancelled: bool = False  # a METHOD:CANCEL / STATUS:CANCELLED file


def ics_bytes(event: CalendarEvent, *, now: datetime) -> bytes:
    """The .ics file for ``event``, as UTF-8 bytes with CRLF line ends and folded lines.

    ``now`` becomes DTSTAMP; it is a parameter rather than read from the clock so that the same
    input always gives the same file (and tests need not freeze time).

    Raises ValueError for naive datetimes, an end not after the start, a negative sequence or an
    unknown time zone: a file with a wrong time is worse than no file.
    """
    for name, value in (
        ("starts_at", event.starts_at),
        ("ends_at", event.ends_at),
        ("now", now),
    ):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware")
    if event.ends_at <= event.starts_at:
        raise ValueError("ends_at must be after starts_at")
    if event.sequence < 0:
        raise ValueError("sequence must not be negative")
    try:
        zone = ZoneInfo(event.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone: {event.timezone!r}") from exc

    starts_local = event.starts_at.astimezone(zone)
    ends_local = event.ends_at.astimezone(zone)

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    # PUBLISH files are imported as they are; CANCEL tells the calendar to remove the event with
    # this UID, rather than leaving a stale appointment that the person might still turn up for.
    calendar.add("method", "CANCEL" if event.cancelled else "PUBLISH")
    calendar.add_component(_vtimezone(event.timezone, starts_local.date(), ends_local.date()))

    vevent = Event()
    vevent.add("uid", event.uid)
    vevent.add("dtstamp", now.astimezone(UTC))
    vevent.add("dtstart", starts_local)
    vevent.add("dtend", ends_local)
    vevent.add("summary", event.summary)
    vevent.add("location", event.location)
    vevent.add("description", event.description)
    vevent.add("sequence", event.sequence)
    vevent.add("status", "CANCELLED" if event.cancelled else "CONFIRMED")
    if not event.cancelled:
        # No reminder for an appointment that will not take place.
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", event.summary)  # DISPLAY alarms must carry text to show
        alarm.add("trigger", -REMINDER_BEFORE)
        vevent.add_component(alarm)
    calendar.add_component(vevent)

    return calendar.to_ical()


def _vtimezone(tzid: str, first: date, last: date) -> Timezone:
    """A VTIMEZONE for ``tzid`` covering a year either side of the appointment.

    icalendar's default covers 1970-2038, listing every daylight-saving change since 1970 (and
    none after 2038); a few years around the appointment are all a reader needs, and keep the
    file small.
    """
    return Timezone.from_tzid(
        tzid,
        first_date=date(first.year - 1, 1, 1),
        last_date=date(last.year + 2, 1, 1),
    )
