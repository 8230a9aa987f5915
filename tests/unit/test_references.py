"""Reference numbers: every single wrong character and every swap of neighbours is caught."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.apply.references import (
    ALPHABET,
    BODY_LENGTH,
    FAMILY_PREFIX,
    InvalidReference,
    check_character,
    is_valid_body,
    new_reference,
    parse_reference,
)

bodies = st.text(alphabet=ALPHABET, min_size=BODY_LENGTH, max_size=BODY_LENGTH)


def with_check(body: str) -> str:
    return body + check_character(body)


@given(bodies)
def test_a_generated_reference_is_valid(body):
    assert is_valid_body(with_check(body))


@given(bodies, st.integers(0, BODY_LENGTH), st.sampled_from(ALPHABET))
def test_any_single_wrong_character_is_caught(body, position, replacement):
    full = with_check(body)
    if full[position] == replacement:
        return
    changed = full[:position] + replacement + full[position + 1 :]
    assert not is_valid_body(changed)


@given(bodies, st.integers(0, BODY_LENGTH - 1))
def test_any_swap_of_neighbours_is_caught(body, position):
    full = with_check(body)
    if full[position] == full[position + 1]:
        return
    swapped = full[:position] + full[position + 1] + full[position] + full[position + 2 :]
    assert not is_valid_body(swapped)


def test_confusable_characters_are_not_used():
    assert not set("01OIL") & set(ALPHABET)
    assert len(ALPHABET) == 31


def test_new_references_look_right_and_parse_back():
    reference = new_reference()
    assert reference.startswith("EOI-") and len(reference) == len("EOI-XXX-XXX-XXX")
    assert parse_reference(reference) == reference
    family = new_reference(FAMILY_PREFIX)
    assert parse_reference(family, FAMILY_PREFIX) == family


def test_what_people_type_is_normalised():
    reference = new_reference()
    body = reference.removeprefix("EOI-").replace("-", "")
    for typed in (body.lower(), f" eoi {body[:3]} {body[3:6]} {body[6:]} ", f"EOI{body}"):
        assert parse_reference(typed) == reference


@pytest.mark.parametrize("typed", ["", "EOI-", "EOI-ABC-DEF", "EOI-0OI-1L2-345", "hello world"])
def test_nonsense_is_refused(typed):
    with pytest.raises(InvalidReference):
        parse_reference(typed)
