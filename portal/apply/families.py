"""Family groups: the main applicant's family reference, which listed family members must apply
separately, and which of them have.

The main applicant lists their family members (name, relationship, date of birth) in their own
answers; each adult among them sends an application of their own with the family reference. An
application is matched to a listed member by the family reference (it is in the group), the date of
birth as listed and a name that is a spelling of the listed one, in any script (the returns list's
rules, portal.returns.matching). Rules only: the pages and the reminders call these.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from portal.extensions import db
from portal.models import Application, ApplicationWindow, FamilyGroup, Status, utcnow
from portal.returns.matching import Person, similar_names
from portal.returns.services import person_of

# The age from which a family member must send an application of their own (the scheme: adults).
ADULT_AGE = 18


def family_group_for(reference: str) -> FamilyGroup | None:
    return db.session.scalar(select(FamilyGroup).where(FamilyGroup.reference == reference))


@dataclass(frozen=True)
class ListedMember:
    """A family member as the main applicant listed them."""

    id: str
    full_name: str
    relationship: str
    date_of_birth: dt.date | None


@dataclass(frozen=True)
class MemberProgress:
    """A listed member and the application matched to them, if any (for caseworkers only)."""

    member: ListedMember
    must_apply_separately: bool
    application: Application | None

    @property
    def sent(self) -> bool:
        return self.application is not None


@dataclass(frozen=True)
class FamilyProgress:
    """Everything about a family group's applications, as caseworkers see it."""

    group: FamilyGroup
    main: Application | None
    members: list[MemberProgress]
    # Applications with the family reference that match nobody listed: shown to caseworkers only.
    unmatched: list[Application]

    @property
    def adults(self) -> list[MemberProgress]:
        return [row for row in self.members if row.must_apply_separately]

    @property
    def adults_not_sent(self) -> list[MemberProgress]:
        return [row for row in self.adults if not row.sent]


@dataclass(frozen=True)
class AdultSent:
    """What the main applicant may know of another adult: the name they listed, sent or not yet.
    Nothing of the other application (its answers, documents or status) is in here to show."""

    full_name: str
    relationship: str
    sent: bool


@dataclass(frozen=True)
class FamilyStatus:
    """The family part of an applicant's status page."""

    reference: str
    is_main: bool
    window: ApplicationWindow
    window_open: bool
    # Only for the main applicant; empty for a member, who sees nothing of the others.
    adults: list[AdultSent]


def age_on(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def is_main(application: Application) -> bool:
    return (application.answers.get("applicant_type") or {}).get("applicant_type") == "main"


def listed_members(application: Application) -> list[ListedMember]:
    """The family members a main applicant listed, in their order."""
    members = (application.answers.get("family_members") or {}).get("members") or []
    return [
        ListedMember(
            id=str(member.get("id", "")),
            full_name=member.get("full_name", ""),
            relationship=member.get("relationship", ""),
            date_of_birth=dt.date.fromisoformat(member["date_of_birth"])
            if member.get("date_of_birth")
            else None,
        )
        for member in members
    ]


def must_apply_separately(member: ListedMember, submitted_on: dt.date) -> bool:
    """Adults apply separately: 18 or over on the day the main applicant sent the list. A member
    without a date of birth is counted as an adult, so that nobody who must apply is left out."""
    return member.date_of_birth is None or age_on(member.date_of_birth, submitted_on) >= ADULT_AGE


def is_listed_member(application: Application, member: ListedMember) -> bool:
    """The application is this member's: the same date of birth as listed, and a name that is a
    spelling of the listed one (another script, another transliteration, fields swapped)."""
    person = person_of(application)
    if member.date_of_birth is None or person.date_of_birth != member.date_of_birth:
        return False
    return similar_names(person, Person(member.full_name, "", member.date_of_birth, None, None))


def main_application(group: FamilyGroup) -> Application | None:
    return next((a for a in group.applications if is_main(a)), None)


def family_progress(group: FamilyGroup) -> FamilyProgress:
    """Match the group's member applications to the members the main applicant listed.

    Withdrawn applications do not count as sent. Each application matches one listed member at
    most, and each member one application, first sent first matched.
    """
    main = main_application(group)
    listed = listed_members(main) if main else []
    submitted_on = (main.submitted_at if main and main.submitted_at else utcnow()).date()
    matched: dict[str, Application] = {}
    unmatched: list[Application] = []
    for application in group.applications:
        if is_main(application) or application.status_enum is Status.WITHDRAWN:
            continue
        member = next(
            (m for m in listed if m.id not in matched and is_listed_member(application, m)), None
        )
        if member is None:
            unmatched.append(application)
        else:
            matched[member.id] = application
    rows = [
        MemberProgress(member, must_apply_separately(member, submitted_on), matched.get(member.id))
        for member in listed
    ]
    return FamilyProgress(group=group, main=main, members=rows, unmatched=unmatched)


def status_of_family(application: Application, now: datetime) -> FamilyStatus | None:
    """What an applicant's status page says about their family group: the main applicant sees
    whether each adult they listed has sent an application (sent or not yet, nothing more); a
    member sees the reference and the rule, nothing of the others."""
    group = application.family_group
    if group is None:
        return None
    window = db.session.get(ApplicationWindow, group.window_id)
    main = is_main(application)
    if window is None or (main and not listed_members(application)):
        return None
    adults = (
        [
            AdultSent(row.member.full_name, row.member.relationship, row.sent)
            for row in family_progress(group).adults
        ]
        if main
        else []
    )
    return FamilyStatus(
        reference=group.reference,
        is_main=main,
        window=window,
        window_open=window.is_open(now),
        adults=adults,
    )


def closed_window_of(reference: str, now: datetime) -> ApplicationWindow | None:
    """The family group's window, if its last day has passed: a member can no longer apply."""
    group = family_group_for(reference)
    if group is None:
        return None
    window = db.session.get(ApplicationWindow, group.window_id)
    return window if window is not None and window.closes_at <= now else None


def applies_with_family(answers: dict) -> bool:
    """Whether the applicant's answers put them in a family group (the rule is shown to them)."""
    kind = (answers.get("applicant_type") or {}).get("applicant_type")
    travelling = (answers.get("travelling") or {}).get("travelling")
    return kind == "family_member" or (kind == "main" and travelling == "with_family")
