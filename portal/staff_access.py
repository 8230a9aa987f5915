"""What every staff page shares: the caseworking roles, English screens, rows named in URLs.

Here, outside any capability's routes, so that the back office, appointments, messages, support,
wording and admin pages use them without importing each other's pages.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import abort, g, redirect, request, url_for

from portal.extensions import db
from portal.models import Role

CASEWORK = (Role.CASEWORKER, Role.ADMIN)


def english_only() -> Any:
    """Caseworkers are UK staff reading English; a translated URL leads to the English screen."""
    if g.get("locale") not in (None, "en") and request.endpoint:
        values = {**request.args.to_dict(flat=False), **(request.view_args or {})}
        return redirect(url_for(request.endpoint, **values, locale="en"))
    return None


def object_or_404(model: type[Any], object_id: str) -> Any:
    """A row named by the UUID in a staff URL; a malformed or unknown id is a missing page."""
    try:
        found = db.session.get(model, uuid.UUID(object_id))
    except ValueError:
        abort(404)
    if found is None:
        abort(404)
    return found
