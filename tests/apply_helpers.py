"""Filling in the Expression of Interest in tests: valid answers for every page, as a browser sends them."""

from __future__ import annotations

import io
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from portal.apply import windows
from portal.models import utcnow
from tests.helpers import make_user, sign_in, submit

ELIGIBLE = {
    "in_france": "yes",
    "age": "yes",
    "eea_national": "no",
    "eea_family_member": "no",
    "identity_document": "yes",
    "uk_illegal_entry": "no",
    "returned_from_uk": "no",
    "protection_status": "no",
    "french_residence": "no",
}

# Page name -> form fields, in the order a main applicant alone sees them.
MAIN_APPLICANT_ALONE: list[tuple[str, dict[str, str | list[str]]]] = [
    ("applicant_type", {"applicant_type": "main"}),
    ("travelling", {"travelling": "alone"}),
    ("names", {"given_names": "Amina", "family_name": "Kareem"}),
    ("other_names", {"answer": "no", "details": ""}),
    (
        "birth",
        {
            "date_of_birth": ["27", "3", "1990"],
            "place_of_birth": "Aleppo",
            "country_of_birth": "SY",
        },
    ),
    ("sex", {"sex": "female"}),
    ("nationality", {"nationality": "SY", "other_nationality": ""}),
    ("relationship_status", {"relationship_status": "single"}),
    (
        "document",
        {
            "document_type": "passport",
            "document_number": "N 0123456",
            "issuing_country": "SY",
            "issue_date": ["5", "11", "2019"],
            "expiry_date": ["4", "11", "2031"],
        },
    ),
    (
        "address",
        {
            "address": "Accueil de jour, rue de Moscou",
            "town": "Calais",
            "living_since": ["3", "2025"],
        },
    ),
    ("contact", {"email": "amina@example.org", "mobile": "06 12 34 56 78"}),
    (
        "uk_family",
        {
            "answer": "yes",
            "relationship": "Brother",
            "full_name": "Omar Kareem",
            "immigration_status": "refugee",
        },
    ),
    ("uk_visas", {"answer": "no", "details": ""}),
    ("uk_refusals", {"answer": "no", "details": ""}),
    ("uk_removals", {"answer": "no", "details": ""}),
    ("convictions", {"answer": "no", "details": ""}),
    ("war_crimes", {"answer": "no", "details": ""}),
    ("terrorism", {"answer": "no", "details": ""}),
    ("languages", {"languages_spoken": "Arabic, French", "message_language": "ar"}),
]


def open_a_window(app: Flask, places: int = 100) -> None:
    with app.app_context():
        now = utcnow()
        windows.create_window(
            "Test window", now - timedelta(hours=1), now + timedelta(days=30), places
        )


def answer_eligibility(client: FlaskClient, locale: str = "en") -> None:
    for name, answer in ELIGIBLE.items():
        response = submit(client, f"/{locale}/eligibility/{name}", {"answer": answer})
        assert response.status_code == 302, (name, response.text)


def answer_page(
    client: FlaskClient, name: str, data: dict, locale: str = "en", **kwargs: object
) -> TestResponse:
    return submit(client, f"/{locale}/application/questions/{name}", data, **kwargs)


def start_application(
    client: FlaskClient, app: Flask, email: str = "amina@example.org", locale: str = "en"
) -> None:
    """A signed-in applicant with a draft, past the eligibility questions."""
    make_user(app, email)
    answer_eligibility(client, locale)
    sign_in(client, email, locale=locale)
    response = client.get(f"/{locale}/application/start")
    assert response.headers["Location"] == f"/{locale}/application/tasks", response.headers.get(
        "Location"
    )


def fill_in(client: FlaskClient, pages=MAIN_APPLICANT_ALONE, locale: str = "en") -> None:
    """Answer the pages; when they finish the form, upload the documents it needs too."""
    for name, data in pages:
        response = answer_page(client, name, data, locale)
        assert response.status_code == 302, (name, response.text[-3000:])
    if pages and pages[-1][0] == "languages":
        upload_required_documents(client, locale)


def send_draft(client: FlaskClient, locale: str = "en") -> None:
    """Press "send" on a complete draft, as its check-your-answers page offers it."""
    import re

    from tests.helpers import csrf_token

    page = client.get(f"/{locale}/application/check-your-answers")
    key = re.search(r'name="submission_key" value="([^"]+)"', page.text)
    assert key, page.text[-2000:]
    response = client.post(
        f"/{locale}/application/check-your-answers",
        data={"csrf_token": csrf_token(page.text), "submission_key": key.group(1)},
    )
    assert response.headers["Location"] == f"/{locale}/application/sent", response.text[-2000:]


def send_application(client: FlaskClient, app: Flask, email: str = "amina@example.org") -> None:
    """A main applicant alone, from eligibility to sent, through the pages."""
    open_a_window(app)
    start_application(client, app, email)
    fill_in(client)
    send_draft(client)


def send_family_member(
    client: FlaskClient, app: Flask, email: str, family_reference: str, given_names: str
) -> None:
    """An adult family member who applies with the main applicant's family reference."""
    start_application(client, app, email)
    answer_page(client, "applicant_type", {"applicant_type": "family_member"})
    response = answer_page(client, "family_reference", {"family_reference": family_reference})
    assert response.status_code == 302, response.text[-2000:]
    pages = []
    for name, data in MAIN_APPLICANT_ALONE:
        if name in ("applicant_type", "travelling"):
            continue
        if name == "contact":
            data = {**data, "email": email, "mobile": ""}
        if name == "names":
            data = {**data, "given_names": given_names}
        pages.append((name, data))
    fill_in(client, pages)
    send_draft(client)


def photo_bytes(
    size: tuple[int, int] = (64, 48), colour: str = "teal", kind: str = "JPEG"
) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, kind)
    return buffer.getvalue()


def pdf_bytes(pages: int = 1) -> bytes:
    import pikepdf

    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page()
    buffer = io.BytesIO()
    pdf.save(buffer)
    return buffer.getvalue()


def upload(
    client: FlaskClient,
    kind: str,
    content: bytes,
    name: str,
    part: str | None = None,
    locale: str = "en",
    query: str = "",
) -> TestResponse:
    """Post one file to the upload page, as a browser's file input would."""
    data: dict[str, object] = {"file": (io.BytesIO(content), name)}
    if part is not None:
        data["part"] = part
    return submit(
        client,
        f"/{locale}/application/documents/{kind}/add{query}",
        data,
        content_type="multipart/form-data",
    )


def upload_required_documents(client: FlaskClient, locale: str = "en") -> None:
    for kind, part, content, name in (
        ("identity", "data_page", photo_bytes(), "passport.jpg"),
        ("photo", None, photo_bytes(colour="orange"), "face.jpg"),
    ):
        response = upload(client, kind, content, name, part, locale)
        assert response.status_code == 302, (kind, response.text[-3000:])
    page = client.get(f"/{locale}/application/documents")
    if 'id="kind-relationship"' in page.text and "certificate.pdf" not in page.text:
        response = upload(client, "relationship", pdf_bytes(), "certificate.pdf", None, locale)
        assert response.status_code == 302, response.text[-3000:]


def send_main_with_family(
    client: FlaskClient,
    app: Flask,
    members: list[dict[str, str | list[str]]],
    email: str = "amina@example.org",
    locale: str = "en",
) -> None:
    """A main applicant who lists family members (full_name, relationship, date_of_birth as the
    date parts) and sends, through the pages; a window must be open."""
    start_application(client, app, email, locale)
    answer_page(client, "applicant_type", {"applicant_type": "main"}, locale)
    answer_page(client, "travelling", {"travelling": "with_family"}, locale)
    for member in members:
        response = answer_page(client, "family_members", {**member, "add": "1"}, locale)
        assert response.status_code == 302, response.text[-2000:]
    response = answer_page(client, "family_members", {"finished": "1"}, locale)
    assert response.status_code == 302, response.text[-2000:]
    pages = [
        (name, {**data, "email": email} if name == "contact" else data)
        for name, data in MAIN_APPLICANT_ALONE
        if name not in ("applicant_type", "travelling")
    ]
    fill_in(client, pages, locale)
    send_draft(client, locale)


def send_member(
    client: FlaskClient,
    app: Flask,
    email: str,
    family_reference: str,
    names: tuple[str, str],
    born: list[str],
    locale: str = "en",
) -> None:
    """An adult family member who applies with the family reference, with their own name (given,
    family) and date of birth (day, month, year), through the pages."""
    start_application(client, app, email, locale)
    answer_page(client, "applicant_type", {"applicant_type": "family_member"}, locale)
    response = answer_page(
        client, "family_reference", {"family_reference": family_reference}, locale
    )
    assert response.status_code == 302, response.text[-2000:]
    pages = []
    for name, data in MAIN_APPLICANT_ALONE:
        if name in ("applicant_type", "travelling"):
            continue
        if name == "contact":
            data = {**data, "email": email, "mobile": ""}
        if name == "names":
            data = {"given_names": names[0], "family_name": names[1]}
        if name == "birth":
            data = {**data, "date_of_birth": born}
        if name == "document":
            data = {**data, "document_number": f"P {sum(map(ord, email)):07d}"}
        pages.append((name, data))
    fill_in(client, pages, locale)
    send_draft(client, locale)
