"""The real providers over real HTTP on loopback: GOV.UK Notify through its official client
against tests/notify_server.py, SES and SNS through boto3 against a moto server."""

from __future__ import annotations

import email
import email.policy
import io
import logging

import boto3
import pytest
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends
from notifications_python_client import NotificationsAPIClient, prepare_upload
from notifications_python_client.errors import HTTPError

from portal import create_app
from portal.notify import Attachment, OutgoingMessage
from portal.notify.backends import (
    LogBackend,
    NoSmsProvider,
    PermanentDeliveryError,
    SmtpBackend,
    TemporaryDeliveryError,
)
from portal.notify.providers.aws import SesEmailBackend, SnsSmsBackend
from portal.notify.providers.notify import GovukNotifyBackend
from tests.moto_server import REGION, closed_port_url, moto_server, reset_moto  # noqa: F401
from tests.notify_server import (
    API_KEY,
    EMAIL_TEMPLATE_ID,
    SERVICE_ID,
    SMS_TEMPLATE_ID,
    NotifyServer,
    notify_server,  # noqa: F401
)

ACCOUNT = "123456789012"
SENDER = "no-reply@eoi.example.org"
FRENCH_MOBILE = "+33612345678"
ICS = Attachment("appointment.ics", "text/calendar", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")


def email_message(reference: str = "row-1", **overrides: object) -> OutgoingMessage:
    fields = {
        "channel": "email",
        "recipient": "amina@example.org",
        "template": "appointment_booked",
        "locale": "fr",
        "subject": "Votre rendez-vous est réservé",
        "body": "Quand : lundi 3 mars, 10:00\n",
        "attachments": (ICS,),
        "reference": reference,
    }
    fields.update(overrides)
    return OutgoingMessage(**fields)  # type: ignore[arg-type]


def sms_message(recipient: str = FRENCH_MOBILE, reference: str = "row-2") -> OutgoingMessage:
    return OutgoingMessage(
        "sms",
        recipient,
        "application_submitted",
        "fr",
        "",
        "Demande reçue : AB12-CD34",
        (),
        reference,
    )


def notify_backend(server: NotifyServer, timeout: float = 5.0) -> GovukNotifyBackend:
    return GovukNotifyBackend(API_KEY, EMAIL_TEMPLATE_ID, SMS_TEMPLATE_ID, server.url, timeout)


# --------------------------------------------------------------------------- GOV.UK Notify


@pytest.fixture
def notify(notify_server):  # noqa: F811
    return notify_server


def test_notify_email_goes_through_the_generic_template_with_our_reference(notify):
    provider_id = notify_backend(notify).deliver(email_message("outbox-41"))
    [sent] = notify.notifications
    assert sent["id"] == provider_id
    assert sent["reference"] == "outbox-41"
    assert sent["template"]["id"] == EMAIL_TEMPLATE_ID
    assert sent["subject"] == "Votre rendez-vous est réservé"
    assert sent["body"] == "Quand : lundi 3 mars, 10:00\n"


def test_notify_email_sends_no_calendar_file_because_notify_would_refuse_it(notify):
    notify_backend(notify).deliver(email_message())
    [sent] = notify.notifications
    assert set(sent["personalisation"]) == {"subject", "body"}
    # What sending the .ics by link would get: document download does not take text/calendar.
    client = NotificationsAPIClient(API_KEY, base_url=notify.url)
    upload = prepare_upload(io.BytesIO(ICS.data), filename="appointment.ics")
    with pytest.raises(HTTPError) as refused:
        client.send_email_notification(
            "amina@example.org",
            EMAIL_TEMPLATE_ID,
            personalisation={"subject": "s", "body": "b", "file": upload},
        )
    assert refused.value.status_code == 400
    assert "Unsupported file type" in str(refused.value.message)


def test_notify_sms_reaches_a_french_mobile(notify):
    provider_id = notify_backend(notify).deliver(sms_message(FRENCH_MOBILE, "outbox-7"))
    [sent] = notify.notifications
    assert (sent["id"], sent["phone_number"], sent["reference"]) == (
        provider_id,
        FRENCH_MOBILE,
        "outbox-7",
    )
    assert sent["body"] == "Demande reçue : AB12-CD34"


def test_notify_without_international_permission_is_a_permanent_failure(notify):
    notify.state.international_sms = False
    with pytest.raises(PermanentDeliveryError, match="international"):
        notify_backend(notify).deliver(sms_message())


@pytest.mark.parametrize(
    "message",
    [
        sms_message("+33 6 00 00 00 00"),
        sms_message("not a number"),
        email_message(recipient="amina.example.org"),
    ],
)
def test_notify_refusing_a_recipient_is_a_permanent_failure(notify, message):
    notify.state.invalid_numbers.add("+33600000000")
    with pytest.raises(PermanentDeliveryError) as failure:
        notify_backend(notify).deliver(message)
    assert failure.value.reason.startswith("notify 400")
    assert message.recipient not in failure.value.reason
    assert notify.notifications == []


def test_a_wrong_notify_key_is_permanent_and_logged_loudly(notify, caplog):
    wrong = f"portal_test-{SERVICE_ID}-{'0' * 8}-0000-0000-0000-{'0' * 12}"
    backend = GovukNotifyBackend(wrong, EMAIL_TEMPLATE_ID, SMS_TEMPLATE_ID, notify.url)
    with caplog.at_level(logging.ERROR), pytest.raises(PermanentDeliveryError, match="403"):
        backend.deliver(email_message())
    assert any("API key" in record.getMessage() for record in caplog.records)


def test_notify_throttling_is_temporary_and_certainly_not_sent(notify):
    notify.fail_next(429)
    with pytest.raises(TemporaryDeliveryError) as failure:
        notify_backend(notify).deliver(email_message())
    assert "RateLimitError" in failure.value.reason
    assert failure.value.ambiguous is False


@pytest.mark.parametrize("status", [500, 503])
def test_a_notify_server_error_is_temporary_and_ambiguous(notify, status):
    notify.fail_next(status)
    with pytest.raises(TemporaryDeliveryError) as failure:
        notify_backend(notify).deliver(email_message())
    assert failure.value.ambiguous is True


def test_notify_down_is_temporary_and_known_not_sent(notify):
    notify.stop()
    with pytest.raises(TemporaryDeliveryError) as failure:
        notify_backend(notify).deliver(sms_message())
    assert failure.value.ambiguous is False


def test_a_timeout_after_notify_accepted_is_ambiguous_and_find_gets_the_message(notify):
    notify.slow_after_accept(3)
    backend = notify_backend(notify, timeout=0.5)
    with pytest.raises(TemporaryDeliveryError) as failure:
        backend.deliver(sms_message(reference="outbox-99"))
    assert failure.value.ambiguous is True
    notify.slow_after_accept(0)
    [accepted] = notify.notifications
    assert backend.find("outbox-99") == accepted["id"]
    assert backend.find("outbox-never-sent") is None


def test_find_while_notify_is_down_refuses_to_answer_none(notify):
    backend = notify_backend(notify)
    notify.stop()
    with pytest.raises(TemporaryDeliveryError) as failure:
        backend.find("outbox-1")
    assert failure.value.ambiguous is True


def test_notify_status_of_a_message_maps_to_the_outbox_statuses(notify):
    backend = notify_backend(notify)
    provider_id = backend.deliver(sms_message())
    assert backend.status(provider_id) == "sending"
    notify.set_status(provider_id, "sent")  # international: no receipt from the network
    assert backend.status(provider_id) == "sent"
    notify.set_status(provider_id, "technical-failure")
    assert backend.status(provider_id) == "temporary-failure"


def test_the_notify_server_checks_the_token_as_notify_does(notify):
    import time

    import jwt
    import requests

    stale = jwt.encode(
        {"iss": SERVICE_ID, "iat": int(time.time()) - 60}, API_KEY[-36:], algorithm="HS256"
    )
    answer = requests.get(
        f"{notify.url}/v2/notifications",
        headers={"Authorization": f"Bearer {stale}"},
        timeout=5,
    )
    assert answer.status_code == 403
    assert answer.json() == {
        "status_code": 403,
        "errors": [
            {
                "error": "AuthError",
                "message": "Error: Your system clock must be accurate to within 30 seconds",
            }
        ],
    }
    missing = requests.get(f"{notify.url}/v2/notifications", timeout=5)
    assert missing.status_code == 401


# --------------------------------------------------------------------------- SES and SNS


@pytest.fixture
def aws(moto_server):  # noqa: F811
    reset_moto(moto_server)
    ses = boto3.client("ses", region_name=REGION, endpoint_url=moto_server)
    ses.verify_email_identity(EmailAddress=SENDER)
    return moto_server


def test_ses_sends_the_email_with_the_calendar_file_attached(aws):
    backend = SesEmailBackend(SENDER, REGION, endpoint_url=aws)
    message_id = backend.deliver(email_message("outbox-5"))
    [sent] = ses_backends[ACCOUNT][REGION].sent_messages
    assert sent.id == message_id
    assert set(sent.destinations) == {"amina@example.org"}
    parsed = email.message_from_string(sent.raw_data, policy=email.policy.default)
    assert parsed["Subject"] == "Votre rendez-vous est réservé"
    assert parsed["Content-Language"] == "fr"
    assert parsed["X-Portal-Reference"] == "outbox-5"
    [calendar] = [part for part in parsed.walk() if part.get_content_type() == "text/calendar"]
    assert calendar.get_filename() == "appointment.ics"
    assert calendar.get_payload(decode=True) == ICS.data


def test_ses_refusing_the_sender_is_a_permanent_failure(aws):
    backend = SesEmailBackend("unverified@eoi.example.org", REGION, endpoint_url=aws)
    with pytest.raises(PermanentDeliveryError, match="MessageRejected"):
        backend.deliver(email_message())


def test_ses_unreachable_is_temporary_and_known_not_sent(aws):
    backend = SesEmailBackend(SENDER, REGION, endpoint_url=closed_port_url())
    with pytest.raises(TemporaryDeliveryError) as failure:
        backend.deliver(email_message())
    assert failure.value.ambiguous is False
    assert SesEmailBackend(SENDER, REGION).find("outbox-5") is None


def test_sns_sends_a_transactional_text_to_a_french_mobile(aws):
    backend = SnsSmsBackend(REGION, endpoint_url=aws)
    message_id = backend.deliver(sms_message())
    assert sns_backends[ACCOUNT][REGION].sms_messages[message_id] == (
        FRENCH_MOBILE,
        "Demande reçue : AB12-CD34",
    )


def test_sns_refusing_a_number_is_a_permanent_failure(aws):
    with pytest.raises(PermanentDeliveryError, match="InvalidParameter"):
        SnsSmsBackend(REGION, endpoint_url=aws).deliver(sms_message("06 12 34 56 78"))


def test_a_backend_refuses_the_channel_it_cannot_send(aws, notify):
    with pytest.raises(PermanentDeliveryError):
        SnsSmsBackend(REGION, endpoint_url=aws).deliver(email_message())
    with pytest.raises(PermanentDeliveryError):
        SesEmailBackend(SENDER, REGION, endpoint_url=aws).deliver(sms_message())


# --------------------------------------------------------------------------- the choice


@pytest.mark.parametrize(
    ("email_setting", "sms_setting", "email_kind", "sms_kind"),
    [
        ("log", "", LogBackend, LogBackend),
        ("smtp", "", SmtpBackend, NoSmsProvider),
        ("smtp", "aws", SmtpBackend, SnsSmsBackend),
        ("notify", "", GovukNotifyBackend, GovukNotifyBackend),
        ("aws", "", SesEmailBackend, SnsSmsBackend),
        ("aws", "notify", SesEmailBackend, GovukNotifyBackend),
    ],
)
def test_settings_choose_the_backends(config, email_setting, sms_setting, email_kind, sms_kind):
    config.NOTIFY_BACKEND, config.SMS_BACKEND = email_setting, sms_setting
    config.NOTIFY_API_KEY = API_KEY
    config.NOTIFY_EMAIL_TEMPLATE_ID, config.NOTIFY_SMS_TEMPLATE_ID = (
        EMAIL_TEMPLATE_ID,
        SMS_TEMPLATE_ID,
    )
    app = create_app(config)
    assert type(app.extensions["portal.notify"]) is email_kind
    assert type(app.extensions["portal.sms"]) is sms_kind


def test_the_reference_field_is_what_the_client_library_sends(notify):
    notify_backend(notify).deliver(email_message("outbox-3"))
    [(method, path, body)] = notify.state.requests
    assert (method, path) == ("POST", "/v2/notifications/email")
    assert body is not None and body["reference"] == "outbox-3"
