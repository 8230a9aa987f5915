"""The report form: what is wrong with the words, in the reader's own words. Nothing about them."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextArea
from wtforms import HiddenField, SubmitField, TextAreaField
from wtforms.validators import DataRequired

from portal.fields import MaxLength, radio_field
from portal.forms import PortalForm, strip_text
from portal.models import WordingProblem

MAX_TEXT = 2000

PROBLEM_LABELS = {
    WordingProblem.HARD_TO_UNDERSTAND: _l("It is hard to understand"),
    WordingProblem.WRONG_MEANING: _l("The meaning seems wrong"),
    WordingProblem.SPELLING_OR_GRAMMAR: _l("There are spelling or grammar mistakes"),
    WordingProblem.NOT_MY_LANGUAGE: _l("Some words are not in my language"),
    WordingProblem.OTHER: _l("Something else"),
}


class WordingReportForm(PortalForm):
    # The page the reader came from; checked and stripped of anything personal before storing.
    page = HiddenField()
    problem = radio_field(
        _l("What is wrong with the words?"),
        [(problem.value, label) for problem, label in PROBLEM_LABELS.items()],
        _l("Select what is wrong with the words"),
    )
    details = TextAreaField(
        _l("Tell us more"),
        widget=GovTextArea(),
        description=_l(
            "For example, copy the words that are wrong. "
            "Do not write your name, contact details or anything about your application."
        ),
        validators=[DataRequired(_l("Tell us what is wrong with the words")), MaxLength(MAX_TEXT)],
        filters=[strip_text],
    )
    suggestion = TextAreaField(
        _l("Better words (optional)"),
        widget=GovTextArea(),
        description=_l("If you know better words, write them here, in any language."),
        validators=[MaxLength(MAX_TEXT)],
        filters=[strip_text],
    )
    submit = SubmitField(_l("Send report"), widget=GovSubmitInput())
