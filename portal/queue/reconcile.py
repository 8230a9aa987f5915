"""The reconciler: the database is the truth, so any waiting row whose message may be gone is
published again.

SQS can lose a row's message in ways no single request sees: a delete that raced a lease, a
redrive after copies were received while the row was held, a purge, the retention period. A row
that is neither done nor dead, whose lease is over and whose last publication is older than the
visibility timeout (the lease: every receive sets it) should have been received by now if its
message existed; it is marked unsent, and the relay publishes it again. A message that did exist
becomes a duplicate, which the claim drops once the row is done.

A backlog older than the visibility timeout gets one more copy per row per timeout: the price of
never asking SQS what it holds, which it cannot answer per message.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import update

from portal.extensions import db
from portal.models import QueueItem, utcnow
from portal.queue.backends import CheckingQueue, SqsQueue, waiting_condition
from portal.transactions import transactional

log = logging.getLogger(__name__)


@transactional
def reconcile(queue: CheckingQueue, now: datetime | None = None) -> int:
    """Mark for the relay every waiting row not published within a visibility timeout; returns how
    many. Commits. With the database queue the row is the queue item: nothing to do."""
    if not isinstance(queue, SqsQueue):
        return 0
    now = now or utcnow()
    marked = db.session.execute(  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult
        update(QueueItem)
        .where(
            waiting_condition(now, queue.max_receives),
            QueueItem.relayed_at <= now - queue.lease,
        )
        .values(relayed_at=None, receipt_handle=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if marked:
        log.warning("queue items to publish again", extra={"count": marked})
    return int(marked)
