"""Storing readers' reports on the words of a page, and listing them for admins."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select, update

from portal import audit
from portal.config import LOCALES
from portal.extensions import db
from portal.models import WordingProblem, WordingReport, utcnow
from portal.transactions import transactional
from portal.wording.pages import ReportedPage

# The admin page lists at most this many reports: the newest, which are the ones to act on.
LISTED_REPORTS = 500


@transactional
def record_report(
    page: ReportedPage | None,
    form_locale: str,
    problem: WordingProblem,
    details: str,
    suggestion: str | None,
) -> WordingReport:
    """Add a report to the session (the handler commits). Its locale is the reported page's,
    the language the words were read in; without a page, the language of the form."""
    report = WordingReport(
        locale=page.locale if page else form_locale,
        page=page.path if page else None,
        problem=problem.value,
        details=details,
        suggestion=suggestion or None,
    )
    db.session.add(report)
    return report


@dataclass
class PageReports:
    page: str | None
    reports: list[WordingReport] = field(default_factory=list)


@dataclass
class LocaleReports:
    locale: str
    pages: list[PageReports] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(page.reports) for page in self.pages)


def grouped_reports(include_dealt_with: bool = False) -> list[LocaleReports]:
    """Reports by language (in the portal's order), then by page (the page with the newest report
    first), each page's reports newest first."""
    query = select(WordingReport).order_by(WordingReport.created_at.desc()).limit(LISTED_REPORTS)
    if not include_dealt_with:
        query = query.where(WordingReport.dealt_with_at.is_(None))
    return group(db.session.scalars(query).all())


def group(reports: Sequence[WordingReport]) -> list[LocaleReports]:
    """Group reports already sorted newest first, keeping that order inside each group."""
    by_locale: dict[str, dict[str | None, PageReports]] = {}
    for report in reports:
        pages = by_locale.setdefault(report.locale, {})
        pages.setdefault(report.page, PageReports(report.page)).reports.append(report)
    order = {code: index for index, code in enumerate(LOCALES)}
    return [
        LocaleReports(locale, list(pages.values()))
        for locale, pages in sorted(by_locale.items(), key=lambda item: order.get(item[0], 99))
    ]


@transactional
def mark_dealt_with(report_id: uuid.UUID, staff_id: uuid.UUID) -> bool:
    """Mark a report dealt with, once (a conditional update: two admins cannot both do it).

    False if it already was; LookupError if there is no such report.
    """
    if db.session.get(WordingReport, report_id) is None:
        raise LookupError(report_id)
    result = db.session.execute(
        update(WordingReport)
        .where(WordingReport.id == report_id, WordingReport.dealt_with_at.is_(None))
        .values(dealt_with_at=utcnow(), dealt_with_by_id=staff_id)
    )
    marked = bool(result.rowcount)  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult
    if marked:
        audit.record(
            "marked_wording_report_dealt_with", subject_type="wording_report", subject_id=report_id
        )
    return marked
