"""How people with a disability get into a centre, said in every applicant's language.

An admin does not write the access text: they tick the facts that are true of the centre from a
fixed list, each a translated sentence, so that an applicant reads it in their own language (free
text typed in English would reach nobody who reads Tigrinya). The centre keeps the ticked keys,
space-separated, in its `accessibility` column.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from portal.models import Centre

ACCESS_FACTS = {
    "step_free": _l("The entrance has no steps."),
    "steps": _l("There are steps at the entrance."),
    "lift": _l("There is a lift."),
    "accessible_toilet": _l("There is a toilet for wheelchair users."),
    "hearing_loop": _l("There is a hearing loop."),
    "staff_help": _l("Tell the staff if you need help. They can help you."),
}


@dataclass(frozen=True)
class CentreAccess:
    """What the applicant reads: translated facts, or (for a centre whose access text was typed
    before the facts existed, until an admin ticks them) that text, marked as English."""

    facts: list[str]
    english_text: str | None = None


def stored_keys(value: str | None) -> list[str] | None:
    """The facts' keys kept in a centre's column; None when the column holds typed text."""
    keys = (value or "").split()
    if all(key in ACCESS_FACTS for key in keys):
        return keys
    return None


def store(keys: list[str]) -> str:
    """The column's value for the ticked facts, in the list's order."""
    return " ".join(key for key in ACCESS_FACTS if key in keys)


def centre_access(centre: Centre) -> CentreAccess:
    keys = stored_keys(centre.accessibility)
    if keys is None:
        return CentreAccess(facts=[], english_text=centre.accessibility)
    return CentreAccess(facts=[str(ACCESS_FACTS[key]) for key in keys])
