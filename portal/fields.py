"""Form fields the portal uses again and again: yes/no, dates, countries, phone numbers.

Every message a person can see is translated and says what to do, in the GOV.UK style.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cache
from typing import Any

import phonenumbers
import pycountry
from babel import Locale
from flask_babel import lazy_gettext as _l
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovTextInput
from wtforms import Field, Form, RadioField, SelectField, StringField
from wtforms.validators import InputRequired, ValidationError

from portal.i18n import current_locale
from portal.widgets import DateInput, KeptSelect

YES, NO = "yes", "no"


def yes_no_field(label: Any, message: Any, description: Any = None) -> RadioField:
    return RadioField(
        label,
        choices=[(YES, _l("Yes")), (NO, _l("No"))],
        widget=GovRadioInput(),
        validators=[InputRequired(message)],
        description=description,
    )


def radio_field(
    label: Any, choices: list[tuple[str, Any]], message: Any, **kwargs: Any
) -> RadioField:
    return RadioField(
        label,
        choices=choices,
        widget=GovRadioInput(),
        validators=[InputRequired(message)],
        **kwargs,
    )


def text_field(
    label: Any, message: Any | None = None, max_length: int = 200, **kwargs: Any
) -> StringField:
    """A text input; required when a message for the empty case is given."""
    validators: list[Callable[..., None]] = [InputRequired(message)] if message else []
    validators.append(MaxLength(max_length))
    return StringField(
        label,
        widget=GovTextInput(),
        validators=validators,
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        **kwargs,
    )


class MaxLength:
    def __init__(self, maximum: int) -> None:
        self.maximum = maximum

    def __call__(self, form: Form, field: Field) -> None:
        if field.data and len(field.data) > self.maximum:
            raise ValidationError(
                str(_l("This must be %(max)s characters or fewer", max=self.maximum))
            )


class DateField(Field):
    """A date typed as numbers in separate boxes (day, month, year), as GOV.UK asks for dates.

    Dates are kept in answers as ISO strings; `data` is a datetime.date.
    """

    def __init__(
        self,
        label: Any,
        *,
        required: Any,
        invalid: Any,
        parts: tuple[str, ...] = ("day", "month", "year"),
        **kwargs: Any,
    ) -> None:
        super().__init__(label, widget=DateInput(parts), **kwargs)
        self.parts = parts
        self.required_message = required
        self.invalid_message = invalid

    def _value(self) -> str:
        """The widget shows day, month and year from `data` or `raw_data`, not one value."""
        return ""

    def process_data(self, value: Any) -> None:
        if isinstance(value, str) and value:
            value = dt.date.fromisoformat(value)
        self.data = value

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist:
            self.raw_data = None
            return
        values = [str(value).strip() for value in valuelist]
        # The widget always draws day, month and year from `raw_data`: three values, whatever
        # number was sent (a script may send the date as one value, or none, or five).
        boxes = [*values, *[""] * len(self.parts)][: len(self.parts)]
        self.raw_data = boxes if len(boxes) == 3 else ["", *boxes]
        if not any(values):
            self.data = None
            return
        try:
            if len(values) != len(self.parts):
                raise ValueError(values)
            day, month, year = (
                int(value) for value in (boxes if len(boxes) == 3 else ["1", *boxes])
            )
            if year < 1900:
                raise ValueError(year)
            self.data = dt.date(year, month, day)
        except (ValueError, OverflowError):
            self.data = None
            self.process_errors.append(str(self.invalid_message))

    def pre_validate(self, form: Form) -> None:
        if self.data is None and not self.process_errors:
            raise ValidationError(str(self.required_message))


class NotInFuture:
    def __init__(self, message: Any) -> None:
        self.message = message

    def __call__(self, form: Form, field: Field) -> None:
        if field.data and field.data > dt.date.today():
            raise ValidationError(str(self.message))


class InPast:
    def __init__(self, message: Any) -> None:
        self.message = message

    def __call__(self, form: Form, field: Field) -> None:
        if field.data and field.data >= dt.date.today():
            raise ValidationError(str(self.message))


@cache
def _country_codes() -> tuple[str, ...]:
    return tuple(country.alpha_2 for country in pycountry.countries)


def country_name(code: str, locale: str | None = None) -> str:
    """A country's name in the reader's language (CLDR via Babel), else its English ISO name."""
    names = Locale.parse(locale or current_locale()).territories
    if code in names:
        return names[code]
    country = pycountry.countries.get(alpha_2=code)
    return country.name if country else code


def country_choices() -> list[tuple[str, str]]:
    return [("", str(_l("Choose a country"))), *_sorted_countries(current_locale())]


@cache
def _sorted_countries(locale: str) -> tuple[tuple[str, str], ...]:
    """The countries by name in one language: the same for every request, so sorted once
    (about 250 names looked up in CLDR and sorted, on every page with a country question)."""
    return tuple(
        sorted(
            ((code, country_name(code, locale)) for code in _country_codes()), key=lambda c: c[1]
        )
    )


def country_field(label: Any, message: Any, **kwargs: Any) -> SelectField:
    return SelectField(
        label,
        choices=country_choices,
        widget=KeptSelect(),
        validators=[InputRequired(message)],
        **kwargs,
    )


class MobileNumber:
    """A mobile number that can receive SMS: French or international, stored in E.164."""

    def __call__(self, form: Form, field: Field) -> None:
        if not field.data:
            return
        try:
            number = phonenumbers.parse(field.data, "FR")
        except phonenumbers.NumberParseException as exc:
            raise ValidationError(
                str(_l("Enter a phone number, like 06 12 34 56 78 or +33 6 12 34 56 78"))
            ) from exc
        if not phonenumbers.is_valid_number(number):
            raise ValidationError(
                str(_l("Enter a phone number, like 06 12 34 56 78 or +33 6 12 34 56 78"))
            )
        if phonenumbers.number_type(number) not in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        ):
            raise ValidationError(
                str(_l("Enter a mobile phone number that can receive text messages"))
            )
        field.data = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
