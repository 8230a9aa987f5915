"""How fast the sender worker empties the messages outbox, against the client libraries alone
calling the same servers in the same run.

The outbox side is the real thing: a PostgreSQL database of its own (eoi_bench_messages, built by
the migrations, dropped at the end), N `Notification` rows written by `send_email` and `send_sms`
(the functions the app writes them with: half password-changed emails, half claim-code texts, in
French) in one committed transaction, and 1 then 4 worker processes of
`flask --app portal send-messages` delivering them, with `PORTAL_NOTIFY_BACKEND=notify` to the
loopback GOV.UK Notify server of the tests (tests/notify_server.py: JWT checked, bodies validated)
and with `aws` to a moto server (SES for email, SNS for SMS). The workers run the long-running
form, as infra/compose.yaml and the CloudFormation service run them in production: `--once` in a
loop would also pay a process start (imports, app, engine: about a second) per pass, which no
deployment pays. They are started before the rows exist and idle at `--interval 0.1`; the clock
starts at the commit that writes the rows and stops when the database shows every row `sent`;
each side runs twice (workers, baseline, baseline, workers) and the best of each is kept.
Afterwards the bench checks that each row was sent exactly once: the servers count what they
received by reference (Notify's `reference`, the email's X-Portal-Reference header; SNS carries
no reference, so each text goes to a number of its own), and there is one attempt per row.

The baseline, in the same run, against the same server (emptied before each side): the bare
`NotificationsAPIClient` or boto3 client making the same N calls with the same texts, in 1 and 4
processes started together (the MIME email is built before the clock starts). The ratio is
worker / baseline: what the outbox costs (claiming, rendering the stored message, recording each
attempt in its own commit) over the provider calls themselves.

    .venv/bin/python bench/messages_throughput.py        (PostgreSQL on 127.0.0.1:5432 needed)

One run on the 2-core development machine, shared with other sessions' tests (load average 13 to
19; figures move by a factor of two between runs, ratios less):

    provider  workers  worker msg/s  client msg/s  ratio
      notify        1            47           231   0.20
      notify        4           109           284   0.38
         aws        1            35            81   0.43
         aws        4            47           104   0.45
    Every row sent exactly once (counted at the server by reference), one attempt each.

The worker stays below the client on loopback because each outcome is one durable commit before
the next message goes (docs/performance.md: what was removed, and why that commit stays).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

from bench.common import drop_database, fresh_database  # noqa: E402
from portal import create_app, migrate  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import Notification, NotificationAttempt  # noqa: E402
from portal.notify import outgoing, send_email, send_sms  # noqa: E402
from portal.notify.providers.aws import mime_message  # noqa: E402
from tests.conftest import make_config  # noqa: E402
from tests.moto_server import REGION, fake_aws_environment, reset_moto  # noqa: E402
from tests.notify_server import API_KEY, EMAIL_TEMPLATE_ID, SMS_TEMPLATE_ID  # noqa: E402

DATABASE = "eoi_bench_messages"
MESSAGES = 400
WORKERS = (1, 4)
SENDER = "no-reply@eoi.example.org"
TIMEOUT = 300.0

# The servers run in processes of their own, so that they do not share the bench's GIL, and
# answer `count` (copies received, by reference, as JSON) on their standard input.
NOTIFY_PROCESS = """
import json, sys
from collections import Counter
from tests.notify_server import NotifyServer
server = NotifyServer()
print(server.port, flush=True)
for line in sys.stdin:
    if line.strip() == "count":
        print(json.dumps(Counter(n["reference"] for n in server.notifications)), flush=True)
    elif line.strip() == "reset":
        server.reset()
        print("ok", flush=True)
"""
MOTO_PROCESS = """
import email, json, sys
from collections import Counter
from moto.core import DEFAULT_ACCOUNT_ID
from moto.server import ThreadedMotoServer
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
for line in sys.stdin:
    if line.strip() == "count":
        copies = Counter()
        for sent in ses_backends[DEFAULT_ACCOUNT_ID][sys.argv[1]].sent_messages:
            copies[email.message_from_string(sent.raw_data)["X-Portal-Reference"]] += 1
        for number, _body in sns_backends[DEFAULT_ACCOUNT_ID][sys.argv[1]].sms_messages.values():
            copies["sms:" + number] += 1
        print(json.dumps(copies), flush=True)
"""


@dataclass
class Servers:
    notify: subprocess.Popen[str]
    moto: subprocess.Popen[str]
    notify_url: str
    moto_url: str

    def ask(self, provider: str, command: str) -> str:
        process = self.notify if provider == "notify" else self.moto
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(command + "\n")
        process.stdin.flush()
        return process.stdout.readline()

    def reset(self, provider: str) -> None:
        """Forget what was received (moto also slows as it keeps every message)."""
        if provider == "notify":
            self.ask("notify", "reset")
            return
        import boto3

        reset_moto(self.moto_url)
        boto3.client("ses", region_name=REGION, endpoint_url=self.moto_url).verify_email_identity(
            EmailAddress=SENDER
        )

    def copies(self, provider: str) -> Counter[str]:
        return Counter(json.loads(self.ask(provider, "count")))

    @staticmethod
    def expected(provider: str, sent: list[Sent]) -> Counter[str]:
        """One copy of each: Notify and SES keep our reference, SNS only the number."""
        return Counter(
            f"sms:{message.recipient}"
            if provider == "aws" and message.channel == "sms"
            else message.reference
            for message in sent
        )

    def stop(self) -> None:
        for process in (self.notify, self.moto):
            process.terminate()
            process.wait(10)


def start_servers() -> Servers:
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = []
    for script, arguments in ((NOTIFY_PROCESS, []), (MOTO_PROCESS, [REGION])):
        process = subprocess.Popen(
            [sys.executable, "-c", script, *arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # moto logs every request
            text=True,
            env=environment,
        )
        assert process.stdout is not None
        started.append((process, f"http://127.0.0.1:{process.stdout.readline().strip()}"))
    (notify, notify_url), (moto, moto_url) = started
    return Servers(notify, moto, notify_url, moto_url)


# --- The outbox and the workers -----------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """One message as the baseline sends it."""

    channel: str
    recipient: str
    subject: str
    body: str
    reference: str
    raw: bytes


def fill_outbox(app: Any, count: int, run: int) -> tuple[list[Sent], float]:
    """`count` rows written as the app writes them, committed together; what they will send,
    and the time of the commit (taken from the rows before it: after it, reading them again
    would take longer than the workers take to send them)."""
    with app.app_context():
        db.session.execute(text("TRUNCATE notification_attempts, notifications CASCADE"))
        db.session.commit()
        rows = []
        for n in range(count):
            if n % 2:
                number = f"+336{run:02d}{n:06d}"
                rows.append(send_sms(number, "claim_code", "fr", code=f"C{n:05d}", claim_url="u"))
            else:
                address = f"applicant{n}.{run}@example.org"
                rows.append(send_email(address, "password_changed", "fr", reset_url="http://x"))
        db.session.flush()
        sent = []
        for row in rows:
            message = outgoing(row)
            raw = mime_message(SENDER, message).as_bytes() if message.channel == "email" else b""
            sent.append(
                Sent(
                    message.channel,
                    message.recipient,
                    message.subject,
                    message.body,
                    message.reference,
                    raw,
                )
            )
        db.session.commit()
        return sent, time.perf_counter()


def worker_environment(url: str, folder: Path, provider: str, servers: Servers) -> dict[str, str]:
    from portal.keys import new_key_text
    from tests.servers import base_environment

    return {
        **base_environment(),
        **{name: os.environ[name] for name in os.environ if name.startswith("AWS_")},
        "DATABASE_URL": url,
        "PORTAL_SECRET_KEY": uuid.uuid4().hex * 2,
        "PORTAL_DOCUMENT_KEY": new_key_text(),
        "PORTAL_INSTANCE_PATH": str(folder / "instance"),
        "PORTAL_LOG_LEVEL": "WARNING",
        "PORTAL_NOTIFY_BACKEND": provider,
        "PORTAL_NOTIFY_API_KEY": API_KEY,
        "PORTAL_NOTIFY_BASE_URL": servers.notify_url,
        "PORTAL_NOTIFY_EMAIL_TEMPLATE_ID": EMAIL_TEMPLATE_ID,
        "PORTAL_NOTIFY_SMS_TEMPLATE_ID": SMS_TEMPLATE_ID,
        "PORTAL_MAIL_FROM": SENDER,
        "PORTAL_SES_REGION": REGION,
        "PORTAL_SES_ENDPOINT_URL": servers.moto_url,
        "PORTAL_SNS_REGION": REGION,
        "PORTAL_SNS_ENDPOINT_URL": servers.moto_url,
    }


def start_workers(count: int, environment: dict[str, str], folder: Path) -> list[Any]:
    """`count` long-running senders, returned once each has said it is running."""
    command = [sys.executable, "-m", "flask", "--app", "portal", "send-messages", "--interval"]
    workers = []
    for index in range(count):
        log = (folder / f"worker{index}.log").open("w")
        process = subprocess.Popen(
            [*command, "0.1"],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        workers.append((process, log))
    for process, _log in workers:
        assert process.stdout is not None
        line = process.stdout.readline()
        if "sender running" not in line:
            stop_workers(workers)
            raise RuntimeError(f"a worker did not start: {line!r}; see {folder}")
    return workers


def stop_workers(workers: list[Any]) -> None:
    for process, _log in workers:
        process.send_signal(signal.SIGTERM)
    for process, log in workers:
        process.wait(30)
        log.close()


def run_workers(
    app: Any, servers: Servers, provider: str, count: int, url: str, folder: Path, run: int
) -> tuple[float, list[Sent]]:
    """Messages per second of `count` workers emptying an outbox of MESSAGES rows, checked."""
    servers.reset(provider)
    workers = start_workers(count, worker_environment(url, folder, provider, servers), folder)
    try:
        sent, started = fill_outbox(app, MESSAGES, run)
        with app.app_context():
            query = select(func.count()).where(Notification.status == "sent")
            while (done := db.session.scalar(query)) < MESSAGES:
                db.session.rollback()
                if time.perf_counter() - started > TIMEOUT:
                    raise RuntimeError(f"{done} of {MESSAGES} sent after {TIMEOUT:.0f} s")
                time.sleep(0.05)
            elapsed = time.perf_counter() - started
            db.session.rollback()
    finally:
        stop_workers(workers)
    check_exactly_once(app, servers, provider, sent)
    return MESSAGES / elapsed, sent


def check_exactly_once(app: Any, servers: Servers, provider: str, sent: list[Sent]) -> None:
    copies = servers.copies(provider)
    expected = servers.expected(provider, sent)
    if copies != expected:
        twice = sum(1 for key, n in copies.items() if n > 1)
        missing = sum(1 for key in expected if key not in copies)
        raise AssertionError(f"{provider}: {twice} sent more than once, {missing} never sent")
    with app.app_context():
        attempts = db.session.scalar(select(func.count()).select_from(NotificationAttempt))
        statuses = Counter(db.session.scalars(select(Notification.status)))
    assert attempts == len(sent), f"{attempts} attempts recorded for {len(sent)} rows"
    assert statuses == {"sent": len(sent)}, statuses


# --- The baseline: the bare client libraries ----------------------------------------------------


def bare_sender(provider: str, endpoint: str, share: list[Sent], barrier: Any, done: Any) -> None:
    """One baseline process: its own client, then its share of the calls once all are ready;
    says when it is done (its exit, a second or so for this interpreter, is not counted)."""
    send_share(provider, endpoint, share, barrier)
    done.put(len(share))


def send_share(provider: str, endpoint: str, share: list[Sent], barrier: Any) -> None:
    if provider == "notify":
        from notifications_python_client import NotificationsAPIClient

        client = NotificationsAPIClient(API_KEY, base_url=endpoint)
        barrier.wait()
        for message in share:
            if message.channel == "email":
                client.send_email_notification(
                    message.recipient,
                    EMAIL_TEMPLATE_ID,
                    personalisation={"subject": message.subject, "body": message.body},
                    reference=message.reference,
                )
            else:
                client.send_sms_notification(
                    message.recipient, SMS_TEMPLATE_ID, {"body": message.body}, message.reference
                )
        return
    import boto3

    session = boto3.session.Session()
    ses = session.client("ses", region_name=REGION, endpoint_url=endpoint)
    sns = session.client("sns", region_name=REGION, endpoint_url=endpoint)
    attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
    barrier.wait()
    for message in share:
        if message.channel == "email":
            ses.send_raw_email(
                Source=SENDER, Destinations=[message.recipient], RawMessage={"Data": message.raw}
            )
        else:
            sns.publish(
                PhoneNumber=message.recipient, Message=message.body, MessageAttributes=attributes
            )


def run_baseline(servers: Servers, provider: str, count: int, sent: list[Sent]) -> float:
    """Messages per second of `count` processes making the same calls with the bare client."""
    servers.reset(provider)
    context = multiprocessing.get_context("spawn")
    barrier, done = context.Barrier(count + 1), context.Queue()
    endpoint = servers.notify_url if provider == "notify" else servers.moto_url
    processes = [
        context.Process(
            target=bare_sender, args=(provider, endpoint, sent[i::count], barrier, done)
        )
        for i in range(count)
    ]
    for process in processes:
        process.start()
    barrier.wait(timeout=TIMEOUT)
    started = time.perf_counter()
    for _process in processes:
        done.get(timeout=TIMEOUT)
    elapsed = time.perf_counter() - started
    for process in processes:
        process.join()
    assert all(process.exitcode == 0 for process in processes), "a baseline process failed"
    copies = servers.copies(provider)
    assert copies == servers.expected(provider, sent), "the baseline lost or repeated a message"
    return len(sent) / elapsed


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="eoi-messages-"))
    for name, value in fake_aws_environment(folder).items():
        os.environ[name] = value
    servers = start_servers()
    url = fresh_database(DATABASE)
    try:
        app = create_app(make_config(url, folder / "instance"))
        migrate.upgrade(app)
        print(f"The outbox emptied by `send-messages` (PostgreSQL, {MESSAGES} messages a run, half")
        print("email, half SMS; baseline: the bare client library making the same calls to the")
        print("same server in the same run, in as many processes; best of two runs each)")
        header = ("provider", "workers", "worker msg/s", "client msg/s", "ratio")
        print("{:>8} {:>8} {:>13} {:>13} {:>6}".format(*header))
        run = 0
        for provider in ("notify", "aws"):
            for count in WORKERS:
                # Workers, baseline, baseline, workers; the best of each: the machine is shared,
                # and neither side always runs first or last.
                first, sent = run_workers(app, servers, provider, count, url, folder, run + 1)
                bare = max(run_baseline(servers, provider, count, sent) for _ in range(2))
                second, _sent = run_workers(app, servers, provider, count, url, folder, run + 2)
                run += 2
                ours = max(first, second)
                print(f"{provider:>8} {count:>8} {ours:>13.0f} {bare:>13.0f} {ours / bare:>6.2f}")
        print("Every row sent exactly once (counted at the server by reference), one attempt each.")
        with app.app_context():
            db.engine.dispose()
    finally:
        servers.stop()
        drop_database(DATABASE)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
