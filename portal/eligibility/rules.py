"""Eligibility rules as plain functions: one question, one rule, one reason when it is not met.

No Flask here: the rules are tested as tables and used by the pages and, later, by caseworkers.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass


class Reason(enum.StrEnum):
    """Why someone cannot apply; each has a kind, translated explanation page."""

    NOT_IN_FRANCE = "not_in_france"
    UNDER_18_ALONE = "under_18_alone"
    EEA_NATIONAL = "eea_national"
    EEA_FAMILY_MEMBER = "eea_family_member"
    NO_IDENTITY_DOCUMENT = "no_identity_document"
    ENTERED_UK_ILLEGALLY = "entered_uk_illegally"
    RETURNED_UNDER_SCHEME = "returned_under_scheme"
    HAS_PROTECTION_STATUS = "has_protection_status"
    HAS_FRENCH_RESIDENCE = "has_french_residence"


YES = "yes"
NO = "no"
WITH_PARENT = "with_parent"


@dataclass(frozen=True)
class Question:
    """One eligibility question: its answer choices and the rule that judges the answer."""

    name: str
    choices: tuple[str, ...]
    rule: Callable[[str], Reason | None]


def _yes_required(reason: Reason) -> Callable[[str], Reason | None]:
    return lambda answer: None if answer == YES else reason


def _no_required(reason: Reason) -> Callable[[str], Reason | None]:
    return lambda answer: None if answer == NO else reason


def _age(answer: str) -> Reason | None:
    """Under 18 is allowed only inside a family group with a parent who applies."""
    return None if answer in (YES, WITH_PARENT) else Reason.UNDER_18_ALONE


QUESTIONS: tuple[Question, ...] = (
    Question("in_france", (YES, NO), _yes_required(Reason.NOT_IN_FRANCE)),
    Question("age", (YES, WITH_PARENT, NO), _age),
    Question("eea_national", (YES, NO), _no_required(Reason.EEA_NATIONAL)),
    Question("eea_family_member", (YES, NO), _no_required(Reason.EEA_FAMILY_MEMBER)),
    Question("identity_document", (YES, NO), _yes_required(Reason.NO_IDENTITY_DOCUMENT)),
    Question("uk_illegal_entry", (YES, NO), _no_required(Reason.ENTERED_UK_ILLEGALLY)),
    Question("returned_from_uk", (YES, NO), _no_required(Reason.RETURNED_UNDER_SCHEME)),
    Question("protection_status", (YES, NO), _no_required(Reason.HAS_PROTECTION_STATUS)),
    Question("french_residence", (YES, NO), _no_required(Reason.HAS_FRENCH_RESIDENCE)),
)

QUESTION_NAMES = tuple(question.name for question in QUESTIONS)
_BY_NAME = {question.name: question for question in QUESTIONS}


def question(name: str) -> Question:
    return _BY_NAME[name]


def judge(name: str, answer: str) -> Reason | None:
    """The reason this answer makes someone ineligible, or None if it does not."""
    return _BY_NAME[name].rule(answer)


def next_question(answers: Mapping[str, str]) -> str | None:
    """The first question not yet answered, or None when all are."""
    for name in QUESTION_NAMES:
        if name not in answers:
            return name
    return None


def may_ask(answers: Mapping[str, str], name: str) -> bool:
    """A question is asked once every earlier one is answered and none of them ended the journey."""
    earlier = QUESTION_NAMES[: QUESTION_NAMES.index(name)]
    return all(q in answers and judge(q, answers[q]) is None for q in earlier)


def first_reason(answers: Mapping[str, str]) -> Reason | None:
    """The first rule the answers break, in the order the questions are asked."""
    for name in QUESTION_NAMES:
        if name in answers:
            reason = judge(name, answers[name])
            if reason is not None:
                return reason
    return None


def is_eligible(answers: Mapping[str, str]) -> bool:
    """Every question answered and no rule broken."""
    return next_question(answers) is None and first_reason(answers) is None
