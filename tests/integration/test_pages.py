"""Every public page, in a left-to-right and a right-to-left language, keeps the page rules."""

from __future__ import annotations

import pytest

from tests.helpers import check_page

PUBLIC_PAGES = [
    "/{locale}/",
    "/{locale}/privacy",
    "/{locale}/accessibility",
    "/{locale}/cookies",
    "/{locale}/sign-in",
    "/{locale}/create-account",
    "/{locale}/create-account/check-your-email",
    "/{locale}/forgot-password",
    "/{locale}/forgot-password/check-your-email",
    "/{locale}/signed-out",
]


@pytest.mark.parametrize("path", PUBLIC_PAGES)
@pytest.mark.parametrize(
    ("locale", "direction"), [("en", "ltr"), ("fr", "ltr"), ("ar", "rtl"), ("prs", "rtl")]
)
def test_public_page_has_language_direction_title_and_csrf(client, path, locale, direction):
    response = client.get(path.format(locale=locale))
    assert response.status_code == 200
    check_page(response, locale, direction)


@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [
        ("ar,en;q=0.5", "/ar/"),
        ("fr-FR,fr;q=0.9", "/fr/"),
        ("prs", "/prs/"),
        ("prs-AF,en;q=0.5", "/prs/"),
        ("fa-AF,fa;q=0.9", "/prs/"),
        ("fa", "/fa/"),
        ("fa-IR,fa;q=0.9,en;q=0.5", "/fa/"),
        ("de-DE", "/en/"),
        ("", "/en/"),
    ],
)
def test_root_sends_visitor_to_their_language(client, accept_language, expected):
    response = client.get("/", headers={"Accept-Language": accept_language})
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_chosen_language_is_remembered_over_browser_language(client):
    client.get("/fa/privacy")
    response = client.get("/", headers={"Accept-Language": "fr"})
    assert response.headers["Location"] == "/fa/"


def test_language_switcher_links_to_the_same_page_in_every_language(client):
    html = client.get("/en/privacy").text
    for code in ("fr", "ar", "fa", "prs", "ps", "ckb", "ku", "ti", "am", "vi", "so"):
        assert f'href="/{code}/privacy" lang="{code}"' in html
    assert 'lang="ar" hreflang="ar" dir="rtl">العربية<' in html
    assert 'lang="fa" hreflang="fa" dir="rtl">فارسی<' in html
    assert 'lang="prs" hreflang="prs" dir="rtl">دری<' in html
    assert 'aria-current="true">English<' in html


def test_dari_pages_name_their_language_in_dari(client):
    response = client.get("/prs/privacy")
    check_page(response, "prs", "rtl")
    assert 'lang="prs" dir="rtl" aria-current="true">دری<' in response.text
    assert 'href="/fa/privacy" lang="fa" hreflang="fa" dir="rtl">فارسی<' in response.text


def test_right_to_left_pages_use_the_mirrored_stylesheet(client):
    assert "/assets/portal-rtl." in client.get("/ar/").text
    assert "/assets/portal-rtl." in client.get("/prs/").text
    assert "/assets/portal-rtl." not in client.get("/en/").text


def test_unknown_locale_and_unknown_page_get_the_translated_404(client):
    assert client.get("/xx/privacy").status_code == 404
    response = client.get("/fr/no-such-page")
    assert response.status_code == 404
    assert "Page introuvable" in response.text
    check_page(response, "fr", "ltr")


def test_assets_are_served_with_long_lived_cache_headers(client):
    html = client.get("/en/").text
    start = html.index("/assets/portal.")
    path = html[start : html.index('"', start)]
    response = client.get(path)
    assert response.status_code == 200
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert "immutable" in response.headers["Cache-Control"]
    assert client.get("/assets/portal.css").status_code == 404
