"""The document key as it is written in settings: 32 random bytes in URL-safe base64.

Here, beside the settings rather than in documents.crypto, because the settings check
(config.PortalConfig) reads a key and the development defaults make one before any capability is
loaded; documents.crypto uses the key, config only its written form.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets

KEY_BYTES = 32
_KEY_TEXT = re.compile(r"[A-Za-z0-9_-]+={0,2}")


def parse_key(text: str) -> bytes:
    """Read a key from configuration, refusing anything that is not exactly 32 random bytes."""
    stripped = text.strip()
    unpadded = stripped.rstrip("=")
    problem = ValueError(
        f"the document key must be {KEY_BYTES} bytes in URL-safe base64; "
        "make one with `flask --app portal documents-key`"
    )
    if not _KEY_TEXT.fullmatch(stripped):
        raise problem
    try:
        raw = base64.urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4))
    except binascii.Error:
        raise problem from None
    # Re-encoding rejects look-alike texts that decode to the same bytes: one key, one spelling.
    if len(raw) != KEY_BYTES or _key_text(raw).rstrip("=") != unpadded:
        raise problem
    return raw


def new_key_text() -> str:
    """A fresh random key in the form parse_key reads."""
    return _key_text(secrets.token_bytes(KEY_BYTES))


def _key_text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")
