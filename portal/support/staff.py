"""Admins manage organisations, their support workers and their access: English only, under the
back office (/en/casework/organisations), for the same reason as the rest of it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from portal import audit
from portal.apply.access import NotAllowed
from portal.auth.access import staff_required
from portal.forms import ConfirmForm
from portal.models import Assistance, EndReason, Organisation, Role, User
from portal.security import form_page
from portal.staff_access import english_only, object_or_404
from portal.support import services
from portal.support.staff_forms import OrganisationForm, WorkerForm

organisations = Blueprint("organisations", __name__)
organisations.before_request(english_only)


@organisations.route("/", methods=["GET", "POST"])
@form_page
@staff_required(Role.ADMIN)
def organisation_list() -> Any:
    form = OrganisationForm()
    if form.validate_on_submit():
        try:
            organisation = services.create_organisation(
                current_user,
                name=form.name.data,
                city=form.city.data,
                contact_email=form.contact_email.data,
                contact_phone=form.contact_phone.data or "",
            )
        except services.NameTaken:
            form.name.errors = ["An organisation already has this name"]
        else:
            flash(f"{organisation.name} is added. Now add its support workers.", "success")
            return redirect(
                url_for("organisations.organisation_page", organisation_id=organisation.id)
            )
    return render_template(
        "backoffice/organisations.html", organisations=services.organisations(), form=form
    ), (400 if form.errors else 200)


@organisations.route("/<organisation_id>", methods=["GET", "POST"])
@form_page
@staff_required(Role.ADMIN)
def organisation_page(organisation_id: str) -> Any:
    organisation = object_or_404(Organisation, organisation_id)
    form = WorkerForm()
    if form.validate_on_submit():
        try:
            worker = services.worker_added(organisation, form.email.data, current_user)
        except NotAllowed:
            form.email.errors = ["This address belongs to an account that is not a support worker"]
        else:
            flash(f"{worker.email} now works for {organisation.name}.", "success")
            return redirect(
                url_for("organisations.organisation_page", organisation_id=organisation.id)
            )
    assisted = services.assisted_applications(organisation)
    audit.record_now(
        "organisation.viewed",
        subject_type="organisation",
        subject_id=organisation.id,
        shown=len(assisted),
    )
    return render_template(
        "backoffice/organisation.html",
        organisation=organisation,
        workers=services.workers_of(organisation),
        assisted=assisted,
        form=form,
        action_form=ConfirmForm(formdata=None),
    ), (400 if form.errors else 200)


@organisations.route("/workers/<user_id>/remove", methods=["POST"])
@staff_required(Role.ADMIN)
def remove_worker(user_id: str) -> Any:
    worker = object_or_404(User, user_id)
    organisation_id = worker.organisation_id
    if worker.role_enum is not Role.SUPPORT or organisation_id is None:
        abort(404)
    if ConfirmForm().validate_on_submit():
        services.worker_removed(worker, current_user)
        flash(f"{worker.email} no longer works for this organisation.")
    return redirect(url_for("organisations.organisation_page", organisation_id=organisation_id))


@organisations.route("/assistances/<assistance_id>/end", methods=["POST"])
@staff_required(Role.ADMIN)
def end_assistance(assistance_id: str) -> Any:
    assistance = object_or_404(Assistance, assistance_id)
    if ConfirmForm().validate_on_submit():
        services.end_assistance(assistance, current_user, EndReason.ADMIN)
        flash("The organisation's access to this application has ended.")
    return redirect(
        url_for("organisations.organisation_page", organisation_id=assistance.organisation_id)
    )
