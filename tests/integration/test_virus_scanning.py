"""Virus scanning against a real clamd: inline at upload, and later by `scan-documents` for files
kept "not scanned" where no scanner was configured (the client itself: test_clamd.py)."""

from __future__ import annotations

import io
from datetime import timedelta

import pikepdf
import pytest
from sqlalchemy import select, update

from portal import create_app
from portal.documents import quarantine
from portal.documents import services as document_services
from portal.documents.scanning import ClamdScanner, Verdict
from portal.extensions import db
from portal.models import AuditEvent, Document, Role, ScanResult, utcnow
from tests.apply_helpers import (
    MAIN_APPLICANT_ALONE,
    fill_in,
    open_a_window,
    photo_bytes,
    send_draft,
    start_application,
    upload,
)
from tests.clamd import EICAR, EICAR_INSIDE, clamd  # noqa: F401
from tests.helpers import make_user, sign_in_staff


def eicar_pdf() -> bytes:
    """A valid one-page PDF carrying the EICAR string: the cleaner keeps it, the scanner must not."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.pages[0].Contents = pikepdf.Stream(pdf, b"% " + EICAR + b"\n")
    buffer = io.BytesIO()
    pdf.save(buffer)
    return buffer.getvalue()


def scan_results(app) -> dict[str, str]:
    with app.app_context():
        rows = db.session.execute(select(Document.original_name, Document.scan_result))
        return dict(rows.tuples().all())


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
    # The file's name is isolated (FSI ... PDI) so that it reads right in right-to-left text.
    shown = refused.text.replace("\u2068", "").replace("\u2069", "")
    assert "face.jpg contains a virus, so it was not uploaded" in shown

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


def send_with_an_infected_pdf(client, app) -> None:
    """Sent where no scanner is configured: the PDF with the EICAR string in it is kept, unscanned."""
    open_a_window(app)
    start_application(client, app)
    fill_in(client)
    response = upload(client, "identity", eicar_pdf(), "back.pdf", part="back")
    assert response.status_code == 302, response.text[-2000:]
    send_draft(client)


def test_files_kept_unscanned_wait_for_scan_documents_and_staff_cannot_open_them(config, clamd):  # noqa: F811
    development = create_app(config)
    applicant = development.test_client()
    send_with_an_infected_pdf(applicant, development)
    assert set(scan_results(development).values()) == {"not_scanned"}
    with development.app_context():
        documents = {d.original_name: d.id for d in db.session.scalars(select(Document))}
        application_id = db.session.scalar(select(Document.application_id))

    make_user(development, "caseworker@example.org", Role.CASEWORKER)
    caseworker = development.test_client()
    sign_in_staff(caseworker, development, "caseworker@example.org")
    page = caseworker.get(f"/en/casework/applications/{application_id}")
    assert page.status_code == 200
    assert page.text.count("waiting for the virus scan") == 3
    assert "/staff/documents/" not in page.text, "no link to a file no scanner has passed"
    for document_id in documents.values():
        refused = caseworker.get(f"/en/staff/documents/{document_id}")
        assert refused.status_code == 403
        assert "waiting for the virus scan" in refused.text
    assert (
        applicant.get(f"/en/application/documents/{documents['back.pdf']}/file").status_code == 200
    )

    result = development.test_cli_runner().invoke(args=["scan-documents"])
    assert result.exit_code == 0, result.output
    assert "no virus scanner is configured: 3 document(s) wait" in result.output
    assert set(scan_results(development).values()) == {"not_scanned"}

    config.CLAMD_SOCKET = clamd.socket_path
    scanning = create_app(config)
    result = scanning.test_cli_runner().invoke(args=["scan-documents"])
    assert result.exit_code == 0, result.output
    assert "scanned 3 document(s): 2 clean, 1 infected" in result.output
    assert scan_results(scanning) == {
        "passport.jpg": "clean",
        "face.jpg": "clean",
        "back.pdf": "infected",
    }
    with scanning.app_context():
        (event,) = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "document_infected")
        ).all()
        assert event.details["signature"].startswith(EICAR_INSIDE)
        assert event.details["document_id"] == str(documents["back.pdf"])

    again = scanning.test_cli_runner().invoke(args=["scan-documents"])
    assert "scanned 0 document(s)" in again.output, "a document is scanned once"

    page = caseworker.get(f"/en/casework/applications/{application_id}")
    assert page.text.count("waiting for the virus scan") == 0
    assert "A virus was found in this file" in page.text
    assert f"/staff/documents/{documents['passport.jpg']}" in page.text
    assert f"/staff/documents/{documents['back.pdf']}" not in page.text
    assert caseworker.get(f"/en/staff/documents/{documents['passport.jpg']}").status_code == 200
    infected = caseworker.get(f"/en/staff/documents/{documents['back.pdf']}")
    assert infected.status_code == 403 and "A virus was found in this file" in infected.text
    for path in ("file", "thumbnail"):
        opened = applicant.get(f"/en/application/documents/{documents['back.pdf']}/{path}")
        assert opened.status_code == 404, "nobody opens an infected file, its uploader included"
    for app in (development, scanning):
        with app.app_context():
            db.engine.dispose()


def test_a_scanner_that_is_down_leaves_files_waiting_for_the_next_run(config, tmp_path, clamd):  # noqa: F811
    development = create_app(config)
    client = development.test_client()
    start_application(client, development)
    fill_in(client, MAIN_APPLICANT_ALONE[:3])
    assert upload(client, "photo", photo_bytes(), "face.jpg").status_code == 302

    config.CLAMD_SOCKET = str(tmp_path / "stopped.sock")
    stopped = create_app(config)
    result = stopped.test_cli_runner().invoke(args=["scan-documents"])
    assert result.exit_code == 1, result.output
    assert "the virus scanner did not answer" in result.output
    assert scan_results(stopped) == {"face.jpg": "not_scanned"}
    with stopped.app_context():
        assert db.session.scalar(select(Document.scan_claimed_until)) is None, "let go at once"

    config.CLAMD_SOCKET = clamd.socket_path
    scanning = create_app(config)
    result = scanning.test_cli_runner().invoke(args=["scan-documents"])
    assert result.exit_code == 0, result.output
    assert scan_results(scanning) == {"face.jpg": "clean"}
    for app in (development, stopped, scanning):
        with app.app_context():
            db.engine.dispose()


def test_a_document_held_by_another_run_is_skipped_until_its_claim_runs_out(config, clamd):  # noqa: F811
    config.CLAMD_SOCKET = clamd.socket_path
    development = create_app(config)
    client = development.test_client()
    start_application(client, development)
    fill_in(client, MAIN_APPLICANT_ALONE[:3])
    assert upload(client, "photo", photo_bytes(), "face.jpg").status_code == 302
    with development.app_context():
        # As if uploaded before the scanner was configured.
        db.session.execute(update(Document).values(scan_result=ScanResult.NOT_SCANNED.value))
        db.session.commit()
        scanner = ClamdScanner(socket_path=clamd.socket_path)
        now = utcnow()
        held = quarantine.claim_next(now, timedelta(minutes=5))
        assert held is not None
        assert quarantine.claim_next(now, timedelta(minutes=5)) is None, "held by the first"
        storage = document_services.storage()
        second = quarantine.scan_waiting(scanner, storage, clock=lambda: now)
        assert second.scanned == 0, "a second run skips it"
        later = now + timedelta(minutes=6)
        run = quarantine.scan_waiting(scanner, storage, clock=lambda: later)
        assert (run.scanned, run.clean) == (1, 1), "a run that died lets it go"
        assert not quarantine.record(held, Verdict(scanned=True, signature="late"))
        assert db.session.scalar(select(Document.scan_result)) == "clean", "the first verdict stays"
        db.engine.dispose()
