"""An application's answers as the other capabilities read them: typed, by meaning.

`Application.answers` keeps each page's form data under the step's name, keyed by the form's
field names: the shape the pages need. Priority rules, returns matching, retention, messages and
the back office need a few facts from it (who the applicant is, how to reach them), and read
them here, not by step and field names: a renamed step or field is then one change in `PATHS`,
and tests/unit/test_answers.py fails when a path stops naming a field of its step's form.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement

from portal.models import ApplicantType, Application

__all__ = ["PATHS", "ApplicationAnswers", "Fact", "Queried", "answers_of", "column"]

Fact = Literal[
    "applicant_type",
    "family_reference",
    "travelling",
    "given_names",
    "family_name",
    "date_of_birth",
    "nationality",
    "other_nationality",
    "document_number",
    "email",
    "mobile",
    "message_language",
    "uk_family",
]

# Where each fact is kept: (step name, form field name).
PATHS: dict[Fact, tuple[str, str]] = {
    "applicant_type": ("applicant_type", "applicant_type"),
    "family_reference": ("family_reference", "family_reference"),
    "travelling": ("travelling", "travelling"),
    "given_names": ("names", "given_names"),
    "family_name": ("names", "family_name"),
    "date_of_birth": ("birth", "date_of_birth"),
    "nationality": ("nationality", "nationality"),
    "other_nationality": ("nationality", "other_nationality"),
    "document_number": ("document", "document_number"),
    "email": ("contact", "email"),
    "mobile": ("contact", "mobile"),
    "message_language": ("languages", "message_language"),
    "uk_family": ("uk_family", "answer"),
}

# The facts searched in SQL (search pages, returns matching), as text.
Queried = Literal["given_names", "family_name", "date_of_birth", "document_number"]


def column(fact: Queried) -> ColumnElement[str]:
    """One answer as text in SQL: a JSON path that SQLite and PostgreSQL both read."""
    return Application.answers[PATHS[fact]].as_string()


@dataclass(frozen=True)
class ApplicationAnswers:
    """Read-only facts from one application's answers (None or empty when not answered)."""

    raw: Mapping[str, Any]

    def get(self, fact: Fact) -> Any:
        step, name = PATHS[fact]
        return (self.raw.get(step) or {}).get(name)

    @property
    def applicant_type(self) -> str | None:
        return self.get("applicant_type")

    @property
    def is_main(self) -> bool:
        return self.applicant_type == ApplicantType.MAIN.value

    @property
    def is_family_member(self) -> bool:
        return self.applicant_type == ApplicantType.FAMILY_MEMBER.value

    @property
    def family_reference(self) -> str | None:
        return self.get("family_reference")

    @property
    def travelling_with_family(self) -> bool:
        return self.get("travelling") == "with_family"

    @property
    def given_names(self) -> str:
        return self.get("given_names") or ""

    @property
    def family_name(self) -> str:
        return self.get("family_name") or ""

    @property
    def date_of_birth(self) -> dt.date | None:
        """None when missing or not a date (answers are kept as ISO text)."""
        text = self.get("date_of_birth")
        try:
            return dt.date.fromisoformat(text) if text else None
        except ValueError:
            return None

    @property
    def nationality(self) -> str | None:
        return self.get("nationality")

    @property
    def nationalities(self) -> frozenset[str]:
        """The nationality and the other nationality, if given."""
        return frozenset(n for n in (self.nationality, self.get("other_nationality")) if n)

    @property
    def document_number(self) -> str | None:
        """As typed (normalise it before comparing)."""
        return self.get("document_number")

    @property
    def contact_email(self) -> str | None:
        return self.get("email") or None

    @property
    def contact_mobile(self) -> str | None:
        return self.get("mobile") or None

    @property
    def message_language(self) -> str | None:
        return self.get("message_language") or None

    @property
    def has_family_in_uk(self) -> bool:
        return self.get("uk_family") == "yes"


def answers_of(application: Application) -> ApplicationAnswers:
    return ApplicationAnswers(application.answers or {})
