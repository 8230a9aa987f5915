"""The relay: publishes outbox rows that SQS has not seen yet, then marks them sent.

A submission never waits for SQS: it only writes its outbox row. If SQS is down the rows stay
pending and the next pass sends them. A crash between sending and marking sends a row twice;
the consumer drops the second copy (see SqsQueue.claim).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict
from datetime import datetime

from sqlalchemy import select, update

from portal.extensions import db
from portal.models import QueueItem, utcnow
from portal.queue.backends import SqsQueue, message_attributes
from portal.transactions import transactional

log = logging.getLogger(__name__)

SQS_BATCH = 10


def pending(limit: int) -> list[QueueItem]:
    """The oldest unsent rows, locked so that two relays never send the same row at once."""
    query = (
        select(QueueItem)
        .where(QueueItem.relayed_at.is_(None))
        .order_by(QueueItem.created_at)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(db.session.scalars(query))


@transactional
def relay_once(queue: SqsQueue, limit: int = 100, now: datetime | None = None) -> int:
    """Send up to `limit` pending rows; returns how many SQS accepted. Commits."""
    now = now or utcnow()
    items = pending(limit)
    by_url: dict[str, list[QueueItem]] = defaultdict(list)
    for item in items:
        by_url[queue.url_for(item.priority)].append(item)
    sent: list[object] = []
    for url, rows in by_url.items():
        for start in range(0, len(rows), SQS_BATCH):
            sent.extend(_send_batch(queue, url, rows[start : start + SQS_BATCH]))
    if sent:
        db.session.execute(
            update(QueueItem)
            .where(QueueItem.id.in_(sent))
            .values(relayed_at=now)
            .execution_options(synchronize_session=False)
        )
    return len(sent)


def _send_batch(queue: SqsQueue, url: str, rows: list[QueueItem]) -> list[object]:
    """One SendMessageBatch call; rows SQS refused stay pending for the next pass."""
    entries = [
        {
            "Id": str(index),
            "MessageBody": json.dumps(row.body, separators=(",", ":")),
            "MessageAttributes": message_attributes(row.kind, row.body),
        }
        for index, row in enumerate(rows)
    ]
    answer = queue.client.send_message_batch(QueueUrl=url, Entries=entries)
    for failure in answer.get("Failed", []):
        log.warning("SQS refused a message", extra={"code": failure.get("Code")})
    return [rows[int(success["Id"])].id for success in answer.get("Successful", [])]


class Relay:
    """The relay loop: sends until told to stop, sleeping when there is nothing to send or SQS
    does not answer. A stop request (SIGTERM, SIGINT) ends the loop after the current pass."""

    def __init__(self, queue: SqsQueue, interval: float = 1.0, limit: int = 100) -> None:
        self.queue = queue
        self.interval = interval
        self.limit = limit
        self.stopping = threading.Event()

    def stop(self, *_signal: object) -> None:
        self.stopping.set()

    def run(self) -> int:
        total = 0
        while not self.stopping.is_set():
            try:
                sent = relay_once(self.queue, self.limit)
            except Exception:
                log.exception("relay pass failed; retrying")
                sent = 0
            total += sent
            if sent < self.limit:
                self.stopping.wait(self.interval)
        return total
