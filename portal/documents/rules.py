"""Which documents an application needs, how many of each, and when the section is done.

Plain functions over the answers and the files already uploaded, so the task list, the upload
page and the submission all judge the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from portal.apply.answers import ApplicationAnswers
from portal.models import DocumentKind

Answers = Mapping[str, Any]

IDENTITY_PARTS = ("front", "back", "data_page", "other_page")


def _claims_relationship(answers: Answers) -> bool:
    """A family member applies through a relationship to the main applicant, so must show it."""
    return ApplicationAnswers(answers).is_family_member


def _may_show_relationship(answers: Answers) -> bool:
    return _claims_relationship(answers) or ApplicationAnswers(answers).travelling_with_family


@dataclass(frozen=True)
class KindRule:
    kind: DocumentKind
    max_files: int
    required: Callable[[Answers], bool]
    shown: Callable[[Answers], bool]


RULES: tuple[KindRule, ...] = (
    KindRule(DocumentKind.IDENTITY, 6, lambda a: True, lambda a: True),
    KindRule(DocumentKind.PHOTO, 1, lambda a: True, lambda a: True),
    KindRule(DocumentKind.RELATIONSHIP, 6, _claims_relationship, _may_show_relationship),
    KindRule(DocumentKind.OTHER, 6, lambda a: False, lambda a: True),
)
_BY_KIND = {rule.kind: rule for rule in RULES}


def rule(kind: DocumentKind) -> KindRule:
    return _BY_KIND[kind]


def shown_rules(answers: Answers) -> list[KindRule]:
    return [r for r in RULES if r.shown(answers)]


def missing(answers: Answers, counts: Mapping[DocumentKind, int]) -> list[DocumentKind]:
    """Required kinds with no file yet: the application cannot be sent until this is empty."""
    return [
        r.kind for r in RULES if r.shown(answers) and r.required(answers) and not counts.get(r.kind)
    ]


def may_add(answers: Answers, kind: DocumentKind, counts: Mapping[DocumentKind, int]) -> bool:
    r = rule(kind)
    return r.shown(answers) and counts.get(kind, 0) < r.max_files


def fits_total(used: int, size: int, total_max: int) -> bool:
    return used + size <= total_max


def section_state(answers: Answers, counts: Mapping[DocumentKind, int]) -> str:
    """The task list's state for the documents section (same names as the question sections)."""
    if not missing(answers, counts):
        return "completed"
    return "in_progress" if any(counts.values()) else "not_started"
