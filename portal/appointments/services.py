"""Appointments' door for the other capabilities' pages: what the back office shows of an
application's appointments. What they may use is in `__all__`, defined here or published from
booking, which holds the rules; tests/unit/test_published_interfaces.py keeps it so.
"""

from __future__ import annotations

from portal.appointments import booking
from portal.appointments.booking import appointments_of
from portal.models import Application

__all__ = ["appointments_of", "missed_too_many"]


def missed_too_many(application: Application) -> bool:
    """The applicant has missed as many appointments since their latest invitation as they may:
    they cannot book again until a caseworker invites them again."""
    return booking.no_shows(application) >= booking.MAX_NO_SHOWS
