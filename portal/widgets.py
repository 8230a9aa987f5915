"""GOV.UK widgets whose built-in words we translate (govuk-frontend-wtf writes them in English)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from govuk_frontend_wtf.wtforms_widgets import GovDateInput

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
