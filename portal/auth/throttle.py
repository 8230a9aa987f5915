"""Slowing down password guessing without handing strangers a lock on someone else's account.

Only a wrong password counts, and only once the form has passed its CSRF check: the caller
calls `record_failure` after the password was verified wrong, never for a refused form. A right
password ends the run of failures. Two counters are kept:

- per account and client address, which grows fast (5 free tries, then 1, 2, 4... minutes, up to
  an hour): one guesser, on one address, is slowed to a crawl and only slows themselves;
- per account, across all addresses, which is mild and capped (10 free tries, then 1, 2, 4...
  minutes, up to 15): it limits guessing from many addresses at once, and it never applies to an
  address that this account has already signed in from, so a stranger cannot keep the holder out
  of the places they use. At NIST SP 800-63B's ceiling of 100 consecutive failures, new addresses
  wait a day per try, admins are alerted, and the holder can still sign in from an address they
  used before or reset their password (which also clears every count).

Emails without an account get the same counters, so the answers never tell whether an address
has an account. Each attempt is checked before the password is hashed: during a delay even the
right password is refused, otherwise the delay would not slow guessing at all.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from portal.extensions import db
from portal.models import SignInThrottle, User

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backoff:
    """After `free` failures in a row a wait of base, then twice base, four times... up to cap."""

    free: int
    base: timedelta
    cap: timedelta

    def delay(self, failures: int) -> timedelta | None:
        if failures < self.free:
            return None
        doublings = min(failures - self.free, 30)
        return min(self.base * 2**doublings, self.cap)


CLIENT = Backoff(free=5, base=timedelta(minutes=1), cap=timedelta(hours=1))
ACCOUNT = Backoff(free=10, base=timedelta(minutes=1), cap=timedelta(minutes=15))
# NIST SP 800-63B limits consecutive failures on one account to 100.
CEILING = 100
CEILING_DELAY = timedelta(days=1)
# A new slowing episode (and a new email to the holder) after a day without wrong passwords.
EPISODE_QUIET = timedelta(days=1)


@dataclass(frozen=True)
class Keys:
    account: str
    client: str


@dataclass(frozen=True)
class Failure:
    """What one more wrong password changed."""

    failures: int
    slowed: bool
    warn_holder: bool
    ceiling_reached: bool


def keys(email: str, address: str) -> Keys:
    """Keyed hashes (HMAC with the app's secret): the table holds no address and no typed email."""
    secret = current_app.config["PORTAL"].SECRET_KEY.encode()

    def digest(text: str) -> str:
        return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()

    return Keys(digest(f"account\0{email}"), digest(f"client\0{email}\0{address}"))


def blocked_until(email: str, address: str, now: datetime) -> datetime | None:
    """When this client may next try a password for this email, or None if it may now."""
    key = keys(email, address)
    rows = {
        row.scope: row
        for row in db.session.scalars(
            select(SignInThrottle).where(SignInThrottle.key_hash.in_([key.account, key.client]))
        )
    }
    client, account = rows.get("client"), rows.get("account")
    waits = []
    if client is not None and client.blocked_until is not None and client.blocked_until > now:
        waits.append(client.blocked_until)
    known_client = client is not None and client.succeeded_at is not None
    if (
        account is not None
        and account.blocked_until is not None
        and account.blocked_until > now
        and not known_client
    ):
        waits.append(account.blocked_until)
    return max(waits, default=None)


def record_failure(email: str, address: str, user: User | None, now: datetime) -> Failure:
    """Count a verified wrong password against the account and against this client of it."""
    account, client = _locked_rows(keys(email, address), user)
    quiet = account.last_failure_at is None or now - account.last_failure_at > EPISODE_QUIET
    for row in (account, client):
        row.failures += 1
        row.last_failure_at = now
    account_delay = (
        CEILING_DELAY if account.failures >= CEILING else ACCOUNT.delay(account.failures)
    )
    client_delay = CLIENT.delay(client.failures)
    account.blocked_until = now + account_delay if account_delay else None
    client.blocked_until = now + client_delay if client_delay else None
    slowed = account_delay is not None or client_delay is not None
    warn_holder = slowed and (account.warned_at is None or quiet)
    if warn_holder:
        account.warned_at = now
    ceiling_reached = account.failures >= CEILING and (account.ceiling_reached_at is None or quiet)
    if ceiling_reached:
        account.ceiling_reached_at = now
        logger.warning(
            "sign-in failure ceiling reached",
            extra={"user_id": str(user.id) if user else None, "failures": account.failures},
        )
    return Failure(account.failures, slowed, warn_holder, ceiling_reached)


def record_success(email: str, address: str, user: User, now: datetime) -> None:
    """The right password: the run of failures ends, and this client is now one the holder uses."""
    account, client = _locked_rows(keys(email, address), user)
    _clear(account)
    _clear(client)
    client.succeeded_at = now


def forget_failures(email: str) -> None:
    """A new password set through an emailed link: every count for the account starts again."""
    db.session.execute(
        update(SignInThrottle)
        .where(SignInThrottle.account_hash == keys(email, "").account)
        .values(
            failures=0,
            blocked_until=None,
            warned_at=None,
            ceiling_reached_at=None,
        )
    )


def accounts_at_ceiling() -> list[tuple[User, SignInThrottle]]:
    """Accounts whose consecutive failures reached the ceiling since they last signed in."""
    rows = db.session.execute(
        select(User, SignInThrottle)
        .join(SignInThrottle, SignInThrottle.user_id == User.id)
        .where(SignInThrottle.scope == "account", SignInThrottle.ceiling_reached_at.is_not(None))
        .order_by(SignInThrottle.ceiling_reached_at.desc())
    )
    return [(user, row) for user, row in rows.tuples()]


def _clear(row: SignInThrottle) -> None:
    row.failures = 0
    row.blocked_until = None
    row.warned_at = None
    row.ceiling_reached_at = None


def _locked_rows(key: Keys, user: User | None) -> tuple[SignInThrottle, SignInThrottle]:
    """The account's and the client's rows, created if missing and locked until the commit.

    Created with INSERT ... ON CONFLICT DO NOTHING and read with FOR UPDATE, so that two workers
    counting at once neither collide on the unique key nor lose a count (on SQLite the database
    lock does the same).
    """
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for key_hash, scope in ((key.account, "account"), (key.client, "client")):
        db.session.execute(
            insert(SignInThrottle)
            .values(
                id=uuid.uuid4(),
                key_hash=key_hash,
                account_hash=key.account,
                scope=scope,
                user_id=user.id if user else None,
                failures=0,
            )
            .on_conflict_do_nothing(index_elements=["key_hash"])
        )
    rows = {
        row.scope: row
        for row in db.session.scalars(
            select(SignInThrottle)
            .where(SignInThrottle.key_hash.in_([key.account, key.client]))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    if user is not None:
        for row in rows.values():
            row.user_id = row.user_id or user.id
    return rows["account"], rows["client"]
