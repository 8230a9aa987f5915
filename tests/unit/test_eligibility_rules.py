"""The scheme's validity rules, as a table."""

from __future__ import annotations

import pytest

from portal.eligibility.rules import (
    NO,
    QUESTION_NAMES,
    WITH_PARENT,
    YES,
    Reason,
    first_reason,
    is_eligible,
    judge,
    may_ask,
    next_question,
)

ELIGIBLE = {
    "in_france": YES,
    "age": YES,
    "eea_national": NO,
    "eea_family_member": NO,
    "identity_document": YES,
    "uk_illegal_entry": NO,
    "returned_from_uk": NO,
    "protection_status": NO,
    "french_residence": NO,
}


@pytest.mark.parametrize(
    ("question", "answer", "reason"),
    [
        ("in_france", YES, None),
        ("in_france", NO, Reason.NOT_IN_FRANCE),
        ("age", YES, None),
        ("age", WITH_PARENT, None),
        ("age", NO, Reason.UNDER_18_ALONE),
        ("eea_national", NO, None),
        ("eea_national", YES, Reason.EEA_NATIONAL),
        ("eea_family_member", NO, None),
        ("eea_family_member", YES, Reason.EEA_FAMILY_MEMBER),
        ("identity_document", YES, None),
        ("identity_document", NO, Reason.NO_IDENTITY_DOCUMENT),
        ("uk_illegal_entry", NO, None),
        ("uk_illegal_entry", YES, Reason.ENTERED_UK_ILLEGALLY),
        ("returned_from_uk", NO, None),
        ("returned_from_uk", YES, Reason.RETURNED_UNDER_SCHEME),
        ("protection_status", NO, None),
        ("protection_status", YES, Reason.HAS_PROTECTION_STATUS),
        ("french_residence", NO, None),
        ("french_residence", YES, Reason.HAS_FRENCH_RESIDENCE),
    ],
)
def test_each_rule(question, answer, reason):
    assert judge(question, answer) is reason


def test_all_good_answers_are_eligible():
    assert is_eligible(ELIGIBLE)
    assert first_reason(ELIGIBLE) is None


@pytest.mark.parametrize("missing", QUESTION_NAMES)
def test_an_unanswered_question_is_asked_next(missing):
    answers = {k: v for k, v in ELIGIBLE.items() if k != missing}
    assert next_question(answers) == missing
    assert not is_eligible(answers)


def test_a_question_is_asked_only_after_the_earlier_ones_passed():
    assert may_ask({}, "in_france")
    assert not may_ask({}, "age")
    assert may_ask({"in_france": YES}, "age")
    assert not may_ask({"in_france": NO}, "age")
    assert may_ask(ELIGIBLE, "french_residence")


def test_first_broken_rule_is_reported_in_question_order():
    answers = {**ELIGIBLE, "returned_from_uk": YES, "in_france": NO}
    assert first_reason(answers) is Reason.NOT_IN_FRANCE
