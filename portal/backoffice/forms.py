"""The caseworker's forms. English only, like the rest of the back office (see routes)."""

from __future__ import annotations

from typing import Any

from flask_wtf.file import FileField, FileRequired
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovFileInput,
    GovRadioInput,
    GovSelect,
    GovTextArea,
    GovTextInput,
)
from wtforms import RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from portal.apply.decisions import (
    FAMILY_GROUP,
    INELIGIBLE_RULES,
    INVALID_RULES,
    REFUSAL_RULES,
    RULE_NAMES,
    TOPIC_NAMES,
    Decision,
    FinalDecision,
)
from portal.forms import PortalForm
from portal.models import CheckName, CheckOutcome

CHECK_LABELS = {
    CheckName.IDENTITY: "Identity and documents",
    CheckName.ELIGIBILITY: "Eligibility and validity rules",
    CheckName.PRESENCE: "Presence in France",
    CheckName.RETURNS_LIST: "Returns list",
    CheckName.DUPLICATES: "Duplicate applications",
    CheckName.SUITABILITY: "Suitability",
}
OUTCOME_LABELS = {
    CheckOutcome.PASSED: "Passed",
    CheckOutcome.FAILED: "Failed",
    CheckOutcome.NOT_CLEAR: "Not clear yet",
}


def _rule_choices(rules: dict[str, Any]) -> list[tuple[str, str]]:
    return [("", "Choose a rule")] + [
        (rule, RULE_NAMES.get(rule, rule)) for rule in rules if rule != FAMILY_GROUP
    ]


class CheckForm(PortalForm):
    check = RadioField(
        "Check",
        choices=[(name.value, label) for name, label in CHECK_LABELS.items()],
        widget=GovRadioInput(),
        validators=[InputRequired("Choose the check you made")],
    )
    outcome = RadioField(
        "Outcome",
        choices=[(name.value, label) for name, label in OUTCOME_LABELS.items()],
        widget=GovRadioInput(),
        validators=[InputRequired("Choose the outcome of the check")],
    )
    note = TextAreaField(
        "Note",
        widget=GovTextArea(),
        validators=[Optional(), Length(max=2000, message="Keep the note under 2,000 characters")],
    )


class DecisionForm(PortalForm):
    decision = RadioField(
        "Decision",
        choices=[
            (Decision.INVITE.value, "Invite to biometric enrolment"),
            (Decision.MORE_INFORMATION.value, "Ask the applicant for more information"),
            (Decision.INVALID.value, "Reject as not valid"),
            (Decision.INELIGIBLE.value, "Reject as not eligible"),
        ],
        widget=GovRadioInput(),
        validators=[InputRequired("Choose a decision")],
    )
    topics = SelectMultipleField(
        "What the applicant must send",
        choices=list(TOPIC_NAMES.items()),
        widget=GovCheckboxesInput(),
        validators=[Optional()],
    )
    # Left empty unless its decision is chosen; the decision itself checks the rule it is given.
    invalid_rule = SelectField(
        "Validity rule that applies",
        choices=_rule_choices(INVALID_RULES),
        widget=GovSelect(),
        validate_choice=False,
    )
    ineligible_rule = SelectField(
        "Eligibility rule that applies",
        choices=_rule_choices(INELIGIBLE_RULES),
        widget=GovSelect(),
        validate_choice=False,
    )
    note = TextAreaField(
        "Note to the applicant (in plain English; the topics above are translated)",
        widget=GovTextArea(),
        validators=[Optional(), Length(max=2000, message="Keep the note under 2,000 characters")],
    )

    def rule_for(self, decision: str) -> str:
        if decision == Decision.INVALID.value:
            return self.invalid_rule.data or ""
        if decision == Decision.INELIGIBLE.value:
            return self.ineligible_rule.data or ""
        return ""


class FinalDecisionForm(PortalForm):
    security = RadioField(
        "Security check",
        choices=[(name.value, label) for name, label in OUTCOME_LABELS.items()],
        widget=GovRadioInput(),
        validators=[InputRequired("Choose the outcome of the security check")],
    )
    decision = RadioField(
        "Final decision",
        choices=[(FinalDecision.APPROVE.value, "Approve"), (FinalDecision.REFUSE.value, "Refuse")],
        widget=GovRadioInput(),
        validators=[InputRequired("Choose approve or refuse")],
    )
    rule = SelectField(
        "Reason for refusal",
        choices=_rule_choices(REFUSAL_RULES),
        widget=GovSelect(),
        validate_choice=False,
    )
    note = TextAreaField(
        "Note",
        widget=GovTextArea(),
        validators=[Optional(), Length(max=2000, message="Keep the note under 2,000 characters")],
    )


class SearchForm(PortalForm):
    q = StringField(
        "Reference, name, date of birth (YYYY-MM-DD) or document number",
        widget=GovTextInput(),
        validators=[InputRequired("Enter something to search for"), Length(max=100)],
    )


class ReturnsImportForm(PortalForm):
    file = FileField(
        "CSV file of people returned to France",
        widget=GovFileInput(),
        description=(
            "Columns: given_names, family_name, date_of_birth, nationality, document_number, "
            "returned_on. Dates as YYYY-MM-DD or DD/MM/YYYY; nationality as an ISO code."
        ),
        validators=[FileRequired("Choose a CSV file")],
    )
