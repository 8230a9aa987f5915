"""The returns list: matching applicants against it, and importing it from CSV."""

from __future__ import annotations

from datetime import date

import pytest

from portal.returns import importing
from portal.returns.importing import RejectedRow, ReturnRow, parse_returns_csv
from portal.returns.matching import (
    NAME_THRESHOLD,
    Match,
    Person,
    compare,
    normalise_document_number,
    normalise_name,
    possible_matches,
)

BORN = date(1995, 7, 21)
TODAY = date(2026, 3, 1)


def person(
    given_names: str,
    family_name: str,
    date_of_birth: date | None = BORN,
    nationality: str | None = None,
    document_number: str | None = None,
) -> Person:
    return Person(given_names, family_name, date_of_birth, nationality, document_number)


@pytest.mark.parametrize(
    ("applicant", "returned"),
    [
        (("Mohammed", "Al-Hassan"), ("Muhammad", "Alhasan")),
        (("Mohamad", "Hassan"), ("Mohammed", "Hasan")),
        (("Hélène", "Dubois"), ("Helene", "DUBOIS")),
        (("Ahmadi", "Reza"), ("Reza", "Ahmadi")),
        (("Reza Ahmadi", ""), ("Reza", "Ahmadi")),
        (("", "Ahmadi Reza"), ("Reza", "Ahmadi")),
        # Arabic: anyascii gives consonants only ("mhmd hsn").
        (("محمد", "حسن"), ("Mohamed", "Hassan")),
        (("عبدالرحمن", "عمر"), ("Abdul Rahman", "Omar")),
        (("فاطمة", "الزهراء"), ("Fatima", "Al-Zahra")),
        (("عائشة", "يوسف"), ("Aicha", "Youssef")),
        # Persian: ی for y, ض said as z.
        (("محمد رضا", "احمدی"), ("Mohammadreza", "Ahmadi")),
        (("وحید", "جواد"), ("Vahid", "Javad")),
        # Pashto: ګ for g.
        (("ګل", "محمد"), ("Gul", "Mohammad")),
        (("ګلاب", "زلمی"), ("Gulab", "Zalmai")),
        # Tigrinya, in Ethiopic script.
        (("ዮናስ", "ተስፋይ"), ("Yonas", "Tesfaye")),
        (("ምስግና", "ኪዳነ"), ("Misgina", "Kidane")),
        (("ሳሙኤል", "ገብረመድህን"), ("Samuel", "Gebremedhin")),
        (("Abdulrahman", "Omar"), ("Abdul Rahman", "Omar")),
        (("Abd al-Rahman", "Omar"), ("Abdulrahman", "Omar")),
        (("Yusuf", "Ali"), ("Youssef", "Ali")),
        (("Youssef", "Abdelkader"), ("Yusuf", "Abdul Qadir")),
        (("Hussein", "Kareem"), ("Husayn", "Karim")),
        (("Rachid", "Djamel"), ("Rashid", "Jamal")),
        (("Mustapha", "Kasim"), ("Mostafa", "Qassim")),
        (("Zabihullah", "Ahmadzai"), ("Zabiullah", "Ahmadzay")),
        (("Hafidh", "Rahman"), ("Hafiz", "Rahman")),
        (("Ismail", "Haidari"), ("Esmail", "Heydari")),
        (("Eyob", "Haile"), ("Ayoub", "Haile")),
        (("Omar", "Abdullah"), ("Umar", "Abdallah")),
        # A letter too many or too few.
        (("Fatima", "Ahmadi"), ("Fatma", "Ahmadi")),
        (("Mohammed", "Abdelrahman"), ("Muhammad", "Abdrahman")),
        # A father's name added.
        (("Yonas Tesfay", "Gebremedhin"), ("Yonas", "Tesfay")),
    ],
)
def test_spellings_of_one_name_match(applicant: tuple[str, str], returned: tuple[str, str]):
    match = compare(person(*applicant), person(*returned))
    assert match is not None
    assert match.score >= NAME_THRESHOLD
    assert match.fields == ("name", "date_of_birth")


@pytest.mark.parametrize(
    ("applicant", "returned"),
    [
        (person("Ahmed", "Karimi"), person("Hamid", "Rahimi")),
        # Siblings share a family name, twins a date of birth too.
        (person("Ahmed", "Karimi"), person("Hamid", "Karimi")),
        (person("Omar", "Abdullah"), person("Amir", "Abdullah")),
        (person("Jamal", "Haidari"), person("Jamil", "Haidari")),
        (person("Mohammed", "Ahmadi"), person("Mahmoud", "Ahmadi")),
        (person("Hassan", "Ali"), person("Hussein", "Ali")),
        (person("Yonas", "Tesfay"), person("Yonas", "Tekle")),
        (person("Abdul Rahman", "Omar"), person("Abdul Rahim", "Omar")),
        # One word is shared by too many people.
        (person("Mohammed", ""), person("Mohammed", "Karimi")),
        # The same name, born on another day.
        (person("Reza", "Ahmadi"), person("Reza", "Ahmadi", date(1995, 7, 22))),
        (person("Reza", "Ahmadi", None), person("Reza", "Ahmadi")),
        # Nationality alone.
        (person("Reza", "Ahmadi", None, "AF"), person("Reza", "Ahmadi", None, "AF")),
        # Different documents are no evidence, and a placeholder is not a number.
        (
            person("Reza", "Ahmadi", None, document_number="P1234567"),
            person("Reza", "Ahmadi", None, document_number="P7654321"),
        ),
        (
            person("Ahmed", "Karimi", None, document_number="N/A"),
            person("Hamid", "Rahimi", None, document_number="n/a"),
        ),
    ],
)
def test_different_people_do_not_match(applicant: Person, returned: Person):
    assert compare(applicant, returned) is None


def test_a_document_number_matches_whatever_the_names():
    applicant = person("Ahmed", "Karimi", date(1990, 1, 1), "AF", "N 0123456")
    returned = person("Hamid", "Rahimi", date(1991, 6, 30), "AF", "n0123456")
    assert compare(applicant, returned) == Match(
        score=100, fields=("nationality", "document_number")
    )


def test_every_agreeing_field_is_listed_in_order():
    applicant = person("Reza", "Ahmadi", BORN, "af", "P-123 456")
    returned = person("Ahmadi", "Reza", BORN, "AF", "p123456")
    assert compare(applicant, returned) == Match(
        score=100, fields=("name", "date_of_birth", "nationality", "document_number")
    )


def test_day_and_month_may_be_swapped():
    applicant = person("Reza", "Ahmadi", date(1995, 3, 7))
    match = compare(applicant, person("Reza", "Ahmadi", date(1995, 7, 3)))
    assert match == Match(score=100, fields=("name", "date_of_birth"))
    assert compare(applicant, person("Reza", "Ahmadi", date(1995, 7, 4))) is None
    # Only a day that could be a month can have been swapped.
    assert compare(person("Reza", "Ahmadi", date(1995, 3, 13)), applicant) is None


def test_possible_matches_come_best_first_with_their_keys():
    applicant = person("Mohammed", "Abdelrahman", BORN, "AF", "P1234567")
    returns = [
        ("typo", person("Mohammed", "Abdelrahmn")),
        ("other", person("Hamid", "Rahimi")),
        ("document", person("Ahmad", "Shah", date(2001, 1, 1), document_number="P 1234567")),
        ("exact", person("Abdelrahman", "Muhammad", nationality="AF")),
    ]
    found = possible_matches(applicant, returns)
    assert [(key, match.score) for key, match in found] == [
        ("document", 100),
        ("exact", 100),
        ("typo", 95),
    ]
    assert found[1][1].fields == ("name", "date_of_birth", "nationality")
    assert possible_matches(applicant, []) == []


def test_normalise_name():
    assert normalise_name("  Hélène-Marie   DUBOIS ") == "helene marie dubois"
    assert normalise_name("Mohammed Al-Hassan") == normalise_name("Mohamed al hasan")
    assert normalise_name("محمد") == "mhmd"
    assert normalise_name("Youssef Mahmoud") == "yusef mahmud"
    assert normalise_name("!?") == ""


def test_normalise_document_number():
    assert normalise_document_number(" n 012-345.6 ") == "N0123456"
    assert normalise_document_number(None) == ""


def csv_bytes(*lines: str, bom: bool = False) -> bytes:
    return ("\ufeff" if bom else "").encode() + "\r\n".join(lines).encode()


HEADER = "given_names,family_name,date_of_birth,nationality,document_number,returned_on"


def test_a_good_file_is_read():
    data = csv_bytes(
        " Family_Name ,GIVEN_NAMES,date_of_birth,Nationality,document_number,returned_on,notes",
        "Ahmadi,Reza,1995-07-21,AFG,n 0123456,2025-10-02,first flight",
        "Tesfay,Yonas,21/07/1995,Eritrea,,02-10-2025,",
        '"Al-Hassan, known as Abu Ali",Mohammed,01.02.2000,sy,,2.10.2025,',
        "",
        "محمد,حسن,2000-2-1,Syrian Arab Republic,X1,2025-10-02,",
        bom=True,
    )
    result = parse_returns_csv(data, TODAY)
    assert result.problem is None
    assert result.rejected == ()
    assert result.rows == (
        ReturnRow("Reza", "Ahmadi", date(1995, 7, 21), "AF", "N0123456", date(2025, 10, 2)),
        ReturnRow("Yonas", "Tesfay", date(1995, 7, 21), "ER", None, date(2025, 10, 2)),
        ReturnRow(
            "Mohammed",
            "Al-Hassan, known as Abu Ali",
            date(2000, 2, 1),
            "SY",
            None,
            date(2025, 10, 2),
        ),
        ReturnRow("حسن", "محمد", date(2000, 2, 1), "SY", "X1", date(2025, 10, 2)),
    )
    assert result.rows[1].person() == Person("Yonas", "Tesfay", date(1995, 7, 21), "ER", None)


def test_bad_rows_are_reported_and_good_rows_kept():
    data = csv_bytes(
        HEADER,
        "Reza,Ahmadi,1995-07-21,AF,,2025-10-02",
        "Yonas,Tesfay,1995/07/21,Narnia,,2025-10-02",
        "",
        ",Karimi,31/02/1990,AF,,2025-10-02",
        f"{'A' * 201},Karimi,1899-12-31,AF,,2026-03-02",
        "Hamid,Rahimi,2026-03-02,IR,,2025-10-02",
        "Hamid,Rahimi,1990-01-01,IR,2025-10-02",
        '"Hamid\nAli",Rahimi,2000-01-01,IR,,1999-12-31',
        "Ali,Hassan,2000-01-01,SD,,",
        "Samuel,Kidane,2001-09-11,ER,,2026-03-01",
    )
    result = parse_returns_csv(data, TODAY)
    assert result.problem is None
    assert [row.given_names for row in result.rows] == ["Reza", "Samuel"]
    assert result.rejected == (
        RejectedRow(
            3,
            (
                "date_of_birth: not a date (use YYYY-MM-DD or DD/MM/YYYY)",
                "nationality: not a country (use a code such as SY or SYR, or a name)",
            ),
        ),
        RejectedRow(
            5,
            (
                "given_names: missing",
                "date_of_birth: no such day (use YYYY-MM-DD or DD/MM/YYYY)",
            ),
        ),
        RejectedRow(
            6,
            (
                "given_names: longer than 200 characters",
                "date_of_birth: before 1900",
                "returned_on: in the future",
            ),
        ),
        RejectedRow(7, ("date_of_birth: in the future", "returned_on: before date_of_birth")),
        RejectedRow(8, ("has 5 values but the header has 6 columns",)),
        RejectedRow(9, ("returned_on: before date_of_birth",)),
        RejectedRow(11, ("returned_on: missing",)),
    )


def test_repeated_rows_are_rejected():
    data = csv_bytes(
        HEADER,
        "Hélène,Dubois,1995-07-21,FR,,2025-10-02",
        "Reza,Ahmadi,1995-07-21,AF,P123,2025-10-02",
        "HELENE,DUBOIS,21/07/1995,France,,2025-11-02",
        "Reza,Ahmadi,1995-07-21,AF,P 124,2025-10-02",
    )
    result = parse_returns_csv(data, TODAY)
    assert [(row.given_names, row.document_number) for row in result.rows] == [
        ("Hélène", None),
        ("Reza", "P123"),
        ("Reza", "P124"),
    ]
    assert result.rejected == (RejectedRow(4, ("repeats line 2",)),)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "The file is empty."),
        (b"\xef\xbb\xbf\r\n\r\n", "The file is empty."),
        (HEADER.encode(), "The file has a header but no rows."),
        ("Hélène,Dubois".encode("latin-1"), "The file is not UTF-8 text"),
        (
            csv_bytes(
                "given_names,family name,date_of_birth,nationality,document_number",
                "Reza,Ahmadi,1995-07-21,AF,",
            ),
            "The header has no family_name, returned_on column.",
        ),
        (
            csv_bytes(HEADER + ",nationality", "Reza,Ahmadi,1995-07-21,AF,,2025-10-02,AF"),
            "The header has more than one nationality column.",
        ),
        (
            csv_bytes(HEADER, "Reza,Ahmadi,1995-07-21,AF,,2025-10-02", "x" * 200_000),
            "Line 3 could not be read as CSV: field larger than field limit",
        ),
    ],
)
def test_whole_file_problems(data: bytes, problem: str):
    result = parse_returns_csv(data, TODAY)
    assert result.problem is not None
    assert result.problem.startswith(problem)
    assert result.rows == result.rejected == ()


def test_too_many_rows(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(importing, "MAX_ROWS", 2)
    rows = [f"Reza,Ahmadi,1995-07-{day:02},AF,,2025-10-02" for day in (1, 2, 3)]
    assert parse_returns_csv(csv_bytes(HEADER, *rows[:2]), TODAY).problem is None
    result = parse_returns_csv(csv_bytes(HEADER, *rows), TODAY)
    assert result.problem == "The file has more than 2 rows. Split it into smaller files."


def test_an_imported_row_matches_an_applicant():
    data = csv_bytes(HEADER, "Muhammad,Alhasan,21/07/1995,SYR,,2025-10-02")
    (row,) = parse_returns_csv(data, TODAY).rows
    applicant = person("Mohammed", "Al-Hassan", BORN, "SY")
    assert possible_matches(applicant, [(1, row.person())]) == [
        (1, Match(score=100, fields=("name", "date_of_birth", "nationality")))
    ]
