"""The returns list in the database: importing an admin's file, and finding the people on it (and
other applications) who may be the applicant. Candidates are narrowed in SQL by date of birth or
document number, which every match needs; names are then compared in Python, tolerantly.

This module is also returns' door for the other capabilities' pages (the back office's returns
and application pages): what they may use is in `__all__`, defined here or published from the
module that holds it (reading the admin's file, importing). tests/unit/test_published_interfaces.py
keeps it so."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ColumnElement, func, or_, select

from portal import audit
from portal.apply.answers import answers_of, column
from portal.extensions import db
from portal.models import Application, ReturnedPerson, Status
from portal.returns.importing import ImportResult, parse_returns_csv
from portal.returns.matching import Match, Person, compare, normalise_document_number
from portal.transactions import transactional

__all__ = [
    "INACTIVE",
    "date_of_birth_of",
    "duplicates_of",
    "has_document_number",
    "import_rows",
    "matches_for",
    "parse_returns_csv",
    "person_of",
    "person_of_returned",
    "returned_count",
]

INACTIVE = (Status.DRAFT, Status.WITHDRAWN, Status.INVALID, Status.INELIGIBLE, Status.REFUSED)


def date_of_birth_of(application: Application) -> dt.date | None:
    return answers_of(application).date_of_birth


def person_of(application: Application) -> Person:
    """The applicant as the matching rules see them."""
    answers = answers_of(application)
    return Person(
        given_names=answers.given_names,
        family_name=answers.family_name,
        date_of_birth=answers.date_of_birth,
        nationality=answers.nationality,
        document_number=answers.document_number,
    )


def _birth_dates(day: dt.date | None) -> list[dt.date]:
    """The date and, when it could be read either way, the date with day and month swapped."""
    if day is None:
        return []
    dates = [day]
    if day.day <= 12 and day.day != day.month:
        dates.append(day.replace(month=day.day, day=day.month))
    return dates


@transactional
def import_rows(result: ImportResult, admin_id: uuid.UUID) -> int:
    """Store the file's valid rows in one transaction (all or nothing) and audit the import."""
    for row in result.rows:
        db.session.add(
            ReturnedPerson(
                given_names=row.given_names,
                family_name=row.family_name,
                date_of_birth=row.date_of_birth,
                nationality=row.nationality,
                document_number=normalise_document_number(row.document_number) or None,
                returned_on=row.returned_on,
                imported_by_id=admin_id,
            )
        )
    audit.record(
        "returns_imported",
        subject_type="returns_list",
        rows=len(result.rows),
        rejected=len(result.rejected),
    )
    return len(result.rows)


def returned_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ReturnedPerson)) or 0


def person_of_returned(returned: ReturnedPerson) -> Person:
    return Person(
        given_names=returned.given_names,
        family_name=returned.family_name,
        date_of_birth=returned.date_of_birth,
        nationality=returned.nationality,
        document_number=returned.document_number,
    )


def matches_for(person: Person) -> list[tuple[ReturnedPerson, Match]]:
    """People on the returns list who may be this person, best first, for a caseworker to judge."""
    conditions: list[ColumnElement[bool]] = []
    dates = _birth_dates(person.date_of_birth)
    if dates:
        conditions.append(ReturnedPerson.date_of_birth.in_(dates))
    document = normalise_document_number(person.document_number)
    if document:
        conditions.append(ReturnedPerson.document_number == document)
    if not conditions:
        return []
    candidates = db.session.scalars(select(ReturnedPerson).where(or_(*conditions)).limit(500))
    found = []
    for returned in candidates:
        match = compare(person, person_of_returned(returned))
        if match is not None:
            found.append((returned, match))
    return sorted(found, key=lambda pair: -pair[1].score)


SEPARATORS = " -./"


def has_document_number(document: str) -> ColumnElement[bool]:
    """Applications whose typed document number is `document` once normalised, in SQL.

    The separators people type are taken out as normalise_document_number does, so the search
    and the duplicate check find "AB 123-456" from "ab123456".
    """
    typed: ColumnElement[str] = column("document_number")
    for separator in SEPARATORS:
        typed = func.replace(typed, separator, "")
    return func.upper(typed) == document


def duplicates_of(application: Application, person: Person) -> list[tuple[Application, Match]]:
    """Other active applications that may be the same person (same birth date or document)."""
    conditions: list[ColumnElement[bool]] = []
    dates = [day.isoformat() for day in _birth_dates(person.date_of_birth)]
    if dates:
        conditions.append(column("date_of_birth").in_(dates))
    document = normalise_document_number(person.document_number)
    if document:
        conditions.append(has_document_number(document))
    if not conditions:
        return []
    candidates = db.session.scalars(
        select(Application)
        .where(
            Application.id != application.id,
            Application.status.not_in([s.value for s in INACTIVE]),
            or_(*conditions),
        )
        .limit(500)
    )
    found = []
    for other in candidates:
        match = compare(person, person_of(other))
        if match is not None:
            found.append((other, match))
    return sorted(found, key=lambda pair: -pair[1].score)
