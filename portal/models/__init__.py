"""Typed SQLAlchemy models, one module per aggregate; import them from here."""

from portal.models.audit import AuditEvent
from portal.models.base import Base, utcnow
from portal.models.notification import Notification
from portal.models.user import AccountToken, RecoveryCode, Role, TokenPurpose, User, UserSession

__all__ = [
    "AccountToken",
    "AuditEvent",
    "Base",
    "Notification",
    "RecoveryCode",
    "Role",
    "TokenPurpose",
    "User",
    "UserSession",
    "utcnow",
]
