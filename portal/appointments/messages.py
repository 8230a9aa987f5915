"""What applicants are told about their appointments, by email (with a calendar file) and SMS."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from flask_babel import force_locale, gettext

from portal import notify
from portal.appointments import booking
from portal.appointments.calendar import CalendarEvent, ics_bytes
from portal.models import Application, Appointment, Centre, utcnow
from portal.notify.applicants import locale_of, tell_applicant
from portal.urls import absolute_url


def map_url(centre: Centre) -> str:
    """A link to the address on OpenStreetMap: a link the reader chooses to follow, never a map
    loaded into our pages (no request to another origin)."""
    return "https://www.openstreetmap.org/search?query=" + quote(f"{centre.address}, {centre.city}")


def details(appointment: Appointment, locale: str) -> dict[str, Any]:
    centre = appointment.slot.centre
    return {
        "starts_at": appointment.slot.starts_at,
        "centre_name": centre.name,
        "centre_address": centre.address,
        "appointment_url": absolute_url("appointments.overview", locale=locale),
        "cutoff_hours": booking.rules().cutoff_hours,
    }


def calendar_file(appointment: Appointment, locale: str, now: datetime) -> bytes:
    """The .ics file in the applicant's language, also offered for download on the page."""
    centre = appointment.slot.centre
    reference = appointment.application.reference or ""
    with force_locale(locale):
        summary = gettext("Biometric appointment")
        description = "\n".join(
            [
                gettext("Reference: %(reference)s", reference=reference),
                gettext("Bring the same identity document that you uploaded."),
            ]
        )
    # The first appointment of a chain of moves names the event, so a calendar updates it.
    event = CalendarEvent(
        uid=f"{appointment.application_id}@eoi-portal",
        starts_at=appointment.slot.starts_at,
        ends_at=appointment.slot.ends_at,
        timezone=centre.timezone,
        summary=summary,
        location=f"{centre.name}, {centre.address}",
        description=description,
        sequence=appointment.sequence,
    )
    return ics_bytes(event, now=now)


def _attachment(appointment: Appointment, locale: str) -> notify.Attachment:
    return notify.Attachment(
        "appointment.ics", "text/calendar", calendar_file(appointment, locale, utcnow())
    )


def tell_booked(appointment: Appointment, *, moved: bool = False) -> None:
    locale = locale_of(appointment.application)
    tell_applicant(
        appointment.application,
        "appointment_booked",
        (_attachment(appointment, locale),),
        moved=moved,
        **details(appointment, locale),
    )


def tell_reminder(appointment: Appointment) -> None:
    locale = locale_of(appointment.application)
    tell_applicant(
        appointment.application,
        "appointment_reminder",
        (_attachment(appointment, locale),),
        **details(appointment, locale),
    )


def tell_cancelled(appointment: Appointment, *, by_centre: bool = False) -> None:
    locale = locale_of(appointment.application)
    tell_applicant(
        appointment.application,
        "appointment_cancelled",
        by_centre=by_centre,
        appointment_url=absolute_url("appointments.overview", locale=locale),
    )


def tell_missed(appointment: Appointment, *, can_rebook: bool) -> None:
    locale = locale_of(appointment.application)
    tell_applicant(
        appointment.application,
        "appointment_missed",
        can_rebook=can_rebook,
        appointment_url=absolute_url("appointments.overview", locale=locale),
    )


def tell_nudge(application: Application) -> None:
    locale = locale_of(application)
    tell_applicant(
        application,
        "booking_nudge",
        appointment_url=absolute_url("appointments.overview", locale=locale),
    )
