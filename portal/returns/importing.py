"""Reading the returns list that an administrator uploads as a CSV file.

Rows are checked one by one, and a bad row is reported rather than fatal: the list comes from
other systems, and one mistyped date must not hold back the thousands of good rows around it.
Only a problem with the whole file (its encoding, its header, its size) stops the import.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import pycountry

from portal.returns.matching import Person, normalise_document_number, normalise_name

COLUMNS = (
    "given_names",
    "family_name",
    "date_of_birth",
    "nationality",
    "document_number",
    "returned_on",
)
# Large enough for any list the scheme will produce, small enough to check within one request.
MAX_ROWS = 50_000
MAX_NAME_LENGTH = 200
# Older dates of birth are typing mistakes (1090 for 1990), not people.
EARLIEST_BIRTH = date(1900, 1, 1)

_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DAY_FIRST_DATE = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})")
_DATE_FORMATS = "use YYYY-MM-DD or DD/MM/YYYY"


@dataclass(frozen=True)
class ReturnRow:
    given_names: str
    family_name: str
    date_of_birth: date
    nationality: str
    document_number: str | None
    returned_on: date

    def person(self) -> Person:
        """Matching compares people, whichever list they come from."""
        return Person(
            given_names=self.given_names,
            family_name=self.family_name,
            date_of_birth=self.date_of_birth,
            nationality=self.nationality,
            document_number=self.document_number,
        )


@dataclass(frozen=True)
class RejectedRow:
    """`line` counts the header as line 1, as spreadsheets number rows, so the row can be found."""

    line: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class ImportResult:
    """With a `problem` the file as a whole cannot be used, and nothing else is reported."""

    rows: tuple[ReturnRow, ...]
    rejected: tuple[RejectedRow, ...]
    problem: str | None


def parse_returns_csv(data: bytes, today: date) -> ImportResult:
    """Check an uploaded returns list; `today` is passed in so that tests do not age.

    The header names the columns in any order and case; columns not in COLUMNS are ignored, so
    that a list exported with extra columns need not be edited first. Rows that repeat an earlier
    row are rejected so that the administrator sees the file had them.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _problem("The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again.")
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[tuple[int, list[str]]] = []
    try:
        # The header, MAX_ROWS rows, and one more to tell that there are too many.
        while len(records) < MAX_ROWS + 2:
            line = reader.line_num + 1  # a quoted value may span lines
            values = next(reader, None)
            if values is None:
                break
            if any(value.strip() for value in values):
                records.append((line, values))
    except csv.Error as error:
        return _problem(f"Line {reader.line_num} could not be read as CSV: {error}.")
    if not records:
        return _problem("The file is empty.")
    if len(records) == 1:
        return _problem("The file has a header but no rows.")
    if len(records) > MAX_ROWS + 1:
        return _problem(f"The file has more than {MAX_ROWS:,} rows. Split it into smaller files.")
    return _parse([name.strip().lower() for name in records[0][1]], records[1:], today)


def _parse(header: list[str], records: list[tuple[int, list[str]]], today: date) -> ImportResult:
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        return _problem(
            f"The header has no {', '.join(missing)} column. "
            f"It must have these columns: {', '.join(COLUMNS)}."
        )
    repeated = [column for column in COLUMNS if header.count(column) > 1]
    if repeated:
        return _problem(f"The header has more than one {', '.join(repeated)} column.")

    rows: list[ReturnRow] = []
    rejected: list[RejectedRow] = []
    first_lines: dict[tuple[str, str, date, str | None], int] = {}
    for line, values in records:
        if len(values) != len(header):
            reason = f"has {len(values)} values but the header has {len(header)} columns"
            rejected.append(RejectedRow(line, (reason,)))
            continue
        fields = {
            name: value.strip()
            for name, value in zip(header, values, strict=True)
            if name in COLUMNS
        }
        row = _read_row(fields, today)
        if isinstance(row, list):
            rejected.append(RejectedRow(line, tuple(row)))
            continue
        key = (
            normalise_name(row.given_names),
            normalise_name(row.family_name),
            row.date_of_birth,
            row.document_number,
        )
        if key in first_lines:
            rejected.append(RejectedRow(line, (f"repeats line {first_lines[key]}",)))
            continue
        first_lines[key] = line
        rows.append(row)
    return ImportResult(rows=tuple(rows), rejected=tuple(rejected), problem=None)


def _problem(message: str) -> ImportResult:
    return ImportResult(rows=(), rejected=(), problem=message)


def _read_row(fields: dict[str, str], today: date) -> ReturnRow | list[str]:
    """The row, or every reason it cannot be used, so that it can be put right in one go."""
    reasons: list[str] = []
    given_names = _name("given_names", fields["given_names"], reasons)
    family_name = _name("family_name", fields["family_name"], reasons)
    date_of_birth = _date("date_of_birth", fields["date_of_birth"], reasons)
    if date_of_birth is not None and date_of_birth > today:
        reasons.append("date_of_birth: in the future")
    elif date_of_birth is not None and date_of_birth < EARLIEST_BIRTH:
        reasons.append(f"date_of_birth: before {EARLIEST_BIRTH.year}")
    nationality = _nationality(fields["nationality"], reasons)
    returned_on = _date("returned_on", fields["returned_on"], reasons)
    if returned_on is not None and returned_on > today:
        reasons.append("returned_on: in the future")
    elif returned_on is not None and date_of_birth is not None and returned_on < date_of_birth:
        reasons.append("returned_on: before date_of_birth")
    if reasons or date_of_birth is None or nationality is None or returned_on is None:
        return reasons
    return ReturnRow(
        given_names=given_names,
        family_name=family_name,
        date_of_birth=date_of_birth,
        nationality=nationality,
        document_number=normalise_document_number(fields["document_number"]) or None,
        returned_on=returned_on,
    )


def _name(column: str, text: str, reasons: list[str]) -> str:
    name = " ".join(text.split())
    if not name:
        reasons.append(f"{column}: missing")
    elif len(name) > MAX_NAME_LENGTH:
        reasons.append(f"{column}: longer than {MAX_NAME_LENGTH} characters")
    elif not normalise_name(name):
        reasons.append(f"{column}: has no letters")
    return name


def _date(column: str, text: str, reasons: list[str]) -> date | None:
    """Day first when the year is last, as France writes dates: 03/04/2001 is 3 April."""
    if not text:
        reasons.append(f"{column}: missing")
        return None
    if match := _ISO_DATE.fullmatch(text):
        year, month, day = match.groups()
    elif match := _DAY_FIRST_DATE.fullmatch(text):
        day, _, month, year = match.groups()
    else:
        reasons.append(f"{column}: not a date ({_DATE_FORMATS})")
        return None
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        reasons.append(f"{column}: no such day ({_DATE_FORMATS})")
        return None


def _nationality(text: str, reasons: list[str]) -> str | None:
    if not text:
        reasons.append("nationality: missing")
        return None
    code = _country_code(text.casefold())
    if code is None:
        reasons.append("nationality: not a country (use a code such as SY or SYR, or a name)")
    return code


@lru_cache(maxsize=1024)
def _country_code(text: str) -> str | None:
    """pycountry searches every country for each lookup, and a list repeats a few nationalities."""
    try:
        return pycountry.countries.lookup(text).alpha_2
    except LookupError:
        return None
