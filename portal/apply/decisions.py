"""The decisions a caseworker can make and the scheme's rule behind each, with what the applicant
is told. A decision's rule is stored with the status change ("invalid:duplicate_application"), so
the applicant's status page can explain it in their language."""

from __future__ import annotations

import enum
from typing import Any

from flask_babel import lazy_gettext as _l

from portal.eligibility.content import REASON_TEXT
from portal.eligibility.rules import Reason
from portal.models import Status


class Decision(enum.StrEnum):
    INVITE = "invite"
    MORE_INFORMATION = "more_information"
    INVALID = "invalid"
    INELIGIBLE = "ineligible"


class FinalDecision(enum.StrEnum):
    APPROVE = "approve"
    REFUSE = "refuse"


FAMILY_GROUP = "family_group"
MISSED_APPOINTMENTS = "missed_appointments"

# Why an application went back to the checking queue, when the applicant should know.
BACK_IN_QUEUE_RULES: dict[str, Any] = {
    MISSED_APPOINTMENTS: _l(
        "You did not come to two biometric appointments. A caseworker will look at your "
        "application again and decide what happens next: they can let you book one more "
        "appointment, or decide that your application is not valid. We will send you a message."
    ),
}

# Why an application is not valid: the scheme's validity requirements.
INVALID_RULES: dict[str, Any] = {
    "identity_not_confirmed": _l(
        "We could not confirm who you are from the passport or identity card you gave us."
    ),
    "not_in_france": REASON_TEXT[Reason.NOT_IN_FRANCE],
    "duplicate_application": _l("You have another application. A person can only apply once."),
    "no_answer": _l("We asked you for more information and did not get an answer in time."),
    MISSED_APPOINTMENTS: _l("You did not come to two biometric appointments."),
    FAMILY_GROUP: _l(
        "Another application in your family group is not valid. A family group is decided together."
    ),
}

# Why someone cannot use the scheme: the eligibility rules, as the eligibility pages word them.
INELIGIBLE_RULES: dict[str, Any] = {
    **{reason.value: REASON_TEXT[reason] for reason in Reason},
    FAMILY_GROUP: _l(
        "Someone in your family group cannot use this scheme. A family group is decided together."
    ),
}

REFUSAL_RULES: dict[str, Any] = {
    "security": _l("The security checks found a reason why we cannot approve your application."),
    "suitability": _l("Your answers about crimes and security mean we cannot approve it."),
    FAMILY_GROUP: _l(
        "The application of someone in your family group was refused. A family group is decided together."
    ),
}

RULES_FOR: dict[Status, dict[str, Any]] = {
    Status.SUBMITTED: BACK_IN_QUEUE_RULES,
    Status.INVALID: INVALID_RULES,
    Status.INELIGIBLE: INELIGIBLE_RULES,
    Status.REFUSED: REFUSAL_RULES,
}

# Plain English names for the caseworker's lists.
RULE_NAMES: dict[str, str] = {
    "identity_not_confirmed": "Identity not confirmed from the documents",
    "not_in_france": "Not in France when applying",
    "duplicate_application": "Duplicate application",
    "no_answer": "No answer to a request for information",
    MISSED_APPOINTMENTS: "Did not come to two biometric appointments",
    FAMILY_GROUP: "Decided with the family group",
    Reason.NOT_IN_FRANCE.value: "Not in France",
    Reason.UNDER_18_ALONE.value: "Under 18 and not in a family group",
    Reason.EEA_NATIONAL.value: "EEA or Swiss citizen",
    Reason.EEA_FAMILY_MEMBER.value: "Family member of an EEA or Swiss citizen",
    Reason.NO_IDENTITY_DOCUMENT.value: "No passport or identity card",
    Reason.ENTERED_UK_ILLEGALLY.value: "Entered the UK illegally",
    Reason.RETURNED_UNDER_SCHEME.value: "Returned to France under the scheme",
    Reason.HAS_PROTECTION_STATUS.value: "Has a protection status",
    Reason.HAS_FRENCH_RESIDENCE.value: "Has permission to live in France",
    "security": "Security checks",
    "suitability": "Suitability (crimes, security)",
}


def reason_code(status: Status, rule: str) -> str:
    return f"{status.value}:{rule}"


def explain(reason: str | None) -> str | None:
    """The applicant's explanation of a stored decision reason, in the current language."""
    if not reason or ":" not in reason:
        return None
    status, _colon, rule = reason.partition(":")
    try:
        texts = RULES_FOR[Status(status)]
    except (ValueError, KeyError):
        return None
    text = texts.get(rule)
    return str(text) if text is not None else None


# What a caseworker can ask for; the applicant reads these in their language.
INFORMATION_TOPICS: dict[str, Any] = {
    "identity_document": _l(
        "A clearer photo of your passport or identity card: every page with writing on it."
    ),
    "face_photo": _l("A new photo of your face, in good light, looking at the camera."),
    "relationship": _l("Proof of your relationship with your family members."),
    "living_in_france": _l("Where you live in France, and since when."),
    "uk_history": _l("Your time in the UK: when you were there and any visas you had."),
    "other": _l("Something else: read the caseworker's note below."),
}

TOPIC_NAMES: dict[str, str] = {
    "identity_document": "Clearer photo of the identity document",
    "face_photo": "New photo of the face",
    "relationship": "Proof of family relationship",
    "living_in_france": "Where they live in France",
    "uk_history": "Time in the UK and visas",
    "other": "Something else (say what in the note)",
}
