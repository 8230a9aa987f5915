"""What the eligibility pages say: each question, its choices, and each reason in kind words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from portal.eligibility.rules import NO, WITH_PARENT, YES, Reason


@dataclass(frozen=True)
class QuestionText:
    title: Any
    hint: Any
    choices: dict[str, Any]
    error: Any


_YES_NO = {YES: _l("Yes"), NO: _l("No")}

QUESTION_TEXT: dict[str, QuestionText] = {
    "in_france": QuestionText(
        _l("Are you in France now?"),
        _l("You must be in France when you apply. We will check this."),
        _YES_NO,
        _l("Select yes if you are in France now"),
    ),
    "age": QuestionText(
        _l("Are you 18 or older?"),
        None,
        {
            YES: _l("Yes, I am 18 or older"),
            WITH_PARENT: _l(
                "No, but I am applying with my father or mother, in their family group"
            ),
            NO: _l("No, I am under 18 and applying alone"),
        },
        _l("Select if you are 18 or older"),
    ),
    "eea_national": QuestionText(
        _l("Are you a citizen of a European Economic Area (EEA) country or Switzerland?"),
        _l(
            "The EEA is the countries of the European Union, and Iceland, Liechtenstein and Norway."
        ),
        _YES_NO,
        _l("Select yes if you are a citizen of an EEA country or Switzerland"),
    ),
    "eea_family_member": QuestionText(
        _l(
            "Are you the family member of an EEA or Swiss citizen, with the right to live in France because of them?"
        ),
        None,
        _YES_NO,
        _l("Select yes if you are the family member of an EEA or Swiss citizen"),
    ),
    "identity_document": QuestionText(
        _l("Do you have a passport or national identity card that shows your nationality?"),
        _l("It can be out of date, if you do not have one that is still valid."),
        _YES_NO,
        _l("Select yes if you have a passport or national identity card"),
    ),
    "uk_illegal_entry": QuestionText(
        _l("Have you ever entered the UK illegally, or tried to?"),
        _l("For example, by crossing the Channel in a small boat, or hidden in a lorry."),
        _YES_NO,
        _l("Select yes if you have entered the UK illegally or tried to"),
    ),
    "returned_from_uk": QuestionText(
        _l("Have you been sent back to France from the UK under this scheme?"),
        None,
        _YES_NO,
        _l("Select yes if you have been sent back to France from the UK"),
    ),
    "protection_status": QuestionText(
        _l("Do you have refugee status, or another protection status, in any country?"),
        _l(
            "This includes refugee status, subsidiary protection and statelessness status. Having an asylum claim that is still waiting for a decision is not a status."
        ),
        _YES_NO,
        _l("Select yes if you have refugee status or another protection status"),
    ),
    "french_residence": QuestionText(
        _l("Do you have permission to live in France?"),
        _l(
            "For example a residence permit (titre de séjour). A receipt for an asylum claim is not permission to live in France."
        ),
        _YES_NO,
        _l("Select yes if you have permission to live in France"),
    ),
}

REASON_TEXT: dict[Reason, Any] = {
    Reason.NOT_IN_FRANCE: _l("You can only apply while you are in France."),
    Reason.UNDER_18_ALONE: _l(
        "People under 18 can only apply with their father or mother, as part of their family group."
    ),
    Reason.EEA_NATIONAL: _l("Citizens of EEA countries and Switzerland cannot use this scheme."),
    Reason.EEA_FAMILY_MEMBER: _l(
        "Family members of EEA and Swiss citizens who can live in France because of them cannot use this scheme."
    ),
    Reason.NO_IDENTITY_DOCUMENT: _l(
        "You need a passport or national identity card that shows your nationality. It can be out of date."
    ),
    Reason.ENTERED_UK_ILLEGALLY: _l(
        "People who have entered the UK illegally, or tried to, cannot use this scheme."
    ),
    Reason.RETURNED_UNDER_SCHEME: _l(
        "People who have been sent back to France under this scheme cannot use it."
    ),
    Reason.HAS_PROTECTION_STATUS: _l(
        "People who already have refugee status or another protection status cannot use this scheme."
    ),
    Reason.HAS_FRENCH_RESIDENCE: _l(
        "People who have permission to live in France cannot use this scheme."
    ),
}
