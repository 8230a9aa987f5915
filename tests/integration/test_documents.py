"""Documents through the pages: upload, refusals with their own messages, replace, remove, access."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from datetime import timedelta

import pikepdf
import pytest
from PIL import Image
from sqlalchemy import func, select, update

from portal import audit
from portal.documents import services as document_services
from portal.documents.storage import StorageError
from portal.extensions import db
from portal.models import Application, AuditEvent, Document, DocumentKind, Role, ScanResult, utcnow
from tests.apply_helpers import (
    MAIN_APPLICANT_ALONE,
    fill_in,
    open_a_window,
    pdf_bytes,
    photo_bytes,
    start_application,
    upload,
)
from tests.factories import send_application
from tests.helpers import check_page, csrf_token, make_user, sign_in, sign_in_staff, submit


def stored_keys(app) -> list[str]:
    with app.app_context():
        return list(document_services.storage().keys(utcnow() + timedelta(days=1)))


def document_rows(app) -> list[Document]:
    with app.app_context():
        return list(db.session.scalars(select(Document).order_by(Document.created_at)))


def mark_scanned(app, document_id, result: ScanResult) -> None:
    """What `scan-documents` records (tests/integration/test_virus_scanning.py runs it for real)."""
    with app.app_context():
        db.session.execute(
            update(Document).where(Document.id == document_id).values(scan_result=result.value)
        )
        db.session.commit()


def gps_photo() -> bytes:
    image = Image.new("RGB", (120, 80), "navy")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (50.0, 57.0, 0.0)
    gps[3] = "E"
    gps[4] = (1.0, 51.0, 0.0)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


@pytest.fixture
def applicant(client, app):
    start_application(client, app)
    fill_in(client, MAIN_APPLICANT_ALONE[:3])
    return client


def test_upload_lists_the_file_and_serves_it_clean_and_private(applicant, app):
    original = gps_photo()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)
    response = upload(applicant, "identity", original, "passport page.jpg", part="data_page")
    assert response.status_code == 302
    assert response.headers["Location"] == "/en/application/documents"

    overview = applicant.get("/en/application/documents")
    check_page(overview, "en", "ltr")
    assert "passport page.jpg" in overview.text
    assert "The page with my photo and details" in overview.text
    (document,) = document_rows(app)
    assert document.kind == "identity" and document.part == "data_page"
    assert document.detected_type == "jpeg" and document.scan_result == "not_scanned"
    assert document.uploaded_by_role == "applicant"

    served = applicant.get(f"/en/application/documents/{document.id}/file")
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in served.headers["Cache-Control"]
    assert served.headers["Content-Disposition"].startswith('inline; filename="passport page.jpg"')
    assert "sandbox" in served.headers["Content-Security-Policy"]
    clean = Image.open(io.BytesIO(served.data))
    assert not clean.getexif().get_ifd(0x8825), "the location is gone"
    assert not clean.getexif(), "no metadata at all is kept"

    thumbnail = applicant.get(f"/en/application/documents/{document.id}/thumbnail")
    assert thumbnail.status_code == 200
    assert max(Image.open(io.BytesIO(thumbnail.data)).size) <= 160


def test_files_on_disk_are_encrypted_and_named_at_random(applicant, app, config):
    upload(applicant, "photo", photo_bytes(), "../../etc/face.jpg")
    files = [p for p in (config.INSTANCE_PATH / "documents").rglob("*") if p.is_file()]
    assert len(files) == 2, "the file and its thumbnail"
    (document,) = document_rows(app)
    assert document.original_name == "face.jpg"
    served = applicant.get(f"/en/application/documents/{document.id}/file").data
    for path in files:
        assert "face" not in str(path)
        assert served[:64] not in path.read_bytes()


REFUSALS = [
    (
        "page.html.jpg",
        b"<!doctype html><html><script>alert(1)</script></html>",
        "is not a photo or a PDF",
    ),
    ("photo.jpg", b"MZ\x90\x00" + b"\x00" * 200, "is not a photo or a PDF"),
    ("scan.jpg", pdf_bytes(), "does not match what is in the file"),
    ("hidden.jpg", photo_bytes() + b"<script>alert(1)</script>", "contains hidden content"),
    ("empty.jpg", b"", "is empty"),
    ("broken.jpg", photo_bytes((400, 300))[:300], "is damaged or incomplete"),
]


@pytest.mark.parametrize(("name", "content", "message"), REFUSALS)
def test_bad_files_are_refused_on_the_same_page_and_nothing_is_kept(
    applicant, app, name, content, message
):
    response = upload(applicant, "photo", content, name)
    assert response.status_code == 200
    check_page(response, "en", "ltr")
    assert message in response.text
    assert "There is a problem" in response.text
    assert not document_rows(app)
    assert not stored_keys(app)


def test_pdf_refusals_each_have_their_own_message(applicant, app):
    encrypted = io.BytesIO()
    pikepdf.new().save(encrypted, encryption=pikepdf.Encryption(owner="owner", user=""))
    scripted_pdf = pikepdf.new()
    scripted_pdf.add_blank_page()
    scripted_pdf.Root.OpenAction = pikepdf.Dictionary(
        Type=pikepdf.Name.Action, S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)")
    )
    scripted = io.BytesIO()
    scripted_pdf.save(scripted)
    cases = [
        (encrypted.getvalue(), "is protected by a password"),
        (scripted.getvalue(), "contains scripts, actions or attached files"),
        (b"%PDF-1.7\nthis is not really a PDF", "is damaged and cannot be opened"),
        (pdf_bytes(pages=21), "has too many pages"),
    ]
    for content, message in cases:
        response = upload(applicant, "other", content, "letter.pdf")
        assert message in response.text, message
    assert not document_rows(app)
    assert not stored_keys(app)


def test_a_pixel_flood_is_refused_before_it_is_decoded(applicant, app):
    buffer = io.BytesIO()
    Image.new("1", (12000, 12000)).save(buffer, "PNG")
    response = upload(applicant, "photo", buffer.getvalue(), "flood.png")
    assert "is too big an image to open" in response.text
    assert not document_rows(app)


def test_one_byte_over_the_limit_is_refused_and_a_huge_request_gets_the_413_page(
    client, app, config
):
    config.DOCUMENT_MAX_BYTES = 2000
    small_app_client = client
    start_application(small_app_client, app)
    fill_in(small_app_client, MAIN_APPLICANT_ALONE[:3])
    pdf = pdf_bytes()
    over = pdf + b" " * (2001 - len(pdf))
    response = upload(small_app_client, "other", over, "letter.pdf")
    assert "is larger than" in response.text
    assert not document_rows(app)

    with app.app_context():
        before = db.session.scalar(select(Application.answers))
    page = client.get("/en/application/documents/photo/add")
    huge = client.post(
        "/fr/application/documents/photo/add",
        data={
            "csrf_token": csrf_token(page.text),
            "file": (io.BytesIO(b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)), "big.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert huge.status_code == 413
    assert 'lang="fr"' in huge.text
    with app.app_context():
        assert db.session.scalar(select(Application.answers)) == before
    assert not document_rows(app)


def test_heic_from_a_phone_becomes_a_jpeg(applicant, app):
    import pillow_heif

    buffer = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (64, 64), "red")).save(buffer, quality=50)
    response = upload(applicant, "photo", buffer.getvalue(), "IMG_0001.HEIC")
    assert response.status_code == 302
    (document,) = document_rows(app)
    assert document.detected_type == "heif" and document.content_type == "image/jpeg"
    served = applicant.get(f"/en/application/documents/{document.id}/file")
    assert served.headers["Content-Disposition"].startswith('inline; filename="IMG_0001.jpg"')


def test_replace_and_remove_before_sending(applicant, app):
    upload(applicant, "photo", photo_bytes(), "first.jpg")
    (first,) = document_rows(app)
    assert applicant.get("/en/application/documents/photo/add").status_code == 302, "only one photo"

    response = upload(
        applicant, "photo", photo_bytes(colour="red"), "second.jpg", query=f"?replace={first.id}"
    )
    assert response.status_code == 302
    (second,) = document_rows(app)
    assert second.original_name == "second.jpg"
    assert first.storage_key not in stored_keys(app)

    overview = applicant.get("/en/application/documents")
    removed = applicant.post(
        f"/en/application/documents/{second.id}/remove",
        data={"csrf_token": csrf_token(overview.text)},
    )
    assert removed.status_code == 302
    assert not document_rows(app)
    assert not stored_keys(app)


def test_the_total_of_an_application_is_limited(applicant, app, config):
    config.DOCUMENTS_TOTAL_MAX_BYTES = len(pdf_bytes()) + 10
    assert upload(applicant, "other", pdf_bytes(), "one.pdf").status_code == 302
    response = upload(applicant, "other", pdf_bytes(), "two.pdf")
    assert "All your files together would be larger than" in response.text
    assert len(document_rows(app)) == 1


def test_an_application_cannot_be_sent_without_its_documents(client, app):
    open_a_window(app)
    start_application(client, app)
    for name, data in MAIN_APPLICANT_ALONE:
        submit(client, f"/en/application/questions/{name}", data)
    tasks = client.get("/en/application/tasks")
    assert "Your documents" in tasks.text
    response = client.get("/en/application/check-your-answers")
    assert response.headers["Location"] == "/en/application/documents?missing=1"
    page = client.get(response.headers["Location"])
    check_page(page, "en", "ltr")
    assert "Upload a page of your passport or identity card" in page.text
    assert "Upload a photo of your face" in page.text
    upload(client, "identity", photo_bytes(), "passport.jpg", part="front")
    upload(client, "photo", photo_bytes(), "face.jpg")
    summary = client.get("/en/application/check-your-answers")
    assert summary.status_code == 200
    assert "passport.jpg" in summary.text and "face.jpg" in summary.text


def test_deleting_a_draft_deletes_its_files(applicant, app):
    upload(applicant, "photo", photo_bytes(), "face.jpg")
    assert stored_keys(app)
    response = submit(applicant, "/en/application/delete", {})
    assert response.status_code == 302
    assert not document_rows(app)
    assert not stored_keys(app)


def test_nobody_else_reaches_a_document(applicant, app, caplog):
    upload(applicant, "photo", photo_bytes(), "face.jpg")
    (document,) = document_rows(app)
    paths = [
        f"/en/application/documents/{document.id}/file",
        f"/en/application/documents/{document.id}/thumbnail",
        f"/en/staff/documents/{document.id}",
    ]

    other = app.test_client()
    start_application(other, app, email="someone.else@example.org")
    caplog.set_level(logging.WARNING, logger="portal.documents.serving")
    for path in paths:
        assert other.get(path).status_code == 404, path
    assert (
        other.get("/en/application/documents/00000000-0000-0000-0000-000000000000/file").status_code
        == 404
    )
    assert other.get("/en/application/documents/not-an-id/file").status_code == 404
    assert sum("document access refused" in r.message for r in caplog.records) >= 4

    anonymous = app.test_client()
    assert anonymous.get(paths[0]).status_code in (302, 404)

    make_user(app, "caseworker@example.org", Role.CASEWORKER)
    half_signed_in = app.test_client()
    sign_in(half_signed_in, "caseworker@example.org")
    assert half_signed_in.get(paths[2]).status_code == 404, "no document before two-factor"

    make_user(app, "support@example.org", Role.SUPPORT)
    support = app.test_client()
    sign_in_staff(support, app, "support@example.org")
    for path in paths:
        assert support.get(path).status_code == 404, ("a support worker assists no one yet", path)

    caseworker = app.test_client()
    make_user(app, "caseworker2@example.org", Role.CASEWORKER)
    sign_in_staff(caseworker, app, "caseworker2@example.org")
    assert caseworker.get(paths[2]).status_code == 404, "a draft is the applicant's own"


def test_a_caseworker_views_a_sent_applications_document_and_it_is_audited(client, app):
    send_application(client, app)
    identity = next(d for d in document_rows(app) if d.kind == "identity")

    make_user(app, "caseworker@example.org", Role.CASEWORKER)
    caseworker = app.test_client()
    sign_in_staff(caseworker, app, "caseworker@example.org")
    waiting = caseworker.get(f"/en/staff/documents/{identity.id}")
    assert waiting.status_code == 403, "no scanner has passed it: refused, and not a 500"
    assert "waiting for the virus scan" in waiting.text
    with app.app_context():
        assert not db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "document_viewed")
        ).all()

    mark_scanned(app, identity.id, ScanResult.CLEAN)
    response = caseworker.get(f"/en/staff/documents/{identity.id}")
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/jpeg"
    with app.app_context():
        viewed = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "document_viewed")
        ).all()
        assert len(viewed) == 1 and viewed[0].details["document_id"] == str(identity.id)

    assert client.get(f"/en/application/documents/{identity.id}/file").status_code == 200
    assert client.get("/en/application/documents").headers["Location"].endswith("/status")


def test_a_failure_between_object_and_row_leaves_neither(applicant, app, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(audit, "record", broken)
    assert upload(applicant, "photo", photo_bytes(), "face.jpg").status_code == 500
    assert not document_rows(app)
    assert not stored_keys(app)


def test_the_clean_up_command_removes_objects_no_row_names(applicant, app, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    def cannot_delete(key):
        raise StorageError("storage went away too")

    monkeypatch.setattr(audit, "record", broken)
    with app.app_context():
        storage = document_services.storage()
    monkeypatch.setattr(storage, "delete", cannot_delete)
    assert upload(applicant, "photo", photo_bytes(), "face.jpg").status_code == 500
    monkeypatch.undo()
    orphans = stored_keys(app)
    assert len(orphans) == 2

    upload(applicant, "identity", photo_bytes(), "kept.jpg", part="front")
    kept = stored_keys(app)
    result = app.test_cli_runner().invoke(args=["documents-clean-up", "--older-than-minutes", "-5"])
    assert result.exit_code == 0, result.output
    assert "removed 2" in result.output
    remaining = stored_keys(app)
    assert sorted(remaining) == sorted(set(kept) - set(orphans))
    with app.app_context():
        assert db.session.scalar(select(func.count(Document.id))) == 1


CRASH_MID_WRITE = """
import os, sys
from io import BytesIO
from pathlib import Path
from portal.documents.storage import LocalStorage, new_key

class DiesMidWay(BytesIO):
    def read(self, size=-1):
        chunk = super().read(64 * 1024)
        if self.tell() > 256 * 1024:
            os._exit(9)  # killed mid-write: no except, no finally runs
        return chunk

LocalStorage(Path(sys.argv[1]), bytes.fromhex(sys.argv[2])).put(
    new_key(), DiesMidWay(os.urandom(512 * 1024))
)
"""


def test_the_clean_up_command_removes_what_a_crash_mid_upload_left(app, config):
    from portal.keys import parse_key

    root = config.INSTANCE_PATH / "documents"
    key = parse_key(config.DOCUMENT_KEY).hex()
    crashed = subprocess.run([sys.executable, "-c", CRASH_MID_WRITE, str(root), key], check=False)
    assert crashed.returncode == 9
    (left,) = [p for p in root.rglob("*") if p.is_file()]
    assert left.name.startswith(".") and left.name.endswith(".tmp")
    assert left.stat().st_size > 64 * 1024, "a whole document's worth of ciphertext"

    runner = app.test_cli_runner()
    result = runner.invoke(args=["documents-clean-up"])
    assert result.exit_code == 0, result.output
    assert left.exists(), "an upload may still be writing a file this young"

    result = runner.invoke(args=["documents-clean-up", "--older-than-minutes", "-5"])
    assert result.exit_code == 0, result.output
    assert "removed 1 temporary file(s) left by interrupted uploads" in result.output
    assert not [p for p in root.rglob("*") if p.is_file()]


def test_a_file_found_infected_is_shown_as_unsafe_to_its_uploader_and_opened_by_nobody(
    applicant, app
):
    upload(applicant, "identity", photo_bytes(), "passport.jpg", part="data_page")
    upload(applicant, "photo", photo_bytes(colour="orange"), "face.jpg")
    face = next(d for d in document_rows(app) if d.kind == "photo")
    mark_scanned(app, face.id, ScanResult.INFECTED)

    overview = applicant.get("/en/application/documents")
    check_page(overview, "en", "ltr")
    assert "Our safety check found a virus in this file" in overview.text
    assert f"/application/documents/{face.id}/file" not in overview.text
    assert f"/application/documents/{face.id}/thumbnail" not in overview.text
    for path in ("file", "thumbnail"):
        assert applicant.get(f"/en/application/documents/{face.id}/{path}").status_code == 404
    with app.app_context():
        application = db.session.get(Application, face.application_id)
        assert document_services.missing_kinds(application) == [DocumentKind.PHOTO], (
            "an infected file meets no requirement: it must be replaced before sending"
        )

    in_french = applicant.get("/fr/application/documents")
    assert "Notre contrôle de sécurité a trouvé un virus dans ce fichier" in in_french.text
    assert (
        upload(
            applicant, "photo", photo_bytes(), "new face.jpg", query=f"?replace={face.id}"
        ).status_code
        == 302
    )
    assert "Our safety check found a virus" not in applicant.get("/en/application/documents").text
