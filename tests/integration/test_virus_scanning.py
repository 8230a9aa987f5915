"""Virus scanning against a real clamd: the client on its own, then through the upload page."""

from __future__ import annotations

import io
import os
import socket
import threading

import pytest
from sqlalchemy import select

from portal import create_app
from portal.documents.scanning import ClamdScanner, NoScanner, ScannerUnavailable, scanner_for
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


def test_eicar_is_found_and_a_clean_stream_of_many_chunks_passes(clamd):  # noqa: F811
    scanner = ClamdScanner(socket_path=clamd.socket_path, timeout=10)
    found = scanner.scan(io.BytesIO(EICAR))
    assert found.infected and "eicar" in found.signature.lower()
    clean_stream = io.BytesIO(os.urandom(3 * 1024 * 1024))
    clean_stream.seek(12345)
    verdict = scanner.scan(clean_stream)
    assert verdict.scanned and not verdict.infected
    assert clean_stream.tell() == 0, "the caller reads the file again from the start"


def test_nothing_behind_the_socket_or_port_means_unavailable(tmp_path):
    with pytest.raises(ScannerUnavailable):
        ClamdScanner(socket_path=str(tmp_path / "nothing.sock"), timeout=1).scan(io.BytesIO(b"x"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ScannerUnavailable):
        ClamdScanner(host="127.0.0.1", port=port, timeout=1).scan(io.BytesIO(b"x"))


def _serve_once(answer: bytes | None) -> int:
    """A loopback server that reads the request, then answers `answer` (or never answers)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def run() -> None:
        connection, _ = server.accept()
        with connection:
            connection.settimeout(3)
            try:
                while connection.recv(65536):
                    if answer is not None:
                        connection.sendall(answer)
                        break
            except OSError:
                pass
        server.close()

    threading.Thread(target=run, daemon=True).start()
    return server.getsockname()[1]


def test_a_garbled_or_silent_scanner_is_unavailable_never_clean():
    garbled = _serve_once(b"what is this\0")
    with pytest.raises(ScannerUnavailable):
        ClamdScanner(host="127.0.0.1", port=garbled, timeout=2).scan(io.BytesIO(b"x" * 10))
    limit = _serve_once(b"INSTREAM size limit exceeded. ERROR\0")
    with pytest.raises(ScannerUnavailable):
        ClamdScanner(host="127.0.0.1", port=limit, timeout=2).scan(io.BytesIO(b"x" * 10))
    silent = _serve_once(None)
    with pytest.raises(ScannerUnavailable):
        ClamdScanner(host="127.0.0.1", port=silent, timeout=0.5).scan(io.BytesIO(b"x" * 10))


def test_the_scanner_follows_the_settings():
    assert isinstance(scanner_for(None, None, 3310, 5), NoScanner)
    assert scanner_for("/run/clamd.sock", None, 3310, 5).socket_path == "/run/clamd.sock"
    assert scanner_for(None, "clamd.internal", 3310, 5).host == "clamd.internal"
    assert not NoScanner().scan(io.BytesIO(EICAR)).scanned


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
