"""Service operators' pages. Staff accounts now; windows, centres and returns in later capabilities."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from sqlalchemy import select

from portal import audit
from portal.auth.access import staff_required
from portal.extensions import db
from portal.models import Role, User

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
    audit.record("viewed_staff_accounts", subject_type="user_list", count=len(accounts))
    db.session.commit()
    return render_template("admin/staff.html", accounts=accounts)
