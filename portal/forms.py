"""The base form of every page: translated CSRF failure that keeps the person's answers."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput
from werkzeug.datastructures import MultiDict
from wtforms import Field, SubmitField
from wtforms.fields.choices import SelectFieldBase
from wtforms.validators import DataRequired, InputRequired

from portal.security import csrf_failed

CSRF_EXPIRED_MESSAGE = _l(
    "This page was open for a long time, so for your security we could not accept it. "
    "Your answers are below: check them and send the form again."
)


class PortalForm(FlaskForm):
    """Every form of the portal. A refused security token becomes an error on the page itself."""

    class Meta(FlaskForm.Meta):
        # CSRFProtect checks every POST before the view; the form does not check twice.
        csrf = False

        def wrap_formdata(self, form: Any, formdata: Any) -> Any:
            wrapped = super().wrap_formdata(form, formdata)
            return None if wrapped is None else without_control_characters(wrapped)

    def validate_on_submit(self, extra_validators: Any = None) -> bool:
        if csrf_failed():
            self.form_errors.append(str(CSRF_EXPIRED_MESSAGE))
            self.validate(extra_validators)
            return False
        return super().validate_on_submit(extra_validators)

    # Messages for a choice that is not one of the field's choices, where the field has none of
    # its own: by default, the message for no answer (InputRequired's), which says what to do.
    choice_messages: dict[str, Any] = {}

    def validate(self, extra_validators: Any = None) -> bool:
        """WTForms' own "Not a valid choice." exists in few of our languages: an answer that is
        not one of the choices (only a script sends one) gets a message in the reader's language."""
        valid = super().validate(extra_validators)
        for field in self:
            if not isinstance(field, SelectFieldBase) or not field.errors:
                continue
            message = self.choice_messages.get(field.name) or _required_message(field)
            if message is not None:
                builtin = field.gettext(WTFORMS_INVALID_CHOICE)
                field.errors = [str(message) if e == builtin else e for e in field.errors]
        return valid

    @property
    def error_list(self) -> list[dict[str, str]]:
        """The error summary's items: form-wide errors first, then each field's first error."""
        items = [{"text": str(message)} for message in self.form_errors]
        for field in self:
            if field.errors:
                items.append({"text": str(field.errors[0]), "href": f"#{field.id}"})
        return items


# WTForms' own message, looked up in its catalogs (a name, so that our extraction skips it).
WTFORMS_INVALID_CHOICE = "Not a valid choice."

# C0 and C1 control characters (NUL, escape, bell...), but not tab and line breaks: nobody types
# them, PostgreSQL refuses NUL in text, and on a caseworker's screen they only hide things.
CONTROL_CHARACTERS = dict.fromkeys(
    code for code in (*range(0x20), *range(0x7F, 0xA0)) if chr(code) not in "\t\n\r"
)


def without_control_characters(formdata: MultiDict[str, Any]) -> MultiDict[str, Any]:
    """The form's data with control characters taken out of every text (files untouched)."""
    return MultiDict(
        (name, value.translate(CONTROL_CHARACTERS) if isinstance(value, str) else value)
        for name, value in formdata.items(multi=True)
    )


def _required_message(field: Field) -> Any:
    for validator in field.validators:
        if isinstance(validator, (InputRequired, DataRequired)) and validator.message:
            return validator.message
    return None


def strip_text(value: object) -> object:
    """A text field's filter: what people paste often has spaces around it."""
    return value.strip() if isinstance(value, str) else value


class ConfirmForm(PortalForm):
    """A form with only a button: for actions that change state (never on a GET)."""

    submit = SubmitField(_l("Continue"), widget=GovSubmitInput())
