"""The allowed moves between states, as a table."""

from __future__ import annotations

import pytest

from portal.apply.lifecycle import ALLOWED, FINAL, can_move, can_withdraw
from portal.models import Status as S


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (S.DRAFT, S.SUBMITTED, True),
        (S.DRAFT, S.APPROVED, False),
        (S.DRAFT, S.WITHDRAWN, False),
        (S.SUBMITTED, S.IN_CHECKS, True),
        (S.SUBMITTED, S.APPROVED, False),
        (S.IN_CHECKS, S.INVITED_TO_BIOMETRICS, True),
        (S.IN_CHECKS, S.MORE_INFORMATION, True),
        (S.MORE_INFORMATION, S.SUBMITTED, True),
        (S.INVITED_TO_BIOMETRICS, S.APPOINTMENT_BOOKED, True),
        (S.APPOINTMENT_BOOKED, S.INVITED_TO_BIOMETRICS, True),
        (S.APPOINTMENT_BOOKED, S.BIOMETRICS_ENROLLED, True),
        # Back to the checking queue after the last missed appointment allowed.
        (S.APPOINTMENT_BOOKED, S.SUBMITTED, True),
        (S.INVITED_TO_BIOMETRICS, S.SUBMITTED, False),
        (S.BIOMETRICS_ENROLLED, S.SECURITY_CHECKS, True),
        (S.SECURITY_CHECKS, S.APPROVED, True),
        (S.SECURITY_CHECKS, S.REFUSED, True),
        (S.APPROVED, S.REFUSED, False),
        (S.WITHDRAWN, S.SUBMITTED, False),
        (S.INVALID, S.IN_CHECKS, False),
    ],
)
def test_moves(current, target, allowed):
    assert can_move(current, target) is allowed


def test_every_state_has_rules_and_final_states_go_nowhere():
    assert set(ALLOWED) == set(S)
    for status in FINAL:
        assert ALLOWED[status] == frozenset()


@pytest.mark.parametrize("status", list(S))
def test_withdrawal_is_possible_exactly_between_sending_and_a_decision(status):
    expected = status not in FINAL and status is not S.DRAFT
    assert can_withdraw(status) is expected
