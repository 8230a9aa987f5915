"""The caseworker's screens: claim, read, check, decide; the applicant's side of each decision."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from portal.extensions import db
from portal.models import (
    Application,
    AuditEvent,
    Document,
    FamilyGroup,
    QueueItem,
    ReturnedPerson,
    Role,
    ScanResult,
    Status,
    utcnow,
)
from tests.apply_helpers import send_family_member
from tests.factories import send_application
from tests.helpers import csrf_token, make_user, sent_messages, sign_in, sign_in_staff, submit

CASEWORK = "/en/casework"
CHECKS = ("identity", "eligibility", "presence", "returns_list", "duplicates", "suitability")


@pytest.fixture
def applicant(app, client):
    send_application(client, app)
    return client


def caseworker(app, email="cw@example.org"):
    client = app.test_client()
    make_user(app, email, Role.CASEWORKER)
    sign_in_staff(client, app, email)
    return client


def claim(client) -> str:
    """Press "Check the next application"; returns the application page's path."""
    response = press_next(client)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def press_next(client):
    page = client.get(CASEWORK + "/")
    return client.post(CASEWORK + "/next", data={"csrf_token": csrf_token(page.text)})


def the_application(app, email="amina@example.org") -> Application:
    with app.app_context():
        application = db.session.scalar(
            select(Application).where(Application.answers["contact"]["email"].as_string() == email)
        )
        db.session.expunge(application)
        return application


def post_on(client, page_path: str, action: str, data: dict):
    page = client.get(page_path)
    return client.post(f"{page_path}/{action}", data={"csrf_token": csrf_token(page.text), **data})


def pass_every_check(client, page_path: str) -> None:
    for check in CHECKS:
        response = post_on(client, page_path, "checks", {"check": check, "outcome": "passed"})
        assert response.status_code == 302, response.text[-2000:]


def test_only_caseworkers_past_two_factor_reach_the_screens(app, applicant):
    assert applicant.get(CASEWORK + "/").status_code == 404
    application = the_application(app)
    assert applicant.get(f"{CASEWORK}/applications/{application.id}").status_code == 404

    half = app.test_client()
    make_user(app, "new-cw@example.org", Role.CASEWORKER)
    sign_in(half, "new-cw@example.org")
    response = half.get(CASEWORK + "/")
    assert response.status_code == 302 and "/two-factor" in response.headers["Location"]

    support = app.test_client()
    make_user(app, "support@example.org", Role.SUPPORT)
    sign_in_staff(support, app, "support@example.org")
    assert support.get(CASEWORK + "/").status_code == 404


def test_the_back_office_is_served_in_english(app):
    client = caseworker(app)
    response = client.get("/ar/casework/")
    assert response.status_code == 302 and response.headers["Location"] == "/en/casework/"
    page = client.get("/en/casework/")
    assert '<html lang="en" dir="ltr"' in page.text or 'lang="en"' in page.text


def test_claim_view_check_and_invite(app, applicant):
    client = caseworker(app)
    dashboard = client.get(CASEWORK + "/")
    assert "Waiting to be checked" in dashboard.text
    path = claim(client)
    application = the_application(app)
    assert path.endswith(str(application.id))
    assert application.status == Status.IN_CHECKS.value

    page = client.get(path)
    assert page.status_code == 200
    for shown in ("Amina", "Kareem", "Aleppo", "N0123456", application.reference):
        assert shown in page.text, shown
    assert page.text.count("waiting for the virus scan") == 2, "the tests' set-up has no scanner"
    assert "/staff/documents/" not in page.text
    with app.app_context():
        db.session.execute(update(Document).values(scan_result=ScanResult.CLEAN.value))
        db.session.commit()
    page = client.get(path)
    assert page.text.count("/staff/documents/") == 2
    assert "No one on the returns list matches" in page.text

    refused = post_on(client, path, "decision", {"decision": "invite"})
    assert refused.status_code == 409
    assert "Every check must be recorded as passed" in refused.text

    pass_every_check(client, path)
    before = len(sent_messages(app))
    response = post_on(client, path, "decision", {"decision": "invite"})
    assert response.status_code == 302, response.text[-2000:]
    assert the_application(app).status == Status.INVITED_TO_BIOMETRICS.value
    told = sent_messages(app)[before:]
    assert {m.template for m in told} == {"application_updated"}
    assert all(m.locale == "ar" for m in told), "the applicant chose Arabic for messages"
    with app.app_context():
        [item] = db.session.scalars(select(QueueItem))
        assert item.completed_at is not None
        actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"queue_item_claimed", "application_viewed", "check_recorded"} <= actions
    assert "application_decided" in actions


def test_two_caseworkers_never_get_the_same_application(app, applicant):
    first, second = caseworker(app), caseworker(app, "cw2@example.org")
    claim(first)
    response = press_next(second)
    assert response.headers["Location"].endswith("/en/casework/")
    assert "No applications are waiting" in second.get(CASEWORK + "/").text
    path = f"{CASEWORK}/applications/{the_application(app).id}"
    page = second.get(path)
    assert "Not by you" in page.text and "Record the decision" not in page.text
    response = post_on(second, path, "decision", {"decision": "invite"})
    assert response.status_code == 409 and "no longer hold" in response.text


def test_release_puts_it_back_for_someone_else(app, applicant):
    first, second = caseworker(app), caseworker(app, "cw2@example.org")
    path = claim(first)
    response = post_on(first, path, "release", {})
    assert response.status_code == 302
    assert the_application(app).status == Status.SUBMITTED.value
    assert claim(second) == path


def test_asking_for_more_information_and_the_answer_sends_it_back_to_the_queue(app, applicant):
    client = caseworker(app)
    path = claim(client)
    response = post_on(
        client,
        path,
        "decision",
        {"decision": "more_information", "topics": ["face_photo", "other"], "note": "Glasses off"},
    )
    assert response.status_code == 302, response.text[-2000:]
    assert the_application(app).status == Status.MORE_INFORMATION.value

    status = applicant.get("/ar/application/status").text
    assert "Glasses off" not in status
    answer_page = applicant.get("/ar/application/more-information")
    assert answer_page.status_code == 200 and "Glasses off" in answer_page.text
    assert 'lang="en"' in answer_page.text, "the caseworker's English note is marked as English"

    empty = submit(applicant, "/ar/application/more-information", {"answer": "  "})
    assert empty.status_code == 400 and "govuk-error-summary" in empty.text
    sent = submit(applicant, "/ar/application/more-information", {"answer": "صورة جديدة غداً"})
    assert sent.status_code == 302
    assert the_application(app).status == Status.SUBMITTED.value

    path_again = claim(client)
    assert path_again == path
    assert "صورة جديدة غداً" in client.get(path).text


def test_a_not_valid_member_makes_the_whole_family_group_not_valid(app, applicant):
    with app.app_context():
        family_reference = db.session.scalar(select(FamilyGroup.reference))
    member = app.test_client()
    send_family_member(member, app, "omar@example.org", family_reference, "Omar")
    client = caseworker(app)
    omar = the_application(app, "omar@example.org")
    amina = the_application(app)
    # Amina was sent first and is claimed first; put her back and take Omar's.
    path = claim(client)
    assert path.endswith(str(amina.id))
    post_on(client, path, "release", {})
    with app.app_context():
        db.session.execute(
            update(QueueItem)
            .where(QueueItem.application_id == amina.id)
            .values(available_at=utcnow().replace(year=2100))
        )
        db.session.commit()
    path = claim(client)
    assert path.endswith(str(omar.id))
    response = post_on(
        client, path, "decision", {"decision": "invalid", "invalid_rule": "identity_not_confirmed"}
    )
    assert response.status_code == 302, response.text[-2000:]
    assert the_application(app, "omar@example.org").status == Status.INVALID.value
    assert the_application(app).status == Status.INVALID.value
    assert "We could not confirm who you are" in member.get("/en/application/status").text
    assert "Another application in your family group is not valid" in (
        applicant.get("/en/application/status").text
    )


def test_ineligible_needs_a_rule_and_explains_it(app, applicant):
    client = caseworker(app)
    path = claim(client)
    response = post_on(client, path, "decision", {"decision": "ineligible"})
    assert response.status_code == 409 and "Choose the rule" in response.text
    response = post_on(
        client,
        path,
        "decision",
        {"decision": "ineligible", "ineligible_rule": "returned_under_scheme"},
    )
    assert response.status_code == 302
    page = applicant.get("/en/application/status").text
    assert "People who have been sent back to France under this scheme cannot use it." in page


def test_a_match_on_the_returns_list_is_shown_with_the_fields_that_matched(app, applicant):
    admin = app.test_client()
    make_user(app, "admin@example.org", Role.ADMIN)
    sign_in_staff(admin, app, "admin@example.org")
    page = admin.get(CASEWORK + "/returns")
    csv_text = (
        "given_names,family_name,date_of_birth,nationality,document_number,returned_on\n"
        "Amena,Karim,27/03/1990,SYR,,2026-10-01\n"
        "Someone,Else,1980-01-01,AF,,2026-10-01\n"
        "Bad,Row,31/02/1990,SY,,2026-10-01\n"
    )
    response = admin.post(
        CASEWORK + "/returns",
        data={
            "csrf_token": csrf_token(page.text),
            "file": (__import__("io").BytesIO(csv_text.encode()), "returns.csv"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.text[-2000:]
    assert "Rows not added" in response.text and "date_of_birth" in response.text
    with app.app_context():
        assert db.session.query(ReturnedPerson).count() == 2

    client = caseworker(app)
    path = claim(client)
    page = client.get(path).text
    assert "Possible match on the list of people returned to France" in page
    assert "Amena Karim" in page and "date of birth" in page


def test_final_decision_keeps_parity_with_returns(app, applicant):
    application = the_application(app)
    with app.app_context():
        db.session.execute(
            update(Application)
            .where(Application.id == application.id)
            .values(status=Status.BIOMETRICS_ENROLLED.value)
        )
        db.session.commit()
    client = caseworker(app)
    path = f"{CASEWORK}/applications/{application.id}"
    data = {"security": "passed", "decision": "approve"}
    response = post_on(client, path, "final-decision", data)
    assert response.status_code == 409 and "would pass parity" in response.text
    assert the_application(app).status == Status.BIOMETRICS_ENROLLED.value

    admin_id = make_user(app, "admin@example.org", Role.ADMIN).id
    with app.app_context():
        db.session.add(
            ReturnedPerson(
                given_names="Someone",
                family_name="Returned",
                date_of_birth=utcnow().date().replace(year=1985),
                nationality="AF",
                returned_on=utcnow().date(),
                imported_by_id=admin_id,
            )
        )
        db.session.commit()
    response = post_on(client, path, "final-decision", data)
    assert response.status_code == 302, response.text[-2000:]
    assert the_application(app).status == Status.APPROVED.value
    assert "Your application is approved" in applicant.get("/en/application/status").text


def test_search_and_the_decisions_export(app, applicant):
    application = the_application(app)
    client = caseworker(app)
    for query in (
        application.reference.lower().replace("-", " "),
        "kareem",
        "Amina Kareem",
        "1990-03-27",
        "n0123456",
    ):
        page = client.get(CASEWORK + "/search", query_string={"q": query})
        assert application.reference in page.text, query
    nothing = client.get(CASEWORK + "/search", query_string={"q": "Nobody"})
    assert "No sent application matches" in nothing.text

    path = claim(client)
    post_on(
        client, path, "decision", {"decision": "invalid", "invalid_rule": "duplicate_application"}
    )
    export = client.get(CASEWORK + "/decisions.csv")
    assert export.headers["Content-Type"].startswith("text/csv")
    lines = export.text.strip().splitlines()
    assert lines[0] == "reference,nationality,decision,rule,decided_at_utc,decided_by"
    assert re.match(rf"{application.reference},SY,invalid,duplicate_application,", lines[1])
    assert "Amina" not in export.text and "Kareem" not in export.text
