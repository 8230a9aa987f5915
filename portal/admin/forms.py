"""Forms of the operators' pages."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from govuk_frontend_wtf.wtforms_widgets import GovTextInput
from wtforms import IntegerField, StringField
from wtforms.validators import InputRequired, NumberRange, ValidationError

from portal.fields import DateField, text_field
from portal.forms import PortalForm

_TIME = re.compile(r"^([01]?\d|2[0-3])[:.h]([0-5]\d)$")


def time_field(label: object, message: object) -> StringField:
    return StringField(
        label,
        widget=GovTextInput(),
        validators=[InputRequired(message)],
        description=_l("Paris time, on the 24-hour clock, like 09:00 or 17:30"),
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )


def parse_time(value: str) -> tuple[int, int]:
    match = _TIME.match(value or "")
    if not match:
        raise ValueError(value)
    return int(match.group(1)), int(match.group(2))


class WindowForm(PortalForm):
    name = text_field(_l("Name"), _l("Enter a name for the window"), max_length=100)
    opens_on = DateField(
        _l("Opening date"),
        required=_l("Enter the opening date"),
        invalid=_l("Opening date must be a real date"),
    )
    opens_at = time_field(_l("Opening time"), _l("Enter the opening time"))
    closes_on = DateField(
        _l("Closing date"),
        required=_l("Enter the closing date"),
        invalid=_l("Closing date must be a real date"),
    )
    closes_at = time_field(_l("Closing time"), _l("Enter the closing time"))
    places = IntegerField(
        _l("Number of places"),
        widget=GovTextInput(),
        validators=[
            InputRequired(_l("Enter the number of places")),
            NumberRange(
                min=1, max=1_000_000, message=_l("Number of places must be between 1 and 1,000,000")
            ),
        ],
    )

    def validate_opens_at(self, field: StringField) -> None:
        self._valid_time(field)

    def validate_closes_at(self, field: StringField) -> None:
        self._valid_time(field)

    @staticmethod
    def _valid_time(field: StringField) -> None:
        try:
            parse_time(field.data)
        except ValueError as exc:
            raise ValidationError(str(_l("Enter a time like 09:00 or 17:30"))) from exc


class WindowChangeForm(PortalForm):
    """A new closing time or number of places for a window (staff page, English only)."""

    closes_on = DateField(
        "Closing date",
        required="Enter the closing date",
        invalid="Closing date must be a real date",
    )
    closes_at = StringField(
        "Closing time",
        widget=GovTextInput(),
        validators=[InputRequired("Enter the closing time")],
        description="Paris time, on the 24-hour clock, like 09:00 or 17:30",
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )
    places = IntegerField(
        "Number of places",
        widget=GovTextInput(),
        validators=[
            InputRequired("Enter the number of places"),
            NumberRange(
                min=1, max=1_000_000, message="Number of places must be between 1 and 1,000,000"
            ),
        ],
    )

    def validate_closes_at(self, field: StringField) -> None:
        try:
            parse_time(field.data)
        except ValueError as exc:
            raise ValidationError("Enter a time like 09:00 or 17:30") from exc
