"""Account rules: registration, confirmation, sign-in, password reset and two-factor.

Handlers call these and render; nothing here reads the request. Responses for known and unknown
email addresses are the same, so nobody can find out who has an account.

This module is also auth's door for the other capabilities' pages: what they may use of auth is in
`__all__`, defined here or published from the module that holds it (a page keeping a form posted
across a sign-in, held_forms; the accounts the sign-in throttle has stopped, throttle). The
signed-in and staff decorators have their own neutral home, auth.access.
tests/unit/test_published_interfaces.py keeps it so.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from portal import audit, notify
from portal.auth import passwords, sessions, throttle, tokens, totp
from portal.auth.held_forms import holds_answers, take_held_form
from portal.auth.throttle import CEILING, accounts_at_ceiling
from portal.extensions import db
from portal.models import Role, TokenPurpose, User, UserSession, utcnow
from portal.transactions import transactional
from portal.urls import absolute_url

__all__ = [
    "CEILING",
    "RESET_EMAILS_PER_HOUR",
    "SignInOutcome",
    "SignInResult",
    "accounts_at_ceiling",
    "authenticate",
    "begin_session",
    "begin_totp_setup",
    "confirm_email",
    "confirm_totp_setup",
    "create_user",
    "find_user",
    "holds_answers",
    "keep_session_alive",
    "normalise_email",
    "register",
    "remember_locale",
    "request_password_reset",
    "reset_password",
    "send_confirmation",
    "sign_out",
    "take_held_form",
    "time_out_session",
    "verify_second_factor",
]


class SignInOutcome(enum.Enum):
    OK = "ok"
    BAD_CREDENTIALS = "bad_credentials"
    UNCONFIRMED = "unconfirmed"
    SLOWED = "slowed"


@dataclass(frozen=True)
class SignInResult:
    outcome: SignInOutcome
    user: User | None = None
    # SLOWED: when this client may try again.
    retry_at: datetime | None = None


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


@transactional
def create_user(email: str, password: str, role: Role, locale: str = "en") -> User:
    """An account made by an operator (CLI, demo data): confirmed, since the operator vouches for it."""
    user = User(
        email=normalise_email(email),
        password_hash=passwords.hash_password(password),
        role=role.value,
        locale=locale,
        email_verified_at=utcnow(),
    )
    db.session.add(user)
    db.session.flush()
    audit.record("account_created", subject_type="user", subject_id=user.id, role=role.value)
    return user


@transactional
def register(email: str, password: str, locale: str) -> None:
    """Create an applicant account and send its confirmation link.

    If the address already has an account, its owner is told so by email instead; the page the
    visitor sees is the same either way.
    """
    # Hash in both branches: the time taken must not tell whether the address has an account.
    password_hash = passwords.hash_password(password)
    existing = find_user(email)
    if existing is not None:
        notify.send_email(
            existing.email or "",
            "account_exists",
            existing.locale,
            sign_in_url=absolute_url("auth.sign_in", locale=existing.locale),
            reset_url=absolute_url("auth.forgot_password", locale=existing.locale),
        )
        audit.record(
            "registration_for_existing_account", subject_type="user", subject_id=existing.id
        )
    else:
        user = User(
            email=normalise_email(email),
            password_hash=password_hash,
            role=Role.APPLICANT.value,
            locale=locale,
        )
        db.session.add(user)
        db.session.flush()
        audit.record(
            "account_registered", actor_id=user.id, subject_type="user", subject_id=user.id
        )
        send_confirmation(user)


def send_confirmation(user: User) -> None:
    lifetime = timedelta(hours=current_app.config["PORTAL"].TOKEN_HOURS)
    raw = tokens.issue_token(user, TokenPurpose.VERIFY_EMAIL, lifetime)
    notify.send_email(
        user.email or "",
        "confirm_email",
        user.locale,
        confirm_url=absolute_url("auth.confirm_email", locale=user.locale, token=raw),
        hours=current_app.config["PORTAL"].TOKEN_HOURS,
    )


@transactional
def confirm_email(raw: str) -> User | None:
    user = tokens.consume_token(raw, TokenPurpose.VERIFY_EMAIL)
    if user is None:
        db.session.rollback()
        return None
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    audit.record("email_confirmed", actor_id=user.id, subject_type="user", subject_id=user.id)
    return user


@transactional
def authenticate(email: str, password: str, address: str) -> SignInResult:
    """Check the password, unless this client must wait (see portal.auth.throttle).

    Call only with a form that passed its CSRF check. An unknown address costs the same hashing
    time as a known one, and is slowed in the same way.
    """
    now = utcnow()
    email = normalise_email(email)
    user = find_user(email)
    retry_at = throttle.blocked_until(email, address, now)
    if retry_at is not None:
        audit.record(
            "sign_in_slowed",
            actor_id=None,
            subject_type="user" if user else None,
            subject_id=user.id if user else None,
        )
        return SignInResult(SignInOutcome.SLOWED, retry_at=retry_at)
    valid = passwords.verify_password(user.password_hash if user else None, password)
    if not valid:
        _count_failure(email, address, user, now)
    if user is None or not valid or not user.active:
        audit.record(
            "sign_in_failed",
            actor_id=None,
            subject_type="user" if user else None,
            subject_id=user.id if user else None,
        )
        return SignInResult(SignInOutcome.BAD_CREDENTIALS)
    throttle.record_success(email, address, user, now)
    if user.password_hash and passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    if user.email_verified_at is None:
        send_confirmation(user)
        audit.record(
            "sign_in_unconfirmed", actor_id=user.id, subject_type="user", subject_id=user.id
        )
        return SignInResult(SignInOutcome.UNCONFIRMED, user)
    return SignInResult(SignInOutcome.OK, user)


def _count_failure(email: str, address: str, user: User | None, now: datetime) -> None:
    """A wrong password: slow the guesser; tell the holder once per episode; alert at the ceiling.

    At the ceiling the account is not locked (a lock is what a stranger could set): new addresses
    wait a day per try, and admins see the account on their staff page to look into it.
    """
    failure = throttle.record_failure(email, address, user, now)
    if user is None:
        return
    if failure.warn_holder and user.active and user.email:
        notify.send_email(
            user.email,
            "sign_in_slowed",
            user.locale,
            reset_url=absolute_url("auth.forgot_password", locale=user.locale),
        )
        audit.record("sign_in_slowed_holder_told", subject_type="user", subject_id=user.id)
    if failure.ceiling_reached:
        audit.record(
            "sign_in_failure_ceiling_reached",
            subject_type="user",
            subject_id=user.id,
            failures=failure.failures,
        )


@transactional
def begin_session(user: User) -> UserSession:
    row = sessions.start_session(user)
    audit.record("signed_in", actor_id=user.id, subject_type="user", subject_id=user.id)
    return row


@transactional
def sign_out(user: User, session_row: UserSession) -> None:
    sessions.end_session(session_row.id)
    audit.record("signed_out", actor_id=user.id, subject_type="user", subject_id=user.id)


# Reset emails per account per hour. The cap is on emails sent, not on form posts: a stranger
# posting someone's address cannot stop them asking (the page is the same), and once the cap is
# reached no new link is made, so the last link sent stays the valid one in the holder's inbox.
RESET_EMAILS_PER_HOUR = 5


@transactional
def request_password_reset(email: str) -> None:
    """Email a reset link if the address has an account; otherwise do nothing visible."""
    user = find_user(email)
    if user is None or not user.active:
        audit.record("password_reset_requested_unknown", actor_id=None)
        return
    since = utcnow() - timedelta(hours=1)
    if tokens.issued_since(user, TokenPurpose.RESET_PASSWORD, since) >= RESET_EMAILS_PER_HOUR:
        audit.record(
            "password_reset_not_sent_too_many",
            actor_id=None,
            subject_type="user",
            subject_id=user.id,
        )
        return
    tokens.revoke_tokens(user, TokenPurpose.RESET_PASSWORD)
    minutes = current_app.config["PORTAL"].RESET_TOKEN_MINUTES
    raw = tokens.issue_token(user, TokenPurpose.RESET_PASSWORD, timedelta(minutes=minutes))
    notify.send_email(
        user.email or "",
        "reset_password",
        user.locale,
        reset_url=absolute_url("auth.reset_password", locale=user.locale, token=raw),
        minutes=minutes,
    )
    audit.record("password_reset_requested", actor_id=None, subject_type="user", subject_id=user.id)


@transactional
def reset_password(raw: str, new_password: str) -> User | None:
    """Set a new password through a reset link; every existing session of the account ends."""
    user = tokens.consume_token(raw, TokenPurpose.RESET_PASSWORD)
    if user is None:
        db.session.rollback()
        return None
    user.password_hash = passwords.hash_password(new_password)
    throttle.forget_failures(normalise_email(user.email or ""))
    if user.email_verified_at is None:
        # The link reached them by email, which proves the address as well as a confirmation would.
        user.email_verified_at = utcnow()
    sessions.end_all_sessions(user)
    audit.record("password_reset", actor_id=user.id, subject_type="user", subject_id=user.id)
    notify.send_email(
        user.email or "",
        "password_changed",
        user.locale,
        reset_url=absolute_url("auth.forgot_password", locale=user.locale),
    )
    return user


@transactional
def begin_totp_setup(user: User) -> str:
    """Give the user a new, unconfirmed authenticator secret (kept until confirmed with a code)."""
    if not user.totp_secret:
        user.totp_secret = totp.new_secret()
    return totp.provisioning_uri(user)


@transactional
def confirm_totp_setup(user: User, session_row: UserSession, code: str) -> list[str] | None:
    """Confirm the authenticator with a first code; returns the new recovery codes, shown once."""
    if user.totp_confirmed_at is not None or not totp.verify_code(user, code):
        audit.record(
            "two_factor_setup_failed", actor_id=user.id, subject_type="user", subject_id=user.id
        )
        return None
    now = utcnow()
    user.totp_confirmed_at = now
    session_row.mfa_verified_at = now
    codes = totp.issue_recovery_codes(user)
    audit.record("two_factor_set_up", actor_id=user.id, subject_type="user", subject_id=user.id)
    return codes


@transactional
def verify_second_factor(user: User, session_row: UserSession, code: str) -> bool:
    """A code from the authenticator app, or one of the recovery codes."""
    cleaned = code.strip()
    used_recovery = False
    passed = totp.verify_code(user, cleaned)
    if not passed and len(cleaned.replace("-", "").replace(" ", "")) == 10:
        passed = used_recovery = totp.use_recovery_code(user, cleaned)
    if passed:
        session_row.mfa_verified_at = utcnow()
        audit.record(
            "two_factor_passed",
            actor_id=user.id,
            subject_type="user",
            subject_id=user.id,
            recovery_code=used_recovery,
        )
    else:
        audit.record("two_factor_failed", actor_id=user.id, subject_type="user", subject_id=user.id)
    return passed


@transactional
def keep_session_alive(row: UserSession, now: datetime, *, force: bool = False) -> None:
    """Note the session's latest request (at most once a few minutes unless forced), committed
    at once so that the page's own outcome does not decide whether the session stays alive."""
    sessions.touch(row, now, force=force)


@transactional
def time_out_session(row: UserSession, reason: str) -> None:
    """End an idle or too old session, kept even though the request that found it goes no further."""
    sessions.end_session(row.id)
    audit.record(
        "session_timed_out",
        actor_id=row.user_id,
        subject_type="user",
        subject_id=row.user_id,
        reason=reason,
    )


@transactional
def remember_locale(user: User, locale: str) -> None:
    """A signed-in user's language choice follows them into their emails and SMS."""
    user.locale = locale
