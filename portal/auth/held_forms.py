"""What someone typed on a page whose form arrived after their session had timed out.

The answers are kept against the account that the expired session named, for a short time, and
put back into the same page after that person signs in again; nobody else's sign-in finds them.
They are never saved from here: the person checks them and presses the page's button again, with
a fresh security token.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from flask import current_app, g, request
from sqlalchemy import ColumnElement, delete, exists, select
from sqlalchemy.orm import QueryableAttribute

from portal.extensions import db
from portal.models import HeldForm, utcnow
from portal.transactions import transactional

# Long enough to sign in again (and reset a forgotten password); short enough not to linger.
LIFETIME = timedelta(hours=2)
# Never kept: the old security token and the submission key belong to the page that was sent.
NOT_KEPT = frozenset({"csrf_token", "submission_key"})
MAX_FIELDS = 200
MAX_VALUE = 5000

View = TypeVar("View", bound=Callable[..., Any])

# In `g`: the account whose request's session check found no form held for it.
_NOTHING_HELD_FOR = "nothing_held_for"


def holds_answers(view: View) -> View:
    """Mark a form page whose answers are kept over a timed-out sign-in."""
    view.holds_answers = True  # type: ignore[attr-defined]  # a mark on the function, read with getattr
    return view


def page_key() -> str:
    """The page, whatever the language it was in: its endpoint and its arguments but the locale."""
    arguments = sorted((k, str(v)) for k, v in (request.view_args or {}).items() if k != "locale")
    return (request.endpoint or "") + "".join(f"/{k}={v}" for k, v in arguments)[:150]


@transactional
def hold_posted_form(user_id: uuid.UUID, now: datetime | None = None) -> bool:
    """Keep this request's posted fields for the account, if the page keeps answers."""
    view = current_app.view_functions.get(request.endpoint or "")
    if request.method != "POST" or not getattr(view, "holds_answers", False):
        return False
    now = now or utcnow()
    fields = [
        [name, value[:MAX_VALUE]]
        for name, value in request.form.items(multi=True)
        if name not in NOT_KEPT
    ][:MAX_FIELDS]
    page = page_key()
    db.session.execute(
        delete(HeldForm).where(
            (HeldForm.expires_at <= now) | ((HeldForm.user_id == user_id) & (HeldForm.page == page))
        )
    )
    db.session.add(HeldForm(user_id=user_id, page=page, fields=fields, expires_at=now + LIFETIME))
    g.pop(_NOTHING_HELD_FOR, None)
    return True


def any_held(
    user_id: ColumnElement[uuid.UUID] | QueryableAttribute[uuid.UUID],
) -> ColumnElement[bool]:
    """Whether the account has a form held, as a column of the session check's own SELECT
    (auth.routes.load_user): almost nobody has one, and every question page would otherwise ask
    with a query of its own."""
    return exists().where(HeldForm.user_id == user_id)


def nothing_held_for(user_id: uuid.UUID) -> None:
    """This request's session check found no form held for the account."""
    setattr(g, _NOTHING_HELD_FOR, user_id)


@transactional
def take_held_form(user_id: uuid.UUID, now: datetime | None = None) -> list[tuple[str, str]] | None:
    """The answers held for this account on this page (then forgotten), or None."""
    if g.get(_NOTHING_HELD_FOR) == user_id:
        return None
    now = now or utcnow()
    held = db.session.scalar(
        select(HeldForm)
        .where(HeldForm.user_id == user_id, HeldForm.page == page_key(), HeldForm.expires_at > now)
        .order_by(HeldForm.created_at.desc())
        .limit(1)
    )
    if held is None:
        return None
    fields = [(name, value) for name, value in held.fields]
    db.session.delete(held)
    return fields
