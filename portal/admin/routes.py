"""Service operators' pages. Staff accounts now; windows, centres and returns in later capabilities."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal import audit
from portal.admin.forms import WindowChangeForm, WindowForm, parse_time
from portal.apply import services as apply_services
from portal.auth import services as auth_services
from portal.auth.access import staff_required
from portal.extensions import db
from portal.forms import ConfirmForm
from portal.models import ApplicationWindow, Role, User, utcnow
from portal.security import form_page
from portal.staff_access import object_or_404

PARIS = ZoneInfo("Europe/Paris")

admin = Blueprint("admin", __name__)


def staff_accounts() -> list[User]:
    staff_roles = [role.value for role in Role if role.is_staff]
    return list(
        db.session.scalars(select(User).where(User.role.in_(staff_roles)).order_by(User.email))
    )


@admin.route("/staff")
@staff_required(Role.ADMIN)
def staff_list() -> Any:
    accounts = staff_accounts()
    # Accounts that reached the ceiling of consecutive wrong passwords: an admin looks into them.
    under_attack = auth_services.accounts_at_ceiling()
    audit.record_now(
        "viewed_staff_accounts",
        subject_type="user_list",
        count=len(accounts),
        under_attack=[str(user.id) for user, _row in under_attack],
    )
    return render_template(
        "admin/staff.html",
        accounts=accounts,
        under_attack=under_attack,
        ceiling=auth_services.CEILING,
    )


def paris_time(day: Any, time_text: str) -> datetime:
    """A date and wall-clock time in Paris, as the UTC instant that is stored."""
    hour, minute = parse_time(time_text)
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)
    return local.astimezone(UTC)


@admin.route("/windows", methods=["GET", "POST"])
@form_page
@staff_required(Role.ADMIN)
def window_list() -> Any:
    form = WindowForm()
    if form.validate_on_submit():
        opens = paris_time(form.opens_on.data, form.opens_at.data)
        closes = paris_time(form.closes_on.data, form.closes_at.data)
        if closes <= opens:
            form.closes_on.errors = [_("The window must close after it opens")]
        else:
            apply_services.create_window(form.name.data, opens, closes, form.places.data)
            told = apply_services.announce_open_windows(utcnow())
            flash(
                _("The window is saved.")
                + (" " + _("People with a finished draft were told.") if told else ""),
                "success",
            )
            return redirect(url_for("admin.window_list"))
    return render_template(
        "admin/windows.html", form=form, windows=apply_services.all_windows(), now=utcnow()
    )


@admin.route("/windows/<window_id>", methods=["GET", "POST"])
@form_page
@staff_required(Role.ADMIN)
def window_page(window_id: str) -> Any:
    """Change a window's closing time or places; close, pause or resume it (English only)."""
    window = object_or_404(ApplicationWindow, window_id)
    closes_local = window.closes_at.astimezone(PARIS)
    form = WindowChangeForm(
        data={
            "closes_on": closes_local.date(),
            "closes_at": closes_local.strftime("%H:%M"),
            "places": window.places,
        }
    )
    if form.validate_on_submit():
        try:
            apply_services.change_window(
                window,
                current_user,
                paris_time(form.closes_on.data, form.closes_at.data),
                form.places.data,
                utcnow(),
            )
        except apply_services.WindowChangeRefused as refused:
            form.form_errors.append(str(refused))
        else:
            _announce_and_flash(f"{window.name} is changed.")
            return redirect(url_for("admin.window_list"))
    return render_template(
        "admin/window.html",
        window=window,
        form=form,
        action_form=ConfirmForm(formdata=None),
        now=utcnow(),
    ), (400 if form.errors or form.form_errors else 200)


@admin.route("/windows/<window_id>/<action>", methods=["POST"])
@staff_required(Role.ADMIN)
def window_action(window_id: str, action: str) -> Any:
    """Close now, pause or resume: one button each, behind the security token."""
    window = object_or_404(ApplicationWindow, window_id)
    act = _WINDOW_ACTIONS.get(action)
    if act is None:
        abort(404)
    if ConfirmForm().validate_on_submit():
        try:
            act[0](window, current_user, utcnow())
        except apply_services.WindowChangeRefused as refused:
            flash(str(refused), "important")
        else:
            _announce_and_flash(f"{window.name} {act[1]}.")
    return redirect(url_for("admin.window_page", window_id=window.id))


_WINDOW_ACTIONS = {
    "close": (apply_services.close_now, "is closed"),
    "pause": (apply_services.pause, "is paused: it takes no applications until you resume it"),
    "resume": (apply_services.resume, "is open again"),
}


def _announce_and_flash(message: str) -> None:
    """A window that a change opened (resumed, more places) is announced to finished drafts."""
    told = apply_services.announce_open_windows(utcnow())
    flash(message + (f" {told} people with a finished draft were told." if told else ""), "success")
