"""The upload forms: the file, and for an identity document, which part of it the file shows."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from govuk_frontend_wtf.wtforms_widgets import GovFileInput

from portal.documents.content import PART_NAMES
from portal.fields import radio_field
from portal.forms import PortalForm


class UploadForm(PortalForm):
    file = FileField(
        _l("Choose a file"),
        widget=GovFileInput(),
        validators=[FileRequired(_l("Select a file to upload"))],
    )


class IdentityUploadForm(UploadForm):
    part = radio_field(
        _l("Which part of the document is this?"),
        list(PART_NAMES.items()),
        _l("Select which part of the document this is"),
    )


class RequestFileForm(UploadForm):
    """A file sent with an answer to a request for more information, and what it shows (the
    choices are the kinds the request asked for, set by the view)."""

    kind = radio_field(
        _l("What does this file show?"),
        [],
        _l("Select what the file shows"),
    )
