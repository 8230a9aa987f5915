"""What the digit and bidi checks read in a sentence: the digits of its words, and its Latin runs.

A sentence's own numbers (18 years, 24 hours) follow the locale's digit policy (portal.i18n.DIGITS);
what a person types, dials or copies stays in Latin digits everywhere, so it is left out here.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

TYPED_VALUE = re.compile(
    r"""
      (?<!\d)\d{1,2}:\d{2}(?!\d)                    # a time, as typed: 09:00
    | \+\d+(?:\ \d+)*                               # an international phone number: +33 6 12 34 56 78
    | (?<!\d)0\d(?:\ \d\d){4}(?!\d)                 # a French phone number: 06 12 34 56 78
    | (?<!\d)\d{1,2}\ \d{1,2}\ \d{4}(?!\d)          # a date as typed in the day, month, year boxes
    | (?<!\d)\d{1,2}\ \d{4}(?!\d)                   # a month and year, as typed
    | (?<![0-9A-Za-z])[0-9A-Z]*[A-Z][0-9A-Z]*(?:-[0-9A-Z]+)+  # a code or reference: 7KQM-3TX9-CHD4
    | (?<!\d)112(?!\d)                              # the emergency number, dialled
    """,
    re.VERBOSE,
)

# Directional isolates: first strong (FSI), left-to-right (LRI), right-to-left (RLI), and their end.
ISOLATED_SPAN = re.compile("[\u2066\u2067\u2068][^\u2069]*\u2069")
LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f]")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|</?[a-z][a-z0-9]*[^>]*>")
BRACKETS = re.compile(r"[()\[\]]")


def sentence_digits(text: str) -> set[str]:
    """The digits that the sentence itself writes (typed values, placeholders and tags left out)."""
    words = TYPED_VALUE.sub(" ", PLACEHOLDER.sub(" ", text))
    return {character for character in words if character.isdigit()}


def unisolated_latin(text: str) -> list[str]:
    """Latin letters of a right-to-left sentence that no isolate (FSI/LRI ... PDI) holds."""
    outside = ISOLATED_SPAN.sub(" ", PLACEHOLDER.sub(" ", text))
    return [word for word in outside.split() if LATIN_LETTER.search(word)]


class VisibleText(HTMLParser):
    """The text a reader sees that the page itself writes in its language.

    Left out: scripts and styles, form values, and elements that say their own language or hold
    user data or a code (`<bdi>`, an element with `lang`), which carry their own direction.
    """

    _VOID = {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._VOID:
            return
        attributes = dict(attrs)
        if (
            self._skipping
            or tag in {"script", "style", "textarea", "bdi"}
            or (tag != "html" and "lang" in attributes)
        ):
            self._skipping.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._skipping and self._skipping[-1] == tag:
            self._skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self._skipping and data.strip():
            self.texts.append(data.strip())


def visible_texts(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    return parser.texts
