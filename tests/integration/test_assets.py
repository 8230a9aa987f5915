"""Built assets: the precompressed variant a browser accepts, nothing outside the manifest, and
a build that holds every GOV.UK Frontend component the pages render.

Applicants pay for every byte on slow mobile data, so the build leaves out the components the
portal does not use: the last tests catch a template that starts using one without adding it.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import brotli
import govuk_frontend_jinja
import govuk_frontend_wtf
import pytest
from govuk_frontend_wtf import wtforms_widgets

from portal import assets, create_app
from portal.config import PROJECT_ROOT
from tests.helpers import make_user, sign_in

MANIFEST = assets.load_manifest()
STYLESHEET = MANIFEST["portal.css"]


def url(logical_name: str) -> str:
    return f"/assets/{MANIFEST[logical_name]}"


def original(logical_name: str) -> bytes:
    return (assets.DIST / MANIFEST[logical_name]).read_bytes()


@pytest.mark.parametrize("logical_name", sorted(MANIFEST))
def test_brotli_when_the_browser_takes_brotli_and_gzip(client, logical_name):
    response = client.get(url(logical_name), headers={"Accept-Encoding": "br, gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "br"
    assert brotli.decompress(response.data) == original(logical_name)
    assert int(response.headers["Content-Length"]) == len(response.data)
    assert "Accept-Encoding" in response.vary


@pytest.mark.parametrize("logical_name", sorted(MANIFEST))
def test_gzip_when_the_browser_takes_only_gzip(client, logical_name):
    response = client.get(url(logical_name), headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.data) == original(logical_name)
    assert "Accept-Encoding" in response.vary


@pytest.mark.parametrize("accept_encoding", [None, "identity", "deflate", "br;q=0, gzip;q=0"])
def test_the_file_itself_otherwise(client, accept_encoding):
    headers = {"Accept-Encoding": accept_encoding} if accept_encoding is not None else {}
    response = client.get(url("portal.css"), headers=headers)
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert response.data == original("portal.css")
    assert "Accept-Encoding" in response.vary


@pytest.mark.parametrize(
    ("accept_encoding", "expected"),
    [
        ("gzip, deflate, br, zstd", "br"),  # what Chromium sends
        ("gzip;q=1.0, br;q=0.5", "gzip"),  # the browser's preference first
        ("br;q=0, gzip", "gzip"),  # q=0 means "not this one"
        ("*", "br"),
        ("zstd, *;q=0.1", "br"),
        ("GZIP", "gzip"),
    ],
)
def test_the_browser_preferences_are_parsed_not_searched(client, accept_encoding, expected):
    response = client.get(url("portal.css"), headers={"Accept-Encoding": accept_encoding})
    assert response.headers["Content-Encoding"] == expected


@pytest.mark.parametrize("logical_name", sorted(MANIFEST))
def test_every_variant_has_the_type_and_caching_of_the_original(client, logical_name):
    plain = client.get(url(logical_name))
    for coding in ("br", "gzip"):
        response = client.get(url(logical_name), headers={"Accept-Encoding": coding})
        assert response.headers["Content-Type"] == plain.headers["Content-Type"]
        assert response.cache_control.max_age == assets.ONE_YEAR
        assert response.cache_control.immutable
        assert response.cache_control.public


def test_stylesheet_and_script_types(client):
    accept = {"Accept-Encoding": "br"}
    assert client.get(url("portal.css"), headers=accept).mimetype == "text/css"
    assert client.get(url("portal.js"), headers=accept).mimetype == "text/javascript"


def test_each_coding_has_its_own_etag_and_revalidates(client):
    accept = {"Accept-Encoding": "br"}
    plain = client.get(url("portal.css"))
    compressed = client.get(url("portal.css"), headers=accept)
    assert compressed.headers["ETag"] != plain.headers["ETag"]
    again = client.get(
        url("portal.css"), headers={**accept, "If-None-Match": compressed.headers["ETag"]}
    )
    assert again.status_code == 304


def test_assets_never_carry_the_session_cookie_nor_vary_on_it(client, app):
    """A public, year-long response must hold no cookie, and a browser cache keyed on a cookie
    that changes at every page would fetch the stylesheet again and again."""
    make_user(app, "amina@example.org")
    sign_in(client, "amina@example.org")
    page = client.get("/en/account")
    assert "Cookie" in page.vary and "Set-Cookie" in page.headers  # pages keep their session
    for coding in ("br", "identity"):
        response = client.get(url("portal.css"), headers={"Accept-Encoding": coding})
        assert "Set-Cookie" not in response.headers
        assert "Cookie" not in response.vary
        assert "Content-Disposition" not in response.headers
    assert client.get("/en/account").status_code == 200  # still signed in


@pytest.mark.parametrize(
    "path",
    [
        "/assets/portal.css",  # a logical name is not a hashed name
        "/assets/no-such-file.css",
        f"/assets/{STYLESHEET}.br",  # only manifest names: never a variant by its own name
        f"/assets/{STYLESHEET}.gz",
        "/assets/manifest.json",
        f"/assets/../dist/{STYLESHEET}",
        f"/assets/./{STYLESHEET}",
    ],
)
def test_only_manifest_names_are_served(client, path):
    for accept_encoding in ("br, gzip", "identity"):
        response = client.get(path, headers={"Accept-Encoding": accept_encoding})
        assert response.status_code == 404, (path, accept_encoding)


def test_the_variants_built_beside_each_file_are_found():
    """The build skips a variant that would not be smaller (an already compressed image)."""
    variants = assets.precompressed_variants(assets.DIST, set(MANIFEST.values()))
    assert all(variants[name] == ("br", "gzip") for name in MANIFEST.values())
    assert assets.precompressed_variants(assets.DIST, {"not-built.png"}) == {"not-built.png": ()}


# --- The build holds what the pages use ----------------------------------------------------------

JINJA_TEMPLATES = Path(govuk_frontend_jinja.__file__).parent / "templates"
WTF_TEMPLATES = Path(govuk_frontend_wtf.__file__).parent / "templates"
STOCK_CSS = PROJECT_ROOT / "node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.css"
_IMPORT = re.compile(r"""["'](govuk_frontend_(?:jinja|wtf)/[\w./-]+\.html)["']""")
_WIDGET = re.compile(r"\bGov[A-Z]\w+")
_CLASS_IN_CSS = re.compile(r"\.(govuk-(?:\\.|[\w-])+)")
_CLASS_IN_MARKUP = re.compile(r"govuk-[\w!-]+")
_DATA_MODULE = re.compile(r"""data-module=["'](govuk-[\w-]+)["']""")
# GOV.UK Frontend components whose script a macro renders only when asked: the parameter that
# asks for it. No template asks (the file upload works as a plain file input).
OPT_IN_SCRIPTS = {"govuk-file-upload": '"javascript"'}
# GOV.UK Frontend components that the portal's own script replaces (static/src says why), and a
# string of the replacement that the built portal.js must hold.
REPLACED_SCRIPTS = {"govuk-radios": "govuk-radios__conditional--hidden"}


def _template_file(name: str) -> Path:
    """Where the app's Jinja loader finds a GOV.UK template: our override first, as it does."""
    prefix, _, rest = name.partition("/")
    ours = PROJECT_ROOT / "templates" / name
    if ours.is_file():
        return ours
    return (JINJA_TEMPLATES if prefix == "govuk_frontend_jinja" else WTF_TEMPLATES) / rest


def rendered_sources() -> list[Path]:
    """Our templates, and every GOV.UK macro or widget template they or our forms reach."""
    ours = sorted((PROJECT_ROOT / "templates").rglob("*.html"))
    python = "\n".join(p.read_text() for p in (PROJECT_ROOT / "portal").rglob("*.py"))
    pending = [
        getattr(wtforms_widgets, widget).template
        for widget in sorted(set(_WIDGET.findall(python)))
        if hasattr(wtforms_widgets, widget)
    ]
    pending += [name for path in ours for name in _IMPORT.findall(path.read_text())]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending += _IMPORT.findall(_template_file(name).read_text())
    return ours + [_template_file(name) for name in sorted(seen)]


def css_classes(css: str) -> set[str]:
    return {match.replace("\\", "") for match in _CLASS_IN_CSS.findall(css)}


def test_the_stylesheet_styles_every_govuk_class_the_pages_use():
    """What stock GOV.UK Frontend would style on our pages, our smaller build styles too."""
    used = {
        token
        for path in [*rendered_sources(), *(PROJECT_ROOT / "portal").rglob("*.py")]
        for token in _CLASS_IN_MARKUP.findall(path.read_text())
    }
    stock = css_classes(STOCK_CSS.read_text())
    ours = css_classes(original("portal.css").decode())
    assert used & stock, "found no GOV.UK class in the templates: is the scan broken?"
    assert sorted((used & stock) - ours) == []
    assert sorted((used & stock) - css_classes(original("portal-rtl.css").decode())) == []


def test_the_script_starts_every_govuk_component_the_pages_use():
    sources = rendered_sources()
    texts = "\n".join(path.read_text() for path in sources)
    used = {module for path in sources for module in _DATA_MODULE.findall(path.read_text())}
    used -= {module for module, asked in OPT_IN_SCRIPTS.items() if asked not in texts}
    assert "govuk-button" in used, "found no data-module in the templates: is the scan broken?"
    script = original("portal.js").decode()
    started = {m for m in used if f'moduleName="{m}"' in script}
    replaced = {m for m in used if m in REPLACED_SCRIPTS and REPLACED_SCRIPTS[m] in script}
    assert sorted(used - started - replaced) == []
    assert sorted(started & set(REPLACED_SCRIPTS)) == [], "replaced, yet started too"


def test_rendered_pages_use_no_govuk_class_the_stylesheet_lacks(config):
    """The same, on real pages: macros also build class names at render time (the header)."""
    config.SHOW_GOVUK_BRAND = True
    client = create_app(config).test_client()
    pages = [client.get(path).text for path in ("/en/", "/ar/sign-in", "/en/eligibility/in_france")]
    pages.append(client.post("/en/sign-in", data={}).text)  # the error summary and messages
    used = {token for page in pages for token in _CLASS_IN_MARKUP.findall(page)}
    assert {"govuk-header", "govuk-error-summary", "govuk-radios"} <= used
    stock = css_classes(STOCK_CSS.read_text())
    assert sorted((used & stock) - css_classes(original("portal.css").decode())) == []


def test_pages_compressed_on_the_fly_assets_left_as_built(config):
    """With Flask-Compress on (portal/__init__.py calls assets.init_compression), pages and JSON
    are compressed and /assets/ responses are exactly the files the build wrote."""
    pytest.importorskip("flask_compress")
    app = create_app(config)
    assets.init_compression(app)  # until portal/__init__.py calls it
    client = app.test_client()
    page = client.get("/en/", headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert page.headers["Content-Encoding"] == "br"
    assert b"<!DOCTYPE html>" in brotli.decompress(page.data)
    assert "Accept-Encoding" in page.vary
    assert client.get("/en/", headers={"Accept-Encoding": "gzip"}).headers["Content-Encoding"] == (
        "gzip"
    )
    assert "Content-Encoding" not in client.get("/en/").headers
    for accept_encoding, expected in (("br", "br"), ("gzip", "gzip"), ("identity", None)):
        response = client.get(url("portal.js"), headers={"Accept-Encoding": accept_encoding})
        assert response.headers.get("Content-Encoding") == expected
        suffix = assets.ENCODINGS.get(expected or "", "")
        assert response.data == (assets.DIST / f"{MANIFEST['portal.js']}{suffix}").read_bytes()
