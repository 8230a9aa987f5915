"""A POST whose CSRF token is refused changes nothing and is never a 500, whatever the route.

Every POST route of the URL map is posted to without a token, by every kind of person (nobody,
applicants with a draft, a sent application, a request for more information and a booked
appointment, a caseworker, an admin, a support worker), with the ids of real rows and with unknown
ids, and with data that the action would accept: every row of every table must stay as it was.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal import audit, create_app
from portal.extensions import db
from portal.models import (
    Application,
    ApplicationWindow,
    Appointment,
    Assistance,
    Base,
    Centre,
    Document,
    Role,
    Slot,
    UnreadableQueueMessage,
    User,
    WordingProblem,
    WordingReport,
    utcnow,
)
from portal.security import form_page
from tests.apply_helpers import (
    answer_page,
    fill_in,
    open_a_window,
    photo_bytes,
    send_draft,
    start_application,
    upload,
)
from tests.appointment_helpers import invite, make_centre, make_slot
from tests.helpers import (
    audit_actions,
    csrf_token,
    make_support_worker,
    make_user,
    sent_messages,
    sign_in_staff,
    submit,
)

PARIS = ZoneInfo("Europe/Paris")

# What the actions would accept, were the token not refused: a form that ignored the refusal
# would change something, and the snapshot would show it.
PLAUSIBLE_DATA: dict[str, Any] = {
    "finished": "1",
    "add": "1",
    "answer": "yes",
    "applicant_type": "main",
    "travelling": "alone",
    "full_name": "Sara Kareem",
    "relationship": "child",
    "date_of_birth": ["1", "2", "2015"],
    "email": "new-person@example.org",
    "password": "another long enough passphrase",
    "password_confirm": "another long enough passphrase",
    "code": "123456",
    "submission_key": "refused-token-key",
    "decision": "more_information",
    "topics": ["face_photo"],
    "note": "Please send it again",
    "check": "identity",
    "outcome": "passed",
    "slot": "",
    "centre": "",
    "label": "Someone",
    "locale": "fa",
    "method": "read_aloud",
    "agreed": "y",
    "name": "A new name",
    "city": "Paris",
    "contact_email": "contact@example.org",
    "places": "10",
    "latitude": "48.85",
    "longitude": "2.35",
}


def snapshot() -> dict[str, list[str]]:
    """Every row of every table, as text, in a stable order."""
    rows = {}
    for table in Base.metadata.sorted_tables:
        rows[table.name] = sorted(repr(tuple(row)) for row in db.session.execute(select(table)))
    db.session.rollback()
    return rows


def changed_tables(before: dict[str, list[str]], after: dict[str, list[str]]) -> list[str]:
    return [name for name in before if before[name] != after[name]]


def signed_in(app: Flask, email: str, role: Role) -> FlaskClient:
    client = app.test_client()
    make_user(app, email, role)
    sign_in_staff(client, app, email)
    return client


def sent_applicant(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    start_application(client, app, email)
    fill_in(client)
    send_draft(client)
    return client


def application_of(app: Flask, email: str) -> uuid.UUID:
    with app.app_context():
        return db.session.scalar(
            select(Application.id)
            .join(User, User.id == Application.applicant_id)
            .where(User.email == email)
        )


def claim_and_ask(caseworker: FlaskClient) -> str:
    """The caseworker claims the next application; its page's path."""
    page = caseworker.get("/en/casework/")
    claimed = caseworker.post("/en/casework/next", data={"csrf_token": csrf_token(page.text)})
    assert claimed.status_code == 302, claimed.text[-2000:]
    return claimed.headers["Location"]


@pytest.fixture
def draft(app: Flask) -> FlaskClient:
    """An applicant with a draft: a family member not yet marked complete, and a photo."""
    open_a_window(app)
    client = app.test_client()
    start_application(client, app, "draft@example.org")
    for name, data in (
        ("applicant_type", {"applicant_type": "main"}),
        ("travelling", {"travelling": "with_family"}),
    ):
        assert answer_page(client, name, data).status_code == 302
    added = answer_page(
        client,
        "family_members",
        {
            "add": "1",
            "full_name": "Sara Kareem",
            "relationship": "child",
            "date_of_birth": ["1", "2", "2015"],
        },
    )
    assert added.status_code == 302, added.text[-2000:]
    assert upload(client, "photo", photo_bytes(), "face.jpg").status_code == 302
    return client


@pytest.fixture
def world(app: Flask, draft: FlaskClient) -> dict[str, Any]:
    """People in every state the POST routes act on, signed in, and the ids of their rows."""
    people: dict[str, FlaskClient] = {"nobody": app.test_client(), "draft": draft}

    # Sent applications: one asked for more information, one claimed, one with an appointment.
    people["asked"] = sent_applicant(app, "asked@example.org")
    people["claimed"] = sent_applicant(app, "claimed@example.org")
    people["booked"] = sent_applicant(app, "booked@example.org")

    caseworker = signed_in(app, "caseworker@example.org", Role.CASEWORKER)
    asked_path = claim_and_ask(caseworker)
    page = caseworker.get(asked_path)
    asked = caseworker.post(
        asked_path + "/decision",
        data={
            "csrf_token": csrf_token(page.text),
            "decision": "more_information",
            "topics": ["face_photo"],
            "note": "Glasses off",
        },
    )
    assert asked.status_code == 302, asked.text[-2000:]
    claim_and_ask(caseworker)
    people["caseworker"] = caseworker

    centre = make_centre(app)
    starts = (utcnow() + timedelta(days=5)).replace(hour=9, minute=0, second=0, microsecond=0)
    slot = make_slot(app, centre, starts)
    spare = make_slot(app, centre, starts + timedelta(hours=1))
    booked_application = application_of(app, "booked@example.org")
    invite(app, booked_application)
    day = starts.astimezone(PARIS).date().isoformat()
    booking = submit(
        people["booked"], f"/en/application/appointment/centre/{centre}/{day}", {"slot": str(slot)}
    )
    assert booking.status_code == 302, booking.text[-2000:]

    people["admin"] = signed_in(app, "admin@example.org", Role.ADMIN)

    worker = make_support_worker(app, organisation="Day centre Calais")
    organisation_id = worker.organisation_id
    support = app.test_client()
    sign_in_staff(support, app, "worker@example.org")
    assert submit(support, "/en/support/new", {"label": "Gul", "locale": "ps"}).status_code == 302
    consent = submit(support, "/en/support/new/consent", {"method": "read_aloud", "agreed": "y"})
    assert consent.status_code == 302, consent.text[-2000:]
    people["support"] = support

    # Links by email: to confirm an address and to reset a password.
    visitor = app.test_client()
    registered = submit(
        visitor,
        "/en/create-account",
        {
            "email": "new@example.org",
            "password": PLAUSIBLE_DATA["password"],
            "password_confirm": PLAUSIBLE_DATA["password"],
        },
    )
    assert registered.status_code == 302, registered.text[-2000:]
    forgot = submit(visitor, "/en/forgot-password", {"email": "draft@example.org"})
    assert forgot.status_code == 302, forgot.text[-2000:]
    tokens = {}
    for message in sent_messages(app):
        for kind, token in re.findall(
            r"/(confirm-email|reset-password|presence)/([^\s/?]+)", message.body
        ):
            tokens[kind] = token

    with app.app_context():
        # A message the checking queue could not read, kept for admins to return or discard.
        unreadable = UnreadableQueueMessage(
            queue_url="http://127.0.0.1/queue/checks",
            sqs_message_id="sqs-message-1",
            body="not json",
            problem="not JSON",
        )
        db.session.add(unreadable)
        # A reader's report on the words of a page, for an admin to mark dealt with.
        report = WordingReport(
            locale="fr", page="/fr/", problem=next(iter(WordingProblem)).value, details="unclear"
        )
        db.session.add(report)
        db.session.commit()
        ids = {
            "message_id": str(unreadable.id),
            "report_id": str(report.id),
            "window_id": str(db.session.scalar(select(ApplicationWindow.id))),
            "action": "pause",
            "application_id": str(booked_application),
            "appointment_id": str(db.session.scalar(select(Appointment.id))),
            "assistance_id": str(db.session.scalar(select(Assistance.id))),
            "centre_id": str(db.session.scalar(select(Centre.id))),
            "document_id": str(db.session.scalar(select(Document.id))),
            "organisation_id": str(organisation_id),
            "slot_id": str(spare),
            "user_id": str(
                db.session.scalar(select(User.id).where(User.email == "worker@example.org"))
            ),
            "day": day,
            "kind": "identity",
            "member_id": (
                db.session.scalar(
                    select(Application.answers)
                    .join(User, User.id == Application.applicant_id)
                    .where(User.email == "draft@example.org")
                )["family_members"]["members"][0]["id"]
            ),
        }
        assert db.session.get(Slot, slot).booked == 1
    assert set(tokens) == {"confirm-email", "reset-password", "presence"}, tokens
    return {"people": people, "ids": ids, "tokens": tokens}


def real_values(endpoint: str, world: dict[str, Any]) -> dict[str, str]:
    values = dict(world["ids"])
    values["name"] = "in_france" if endpoint.startswith("eligibility.") else "family_members"
    kind = {"auth.confirm_email": "confirm-email", "auth.reset_password": "reset-password"}
    values["token"] = world["tokens"].get(kind.get(endpoint, "presence"), "no-such-token")
    return values


def unknown_values() -> dict[str, str]:
    """Ids of no row, malformed ids, an unknown step and document kind, a day that is no date."""
    unknown = str(uuid.uuid4())
    values = dict.fromkeys(
        (
            "application_id",
            "appointment_id",
            "assistance_id",
            "centre_id",
            "document_id",
            "organisation_id",
            "slot_id",
            "user_id",
            "member_id",
            "message_id",
            "report_id",
            "window_id",
        ),
        unknown,
    )
    return {
        **values,
        "day": "not-a-day",
        "action": "no-such-action",
        "kind": "no-such-kind",
        "name": "no-such-step",
        "token": "no-such-token",
    }


def post_routes(app: Flask) -> list[Any]:
    return [rule for rule in app.url_map.iter_rules() if "POST" in (rule.methods or ())]


def path_for(rule: Any, values: dict[str, str], locale: str) -> str:
    path = rule.rule.replace("<locale>", locale)
    for argument in rule.arguments - {"locale"}:
        path = re.sub(rf"<(?:[a-z]+:)?{argument}>", values[argument], path)
    assert "<" not in path, path
    return path


def test_every_post_route_is_known_to_this_test(app):
    """A new POST route with an argument this test cannot fill fails here, not silently."""
    known = set(unknown_values()) | {"locale"}
    for rule in post_routes(app):
        assert rule.arguments <= known, (rule.rule, rule.arguments - known)


def test_a_refused_token_changes_no_row_and_is_never_a_500(app, world):
    # A 500 is an answer here, as in production, so that every failing route is listed.
    app.config["PROPAGATE_EXCEPTIONS"] = False
    failures = []
    with app.app_context():
        before = snapshot()
    for who, client in world["people"].items():
        for rule in post_routes(app):
            for values, locale in (
                (real_values(rule.endpoint, world), "en"),
                (unknown_values(), "fa"),
            ):
                path = path_for(rule, values, locale)
                for data in (PLAUSIBLE_DATA, {**PLAUSIBLE_DATA, "csrf_token": "forged"}):
                    response = client.post(path, data=data)
                    if response.status_code >= 500:
                        failures.append(f"{who} POST {path}: {response.status_code}")
            with app.app_context():
                after = snapshot()
            if after != before:
                failures.append(f"{who} POST {rule.rule} changed {changed_tables(before, after)}")
                before = after
    assert not failures, "\n".join(failures)


def draft_answers(app: Flask) -> dict[str, Any]:
    with app.app_context():
        return db.session.scalar(
            select(Application.answers)
            .join(User, User.id == Application.applicant_id)
            .where(User.email == "draft@example.org")
        )


def test_the_family_list_is_not_marked_complete_without_a_token(app, draft):
    response = draft.post("/en/application/questions/family_members", data={"finished": "1"})
    assert response.status_code == 400
    assert "for your security we could not accept it" in response.text
    assert "Sara Kareem" in response.text, "the page is shown again, with the list"
    assert draft_answers(app)["family_members"]["complete"] is False

    response = submit(draft, "/en/application/questions/family_members", {"finished": "1"})
    assert response.status_code == 302, "with its token, the same button marks the list complete"
    assert draft_answers(app)["family_members"]["complete"] is True


@pytest.mark.parametrize(
    "path", ["/en/application/questions/no-such-step", "/en/application/documents/nothing/add"]
)
def test_an_unknown_page_with_a_refused_token_is_a_404_page(app, draft, path):
    response = draft.post(path, data={"answer": "yes"})
    assert response.status_code == 404
    assert "Page not found" in response.text


def test_a_form_page_that_commits_when_run_again_commits_nothing(app):
    """By construction: even a form page that would commit before its form is checked, and do
    something after the commit, changes nothing and does not reach what follows the commit."""
    reached_after_commit = []

    @form_page
    def careless() -> str:
        audit.record("careless_write")
        db.session.commit()
        reached_after_commit.append(True)
        return "written"

    app.add_url_rule("/<locale>/careless", "careless", careless, methods=["GET", "POST"])
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.test_client()
    response = client.post("/en/careless", data={"answer": "yes"})
    assert response.status_code == 400
    assert "Sorry, there is a problem with your request" in response.text
    assert reached_after_commit == []
    assert "careless_write" not in audit_actions(app)
    assert client.get("/en/careless").text == "written", "with no refused token, it commits"
    assert "careless_write" in audit_actions(app)


def test_many_refused_tokens_are_never_a_500_and_cost_no_allowance(config):
    """A refused form does nothing, so it counts against no rate limit (portal.ratelimit): an
    outside scanner's tokenless posts get the expired-form page, never a 500, and cannot use up
    the allowance of the people behind the same address."""
    config.RATELIMIT_ENABLED = True
    app = create_app(config)
    client = app.test_client()
    statuses = {
        client.post(
            "/en/sign-in", data={"email": "someone@example.org", "password": "x"}
        ).status_code
        for _ in range(25)
    }
    assert statuses == {400}
    with app.app_context():
        db.engine.dispose()
