"""Locale guessing and text direction."""

from __future__ import annotations

import datetime as dt

import pytest
from babel import Locale
from babel.dates import format_date
from flask_babel import force_locale, get_locale, gettext
from werkzeug.datastructures import LanguageAccept

from portal.config import LOCALES
from portal.i18n import guess_locale, native_name, text_direction


@pytest.mark.parametrize(
    ("header", "remembered", "expected"),
    [
        ([("ar", 1)], None, "ar"),
        ([("fa-IR", 1)], None, "fa"),
        ([("fa", 1)], None, "fa"),
        ([("fa-AF", 1)], None, "prs"),
        ([("fa-Arab-AF", 1)], None, "prs"),
        ([("fa_AF", 1)], None, "prs"),
        ([("prs", 1)], None, "prs"),
        ([("prs-AF", 1)], None, "prs"),
        ([("fa-AF", 1), ("fa", 0.8)], None, "prs"),
        ([("fa-IR", 1), ("fa-AF", 0.5)], None, "fa"),
        ([("kmr", 1), ("en", 0.5)], None, "ku"),
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
    assert text_direction(code) == ("rtl" if code in {"ar", "fa", "prs", "ps", "ckb"} else "ltr")


def test_languages_are_named_in_themselves():
    assert native_name("fr") == "Français"
    assert native_name("ar") == "العربية"
    assert native_name("ti") == "ትግርኛ"
    assert native_name("fa") == "فارسی"
    assert native_name("prs") == "دری"


def test_dari_is_its_own_locale_with_cldr_fa_af_data():
    """Babel has no prs: the portal gives it CLDR's fa_AF data under its own code, so that
    Flask-Babel finds translations/prs/ while dates use the months Afghans name (مارچ, not مارس)."""
    dari = Locale.parse("prs")
    assert str(dari) == "prs"
    assert dari.text_direction == "rtl"
    assert dari.default_numbering_system == "arabext"
    assert dari.plural_form(1) == "one" and dari.plural_form(2) == "other"
    assert format_date(dt.date(2026, 3, 27), "long", locale="prs") == format_date(
        dt.date(2026, 3, 27), "long", locale="fa_AF"
    )
    assert "مارچ" in format_date(dt.date(2026, 3, 27), "MMMM", locale="prs")
    assert "مارس" in format_date(dt.date(2026, 3, 27), "MMMM", locale="fa")


def test_dari_catalog_is_loaded_under_its_own_code(app):
    with app.test_request_context(), force_locale("prs"):
        assert str(get_locale()) == "prs"
        dari = gettext("Family name")
    with app.test_request_context(), force_locale("fa"):
        persian = gettext("Family name")
    assert "تخلص" in dari
    assert dari != persian


def test_user_data_is_isolated_escaped_and_keeps_its_line_breaks():
    from portal.i18n import isolate

    assert str(isolate("Amina <b>\nKareem")) == "<bdi>Amina &lt;b&gt;<br>Kareem</bdi>"
    assert str(isolate("EOI-K7Q", "ltr", "app-reference")) == (
        '<bdi dir="ltr" class="app-reference">EOI-K7Q</bdi>'
    )
    assert str(isolate(None)) == "<bdi></bdi>"


@pytest.mark.parametrize(("locale", "one", "many"), [("ckb", "١", "٢٤"), ("fa", "۱", "۲۴")])
def test_a_template_fills_its_numbers_in_the_readers_digits(app, locale, one, many):
    """`{% trans count=n %}` and `_(..., hours=n)` used to print the bare int: Latin digits in
    Sorani and Persian text."""
    source = (
        "{% trans count=n %}The link works for {{ count }} hour."
        "{% pluralize %}The link works for {{ count }} hours.{% endtrans %}|"
        '{{ _("You can move or cancel it until %(hours)s hours before it.", hours=n) }}'
    )
    with app.test_request_context(), force_locale(locale):
        template = app.jinja_env.from_string(source)
        single, plural = template.render(n=1), template.render(n=24)
    assert one in single and all(many in sentence for sentence in plural.split("|"))
    assert not any(character in "0123456789" for character in single + plural)


def test_the_plural_form_is_still_chosen_on_the_number(app):
    source = (
        "{% trans count=n %}The link works for {{ count }} hour."
        "{% pluralize %}The link works for {{ count }} hours.{% endtrans %}"
    )
    with app.test_request_context(), force_locale("en"):
        template = app.jinja_env.from_string(source)
        assert template.render(n=1) == "The link works for 1 hour."
        assert template.render(n=1000) == "The link works for 1,000 hours."
