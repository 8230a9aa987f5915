"""GOV.UK widgets whose built-in words we translate (govuk-frontend-wtf writes them in English)."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

from flask_babel import lazy_gettext as _l
from govuk_frontend_wtf.wtforms_widgets import GovDateInput, GovPasswordInput, GovSelect
from markupsafe import Markup

DATE_PART_LABELS = (_l("Day"), _l("Month"), _l("Year"))


class DateInput(GovDateInput):
    """Day, month and year boxes with translated labels; `parts` may drop the day (month-year)."""

    def __init__(self, parts: tuple[str, ...] = ("day", "month", "year")) -> None:
        self.parts = parts

    def map_gov_params(self, field: Any, **kwargs: Any) -> dict[str, Any]:
        params = super().map_gov_params(field, **kwargs)
        items = params["items"]
        for item, label in zip(items, DATE_PART_LABELS, strict=True):
            item["label"] = str(label)
            item["attributes"] = {"inputmode": "numeric"}
        wanted = {"day": 0, "month": 1, "year": 2}
        params["items"] = [items[wanted[part]] for part in self.parts]
        return params


class PasswordInput(GovPasswordInput):
    """A password box whose show/hide button, its name and what it announces are translated
    (GOV.UK's macro writes "Show", "Hide" and "Your password is visible" in English)."""

    def map_gov_params(self, field: Any, **kwargs: Any) -> dict[str, Any]:
        params = super().map_gov_params(field, **kwargs)
        params.setdefault("showPasswordText", str(_l("Show")))
        params.setdefault("hidePasswordText", str(_l("Hide")))
        params.setdefault("showPasswordAriaLabelText", str(_l("Show password")))
        params.setdefault("hidePasswordAriaLabelText", str(_l("Hide password")))
        params.setdefault("passwordShownAnnouncementText", str(_l("Your password is visible")))
        params.setdefault("passwordHiddenAnnouncementText", str(_l("Your password is hidden")))
        return params


class KeptSelect(GovSelect):
    """GOV.UK's select, keeping the HTML it rendered for each distinct set of parameters.

    A country question lists about 250 options and GOV.UK's macro renders each through nested
    macro calls: about 9 ms, more than the rest of the page. The HTML depends only on the
    parameters (the names in the reader's language, the answer, the error), which repeat from
    one applicant to the next, so each set is rendered once and kept, the least recently used
    dropped past `KEPT`. The key is the parameters' repr, which tells Markup from plain text.
    """

    KEPT = 512

    def __init__(self) -> None:
        super().__init__()
        self._kept: OrderedDict[bytes, Markup] = OrderedDict()
        self._lock = threading.Lock()

    def render(self, params: dict[str, Any]) -> Markup:
        key = hashlib.blake2b(repr(params).encode(), digest_size=16).digest()
        with self._lock:
            html = self._kept.get(key)
            if html is not None:
                self._kept.move_to_end(key)
                return html
        html = super().render(params)
        with self._lock:
            self._kept[key] = html
            if len(self._kept) > self.KEPT:
                self._kept.popitem(last=False)
        return html
