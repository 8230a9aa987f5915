"""The one form every eligibility question uses: a single set of radios."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovRadioInput
from wtforms import RadioField
from wtforms.validators import InputRequired

from portal.eligibility.content import QuestionText
from portal.forms import PortalForm


class EligibilityForm(PortalForm):
    answer = RadioField(choices=[], widget=GovRadioInput())

    @classmethod
    def for_question(cls, text: QuestionText, answer: str | None) -> EligibilityForm:
        form = cls(data={"answer": answer} if answer else None)
        form.answer.label.text = str(text.title)
        form.answer.description = str(text.hint) if text.hint else ""
        form.answer.choices = [(value, str(label)) for value, label in text.choices.items()]
        form.answer.validators = [InputRequired(str(text.error))]
        return form
