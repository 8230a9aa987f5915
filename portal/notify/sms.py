"""How many parts an SMS costs: cheap phones and prepaid plans pay per part, and long messages
arrive split or out of order, so every text the portal sends is kept to a few parts."""

from __future__ import annotations

import math

# The GSM 03.38 basic character set and its extension (each extension character costs two).
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")

MAX_PARTS = 3


# Babel writes times and numbers with narrow and non-breaking spaces ("9:40\u202fAM"), which are
# outside GSM-7: one of them would make a whole English text cost UCS-2 parts.
_PLAIN_SPACES = str.maketrans({"\u202f": " ", "\u00a0": " ", "\u2009": " "})


def plain_spaces(text: str) -> str:
    return text.translate(_PLAIN_SPACES)


def is_gsm(text: str) -> bool:
    return all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in text)


def parts(text: str) -> int:
    """Parts of a message: GSM-7 gives 160 characters (153 per part when split); anything outside
    it (Arabic, Ethiopic, most Vietnamese) forces UCS-2, with 70 (67 per part)."""
    if is_gsm(text):
        length = sum(2 if c in _GSM_EXTENDED else 1 for c in text)
        single, per_part = 160, 153
    else:
        length = len(text.encode("utf-16-le")) // 2
        single, per_part = 70, 67
    return 1 if length <= single else math.ceil(length / per_part)
