"""Every email and SMS rendered in every locale: translated, complete, and SMS kept short."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask_babel import force_locale, gettext

from portal.config import LOCALES, PROJECT_ROOT
from portal.i18n import DIGITS
from portal.notify import render_message, send_sms
from portal.notify.sms import MAX_PARTS, is_gsm, parts, plain_spaces
from tests.text_checks import sentence_digits

CONTEXT = {
    "reference": "EOI-7KQ-M3T-X9C",
    "family_reference": "FAM-4HD-P2W-R6J",
    "presence_url": "https://apply-transfer.service.gov.uk/fa/presence/Yt8kX2vQp9LmN4rB7sW1zE",
    "status_url": "https://apply-transfer.service.gov.uk/fa/application/status",
    "confirm_url": "https://apply-transfer.service.gov.uk/fa/confirm-email/Yt8kX2vQp9LmN4rB7sW1zE5hJ3cF6dG0",
    "sign_in_url": "https://apply-transfer.service.gov.uk/fa/sign-in",
    "reset_url": "https://apply-transfer.service.gov.uk/fa/reset-password",
    "minutes": 60,
    "hours": 24,
    "closes_at": datetime(2027, 1, 15, 17, 0, tzinfo=UTC),
    "window_name": "January 2027",
    "places": 500,
    "starts_at": datetime(2027, 3, 30, 7, 40, tzinfo=UTC),
    "centre_name": "Lille",
    "centre_address": "20 rue Jean Sans Peur, 59000 Lille",
    "appointment_url": "https://apply-transfer.service.gov.uk/fa/application/appointment",
    "cutoff_hours": 48,
    "moved": False,
    "by_centre": False,
    "can_rebook": True,
    "code": "7KQM-3TX9-CHD4",
    "claim_url": "https://apply-transfer.service.gov.uk/fa/claim",
}
NOTIFY = PROJECT_ROOT / "templates" / "notify"
EMAILS = sorted({p.name.split(".")[0] for p in NOTIFY.glob("*.body.txt")})
SMS = sorted({p.name.split(".")[0] for p in NOTIFY.glob("*.sms.txt")})


EMAIL_FREE = "This service is free. We will never ask you for money."
SMS_FREE = "Free service: never pay anyone."
PORTAL = "https://apply-transfer.service.gov.uk/"


def links_elsewhere(text: str) -> list[str]:
    """Addresses in a message that are not the portal's own: a message from us links only to us,
    so that a link to anywhere else marks a message as not ours."""
    return [url for url in re.findall(r"https?://\S+", text) if not url.startswith(PORTAL)]


def free_service(app, locale: str, sentence: str) -> str:
    """The sentence that tells people the service never asks for money, in their language: a
    message asking for money is then plainly not ours."""
    with app.test_request_context(), force_locale(locale):
        translated = gettext(sentence)
    assert locale == "en" or translated != sentence, f"not translated in {locale}"
    return plain_spaces(translated)


def english(app, channel: str, template: str):
    return render_message(channel, "someone@example.org", template, "en", CONTEXT)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_email_renders_translated_in_each_locale(app, locale):
    with app.test_request_context():
        for template in EMAILS:
            message = render_message("email", "someone@example.org", template, locale, CONTEXT)
            assert message.subject and message.body.strip(), template
            assert "{{" not in message.body and "%(" not in message.body, template
            assert "%(" not in message.subject, template
            assert free_service(app, locale, EMAIL_FREE) in message.body, f"{template} in {locale}"
            assert not links_elsewhere(message.body), f"{template} in {locale}"
            if locale != "en":
                assert message.subject != english(app, "email", template).subject, (
                    f"{template} subject is not translated in {locale}"
                )


def sms_text(app, template: str, locale: str) -> str:
    from flask import render_template

    with app.test_request_context(), force_locale(locale):
        return plain_spaces(render_template(f"notify/{template}.sms.txt", **CONTEXT).strip())


@pytest.mark.parametrize("locale", LOCALES)
def test_every_sms_is_translated_and_within_three_parts(app, locale):
    for template in SMS:
        text = sms_text(app, template, locale)
        assert "%(" not in text and "{{" not in text
        if locale != "en":
            assert text != sms_text(app, template, "en"), f"{template} not translated in {locale}"
        assert parts(text) <= MAX_PARTS, f"{template} in {locale}: {parts(text)} parts: {text}"
        assert free_service(app, locale, SMS_FREE) in text, f"{template} in {locale}"
        assert not links_elsewhere(text), f"{template} in {locale}"
        if "presence_url" in (NOTIFY / f"{template}.sms.txt").read_text():
            assert CONTEXT["presence_url"] in text, "a link must never be cut or translated"


def test_sms_parts_follow_the_gsm_and_ucs2_rules():
    assert parts("a" * 160) == 1 and parts("a" * 161) == 2 and parts("a" * 306) == 2
    assert parts("€" * 80) == 1 and parts("€" * 81) == 2, "extension characters cost two"
    assert parts("ب" * 70) == 1 and parts("ب" * 71) == 2 and parts("ب" * 134) == 2
    assert parts("ሰ" * 201) == 3 and parts("ሰ" * 202) == 4


def test_an_english_appointment_text_stays_in_the_cheap_alphabet(app):
    """Babel's narrow space in "9:40 AM" is replaced before sending: GSM-7, not UCS-2."""
    with app.test_request_context():
        text = send_sms("+33612345678", "appointment_booked", "en", **CONTEXT).body
    assert "9:40 AM" in text and is_gsm(text) and parts(text) <= 2


# What a message copies from the person's data or from an address: written as it is, never turned
# into the reader's digits (a reference, a link, a code, a street number, a window's name).
COPIED = [value for value in CONTEXT.values() if isinstance(value, str)]


def digits_written(text: str) -> set[str]:
    for value in sorted(COPIED, key=len, reverse=True):
        text = text.replace(value, " ")
    return sentence_digits(text)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_writes_its_numbers_in_the_locales_digits(app, locale):
    """Hours, minutes, places and dates in a message follow portal.i18n.DIGITS: a Persian email
    says ۴۸ hours, never 48. Each template is rendered with numbers in it; what was copied from
    the context (a reference, a link, an address) is left out."""
    allowed = set(DIGITS[locale])
    wrong = {}
    with app.test_request_context():
        for template in EMAILS:
            message = render_message("email", "someone@example.org", template, locale, CONTEXT)
            for part, text in (("subject", message.subject), ("body", message.body)):
                if not digits_written(text) <= allowed:
                    wrong[f"{template}.{part}"] = text
        for template in SMS:
            text = sms_text(app, template, locale)
            if not digits_written(text) <= allowed:
                wrong[f"{template}.sms"] = text
    assert wrong == {}


def test_a_persian_appointment_email_says_its_cutoff_in_persian_digits(app):
    with app.test_request_context():
        body = render_message("email", "a@example.org", "appointment_booked", "fa", CONTEXT).body
    assert "۴۸" in body and "48" not in body.replace(CONTEXT["centre_address"], "")


def test_the_templates_are_all_covered():
    assert Path(NOTIFY).is_dir() and EMAILS and SMS


RIGHT_TO_LEFT = [code for code in LOCALES if code in ("ar", "fa", "prs", "ps", "ckb")]


@pytest.mark.parametrize("locale", RIGHT_TO_LEFT)
def test_latin_values_in_right_to_left_messages_are_isolated_and_links_left_whole(app, locale):
    """A centre's French name, its address or a reference inside an Arabic-script sentence keeps
    its own order only between FSI and PDI (plain text has no <bdi>). A link is never wrapped:
    a mail client would take the invisible mark into the address it makes clickable."""
    with app.test_request_context():
        email = render_message("email", "a@example.org", "appointment_booked", locale, CONTEXT)
        sms = sms_text(app, "appointment_booked", locale)
    for text in (email.body, sms):
        assert "\u2068Lille\u2069" in text
        assert "\u2068" + CONTEXT["reference"] + "\u2069" in text
        assert "\u2068" + CONTEXT["appointment_url"] not in text
        assert CONTEXT["appointment_url"] + "\u2069" not in text
    assert "\u2068" + CONTEXT["centre_address"] + "\u2069" in email.body


def test_english_and_french_messages_carry_no_isolation_marks(app):
    with app.test_request_context():
        for locale in ("en", "fr"):
            body = render_message("email", "a@example.org", "appointment_booked", locale, CONTEXT)
            assert "\u2068" not in body.body and "\u2069" not in body.body
