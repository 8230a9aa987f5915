"""Which page a report is about, and which pages carry the notice and the report link.

A report names a page by its portal path. What a reader sends is never trusted: the path must be
one of the portal's own pages in one of its languages, the query string is dropped, and every part
of the path that is not the same for every reader (one-time tokens, ids of applications,
documents or people) is replaced by its name, so that `/fr/reset-password/abc123` is stored as
`/fr/reset-password/<token>`. Only the parts that choose which words are shown are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from flask import current_app, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect, Rule

from portal.config import LOCALES
from portal.i18n import current_locale, same_page_url
from portal.translation_status import SOURCE_LOCALE, is_checked

# Path parts that choose the words of a page: a question, a kind of document, a reason for refusal.
WORDING_ARGUMENTS = frozenset({"locale", "name", "kind", "reason"})
# The staff's English back office (admin, casework, staff documents): not the readers' pages.
BACK_OFFICE_SECTIONS = frozenset({"admin", "casework", "staff"})
MAX_PAGE_LENGTH = 300

_VARIABLE = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")


@dataclass(frozen=True)
class ReportedPage:
    path: str
    locale: str


def is_back_office(rule: Rule) -> bool:
    parts = rule.rule.split("/")
    return len(parts) > 2 and parts[1] == "<locale>" and parts[2] in BACK_OFFICE_SECTIONS


def reportable_page(path: str | None) -> ReportedPage | None:
    """The page a reader may report, named without what is personal to them; None if none."""
    if not path or len(path) > MAX_PAGE_LENGTH * 2 or not path.startswith("/"):
        return None
    adapter = current_app.url_map.bind("localhost")
    try:
        rule, arguments = adapter.match(path.split("?", 1)[0], method="GET", return_rule=True)
    except (HTTPException, RequestRedirect):
        return None
    if "locale" not in rule.arguments or arguments["locale"] not in LOCALES or is_back_office(rule):
        return None

    def named(match: re.Match[str]) -> str:
        argument = match.group(1)
        if argument in WORDING_ARGUMENTS:
            return quote(str(arguments[argument]), safe="")
        return f"<{argument}>"

    named_path = _VARIABLE.sub(named, rule.rule)
    if len(named_path) > MAX_PAGE_LENGTH:
        return None
    return ReportedPage(named_path, arguments["locale"])


def is_readers_page() -> bool:
    """A page of the applicant's side (not the back office), reached through one of its routes."""
    rule = request.url_rule
    return rule is not None and "locale" in rule.arguments and not is_back_office(rule)


@dataclass(frozen=True)
class TranslationNotice:
    english_url: str
    french_url: str | None


def translation_notice() -> TranslationNotice | None:
    """The links of the notice on a page in a language that no fluent reader has checked yet.

    French readers get English; everyone else English and French, the languages that the
    scheme's staff and the development team write in.
    """
    code = current_locale()
    if code not in LOCALES or is_checked(code):
        return None
    french = None if code == "fr" else same_page_url("fr")
    return TranslationNotice(same_page_url(SOURCE_LOCALE), french)
