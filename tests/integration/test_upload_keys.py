"""The upload key: a file sent again after its answer was lost is stored once.

The upload page (with JavaScript) makes a key for each chosen file and sends it with the file; a
dropped connection makes the page send the same file again with the same key. Both upload roads
(the documents step and the answer to a request for more information) recognise it, before any
work and again under the lock the upload already takes. Runs on SQLite and on PostgreSQL; the
concurrent sendings only on PostgreSQL, where the requests really run in parallel.
"""

from __future__ import annotations

import io
import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.documents import services as document_services
from portal.documents import validation
from portal.extensions import db
from portal.models import Application, Document, DocumentKind, User, utcnow
from tests.apply_helpers import MAIN_APPLICANT_ALONE, fill_in, photo_bytes, start_application
from tests.conftest import POSTGRES_URL
from tests.helpers import csrf_token
from tests.integration.test_information_documents import ANSWER, asked  # noqa: F401 (fixture)

OVERVIEW = "/en/application/documents"


@pytest.fixture
def applicant(client, app):
    start_application(client, app)
    fill_in(client, MAIN_APPLICANT_ALONE[:3])
    return client


def send(client, path, content, name, key, **fields):
    """Post a file as the page's script does: the CSRF token of a page already open, the key."""
    page = client.get(OVERVIEW if path.startswith(OVERVIEW) else ANSWER)
    data = {
        "csrf_token": csrf_token(page.text),
        "upload_key": key,
        "file": (io.BytesIO(content), name),
        **fields,
    }
    return client.post(path, data=data, content_type="multipart/form-data")


def documents(app) -> list[Document]:
    with app.app_context():
        return list(db.session.scalars(select(Document).order_by(Document.created_at)))


def stored_keys(app) -> set[str]:
    with app.app_context():
        return set(document_services.storage().keys(utcnow() + timedelta(days=1)))


def objects_of(rows: list[Document]) -> set[str]:
    return {key for d in rows for key in (d.storage_key, d.thumbnail_key) if key}


def test_the_same_key_twice_stores_one_document_and_answers_the_same(applicant, app):
    key = str(uuid.uuid4())
    path = OVERVIEW + "/identity/add"
    first = send(applicant, path, photo_bytes(), "passport.jpg", key, part="data_page")
    again = send(applicant, path, photo_bytes(), "passport.jpg", key, part="data_page")
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"] == OVERVIEW
    (document,) = documents(app)
    assert document.upload_key == uuid.UUID(key)
    assert stored_keys(app) == objects_of([document]), "the retry left no object behind"
    assert "passport.jpg is uploaded" in applicant.get(OVERVIEW).text.replace("\u2068", "").replace(
        "\u2069", ""
    )

    other = send(applicant, path, photo_bytes(), "passport.jpg", str(uuid.uuid4()), part="back")
    assert other.status_code == 302
    assert len(documents(app)) == 2, "another chosen file (another key) is another document"


def test_a_retried_replacement_finds_the_replacement(applicant, app):
    send(applicant, OVERVIEW + "/photo/add", photo_bytes(), "first.jpg", "")
    (first,) = documents(app)
    assert first.upload_key is None, "no key (no JavaScript): stored as before"
    key = str(uuid.uuid4())
    path = f"{OVERVIEW}/photo/add?replace={first.id}"
    assert send(applicant, path, photo_bytes(colour="red"), "second.jpg", key).status_code == 302
    again = send(applicant, path, photo_bytes(colour="red"), "second.jpg", key)
    assert again.status_code == 302 and again.headers["Location"] == OVERVIEW
    (second,) = documents(app)
    assert second.original_name == "second.jpg"
    assert stored_keys(app) == objects_of([second])


def test_a_malformed_key_is_ignored_not_refused(applicant, app):
    response = send(applicant, OVERVIEW + "/photo/add", photo_bytes(), "face.jpg", "not-a-uuid")
    assert response.status_code == 302
    (document,) = documents(app)
    assert document.upload_key is None


def test_a_refused_file_keeps_nothing_and_its_key_can_be_sent_again(applicant, app):
    key = str(uuid.uuid4())
    refused = send(applicant, OVERVIEW + "/photo/add", b"not an image", "face.jpg", key)
    assert refused.status_code == 200 and "govuk-error-summary" in refused.text
    assert not documents(app)
    assert (
        send(applicant, OVERVIEW + "/photo/add", photo_bytes(), "face.jpg", key).status_code == 302
    )
    assert len(documents(app)) == 1


def test_a_request_file_sent_twice_with_its_key_is_one_file(app, asked):  # noqa: F811
    applicant = asked["applicant"]
    key = str(uuid.uuid4())
    for _ in range(2):
        response = send(
            applicant, ANSWER + "/files", photo_bytes(), "clear.jpg", key, kind="identity"
        )
        assert response.status_code == 302 and response.headers["Location"] == ANSWER
    (document,) = documents(app)[-1:]
    assert [d.upload_key for d in documents(app)].count(uuid.UUID(key)) == 1
    assert document.information_request_id is not None
    assert applicant.get(ANSWER).text.count("clear.jpg") >= 1


def test_a_sending_that_finishes_while_another_is_cleaned_wins_under_the_lock(
    applicant, app, monkeypatch
):
    """The check under the lock, in one thread: while the second sending's file is being
    cleaned, the first one commits; the second then finds it and deletes its own objects."""
    key = uuid.uuid4()
    clean = validation.clean

    def first_sending_lands_meanwhile(source, name, limits):
        monkeypatch.setattr(validation, "clean", clean)
        with app.test_request_context():
            application = db.session.scalar(select(Application))
            user = db.session.get(User, application.applicant_id)
            item = document_services.Upload(
                DocumentKind.PHOTO, None, "face.jpg", io.BytesIO(photo_bytes()), key
            )
            document_services.upload(application, user, item)
        return clean(source, name, limits)

    with app.test_request_context():
        application = db.session.scalar(select(Application))
        user = db.session.get(User, application.applicant_id)
        monkeypatch.setattr(validation, "clean", first_sending_lands_meanwhile)
        item = document_services.Upload(
            DocumentKind.PHOTO, None, "face.jpg", io.BytesIO(photo_bytes()), key
        )
        returned = document_services.upload(application, user, item)
        returned_id = returned.id
    (document,) = documents(app)
    assert document.id == returned_id
    assert stored_keys(app) == objects_of([document])


@pytest.mark.skipif(not POSTGRES_URL, reason="concurrency is tested on PostgreSQL")
def test_concurrent_sendings_of_the_same_key_store_one_document(applicant, app):
    key = uuid.uuid4()
    barrier = threading.Barrier(6)
    returned: list[uuid.UUID] = []
    errors: list[BaseException] = []
    content = photo_bytes((1200, 900))

    def sending() -> None:
        try:
            with app.test_request_context():
                application = db.session.scalar(select(Application))
                user = db.session.get(User, application.applicant_id)
                item = document_services.Upload(
                    DocumentKind.IDENTITY, "front", "front.jpg", io.BytesIO(content), key
                )
                barrier.wait()
                returned.append(document_services.upload(application, user, item).id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sending) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors, errors
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Document)) == 1
    (document,) = documents(app)
    assert returned == [document.id] * 6
    assert stored_keys(app) == objects_of([document]), "the losers' objects are deleted"
