"""The support worker's forms (in the worker's language) and the applicant's claim forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from govuk_frontend_wtf.wtforms_widgets import GovCheckboxInput, GovSubmitInput
from wtforms import BooleanField, SubmitField
from wtforms.validators import DataRequired

from portal.auth.forms import RegisterForm
from portal.config import LOCALES
from portal.fields import radio_field, text_field
from portal.forms import PortalForm
from portal.i18n import native_name
from portal.models import ConsentMethod


class NewApplicantForm(PortalForm):
    label = text_field(
        _l("A name to find this person by in your list"),
        _l("Enter a name to find this person by"),
        max_length=200,
        description=_l("Only your organisation sees it. The application asks for their full name."),
    )
    locale = radio_field(
        _l("Which language does the applicant read best?"),
        [(code, native_name(code)) for code in LOCALES],
        _l("Select the applicant's language"),
    )


class ConsentForm(PortalForm):
    method = radio_field(
        _l("How did the applicant take in this information?"),
        [
            (ConsentMethod.READ.value, _l("They read it themselves")),
            (ConsentMethod.READ_ALOUD.value, _l("I read it to them in their language")),
            (ConsentMethod.INTERPRETED.value, _l("An interpreter explained it to them")),
        ],
        _l("Select how the applicant took in the information"),
    )
    agreed = BooleanField(
        _l("The applicant agrees that we help them and share their information as described"),
        widget=GovCheckboxInput(),
        validators=[DataRequired(_l("Only continue if the applicant agrees"))],
    )
    through_organisation = BooleanField(
        _l("Also send their messages to our organisation (if they have no email address)"),
        widget=GovCheckboxInput(),
    )


class ClaimCodeForm(PortalForm):
    code = text_field(
        _l("Your code"),
        _l("Enter the code you were given"),
        max_length=40,
        description=_l("12 letters and numbers, for example 7KQM-3TX9-CHD4"),
    )


class ClaimDetailsForm(RegisterForm):
    submit = SubmitField(_l("Save my sign-in details"), widget=GovSubmitInput())
