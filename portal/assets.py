"""Built front-end assets: content-hashed names from static/dist/manifest.json, cached for a year.

static/build.mjs writes each asset precompressed too (`<hashed>.br`, `<hashed>.gz`, at the best
settings, once): applicants are on slow mobile data, and compressing at build time costs no CPU
per request. The variant a browser accepts is sent with its Content-Encoding; anything else gets
the file as it is.

Pages (HTML) and JSON are compressed on the fly by Flask-Compress, set up here as well because the
two must agree on who owns a response's Content-Encoding: Flask-Compress leaves alone a response
that already has one, and we let it handle only HTML and JSON, never /assets/.
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path

from flask import Flask, Response, abort, request, send_from_directory, url_for
from flask.sessions import SessionInterface, SessionMixin
from flask_compress import Compress
from werkzeug.datastructures import Accept

from portal.config import PROJECT_ROOT

# Read when the app is made (not at import), so that bench/page_weight.py can point the portal at
# another build (stock GOV.UK Frontend) to compare page weights.
DIST = PROJECT_ROOT / "static" / "dist"
ONE_YEAR = 365 * 24 * 3600
# Content-coding -> file suffix, best first: on a tie in the browser's preferences, brotli wins
# (a fifth smaller than gzip on our CSS and JavaScript).
ENCODINGS = {"br": ".br", "gzip": ".gz"}


class AssetsNotBuilt(RuntimeError):
    """static/dist is missing: run `make assets` (the README's commands do it for you)."""


def load_manifest(dist: Path | None = None) -> dict[str, str]:
    dist = dist or DIST
    try:
        return json.loads((dist / "manifest.json").read_text())
    except FileNotFoundError as exc:
        raise AssetsNotBuilt(f"{dist / 'manifest.json'} is missing: run `make assets`") from exc


def precompressed_variants(dist: Path, hashed_names: set[str]) -> dict[str, tuple[str, ...]]:
    """For each hashed name, the content-codings built beside it, best first.

    Looked up once at start-up: a request never makes the server look for a file, and only names
    in the manifest can ever lead to one.
    """
    return {
        name: tuple(
            coding for coding, suffix in ENCODINGS.items() if (dist / f"{name}{suffix}").is_file()
        )
        for name in hashed_names
    }


def choose_encoding(accepted: Accept, available: tuple[str, ...]) -> str | None:
    """The coding the browser likes best (its q-values, `*` included) among those built; None
    for the file as it is. On equal q-values the order of `available` (brotli first) decides."""
    best: str | None = None
    best_quality = 0.0
    for coding in available:
        quality = accepted.quality(coding)
        if quality > best_quality:
            best, best_quality = coding, quality
    return best


# Flask-Compress settings: pages and JSON only, brotli else gzip. Brotli quality 5 compresses a
# 7 KB page to 1.9 KB in 0.1 ms; quality 11 saves 250 bytes more but takes 10 ms of a worker per
# page. No compression of streamed responses (documents: images and PDFs, already compressed).
COMPRESSION_SETTINGS = {
    "COMPRESS_MIMETYPES": ["text/html", "application/json"],
    "COMPRESS_ALGORITHM": ["br", "gzip"],
    "COMPRESS_BR_LEVEL": 5,
    "COMPRESS_BR_MODE": 1,  # brotli's text mode
    "COMPRESS_LEVEL": 6,
    "COMPRESS_MIN_SIZE": 500,
    "COMPRESS_STREAMS": False,
}


def init_compression(app: Flask) -> None:
    """Compress pages and JSON with Flask-Compress (brotli, else gzip); assets are precompressed.

    Call it before any other after_request hook is registered: Flask runs them last-registered
    first, so Flask-Compress then sees the finished response. Calling it again does nothing (the
    page-weight bench calls it on an app that may already compress).
    """
    if "compress" in app.extensions:
        return
    for key, value in COMPRESSION_SETTINGS.items():
        app.config.setdefault(key, value)
    app.extensions["compress"] = Compress(app)


class SessionlessAssets:
    """The app's session interface, except that /assets/ responses never touch the cookie.

    Flask adds `Vary: Cookie` to a response whenever anything in the request read the session
    (Flask-Login's after_request hook reads it on every request), and sets a permanent session's
    cookie again on every response, with a new timestamp. On an asset that would mean a cookie on
    a public, year-long response, and a browser cache keyed on a cookie that changes at every
    page: after a phone drops its memory cache, it downloads the stylesheet and script again.
    Nothing under /assets/ reads or writes the session, so not saving it there loses nothing.
    """

    def __init__(self, inner: SessionInterface) -> None:
        self.inner = inner

    def open_session(self, app: Flask, http_request: object) -> SessionMixin | None:
        return self.inner.open_session(app, http_request)  # type: ignore[arg-type]  # Flask passes its own Request here

    def make_null_session(self, app: Flask) -> object:
        return self.inner.make_null_session(app)

    def is_null_session(self, obj: object) -> bool:
        return self.inner.is_null_session(obj)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if request.endpoint != "asset":
            self.inner.save_session(app, session, response)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def init_app(app: Flask) -> None:
    """Serve /assets/<hashed name> with immutable caching, and give templates `asset_url()`."""
    dist = DIST
    manifest = load_manifest(dist)
    variants = precompressed_variants(dist, set(manifest.values()))

    def asset_url(name: str) -> str:
        return url_for("asset", filename=manifest[name])

    @app.route("/assets/<path:filename>")
    def asset(filename: str) -> Response:
        if filename not in variants:
            abort(404)
        coding = choose_encoding(request.accept_encodings, variants[filename])
        if coding is None:
            response = send_from_directory(dist, filename, max_age=ONE_YEAR)
        else:
            # The original's type: left to guess from "x.css.br", send_file would set a
            # Content-Encoding of its own.
            mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
            response = send_from_directory(
                dist, filename + ENCODINGS[coding], max_age=ONE_YEAR, mimetype=mimetype
            )
            response.content_encoding = coding
        if variants[filename]:
            # Caches (the browser's, a proxy's) must keep one copy per coding.
            response.vary.add("Accept-Encoding")
        # send_file names the file it read ("portal.<hash>.css.br"); a stylesheet or script is
        # never saved, so the header is only bytes on every response.
        del response.headers["Content-Disposition"]
        response.cache_control.immutable = True
        response.cache_control.public = True
        return response

    app.jinja_env.globals["asset_url"] = asset_url
    if not isinstance(app.session_interface, SessionlessAssets):
        app.session_interface = SessionlessAssets(app.session_interface)  # type: ignore[assignment]  # it delegates to the inner interface
