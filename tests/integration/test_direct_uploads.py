"""Uploads sent straight to S3 (docs/capacity.md): the browser posts the presigned form to the
bucket, S3 redirects it to the portal's check, and only that check makes the file count.

Over real HTTP against the moto server on loopback: the form is posted as a browser would post
it (multipart, the page's hidden fields in order, then the file), and S3's redirect is followed.
"""

from __future__ import annotations

import base64
import html
import json
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from portal.documents import incoming
from portal.documents.storage import S3Storage
from portal.extensions import db
from portal.models import Application, Document, User
from tests.apply_helpers import (
    MAIN_APPLICANT_ALONE,
    answer_eligibility,
    fill_in,
    photo_bytes,
    start_application,
)
from tests.helpers import sign_in
from tests.moto_server import moto_server  # noqa: F401
from tests.s3_helpers import portal_on_s3

BUCKET = "eoi-direct-uploads-test"
_FORM = re.compile(
    r'<form method="post" action="([^"]+)"[^>]*data-direct-upload>(.*?)</form>', re.S
)
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@pytest.fixture
def s3_app(config, moto_server):  # noqa: F811
    with portal_on_s3(config, moto_server, BUCKET) as app_and_client:
        yield app_and_client


def keys(s3, prefix: str = "") -> list[str]:
    listing = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def documents(app) -> list[Document]:
    with app.app_context():
        return list(db.session.scalars(select(Document)))


def direct_form(page: str) -> tuple[str, list[tuple[str, str]]]:
    """The upload form's action and hidden fields, in the page's order."""
    match = _FORM.search(page)
    assert match, "the page has a form that posts to the bucket"
    fields = [(name, html.unescape(value)) for name, value in _HIDDEN.findall(match.group(2))]
    return html.unescape(match.group(1)), fields


def post_to_bucket(page: str, content: bytes, name: str) -> requests.Response:
    """What the browser sends to S3: every field of the form, then the file, as multipart."""
    action, fields = direct_form(page)
    response = requests.post(
        action,
        data=fields,
        files={"file": (name, content, "image/jpeg")},
        allow_redirects=False,
        timeout=10,
    )
    return response


def check_path(response: requests.Response) -> str:
    """The portal's URL that S3 redirected the browser to, as the test client takes it."""
    assert response.status_code == 303, response.text[:500]
    location = urlsplit(response.headers["Location"])
    assert location.hostname == "localhost"
    return f"{location.path}?{location.query}"


def started(app, email: str = "amina@example.org"):
    client = app.test_client()
    start_application(client, app, email)
    fill_in(client, MAIN_APPLICANT_ALONE[:3])
    return client


def test_the_photo_goes_to_the_bucket_and_counts_only_once_checked(s3_app):
    app, s3 = s3_app
    client = started(app)
    page = client.get("/en/application/documents/photo/add")
    assert page.status_code == 200
    action, fields = direct_form(page.text)
    assert action.startswith(app.config["PORTAL"].S3_ENDPOINT_URL)
    assert 'name="csrf_token"' not in _FORM.search(page.text).group(2)
    # The CSP lets this page's form post to the bucket, and only there.
    origin = app.config["PORTAL"].S3_ENDPOINT_URL
    policy_header = page.headers["Content-Security-Policy"]
    assert f"form-action 'self' {origin}" in policy_header
    assert f"connect-src 'self' {origin}" in policy_header

    with app.app_context():
        application = db.session.scalars(select(Application)).one()
    named = dict(fields)
    assert re.fullmatch(rf"incoming/{application.id}/[0-9a-f]{{32}}", named["key"])
    policy = json.loads(base64.b64decode(named["policy"]))
    conditions = policy["conditions"]
    assert {"key": named["key"]} in conditions
    assert {"bucket": BUCKET} in conditions
    assert {"x-amz-server-side-encryption": "AES256"} in conditions
    assert {"Content-Type": "application/octet-stream"} in conditions
    assert {"success_action_redirect": named["success_action_redirect"]} in conditions
    assert ["content-length-range", 0, incoming.POLICY_MAX_BYTES] in conditions
    expires = time.mktime(time.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ"))
    assert 3500 < expires - time.mktime(time.gmtime()) <= 3600

    sent = post_to_bucket(page.text, photo_bytes((300, 200)), "face.jpg")
    path = check_path(sent)
    assert keys(s3, "incoming/") == [named["key"]]
    assert documents(app) == [], "nothing counts before the check"

    checked = client.get(path)
    assert checked.status_code == 302
    assert checked.headers["Location"] == "/en/application/documents"
    (document,) = documents(app)
    assert document.kind == "photo"
    assert document.upload_key is not None and document.upload_key.hex in named["key"]
    assert keys(s3, "incoming/") == [], "the incoming object is deleted"
    assert sorted(keys(s3, "documents/")) == sorted([document.storage_key, document.thumbnail_key])

    # Back, or a refresh: the same redirect again makes no second document.
    again = client.get(path)
    assert again.status_code == 302
    assert len(documents(app)) == 1


def test_an_identity_document_asks_for_its_part_first(s3_app):
    app, _s3 = s3_app
    client = started(app)
    question = client.get("/en/application/documents/identity/add")
    assert 'name="part"' in question.text and "data-direct-upload" not in question.text
    unanswered = client.get("/en/application/documents/identity/add?choose=1")
    assert "Select which part of the document this is" in unanswered.text

    page = client.get("/en/application/documents/identity/add?choose=1&part=front")
    path = check_path(post_to_bucket(page.text, photo_bytes(), "passport.jpg"))
    assert client.get(path + "&name=passport.jpg").status_code == 302
    (document,) = documents(app)
    assert (document.kind, document.part, document.original_name) == (
        "identity",
        "front",
        "passport.jpg",
    )


def test_a_refused_file_shows_the_reason_on_the_upload_page_and_is_not_kept(s3_app):
    app, s3 = s3_app
    client = started(app)
    page = client.get("/en/application/documents/photo/add")
    path = check_path(post_to_bucket(page.text, b"MZ\x90\x00 not a photo at all", "face.jpg"))
    refused = client.get(path + "&name=face.jpg")
    assert refused.status_code == 200
    assert "face.jpg" in refused.text and "There is a problem" in refused.text
    assert "data-direct-upload" in refused.text, "a new form to try again"
    assert documents(app) == []
    assert keys(s3) == []


def test_a_file_over_the_portals_limit_is_refused_by_the_portal_in_its_language(s3_app):
    app, s3 = s3_app
    app.config["PORTAL"].DOCUMENT_MAX_BYTES = 1000
    client = started(app)
    page = client.get("/fr/application/documents/photo/add")
    path = check_path(post_to_bucket(page.text, photo_bytes((400, 300)) + b"\0" * 2000, "a.jpg"))
    refused = client.get(path)
    assert refused.status_code == 200
    assert 'lang="fr"' in refused.text and "Il y a un problème" in refused.text
    assert documents(app) == [] and keys(s3) == []


def tampered(token: str) -> str:
    return token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")


@pytest.mark.parametrize("case", ["forged", "missing", "expired", "no token", "another kind"])
def test_a_check_that_cannot_be_trusted_says_so_on_the_upload_page(s3_app, monkeypatch, case):
    app, s3 = s3_app
    client = started(app)
    page = client.get("/en/application/documents/photo/add")
    path = check_path(post_to_bucket(page.text, photo_bytes(), "face.jpg"))
    token = parse_qs(urlsplit(path).query)["token"][0]
    if case == "forged":
        path = f"/en/application/documents/photo/check?token={tampered(token)}"
    elif case == "missing":
        s3.delete_object(Bucket=BUCKET, Key=keys(s3, "incoming/")[0])
    elif case == "expired":
        later = time.time() + incoming.FORM_SECONDS + incoming.TICKET_GRACE_SECONDS + 60
        monkeypatch.setattr(incoming.time, "time", lambda: later)
    elif case == "no token":
        path = "/en/application/documents/photo/check"
    elif case == "another kind":
        path = path.replace("/photo/check", "/other/check")
    answer = client.get(path)
    assert answer.status_code == 200
    expected = (
        "The time to upload this file has run out"
        if case == "expired"
        else "We did not receive your file"
    )
    assert expected in answer.text
    assert documents(app) == []


def test_another_applicants_ticket_is_refused_and_their_file_left_alone(s3_app):
    app, s3 = s3_app
    theirs = started(app, "amina@example.org")
    page = theirs.get("/en/application/documents/photo/add")
    path = check_path(post_to_bucket(page.text, photo_bytes(), "face.jpg"))

    mine = started(app, "bilal@example.org")
    answer = mine.get(path)
    assert answer.status_code == 200 and "We did not receive your file" in answer.text
    assert documents(app) == []
    assert len(keys(s3, "incoming/")) == 1, "the other applicant can still complete theirs"
    assert theirs.get(path).status_code == 302
    assert len(documents(app)) == 1


def test_signed_out_the_check_asks_to_sign_in_and_keeps_nothing(s3_app):
    app, _s3 = s3_app
    client = started(app)
    page = client.get("/en/application/documents/photo/add")
    path = check_path(post_to_bucket(page.text, photo_bytes(), "face.jpg"))
    client.delete_cookie("session")
    stranger = app.test_client()
    answer = stranger.get(path)
    assert answer.status_code == 302 and "sign-in" in answer.headers["Location"]
    assert documents(app) == []
    sign_in(stranger, "amina@example.org")
    assert stranger.get(path).status_code == 302
    assert len(documents(app)) == 1


def test_with_local_storage_the_form_posts_to_the_portal_as_before(app):
    client = started(app)
    page = client.get("/en/application/documents/photo/add")
    assert "data-direct-upload" not in page.text
    assert 'name="csrf_token"' in page.text
    assert "form-action 'self';" in page.headers["Content-Security-Policy"]
    assert client.get("/en/application/documents/photo/check?token=x").status_code == 404


def test_a_support_worker_uploads_to_the_bucket_for_the_applicant_they_help(s3_app):
    """The same access check as the upload to the portal: the worker acting for the applicant
    completes the check, and the document is the applicant's, uploaded by the worker."""
    from tests.integration.test_support import start_helping, worker

    app, s3 = s3_app
    client = worker(app)
    start_helping(client)
    answer_eligibility(client)
    assert client.get("/en/application/start").headers["Location"] == "/en/application/tasks"
    fill_in(client, MAIN_APPLICANT_ALONE[:3])
    page = client.get("/en/application/documents/photo/add")
    path = check_path(post_to_bucket(page.text, photo_bytes(), "face.jpg"))
    assert client.get(path + "&name=face.jpg").status_code == 302
    (document,) = documents(app)
    with app.app_context():
        application = db.session.scalars(select(Application)).one()
        helper = db.session.scalar(select(User).where(User.email == "worker@example.org"))
    assert document.application_id == application.id
    assert (document.uploaded_by_id, document.uploaded_by_role) == (helper.id, "support")
    assert keys(s3, "incoming/") == []


def test_in_aws_the_form_posts_to_the_buckets_regional_name_with_the_documents_key(moto_server):  # noqa: F811
    """Signed locally, no request made: the regional name (a new bucket answers the global one
    with a 307 for hours, which the CSP would stop), and KMS with the documents key."""
    storage = S3Storage(
        bucket="eoi-documents",
        region="eu-west-2",
        sse="aws:kms",
        kms_key_id="arn:aws:kms:eu-west-2:111122223333:key/documents",
    )
    url, fields = storage.presigned_post(
        "incoming/x/y", redirect="https://portal.example/check", max_bytes=5, expires_in=3600
    )
    assert url == "https://eoi-documents.s3.eu-west-2.amazonaws.com/"
    conditions = json.loads(base64.b64decode(fields["policy"]))["conditions"]
    assert {"x-amz-server-side-encryption": "aws:kms"} in conditions
    assert {
        "x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:eu-west-2:111122223333:key/documents"
    } in conditions
    assert fields["x-amz-security-token"] == "testing", (
        "temporary credentials: the token is signed in"
    )


def test_a_replacement_sent_to_the_bucket_replaces_the_file_its_ticket_names(s3_app):
    app, s3 = s3_app
    client = started(app)
    page = client.get("/en/application/documents/photo/add")
    assert (
        client.get(check_path(post_to_bucket(page.text, photo_bytes(), "old.jpg"))).status_code
        == 302
    )
    (old,) = documents(app)

    page = client.get(f"/en/application/documents/photo/add?replace={old.id}")
    assert "This file will replace" in page.text
    path = check_path(post_to_bucket(page.text, photo_bytes(colour="orange"), "new.jpg"))
    assert client.get(path + "&name=new.jpg").status_code == 302
    (new,) = documents(app)
    assert new.id != old.id and new.original_name == "new.jpg"
    assert sorted(keys(s3)) == sorted([new.storage_key, new.thumbnail_key])
