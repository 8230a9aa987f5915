"""Built front-end assets: content-hashed names from static/dist/manifest.json, cached for a year."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask, Response, abort, send_from_directory, url_for

from portal.config import PROJECT_ROOT

DIST = PROJECT_ROOT / "static" / "dist"
ONE_YEAR = 365 * 24 * 3600


class AssetsNotBuilt(RuntimeError):
    """static/dist is missing: run `make assets` (the README's commands do it for you)."""


def load_manifest(dist: Path = DIST) -> dict[str, str]:
    try:
        return json.loads((dist / "manifest.json").read_text())
    except FileNotFoundError as exc:
        raise AssetsNotBuilt(f"{dist / 'manifest.json'} is missing: run `make assets`") from exc


def init_app(app: Flask) -> None:
    """Serve /assets/<hashed name> with immutable caching, and give templates `asset_url()`."""
    manifest = load_manifest()
    hashed_names = set(manifest.values())

    def asset_url(name: str) -> str:
        return url_for("asset", filename=manifest[name])

    @app.route("/assets/<path:filename>")
    def asset(filename: str) -> Response:
        if filename not in hashed_names:
            abort(404)
        response = send_from_directory(DIST, filename, max_age=ONE_YEAR)
        response.cache_control.immutable = True
        response.cache_control.public = True
        return response

    app.jinja_env.globals["asset_url"] = asset_url
