"""The invited applicant's pages: choose a centre, a day, then a time; see, move or cancel.

Pages name no application in the URL: the appointment is always the signed-in applicant's own,
so nobody can reach another person's. Each step is a plain link or form: no JavaScript needed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from functools import wraps
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from portal.apply.access import applicant_view
from portal.appointments import access, booking, changes, messages
from portal.appointments.forms import WHO_FAMILY, WHO_ME, CentreForm, TimeForm
from portal.extensions import db
from portal.forms import ConfirmForm
from portal.i18n import current_locale, isolate, number, time_of_day
from portal.metrics import BOOKING_CONFLICTS
from portal.models import Application, Appointment, Centre, Slot, Status, utcnow
from portal.security import form_page

appointments = Blueprint("appointments", __name__)
appointments.add_app_template_global(access.centre_access, "centre_access")

BOOKING_STATES = (Status.INVITED_TO_BIOMETRICS, Status.APPOINTMENT_BOOKED)


def invited_view(view: Callable[..., Any]) -> Callable[..., Any]:
    """The applicant's own application, once it is invited to biometrics or booked."""

    @applicant_view
    @wraps(view)
    def wrapped(application: Application | None, *args: Any, **kwargs: Any) -> Any:
        if application is None or application.status_enum not in BOOKING_STATES:
            return redirect(url_for("apply.status"))
        return view(application, *args, **kwargs)

    return wrapped


def refusal_message(refusal: booking.Refusal) -> str:
    hours = booking.rules().cutoff_hours
    return {
        booking.Refusal.TAKEN: _("That time has just been taken. Choose another time."),
        booking.Refusal.NOT_INVITED: _("You cannot book an appointment at the moment."),
        booking.Refusal.TOO_LATE: _(
            "Your appointment is less than %(hours)s hours away, so you cannot change it "
            "online. Contact the centre.",
            hours=number(hours),
        ),
        booking.Refusal.NO_SHOWS: _(
            "You have missed two appointments, so you cannot book another one."
        ),
    }[refusal]


def _party(application: Application, who: str) -> list[Application]:
    """Whom this booking is for: the applicant, or their invited family group with them."""
    together = booking.bookable_together(application)
    return together if who == WHO_FAMILY else together[:1]


def _to_move(application: Application) -> list[Appointment]:
    appointment = booking.current_appointment(application)
    return booking.moved_together(appointment, application) if appointment else []


def _centre_or_404(centre_id: str) -> Centre:
    try:
        centre = db.session.get(Centre, uuid.UUID(centre_id))
    except ValueError:
        abort(404)
    if centre is None or not centre.active:
        abort(404)
    return centre


def _who() -> str:
    return WHO_FAMILY if request.args.get("who") == WHO_FAMILY else WHO_ME


def _local_day(slot: Slot) -> date:
    return slot.starts_at.astimezone(ZoneInfo(slot.centre.timezone)).date()


def _show(application: Application, appointment: Appointment | None, confirmation: bool) -> str:
    """The appointment page; right after booking, the same page under a confirmation panel."""
    return render_template(
        "appointments/overview.html",
        application=application,
        appointment=appointment,
        can_book=booking.can_book(application),
        can_change=appointment is not None and booking.can_change(appointment, utcnow()),
        no_shows=booking.no_shows(application),
        cutoff_hours=booking.rules().cutoff_hours,
        map_url=messages.map_url(appointment.slot.centre) if appointment else None,
        confirmation=confirmation,
    )


@appointments.route("/application/appointment")
@invited_view
def overview(application: Application) -> Any:
    return _show(application, booking.current_appointment(application), confirmation=False)


@appointments.route("/application/appointment/confirmation")
@invited_view
def confirmation(application: Application) -> Any:
    appointment = booking.current_appointment(application)
    if appointment is None:
        return redirect(url_for("appointments.overview"))
    return _show(application, appointment, confirmation=True)


@appointments.route("/application/appointment/centre", methods=["GET", "POST"])
@form_page
@invited_view
def choose_centre(application: Application) -> Any:
    moving = _to_move(application)
    if moving and not booking.can_change(moving[0], utcnow()):
        flash(refusal_message(booking.Refusal.TOO_LATE), "error")
        return redirect(url_for("appointments.overview"))
    if not moving and not booking.can_book(application):
        return redirect(url_for("appointments.overview"))
    centres = booking.active_centres()
    form = CentreForm()
    form.centre.choices = [(str(centre.id), centre.name) for centre in centres]
    together = [] if moving else booking.bookable_together(application)
    if len(together) < 2:
        del form.who
    if form.validate_on_submit():
        if form.centre.data in {str(centre.id) for centre in centres}:
            who = form.who.data if "who" in form else WHO_ME
            return redirect(url_for("appointments.days", centre_id=form.centre.data, who=who))
        form.centre.errors = [_("Select the centre you want to go to")]
    return render_template(
        "appointments/centre.html",
        form=form,
        items=[
            {"hint": {"html": isolate(centre.address) + Markup("<br>") + isolate(centre.city)}}
            for centre in centres
        ],
        together=together,
        moving=moving,
    )


@appointments.route("/application/appointment/centre/<centre_id>")
@invited_view
def days(application: Application, centre_id: str) -> Any:
    centre = _centre_or_404(centre_id)
    who = _who()
    moving = _to_move(application)
    places = len(moving) or len(_party(application, who))
    if not places:
        return redirect(url_for("appointments.overview"))
    slots = booking.free_slots(centre, utcnow(), places)
    by_day = [(day, len(list(group))) for day, group in groupby(slots, key=_local_day)]
    return render_template(
        "appointments/days.html", centre=centre, by_day=by_day, who=who, places=places
    )


@appointments.route("/application/appointment/centre/<centre_id>/<day>", methods=["GET", "POST"])
@form_page
@invited_view
def times(application: Application, centre_id: str, day: str) -> Any:
    centre = _centre_or_404(centre_id)
    try:
        chosen_day = date.fromisoformat(day)
    except ValueError:
        abort(404)
    who = _who()
    moving = _to_move(application)
    party = [] if moving else _party(application, who)
    places = len(moving) or len(party)
    if not places:
        return redirect(url_for("appointments.overview"))
    form = TimeForm()
    now = utcnow()
    status = 200
    if form.validate_on_submit():
        try:
            slot_id = uuid.UUID(form.slot.data)
            if moving:
                changes.move_and_tell(moving, slot_id, current_user, now)
            else:
                changes.book_and_tell(party, slot_id, current_user, now)
        except ValueError:
            form.slot.errors = [_("Select a time")]
            status = 400
        except booking.BookingRefused as refused:
            if refused.refusal is booking.Refusal.TAKEN:
                BOOKING_CONFLICTS.inc()
            form.slot.errors = [refusal_message(refused.refusal)]
            status = 409
        else:
            return redirect(url_for("appointments.confirmation"))
    elif request.method == "POST":
        status = 400
    slots = [
        slot for slot in booking.free_slots(centre, now, places) if _local_day(slot) == chosen_day
    ]
    form.slot.choices = [(str(slot.id), str(slot.id)) for slot in slots]
    return render_template(
        "appointments/times.html",
        form=form,
        centre=centre,
        day=chosen_day,
        slots=slots,
        items=[{"text": time_of_day(slot.starts_at)} for slot in slots],
        who=who,
        moving=moving,
        party=party,
    ), status


@appointments.route("/application/appointment/calendar.ics")
@invited_view
def calendar(application: Application) -> Any:
    appointment = booking.current_appointment(application)
    if appointment is None:
        abort(404)
    data = messages.calendar_file(appointment, current_locale(), utcnow())
    return Response(
        data,
        mimetype="text/calendar",
        headers={"Content-Disposition": 'attachment; filename="appointment.ics"'},
    )


@appointments.route("/application/appointment/cancel", methods=["GET", "POST"])
@form_page
@invited_view
def cancel(application: Application) -> Any:
    moving = _to_move(application)
    if not moving:
        return redirect(url_for("appointments.overview"))
    now = utcnow()
    if not booking.can_change(moving[0], now):
        flash(refusal_message(booking.Refusal.TOO_LATE), "error")
        return redirect(url_for("appointments.overview"))
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            changes.cancel_and_tell(moving, current_user, now)
        except booking.BookingRefused:
            # Already cancelled or moved by another request: the overview shows what is true now.
            return redirect(url_for("appointments.overview"))
        flash(_("Your appointment is cancelled. You can book a new one."), "success")
        return redirect(url_for("appointments.overview"))
    return render_template("appointments/cancel.html", form=form, appointments=moving)
