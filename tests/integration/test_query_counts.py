"""SQL statements per page: each page keeps to a budget, and none grows with the data it lists.

Why: a page that issues one query per family member, per assisted applicant or per queue item is
fast in tests and slow in production, where a family group, a day centre's caseload or the
checking queue are large. The budgets below were measured on SQLite and PostgreSQL (the larger of
the two, plus a little headroom): a change that adds statements to a page fails here, and whoever
makes it either removes them or raises the budget knowingly. The N+1 checks render the same page
with n and 4n rows behind it and require the same number of statements.

Statements are counted with SQLAlchemy's `before_cursor_execute` on the app's engine, so every
statement the request sends is counted, whichever module sends it. The session's "last seen" write
(once a minute, see auth.sessions.TOUCH_INTERVAL) is switched off so that counts do not depend on
how long the test took: a real request pays one more UPDATE at most once a minute.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, insert, select, update
from werkzeug.test import TestResponse

from portal.apply import references
from portal.auth import sessions
from portal.config import PROJECT_ROOT
from portal.extensions import db
from portal.models import (
    Application,
    Assistance,
    FamilyGroup,
    QueueItem,
    Role,
    Status,
    User,
    utcnow,
)
from portal.queue.backends import DatabaseQueue
from tests.apply_helpers import (
    ELIGIBLE,
    MAIN_APPLICANT_ALONE,
    answer_eligibility,
    open_a_window,
    send_application,
    upload_required_documents,
)
from tests.conftest import POSTGRES_URL
from tests.helpers import csrf_token, make_support_worker, make_user, sign_in, sign_in_staff
from tests.queue_helpers import queued_applications

DATABASE = "postgresql" if POSTGRES_URL else "sqlite"

# Statements per request. Measured the same on SQLite and PostgreSQL; budget = measured + 2 or 3.
# The question budgets hold for every page of MAIN_APPLICANT_ALONE (each one measured the same).
BUDGETS: dict[str, int] = {
    # page                       budget  # measured (SQLite = PostgreSQL)
    # The session check brings the user, the current application and whether a form is held
    # (auth.routes.load_user): an applicant page's first statement serves all three.
    "start (opens the draft)": 6,  # 4
    "task list": 4,  # 2
    "question GET": 3,  # 1
    "question POST": 4,  # 2
    "documents overview": 4,  # 2
    "check answers": 5,  # 3
    "send": 21,  # 18
    "status": 8,  # 7
    "status, family of 5": 10,  # 8, and 8 with 20 (family progress and the messages list)
    "casework dashboard": 12,  # 10, with 10 or 40 queue items
    "casework application": 21,  # 18, family group of 5 or 20
    "dead letters": 6,  # 4, with 2 or 8 dead letters
    "support list": 5,  # 3, with 1 or 20 applicants
}

# QUERY_COUNTS_TRACE=1 adds to each statement the portal code and template lines it came from:
#   QUERY_COUNTS_TRACE=1 .venv/bin/pytest tests/integration/test_query_counts.py
TRACE = bool(os.environ.get("QUERY_COUNTS_TRACE"))
_OURS = (str(PROJECT_ROOT / "portal"), str(PROJECT_ROOT / "templates"))


class GrowsWithData(AssertionError):
    """A page sent more statements for more rows: an N+1 (the xfail marks name this exception,
    so that a page merely over its budget still fails)."""


def _origin() -> list[str]:
    """Where the statement came from: the innermost lines of our code and templates."""
    found: list[str] = []
    frame = sys._getframe(2)
    while frame is not None and len(found) < 4:
        filename = frame.f_code.co_filename
        if filename.startswith(_OURS):
            line = frame.f_lineno
            template = frame.f_globals.get("__jinja_template__")
            if template is not None:
                line = template.get_corresponding_lineno(line)
            found.append(f"{Path(filename).relative_to(PROJECT_ROOT)}:{line}")
        frame = frame.f_back
    return found


@pytest.fixture(autouse=True)
def no_session_touch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The once-a-minute "last seen" UPDATE would make counts depend on the test's speed."""
    monkeypatch.setattr(sessions, "TOUCH_INTERVAL", timedelta(days=365))


@contextmanager
def recording(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement sent on the app's engine while the block runs."""
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def record(connection, cursor, statement, parameters, context, executemany) -> None:
        text = " ".join(statement.split())
        if TRACE:
            text += "  <- " + " <- ".join(_origin())
        statements.append(text)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def counted(
    app: Flask, client: FlaskClient, method: str, path: str, **kwargs: object
) -> tuple[TestResponse, list[str]]:
    with recording(app) as statements:
        response = client.open(path, method=method, **kwargs)
    return response, statements


def within_budget(page: str, statements: list[str]) -> None:
    # Printed for `pytest -s`: the numbers to put in BUDGETS after a deliberate change.
    print(f"\n{DATABASE}: {page}: {len(statements)} statements (budget {BUDGETS[page]})")
    listing = "\n".join(f"  {n + 1}. {_short(s)}" for n, s in enumerate(statements))
    assert len(statements) <= BUDGETS[page], (
        f"{page}: {len(statements)} statements on {DATABASE}, budget {BUDGETS[page]}:\n{listing}"
    )


def _short(statement: str) -> str:
    """The start of the statement, and where it came from when traced."""
    sql, _, origin = statement.partition("  <- ")
    return sql[:160] + (f"  <- {origin}" if origin else "")


def same_count(page: str, small: list[str], large: list[str], sizes: tuple[int, int]) -> None:
    """The N+1 check: the page sends as many statements for 4n rows as for n."""
    if len(small) != len(large):
        grown = Counter(large) - Counter(small)
        listing = "\n".join(f"  {times} more x {_short(s)}" for s, times in grown.most_common(10))
        raise GrowsWithData(
            f"{page}: {len(small)} statements with {sizes[0]}, {len(large)} with {sizes[1]} "
            f"on {DATABASE}: the count grows with the data. Repeated more often:\n{listing}"
        )


# --- The applicant's journey --------------------------------------------------------------------


def test_the_applicant_journey_keeps_to_its_budgets(app, client):
    open_a_window(app)
    make_user(app, "amina@example.org")
    answer_eligibility(client)
    sign_in(client, "amina@example.org")

    response, statements = counted(app, client, "GET", "/en/application/start")
    assert response.headers["Location"] == "/en/application/tasks"
    within_budget("start (opens the draft)", statements)

    response, statements = counted(app, client, "GET", "/en/application/tasks")
    assert response.status_code == 200
    within_budget("task list", statements)

    for name, data in MAIN_APPLICANT_ALONE:
        path = f"/en/application/questions/{name}"
        page, statements = counted(app, client, "GET", path)
        assert page.status_code == 200, (name, page.status_code)
        within_budget("question GET", statements)
        response, statements = counted(
            app, client, "POST", path, data={**data, "csrf_token": csrf_token(page.text)}
        )
        assert response.status_code == 302, (name, response.text[-2000:])
        within_budget("question POST", statements)

    upload_required_documents(client)
    response, statements = counted(app, client, "GET", "/en/application/documents")
    assert response.status_code == 200
    within_budget("documents overview", statements)

    page, statements = counted(app, client, "GET", "/en/application/check-your-answers")
    assert page.status_code == 200
    within_budget("check answers", statements)

    key = page.text.split('name="submission_key" value="', 1)[1].split('"', 1)[0]
    response, statements = counted(
        app,
        client,
        "POST",
        "/en/application/check-your-answers",
        data={"csrf_token": csrf_token(page.text), "submission_key": key},
    )
    assert response.headers["Location"] == "/en/application/sent", response.text[-2000:]
    within_budget("send", statements)

    response, statements = counted(app, client, "GET", "/en/application/status")
    assert response.status_code == 200
    within_budget("status", statements)


# --- Family groups -------------------------------------------------------------------------------


def add_family_members(app: Flask, count: int, email: str = "amina@example.org") -> None:
    """`count` more sent applications in the family group of `email`'s application, each listed
    by the main applicant, straight in the database (the pages that make them are tested
    elsewhere)."""
    with app.app_context():
        # The members' answers are copies of the main applicant's, email included.
        main = db.session.scalar(
            select(Application).where(
                Application.answers["contact"]["email"].as_string() == email,
                Application.answers["applicant_type"]["applicant_type"].as_string() == "main",
            )
        )
        existing = db.session.query(Application).filter_by(family_group_id=main.family_group_id)
        start = existing.count()
        users, applications = [], []
        for index in range(start, start + count):
            user_id = uuid.uuid4()
            users.append({"id": user_id, "email": f"member-{user_id.hex}@example.org"})
            applications.append(
                {
                    "id": uuid.uuid4(),
                    "applicant_id": user_id,
                    "status": Status.SUBMITTED.value,
                    "answers": {
                        **main.answers,
                        "applicant_type": {"applicant_type": "family_member"},
                        "names": {"given_names": f"Member {index}", "family_name": "Kareem"},
                    },
                    "eligibility": dict(ELIGIBLE),
                    "reference": references.new_reference(),
                    "submitted_at": utcnow(),
                    "window_id": main.window_id,
                    "family_group_id": main.family_group_id,
                }
            )
        db.session.execute(insert(User), users)
        db.session.execute(insert(Application), applications)
        # The main applicant listed them, so their status page shows each as sent.
        listed = main.answers.get("family_members") or {"members": [], "complete": True}
        main.answers = {
            **main.answers,
            "travelling": {"travelling": "with_family"},
            "family_members": {
                **listed,
                "members": [
                    *listed["members"],
                    *(
                        {
                            "id": uuid.uuid4().hex,
                            "full_name": f"{a['answers']['names']['given_names']} Kareem",
                            "relationship": "sibling",
                            "date_of_birth": main.answers["birth"]["date_of_birth"],
                        }
                        for a in applications
                    ),
                ],
            },
        }
        db.session.commit()


def group_size(app: Flask) -> int:
    with app.app_context():
        group = db.session.scalar(select(FamilyGroup))
        return len(group.applications)


def test_the_status_page_does_not_grow_with_the_family_group(app, client):
    send_application(client, app)
    add_family_members(app, 4)
    assert group_size(app) == 5
    client.get("/en/application/status")
    response, five = counted(app, client, "GET", "/en/application/status")
    assert response.text.count("Member ") == 4 and "Not sent yet" not in response.text
    within_budget("status, family of 5", five)

    add_family_members(app, 15)
    assert group_size(app) == 20
    response, twenty = counted(app, client, "GET", "/en/application/status")
    assert response.text.count("Member ") == 19
    same_count("status", five, twenty, (5, 20))


# --- The caseworker's screens --------------------------------------------------------------------


def caseworker(app: Flask, email: str = "cw@example.org") -> FlaskClient:
    client = app.test_client()
    make_user(app, email, Role.CASEWORKER)
    sign_in_staff(client, app, email)
    return client


def fill_the_queue(app: Flask, waiting: int, held: int) -> None:
    """`waiting` items in the queue and `held` more claimed by other caseworkers."""
    queued_applications(app, waiting + held)
    queue = DatabaseQueue(timedelta(minutes=30), max_receives=5)
    with app.app_context():
        workers = [uuid.uuid4() for _ in range(held)]
        db.session.execute(
            insert(User),
            [
                {"id": w, "email": f"cw-{w.hex}@example.org", "role": Role.CASEWORKER}
                for w in workers
            ],
        )
        db.session.commit()
        for worker_id in workers:
            assert queue.claim(worker_id) is not None
        db.session.commit()


def test_the_dashboard_does_not_grow_with_the_queue(app):
    client = caseworker(app)
    fill_the_queue(app, waiting=5, held=5)
    client.get("/en/casework/")
    response, small = counted(app, client, "GET", "/en/casework/")
    assert response.status_code == 200
    within_budget("casework dashboard", small)

    fill_the_queue(app, waiting=15, held=15)
    response, large = counted(app, client, "GET", "/en/casework/")
    assert response.status_code == 200
    same_count("casework dashboard", small, large, (10, 40))


def claimed_application_page(
    app: Flask, client: FlaskClient, members: int
) -> tuple[FlaskClient, str]:
    """A caseworker holding Amina's application, in a family group of 1 + `members`; returns the
    caseworker's client, which has already seen the page once."""
    send_application(client, app)
    add_family_members(app, members)
    staff = caseworker(app)
    page = staff.get("/en/casework/")
    claimed = staff.post("/en/casework/next", data={"csrf_token": csrf_token(page.text)})
    path = claimed.headers["Location"]
    assert "/applications/" in path, path
    staff.get(path)
    return staff, path


def test_the_application_page_keeps_to_its_budget(app, client):
    staff, path = claimed_application_page(app, client, 4)
    response, statements = counted(app, staff, "GET", path)
    assert response.status_code == 200
    assert all(f"Member {n} Kareem" in response.text for n in range(1, 5))
    within_budget("casework application", statements)


def test_the_application_page_does_not_grow_with_the_family_group(app, client):
    staff, path = claimed_application_page(app, client, 4)
    response, five = counted(app, staff, "GET", path)
    assert response.status_code == 200

    add_family_members(app, 15)
    response, twenty = counted(app, staff, "GET", path)
    assert response.status_code == 200
    assert all(f"Member {n} Kareem" in response.text for n in range(1, 20))
    same_count("casework application", five, twenty, (5, 20))


def dead_letters(app: Flask, count: int) -> None:
    """`count` more queue items that failed too many times, straight in the database."""
    ids = queued_applications(app, count)
    with app.app_context():
        db.session.execute(
            update(QueueItem)
            .where(QueueItem.id.in_(ids))
            .values(receive_count=5, dead_lettered_at=utcnow())
        )
        db.session.commit()


def test_the_dead_letters_page_does_not_grow_with_the_dead_letters(app):
    admin = app.test_client()
    make_user(app, "admin@example.org", Role.ADMIN)
    sign_in_staff(admin, app, "admin@example.org")
    dead_letters(app, 2)
    admin.get("/en/casework/dead-letters")
    response, small = counted(app, admin, "GET", "/en/casework/dead-letters")
    assert response.status_code == 200 and response.text.count("/applications/") == 2
    within_budget("dead letters", small)

    dead_letters(app, 6)
    response, large = counted(app, admin, "GET", "/en/casework/dead-letters")
    assert response.status_code == 200 and response.text.count("/applications/") == 8
    same_count("dead letters", small, large, (2, 8))


# --- The support worker's list -------------------------------------------------------------------


def support_worker(app: Flask) -> tuple[FlaskClient, uuid.UUID, uuid.UUID]:
    worker = make_support_worker(app, organisation="Day centre Calais")
    organisation_id = worker.organisation_id
    client = app.test_client()
    sign_in_staff(client, app, "worker@example.org")
    return client, organisation_id, worker.id


def assist(app: Flask, organisation_id: uuid.UUID, worker_id: uuid.UUID, count: int) -> None:
    """`count` applicants helped by the organisation, straight in the database: every third has
    not started, the others have a draft or a sent application."""
    now = utcnow()
    users, assistances, applications = [], [], []
    with app.app_context():
        start = db.session.query(Assistance).count()
    for index in range(start, start + count):
        applicant_id = uuid.uuid4()
        users.append({"id": applicant_id, "role": Role.APPLICANT, "locale": "ps"})
        assistances.append(
            {
                "id": uuid.uuid4(),
                "applicant_id": applicant_id,
                "organisation_id": organisation_id,
                "started_by_id": worker_id,
                "label": f"Helped {index}",
                "consent_given_at": now,
                "consent_locale": "ps",
                "consent_method": "read_aloud",
                "consent_text": "consent",
            }
        )
        if index % 3:
            sent = index % 3 == 2
            applications.append(
                {
                    "id": uuid.uuid4(),
                    "applicant_id": applicant_id,
                    "status": Status.SUBMITTED.value if sent else Status.DRAFT.value,
                    "answers": {"names": {"given_names": "Gul", "family_name": f"Khan {index}"}},
                    "eligibility": dict(ELIGIBLE),
                    "reference": references.new_reference() if sent else None,
                    "submitted_at": now if sent else None,
                }
            )
    with app.app_context():
        db.session.execute(insert(User), users)
        db.session.execute(insert(Assistance), assistances)
        if applications:
            db.session.execute(insert(Application), applications)
        db.session.commit()


def test_the_support_list_does_not_grow_with_the_assisted_applicants(app):
    client, organisation_id, worker_id = support_worker(app)
    assist(app, organisation_id, worker_id, 1)
    client.get("/en/support/")
    response, one = counted(app, client, "GET", "/en/support/")
    assert response.status_code == 200 and response.text.count("Helped ") == 1
    within_budget("support list", one)

    assist(app, organisation_id, worker_id, 19)
    response, twenty = counted(app, client, "GET", "/en/support/")
    assert response.status_code == 200 and response.text.count("Helped ") == 20
    same_count("support list", one, twenty, (1, 20))
