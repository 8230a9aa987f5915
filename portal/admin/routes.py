"""Service operators' pages. Staff accounts now; windows, centres and returns in later capabilities."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from portal import audit
from portal.admin.forms import WindowForm, parse_time
from portal.apply import windows
from portal.auth import throttle
from portal.auth.access import staff_required
from portal.extensions import db
from portal.models import Role, User, utcnow
from portal.security import form_page

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
    under_attack = throttle.accounts_at_ceiling()
    audit.record(
        "viewed_staff_accounts",
        subject_type="user_list",
        count=len(accounts),
        under_attack=[str(user.id) for user, _row in under_attack],
    )
    db.session.commit()
    return render_template(
        "admin/staff.html",
        accounts=accounts,
        under_attack=under_attack,
        ceiling=throttle.CEILING,
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
            windows.create_window(form.name.data, opens, closes, form.places.data)
            told = windows.announce_open_windows(utcnow())
            flash(
                _("The window is saved.")
                + (" " + _("People with a finished draft were told.") if told else ""),
                "success",
            )
            return redirect(url_for("admin.window_list"))
    return render_template(
        "admin/windows.html", form=form, windows=windows.all_windows(), now=utcnow()
    )
