"""One applicant, two gunicorn servers, every request to the other one: the portal keeps nothing
that matters in a process or on its disk.

Why: production runs several containers behind a load balancer with no stickiness, so each
request of a journey may land anywhere. The Flask test client runs one app in one process, where
state kept in memory (a confirmation link, an upload, a CSRF secret, a rate-limit counter) or in
instance/ would go unnoticed. Here two servers with the same settings (read from the environment
as in the container) but separate instance folders share only PostgreSQL, S3 and SQS (a moto
server on loopback) and Redis (rate limits); the journey must still go through, and its files and
its queue message must end up where the other services of the scheme read them.

PostgreSQL only: the servers are separate processes that need a database server.
"""

from __future__ import annotations

import json
import re
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import redis
import requests
from sqlalchemy import select

from portal import create_app
from portal.extensions import db
from portal.keys import new_key_text
from portal.models import Application, Document, QueueItem, Status, User
from portal.queue.backends import checking_queue
from portal.queue.relay import relay_once
from tests.apply_helpers import (
    ELIGIBLE,
    MAIN_APPLICANT_ALONE,
    open_a_window,
    pdf_bytes,
    photo_bytes,
)
from tests.conftest import POSTGRES_URL, redis_test_url
from tests.helpers import PASSWORD, csrf_token
from tests.moto_server import REGION, fake_aws_environment, moto_server, reset_moto  # noqa: F401
from tests.servers import Server, start_gunicorn

pytestmark = [
    pytest.mark.skipif(not POSTGRES_URL, reason="two servers need a database server"),
    pytest.mark.timeout(300),
]

BUCKET = "eoi-documents-two-servers"
RATELIMIT_REDIS = redis_test_url()
TIMEOUT = 60


@pytest.fixture
def aws(moto_server, tmp_path) -> dict[str, str]:  # noqa: F811
    """A bucket and the three queues on a clean moto server; returns the settings naming them."""
    reset_moto(moto_server)
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=moto_server)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=moto_server)
    urls = {
        name: sqs.create_queue(QueueName=name)["QueueUrl"]
        for name in ("checking", "checking-priority", "checking-dead-letters")
    }
    return {
        "PORTAL_DOCUMENT_STORAGE": "s3",
        "PORTAL_S3_BUCKET": BUCKET,
        "PORTAL_S3_REGION": REGION,
        "PORTAL_S3_ENDPOINT_URL": moto_server,
        "PORTAL_S3_SSE": "AES256",
        "PORTAL_QUEUE": "sqs",
        "PORTAL_SQS_QUEUE_URL": urls["checking"],
        "PORTAL_SQS_PRIORITY_QUEUE_URL": urls["checking-priority"],
        "PORTAL_SQS_DEAD_LETTER_QUEUE_URL": urls["checking-dead-letters"],
        "PORTAL_SQS_REGION": REGION,
        "PORTAL_SQS_ENDPOINT_URL": moto_server,
        **fake_aws_environment(tmp_path / "aws-home"),
    }


@pytest.fixture
def servers(database_url, aws, tmp_path) -> Iterator[list[Server]]:
    """Two servers with the same settings but each its own instance folder. Their logs are
    printed at teardown, which pytest shows when the test failed."""
    try:
        redis.Redis.from_url(RATELIMIT_REDIS, socket_timeout=5).flushdb()
    except redis.RedisError as error:
        pytest.fail(f"Redis is needed for the shared rate limits: {error}")
    shared = {
        "DATABASE_URL": database_url,
        "PORTAL_SECRET_KEY": secrets.token_urlsafe(48),
        "PORTAL_DOCUMENT_KEY": new_key_text(),
        "PORTAL_RATELIMIT_STORAGE_URL": RATELIMIT_REDIS,
        "PORTAL_NOTIFY_BACKEND": "log",
        "PORTAL_LOG_LEVEL": "INFO",
        **aws,
    }
    started: list[Server] = []
    try:
        for name in ("server-a", "server-b"):
            environment = {**shared, "PORTAL_INSTANCE_PATH": str(tmp_path / name / "instance")}
            started.append(
                start_gunicorn(
                    name,
                    "portal:create_app()",
                    environment,
                    tmp_path / name,
                    workers=1,
                    threads=2,
                    ready_path="/readyz",
                    timeout=TIMEOUT,
                )
            )
        yield started
    finally:
        for server in started:
            server.stop()
        for server in started:
            print(f"\n===== {server.name} ({server.url}), last lines =====\n{server.tail(60)}")


@pytest.fixture
def local_app(config, aws):
    """The portal in this process, on the same database, S3 and SQS, to check and to relay."""
    config.DOCUMENT_STORAGE = "s3"
    config.S3_BUCKET = BUCKET
    config.S3_ENDPOINT_URL = aws["PORTAL_S3_ENDPOINT_URL"]
    config.S3_SSE = "AES256"
    config.QUEUE = "sqs"
    config.SQS_QUEUE_URL = aws["PORTAL_SQS_QUEUE_URL"]
    config.SQS_PRIORITY_QUEUE_URL = aws["PORTAL_SQS_PRIORITY_QUEUE_URL"]
    config.SQS_DEAD_LETTER_QUEUE_URL = aws["PORTAL_SQS_DEAD_LETTER_QUEUE_URL"]
    config.SQS_ENDPOINT_URL = aws["PORTAL_SQS_ENDPOINT_URL"]
    application = create_app(config)
    yield application
    with application.app_context():
        db.engine.dispose()


class Browser:
    """One person's browser (one cookie jar) whose every request goes to the next server."""

    def __init__(self, servers: list[Server]) -> None:
        self.session = requests.Session()
        self.servers = servers
        self.turn = 0
        self.last_server = servers[0]
        self.served = Counter[str]()

    def request(self, method: str, path: str, **kwargs: object) -> requests.Response:
        server = self.servers[self.turn % len(self.servers)]
        self.turn += 1
        self.last_server = server
        self.served[server.name] += 1
        return self.session.request(
            method, server.url + path, allow_redirects=False, timeout=TIMEOUT, **kwargs
        )

    def get(self, path: str) -> requests.Response:
        response = self.request("GET", path)
        assert response.status_code == 200, (path, response.status_code, response.text[-2000:])
        return response

    def submit(
        self, path: str, data: dict[str, object], files: dict[str, object] | None = None
    ) -> requests.Response:
        """GET the form from one server, POST it with its CSRF token to the other."""
        page = self.get(path)
        return self.request(
            "POST", path, data={**data, "csrf_token": csrf_token(page.text)}, files=files
        )


def redirected_to(response: requests.Response, path: str) -> None:
    assert response.status_code in (302, 303), (response.status_code, response.text[-2000:])
    assert response.headers["Location"].endswith(path), response.headers["Location"]


def confirmation_path(servers: list[Server], email: str) -> str:
    """The link in the confirmation email, as the log backend wrote it. The email leaves through
    the messages outbox: whichever server's development sender claims it writes it, within a few
    of the sender's one-second passes (a bounded wait, not a timing assertion)."""
    for _ in range(100):
        for server in servers:
            for record in reversed(server.records()):
                # Addresses are redacted in every log line (portal.logs): this run's only
                # confirmation email is the one sent to it.
                if (
                    record.get("message") == "notification (log backend)"
                    and record.get("template") == "confirm_email"
                ):
                    match = re.search(
                        r"(/en/confirm-email/[A-Za-z0-9_.~-]+)", record.get("body", "")
                    )
                    assert match, record
                    return match.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no server logged a confirmation email to {email}")


def bucket_keys(endpoint: str) -> set[str]:
    client = boto3.client("s3", region_name=REGION, endpoint_url=endpoint)
    return {item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


def files_in(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def test_a_journey_alternating_between_two_servers(servers, local_app, aws, tmp_path):
    open_a_window(local_app)
    browser = Browser(servers)
    email = f"two-servers-{uuid.uuid4().hex[:8]}@example.org"

    # Register on one server, read the link from that server's log, confirm on the other.
    response = browser.submit(
        "/en/create-account",
        {"email": email, "password": PASSWORD, "password_confirm": PASSWORD},
    )
    redirected_to(response, "/en/create-account/check-your-email")
    link = confirmation_path(servers, email)
    redirected_to(browser.submit(link, {}), "/en/sign-in")

    for name, answer in ELIGIBLE.items():
        response = browser.submit(f"/en/eligibility/{name}", {"answer": answer})
        assert response.status_code == 302, (name, response.text[-2000:])
    response = browser.submit("/en/sign-in", {"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.text[-2000:]
    redirected_to(browser.request("GET", "/en/application/start"), "/en/application/tasks")
    browser.get("/en/application/tasks")

    for name, data in MAIN_APPLICANT_ALONE:
        response = browser.submit(f"/en/application/questions/{name}", data)
        assert response.status_code == 302, (name, response.text[-3000:])

    uploads = [
        ("identity", {"part": "data_page"}, "passport.jpg", photo_bytes(), "image/jpeg"),
        ("photo", {}, "face.jpg", photo_bytes(colour="orange"), "image/jpeg"),
    ]
    if 'id="kind-relationship"' in browser.get("/en/application/documents").text:
        uploads.append(("relationship", {}, "certificate.pdf", pdf_bytes(), "application/pdf"))
    for kind, data, name, content, content_type in uploads:
        response = browser.submit(
            f"/en/application/documents/{kind}/add",
            data,
            files={"file": (name, content, content_type)},
        )
        redirected_to(response, "/en/application/documents")

    page = browser.get("/en/application/check-your-answers")
    key = re.search(r'name="submission_key" value="([^"]+)"', page.text)
    assert key, page.text[-2000:]
    response = browser.request(
        "POST",
        "/en/application/check-your-answers",
        data={"csrf_token": csrf_token(page.text), "submission_key": key.group(1)},
    )
    redirected_to(response, "/en/application/sent")
    status = browser.get("/en/application/status")

    # Both servers answered about half of the requests each.
    assert min(browser.served.values()) >= browser.turn // 2, browser.served
    for server in servers:
        answered = [r for r in server.records() if r.get("logger") == "portal.access"]
        assert len(answered) >= browser.served[server.name] - 1, server.name

    # The application is sent, in the shared database.
    with local_app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        application = db.session.scalar(
            select(Application).where(Application.applicant_id == user.id)
        )
        assert application.status == Status.SUBMITTED.value and application.reference
        assert application.reference in status.text
        documents = db.session.scalars(
            select(Document).where(Document.application_id == application.id)
        ).all()
        reference = application.reference
    assert {d.kind for d in documents} == {kind for kind, *_ in uploads}

    # Its files are in the bucket, and on neither server's disk.
    stored = bucket_keys(aws["PORTAL_S3_ENDPOINT_URL"])
    for document in documents:
        assert document.storage_key in stored, (document.storage_key, stored)
        if document.thumbnail_key:
            assert document.thumbnail_key in stored
    for server in servers:
        instance = tmp_path / server.name / "instance"
        assert files_in(instance) == [], (server.name, files_in(instance))

    # The relay (run here, as its own process would) publishes the queue message to SQS.
    with local_app.app_context():
        assert relay_once(checking_queue()) == 1
        [item] = db.session.scalars(
            select(QueueItem).where(QueueItem.application_id == application.id)
        )
        assert item.relayed_at is not None
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=aws["PORTAL_SQS_ENDPOINT_URL"])
    bodies = []
    for url in (aws["PORTAL_SQS_PRIORITY_QUEUE_URL"], aws["PORTAL_SQS_QUEUE_URL"]):
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        bodies.extend(json.loads(message["Body"]) for message in answer.get("Messages", []))
    assert [body["reference"] for body in bodies] == [reference]
    assert len(bodies[0]["documents"]) == len(documents)
