"""How fast caseworkers can claim from the database queue, and how fast the relay feeds SQS.

Claims: 1, 4 and 8 threads claim 2,000 items on PostgreSQL (FOR UPDATE SKIP LOCKED). The baseline,
measured in the same run with the same threads and connections, is a transaction that only reads
one row by its key and commits: the ratio says what a claim costs beyond a database round trip.

Relay: 500 outbox rows published to SQS on a local moto server, against the baseline of the
same messages sent straight with boto3 in batches of ten (no database), each into a queue of its
own (moto slows down as a queue fills): the ratio is the relay's own cost.

    .venv/bin/python bench/queue_throughput.py        (PostgreSQL on 127.0.0.1:5432 needed)
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import boto3
from sqlalchemy import select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from moto.server import ThreadedMotoServer  # noqa: E402

from bench.common import drop_database, fresh_database, run_threads  # noqa: E402
from portal import create_app, migrate  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import QueueItem, Role  # noqa: E402
from portal.queue.backends import DatabaseQueue, SqsQueue  # noqa: E402
from portal.queue.relay import relay_once  # noqa: E402
from tests.conftest import make_config  # noqa: E402
from tests.helpers import make_user  # noqa: E402
from tests.moto_server import REGION, fake_aws_environment  # noqa: E402
from tests.queue_helpers import queued_applications  # noqa: E402

DATABASE = "eoi_bench"
ITEMS = 2000
RELAYED = 500


def bench_claims(app) -> list[tuple[int, float, float]]:
    rows = []
    queue = DatabaseQueue(timedelta(minutes=30), max_receives=5)
    for count in (1, 4, 8):
        with app.app_context():
            db.session.execute(text("TRUNCATE queue_items, applications, users CASCADE"))
            db.session.commit()
        worker_ids = [
            make_user(app, f"cw{n}-{count}@example.org", Role.CASEWORKER).id for n in range(count)
        ]
        ids = queued_applications(app, ITEMS, priority_of=lambda i: i % 3)
        claimed = [0] * count

        def claim(index: int, worker_ids=worker_ids, claimed=claimed) -> None:
            while queue.claim(worker_ids[index]) is not None:
                claimed[index] += 1

        claims_time = run_threads(app, count, claim)
        assert sum(claimed) == ITEMS, sum(claimed)
        share = ITEMS // count

        def baseline(index: int, ids=ids, share=share) -> None:
            for item_id in ids[index * share : (index + 1) * share]:
                db.session.execute(select(QueueItem.id).where(QueueItem.id == item_id))
                db.session.commit()

        baseline_time = run_threads(app, count, baseline)
        rows.append((count, ITEMS / claims_time, (share * count) / baseline_time))
    return rows


def bench_relay(app, endpoint: str) -> tuple[float, float]:
    client = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint)
    url = client.create_queue(QueueName="bench-relay")["QueueUrl"]
    baseline_url = client.create_queue(QueueName="bench-baseline")["QueueUrl"]
    with app.app_context():
        db.session.execute(text("TRUNCATE queue_items, applications, users CASCADE"))
        db.session.commit()
    queued_applications(app, RELAYED)
    queue = SqsQueue(client, url, url, "", timedelta(minutes=5), 5)
    with app.app_context():
        bodies = [item.body for item in db.session.scalars(select(QueueItem))]
        started = time.perf_counter()
        while relay_once(queue, limit=100):
            pass
        relay_rate = RELAYED / (time.perf_counter() - started)

    started = time.perf_counter()
    for start in range(0, len(bodies), 10):
        client.send_message_batch(
            QueueUrl=baseline_url,
            Entries=[
                {"Id": str(n), "MessageBody": json.dumps(body)}
                for n, body in enumerate(bodies[start : start + 10])
            ],
        )
    baseline_rate = len(bodies) / (time.perf_counter() - started)
    return relay_rate, baseline_rate


def main() -> None:
    url = fresh_database(DATABASE)
    instance = Path(tempfile.mkdtemp())
    app = create_app(make_config(url, instance))
    migrate.upgrade(app)
    claims = bench_claims(app)
    print(f"Queue claims on PostgreSQL ({ITEMS} items; baseline: read one row by key and commit)")
    print(f"{'workers':>8} {'claims/s':>10} {'baseline/s':>11} {'ratio':>6}")
    for count, rate, baseline in claims:
        print(f"{count:>8} {rate:>10.0f} {baseline:>11.0f} {rate / baseline:>6.2f}")

    for name, value in fake_aws_environment(instance).items():
        os.environ[name] = value
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        relay_rate, baseline_rate = bench_relay(app, f"http://{host}:{port}")
    finally:
        server.stop()
    print()
    print(f"Relay to SQS on moto ({RELAYED} messages; baseline: boto3 batches of 10, no database)")
    print(f"{'':>8} {'messages/s':>10} {'baseline/s':>11} {'ratio':>6}")
    print(
        f"{'relay':>8} {relay_rate:>10.0f} {baseline_rate:>11.0f} {relay_rate / baseline_rate:>6.2f}"
    )
    with app.app_context():
        db.engine.dispose()
    drop_database(DATABASE)


if __name__ == "__main__":
    main()
