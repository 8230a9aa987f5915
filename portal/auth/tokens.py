"""Single-use, expiring links for email confirmation and password reset.

The link carries 256 random bits; only their SHA-256 is stored, so a copy of the database cannot
be used to take over accounts. Using a link is a conditional update, so it works once, even twice
clicked at the same moment.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from portal.extensions import db
from portal.models import AccountToken, TokenPurpose, User, utcnow


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(
    user: User, purpose: TokenPurpose, lifetime: timedelta, raw: str | None = None
) -> str:
    """Create a token for the user and return the secret to put in the link (never stored).

    `raw` is for a code a person types (a claim code): shorter than a link's secret, so it is
    single-use and expires like the others, and only its hash is kept."""
    raw = raw or secrets.token_urlsafe(32)
    db.session.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose.value,
            token_hash=_digest(raw),
            expires_at=utcnow() + lifetime,
        )
    )
    return raw


def peek_token(raw: str, purpose: TokenPurpose) -> User | None:
    """The user a still-valid token belongs to, without using it up (to show the form)."""
    token = db.session.scalar(
        select(AccountToken).where(
            AccountToken.token_hash == _digest(raw),
            AccountToken.purpose == purpose.value,
            AccountToken.used_at.is_(None),
        )
    )
    if token is None or token.expires_at <= utcnow():
        return None
    return db.session.get(User, token.user_id)


def consume_token(raw: str, purpose: TokenPurpose) -> User | None:
    """Use the token up and return its user; None if unknown, expired or already used."""
    now = utcnow()
    digest = _digest(raw)
    token = db.session.scalar(
        select(AccountToken).where(
            AccountToken.token_hash == digest, AccountToken.purpose == purpose.value
        )
    )
    if token is None or token.used_at is not None or token.expires_at <= now:
        return None
    claimed = db.session.execute(
        update(AccountToken)
        .where(AccountToken.id == token.id, AccountToken.used_at.is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult
        return None
    return db.session.get(User, token.user_id)


def revoke_tokens(user: User, purpose: TokenPurpose) -> None:
    """Retire a user's outstanding tokens of one kind (a new reset link voids the older ones)."""
    db.session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == purpose.value,
            AccountToken.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )


def issued_since(user: User, purpose: TokenPurpose, since: datetime) -> int:
    """How many tokens of one kind the user was sent since a moment (to cap emails per account)."""
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(AccountToken)
            .where(
                AccountToken.user_id == user.id,
                AccountToken.purpose == purpose.value,
                AccountToken.created_at > since,
            )
        )
        or 0
    )
