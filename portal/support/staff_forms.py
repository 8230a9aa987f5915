"""The admin's forms for organisations. English only, like the rest of the back office."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovTextInput
from wtforms import StringField
from wtforms.validators import InputRequired, Length

from portal.auth.forms import EmailAddress
from portal.fields import text_field
from portal.forms import PortalForm, strip_text


class OrganisationForm(PortalForm):
    name = text_field("Name", "Enter the organisation's name", max_length=200)
    city = text_field("City", "Enter the city", max_length=80)
    contact_email = StringField(
        "Contact email address",
        widget=GovTextInput(),
        description="Applicants who ask for it get a copy of their messages here.",
        validators=[InputRequired("Enter a contact email address"), EmailAddress()],
        filters=[strip_text],
    )
    contact_phone = StringField(
        "Contact phone number",
        widget=GovTextInput(),
        validators=[Length(max=40)],
        filters=[strip_text],
    )


class WorkerForm(PortalForm):
    email = StringField(
        "Support worker's email address",
        widget=GovTextInput(),
        description="A new account is sent a link to choose its password.",
        validators=[InputRequired("Enter the worker's email address"), EmailAddress()],
        filters=[strip_text],
    )
