"""Which translations a fluent reader has checked: the one place that says so.

The site reads it to show the "not checked yet" notice, and the tests read it to keep the notice
and translations/README.md honest. English is the source every catalog is translated from. No other
locale has been read by a fluent speaker yet: French was written by the development team, the others
by a language model. A locale becomes checked only with the reviewer's name and the date of the
review; an entry that claims a review without both is refused when the portal starts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal.config import LOCALES

SOURCE_LOCALE = "en"


@dataclass(frozen=True)
class TranslationReview:
    """What is known about one locale's catalog."""

    reviewed: bool = False
    reviewed_by: str | None = None
    reviewed_on: dt.date | None = None
    source: bool = False

    def __post_init__(self) -> None:
        if self.reviewed and not (self.reviewed_by and self.reviewed_on):
            raise ValueError("a checked translation names its reviewer and the date of the review")
        if not self.reviewed and (self.reviewed_by or self.reviewed_on):
            raise ValueError("a reviewer and a date are given only for a checked translation")

    @property
    def checked(self) -> bool:
        """Readers can trust the words: the source language, or a fluent person read them."""
        return self.source or self.reviewed


NOT_CHECKED = TranslationReview()

REVIEWS: dict[str, TranslationReview] = {
    "en": TranslationReview(source=True),
    "fr": NOT_CHECKED,
    "ar": NOT_CHECKED,
    "fa": NOT_CHECKED,
    "prs": NOT_CHECKED,
    "ps": NOT_CHECKED,
    "ckb": NOT_CHECKED,
    "ku": NOT_CHECKED,
    "ti": NOT_CHECKED,
    "am": NOT_CHECKED,
    "vi": NOT_CHECKED,
    "so": NOT_CHECKED,
}

if set(REVIEWS) != set(LOCALES):
    raise ValueError("every locale the portal serves, and only those, has a review status")


def review_of(locale: str) -> TranslationReview:
    """A locale's status; one the portal does not know is treated as not checked."""
    return REVIEWS.get(locale, NOT_CHECKED)


def is_checked(locale: str) -> bool:
    return review_of(locale).checked


def unchecked_locales() -> list[str]:
    """The locales whose pages carry the notice, in the portal's order."""
    return [code for code in LOCALES if not is_checked(code)]
