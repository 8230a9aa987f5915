"""Links that leave the site, in emails and text messages: built in one place.

Always from the configured public address (PORTAL_BASE_URL), never from the request's Host
header, which a client chooses; every capability that sends a link uses this.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for


def absolute_url(endpoint: str, **values: Any) -> str:
    """A link for an email or SMS: the configured public address, never the request's Host header."""
    base = current_app.config["PORTAL"].BASE_URL.rstrip("/")
    return base + url_for(endpoint, **values)
