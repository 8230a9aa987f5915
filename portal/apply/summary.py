"""Turning stored answers back into what a person reads: check-your-answers rows, status texts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import url_for
from flask_babel import lazy_gettext as _l
from wtforms import Field, SelectField

from portal import i18n
from portal.apply import steps
from portal.apply.forms import RELATIONSHIPS
from portal.fields import DateField, country_name
from portal.models import Status

COUNTRY_FIELDS = frozenset(
    {"country_of_birth", "nationality", "other_nationality", "issuing_country"}
)


@dataclass(frozen=True)
class Row:
    key: str
    value: str
    change_url: str | None
    change_label: str


@dataclass(frozen=True)
class SummarySection:
    title: str
    rows: list[Row]


def section_title(name: str) -> str:
    return next(str(s.title) for s in steps.SECTIONS if s.name == name)


def _display(field: Field) -> str:
    data = field.data
    if data in (None, ""):
        return ""
    if isinstance(field, DateField):
        if field.parts == ("month", "year"):
            return i18n.date(data, "MMMM y")
        return i18n.date(data, "long")
    if field.name in COUNTRY_FIELDS:
        return country_name(data)
    if isinstance(field, SelectField):
        return str(dict(field.choices).get(data, data))
    return str(data)


def _member_text(member: dict[str, Any]) -> str:
    relationship = str(dict(RELATIONSHIPS).get(member.get("relationship", ""), ""))
    born = (
        i18n.date(dt.date.fromisoformat(member["date_of_birth"]), "long")
        if member.get("date_of_birth")
        else ""
    )
    return str(
        _l(
            "%(name)s, %(relationship)s, date of birth: %(date)s",
            name=i18n.isolate_text(member.get("full_name", "")),
            relationship=relationship,
            date=born,
        )
    )


def step_rows(name: str, answers: dict[str, Any], with_links: bool = True) -> list[Row]:
    step = steps.step(name)
    change = url_for("apply.question", name=name, change="1") if with_links else None
    if name == "family_members":
        members = (answers.get(name) or {}).get("members", [])
        return [
            Row(
                str(_l("Family members")),
                "\n".join(_member_text(m) for m in members),
                change,
                str(_l("Change")),
            )
        ]
    form = step.form(formdata=None, data=answers.get(name) or {})
    hidden = {
        dependent
        for radio, (value, dependents) in step.reveals.items()
        if form[radio].data != value
        for dependent in dependents
    }
    rows = []
    for field in form:
        if field.name in hidden or field.type in ("CSRFTokenField", "SubmitField"):
            continue
        value = _display(field)
        if not value and field.name != step.heading:
            continue
        label = str(field.label.text)
        rows.append(Row(label, value, change, str(_l("Change"))))
    return rows


def summary_sections(answers: dict[str, Any], with_links: bool = True) -> list[SummarySection]:
    sections = []
    for section in steps.SECTIONS:
        rows = []
        for step in steps.applicable_steps(answers):
            if step.section == section.name and step.name in answers:
                rows.extend(step_rows(step.name, answers, with_links))
        if rows:
            sections.append(SummarySection(str(section.title), rows))
    return sections


STATUS_TEXT: dict[Status, tuple[Any, Any]] = {
    Status.SUBMITTED: (
        _l("Sent"),
        _l(
            "We have your application. It is waiting to be checked. You do not need to do anything now."
        ),
    ),
    Status.IN_CHECKS: (
        _l("Being checked"),
        _l(
            "A caseworker is checking your application. We will send you a message when there is news."
        ),
    ),
    Status.MORE_INFORMATION: (
        _l("We need more information"),
        _l("A caseworker needs more information from you. Read the message we sent you."),
    ),
    Status.INVITED_TO_BIOMETRICS: (
        _l("Invited to an appointment"),
        _l(
            "You are invited to give your fingerprints and a photo at a centre in France. Book an appointment."
        ),
    ),
    Status.APPOINTMENT_BOOKED: (
        _l("Appointment booked"),
        _l("Go to your appointment with the same passport or identity card that you gave us."),
    ),
    Status.BIOMETRICS_ENROLLED: (
        _l("Fingerprints and photo taken"),
        _l("Thank you for going to your appointment. Next we do security checks."),
    ),
    Status.SECURITY_CHECKS: (
        _l("Security checks"),
        _l("We are doing security checks. This can take several weeks."),
    ),
    Status.APPROVED: (
        _l("Approved"),
        _l("Your application is approved. We will contact you about your journey to the UK."),
    ),
    Status.REFUSED: (
        _l("Refused"),
        _l("Your application is refused. We have sent you a letter that explains why."),
    ),
    Status.INVALID: (
        _l("Not valid"),
        _l("Your application is not valid. We have sent you a message that explains why."),
    ),
    Status.INELIGIBLE: (
        _l("Not eligible"),
        _l("You cannot use this scheme. We have sent you a message that explains why."),
    ),
    Status.WITHDRAWN: (
        _l("Withdrawn"),
        _l("You have withdrawn your application."),
    ),
}


def status_explanation(status: Status) -> tuple[str, str]:
    title, text = STATUS_TEXT[status]
    return str(title), str(text)


def status_name(status: str) -> str:
    if status == Status.DRAFT.value:
        return str(_l("Not sent yet"))
    return str(STATUS_TEXT[Status(status)][0])
