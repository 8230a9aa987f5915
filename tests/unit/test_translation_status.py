"""The one source of truth about which translations a fluent reader has checked stays honest."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from portal.config import LOCALES, PROJECT_ROOT
from portal.translation_status import (
    REVIEWS,
    SOURCE_LOCALE,
    TranslationReview,
    is_checked,
    unchecked_locales,
)


def test_every_locale_served_has_a_review_status():
    assert set(REVIEWS) == set(LOCALES)


def test_no_locale_but_the_english_source_is_checked_by_a_fluent_person():
    """The fact today: French was written by the team, the others by a language model, and no
    fluent speaker has read any of them. When one is reviewed, record the reviewer and the date in
    portal/translation_status.py and change this test with it."""
    assert SOURCE_LOCALE == "en" and REVIEWS["en"].source
    assert [code for code in LOCALES if is_checked(code)] == ["en"]
    assert [code for code, review in REVIEWS.items() if review.reviewed] == []
    assert unchecked_locales() == [code for code in LOCALES if code != "en"]


@pytest.mark.parametrize(
    "claim",
    [
        {"reviewed": True},
        {"reviewed": True, "reviewed_by": "A. Reader"},
        {"reviewed": True, "reviewed_on": dt.date(2027, 1, 5)},
        {"reviewed": True, "reviewed_by": "", "reviewed_on": dt.date(2027, 1, 5)},
        {"reviewed": False, "reviewed_by": "A. Reader"},
    ],
)
def test_a_review_without_a_reviewer_and_a_date_is_refused(claim):
    with pytest.raises(ValueError):
        TranslationReview(**claim)


def test_every_review_claimed_names_a_reviewer_and_a_date():
    for code, review in REVIEWS.items():
        if review.reviewed:
            assert review.reviewed_by and review.reviewed_on, code
    assert TranslationReview(True, "A. Reader", dt.date(2027, 1, 5)).checked


def test_the_translations_readme_says_what_the_source_of_truth_says():
    """translations/README.md's table repeats the status for readers of the repository."""
    text = (PROJECT_ROOT / "translations" / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| (\w+) \|.*\| ([^|]+?) \|$", text, flags=re.MULTILINE))
    for code, review in REVIEWS.items():
        if review.source:
            assert rows[code] == "n/a (the source)", code
        elif review.reviewed:
            assert review.reviewed_by in rows[code], code
        else:
            assert rows[code] == "not yet", code
