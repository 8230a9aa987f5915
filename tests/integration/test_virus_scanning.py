"""Virus scanning through the upload page against a real clamd (the client itself: test_clamd.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal import create_app
from portal.extensions import db
from portal.models import AuditEvent, Document
from tests.apply_helpers import (
    MAIN_APPLICANT_ALONE,
    fill_in,
    photo_bytes,
    start_application,
    upload,
)
from tests.clamd import EICAR, clamd  # noqa: F401


@pytest.fixture
def scanning_app(config, clamd):  # noqa: F811
    config.CLAMD_SOCKET = clamd.socket_path
    application = create_app(config)
    yield application
    with application.app_context():
        db.engine.dispose()


def test_uploads_are_scanned_the_infected_refused_and_audited(scanning_app):
    client = scanning_app.test_client()
    start_application(client, scanning_app)
    fill_in(client, MAIN_APPLICANT_ALONE[:3])

    refused = upload(client, "photo", EICAR, "face.jpg")
    assert refused.status_code == 200
    assert "face.jpg contains a virus, so it was not uploaded" in refused.text

    accepted = upload(client, "photo", photo_bytes(), "face.jpg")
    assert accepted.status_code == 302
    with scanning_app.app_context():
        (document,) = db.session.scalars(select(Document)).all()
        assert document.scan_result == "clean"
        (event,) = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "document_infected")
        ).all()
        assert "eicar" in event.details["signature"].lower()


def test_a_stopped_scanner_refuses_uploads_with_try_again_later(config, tmp_path):
    config.CLAMD_SOCKET = str(tmp_path / "stopped.sock")
    stopped = create_app(config)
    client = stopped.test_client()
    start_application(client, stopped)
    fill_in(client, MAIN_APPLICANT_ALONE[:3])
    response = upload(client, "photo", photo_bytes(), "face.jpg")
    assert "We cannot check files for viruses at the moment" in response.text
    with stopped.app_context():
        assert not db.session.scalars(select(Document)).all()
        db.engine.dispose()
