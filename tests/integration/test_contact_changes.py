"""An applicant corrects their email address or mobile number, confirmed by a code sent to the new
one: nothing is lost, the old contact is told, and every way of getting it wrong changes nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from portal.extensions import db
from portal.models import (
    Application,
    ContactChange,
    Document,
    MessageStatus,
    Notification,
    PresenceCheck,
    Status,
    User,
    utcnow,
)
from portal.notify import LogBackend, OutgoingMessage, PermanentDeliveryError
from tests.factories import send_application
from tests.helpers import (
    PASSWORD,
    audit_actions,
    csrf_token,
    deliver_outbox,
    make_user,
    sent_messages,
    sign_in,
)

OLD_EMAIL = "amina@example.org"
OLD_MOBILE = "+33612345678"
NEW_EMAIL = "amina.kareem@example.net"
NEW_MOBILE = "+447911123456"


class Provider(LogBackend):
    """The log backend, refusing for ever the recipients in `refuse` (a wrong number)."""

    def __init__(self) -> None:
        super().__init__()
        self.refuse: set[str] = set()

    def deliver(self, message: OutgoingMessage) -> str | None:
        if message.recipient in self.refuse:
            raise PermanentDeliveryError("invalid number")
        return super().deliver(message)


@pytest.fixture
def provider(app):
    chosen = Provider()
    app.extensions["portal.notify"] = app.extensions["portal.sms"] = chosen
    return chosen


@pytest.fixture
def applicant(app, client, provider):
    """Amina, who sent her application, with her messages delivered."""
    send_application(client, app)
    deliver_outbox(app)
    return client


def post_form(client, path: str, data: dict[str, str], **kwargs):
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    return client.post(path, data={**data, "csrf_token": csrf_token(page.text)}, **kwargs)


def code_sent_to(app, recipient: str) -> str:
    codes = [m for m in sent_messages(app) if m.recipient == recipient]
    assert codes and codes[-1].template == "contact_code", [m.template for m in codes]
    match = re.search(r"\b(\d{6})\b", codes[-1].body)
    assert match, codes[-1].body
    return match.group(1)


def ask_for_code(client, kind: str, value: str, locale: str = "en"):
    field = "email" if kind == "email" else "mobile"
    return post_form(client, f"/{locale}/account/contact/{kind}", {field: value})


def enter_code(client, code: str, locale: str = "en", **kwargs):
    return post_form(client, f"/{locale}/account/contact/code", {"code": code}, **kwargs)


def snapshot(app) -> dict[str, object]:
    with app.app_context():
        application = db.session.scalar(select(Application))
        return {
            "reference": application.reference,
            "status": application.status,
            "answers": {k: v for k, v in application.answers.items() if k != "contact"},
            "documents": len(db.session.scalars(select(Document)).all()),
            "messages": len(db.session.scalars(select(Notification)).all()),
        }


def contact_of(app) -> tuple[str | None, dict]:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.role == "applicant"))
        application = db.session.scalar(select(Application))
        return user.email, application.answers.get("contact") or {}


def test_the_status_page_offers_to_change_the_email_and_the_mobile(app, applicant):
    page = applicant.get("/en/application/status").text
    assert "How we contact you" in page
    assert 'href="/en/account/contact/email"' in page
    assert 'href="/en/account/contact/mobile"' in page
    account = applicant.get("/en/account").text
    assert 'href="/en/account/contact/email"' in account


def test_an_applicant_changes_their_email_with_a_code_and_loses_nothing(app, applicant):
    before = snapshot(app)
    history = {m.id for m in _rows(app)}
    asked = ask_for_code(applicant, "email", "  Amina.Kareem@Example.NET ")
    assert asked.status_code == 302 and asked.headers["Location"] == "/en/account/contact/code"
    page = applicant.get("/en/account/contact/code").text
    assert NEW_EMAIL in page
    assert contact_of(app)[0] == OLD_EMAIL, "nothing changes before the code is entered"
    code = code_sent_to(app, NEW_EMAIL)
    with app.app_context():
        stored = db.session.scalar(select(ContactChange))
        assert code not in stored.code_hash and len(stored.code_hash) == 64
    done = enter_code(applicant, code, follow_redirects=True)
    assert done.status_code == 200
    assert "Your email address has been changed" in done.text
    email, contact = contact_of(app)
    assert email == NEW_EMAIL and contact["email"] == NEW_EMAIL
    assert contact["mobile"] == OLD_MOBILE
    after = snapshot(app)
    assert after["reference"] == before["reference"] and after["status"] == before["status"]
    assert after["answers"] == before["answers"] and after["documents"] == before["documents"]
    assert history <= {m.id for m in _rows(app)}, "every earlier message is kept"
    # The old address is told, in the applicant's message language (Arabic in these answers).
    notice = [m for m in sent_messages(app) if m.template == "email_changed"]
    assert [m.recipient for m in notice] == [OLD_EMAIL] and notice[0].locale == "ar"
    assert "NEW_EMAIL" not in notice[0].body and NEW_EMAIL not in notice[0].body
    # The status page still lists the messages sent to the old address.
    page = applicant.get("/en/application/status").text
    assert page.count("a•••@example.org") >= 2 and "a•••@example.net" in page
    # Sign-in is now with the new address; the old one no longer opens the account.
    fresh = app.test_client()
    assert sign_in(fresh, NEW_EMAIL).status_code == 302
    assert sign_in(app.test_client(), OLD_EMAIL).status_code == 200
    # Future messages go to the new address.
    with app.test_request_context():
        from portal.notify.applicants import tell_applicant

        tell_applicant(db.session.scalar(select(Application)), "application_updated")
        db.session.commit()
    updated = [m.recipient for m in sent_messages(app) if m.template == "application_updated"]
    assert sorted(updated) == sorted([NEW_EMAIL, OLD_MOBILE])
    assert {"contact_change_requested", "contact_changed"} <= set(audit_actions(app))


def test_an_applicant_changes_their_mobile_and_the_old_number_is_told(app, applicant):
    asked = ask_for_code(applicant, "mobile", "+44 7911 123456")
    assert asked.status_code == 302
    code = code_sent_to(app, NEW_MOBILE)
    done = enter_code(applicant, code, follow_redirects=True)
    assert "Your mobile phone number has been changed" in done.text
    email, contact = contact_of(app)
    assert email == OLD_EMAIL and contact["mobile"] == NEW_MOBILE and contact["email"] == OLD_EMAIL
    notice = [m for m in sent_messages(app) if m.template == "mobile_changed"]
    assert [(m.channel, m.recipient) for m in notice] == [("sms", OLD_MOBILE)]
    assert notice[0].locale == "ar"


def test_a_french_mobile_is_stored_in_e164_and_a_bad_one_is_refused_on_the_page(app, applicant):
    refused = ask_for_code(applicant, "mobile", "12345")
    assert refused.status_code == 200
    assert "Enter a phone number, like 06 12 34 56 78" in refused.text
    assert 'value="12345"' in refused.text, "the answer is kept"
    same = ask_for_code(applicant, "mobile", "06 12 34 56 78")
    assert "This is already your mobile phone number" in same.text
    assert ask_for_code(applicant, "mobile", "07 81 23 45 67").status_code == 302
    assert code_sent_to(app, "+33781234567")


def test_a_bad_email_is_refused_in_the_reader_language_with_the_answer_kept(app, applicant):
    refused = ask_for_code(applicant, "email", "amina@", locale="fr")
    assert refused.status_code == 200 and 'value="amina@"' in refused.text
    assert 'lang="fr"' in refused.text and "govuk-error-summary" in refused.text
    empty = ask_for_code(applicant, "email", "")
    assert "Enter your new email address" in empty.text


def test_a_wrong_code_changes_nothing_and_attempts_are_limited(app, applicant):
    ask_for_code(applicant, "email", NEW_EMAIL)
    code = code_sent_to(app, NEW_EMAIL)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        page = enter_code(applicant, wrong)
        assert page.status_code == 200 and "The code is not right" in page.text
    assert contact_of(app)[0] == OLD_EMAIL
    last = enter_code(applicant, wrong)
    assert "You entered a wrong code too many times" in last.text
    # Even the right code no longer works: a new code must be asked for.
    after = enter_code(applicant, code)
    assert "You entered a wrong code too many times" in after.text
    assert contact_of(app)[0] == OLD_EMAIL
    assert not [m for m in sent_messages(app) if m.template == "email_changed"]
    letters = enter_code(applicant, "abc")
    assert "Enter the 6 digits of the code" in letters.text and 'value="abc"' in letters.text


def test_an_expired_code_changes_nothing(app, applicant):
    ask_for_code(applicant, "mobile", NEW_MOBILE)
    code = code_sent_to(app, NEW_MOBILE)
    with app.app_context():
        db.session.execute(update(ContactChange).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    page = enter_code(applicant, code)
    assert page.status_code == 200 and "The code has expired" in page.text
    assert contact_of(app)[1]["mobile"] == OLD_MOBILE


def test_a_code_sent_again_replaces_the_old_one_and_sends_are_limited(app, applicant):
    ask_for_code(applicant, "email", NEW_EMAIL)
    first = code_sent_to(app, NEW_EMAIL)
    again = post_form(applicant, "/en/account/contact/code", {}, follow_redirects=False)
    assert again.status_code == 200  # the code form without a code: an error, nothing sent
    page = applicant.get("/en/account/contact/code")
    resent = applicant.post(
        "/en/account/contact/code/again", data={"csrf_token": csrf_token(page.text)}
    )
    assert resent.status_code == 302
    second = code_sent_to(app, NEW_EMAIL)
    if first != second:
        assert "The code is not right" in enter_code(applicant, first).text
    # Three codes an hour at most (two sent so far).
    page = applicant.get("/en/account/contact/code")
    applicant.post("/en/account/contact/code/again", data={"csrf_token": csrf_token(page.text)})
    page = applicant.get("/en/account/contact/code")
    refused = applicant.post(
        "/en/account/contact/code/again",
        data={"csrf_token": csrf_token(page.text)},
        follow_redirects=True,
    )
    assert "You have asked for many codes" in refused.text
    another = ask_for_code(applicant, "mobile", NEW_MOBILE)
    assert another.status_code == 200 and "You have asked for many codes" in another.text
    codes = [m for m in sent_messages(app) if m.template == "contact_code"]
    assert len(codes) == 3
    # Five a day: an hour later, two more, then no more.
    with app.app_context():
        db.session.execute(update(ContactChange).values(created_at=utcnow() - timedelta(hours=2)))
        db.session.commit()
    assert ask_for_code(applicant, "mobile", NEW_MOBILE).status_code == 302
    assert ask_for_code(applicant, "mobile", NEW_MOBILE).status_code == 302
    assert ask_for_code(applicant, "mobile", NEW_MOBILE).status_code == 200
    assert len([m for m in sent_messages(app) if m.template == "contact_code"]) == 5
    # The latest code still works.
    enter_code(applicant, code_sent_to(app, NEW_MOBILE))
    assert contact_of(app)[1]["mobile"] == NEW_MOBILE


def test_an_address_used_by_another_account_is_refused_only_after_the_code(app, applicant):
    make_user(app, "someone@example.org")
    asked = ask_for_code(applicant, "email", "someone@example.org")
    assert asked.status_code == 302, "the first page does not say whether the address is in use"
    code = code_sent_to(app, "someone@example.org")
    refused = enter_code(applicant, code)
    assert refused.status_code == 200
    assert "An account already uses this email address" in refused.text
    assert contact_of(app)[0] == OLD_EMAIL
    with app.app_context():
        other = db.session.scalar(select(User).where(User.email == "someone@example.org"))
        assert other is not None and other.password_hash


def test_a_refused_csrf_token_changes_nothing(app, applicant):
    bad = applicant.post(
        "/en/account/contact/email", data={"email": NEW_EMAIL, "csrf_token": "forged"}
    )
    assert bad.status_code == 400 and NEW_EMAIL in bad.text, "the answer is kept"
    assert not [m for m in sent_messages(app) if m.template == "contact_code"]
    ask_for_code(applicant, "email", NEW_EMAIL)
    code = code_sent_to(app, NEW_EMAIL)
    forged = applicant.post("/en/account/contact/code", data={"code": code, "csrf_token": "x"})
    assert forged.status_code == 400
    assert contact_of(app)[0] == OLD_EMAIL
    with app.app_context():
        assert db.session.scalar(select(ContactChange.attempts)) == 0
    again = applicant.post("/en/account/contact/code/again", data={"csrf_token": "x"})
    assert again.status_code in (302, 400)
    assert len([m for m in sent_messages(app) if m.template == "contact_code"]) == 1


def test_only_the_signed_in_applicant_reaches_the_pages(app, client, provider):
    assert client.get("/en/account/contact/email").status_code == 302
    from portal.models import Role
    from tests.helpers import sign_in_staff

    make_user(app, "case@example.org", Role.CASEWORKER)
    staff = app.test_client()
    sign_in_staff(staff, app, "case@example.org")
    assert staff.get("/en/account/contact/email").status_code == 404
    assert staff.get("/en/account/contact/code").status_code == 404


def test_waiting_messages_follow_the_new_number_and_a_lost_presence_link_is_sent_again(
    app, client, provider
):
    """The confirmation carrying the presence link never reached the wrong number: once the number
    is corrected, a new link is sent to it, whatever the limits on asking for links."""
    provider.refuse.add(OLD_MOBILE)
    send_application(client, app)
    deliver_outbox(app)
    with app.app_context():
        failed = db.session.scalar(
            select(Notification).where(
                Notification.channel == "sms", Notification.template == "application_submitted"
            )
        )
        assert failed.status == MessageStatus.PERMANENT_FAILURE.value
    ask_for_code(client, "mobile", NEW_MOBILE)
    enter_code(client, code_sent_to(app, NEW_MOBILE))
    messages = sent_messages(app)
    links = [m for m in messages if m.template == "presence_link" and m.recipient == NEW_MOBILE]
    assert len(links) == 1, "a new presence link reaches the new number"
    with app.app_context():
        checks = db.session.scalars(select(PresenceCheck)).all()
        assert len([c for c in checks if c.expires_at > utcnow()]) == 1
    assert "contact_changed" in audit_actions(app)


def test_a_message_waiting_for_the_old_address_goes_to_the_new_one(app, applicant):
    with app.test_request_context():
        from portal.notify.applicants import tell_applicant

        tell_applicant(db.session.scalar(select(Application)), "application_updated")
        db.session.commit()
    ask_for_code(applicant, "email", NEW_EMAIL)
    code = _code_without_sending_the_rest(app, NEW_EMAIL)
    enter_code(applicant, code)
    updated = [m for m in sent_messages(app) if m.template == "application_updated"]
    assert sorted(m.recipient for m in updated) == sorted([NEW_EMAIL, OLD_MOBILE])


def _rows(app) -> list[Notification]:
    with app.app_context():
        rows = db.session.scalars(select(Notification)).all()
        db.session.expunge_all()
        return list(rows)


def _code_without_sending_the_rest(app, recipient: str) -> str:
    """Send only the code message, leaving the other waiting messages in the outbox."""
    from portal.notify.worker import send_all_due

    with app.app_context():
        waiting = db.session.scalars(
            select(Notification).where(
                Notification.status == MessageStatus.QUEUED.value,
                Notification.template != "contact_code",
            )
        ).all()
        held = [row.id for row in waiting]
        db.session.execute(
            update(Notification)
            .where(Notification.id.in_(held))
            .values(next_attempt_at=utcnow() + timedelta(days=1))
        )
        db.session.commit()
    with app.app_context():
        send_all_due()
    messages = [m for m in app.extensions["portal.notify"].sent if m.recipient == recipient]
    code = re.search(r"\b(\d{6})\b", messages[-1].body)
    assert code
    with app.app_context():
        db.session.execute(
            update(Notification).where(Notification.id.in_(held)).values(next_attempt_at=utcnow())
        )
        db.session.commit()
    return code.group(1)


def test_signing_in_with_the_old_password_still_works_after_the_change(app, applicant):
    ask_for_code(applicant, "email", NEW_EMAIL)
    enter_code(applicant, code_sent_to(app, NEW_EMAIL))
    response = sign_in(app.test_client(), NEW_EMAIL, PASSWORD)
    assert response.status_code == 302


def test_an_account_without_an_application_changes_its_sign_in_email(app, client, provider):
    make_user(app, "nadia@example.org")
    sign_in(client, "nadia@example.org")
    account = client.get("/en/account").text
    assert 'href="/en/account/contact/email"' in account
    assert client.get("/en/account/contact/mobile").status_code == 302, "no answers to hold it"
    ask_for_code(client, "email", "nadia.k@example.net")
    done = enter_code(client, code_sent_to(app, "nadia.k@example.net"))
    assert done.headers["Location"] == "/en/account"
    assert [m.recipient for m in sent_messages(app) if m.template == "email_changed"] == [
        "nadia@example.org"
    ]
    assert sign_in(app.test_client(), "nadia.k@example.net").status_code == 302


def test_retention_removes_the_messages_and_codes_of_an_address_given_up_before_the_change(
    app, applicant
):
    """Delivery records and pending codes belong to the applicant, whichever address they went
    to: after a change of email and mobile, retention must not leave the old ones behind."""
    from tests.integration.test_operations import decide_long_ago

    ask_for_code(applicant, "email", NEW_EMAIL)
    deliver_outbox(app)
    enter_code(applicant, code_sent_to(app, NEW_EMAIL))
    ask_for_code(applicant, "mobile", NEW_MOBILE)
    deliver_outbox(app)
    enter_code(applicant, code_sent_to(app, NEW_MOBILE))
    deliver_outbox(app)
    with app.app_context():
        recipients = set(db.session.scalars(select(Notification.recipient)))
    assert {OLD_EMAIL, OLD_MOBILE, NEW_EMAIL, NEW_MOBILE} <= recipients

    decide_long_ago(app, NEW_EMAIL, Status.REFUSED, 400)
    done = app.test_cli_runner().invoke(args=["retention"])
    assert "applications anonymised: 1" in done.output, done.output
    with app.app_context():
        assert db.session.scalars(select(Notification.recipient)).all() == []
        assert db.session.scalars(select(ContactChange)).all() == []
