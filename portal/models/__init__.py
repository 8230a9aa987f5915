"""Typed SQLAlchemy models, one module per aggregate; import them from here."""

from portal.models.application import (
    ApplicantType,
    Application,
    ApplicationWindow,
    FamilyGroup,
    PresenceCheck,
    Status,
    StatusChange,
)
from portal.models.appointment import (
    Appointment,
    AppointmentStatus,
    Centre,
    SentReminder,
    Slot,
)
from portal.models.audit import AuditEvent
from portal.models.base import Base, utcnow
from portal.models.casework import (
    CheckName,
    CheckOutcome,
    CheckRecord,
    InformationRequest,
    QueueItem,
    ReturnedPerson,
    UnreadableQueueMessage,
)
from portal.models.contact_change import ContactChange
from portal.models.document import Document, DocumentKind, ScanResult
from portal.models.held_form import HeldForm
from portal.models.notification import MessageStatus, Notification, NotificationAttempt
from portal.models.support import Assistance, ConsentMethod, EndReason, Organisation
from portal.models.user import (
    AccountToken,
    RecoveryCode,
    Role,
    SignInThrottle,
    TokenPurpose,
    User,
    UserSession,
)
from portal.models.wording import WordingProblem, WordingReport

__all__ = [
    "AccountToken",
    "ApplicantType",
    "Application",
    "ApplicationWindow",
    "Appointment",
    "AppointmentStatus",
    "Assistance",
    "AuditEvent",
    "Base",
    "Centre",
    "CheckName",
    "CheckOutcome",
    "CheckRecord",
    "ConsentMethod",
    "ContactChange",
    "Document",
    "DocumentKind",
    "EndReason",
    "FamilyGroup",
    "HeldForm",
    "InformationRequest",
    "MessageStatus",
    "Notification",
    "NotificationAttempt",
    "Organisation",
    "PresenceCheck",
    "QueueItem",
    "RecoveryCode",
    "ReturnedPerson",
    "Role",
    "ScanResult",
    "SentReminder",
    "SignInThrottle",
    "Slot",
    "Status",
    "StatusChange",
    "TokenPurpose",
    "UnreadableQueueMessage",
    "User",
    "UserSession",
    "WordingProblem",
    "WordingReport",
    "utcnow",
]
