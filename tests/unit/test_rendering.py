"""What the rendering shortcuts taken for speed must not change: a kept select is the same HTML
GOV.UK's macro writes for the same answer, error and language; and no request ends by starting a
thread and an event loop."""

from __future__ import annotations

import inspect

from flask_babel import force_locale
from govuk_frontend_wtf.wtforms_widgets import GovSelect
from wtforms import Form

from portal.fields import country_field
from portal.widgets import KeptSelect


class CountryForm(Form):
    country = country_field("Country of birth", "Choose your country of birth")


def rendered(widget, data=None, error=None):
    form = CountryForm(data={"country": data} if data else None)
    if error:
        form.country.errors = [error]
    return str(widget(form.country))


def test_a_kept_select_is_the_html_govuk_writes(app):
    kept = KeptSelect()
    cases = [(None, None), ("FR", None), ("AF", None), (None, "Choose your country of birth")]
    with app.test_request_context():
        for locale in ("en", "ar", "ti"):
            with force_locale(locale):
                for data, error in cases:
                    expected = rendered(GovSelect(), data, error)
                    assert rendered(kept, data, error) == expected, (locale, data, error)
                    assert rendered(kept, data, error) == expected, "kept copy differs"


def test_the_answer_and_the_language_are_part_of_the_key(app):
    kept = KeptSelect()
    with app.test_request_context():
        with force_locale("en"):
            blank, france = rendered(kept), rendered(kept, "FR")
        with force_locale("fr"):
            french = rendered(kept)
    assert 'value="FR" selected' in france and "selected" not in blank
    assert "Allemagne" in french and "Allemagne" not in blank


def test_kept_selects_are_bounded(app):
    kept = KeptSelect()
    kept.KEPT = 3
    with app.test_request_context(), force_locale("en"):
        for code in ("FR", "DE", "IT", "ES", "PT"):
            rendered(kept, code)
    assert len(kept._kept) == 3


def test_no_teardown_runs_through_an_event_loop(app):
    """Flask runs a coroutine teardown in a new thread with a new event loop, on every request."""
    assert app.teardown_appcontext_funcs
    assert not any(inspect.iscoroutinefunction(f) for f in app.teardown_appcontext_funcs)
