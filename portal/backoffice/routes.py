"""The caseworker's screens. Thin handlers: the rules live in the back office's claims,
decisions, search and export modules.

The back office is written in English only: caseworkers are UK staff, and their notes and
decisions must read the same to the next caseworker. A page asked for in another locale is sent
to its /en/ address, so that `lang` and `dir` always match the text. What an applicant sees of a
caseworker's work (requests, decisions) is translated on the applicant's side.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_timedelta
from flask_login import current_user

from portal import audit
from portal.apply import services as apply_services
from portal.appointments import services as appointment_services
from portal.auth.access import staff_required
from portal.backoffice import claims, dashboard, dead_letters, decisions, export
from portal.backoffice import search as lookup
from portal.backoffice.forms import (
    CHECK_LABELS,
    OUTCOME_LABELS,
    CheckForm,
    DecisionForm,
    FinalDecisionForm,
    ReturnsImportForm,
    SearchForm,
)
from portal.documents import services as document_services
from portal.models import CheckName, CheckOutcome, FamilyGroup, Role, utcnow
from portal.returns import services as returns
from portal.security import form_page
from portal.staff_access import CASEWORK, english_only, object_or_404

backoffice = Blueprint("backoffice", __name__)

MAX_RETURNS_FILE_BYTES = 5 * 1024 * 1024
backoffice.before_request(english_only)


@backoffice.app_template_global()
def rule_name(rule: str) -> str:
    return apply_services.RULE_NAMES.get(rule, rule.replace("_", " "))


@backoffice.app_template_filter("duration")
def duration(value: timedelta) -> str:
    return format_timedelta(value, granularity="minute")


@backoffice.route("/")
@staff_required(*CASEWORK)
def dashboard_page() -> Any:
    figures = dashboard.figures(utcnow())
    audit.record_now("casework_dashboard_viewed", subject_type="queue")
    return render_template(
        "backoffice/dashboard.html", figures=figures, search_form=SearchForm(formdata=None)
    )


@backoffice.route("/next", methods=["POST"])
@staff_required(*CASEWORK)
def next_application() -> Any:
    application = claims.claim_next(current_user)
    if application is None:
        flash("No applications are waiting to be checked.")
        return redirect(url_for("backoffice.dashboard_page"))
    return redirect(url_for("backoffice.application_page", application_id=application.id))


def _application_or_404(application_id: str) -> Any:
    application = lookup.application_by_id(application_id)
    if application is None:
        audit.record_now(
            "casework_not_found", subject_type="application", subject_id=application_id
        )
        abort(404)
    return application


@backoffice.route("/applications/<application_id>")
@staff_required(*CASEWORK)
def application_page(application_id: str) -> Any:
    application = _application_or_404(application_id)
    return _render_application(application, CheckForm(formdata=None), DecisionForm(formdata=None))


def _render_application(
    application: Any,
    check_form: CheckForm,
    decision_form: DecisionForm,
    final_form: FinalDecisionForm | None = None,
    status: int = 200,
) -> Any:
    lease_until = claims.keep_working(application, current_user)
    person = returns.person_of(application)
    audit.record_now("application_viewed", subject_type="application", subject_id=application.id)
    context = {
        "application": application,
        "sections": apply_services.summary_sections(application.answers, with_links=False),
        "documents": document_services.documents_of(application),
        "group": decisions.group_of(application),
        "checks": decisions.current_checks(application),
        "requests": apply_services.requests_of(application),
        "returns_matches": returns.matches_for(person),
        "duplicates": returns.duplicates_of(application, person),
        "presence": dashboard.presence_of(application),
        "history": application.status_changes,
        "appointments": appointment_services.appointments_of(application),
        "helped_by": apply_services.latest_assistance(application.applicant_id),
        "lease_until": lease_until,
        "check_form": check_form,
        "decision_form": decision_form,
        "final_form": final_form or FinalDecisionForm(formdata=None),
        "check_labels": CHECK_LABELS,
        "outcome_labels": {outcome.value: label for outcome, label in OUTCOME_LABELS.items()},
        "can_decide_final": apply_services.allows(
            application, apply_services.Action.FINAL_DECISION
        ),
        "finished": apply_services.is_finished(application),
        "missed_appointments": appointment_services.missed_too_many(application),
    }
    return render_template("backoffice/application.html", **context), status


@backoffice.route("/family-groups/<group_id>")
@staff_required(*CASEWORK)
def family_group_page(group_id: str) -> Any:
    """The family group: every member the main applicant listed, the application matched to each,
    and applications with the family reference that match nobody listed."""
    group = object_or_404(FamilyGroup, group_id)
    progress = apply_services.family_progress(group)
    audit.record_now("family_group_viewed", subject_type="family_group", subject_id=group.id)
    return render_template("backoffice/family_group.html", progress=progress)


@backoffice.route("/applications/<application_id>/release", methods=["POST"])
@staff_required(*CASEWORK)
def release(application_id: str) -> Any:
    application = _application_or_404(application_id)
    if claims.release(application, current_user):
        flash(f"{application.reference} is back in the queue.")
    elif apply_services.is_finished(application):
        flash(str(apply_services.Finished(application, "put it back in the queue")))
    else:
        flash("You were not holding this application.")
    return redirect(url_for("backoffice.dashboard_page"))


@backoffice.route("/applications/<application_id>/checks", methods=["POST"])
@staff_required(*CASEWORK)
def record_check(application_id: str) -> Any:
    application = _application_or_404(application_id)
    form = CheckForm()
    if not form.validate_on_submit():
        return _render_application(application, form, DecisionForm(formdata=None), status=400)
    try:
        decisions.record_check(
            application,
            current_user,
            CheckName(form.check.data),
            CheckOutcome(form.outcome.data),
            form.note.data or "",
        )
    except claims.NotHeld:
        form.check.errors = ["Claim this application from the queue before recording checks."]
        return _render_application(application, form, DecisionForm(formdata=None), status=409)
    except apply_services.NotNow as refused:
        form.check.errors = [str(refused)]
        return _render_application(application, form, DecisionForm(formdata=None), status=409)
    flash("Check recorded.")
    return redirect(url_for("backoffice.application_page", application_id=application.id))


@backoffice.route("/applications/<application_id>/decision", methods=["POST"])
@staff_required(*CASEWORK)
def decide(application_id: str) -> Any:
    application = _application_or_404(application_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        return _render_application(application, CheckForm(formdata=None), form, status=400)
    try:
        changed = decisions.decide(
            application,
            current_user,
            apply_services.Decision(form.decision.data),
            rule=form.rule_for(form.decision.data),
            topics=form.topics.data or [],
            note=form.note.data or "",
        )
    except (claims.NotHeld, decisions.DecisionRefused) as refused:
        form.decision.errors = [str(refused)]
        return _render_application(application, CheckForm(formdata=None), form, status=409)
    flash(decisions.decision_recorded(application, changed))
    return redirect(url_for("backoffice.dashboard_page"))


@backoffice.route("/applications/<application_id>/final-decision", methods=["POST"])
@staff_required(*CASEWORK)
def final_decision(application_id: str) -> Any:
    application = _application_or_404(application_id)
    form = FinalDecisionForm()
    if not form.validate_on_submit():
        return _render_application(
            application, CheckForm(formdata=None), DecisionForm(formdata=None), form, 400
        )
    try:
        changed = decisions.final_decision(
            application,
            current_user,
            apply_services.FinalDecision(form.decision.data),
            security_outcome=CheckOutcome(form.security.data),
            rule=form.rule.data or "",
            note=form.note.data or "",
        )
    except decisions.DecisionRefused as refused:
        form.decision.errors = [str(refused)]
        return _render_application(
            application, CheckForm(formdata=None), DecisionForm(formdata=None), form, 409
        )
    flash(decisions.decision_recorded(application, changed))
    return redirect(url_for("backoffice.dashboard_page"))


@backoffice.route("/search")
@staff_required(*CASEWORK)
def search() -> Any:
    form = SearchForm(request.args, meta={"csrf": False})
    results = lookup.search(form.q.data or "") if form.validate() else []
    audit.record_now("applications_searched", subject_type="application_list", count=len(results))
    return render_template("backoffice/search.html", form=form, results=results)


@backoffice.route("/decisions.csv")
@staff_required(*CASEWORK)
def decisions_export() -> Any:
    text = export.decisions_csv()
    audit.record_now("decisions_exported", subject_type="decision_list")
    return Response(
        text,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="decisions-{utcnow():%Y%m%d}.csv"',
            "Cache-Control": "no-store",
        },
    )


@backoffice.route("/dead-letters")
@staff_required(Role.ADMIN)
def dead_letters_page() -> Any:
    """Admins see the applications that failed too many times, which no caseworker can claim."""
    listing = dead_letters.dead_letters(utcnow())
    audit.record_now("dead_letters_viewed", subject_type="queue", count=len(listing.applications))
    return render_template("backoffice/dead_letters.html", listing=listing)


# Not a form_page: this POST has no form to refuse it, so after a refused CSRF token it must not
# run again; the error page is the answer.
@backoffice.route("/dead-letters", methods=["POST"])
@staff_required(Role.ADMIN)
def return_dead_letters() -> Any:
    returned = dead_letters.return_to_queue()
    flash(dead_letters.returned_message(returned), "success" if returned else "message")
    return redirect(url_for("backoffice.dead_letters_page"))


# Not a form_page either, for the same reason.
@backoffice.route("/dead-letters/unreadable/<message_id>", methods=["POST"])
@staff_required(Role.ADMIN)
def unreadable_message(message_id: str) -> Any:
    """An admin sends a kept unreadable message back to its queue, or discards it."""
    action = request.form.get("action")
    if action == "send_back":
        flash(dead_letters.send_back(message_id))
    elif action == "discard":
        flash(dead_letters.discard(message_id))
    else:
        flash("Choose to send the message back or to discard it.")
    return redirect(url_for("backoffice.dead_letters_page"))


@backoffice.route("/returns", methods=["GET", "POST"])
@form_page
@staff_required(Role.ADMIN)
def returns_list() -> Any:
    """Admins add people returned to France; every row is checked, and the rejected ones listed."""
    form = ReturnsImportForm()
    result = None
    if form.validate_on_submit():
        data = form.file.data.read(MAX_RETURNS_FILE_BYTES + 1)
        if len(data) > MAX_RETURNS_FILE_BYTES:
            form.file.errors = ["The file must be smaller than 5 MB: split it in parts"]
        else:
            result = returns.parse_returns_csv(data, utcnow().date())
            if result.problem:
                form.file.errors = [result.problem]
            else:
                added = returns.import_rows(result, current_user.id)
                flash(
                    f"{added} people added to the returns list; {len(result.rejected)} rows rejected."
                )
    return render_template(
        "backoffice/returns.html",
        form=form,
        result=result,
        returned=returns.returned_count(),
        parity=decisions.parity_now(),
    )
