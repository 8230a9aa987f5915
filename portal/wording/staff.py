"""Admins read the reports on the words of pages, by language and page, and mark them dealt with.

English only, like the rest of the back office: a page asked for in another locale is sent to its
/en/ address. Reports ask for no personal data and are linked to no account; but what a reader
types cannot be controlled, so each listing is written to the audit log like other staff views.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal import audit
from portal.auth.access import staff_required
from portal.models import Role, WordingProblem
from portal.staff_access import english_only
from portal.translation_status import review_of
from portal.wording import services

wording_reports = Blueprint("wording_reports", __name__)

PROBLEM_NAMES = {
    WordingProblem.HARD_TO_UNDERSTAND: "Hard to understand",
    WordingProblem.WRONG_MEANING: "Wrong meaning",
    WordingProblem.SPELLING_OR_GRAMMAR: "Spelling or grammar",
    WordingProblem.NOT_MY_LANGUAGE: "Not in the reader's language",
    WordingProblem.OTHER: "Something else",
}


# Admins read these pages in English; a translated URL leads to the English page.
wording_reports.before_request(english_only)


@wording_reports.route("/")
@staff_required(Role.ADMIN)
def report_list() -> Any:
    include_dealt_with = request.args.get("show") == "all"
    grouped = services.grouped_reports(include_dealt_with)
    audit.record_now(
        "viewed_wording_reports",
        subject_type="wording_report_list",
        count=sum(group.count for group in grouped),
        include_dealt_with=include_dealt_with,
    )
    return render_template(
        "admin/wording_reports.html",
        grouped=grouped,
        include_dealt_with=include_dealt_with,
        problem_names=PROBLEM_NAMES,
        review_of=review_of,
        limit=services.LISTED_REPORTS,
    )


@wording_reports.route("/<report_id>/dealt-with", methods=["POST"])
@staff_required(Role.ADMIN)
def dealt_with(report_id: str) -> Any:
    try:
        identifier = uuid.UUID(report_id)
        marked = services.mark_dealt_with(identifier, current_user.id)
    except (ValueError, LookupError):
        abort(404)
    if marked:
        flash("The report is marked as dealt with.", "success")
    else:
        flash("That report was already dealt with.")
    return redirect(url_for("wording_reports.report_list", show=request.args.get("show")))
