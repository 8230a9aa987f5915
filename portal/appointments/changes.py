"""An applicant's booking, move or cancellation together with the message that tells them.

One transaction each: the appointment and its outbox row commit together, so a message goes out
only for a booking that exists, and a booking is never left without its message.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from portal.appointments import booking, messages
from portal.models import Application, Appointment, User
from portal.transactions import transactional


@transactional
def book_and_tell(
    party: Sequence[Application], slot_id: uuid.UUID, actor: User, now: datetime
) -> list[Appointment]:
    booked = booking.book(party, slot_id, actor, now)
    for appointment in booked:
        messages.tell_booked(appointment, moved=False)
    return booked


@transactional
def move_and_tell(
    moving: Sequence[Appointment], slot_id: uuid.UUID, actor: User, now: datetime
) -> list[Appointment]:
    moved = booking.move(moving, slot_id, actor, now)
    for appointment in moved:
        messages.tell_booked(appointment, moved=True)
    return moved


@transactional
def cancel_and_tell(appointments: Sequence[Appointment], actor: User, now: datetime) -> None:
    booking.cancel(appointments, actor, now)
    for appointment in appointments:
        messages.tell_cancelled(appointment)
