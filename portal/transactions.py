"""The one unit of work: `@transactional` service functions, and the few places allowed to commit.

Why a decorator on services rather than a commit after each request: the same service functions
run from page handlers, from CLI commands, from the workers' loops and from the tests, and each
call must be a whole change wherever it runs. A decorated function commits once when it returns
and rolls back when it raises; a decorated function called by another joins the caller's
transaction (only the outermost one commits), so an audit entry, an outbox row (messages or
queue) and the change they describe always commit together or not at all. Route modules never
commit: they call a decorated service. A page that shows form errors after a service refused the
input has nothing to undo, and counters that must persist when the request fails (sign-in
attempts, claim-code tries) are written by their own decorated call before the error is shown,
so no rule about which HTTP status commits is needed.

The session does not expire rows on commit (`expire_on_commit=False`, portal.extensions), so a
handler may render rows it loaded before the service committed, in any order.

A handful of functions must commit part-way through, and are named in ALLOWED_COMMITS with the
reason (tests/unit/test_unit_of_work.py fails on any other `commit()` in portal/).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from portal.extensions import db

P = ParamSpec("P")
R = TypeVar("R")

_DEPTH = "portal.transactional.depth"

# module path -> qualified function names that commit part-way through, and why.
ALLOWED_COMMITS: dict[str, dict[str, str]] = {
    "portal/transactions.py": {
        "transactional.run": "the unit of work itself",
    },
    "portal/queue/backends.py": {
        "_Leases._claim_from_database": (
            "a claim takes a row under FOR UPDATE SKIP LOCKED and commits each attempt: the lock "
            "is released at once and the lease holds whatever the claimer does next"
        ),
        "SqsQueue._consider": (
            "the row's claim (or its newest receipt handle) commits before SQS is told to delete "
            "or hide the message, an external call that cannot join a transaction"
        ),
        "SqsQueue._keep_unreadable": (
            "an unreadable message is kept for admins, committed, before SQS deletes it"
        ),
        "SqsQueue.extend": "the lease commits before the message's visibility changes in SQS",
        "SqsQueue.release": "the release commits before the message is made visible in SQS",
        "SqsQueue.return_dead_letters": (
            "the rows go back first, committed, before the dead-letter queue is read and emptied"
        ),
        "SqsQueue._clear_dead_letter": (
            "the row is marked to be sent again, committed, before its dead letter is deleted"
        ),
    },
    "portal/notify/worker.py": {
        "claim": (
            "due messages are claimed under FOR UPDATE SKIP LOCKED and committed, then the read "
            "is ended, so no transaction stays open while the provider is called"
        ),
    },
    "portal/documents/quarantine.py": {
        "claim_next": (
            "a file is claimed by a conditional update, committed so that other runs see the "
            "claim while the virus scanner reads the file"
        ),
    },
}


def transactional(func: Callable[P, R]) -> Callable[P, R]:
    """Run `func` as one transaction: commit when it returns, roll back when it raises.

    Nested calls join the outermost call's transaction. An exception leaving a nested call rolls
    back only when it leaves the outermost one too: a caller that catches it and goes on (after
    its own `rollback()`, as with an IntegrityError) decides what is kept.
    """

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        session = db.session
        depth = session.info.get(_DEPTH, 0)
        session.info[_DEPTH] = depth + 1
        try:
            result = func(*args, **kwargs)
            if depth == 0:
                session.commit()
            return result
        except BaseException:
            if depth == 0:
                session.rollback()
            raise
        finally:
            session.info[_DEPTH] = depth

    return run
