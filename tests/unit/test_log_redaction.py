"""What the log handler replaces in every field (portal.logs.redact)."""

from __future__ import annotations

import pytest

from portal.logs import redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sent to amina.k@example.org today", "sent to [email] today"),
        ("hash $argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA end", "hash [password hash] end"),
        ("call +33 6 12 34 56 78 now", "call [phone] now"),
        ("a@b.fr and +447700900123 and $argon2i$x", "[email] and [phone] and [password hash]"),
        ("portal.access", "portal.access"),
        ("apply.question", "apply.question"),
        ("a + b @ c", "a + b @ c"),
        ("", ""),
    ],
)
def test_personal_data_is_replaced_and_anything_else_kept(text, expected):
    assert redact(text) == expected
