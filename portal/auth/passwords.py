"""Password rules (NIST SP 800-63B) and hashing (Argon2id).

Length is what makes a password strong, so the rules are: 8 characters or more, up to 256, any
characters at all (so counted after Unicode normalisation), not a commonly used password, and not
the email address. No composition rules, no expiry, pasting allowed.
"""

from __future__ import annotations

import enum
import unicodedata
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 8
MAX_LENGTH = 256

_hasher = PasswordHasher()


class PasswordProblem(enum.Enum):
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    COMMON = "common"
    SAME_AS_EMAIL = "same_as_email"
    REPEATED = "repeated"


def normalise(password: str) -> str:
    """NFKC, as 800-63B asks, so the same password typed on two keyboards is the same password."""
    return unicodedata.normalize("NFKC", password)


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("portal.auth").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line and not line.startswith("#")
    )


def password_problem(password: str, email: str | None = None) -> PasswordProblem | None:
    """The first rule the password breaks, or None if it is acceptable."""
    candidate = normalise(password)
    length = len(candidate)
    if length < MIN_LENGTH:
        return PasswordProblem.TOO_SHORT
    if length > MAX_LENGTH:
        return PasswordProblem.TOO_LONG
    folded = candidate.casefold()
    if len(set(folded)) == 1:
        return PasswordProblem.REPEATED
    if folded in common_passwords():
        return PasswordProblem.COMMON
    if email:
        address = email.casefold()
        if folded in {address, address.split("@", 1)[0]}:
            return PasswordProblem.SAME_AS_EMAIL
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(normalise(password))


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Check a password; with no stored hash, spend the same time on a dummy so timing tells nothing."""
    try:
        return _hasher.verify(stored_hash or _dummy_hash(), normalise(password)) and bool(
            stored_hash
        )
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


@cache
def _dummy_hash() -> str:
    return _hasher.hash("not a real password: used to equalise timing")
