"""The admins' and centre staff's forms. English only, like the rest of the back office."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovCheckboxInput,
    GovTextArea,
    GovTextInput,
)
from sqlalchemy import select
from wtforms import BooleanField, IntegerField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, ValidationError

from portal.appointments.access import ACCESS_FACTS
from portal.appointments.slots import WeeklyPattern
from portal.extensions import db
from portal.fields import text_field
from portal.forms import PortalForm, strip_text
from portal.models import Centre

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


class CentreAdminForm(PortalForm):
    name = text_field("Name", "Enter the centre's name", max_length=120)
    address = text_field("Address", "Enter the address", max_length=300)
    city = text_field("City", "Enter the city", max_length=80)
    opening_hours = TextAreaField(
        "Opening hours",
        widget=GovTextArea(),
        validators=[InputRequired("Enter the opening hours"), Length(max=1000)],
        filters=[strip_text],
    )
    # Facts from a fixed list, each translated, so applicants read them in their own language.
    access_facts = SelectMultipleField(
        "Access at the centre",
        choices=[(key, str(fact)) for key, fact in ACCESS_FACTS.items()],
        widget=GovCheckboxesInput(),
        validators=[InputRequired("Choose what is true of the centre's access")],
    )
    active = BooleanField("Applicants can book at this centre", widget=GovCheckboxInput())

    def __init__(self, *args: Any, obj: Centre | None = None, **kwargs: Any) -> None:
        super().__init__(*args, obj=obj, **kwargs)
        self.centre_id = obj.id if obj is not None else None

    def validate_name(self, field: StringField) -> None:
        """Names are unique (applicants choose a centre by its name): a second one is an error
        on the page, not a refused insert."""
        same_name = select(Centre.id).where(Centre.name == field.data)
        if self.centre_id is not None:
            same_name = same_name.where(Centre.id != self.centre_id)
        if db.session.scalar(same_name.limit(1)) is not None:
            raise ValidationError("There is already a centre with this name: choose another")


def _date(text: str, label: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"Enter the {label} as YYYY-MM-DD, for example 2027-03-01") from None


def _time(text: str, label: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"Enter the {label} as HH:MM, for example 09:00") from None


class SlotPatternForm(PortalForm):
    """A weekly pattern over a date range; French public holidays are skipped on their own."""

    weekdays = SelectMultipleField(
        "Days",
        choices=[(str(number), name) for number, name in enumerate(WEEKDAYS)],
        widget=GovCheckboxesInput(),
        validators=[InputRequired("Choose at least one day")],
    )
    opens = StringField("First slot starts at", widget=GovTextInput(), description="HH:MM")
    closes = StringField("Last slot ends by", widget=GovTextInput(), description="HH:MM")
    slot_minutes = IntegerField(
        "Minutes per slot",
        widget=GovTextInput(),
        validators=[
            InputRequired("Enter the minutes per slot"),
            NumberRange(5, 240, "A slot lasts 5 to 240 minutes"),
        ],
    )
    capacity = IntegerField(
        "People per slot",
        widget=GovTextInput(),
        validators=[
            InputRequired("Enter how many people each slot takes"),
            NumberRange(1, 50, "A slot takes 1 to 50 people"),
        ],
    )
    first = StringField("From", widget=GovTextInput(), description="YYYY-MM-DD")
    last = StringField("To", widget=GovTextInput(), description="YYYY-MM-DD, at most a year on")
    closures = TextAreaField(
        "Closure days",
        widget=GovTextArea(),
        description="One date a line, YYYY-MM-DD. French public holidays are skipped anyway.",
        filters=[strip_text],
    )

    def validate_opens(self, field: StringField) -> None:
        _time(field.data or "", "start time")

    def validate_closes(self, field: StringField) -> None:
        _time(field.data or "", "end time")

    def validate_first(self, field: StringField) -> None:
        _date(field.data or "", "first day")

    def validate_last(self, field: StringField) -> None:
        _date(field.data or "", "last day")

    def validate_closures(self, field: TextAreaField) -> None:
        for line in (field.data or "").splitlines():
            if line.strip():
                _date(line.strip(), "closure day")

    def pattern(self) -> WeeklyPattern:
        return WeeklyPattern(
            weekdays=frozenset(int(day) for day in self.weekdays.data or []),
            opens=time.fromisoformat(self.opens.data),
            closes=time.fromisoformat(self.closes.data),
            slot_minutes=self.slot_minutes.data or 0,
            capacity=self.capacity.data or 0,
        )

    def dates(self) -> tuple[date, date, list[date]]:
        lines = [line.strip() for line in (self.closures.data or "").splitlines()]
        closures = [date.fromisoformat(line) for line in lines if line]
        return date.fromisoformat(self.first.data), date.fromisoformat(self.last.data), closures
