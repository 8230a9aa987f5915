"""The support worker's pages, and the applicant's pages to take over or stop the help.

Every page of a worker names the assistance by id and checks it belongs to the worker's own
organisation and has not ended: anything else is "page not found", and the refusal is audited.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from portal import ratelimit
from portal.apply import access
from portal.apply import services as apply_services
from portal.auth.access import signed_in_required, staff_required
from portal.forms import ConfirmForm
from portal.i18n import text_direction
from portal.models import Assistance, ConsentMethod, EndReason, Role, Status
from portal.security import form_page
from portal.support import services
from portal.support.forms import ClaimCodeForm, ClaimDetailsForm, ConsentForm, NewApplicantForm

support = Blueprint("support", __name__)

NEW_KEY = "assist_new"
CLAIM_KEY = "claim_code"


@support.app_context_processor
def acting_context() -> dict[str, Any]:
    """The banner every page shows while a worker acts for an applicant."""
    return {"acting": access.acting_assistance()}


def worker_view(view: Callable[..., Any]) -> Callable[..., Any]:
    """A support worker past two-factor whose organisation is active; anyone else 404."""

    @staff_required(Role.SUPPORT)
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        organisation = access.worker_organisation(current_user)
        if organisation is None:
            abort(404)
        g.organisation = organisation
        return view(*args, **kwargs)

    return wrapped


def _assistance_or_404(assistance_id: str) -> Assistance:
    try:
        return access.assistance_for_worker(current_user, assistance_id)
    except access.NotAllowed:
        abort(404)


def render_in(locale: str, template: str, **context: Any) -> Markup:
    """A part of a page in another language than the page's (the applicant's, beside the
    worker's). The template is autoescaped like any other, so its output is already safe."""
    with force_locale(locale):
        return Markup(render_template(template, **context))  # noqa: S704


def consent_text(locale: str) -> Markup:
    """The information the applicant agrees to, in their language (kept with the consent)."""
    return render_in(locale, "support/consent_text.html")


@support.route("/support/")
@worker_view
def applications() -> Any:
    status = request.args.get("status", "")
    query = request.args.get("q", "")[:100]
    found = services.assisted_applications(g.organisation, status=status, query=query)
    return render_template(
        "support/list.html",
        found=found,
        status=status,
        query=query,
        statuses=[("not_started", _("Not started"))]
        + [
            (s.value, apply_services.status_name(s.value))
            for s in Status
            if s is not Status.WITHDRAWN
        ],
    )


@support.route("/support/new", methods=["GET", "POST"])
@form_page
@worker_view
def new_applicant() -> Any:
    form = NewApplicantForm()
    if form.validate_on_submit():
        session[NEW_KEY] = {"label": form.label.data, "locale": form.locale.data}
        return redirect(url_for("support.consent"))
    return render_template("support/new.html", form=form)


@support.route("/support/new/consent", methods=["GET", "POST"])
@form_page
@worker_view
def consent() -> Any:
    pending = session.get(NEW_KEY)
    if not pending:
        return redirect(url_for("support.new_applicant"))
    locale = pending["locale"]
    text = consent_text(locale)
    form = ConsentForm()
    if form.validate_on_submit():
        assistance = services.start_assistance(
            current_user,
            label=pending["label"],
            locale=locale,
            method=ConsentMethod(form.method.data),
            consent_text=re.sub(r"\s+", " ", text.striptags()),
            contact_through_organisation=bool(form.through_organisation.data),
        )
        session.pop(NEW_KEY, None)
        access.begin_acting(current_user, assistance)
        return redirect(url_for("eligibility.start", locale=locale))
    return render_template(
        "support/consent.html",
        form=form,
        text=text,
        applicant_locale=locale,
        applicant_direction=text_direction(locale),
    )


@support.route("/support/applicants/<assistance_id>")
@worker_view
def applicant(assistance_id: str) -> Any:
    assistance = _assistance_or_404(assistance_id)
    application = apply_services.active_application(assistance.applicant)
    return render_template(
        "support/applicant.html",
        assistance=assistance,
        application=application,
        form=ConfirmForm(formdata=None),
    )


@support.route("/support/applicants/<assistance_id>/act", methods=["POST"])
@worker_view
def act(assistance_id: str) -> Any:
    assistance = _assistance_or_404(assistance_id)
    if ConfirmForm().validate_on_submit():
        access.begin_acting(current_user, assistance)
        return redirect(url_for("apply.overview"))
    return redirect(url_for("support.applicant", assistance_id=assistance.id))


@support.route("/support/stop", methods=["POST"])
@worker_view
def stop() -> Any:
    if ConfirmForm().validate_on_submit():
        access.stop_acting()
    return redirect(url_for("support.applications"))


@support.route("/support/applicants/<assistance_id>/summary")
@worker_view
def printable(assistance_id: str) -> Any:
    """The answers in the applicant's language and in English side by side, to print."""
    assistance = _assistance_or_404(assistance_id)
    application = apply_services.active_application(assistance.applicant)
    if application is None:
        abort(404)
    columns = []
    for locale in dict.fromkeys((assistance.consent_locale, "en")):
        with force_locale(locale):
            sections = apply_services.summary_sections(application.answers, with_links=False)
        columns.append(
            {
                "locale": locale,
                "direction": text_direction(locale),
                "html": render_in(locale, "support/summary_column.html", sections=sections),
            }
        )
    return render_template(
        "support/summary.html", assistance=assistance, application=application, columns=columns
    )


@support.route("/support/applicants/<assistance_id>/claim-code", methods=["POST"])
@worker_view
def claim_code(assistance_id: str) -> Any:
    assistance = _assistance_or_404(assistance_id)
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("support.applicant", assistance_id=assistance.id))
    issued = services.issue_claim_code(assistance, current_user)
    locale = assistance.consent_locale
    instructions = render_in(
        locale,
        "support/claim_instructions.html",
        code=issued.code,
        claim_url=services.claim_url(locale),
    )
    return render_template(
        "support/claim_code.html",
        assistance=assistance,
        code=issued.code,
        sent_to=issued.sent_to,
        instructions=instructions,
        applicant_locale=locale,
        applicant_direction=text_direction(locale),
    )


@support.route("/support/applicants/<assistance_id>/end", methods=["POST"])
@worker_view
def end(assistance_id: str) -> Any:
    """The applicant withdrew their consent: the organisation's access ends now."""
    assistance = _assistance_or_404(assistance_id)
    if ConfirmForm().validate_on_submit():
        services.end_assistance(assistance, current_user, EndReason.CONSENT_WITHDRAWN)
        access.stop_acting()
        flash(_("Your organisation no longer has access to this application."), "success")
    return redirect(url_for("support.applications"))


# --- The applicant's side -------------------------------------------------------------------


@support.route("/claim", methods=["GET", "POST"])
@ratelimit.limiter.limit(
    ratelimit.ADDRESS_CEILING, methods=["POST"], exempt_when=ratelimit.form_refused
)
@form_page
def claim() -> Any:
    form = ClaimCodeForm()
    if form.validate_on_submit():
        if services.claimable(form.code.data) is not None:
            session[CLAIM_KEY] = services.normalise_claim_code(form.code.data)
            return redirect(url_for("support.claim_details"))
        form.code.errors = [_("This code is wrong, used or too old. Ask for a new one.")]
    return render_template("support/claim.html", form=form)


@support.route("/claim/sign-in-details", methods=["GET", "POST"])
@form_page
def claim_details() -> Any:
    code = session.get(CLAIM_KEY)
    if not code or services.claimable(code) is None:
        return redirect(url_for("support.claim"))
    form = ClaimDetailsForm()
    if form.validate_on_submit():
        try:
            claimed = services.claim(code, form.email.data, form.password.data)
        except services.EmailTaken:
            form.email.errors = [
                _("An account already uses this email address. Enter another one.")
            ]
        else:
            session.pop(CLAIM_KEY, None)
            if claimed is None:
                return redirect(url_for("support.claim"))
            return render_template("support/claimed.html", email=claimed.email)
    return render_template("support/claim_details.html", form=form)


@support.route("/application/help", methods=["GET", "POST"])
@form_page
@signed_in_required
def help_given() -> Any:
    """The applicant sees who helps them and can end that organisation's access."""
    if current_user.role_enum is not Role.APPLICANT:
        abort(404)
    assistance = services.active_assistance(current_user)
    if assistance is None:
        return redirect(url_for("apply.overview"))
    form = ConfirmForm()
    if form.validate_on_submit():
        services.end_assistance(assistance, current_user, EndReason.APPLICANT)
        flash(
            _(
                "%(organisation)s can no longer see or change your application.",
                organisation=assistance.organisation.name,
            ),
            "success",
        )
        return redirect(url_for("apply.overview"))
    return render_template("support/help.html", assistance=assistance, form=form)
