"""NIST 800-63B password rules, as a table."""

from __future__ import annotations

import pytest

from portal.auth.passwords import (
    PasswordProblem,
    hash_password,
    normalise,
    password_problem,
    verify_password,
)


@pytest.mark.parametrize(
    ("password", "email", "expected"),
    [
        ("short", None, PasswordProblem.TOO_SHORT),
        ("1234567", None, PasswordProblem.TOO_SHORT),
        ("x" * 257 + "y", None, PasswordProblem.TOO_LONG),
        ("password", None, PasswordProblem.COMMON),
        ("Password1", None, PasswordProblem.COMMON),
        ("12345678", None, PasswordProblem.COMMON),
        ("qwertyuiop", None, PasswordProblem.COMMON),
        ("aaaaaaaaaaaa", None, PasswordProblem.REPEATED),
        ("amina.k@example.org", "Amina.K@example.org", PasswordProblem.SAME_AS_EMAIL),
        ("amina.kareem", "amina.kareem@example.org", PasswordProblem.SAME_AS_EMAIL),
        ("correct horse battery staple", None, None),
        ("كلمة سر طويلة جدا", None, None),
        ("ሰላም ለዓለም ይሁን", None, None),
        ("Tôi muốn đến Anh", None, None),
        ("x" * 64, None, PasswordProblem.REPEATED),
        ("ab" * 128, None, None),
        ("no rules: ALL lower? fine", None, None),
    ],
)
def test_password_rules(password, email, expected):
    assert password_problem(password, email) is expected


def test_length_counts_characters_after_normalisation_not_bytes():
    # Eight Arabic letters are 16 bytes in UTF-8, but eight characters: long enough.
    assert password_problem("سلامعليك") is None
    # A decomposed "é" (e + combining accent) is one character once normalised.
    assert len(normalise("e\u0301" * 4)) == 4


def test_hash_verifies_the_same_password_typed_in_another_unicode_form():
    stored = hash_password("caf\u00e9 au lait chaud")
    assert verify_password(stored, "cafe\u0301 au lait chaud")
    assert not verify_password(stored, "cafe au lait chaud")


def test_verify_without_a_stored_hash_is_false():
    assert verify_password(None, "anything at all") is False
    assert verify_password("not-a-hash", "anything at all") is False
