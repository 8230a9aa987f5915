"""How fast the message backends hand messages to the providers, against the client libraries
alone calling the same servers in the same run.

GOV.UK Notify: the loopback Notify server of the tests (JWT checked, bodies validated). SES and
SNS: a moto server on loopback. For each, 1 and 4 threads (each with its own client, as the
sender worker will run) deliver N messages through our backend, then the same threads make the
same calls with the bare NotificationsAPIClient or boto3 client: the ratio is what our backend
adds (rendering the MIME message, error mapping, per-thread clients).

The servers run in processes of their own. The backends are driven directly here; once the outbox worker exists, drive `send-messages`
instead and keep the bare-client baseline.

    .venv/bin/python bench/messages_throughput.py

One run on the development machine (400 messages; ratios move by about +-0.3 between runs, the
loopback servers being the bottleneck): Notify email 1.05 (1 thread) and 1.34 (4), Notify SMS
0.82 and 1.01, SES email 1.22 and 1.04, SNS SMS 1.04 and 0.69. Our backends cost about what the
client libraries cost.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import boto3
from notifications_python_client import NotificationsAPIClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal.notify.backends import Attachment, OutgoingMessage  # noqa: E402
from portal.notify.providers.aws import SesEmailBackend, SnsSmsBackend, mime_message  # noqa: E402
from portal.notify.providers.notify import GovukNotifyBackend  # noqa: E402
from tests.moto_server import REGION, fake_aws_environment  # noqa: E402
from tests.notify_server import (  # noqa: E402
    API_KEY,
    EMAIL_TEMPLATE_ID,
    SMS_TEMPLATE_ID,
)
from tests.servers import free_port  # noqa: E402

MESSAGES = 400
SENDER = "no-reply@eoi.example.org"
ICS = Attachment("appointment.ics", "text/calendar", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n" * 20)


def email(n: int) -> OutgoingMessage:
    return OutgoingMessage(
        "email",
        f"applicant{n}@example.org",
        "appointment_booked",
        "fr",
        "Votre rendez-vous est réservé",
        "Quand : lundi 3 mars, 10:00\nOù : Paris\n" * 5,
        (ICS,),
        f"outbox-{n}",
    )


def sms(n: int) -> OutgoingMessage:
    return OutgoingMessage(
        "sms", f"+3361234{n:04d}", "application_submitted", "fr", "", "Demande reçue", (), f"o-{n}"
    )


def timed(threads: int, work: Callable[[int, int], None]) -> float:
    """Messages per second of `threads` threads sharing MESSAGES, started together."""
    share = MESSAGES // threads
    barrier = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def body(index: int) -> None:
        try:
            barrier.wait()
            for n in range(index * share, (index + 1) * share):
                work(index, n)
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=body, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in pool:
        thread.join()
    if errors:
        raise errors[0]
    return share * threads / (time.perf_counter() - started)


def compare(
    threads: int, ours: Callable[[int, int], None], bare: Callable[[int, int], None]
) -> tuple[float, float]:
    """Ours and the baseline in turn, twice, best of each: the first calls open connections, and
    moto slows a little as it keeps every message, so neither side always runs first or last."""
    first_ours, first_bare = timed(threads, ours), timed(threads, bare)
    second_bare, second_ours = timed(threads, bare), timed(threads, ours)
    return max(first_ours, second_ours), max(first_bare, second_bare)


def bench_notify(url: str, threads: int) -> list[tuple[str, float, float]]:
    backend = GovukNotifyBackend(API_KEY, EMAIL_TEMPLATE_ID, SMS_TEMPLATE_ID, url)
    clients = [NotificationsAPIClient(API_KEY, base_url=url) for _ in range(threads)]

    def bare_email(index: int, n: int) -> None:
        message = email(n)
        clients[index].send_email_notification(
            message.recipient,
            EMAIL_TEMPLATE_ID,
            personalisation={"subject": message.subject, "body": message.body},
            reference=message.reference,
        )

    def bare_sms(index: int, n: int) -> None:
        message = sms(n)
        clients[index].send_sms_notification(
            message.recipient, SMS_TEMPLATE_ID, {"body": message.body}, message.reference
        )

    return [
        ("notify email", *compare(threads, lambda _i, n: backend.deliver(email(n)), bare_email)),
        ("notify sms", *compare(threads, lambda _i, n: backend.deliver(sms(n)), bare_sms)),
    ]


def bench_aws(endpoint: str, threads: int) -> list[tuple[str, float, float]]:
    ses_backend = SesEmailBackend(SENDER, REGION, endpoint_url=endpoint)
    sns_backend = SnsSmsBackend(REGION, endpoint_url=endpoint)
    session = boto3.session.Session
    ses = [
        session().client("ses", region_name=REGION, endpoint_url=endpoint) for _ in range(threads)
    ]
    sns = [
        session().client("sns", region_name=REGION, endpoint_url=endpoint) for _ in range(threads)
    ]
    attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}

    def bare_email(index: int, n: int) -> None:
        message = email(n)
        ses[index].send_raw_email(
            Source=SENDER,
            Destinations=[message.recipient],
            RawMessage={"Data": mime_message(SENDER, message).as_bytes()},
        )

    def bare_sms(index: int, n: int) -> None:
        message = sms(n)
        sns[index].publish(
            PhoneNumber=message.recipient, Message=message.body, MessageAttributes=attributes
        )

    return [
        ("ses email", *compare(threads, lambda _i, n: ses_backend.deliver(email(n)), bare_email)),
        ("sns sms", *compare(threads, lambda _i, n: sns_backend.deliver(sms(n)), bare_sms)),
    ]


# The servers run in processes of their own, so that they do not share this one's GIL with the
# threads being measured.
NOTIFY_PROCESS = """
import sys, time
from tests.notify_server import NotifyServer
server = NotifyServer()
print(server.port, flush=True)
sys.stdin.read()
"""


def start_servers() -> tuple[subprocess.Popen[str], subprocess.Popen[bytes], str, str]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    notify = subprocess.Popen(
        [sys.executable, "-c", NOTIFY_PROCESS],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=environment,
    )
    assert notify.stdout is not None
    notify_url = f"http://127.0.0.1:{notify.stdout.readline().strip()}"
    port = free_port()
    moto = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=environment,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _attempt in range(100):
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()  # noqa: S310 - loopback http
            break
        except OSError:
            time.sleep(0.1)
    return notify, moto, notify_url, endpoint


def main() -> None:
    for name, value in fake_aws_environment(Path(tempfile.mkdtemp())).items():
        os.environ[name] = value
    notify, moto, notify_url, endpoint = start_servers()
    boto3.client("ses", region_name=REGION, endpoint_url=endpoint).verify_email_identity(
        EmailAddress=SENDER
    )
    try:
        print(f"Messages handed to providers on loopback ({MESSAGES} per run; baseline: the bare")
        print("client library making the same calls to the same server in the same run)")
        print(f"{'provider':>14} {'threads':>8} {'messages/s':>11} {'baseline/s':>11} {'ratio':>6}")
        for threads in (1, 4):
            rows = bench_notify(notify_url, threads) + bench_aws(endpoint, threads)
            for name, ours, bare in rows:
                print(f"{name:>14} {threads:>8} {ours:>11.0f} {bare:>11.0f} {ours / bare:>6.2f}")
    finally:
        notify.terminate()
        moto.terminate()
        notify.wait()
        moto.wait()


if __name__ == "__main__":
    main()
