"""Which applications are checked first. Each rule is a plain function of the answers, so that the
scheme's policy can change (and be tested) one rule at a time.

The answers do not yet ask about vulnerability or time spent in the UK; rules for those come with
the questions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from portal.apply.answers import ApplicationAnswers

Answers = dict[str, Any]


@dataclass(frozen=True)
class Rule:
    name: str
    weight: int
    applies: Callable[[Answers, frozenset[str]], bool]


def family_in_uk(answers: Answers, _nationalities: frozenset[str]) -> bool:
    """Family ties in the UK: the scheme's family route exists to bring them together."""
    return ApplicationAnswers(answers).has_family_in_uk


def high_grant_nationality(answers: Answers, nationalities: frozenset[str]) -> bool:
    """A nationality (first or second) whose asylum claims are mostly granted in the UK."""
    return bool(ApplicationAnswers(answers).nationalities & nationalities)


RULES: tuple[Rule, ...] = (
    Rule("family_in_uk", 2, family_in_uk),
    Rule("high_grant_nationality", 1, high_grant_nationality),
)


@dataclass(frozen=True)
class Priority:
    score: int
    reasons: tuple[str, ...]


def priority_of(
    answers: Answers, nationalities: Iterable[str], rules: Iterable[Rule] = RULES
) -> Priority:
    """The sum of the weights of the rules that apply: higher is checked sooner."""
    codes = frozenset(nationalities)
    applied = [rule for rule in rules if rule.applies(answers, codes)]
    return Priority(sum(rule.weight for rule in applied), tuple(rule.name for rule in applied))
