"""The unit of work (portal.transactions): the outermost @transactional call commits, a failure
anywhere inside it keeps nothing, and committed rows keep their loaded values."""

from __future__ import annotations

import pytest
from sqlalchemy import func, inspect, select

from portal import audit
from portal.extensions import db
from portal.models import AuditEvent
from portal.transactions import transactional


class Boom(Exception):
    pass


@transactional
def _inner(action: str) -> AuditEvent:
    return audit.record(action)


@transactional
def _outer_that_fails() -> None:
    _inner("inner")
    audit.record("outer")
    raise Boom


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_a_failure_after_a_nested_call_keeps_nothing_of_either(app):
    with app.app_context(), pytest.raises(Boom):
        _outer_that_fails()
    with app.app_context():
        assert _count() == 0


def test_the_outermost_call_commits_and_rows_are_not_expired(app):
    with app.app_context():
        event = _inner("kept")
        assert not inspect(event).expired
        assert event.action == "kept"
    with app.app_context():
        assert _count() == 1
