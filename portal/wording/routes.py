"""The readers' side: the notice and the report link on every page, and the report form.

The form works signed in or not and asks nothing about the person: no name, no contact details,
and no account is linked to the report.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from portal.i18n import current_locale
from portal.models import WordingProblem
from portal.ratelimit import limiter
from portal.security import form_page
from portal.wording import services
from portal.wording.forms import WordingReportForm
from portal.wording.pages import is_readers_page, reportable_page, translation_notice

wording = Blueprint("wording", __name__)


@wording.app_context_processor
def wording_context() -> dict[str, Any]:
    return {"translation_notice": translation_notice, "report_words_url": report_words_url}


def report_words_url() -> str | None:
    """The report form about the page being shown; None on the back office and unknown pages."""
    if not is_readers_page() or request.blueprint == "wording":
        return None
    page = reportable_page(request.path)
    return url_for("wording.report", page=page.path) if page else None


def back_to(path: str | None) -> str | None:
    """The page a report was about, if it is a real address (no token or id had to be hidden)."""
    return path if path and "<" not in path else None


@wording.route("/report-words", methods=["GET", "POST"])
@form_page
@limiter.limit("20 per hour", methods=["POST"])
def report() -> Any:
    form = WordingReportForm()
    if request.method == "GET":
        form.page.data = request.args.get("page", "")
    page = reportable_page(form.page.data)
    form.page.data = page.path if page else ""
    if form.validate_on_submit():
        services.record_report(
            page,
            current_locale(),
            WordingProblem(form.problem.data),
            form.details.data,
            form.suggestion.data,
        )
        return redirect(url_for("wording.sent", page=form.page.data or None))
    return render_template("wording/report.html", form=form, back=back_to(form.page.data))


@wording.route("/report-words/sent")
def sent() -> Any:
    page = reportable_page(request.args.get("page"))
    return render_template("wording/sent.html", back=back_to(page.path if page else None))
