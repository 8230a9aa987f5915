"""Support workers: consent first, acting for an applicant within their organisation only, the
handover code, ending the help, and the marks their work leaves in the record."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from portal.extensions import db
from portal.models import (
    AccountToken,
    Application,
    Appointment,
    Assistance,
    AuditEvent,
    Organisation,
    Role,
    TokenPurpose,
    User,
    utcnow,
)
from tests.apply_helpers import MAIN_APPLICANT_ALONE, answer_eligibility, fill_in, open_a_window
from tests.apply_helpers import send_draft as press_send
from tests.appointment_helpers import invite, make_centre, make_slot
from tests.helpers import csrf_token, make_user, sent_messages, sign_in, sign_in_staff, submit

SUPPORT = "/en/support"


def organisation(app, name="Day centre Calais") -> uuid.UUID:
    with app.app_context():
        found = Organisation(name=name, city="Calais", contact_email="contact@centre.example.org")
        db.session.add(found)
        db.session.commit()
        return found.id


def worker(app, email="worker@example.org", organisation_id=None):
    """A signed-in support worker of the organisation (made if not given)."""
    organisation_id = organisation_id or organisation(app)
    make_user(app, email, Role.SUPPORT)
    with app.app_context():
        db.session.execute(
            update(User).where(User.email == email).values(organisation_id=organisation_id)
        )
        db.session.commit()
    client = app.test_client()
    sign_in_staff(client, app, email)
    return client


def start_helping(client, label="Gul", locale="ps", **consent) -> str:
    """Name, language, consent: returns the assistance id; the worker now acts for them."""
    assert submit(client, SUPPORT + "/new", {"label": label, "locale": locale}).status_code == 302
    data = {"method": "read_aloud", "agreed": "y", **consent}
    response = submit(client, SUPPORT + "/new/consent", data)
    assert response.status_code == 302, response.text[-1500:]
    assert response.headers["Location"] == f"/{locale}/eligibility"
    page = client.get(SUPPORT + "/")
    return re.search(r"/support/applicants/([0-9a-f-]{36})", page.text).group(1)


def assistance_of(app, assistance_id) -> Assistance:
    with app.app_context():
        found = db.session.get(Assistance, uuid.UUID(assistance_id))
        db.session.expunge(found)
        return found


def test_nothing_is_kept_until_the_applicant_agrees(app):
    client = worker(app)
    submit(client, SUPPORT + "/new", {"label": "Gul", "locale": "ps"})
    page = client.get(SUPPORT + "/new/consent")
    assert 'lang="ps" dir="rtl"' in page.text, "the consent is shown in the applicant's language"
    response = client.post(
        SUPPORT + "/new/consent",
        data={"csrf_token": csrf_token(page.text), "method": "read_aloud"},
    )
    assert response.status_code == 200 and "Only continue if the applicant agrees" in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Assistance)) == 0
        applicants = select(func.count()).select_from(User).where(User.role == "applicant")
        assert db.session.scalar(applicants) == 0


def test_a_worker_fills_in_and_sends_an_application_for_the_applicant(app):
    open_a_window(app)
    client = worker(app)
    assistance_id = start_helping(client)
    record = assistance_of(app, assistance_id)
    assert record.consent_locale == "ps" and record.consent_method == "read_aloud"
    assert record.consent_text and record.consent_given_at is not None

    answer_eligibility(client)
    assert client.get("/en/application/start").headers["Location"] == "/en/application/tasks"
    pages = [
        (name, {**data, "email": "", "mobile": "06 12 34 56 78"} if name == "contact" else data)
        for name, data in MAIN_APPLICANT_ALONE
    ]
    fill_in(client, pages)
    press_send(client)
    assert "You are helping" in client.get("/en/application/status").text

    with app.app_context():
        application = db.session.scalar(select(Application))
        applicant = db.session.get(User, application.applicant_id)
        assert applicant.role == "applicant" and applicant.email is None
        assert application.applicant_id == record.applicant_id
        assert application.reference
        sent = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "application_status_changed",
                AuditEvent.subject_id == str(application.id),
            )
        ).all()
        worker_id = db.session.scalar(select(User.id).where(User.email == "worker@example.org"))
    assert [event.actor_id for event in sent] == [worker_id]
    assert sent[0].details["on_behalf_of"] == str(record.applicant_id)
    assert sent[0].details["reason"] == "sent with the help of a support worker"

    caseworker = app.test_client()
    make_user(app, "cw@example.org", Role.CASEWORKER)
    sign_in_staff(caseworker, app, "cw@example.org")
    page = caseworker.get(f"/en/casework/applications/{application.id}")
    assert "Filled in with the help of Day centre Calais" in page.text


def test_another_organisations_worker_a_removed_worker_and_ended_help_all_get_404(app):
    client = worker(app)
    assistance_id = start_helping(client)
    other = worker(app, "other@example.org", organisation(app, "Legal aid Paris"))
    for path in (
        f"{SUPPORT}/applicants/{assistance_id}",
        f"{SUPPORT}/applicants/{assistance_id}/summary",
    ):
        assert other.get(path).status_code == 404
    page = other.get(SUPPORT + "/")
    assert assistance_id not in page.text
    refused = other.post(
        f"{SUPPORT}/applicants/{assistance_id}/act", data={"csrf_token": csrf_token(page.text)}
    )
    assert refused.status_code == 404
    with app.app_context():
        actions = list(db.session.scalars(select(AuditEvent.action)))
    assert "assistance.access_refused" in actions

    # Consent withdrawn: the organisation's access ends, the acting session too.
    page = client.get(f"{SUPPORT}/applicants/{assistance_id}")
    ended = client.post(
        f"{SUPPORT}/applicants/{assistance_id}/end", data={"csrf_token": csrf_token(page.text)}
    )
    assert ended.status_code == 302
    assert client.get(f"{SUPPORT}/applicants/{assistance_id}").status_code == 404
    assert client.get("/en/application/tasks").status_code == 404


def test_a_removed_worker_sees_nothing(app):
    client = worker(app)
    assistance_id = start_helping(client)
    assert client.get("/en/application/start").status_code == 302
    with app.app_context():
        db.session.execute(
            update(User).where(User.email == "worker@example.org").values(organisation_id=None)
        )
        db.session.commit()
    assert client.get(SUPPORT + "/").status_code == 404
    assert client.get(f"{SUPPORT}/applicants/{assistance_id}").status_code == 404
    assert client.get("/en/application/start").status_code == 404


def claim_code_for(client, assistance_id) -> str:
    page = client.get(f"{SUPPORT}/applicants/{assistance_id}")
    response = client.post(
        f"{SUPPORT}/applicants/{assistance_id}/claim-code",
        data={"csrf_token": csrf_token(page.text)},
    )
    assert response.status_code == 200
    # Only the code's own element: a bare pattern also matches inside the page's CSRF token.
    return re.search(
        r'class="app-code">([2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4})<', response.text
    ).group(1)


def test_the_claim_code_hands_over_once_and_the_applicant_can_end_the_help(app):
    client = worker(app)
    assistance_id = start_helping(client)
    code = claim_code_for(client, assistance_id)

    applicant = app.test_client()
    response = submit(applicant, "/ps/claim", {"code": code.lower().replace("-", " ")})
    assert response.headers["Location"] == "/ps/claim/sign-in-details"
    details = {
        "email": "gul@example.org",
        "password": "a long pass phrase",
        "password_confirm": "a long pass phrase",
    }
    done = submit(applicant, "/ps/claim/sign-in-details", details)
    assert done.status_code == 200 and "gul@example.org" in done.text
    assert any(m.recipient == "gul@example.org" for m in sent_messages(app))

    again = submit(app.test_client(), "/en/claim", {"code": code})
    assert "This code is wrong, used or too old" in again.text

    with app.app_context():
        db.session.execute(
            update(User).where(User.email == "gul@example.org").values(email_verified_at=utcnow())
        )
        db.session.commit()
    own = app.test_client()
    sign_in(own, "gul@example.org", "a long pass phrase")
    help_page = own.get("/en/application/help")
    assert "Day centre Calais" in help_page.text
    assert submit(own, "/en/application/help").status_code == 302
    assert client.get(f"{SUPPORT}/applicants/{assistance_id}").status_code == 404


def test_an_old_code_does_not_work(app):
    client = worker(app)
    code = claim_code_for(client, start_helping(client))
    with app.app_context():
        db.session.execute(
            update(AccountToken)
            .where(AccountToken.purpose == TokenPurpose.CLAIM_ACCOUNT.value)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        db.session.commit()
    response = submit(app.test_client(), "/en/claim", {"code": code})
    assert response.status_code == 200 and "This code is wrong, used or too old" in response.text


def test_the_printable_copy_is_in_the_applicants_language_and_english(app):
    open_a_window(app)
    client = worker(app)
    assistance_id = start_helping(client, locale="ar")
    answer_eligibility(client)
    client.get("/en/application/start")
    fill_in(client, MAIN_APPLICANT_ALONE[:5])
    page = client.get(f"{SUPPORT}/applicants/{assistance_id}/summary")
    assert page.status_code == 200
    assert 'lang="ar" dir="rtl"' in page.text and 'lang="en" dir="ltr"' in page.text
    assert page.text.count("Kareem") == 2, "each column shows the answers"


def test_messages_go_to_the_organisation_when_the_applicant_asked(app):
    open_a_window(app)
    client = worker(app)
    start_helping(client, through_organisation="y")
    answer_eligibility(client)
    client.get("/en/application/start")
    pages = [
        (name, {**data, "email": "", "mobile": "06 12 34 56 78"} if name == "contact" else data)
        for name, data in MAIN_APPLICANT_ALONE
    ]
    fill_in(client, pages)
    press_send(client)
    recipients = [m.recipient for m in sent_messages(app) if m.template == "application_submitted"]
    assert "contact@centre.example.org" in recipients and "+33612345678" in recipients


def test_an_admin_manages_organisations_and_workers(app):
    admin = app.test_client()
    make_user(app, "admin@example.org", Role.ADMIN)
    sign_in_staff(admin, app, "admin@example.org")
    response = submit(
        admin,
        "/en/casework/organisations/",
        {"name": "Legal aid Dunkirk", "city": "Dunkirk", "contact_email": "a@legal.example.org"},
    )
    assert response.status_code == 302
    page_path = response.headers["Location"]
    added = submit(admin, page_path, {"email": "new.worker@example.org"})
    assert added.status_code == 302
    reset = [m for m in sent_messages(app) if m.recipient == "new.worker@example.org"]
    assert reset and reset[-1].template == "reset_password"
    with app.app_context():
        new_worker = db.session.scalar(select(User).where(User.email == "new.worker@example.org"))
        assert new_worker.role == "support" and new_worker.organisation_id is not None
        worker_id = new_worker.id
    page = admin.get(page_path)
    removed = admin.post(
        f"/en/casework/organisations/workers/{worker_id}/remove",
        data={"csrf_token": csrf_token(page.text)},
    )
    assert removed.status_code == 302
    with app.app_context():
        assert db.session.get(User, worker_id).organisation_id is None
    refused = submit(admin, page_path, {"email": "admin@example.org"})
    assert refused.status_code == 400 and "not a support worker" in refused.text


@pytest.mark.parametrize("role", [Role.APPLICANT, Role.CASEWORKER])
def test_the_support_pages_are_only_for_support_workers(app, role):
    client = app.test_client()
    make_user(app, "someone@example.org", role)
    if role is Role.APPLICANT:
        sign_in(client, "someone@example.org")
    else:
        sign_in_staff(client, app, "someone@example.org")
    assert client.get(SUPPORT + "/").status_code == 404
    assert client.get(SUPPORT + "/new").status_code == 404


def test_a_worker_books_an_appointment_for_the_applicant_they_help(app):
    open_a_window(app)
    client = worker(app)
    assistance_id = start_helping(client)
    answer_eligibility(client)
    client.get("/en/application/start")
    fill_in(client)
    press_send(client)
    with app.app_context():
        application_id = db.session.scalar(select(Application.id))
    invite(app, application_id)
    centre = make_centre(app)
    start = (utcnow() + timedelta(days=5)).replace(hour=8, minute=0, second=0, microsecond=0)
    slot = make_slot(app, centre, start)
    paris_day = start.astimezone(ZoneInfo("Europe/Paris")).date().isoformat()
    booked = submit(
        client, f"/en/application/appointment/centre/{centre}/{paris_day}", {"slot": str(slot)}
    )
    assert booked.status_code == 302
    with app.app_context():
        appointment = db.session.scalar(select(Appointment))
        worker_id = db.session.scalar(select(User.id).where(User.email == "worker@example.org"))
    assert appointment.application_id == application_id and appointment.booked_by_id == worker_id
    assert assistance_of(app, assistance_id).ended_at is None
