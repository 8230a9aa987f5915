"""The base form of every page: translated CSRF failure that keeps the person's answers."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from portal.security import csrf_failed

CSRF_EXPIRED_MESSAGE = _l(
    "This page was open for a long time, so for your security we could not accept it. "
    "Your answers are below: check them and send the form again."
)


class PortalForm(FlaskForm):
    """Every form of the portal. A refused security token becomes an error on the page itself."""

    class Meta:
        # CSRFProtect checks every POST before the view; the form does not check twice.
        csrf = False

    def validate_on_submit(self, extra_validators: Any = None) -> bool:
        if csrf_failed():
            self.form_errors.append(str(CSRF_EXPIRED_MESSAGE))
            self.validate(extra_validators)
            return False
        return super().validate_on_submit(extra_validators)

    @property
    def error_list(self) -> list[dict[str, str]]:
        """The error summary's items: form-wide errors first, then each field's first error."""
        items = [{"text": str(message)} for message in self.form_errors]
        for field in self:
            if field.errors:
                items.append({"text": str(field.errors[0]), "href": f"#{field.id}"})
        return items


def strip_text(value: object) -> object:
    """A text field's filter: what people paste often has spaces around it."""
    return value.strip() if isinstance(value, str) else value
