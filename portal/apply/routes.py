"""The applicant's pages: the task list, one page per question, check and send, status."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from portal import retention
from portal.apply import (
    contact,
    decisions,
    families,
    family_share,
    information,
    lifecycle,
    services,
    steps,
    submission,
    summary,
    windows,
)
from portal.apply.access import applicant_view, draft_view
from portal.apply.forms import (
    ContactCodeForm,
    FamilyMemberForm,
    InformationAnswerForm,
    NewEmailForm,
    NewMobileForm,
    ShareLanguageForm,
)
from portal.apply.more_information import render_more_information
from portal.auth import services as auth_services
from portal.auth.access import signed_in_required
from portal.documents import services as document_services
from portal.eligibility import services as eligibility_services
from portal.forms import CONTROL_CHARACTERS, ConfirmForm
from portal.models import Application, Role, Status, utcnow
from portal.notify import services as notify_services
from portal.presence import services as presence_services
from portal.security import form_page

apply = Blueprint("apply", __name__)
apply.add_app_template_global(summary.status_name)


@apply.route("/application/start")
@applicant_view
def start(application: Application | None) -> Any:
    """A new draft, for someone who has none or whose last application is withdrawn."""
    if application is not None and application.status_enum is not Status.WITHDRAWN:
        return redirect(url_for("apply.overview"))
    answers = dict(session.get("eligibility") or {})
    if not eligibility_services.is_eligible(answers):
        return redirect(url_for("eligibility.start"))
    services.start_draft(g.applicant, answers)
    session.pop("eligibility", None)
    return redirect(url_for("apply.task_list"))


@apply.route("/application")
@applicant_view
def overview(application: Application | None) -> Any:
    if application is None:
        return redirect(url_for("apply.start"))
    if application.status_enum is Status.DRAFT:
        return redirect(url_for("apply.task_list"))
    return redirect(url_for("apply.status"))


@apply.route("/application/tasks")
@draft_view
def task_list(application: Application) -> Any:
    files = document_services.documents_of(application)
    counts = document_services.counts(files)
    return render_template(
        "apply/task_list.html",
        sections=steps.section_states(application.answers),
        documents_state=document_services.section_state(application.answers, counts),
        complete=steps.is_complete(application.answers)
        and not document_services.missing(application.answers, counts),
    )


@apply.route("/application/questions/<name>", methods=["GET", "POST"])
@auth_services.holds_answers
@form_page
@draft_view
def question(application: Application, name: str) -> Any:
    if name not in steps.STEP_NAMES:
        abort(404)
    answers = application.answers
    if not steps.may_open(answers, name):
        unfinished = steps.first_unfinished(answers)
        target = unfinished.name if unfinished else None
        return redirect(
            url_for("apply.question", name=target) if target else url_for("apply.check_answers")
        )
    if name == "family_members":
        return _family_members(application)
    step = steps.step(name)
    held = _held_answers()
    form = step.form(formdata=held) if held else step.form(data=answers.get(name))
    if form.validate_on_submit():
        answer = services.answers_from_form(form)
        if name == "family_reference":
            closed = families.closed_window_of(answer["family_reference"], utcnow())
            if closed is not None:
                # Told at once, before filling anything in: this reference can no longer be sent.
                return render_template(
                    "apply/family_window_closed.html",
                    window=closed,
                    reference=answer["family_reference"],
                )
        saved = services.save_step(application, name, answer)
        return _after_save(saved, name)
    return render_template(
        "apply/question.html",
        form=form,
        step=step,
        section=summary.section_title(step.section),
        back_url=_back_url(application, name),
    )


def _held_answers() -> MultiDict[str, str] | None:
    """What this person typed here before a time-out signed them out, put back once (never saved
    until they press the button again with a fresh token)."""
    if request.method != "GET":
        return None
    held = auth_services.take_held_form(current_user.id)
    if held is None:
        return None
    flash(_("We put back what you typed before you were signed out. Check it, then save it."))
    return MultiDict(held)


def _after_save(answers: dict[str, Any], name: str) -> Any:
    if "save_and_exit" in request.form:
        flash(_("Your answers are saved. You can come back at any time."), "success")
        return redirect(url_for("apply.task_list"))
    upcoming = steps.next_step(answers, name)
    if request.args.get("change") and steps.is_complete(answers):
        return redirect(url_for("apply.check_answers"))
    if upcoming is None:
        return redirect(url_for("apply.check_answers"))
    return redirect(url_for("apply.question", name=upcoming.name, **_keep_change()))


def _keep_change() -> dict[str, Any]:
    return {"change": "1"} if request.args.get("change") else {}


def _back_url(application: Application, name: str) -> str:
    if request.args.get("change"):
        return url_for("apply.check_answers")
    previous = None
    for step in steps.applicable_steps(application.answers):
        if step.name == name:
            break
        previous = step
    return url_for("apply.question", name=previous.name) if previous else url_for("apply.task_list")


def _family_members(application: Application) -> Any:
    """The "add another" pattern: add people one by one, then say the list is complete."""
    form = FamilyMemberForm()
    if request.method == "POST" and "finished" in request.form:
        # "I have added everyone" changes the answers, so it passes a form's checks like any other
        # action (a refused security token among them).
        finished = ConfirmForm()
        if finished.validate_on_submit():
            if services.complete_family_members(application):
                return _after_save(application.answers, "family_members")
            finished.form_errors.append(_("Add at least one family member"))
        form.form_errors.extend(finished.form_errors)
    elif form.validate_on_submit():
        services.add_family_member(application, services.answers_from_form(form))
        return redirect(url_for("apply.question", name="family_members", **_keep_change()))
    members = (application.answers.get("family_members") or {}).get("members", [])
    return render_template(
        "apply/family_members.html",
        form=form,
        members=members,
        remove_form=ConfirmForm(),
        section=summary.section_title("about_you"),
        back_url=_back_url(application, "family_members"),
    )


@apply.route("/application/family-members/<member_id>/remove", methods=["POST"])
@draft_view
def remove_family_member(application: Application, member_id: str) -> Any:
    services.remove_family_member(application, member_id)
    return redirect(url_for("apply.question", name="family_members"))


@apply.route("/application/check-your-answers", methods=["GET", "POST"])
@form_page
@applicant_view
def check_answers(application: Application | None) -> Any:
    if application is None:
        return redirect(url_for("apply.start"))
    if application.status_enum is not Status.DRAFT:
        return redirect(url_for("apply.confirmation"))
    unfinished = steps.first_unfinished(application.answers)
    if unfinished is not None:
        return redirect(url_for("apply.question", name=unfinished.name))
    files = document_services.documents_of(application)
    if document_services.missing(application.answers, document_services.counts(files)):
        return redirect(url_for("documents.overview", missing=1))
    form = ConfirmForm()
    now = utcnow()
    window = windows.open_window(now)
    problem = None
    if form.validate_on_submit():
        key = request.form.get("submission_key", "").translate(CONTROL_CHARACTERS)
        result = submission.submit(
            application, current_user, key[:64] or secrets.token_hex(16), now
        )
        if result.outcome in (submission.Outcome.SUBMITTED, submission.Outcome.ALREADY_SUBMITTED):
            return redirect(url_for("apply.confirmation"))
        problem = result.outcome.value
        window = windows.open_window(now)
    return render_template(
        "apply/check_answers.html",
        form=form,
        sections=summary.summary_sections(application.answers),
        documents=files,
        window=window,
        next_window=None if window else windows.next_window(now),
        problem=problem,
        submission_key=secrets.token_hex(16),
        with_family=families.applies_with_family(application.answers),
    )


@apply.route("/application/sent")
@applicant_view
def confirmation(application: Application | None) -> Any:
    if application is None or application.status_enum is Status.DRAFT:
        return redirect(url_for("apply.overview"))
    if application.status_enum is Status.WITHDRAWN:
        return redirect(url_for("apply.status"))
    main = (application.answers.get("applicant_type") or {}).get("applicant_type") == "main"
    return render_template("apply/confirmation.html", application=application, main=main)


@apply.route("/application/status")
@applicant_view
def status(application: Application | None) -> Any:
    if application is None or application.status_enum is Status.DRAFT:
        return redirect(url_for("apply.overview"))
    now = utcnow()
    withdrawn = application.status_enum is Status.WITHDRAWN
    return render_template(
        "apply/status.html",
        application=application,
        withdrawn=withdrawn,
        window=windows.open_window(now) if withdrawn else None,
        next_window=windows.next_window(now) if withdrawn else None,
        kept_until=retention.kept_until(
            application, timedelta(days=current_app.config["PORTAL"].RETENTION_DAYS)
        ),
        family=families.status_of_family(application, now),
        helped_by=services.latest_assistance(application.applicant_id),
        can_withdraw=lifecycle.can_withdraw(application.status_enum),
        stage=summary.status_explanation(application.status_enum),
        reason=decisions.explain(lifecycle.last_decision_reason(application)),
        request=information.open_request(application)
        if application.status_enum is Status.MORE_INFORMATION
        else None,
        topics=decisions.INFORMATION_TOPICS,
        messages=notify_services.messages_of(application),
        masked=notify_services.masked,
        presence_form=ConfirmForm() if presence_services.can_ask(application) else None,
    )


@apply.route("/application/presence-link", methods=["POST"])
@form_page
@applicant_view
def new_presence_link(application: Application | None) -> Any:
    """A new 24-hour link to prove presence in France, when the last expired or never came."""
    if application is None:
        return redirect(url_for("apply.overview"))
    if ConfirmForm().validate_on_submit():
        answer = presence_services.send_new_link(application)
        if answer is presence_services.LinkAnswer.SENT:
            flash(_("We are sending you a new link. It works for 24 hours."), "success")
        elif answer is presence_services.LinkAnswer.TOO_MANY:
            flash(_("You have asked for many new links. Please wait and try again later."))
    return redirect(url_for("apply.status"))


@apply.route("/application/family/share")
@applicant_view
def share_family_reference(application: Application | None) -> Any:
    """The text (and its QR code) that gives a family member the family reference, in the language
    the main applicant picks for them. A GET form: choosing a language changes nothing."""
    family = families.status_of_family(application, utcnow()) if application else None
    if family is None or not family.is_main or not family.window_open:
        return redirect(url_for("apply.overview"))
    form = ShareLanguageForm(formdata=request.args if "language" in request.args else None)
    shared = None
    if "language" in request.args and form.validate():
        shared = family_share.shared_text(
            family.reference, form.language.data, family.window.closes_at
        )
    return render_template("apply/family_share.html", form=form, shared=shared)


@apply.route("/application/more-information", methods=["GET", "POST"])
@auth_services.holds_answers
@form_page
@applicant_view
def more_information(application: Application | None) -> Any:
    """The answer to a caseworker's request (words, files or both), which puts the application
    back in the queue."""
    request_ = information.open_request_of(application)
    if application is None or request_ is None:
        return redirect(url_for("apply.status"))
    held = _held_answers()
    form = InformationAnswerForm(formdata=held) if held else InformationAnswerForm()
    if form.validate_on_submit():
        try:
            information.answer(application, request_, current_user, form.answer.data or "")
        except information.NothingToSend:
            form.answer.errors = [_("Write an answer, or add a file, before you send it.")]
        except (lifecycle.NotNow, document_services.Refused):
            # Withdrawn, decided or answered meanwhile: the status page says what is true now.
            return redirect(url_for("apply.status"))
        else:
            flash(
                _(
                    "Thank you. Your answer is sent, and a caseworker will check your application again."
                ),
                "success",
            )
            return redirect(url_for("apply.status"))
    return render_more_information(application, request_, form, None)


@apply.route("/application/withdraw", methods=["GET", "POST"])
@form_page
@applicant_view
def withdraw(application: Application | None) -> Any:
    if application is None or not lifecycle.can_withdraw(application.status_enum):
        return redirect(url_for("apply.overview"))
    form = ConfirmForm()
    if form.validate_on_submit():
        services.withdraw(application, current_user)
        flash(_("Your application is withdrawn."), "success")
        return redirect(url_for("apply.status"))
    return render_template("apply/withdraw.html", form=form, application=application)


@apply.route("/application/delete", methods=["GET", "POST"])
@form_page
@draft_view
def delete_draft(application: Application) -> Any:
    form = ConfirmForm()
    if form.validate_on_submit():
        services.delete_draft(application)
        flash(_("Your draft application and its answers are deleted."), "success")
        return redirect(url_for("auth.account"))
    return render_template("apply/delete.html", form=form)


@apply.route("/application/your-data.json")
@applicant_view
def download(application: Application | None) -> Any:
    if application is None:
        abort(404)
    body = json.dumps(services.export(application, g.applicant), ensure_ascii=False, indent=2)
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="my-application.json"'
    return response


@apply.route("/application/copy")
@applicant_view
def copy(application: Application | None) -> Any:
    if application is None:
        abort(404)
    return render_template(
        "apply/copy.html",
        application=application,
        sections=summary.summary_sections(application.answers, with_links=False),
    )


def account_owner(view: Callable[..., Any]) -> Callable[..., Any]:
    """An applicant's own contact pages: only the account's owner, signed in as themselves. A
    support worker acting for them, or staff, find no such page: the code goes to the
    applicant's new address, and only they can say it is theirs."""

    @signed_in_required
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user.role_enum is not Role.APPLICANT:
            abort(404)
        return view(services.current_application(current_user), *args, **kwargs)

    return wrapped


def _after_contact_pages(application: Application | None) -> str:
    """Back to where the applicant sees their contact details."""
    if application is None or application.status_enum is Status.DRAFT:
        return url_for("auth.account")
    return url_for("apply.status")


CONTACT_PAGES = {
    contact.Kind.EMAIL: (_l("Change your email address"), _l("This is already your email address")),
    contact.Kind.MOBILE: (
        _l("Change your mobile phone number"),
        _l("This is already your mobile phone number"),
    ),
}
TOO_MANY_CODES = _l("You have asked for many codes. Please wait and try again later.")


@apply.route("/account/contact/email", methods=["GET", "POST"])
@form_page
@account_owner
def change_email(application: Application | None) -> Any:
    return _ask_for_code(application, contact.Kind.EMAIL, NewEmailForm())


@apply.route("/account/contact/mobile", methods=["GET", "POST"])
@form_page
@account_owner
def change_mobile(application: Application | None) -> Any:
    if application is None or not application.answers.get("contact"):
        # No contact answer to correct yet: a draft's own question asks for the number.
        return redirect(url_for("apply.overview"))
    return _ask_for_code(application, contact.Kind.MOBILE, NewMobileForm())


def _ask_for_code(
    application: Application | None, kind: contact.Kind, form: NewEmailForm | NewMobileForm
) -> Any:
    """The new address or number; a code goes to it. Nothing changes before the code comes back."""
    field = form.email if isinstance(form, NewEmailForm) else form.mobile
    if form.validate_on_submit():
        answer = contact.request_change(current_user, application, kind, field.data)
        if answer is contact.CodeAnswer.SENT:
            return redirect(url_for("apply.contact_code"))
        field.errors = [
            str(CONTACT_PAGES[kind][1])
            if answer is contact.CodeAnswer.UNCHANGED
            else str(TOO_MANY_CODES)
        ]
    return render_template(
        "auth/change_contact.html",
        form=form,
        field=field,
        kind=kind.value,
        title=CONTACT_PAGES[kind][0],
        current=contact.contact_of(current_user, application),
        back=_after_contact_pages(application),
    )


CODE_PROBLEMS = {
    contact.Outcome.WRONG: _l("The code is not right. Check the message and try again"),
    contact.Outcome.EXPIRED: _l("The code has expired. Ask for a new code"),
    contact.Outcome.TOO_MANY_ATTEMPTS: _l(
        "You entered a wrong code too many times. Ask for a new code"
    ),
    contact.Outcome.IN_USE: _l("An account already uses this email address. Enter another one."),
}
CHANGED = {
    contact.Kind.EMAIL: _l(
        "Your email address has been changed. Use it to sign in. We sent a message about "
        "the change to your old address."
    ),
    contact.Kind.MOBILE: _l(
        "Your mobile phone number has been changed. We sent a message about the change to "
        "your old number."
    ),
}


@apply.route("/account/contact/code", methods=["GET", "POST"])
@form_page
@account_owner
def contact_code(application: Application | None) -> Any:
    """The code sent to the new address or number: only the right one makes the change."""
    change = contact.waiting_change(current_user)
    if change is None:
        return redirect(_after_contact_pages(application))
    form = ContactCodeForm()
    in_use = False
    if form.validate_on_submit():
        outcome, kind = contact.confirm(current_user, application, form.code.data)
        if outcome is contact.Outcome.CHANGED and kind is not None:
            flash(str(CHANGED[kind]), "success")
            return redirect(_after_contact_pages(application))
        if outcome is contact.Outcome.NOTHING_WAITING:
            return redirect(_after_contact_pages(application))
        form.code.errors = [str(CODE_PROBLEMS[outcome])]
        in_use = outcome is contact.Outcome.IN_USE
    return render_template(
        "auth/contact_code.html",
        form=form,
        again=ConfirmForm(),
        change=change,
        minutes=int(contact.CODE_LIFETIME.total_seconds() // 60),
        in_use=in_use,
    )


@apply.route("/account/contact/code/again", methods=["POST"])
@form_page
@account_owner
def contact_code_again(application: Application | None) -> Any:
    """A new code for the same new address or number, within the same limits as the first."""
    if ConfirmForm().validate_on_submit():
        answer = contact.send_again(current_user, application)
        if answer is None:
            return redirect(_after_contact_pages(application))
        if answer is contact.CodeAnswer.SENT:
            flash(_("We sent you a new code. Only the newest code works."), "success")
        else:
            flash(str(TOO_MANY_CODES))
    return redirect(url_for("apply.contact_code"))


# The status and account pages show how we contact the applicant (templates/auth/_contact_details.html).
apply.add_app_template_global(contact.contact_of)
