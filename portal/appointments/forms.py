"""The applicant's booking questions: a centre, whom the appointment is for, then a time.

Choices are filled by the view from the database (centres, free slots), so they are always the
ones on the page; a time that was free when the page was drawn may be gone when it is sent, and
the booking itself says so.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.fields import radio_field
from portal.forms import PortalForm

WHO_ME = "me"
WHO_FAMILY = "family"


class CentreForm(PortalForm):
    centre = radio_field(
        _l("Which centre do you want to go to?"),
        [],
        _l("Select the centre you want to go to"),
        validate_choice=False,
    )
    who = radio_field(
        _l("Who is the appointment for?"),
        [(WHO_ME, _l("Only me")), (WHO_FAMILY, _l("Me and my family group, together"))],
        _l("Select who the appointment is for"),
    )


class TimeForm(PortalForm):
    slot = radio_field(_l("Choose a time"), [], _l("Select a time"), validate_choice=False)
