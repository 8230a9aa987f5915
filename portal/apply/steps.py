"""The order of the questions, which of them apply, and how a draft's progress is judged.

Rules only: which step comes next, which answers no longer apply, which sections are done. The
pages call these; the tests call them without a request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l

from portal.apply import forms
from portal.forms import PortalForm

Answers = Mapping[str, Any]


def _value(answers: Answers, step: str, name: str) -> Any:
    return (answers.get(step) or {}).get(name)


@dataclass(frozen=True)
class Section:
    name: str
    title: Any


@dataclass(frozen=True)
class Step:
    """One page of the form.

    `heading` names the field whose label is the page's h1 (one question per page); pages with
    several fields have their own `title` as h1. `reveals` maps a radio field to the value that
    reveals the other fields (the GOV.UK conditional reveal).
    """

    name: str
    section: str
    form: type[PortalForm]
    title: Any = None
    heading: str | None = None
    applies: Callable[[Answers], bool] = lambda answers: True
    reveals: Mapping[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)


SECTIONS = (
    Section("about_you", _l("About you")),
    Section("identity_document", _l("Your passport or identity card")),
    Section("contact", _l("Where you live and how to contact you")),
    Section("uk_family", _l("Family in the UK")),
    Section("immigration", _l("Your UK immigration history")),
    Section("suitability", _l("Criminal record and security")),
    Section("languages", _l("Languages")),
)

_YES_DETAILS = {"answer": ("yes", ("details",))}


def _is_main(answers: Answers) -> bool:
    return _value(answers, "applicant_type", "applicant_type") == "main"


def _document_expired(answers: Answers) -> bool:
    expiry = _value(answers, "document", "expiry_date")
    return bool(expiry) and dt.date.fromisoformat(expiry) < dt.date.today()


STEPS: tuple[Step, ...] = (
    Step("applicant_type", "about_you", forms.ApplicantTypeForm, heading="applicant_type"),
    Step(
        "family_reference",
        "about_you",
        forms.FamilyReferenceForm,
        heading="family_reference",
        applies=lambda a: _value(a, "applicant_type", "applicant_type") == "family_member",
    ),
    Step("travelling", "about_you", forms.TravellingForm, heading="travelling", applies=_is_main),
    Step(
        "family_members",
        "about_you",
        forms.FamilyMemberForm,
        title=_l("Your family members"),
        applies=lambda a: _is_main(a) and _value(a, "travelling", "travelling") == "with_family",
    ),
    Step("names", "about_you", forms.NamesForm, title=_l("Your name")),
    Step("other_names", "about_you", forms.OtherNamesForm, heading="answer", reveals=_YES_DETAILS),
    Step("birth", "about_you", forms.BirthForm, title=_l("Your date and place of birth")),
    Step("sex", "about_you", forms.SexForm, heading="sex"),
    Step("nationality", "about_you", forms.NationalityForm, title=_l("Your nationality")),
    Step(
        "relationship_status",
        "about_you",
        forms.RelationshipStatusForm,
        heading="relationship_status",
    ),
    Step(
        "document",
        "identity_document",
        forms.DocumentForm,
        title=_l("Your passport or identity card"),
    ),
    Step(
        "document_expired",
        "identity_document",
        forms.DocumentExpiredForm,
        heading="has_valid_document",
        applies=_document_expired,
    ),
    Step("address", "contact", forms.AddressForm, title=_l("Where you live in France")),
    Step("contact", "contact", forms.ContactForm, title=_l("How we can contact you")),
    Step(
        "uk_family",
        "uk_family",
        forms.UkFamilyForm,
        heading="answer",
        reveals={"answer": ("yes", ("relationship", "full_name", "immigration_status"))},
    ),
    Step("uk_visas", "immigration", forms.UkVisasForm, heading="answer", reveals=_YES_DETAILS),
    Step(
        "uk_refusals", "immigration", forms.UkRefusalsForm, heading="answer", reveals=_YES_DETAILS
    ),
    Step(
        "uk_removals", "immigration", forms.UkRemovalsForm, heading="answer", reveals=_YES_DETAILS
    ),
    Step(
        "convictions", "suitability", forms.ConvictionsForm, heading="answer", reveals=_YES_DETAILS
    ),
    Step("war_crimes", "suitability", forms.WarCrimesForm, heading="answer", reveals=_YES_DETAILS),
    Step("terrorism", "suitability", forms.TerrorismForm, heading="answer", reveals=_YES_DETAILS),
    Step("languages", "languages", forms.LanguagesForm, title=_l("Languages")),
)

STEP_NAMES = tuple(step.name for step in STEPS)
_BY_NAME = {step.name: step for step in STEPS}


def step(name: str) -> Step:
    return _BY_NAME[name]


def is_answered(answers: Answers, name: str) -> bool:
    """A list step (family members) counts as answered once marked complete."""
    value: Any = answers.get(name)
    if name == "family_members":
        return bool(value) and bool(value.get("complete")) and bool(value.get("members"))
    return value is not None


def applicable_steps(answers: Answers) -> list[Step]:
    return [s for s in STEPS if s.applies(answers)]


def first_unfinished(answers: Answers) -> Step | None:
    """The first question that applies and has no answer: where the person continues."""
    for s in applicable_steps(answers):
        if not is_answered(answers, s.name):
            return s
    return None


def may_open(answers: Answers, name: str) -> bool:
    """A step can be opened once every applicable step before it is answered (no skipping by URL)."""
    target = step(name)
    if not target.applies(answers):
        return False
    for s in applicable_steps(answers):
        if s.name == name:
            return True
        if not is_answered(answers, s.name):
            return False
    return False


def next_step(answers: Answers, after: str) -> Step | None:
    """The next unanswered step after `after`, or None when the form is complete."""
    steps = applicable_steps(answers)
    names = [s.name for s in steps]
    position = names.index(after) + 1 if after in names else 0
    for s in steps[position:]:
        if not is_answered(answers, s.name):
            return s
    return first_unfinished(answers)


def prune(answers: dict[str, Any]) -> dict[str, Any]:
    """Drop the answers of steps that no longer apply, so nothing stale is ever sent."""
    changed = True
    while changed:
        changed = False
        for s in STEPS:
            if s.name in answers and not s.applies(answers):
                del answers[s.name]
                changed = True
    return answers


def is_complete(answers: Answers) -> bool:
    return first_unfinished(answers) is None


class SectionState:
    COMPLETED = "completed"
    IN_PROGRESS = "in_progress"
    NOT_STARTED = "not_started"
    CANNOT_START = "cannot_start"


def section_states(answers: Answers) -> list[tuple[Section, str, Step | None]]:
    """Each section's state for the task list, and the step its link opens."""
    unfinished = first_unfinished(answers)
    applicable = applicable_steps(answers)
    states: list[tuple[Section, str, Step | None]] = []
    reached_unfinished = False
    for section in SECTIONS:
        steps = [s for s in applicable if s.section == section.name]
        answered = [s for s in steps if is_answered(answers, s.name)]
        if steps and len(answered) == len(steps):
            states.append((section, SectionState.COMPLETED, steps[0]))
        elif reached_unfinished:
            states.append((section, SectionState.CANNOT_START, None))
        else:
            reached_unfinished = True
            state = SectionState.IN_PROGRESS if answered else SectionState.NOT_STARTED
            states.append((section, state, unfinished))
    return states
