"""A provider that accepted a message but whose answer never came, for providers that cannot be
asked by our reference (SES, SNS): the worker sends the message again, one copy per lost answer,
each try recorded, and says so on the message (portal/notify/worker.py explains why).

The fault is real: boto3 talks to a moto server through tests/answer_dropping_proxy.py, which
forwards the request (moto takes the message) and then resets the connection or holds the answer
past the client's read timeout."""

from __future__ import annotations

import email
from collections import Counter
from datetime import timedelta

import boto3
import pytest
from botocore.config import Config
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Notification, NotificationAttempt, utcnow
from portal.notify import send_email, send_sms
from portal.notify.providers import aws as aws_providers
from portal.notify.providers.aws import SesEmailBackend, SnsSmsBackend
from portal.notify.worker import send_all_due
from tests.answer_dropping_proxy import AnswerDroppingProxy, answer_dropping_proxy  # noqa: F401
from tests.moto_server import REGION, moto_server, reset_moto  # noqa: F401

SENDER = "no-reply@eoi.example.org"
MOBILE = "+33612345678"
EMAIL = b"Action=SendRawEmail"
SMS = b"Action=Publish"


@pytest.fixture
def proxy(app, moto_server, answer_dropping_proxy, monkeypatch):  # noqa: F811
    """SES and SNS through the proxy, with a read timeout short enough for a test."""
    reset_moto(moto_server)
    boto3.client("ses", region_name=REGION, endpoint_url=moto_server).verify_email_identity(
        EmailAddress=SENDER
    )
    short = aws_providers.CLIENT_CONFIG.merge(Config(read_timeout=1, connect_timeout=1))
    monkeypatch.setattr(aws_providers, "CLIENT_CONFIG", short)
    app.extensions["portal.notify"] = SesEmailBackend(
        SENDER, REGION, endpoint_url=answer_dropping_proxy.url
    )
    app.extensions["portal.sms"] = SnsSmsBackend(REGION, endpoint_url=answer_dropping_proxy.url)
    return answer_dropping_proxy


def received() -> Counter[str]:
    """What the providers hold: emails by their X-Portal-Reference, texts by number."""
    copies: Counter[str] = Counter()
    for sent in ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages:
        copies[email.message_from_string(sent.raw_data)["X-Portal-Reference"]] += 1
    for number, _body in sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages.values():
        copies[number] += 1
    return copies


def queue_presence_messages(app) -> str:
    """The messages an applicant must not miss: a link by email and a code by text."""
    with app.app_context():
        row = send_email("amina@example.org", "password_changed", "fr", reset_url="http://x/r")
        send_sms(MOBILE, "claim_code", "fr", code="ABCD", claim_url="http://x/claim")
        db.session.commit()
        return str(row.id)


def rows(app) -> dict[str, Notification]:
    with app.app_context():
        found = db.session.scalars(select(Notification)).all()
        db.session.expunge_all()
        return {row.channel: row for row in found}


def attempts(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(NotificationAttempt))


@pytest.mark.parametrize("hold", [0.0, 2.0], ids=["connection-reset", "read-timeout"])
def test_an_answer_lost_after_ses_and_sns_accepted_sends_one_more_copy_and_says_so(
    app, proxy: AnswerDroppingProxy, hold: float
):
    reference = queue_presence_messages(app)
    proxy.drop_answers(EMAIL, hold=hold)
    proxy.drop_answers(SMS, hold=hold)
    with app.app_context():
        assert send_all_due() == 2
    # The providers took both; boto3 did not send them again inside the try (each try is the
    # worker's, and recorded).
    assert received() == Counter({reference: 1, MOBILE: 1})
    assert proxy.dropped == 2
    first = rows(app)
    for row in first.values():
        assert row.status == "temporary-failure"
        assert "may have been accepted" in row.reason, row.reason
    with app.app_context():
        assert send_all_due(now=utcnow() + timedelta(hours=2)) == 2
    after = rows(app)
    assert {row.status for row in after.values()} == {"sent"}
    for row in after.values():
        assert row.attempts == 2 and "a second copy is possible" in row.reason, row.reason
    # The bounded duplicate: one more copy per lost answer, never more.
    assert received() == Counter({reference: 2, MOBILE: 2})
    assert attempts(app) == 4
    with app.app_context():
        assert send_all_due(now=utcnow() + timedelta(days=2)) == 0
    assert received() == Counter({reference: 2, MOBILE: 2})


def test_every_answer_lost_stops_at_the_bound_with_as_many_copies_as_tries(app, proxy):
    app.config["PORTAL"].SEND_MAX_ATTEMPTS = 3
    reference = queue_presence_messages(app)
    proxy.drop_answers(EMAIL, 10)
    proxy.drop_answers(SMS, 10)
    now = utcnow()
    with app.app_context():
        for _ in range(5):
            send_all_due(now=now)
            now += timedelta(hours=2)
    assert received() == Counter({reference: 3, MOBILE: 3}), "one copy per try, three tries"
    assert attempts(app) == 6
    for row in rows(app).values():
        assert row.status == "permanent-failure"
        assert row.reason.startswith("gave up after 3 tries")
        assert "may have been accepted" in row.reason


def test_an_unreachable_provider_is_tried_again_with_no_doubt_about_copies(app, proxy):
    queue_presence_messages(app)
    proxy.stop()  # nothing listens: the request never left
    with app.app_context():
        send_all_due()
    for row in rows(app).values():
        assert row.status == "temporary-failure"
        assert "may have been accepted" not in row.reason, row.reason
    assert received() == Counter()
