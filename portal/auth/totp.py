"""Two-factor authentication for staff: TOTP (RFC 6238) with an authenticator app, and recovery codes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import pyotp
import segno
from sqlalchemy import func, or_, select, update

from portal.extensions import db
from portal.models import RecoveryCode, User, utcnow

ISSUER = "EOI portal"
RECOVERY_CODE_COUNT = 10
# Recovery codes avoid characters that are easy to misread: 0/O, 1/I/L.
_RECOVERY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User) -> str:
    return pyotp.TOTP(user.totp_secret or "").provisioning_uri(
        name=user.email or str(user.id), issuer_name=ISSUER
    )


def qr_code_data_uri(uri: str) -> str:
    """The setup QR code as an inline SVG image (no request to any other site)."""
    return segno.make(uri, error="m").svg_data_uri(scale=4, border=2)


def verify_code(user: User, code: str, now: float | None = None) -> bool:
    """Accept the current code (or its neighbour, for clock drift) once only: no replays."""
    if not user.totp_secret:
        return False
    digits = "".join(ch for ch in code if ch.isdigit())
    if len(digits) != 6:
        return False
    totp = pyotp.TOTP(user.totp_secret)
    moment = time.time() if now is None else now
    current_step = int(moment // totp.interval)
    for step in (current_step, current_step - 1, current_step + 1):
        if user.totp_last_step is not None and step <= user.totp_last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), digits):
            # Conditional update: two requests racing with the same code cannot both pass.
            claimed = db.session.execute(
                update(User)
                .where(
                    User.id == user.id,
                    or_(User.totp_last_step.is_(None), User.totp_last_step < step),
                )
                .values(totp_last_step=step)
                .execution_options(synchronize_session="fetch")
            )
            return claimed.rowcount == 1  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult
    return False


def _digest(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").replace(" ", "").upper().encode()).hexdigest()


def issue_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with new ones; the codes are shown once, only hashes kept."""
    db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_digest(raw)))
    return codes


def use_recovery_code(user: User, code: str) -> bool:
    """Spend one recovery code (a conditional update: a code works once)."""
    row = db.session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _digest(code),
            RecoveryCode.used_at.is_(None),
        )
    )
    if row is None:
        return False
    result = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    return result.rowcount == 1  # type: ignore[attr-defined]  # a DML statement's result is a CursorResult


def recovery_codes_left(user: User) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )
