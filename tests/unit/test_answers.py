"""The typed answers interface: its paths name real form fields, and only apply/ reads by name."""

from __future__ import annotations

import datetime as dt
import pathlib
import re
from collections.abc import Iterable

from wtforms.fields.core import UnboundField

from portal.apply import forms, steps
from portal.apply.answers import PATHS, ApplicationAnswers
from portal.apply.steps import Step

PORTAL = pathlib.Path(__file__).resolve().parents[2] / "portal"


def broken_paths(all_steps: Iterable[Step]) -> list[str]:
    """Facts whose (step, field) path names no step, or no field of that step's form."""
    by_name = {s.name: s for s in all_steps}
    broken = []
    for fact, (step_name, field) in PATHS.items():
        found = by_name.get(step_name)
        if found is None or not isinstance(getattr(found.form, field, None), UnboundField):
            broken.append(fact)
    return broken


def test_every_path_names_a_field_of_its_steps_form() -> None:
    assert broken_paths(steps.STEPS) == []


def test_a_renamed_field_breaks_the_check() -> None:
    class RenamedNamesForm(forms.PortalForm):
        first_names = forms.NamesForm.given_names
        family_name = forms.NamesForm.family_name

    renamed = tuple(
        Step(s.name, s.section, RenamedNamesForm) if s.name == "names" else s for s in steps.STEPS
    )
    assert broken_paths(renamed) == ["given_names"]
    moved = tuple(s for s in steps.STEPS if s.name != "contact")
    assert broken_paths(moved) == ["email", "mobile"]


def filled(**values: object) -> ApplicationAnswers:
    raw: dict[str, dict[str, object]] = {}
    for fact, value in values.items():
        step_name, field = PATHS[fact]  # type: ignore[index]  # the keyword names are facts
        raw.setdefault(step_name, {})[field] = value
    return ApplicationAnswers(raw)


def test_properties_read_their_facts() -> None:
    answers = filled(
        applicant_type="main",
        family_reference="FAM-K7Q-M4T-9X2",
        travelling="with_family",
        given_names="Amina",
        family_name="Haidari",
        date_of_birth="1990-03-27",
        nationality="AF",
        other_nationality="IR",
        document_number="P123 456",
        email="amina@example.org",
        mobile="+33612345678",
        message_language="prs",
        uk_family="yes",
    )
    assert answers.is_main and not answers.is_family_member
    assert answers.applicant_type == "main"
    assert answers.family_reference == "FAM-K7Q-M4T-9X2"
    assert answers.travelling_with_family
    assert (answers.given_names, answers.family_name) == ("Amina", "Haidari")
    assert answers.date_of_birth == dt.date(1990, 3, 27)
    assert answers.nationality == "AF"
    assert answers.nationalities == {"AF", "IR"}
    assert answers.document_number == "P123 456"
    assert (answers.contact_email, answers.contact_mobile) == ("amina@example.org", "+33612345678")
    assert answers.message_language == "prs"
    assert answers.has_family_in_uk
    assert filled(applicant_type="family_member").is_family_member


def test_unanswered_facts_are_empty() -> None:
    answers = ApplicationAnswers({"contact": {"email": "", "mobile": None}})
    assert answers.applicant_type is None and not answers.is_main
    assert (answers.given_names, answers.family_name) == ("", "")
    assert answers.date_of_birth is None
    assert answers.nationalities == frozenset()
    assert (answers.contact_email, answers.contact_mobile) == (None, None)
    assert answers.message_language is None
    assert not answers.has_family_in_uk and not answers.travelling_with_family
    assert filled(date_of_birth="27/03/1990").date_of_birth is None


# `application.answers.get("contact")`, `answers.get("uk_family")`,
# `Application.answers[("names", ...)]`, `(answers or {}).get(...)`: reads by step name, which
# only apply/ may write (the eligibility questions' answers are read by variable, not by name).
STRING_READ = re.compile(
    r"\.answers\s*(\.get\(|\[)|\banswers\s*(\.get\(|\[)[\"'(]|\(answers or \{\}\)\.get"
)


def test_only_apply_reads_answers_by_step_and_field_name() -> None:
    readers = [
        f"{path.relative_to(PORTAL)}:{number}"
        for path in PORTAL.rglob("*.py")
        if path.relative_to(PORTAL).parts[0] != "apply"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if STRING_READ.search(line)
    ]
    assert readers == []
