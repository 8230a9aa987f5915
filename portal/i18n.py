"""Locale selection: the locale is the first part of every page's URL (/ar/...).

It is guessed once from Accept-Language, then remembered in the session (and on the account, so
that emails and SMS reach a signed-in user in the language they chose).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from babel import Locale, localedata
from babel.lists import format_list
from babel.numbers import format_decimal, format_percent
from flask import Flask, abort, g, request, session, url_for
from flask_babel import format_date, format_datetime, format_time, get_locale
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape
from werkzeug.datastructures import LanguageAccept

from portal.config import LOCALES

DEFAULT_LOCALE = "en"

# Language tags that browsers send for languages we serve under another code: Northern Kurdish is
# our ku, Southern Kurdish readers read Sorani, and Persian as written in Afghanistan (fa-AF) is Dari.
# Plain fa and fa-IR stay Iranian Persian.
ALIASES = {"kmr": "ku", "sdh": "ckb", "fa-af": "prs"}

# Our locale codes that CLDR files under another identifier. CLDR has no `prs`: Dari's dates,
# numbers (Persian digits), plural rules and its own name («دری») are CLDR's fa_AF.
CLDR_IDENTIFIERS = {"prs": "fa_AF"}


def _teach_babel_our_codes() -> None:
    """Let `Locale.parse("prs")` give CLDR's fa_AF data under the code prs.

    Flask-Babel's get_locale and force_locale (emails and SMS in the recipient's language) parse the
    portal's code, and the catalog is looked up under str(locale): the code must stay `prs` for
    translations/prs/ to be found, while the formatting data is fa_AF's. Babel (pinned) has no public
    hook for extra locale data, so its loaded-data cache is seeded; tests/unit/test_i18n.py proves it.
    """
    for code, identifier in CLDR_IDENTIFIERS.items():
        if not localedata.exists(code):
            localedata._cache[code] = localedata.load(identifier)


_teach_babel_our_codes()


@dataclass(frozen=True)
class LanguageChoice:
    code: str
    name: str
    url: str
    current: bool
    direction: str


@cache
def text_direction(code: str) -> str:
    """`rtl` for Arabic, Persian, Dari, Pashto and Sorani; `ltr` otherwise (from CLDR, not ours)."""
    return Locale.parse(code).text_direction


@cache
def native_name(code: str) -> str:
    """A language's name written in that language, as the switcher shows it (CLDR's own name)."""
    locale = Locale.parse(code)
    identifier = CLDR_IDENTIFIERS.get(code)
    name = (
        (identifier and locale.languages.get(identifier)) or locale.get_display_name(code) or code
    )
    return name[:1].upper() + name[1:]


def served_code(tag: str) -> str:
    """The code we would serve a browser's language tag under: fa-AF (or fa-Arab-AF) is prs, kmr
    is ku; any other tag is its primary language (fa-IR is fa, en-GB is en)."""
    subtags = tag.lower().replace("_", "-").split("-")
    regions = [subtag for subtag in subtags[1:] if len(subtag) == 2 and subtag.isalpha()]
    for key in [f"{subtags[0]}-{region}" for region in regions[:1]] + [subtags[0]]:
        if key in ALIASES:
            return ALIASES[key]
    return subtags[0]


def guess_locale(accept_language: LanguageAccept, remembered: str | None) -> str:
    """The locale to send a visitor to when the URL does not say: remembered, then the first of the
    browser's languages (best first) that we serve, each read as the code we serve it under."""
    if remembered in LOCALES:
        return remembered
    for tag, _quality in accept_language:
        code = served_code(tag)
        if code in LOCALES:
            return code
    return DEFAULT_LOCALE


def current_locale() -> str:
    return str(get_locale() or DEFAULT_LOCALE)


def select_locale() -> str:
    """Flask-Babel's locale selector: the URL's locale, else the remembered or guessed one.

    An unknown page (/fr/no-such-page) matches no route, so its locale is read from the path.
    """
    if g.get("locale"):
        return g.locale
    prefix = request.path.split("/")[1]
    if prefix in LOCALES:
        return prefix
    return guess_locale(request.accept_languages, session.get("locale"))


def same_page_url(code: str) -> str:
    """The page being shown, in another language (a GET page keeps its arguments); the start page
    in that language when the page is not one of the portal's localised pages."""
    endpoint = request.endpoint
    args = dict(request.view_args or {})
    if endpoint is None or request.url_rule is None or "locale" not in request.url_rule.arguments:
        return url_for("pages.start", locale=code)
    if request.method == "GET":
        return url_for(endpoint, **{**request.args.to_dict(), **args, "locale": code})
    return url_for(endpoint, **{**args, "locale": code})


def language_choices() -> list[LanguageChoice]:
    """The switcher's links: the same page in every language (GET pages keep their arguments)."""
    current = current_locale()
    return [
        LanguageChoice(
            code, native_name(code), same_page_url(code), code == current, text_direction(code)
        )
        for code in LOCALES
    ]


def isolate(value: object, direction: str | None = None, css_class: str | None = None) -> Markup:
    """User data inside translated text, in its own direction (<bdi>), escaped, line breaks kept.

    Names typed in Latin script on an Arabic page (or the reverse) must not reorder the sentence
    around them; emails, phone numbers and references are always left to right.
    """
    lines = str(value if value is not None else "").split("\n")
    text = Markup("<br>").join(escape(line) for line in lines)
    attributes = Markup("")
    if direction:
        attributes += Markup(' dir="{}"').format(direction)
    if css_class:
        attributes += Markup(' class="{}"').format(css_class)
    return Markup("<bdi{}>{}</bdi>").format(attributes, text)


FIRST_STRONG_ISOLATE = "\u2068"
POP_DIRECTIONAL_ISOLATE = "\u2069"


def isolate_text(value: object) -> str:
    """User data inside plain translated text (a hint, an error message), where `<bdi>` cannot
    go: between FSI and PDI, so that a Latin name keeps its order inside a right-to-left sentence."""
    return f"{FIRST_STRONG_ISOLATE}{value}{POP_DIRECTIONAL_ISOLATE}"


def list_of(items: Iterable[object]) -> str:
    """Items joined as the reader's language joins them (CLDR's list patterns): "A, B and C",
    "A و B"."""
    return format_list([str(item) for item in items], locale=current_locale())


LATIN = "0123456789"
PERSIAN = "۰۱۲۳۴۵۶۷۸۹"
ARABIC_INDIC = "٠١٢٣٤٥٦٧٨٩"

# The digit policy, one per locale, for everything a page says: sentences in the catalogs, dates,
# times and numbers. It is CLDR's default numbering system for each language (Persian digits for
# fa, prs and ps, Arabic-Indic for ckb; tests/unit/test_locale_formatting.py holds it to CLDR).
# What a person types, dials or copies (a date in a form's example, a time, a phone number, a code,
# a reference) stays in Latin digits in every locale, so that it can be typed on any phone.
DIGITS = {
    "en": LATIN,
    "fr": LATIN,
    "ar": LATIN,
    "fa": PERSIAN,
    "prs": PERSIAN,
    "ps": PERSIAN,
    "ckb": ARABIC_INDIC,
    "ku": LATIN,
    "ti": LATIN,
    "am": LATIN,
    "vi": LATIN,
    "so": LATIN,
}


@cache
def _digit_table(code: str) -> dict[int, int] | None:
    digits = DIGITS.get(code, LATIN)
    return str.maketrans(LATIN, digits) if digits != LATIN else None


def native_digits(text: str, code: str | None = None) -> str:
    """Dates and numbers in the digits of the locale's policy (DIGITS). Babel formats dates in Latin
    digits whatever the locale, so the portal turns them here; user data (references, phone numbers)
    never passes through this."""
    table = _digit_table(code or str(get_locale()))
    return text.translate(table) if table else text


def number(value: float) -> str:
    """A number in a sentence (a count, hours, a size), in the reader's digits and separators."""
    code = str(get_locale())
    return native_digits(format_decimal(value, locale=code, numbering_system="default"), code)


def percent_pattern(marker: str = "{n}") -> str:
    """The reader's way of writing a percentage (50 %, %50), with `marker` where the number goes:
    for a script that fills in the number as it changes (upload progress)."""
    code = str(get_locale())
    return format_percent(0, locale=code, numbering_system="default").replace("0", marker)


def date(value: dt.date, format: str = "long") -> str:
    return native_digits(format_date(value, format))


def date_time(value: dt.datetime, format: str = "long") -> str:
    return native_digits(format_datetime(value, format))


def time_of_day(value: dt.datetime, format: str = "short") -> str:
    """The time in Paris (the app's time zone), as the reader's locale writes it."""
    return native_digits(format_time(value, format))


def in_reader_digits(variables: dict[str, Any]) -> dict[str, Any]:
    """A sentence's numeric placeholders (a count of hours, of places) formatted as numbers in the
    reader's digits; every other value as it is."""
    return {
        name: number(value)
        if isinstance(value, int | float) and not isinstance(value, bool)
        else value
        for name, value in variables.items()
    }


LATIN_LETTER = re.compile("[A-Za-z]")


def isolated_in_plain_text(variables: dict[str, Any]) -> dict[str, Any]:
    """A plain-text message's values that carry Latin letters (a centre's French name, its address,
    a reference) between FSI and PDI when the reader's language is written right to left: an email
    or SMS has no <bdi>, and a bare "Lille, 20 rue ..." inside Arabic text comes out reordered.
    Links are left whole: a mail client would take an invisible mark into the address it makes
    clickable. Values already marked up, and left-to-right languages, are left as they are."""
    if text_direction(current_locale()) != "rtl":
        return variables
    return {
        name: isolate_text(value)
        if isinstance(value, str)
        and not isinstance(value, Markup)
        and LATIN_LETTER.search(value)
        and not value.startswith(("http://", "https://"))
        else value
        for name, value in variables.items()
    }


def install_number_aware_gettext(app: Flask) -> None:
    """Templates' `_`, `gettext`, `ngettext` and `{% trans count=... %}` fill a number into the
    sentence in the reader's digits (DIGITS).

    Jinja's newstyle gettext formats `%(hours)s` or `{{ count }}` with the bare int: Latin digits
    inside Persian or Sorani text, in a page or an email, wherever a template forgets
    `| numberformat`. Wrapping the callables Flask-Babel installed closes that whole class; the
    plural form is still chosen on the number itself.
    """
    globals_ = app.jinja_env.globals
    babel_gettext = cast(Callable[..., str], globals_["gettext"])
    babel_ngettext = cast(Callable[..., str], globals_["ngettext"])

    def prepared(context: Context, variables: dict[str, Any]) -> dict[str, Any]:
        variables = in_reader_digits(variables)
        # Messages (templates/notify/*.txt) are plain text: isolation by FSI/PDI, not <bdi>.
        if (context.name or "").endswith(".txt"):
            variables = isolated_in_plain_text(variables)
        return variables

    @pass_context
    def gettext(context: Context, string: str, /, **variables: Any) -> str:
        return babel_gettext(context, string, **prepared(context, variables))

    @pass_context
    def ngettext(
        context: Context, singular: str, plural: str, count: int, /, **variables: Any
    ) -> str:
        variables.setdefault("num", count)
        return babel_ngettext(context, singular, plural, count, **prepared(context, variables))

    globals_.update(gettext=gettext, ngettext=ngettext)


def init_app(app: Flask) -> None:
    """Take the locale out of the URL before the view runs, and put it back into every url_for."""

    install_number_aware_gettext(app)

    app.add_template_filter(isolate, "bdi")
    # Flask-Babel's own filters, in the reader's digits.
    app.add_template_filter(date_time, "datetimeformat")
    app.add_template_filter(date, "dateformat")
    app.add_template_filter(time_of_day, "timeformat")
    app.add_template_filter(number, "numberformat")
    app.add_template_filter(isolate_text, "isolated")
    app.add_template_filter(list_of)
    app.add_template_global(percent_pattern)

    @app.url_value_preprocessor
    def pull_locale(endpoint: str | None, values: dict[str, Any] | None) -> None:
        if values is None or "locale" not in values:
            return
        locale = values.pop("locale")
        if locale not in LOCALES:
            abort(404)
        g.locale = locale
        if session.get("locale") != locale:
            session["locale"] = locale

    @app.url_defaults
    def add_locale(endpoint: str, values: dict[str, Any]) -> None:
        if "locale" in values or not app.url_map.is_endpoint_expecting(endpoint, "locale"):
            return
        values["locale"] = g.get("locale") or current_locale()

    @app.context_processor
    def locale_context() -> dict[str, Any]:
        code = current_locale()
        return {
            "locale_code": code,
            "text_direction": text_direction(code),
            "locale_digits": DIGITS.get(code, LATIN),
            "language_choices": language_choices,
        }
