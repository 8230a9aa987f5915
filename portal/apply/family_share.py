"""The text a main applicant sends a family member: the family reference and the portal's address,
in the language the main applicant picks for that member, and nothing personal; with a QR code of
the same text for a member standing beside them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import segno
from flask_babel import force_locale, gettext

from portal import i18n
from portal.urls import absolute_url


@dataclass(frozen=True)
class SharedText:
    text: str
    locale: str
    direction: str
    qr_code: str


def share_text(reference: str, locale: str, closes_at: datetime) -> str:
    """No name, no date of birth, no status: only what a member needs to start their own
    application, so the text can be forwarded or seen on a shared phone without harm."""
    with force_locale(locale):
        return "\n".join(
            (
                gettext("You can apply with our family to transfer to the UK. Applying is free."),
                gettext("Family reference number: %(reference)s", reference=reference),
                gettext(
                    "Apply before %(date)s at %(time)s, as a family member, on this site:",
                    date=i18n.date(closes_at, "long"),
                    time=i18n.time_of_day(closes_at),
                ),
                absolute_url("pages.start", locale=locale),
            )
        )


def qr_code_data_uri(text: str) -> str:
    """The QR code as an inline SVG image, drawn here: no request to any other site."""
    return segno.make(text, error="m").svg_data_uri(scale=4, border=4)


def shared_text(reference: str, locale: str, closes_at: datetime) -> SharedText:
    text = share_text(reference, locale, closes_at)
    return SharedText(text, locale, i18n.text_direction(locale), qr_code_data_uri(text))
