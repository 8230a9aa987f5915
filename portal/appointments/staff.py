"""Centres, slots and the day list at the desk: for admins and caseworkers, in English.

Mounted under the back office (/en/casework/centres) and English only for the same reason.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from portal import audit
from portal.apply import services as apply_services
from portal.appointments import access, attendance, booking, centres
from portal.appointments.staff_forms import CentreAdminForm, SlotPatternForm
from portal.auth.access import staff_required
from portal.extensions import db
from portal.forms import ConfirmForm
from portal.models import Appointment, Centre, Role, Slot, utcnow
from portal.security import form_page
from portal.staff_access import CASEWORK, english_only, object_or_404

staff_centres = Blueprint("centres", __name__)
staff_centres.before_request(english_only)


@staff_centres.route("/")
@staff_required(*CASEWORK)
def centre_list() -> Any:
    everything = list(db.session.scalars(select(Centre).order_by(Centre.city)))
    today = utcnow().astimezone(ZoneInfo("Europe/Paris")).date()
    return render_template(
        "backoffice/centres.html",
        centres=everything,
        today=today,
        is_admin=current_user.role_enum is Role.ADMIN,
    )


@staff_centres.route("/new", methods=["GET", "POST"])
@form_page
@staff_required(Role.ADMIN)
def new_centre() -> Any:
    form = CentreAdminForm(active=True)
    if form.validate_on_submit():
        centre = Centre()
        form.populate_obj(centre)
        centre.accessibility = access.store(form.access_facts.data)
        centres.save_centre(centre, "centre.created")
        flash(f"{centre.name} is added. Now add its slots.", "success")
        return redirect(url_for("centres.slots", centre_id=centre.id))
    return render_template("backoffice/centre_form.html", form=form, centre=None)


@staff_centres.route("/<centre_id>", methods=["GET", "POST"])
@form_page
@staff_required(Role.ADMIN)
def edit_centre(centre_id: str) -> Any:
    centre = object_or_404(Centre, centre_id)
    form = CentreAdminForm(obj=centre, access_facts=access.stored_keys(centre.accessibility))
    if form.validate_on_submit():
        form.populate_obj(centre)
        centre.accessibility = access.store(form.access_facts.data)
        centres.save_centre(centre, "centre.changed")
        flash(f"{centre.name} is saved.", "success")
        return redirect(url_for("centres.centre_list"))
    return render_template(
        "backoffice/centre_form.html",
        form=form,
        centre=centre,
        english_access_text=access.centre_access(centre).english_text,
    )


@staff_centres.route("/<centre_id>/slots", methods=["GET", "POST"])
@form_page
@staff_required(Role.ADMIN)
def slots(centre_id: str) -> Any:
    centre = object_or_404(Centre, centre_id)
    form = SlotPatternForm()
    if form.validate_on_submit():
        first, last, closures = form.dates()
        try:
            added = centres.create_slots(
                centre, form.pattern(), first, last, closures, current_user
            )
        except ValueError as problem:
            form.form_errors.append(str(problem))
        else:
            flash(f"{added} slots added.", "success")
            return redirect(url_for("centres.slots", centre_id=centre.id))
    return render_template(
        "backoffice/slots.html",
        form=form,
        centre=centre,
        slots=centres.upcoming_slots(centre, utcnow()),
        action_form=ConfirmForm(formdata=None),
    ), (400 if form.errors or form.form_errors else 200)


@staff_centres.route("/slots/<slot_id>/close", methods=["POST"])
@staff_required(Role.ADMIN)
def close_slot(slot_id: str) -> Any:
    slot = object_or_404(Slot, slot_id)
    if ConfirmForm().validate_on_submit():
        told = centres.close_slot(slot, current_user, utcnow())
        flash(f"The slot is closed. {told} booked applicants were told and can book again.")
    return redirect(url_for("centres.slots", centre_id=slot.centre_id))


@staff_centres.route("/slots/<slot_id>/delete", methods=["POST"])
@staff_required(Role.ADMIN)
def delete_slot(slot_id: str) -> Any:
    slot = object_or_404(Slot, slot_id)
    centre_id = slot.centre_id
    if ConfirmForm().validate_on_submit():
        if centres.delete_slot(slot, current_user):
            flash("The slot is deleted.")
        else:
            flash("This slot has had bookings, so it cannot be deleted. Close it instead.")
    return redirect(url_for("centres.slots", centre_id=centre_id))


def _day(value: str | None, default: date) -> date:
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        return default


@staff_centres.route("/<centre_id>/day")
@staff_required(*CASEWORK)
def day_list(centre_id: str) -> Any:
    centre = object_or_404(Centre, centre_id)
    zone = ZoneInfo(centre.timezone)
    day = _day(request.args.get("date"), utcnow().astimezone(zone).date())
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    listed = booking.day_list(centre, start, end)
    audit.record_now(
        "centre.day_list_viewed",
        subject_type="centre",
        subject_id=centre.id,
        day=day.isoformat(),
        shown=len(listed),
    )
    return render_template(
        "backoffice/day_list.html",
        centre=centre,
        day=day,
        appointments=listed,
        previous_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1),
        action_form=ConfirmForm(formdata=None),
        no_shows={a.id: booking.no_shows(a.application) for a in listed},
        marks={a.id: attendance.available_marks(a, current_user, utcnow()) for a in listed},
        starts={a.id: a.slot.starts_at for a in listed},
    )


def _back_to_day(appointment: Appointment) -> Any:
    slot = appointment.slot
    day = slot.starts_at.astimezone(ZoneInfo(slot.centre.timezone)).date()
    return redirect(url_for("centres.day_list", centre_id=slot.centre_id, date=day.isoformat()))


@staff_centres.route("/appointments/<appointment_id>/attended", methods=["POST"])
@staff_required(*CASEWORK)
def attended(appointment_id: str) -> Any:
    return _mark(appointment_id, attendance.Mark.ENROLLED)


@staff_centres.route("/appointments/<appointment_id>/no-show", methods=["POST"])
@staff_required(*CASEWORK)
def no_show(appointment_id: str) -> Any:
    return _mark(appointment_id, attendance.Mark.NO_SHOW)


def _mark(appointment_id: str, mark: attendance.Mark) -> Any:
    appointment = object_or_404(Appointment, appointment_id)
    if ConfirmForm().validate_on_submit():
        try:
            attendance.record(appointment, current_user, utcnow(), mark)
        except (attendance.AttendanceRefused, apply_services.NotNow) as refused:
            flash(f"{appointment.application.reference}: {refused}", "important")
        except booking.BookingRefused:
            db.session.rollback()
            flash("This appointment was already marked.")
        else:
            outcome = (
                "biometrics enrolled"
                if mark is attendance.Mark.ENROLLED
                else "recorded as not attended"
            )
            flash(f"{appointment.application.reference}: {outcome}.", "success")
    return _back_to_day(appointment)


@staff_centres.route("/appointments/<appointment_id>/correct", methods=["POST"])
@staff_required(*CASEWORK)
def correct_mark(appointment_id: str) -> Any:
    """Put right a mistaken mark: the same day, by staff of the role that made it; audited."""
    appointment = object_or_404(Appointment, appointment_id)
    if ConfirmForm().validate_on_submit():
        try:
            becomes = attendance.correct(appointment, current_user, utcnow())
        except attendance.AttendanceRefused as refused:
            flash(f"{appointment.application.reference}: {refused}", "important")
        else:
            outcome = (
                "corrected to biometrics enrolled"
                if becomes.value == "attended"
                else "corrected to did not come"
            )
            flash(f"{appointment.application.reference}: {outcome}.", "success")
    return _back_to_day(appointment)
