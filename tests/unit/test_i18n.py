"""Locale guessing and text direction."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import LanguageAccept

from portal.config import LOCALES
from portal.i18n import guess_locale, native_name, text_direction


@pytest.mark.parametrize(
    ("header", "remembered", "expected"),
    [
        ([("ar", 1)], None, "ar"),
        ([("fa-IR", 1)], None, "fa"),
        ([("prs-AF", 1)], None, "fa"),
        ([("kmr", 1)], None, "ku"),
        ([("de", 1), ("fr", 0.5)], None, "fr"),
        ([("de", 1)], None, "en"),
        ([("ar", 1)], "ti", "ti"),
        ([("ar", 1)], "xx", "ar"),
    ],
)
def test_guess_locale(header, remembered, expected):
    assert guess_locale(LanguageAccept(header), remembered) == expected


@pytest.mark.parametrize("code", LOCALES)
def test_direction_is_right_to_left_exactly_for_arabic_script_locales(code):
    assert text_direction(code) == ("rtl" if code in {"ar", "fa", "ps", "ckb"} else "ltr")


def test_languages_are_named_in_themselves():
    assert native_name("fr") == "Français"
    assert native_name("ar") == "العربية"
    assert native_name("ti") == "ትግርኛ"


def test_user_data_is_isolated_escaped_and_keeps_its_line_breaks():
    from portal.i18n import isolate

    assert str(isolate("Amina <b>\nKareem")) == "<bdi>Amina &lt;b&gt;<br>Kareem</bdi>"
    assert str(isolate("EOI-K7Q", "ltr", "app-reference")) == (
        '<bdi dir="ltr" class="app-reference">EOI-K7Q</bdi>'
    )
    assert str(isolate(None)) == "<bdi></bdi>"
