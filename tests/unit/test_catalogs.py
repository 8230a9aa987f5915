"""The translation catalogs: complete, no fuzzy entries, placeholders and tags kept.

This fails when a string is added to the code or templates and not translated.
"""

from __future__ import annotations

import re
import subprocess
import sys
from gettext import c2py
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.pofile import read_po
from babel.plural import _plural_tags as _PLURAL_TAGS

from portal.config import PROJECT_ROOT
from portal.i18n import DIGITS, text_direction
from tests.text_checks import sentence_digits, unisolated_latin

COMPLETE_LOCALES = ("en", "fr", "ps", "ku", "vi", "ti", "fa", "prs", "ar", "so", "ckb", "am")
_MARKERS = re.compile(r"%\(\w+\)[sd]|</?[a-z][a-z0-9]*[^>]*>")


@pytest.fixture(scope="module")
def extracted_ids(tmp_path_factory):
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"),
            "extract",
            "-F",
            str(PROJECT_ROOT / "babel.cfg"),
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "--no-location",
            "-o",
            str(pot),
            str(PROJECT_ROOT / "portal"),
            str(PROJECT_ROOT / "templates"),
        ],
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as handle:
        return {message.id for message in read_po(handle) if message.id}


def load(locale: str):
    with (PROJECT_ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po").open(
        "rb"
    ) as handle:
        return read_po(handle, locale=locale)


@pytest.mark.parametrize("locale", COMPLETE_LOCALES)
def test_every_extracted_string_is_translated(locale, extracted_ids):
    catalog = load(locale)
    translated = {
        m.id
        for m in catalog
        if m.id and all(m.string if isinstance(m.string, tuple) else (m.string,))
    }
    missing = sorted(str(i) for i in extracted_ids - translated)
    assert not missing, f"{locale}: {len(missing)} untranslated, e.g. {missing[:3]}"


@pytest.mark.parametrize("locale", COMPLETE_LOCALES)
def test_no_fuzzy_entries_and_markers_kept(locale):
    catalog = load(locale)
    assert not catalog.fuzzy, f"{locale}: the header is fuzzy, so pybabel compile skips the catalog"
    plural_count = catalog.num_plurals
    for message in catalog:
        if not message.id:
            continue
        assert not message.fuzzy, message.id
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if isinstance(message.id, tuple):
            assert len(strings) == plural_count, f"{locale}: plural forms of {ids[0]!r}"
        expected = sorted(_MARKERS.findall(ids[-1]))
        for string in filter(None, strings):
            assert sorted(_MARKERS.findall(string)) == expected, (
                f"{locale}: {ids[0]!r} -> {string!r}"
            )


# Babel has no data of its own for Dari; Afghan Persian's is the same language's.
_CLDR_LOCALE = {"prs": "fa_AF"}


@pytest.mark.parametrize("locale", COMPLETE_LOCALES)
def test_plural_forms_follow_cldr(locale):
    """The catalog's Plural-Forms picks, for every count a page can show, the form that CLDR's
    rule names: Arabic 11 to 99 take the "many" form, Amharic and Tigrinya say 0 as they say 1.

    Counts up to 10,000 and a few millions (French's "many": "1 000 000 de pages") are compared.
    """
    catalog = load(locale)
    cldr = Locale.parse(_CLDR_LOCALE.get(locale, locale))
    tags = [tag for tag in _PLURAL_TAGS if tag in cldr.plural_form.tags | {"other"}]
    assert catalog.num_plurals == len(tags), f"{locale}: {catalog.num_plurals} forms, CLDR {tags}"
    chosen = c2py(catalog.plural_expr)
    counts = [*range(10_001), 1_000_000, 2_000_000, 2_500_000]
    wrong = [n for n in counts if chosen(n) != tags.index(cldr.plural_form(n))]
    assert not wrong, f"{locale}: counts {wrong[:5]} take the wrong plural form"


def _translations(locale: str):
    for message in load(locale):
        if message.id:
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            yield from ((message.id, string) for string in strings if string)


@pytest.mark.parametrize("locale", COMPLETE_LOCALES)
def test_sentences_write_numbers_in_the_locales_digits(locale):
    """A sentence's own numbers are in the digits of the locale's policy (Persian in fa, prs and
    ps, Arabic-Indic in ckb), as the dates and numbers that Babel formats on the same page; what
    a person types or dials (09:00, 06 12 34 56 78, 27 3 1990, 7KQM-3TX9-CHD4, 112) stays Latin."""
    allowed = set(DIGITS[locale])
    wrong = [
        (message_id, string)
        for message_id, string in _translations(locale)
        if not sentence_digits(string) <= allowed
    ]
    assert not wrong, f"{locale}: {len(wrong)} sentences mix digits, e.g. {wrong[:2]}"


@pytest.mark.parametrize(
    "locale", [code for code in COMPLETE_LOCALES if text_direction(code) == "rtl"]
)
def test_latin_text_in_right_to_left_sentences_is_isolated(locale):
    """Every Latin run of a right-to-left sentence sits between FSI and PDI, so that the brackets
    around "(UK/European Applicant Transfer Scheme)", "(EEA)" or "(.ics)" and the plus of "+44"
    come out where the reader expects them."""
    wrong = [
        (message_id, unisolated_latin(string))
        for message_id, string in _translations(locale)
        if unisolated_latin(string)
    ]
    assert not wrong, f"{locale}: {len(wrong)} sentences with Latin not isolated, e.g. {wrong[:3]}"


def _definitions(path: Path) -> list[tuple[str, list[str]]]:
    """The catalog as gettext's msgfmt reads it: each `msgid` with the keywords that follow it
    up to the next entry. Babel forgives what msgfmt refuses, which hid damage for a while."""
    found: list[tuple[str, list[str]]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        keyword = line.split(" ", 1)[0]
        if keyword == "msgid":
            found.append((line, []))
        elif found and re.fullmatch(r"msgctxt|msgid_plural|msgstr(\[\d+\])?", keyword):
            found[-1][1].append(keyword)
    return found


@pytest.mark.parametrize("locale", (None, *COMPLETE_LOCALES))
def test_each_string_is_defined_once_with_one_translation(locale):
    """Catalogs are merged with git's union driver (.gitattributes): two branches appending at
    the end of a file can interleave their lines, leaving a msgid without its msgstr, an entry
    with two msgstr, or a string defined twice with different words. The page then shows
    whichever definition Babel happens to keep; msgfmt refuses the file."""
    path = (
        PROJECT_ROOT
        / "translations"
        / ("messages.pot" if locale is None else f"{locale}/LC_MESSAGES/messages.po")
    )
    definitions = _definitions(path)
    ids = [msgid for msgid, _ in definitions if msgid != 'msgid ""']
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    malformed = [
        msgid
        for msgid, keywords in definitions
        if keywords.count("msgstr") + ("msgid_plural" in keywords) != 1
    ]
    assert malformed == []
    read_po(path.open("rb"), abort_invalid=True)
