"""The eligibility questions, one per page, before any account or form."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, session, url_for

from portal.eligibility import rules
from portal.eligibility.content import QUESTION_TEXT, REASON_TEXT
from portal.eligibility.forms import EligibilityForm
from portal.security import form_page

eligibility = Blueprint("eligibility", __name__)


def stored_answers() -> dict[str, str]:
    """Answers live in the session until an account exists; they hold nothing personal."""
    return dict(session.get("eligibility") or {})


@eligibility.route("/eligibility")
def start() -> Any:
    answers = stored_answers()
    reason = rules.first_reason(answers)
    if reason is not None:
        return redirect(url_for("eligibility.cannot_apply", reason=reason.value))
    name = rules.next_question(answers)
    if name is None:
        return redirect(url_for("eligibility.can_apply"))
    return redirect(url_for("eligibility.question", name=name))


@eligibility.route("/eligibility/<name>", methods=["GET", "POST"])
@form_page
def question(name: str) -> Any:
    if name not in rules.QUESTION_NAMES:
        abort(404)
    answers = stored_answers()
    if not rules.may_ask(answers, name):
        return redirect(url_for("eligibility.start"))
    position = rules.QUESTION_NAMES.index(name)
    text = QUESTION_TEXT[name]
    form = EligibilityForm.for_question(text, answers.get(name))
    if form.validate_on_submit():
        answers[name] = form.answer.data
        session["eligibility"] = answers
        reason = rules.judge(name, form.answer.data)
        if reason is not None:
            return redirect(url_for("eligibility.cannot_apply", reason=reason.value))
        return redirect(url_for("eligibility.start"))
    back = (
        url_for("eligibility.question", name=rules.QUESTION_NAMES[position - 1])
        if position
        else url_for("pages.start")
    )
    return render_template(
        "eligibility/question.html",
        form=form,
        number=position + 1,
        total=len(rules.QUESTION_NAMES),
        back_url=back,
    )


@eligibility.route("/eligibility/cannot-apply/<reason>")
def cannot_apply(reason: str) -> Any:
    try:
        known = rules.Reason(reason)
    except ValueError:
        abort(404)
    answers = stored_answers()
    if rules.first_reason(answers) is not known:
        return redirect(url_for("eligibility.start"))
    question_name = next(
        q for q in rules.QUESTION_NAMES if q in answers and rules.judge(q, answers[q]) is known
    )
    return render_template(
        "eligibility/cannot_apply.html",
        explanation=REASON_TEXT[known],
        change_url=url_for("eligibility.question", name=question_name),
    )


@eligibility.route("/eligibility/you-can-apply")
def can_apply() -> Any:
    if not rules.is_eligible(stored_answers()):
        return redirect(url_for("eligibility.start"))
    return render_template("eligibility/can_apply.html")
