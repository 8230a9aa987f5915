"""Dates and numbers as each language writes them: Persian digits in fa, prs and ps, Arabic-Indic in
ckb, Latin elsewhere (as CLDR says), and user data never converted."""

from __future__ import annotations

import datetime as dt

import pytest
from babel import Locale
from flask_babel import force_locale

from portal import i18n
from portal.config import LOCALES

PERSIAN = set("۰۱۲۳۴۵۶۷۸۹")
ARABIC_INDIC = set("٠١٢٣٤٥٦٧٨٩")
LATIN = set("0123456789")
EXPECTED = {"fa": PERSIAN, "prs": PERSIAN, "ps": PERSIAN, "ckb": ARABIC_INDIC}


@pytest.mark.parametrize("locale", LOCALES)
def test_dates_and_numbers_use_the_locales_digits(app, locale):
    expected = EXPECTED.get(locale, LATIN)
    others = (PERSIAN | ARABIC_INDIC | LATIN) - expected
    with app.test_request_context(), force_locale(locale):
        texts = [
            i18n.date(dt.date(2026, 3, 27)),
            i18n.date(dt.date(2026, 3, 27), "MMMM y"),
            i18n.date_time(dt.datetime(2027, 1, 15, 17, 0, tzinfo=dt.UTC)),
            i18n.number(1234.5),
        ]
        rendered = app.jinja_env.from_string(
            "{{ when | datetimeformat('long') }} {{ day | dateformat('long') }}"
        ).render(when=dt.datetime(2027, 1, 15, 17, 0, tzinfo=dt.UTC), day=dt.date(2026, 3, 27))
    for text in [*texts, rendered]:
        digits = {c for c in text if c.isdigit()}
        assert digits and digits <= expected, (locale, text)
        assert not digits & others, (locale, text)


def test_times_are_shown_in_paris_time(app):
    with app.test_request_context(), force_locale("en"):
        assert "6:00" in i18n.date_time(dt.datetime(2027, 1, 15, 17, 0, tzinfo=dt.UTC), "short")


def test_user_data_keeps_its_digits(app):
    with app.test_request_context(), force_locale("fa"):
        page = app.jinja_env.from_string("{{ reference | bdi }}").render(
            reference="EOI-7KQ-M3T-X9C"
        )
    assert "EOI-7KQ-M3T-X9C" in page


def test_the_digit_policy_names_every_locale_and_follows_cldr():
    """portal.i18n.DIGITS is the one place that says which digits a locale writes; it must agree
    with CLDR's default numbering system, which Babel's formatting follows."""
    system_digits = {"latn": i18n.LATIN, "arabext": i18n.PERSIAN, "arab": i18n.ARABIC_INDIC}
    assert set(i18n.DIGITS) == set(LOCALES)
    for locale in LOCALES:
        system = Locale.parse(locale).default_numbering_system
        assert i18n.DIGITS[locale] == system_digits[system], (locale, system)


def test_percent_pattern_keeps_the_languages_order(app):
    with app.test_request_context(), force_locale("ku"):
        assert i18n.percent_pattern() == "%{n}"
    with app.test_request_context(), force_locale("fr"):
        assert i18n.percent_pattern() == "{n}\u00a0%"
