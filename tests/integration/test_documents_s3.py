"""The whole document journey on S3, over HTTP against a moto server on loopback."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal import audit
from portal.documents.storage import StorageError
from portal.extensions import db
from portal.models import Document
from tests.apply_helpers import (
    MAIN_APPLICANT_ALONE,
    fill_in,
    photo_bytes,
    start_application,
    upload,
)
from tests.helpers import csrf_token
from tests.moto_server import moto_server  # noqa: F401
from tests.s3_helpers import portal_on_s3

BUCKET = "eoi-documents-test"


@pytest.fixture
def s3_app(config, moto_server):  # noqa: F811
    with portal_on_s3(config, moto_server, BUCKET) as app_and_client:
        yield app_and_client


def bucket_keys(client) -> list[str]:
    listing = client.list_objects_v2(Bucket=BUCKET)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def test_upload_view_and_remove_through_s3(s3_app):
    app, s3 = s3_app
    client = app.test_client()
    start_application(client, app)
    fill_in(client, MAIN_APPLICANT_ALONE[:3])
    assert upload(client, "photo", photo_bytes((300, 200)), "face.jpg").status_code == 302

    with app.app_context():
        document = db.session.scalars(select(Document)).one()
    assert bucket_keys(s3) == sorted([document.storage_key, document.thumbnail_key])
    head = s3.head_object(Bucket=BUCKET, Key=document.storage_key)
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentLength"] == document.size

    served = client.get(f"/en/application/documents/{document.id}/file")
    assert served.status_code == 200 and len(served.data) == document.size

    page = client.get("/en/application/documents")
    client.post(
        f"/en/application/documents/{document.id}/remove",
        data={"csrf_token": csrf_token(page.text)},
    )
    assert bucket_keys(s3) == []


def test_a_failure_between_object_and_row_leaves_no_object_in_the_bucket(s3_app, monkeypatch):
    app, s3 = s3_app
    client = app.test_client()
    start_application(client, app)
    fill_in(client, MAIN_APPLICANT_ALONE[:3])

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away after the object was stored")

    monkeypatch.setattr(audit, "record", broken)
    assert upload(client, "photo", photo_bytes(), "face.jpg").status_code == 500
    assert bucket_keys(s3) == []
    with app.app_context():
        assert db.session.scalars(select(Document)).all() == []


def test_s3_down_refuses_the_upload_with_try_again(s3_app, monkeypatch):
    app, _ = s3_app
    client = app.test_client()
    start_application(client, app)
    fill_in(client, MAIN_APPLICANT_ALONE[:3])
    storage = app.extensions["portal.documents"]

    def unreachable(key, source):
        raise StorageError("connection refused")

    monkeypatch.setattr(storage, "put", unreachable)
    response = upload(client, "photo", photo_bytes(), "face.jpg")
    assert response.status_code == 200
    # The file's name is isolated (FSI ... PDI) so that it reads right in right-to-left text.
    shown = response.text.replace("\u2068", "").replace("\u2069", "")
    assert "We could not save face.jpg. Try again in a few minutes." in shown
