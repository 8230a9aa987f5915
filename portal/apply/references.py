"""Reference numbers that people read aloud, copy by hand and type on a phone.

The alphabet leaves out characters that are easy to confuse (0/O, 1/I/L). It has 31 characters, a
prime, so a weighted sum modulo 31 with distinct non-zero weights catches every single wrong
character (w·Δ is never 0 mod 31) and every swap of two neighbours ((w₁-w₂)·Δ is never 0 mod 31).
"""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_VALUE = {character: index for index, character in enumerate(ALPHABET)}
_MODULUS = len(ALPHABET)
BODY_LENGTH = 8
GROUP = 3

APPLICATION_PREFIX = "EOI"
FAMILY_PREFIX = "FAM"


class InvalidReference(ValueError):
    """Not a reference of ours: wrong characters, wrong length or a wrong check character."""


def check_character(body: str) -> str:
    """The character that makes the weighted sum of body + check equal to 0 modulo 31."""
    total = sum((position + 1) * _VALUE[character] for position, character in enumerate(body))
    weight = len(body) + 1
    # Solve total + weight * c ≡ 0 (mod 31); weight is invertible because 31 is prime.
    check = (-total * pow(weight, -1, _MODULUS)) % _MODULUS
    return ALPHABET[check]


def is_valid_body(characters: str) -> bool:
    """True if the last character is the right check character for the rest."""
    if len(characters) != BODY_LENGTH + 1 or any(c not in _VALUE for c in characters):
        return False
    return check_character(characters[:-1]) == characters[-1]


def format_reference(prefix: str, characters: str) -> str:
    groups = [characters[i : i + GROUP] for i in range(0, len(characters), GROUP)]
    return "-".join([prefix, *groups])


def new_reference(prefix: str = APPLICATION_PREFIX) -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return format_reference(prefix, body + check_character(body))


def parse_reference(typed: str, prefix: str = APPLICATION_PREFIX) -> str:
    """Normalise what a person typed (any case, spaces or dashes, with or without the prefix)
    and return the reference in its canonical form, or raise InvalidReference."""
    cleaned = "".join(ch for ch in typed.upper() if ch.isalnum())
    if cleaned.startswith(prefix):
        cleaned = cleaned[len(prefix) :]
    if not is_valid_body(cleaned):
        raise InvalidReference(typed)
    return format_reference(prefix, cleaned)
