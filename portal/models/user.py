"""Accounts and what hangs off them: sessions, one-time links, recovery codes, sign-in counters."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import cast

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, HasCreatedAt, HasId


class Role(enum.StrEnum):
    APPLICANT = "applicant"
    SUPPORT = "support"
    CASEWORKER = "caseworker"
    ADMIN = "admin"

    @property
    def is_staff(self) -> bool:
        """Staff see other people's data, so they must pass two-factor authentication."""
        return self is not Role.APPLICANT


class TokenPurpose(enum.StrEnum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"  # noqa: S105 - a purpose name, not a password
    CLAIM_ACCOUNT = "claim_account"


class User(UserMixin, HasId, HasCreatedAt, Base):
    """An account. Flask-Login identifies it by the server-side session it is signed in with."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role IN ('applicant', 'support', 'caseworker', 'admin')", name="role_known"
        ),
    )

    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default=Role.APPLICANT.value)
    locale: Mapped[str] = mapped_column(String(8), default="en")
    email_verified_at: Mapped[datetime | None]
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_confirmed_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)
    # Support workers belong to one organisation; without one they see no applicant at all.
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id"), index=True
    )

    sessions: Mapped[list[UserSession]] = relationship(back_populates="user")

    # Set when the user is loaded for a request: the session row the request is signed in with.
    current_session = cast("UserSession | None", None)

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def needs_second_factor(self) -> bool:
        """Staff who have not yet passed two-factor authentication in this session."""
        session = self.current_session
        return self.role_enum.is_staff and (session is None or session.mfa_verified_at is None)

    def get_id(self) -> str:
        if self.current_session is None:
            raise RuntimeError("a user is signed in only through a session")
        return str(self.current_session.id)


class UserSession(HasId, Base):
    """A signed-in browser. Its id lives in the cookie; ending the row ends the session everywhere."""

    __tablename__ = "user_sessions"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    mfa_verified_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="sessions")


class AccountToken(HasId, HasCreatedAt, Base):
    """A one-time link (email confirmation, password reset). Only a hash of the secret is kept."""

    __tablename__ = "account_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class RecoveryCode(HasId, Base):
    """A single-use code that stands in for the authenticator app if the phone is lost."""

    __tablename__ = "recovery_codes"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]


class SignInThrottle(HasId, Base):
    """Consecutive wrong passwords for one email address, or for one email address from one client.

    Kept in the database rather than in the rate-limit storage: the counts must survive a restart
    and be shared by every gunicorn worker and server (the embedded rate-limit storage is memory,
    per process), and they follow the same clock as the rest of the portal. Rows are named by a
    keyed hash, so neither the addresses of strangers nor the emails they type are stored; rows
    exist for emails without an account too, so that both are slowed alike.
    """

    __tablename__ = "sign_in_throttles"
    __table_args__ = (CheckConstraint("scope IN ('account', 'client')", name="scope_known"),)

    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The account row's key_hash, on the account row and on every client row of that account.
    account_hash: Mapped[str] = mapped_column(String(64), index=True)
    scope: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime | None]
    blocked_until: Mapped[datetime | None]
    # Client rows: the account has signed in from this client, so the account-wide delay spares it.
    succeeded_at: Mapped[datetime | None]
    # Account rows: when the holder was told that sign-in is slowed, and when admins were alerted.
    warned_at: Mapped[datetime | None]
    ceiling_reached_at: Mapped[datetime | None]
