"""The questions of the Expression of Interest, one form per page.

Labels, hints and messages are written for people reading in a second language under stress:
short, plain, and saying what to do.
"""

from __future__ import annotations

import unicodedata

from flask_babel import lazy_gettext as _l
from govuk_frontend_wtf.wtforms_widgets import GovSelect, GovSubmitInput, GovTextArea, GovTextInput
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Regexp, ValidationError

from portal.apply.families import family_group_for
from portal.apply.references import FAMILY_PREFIX, InvalidReference, parse_reference
from portal.auth.forms import EmailAddress
from portal.config import LOCALES
from portal.fields import (
    NO,
    YES,
    DateField,
    InPast,
    MaxLength,
    MobileNumber,
    NotInFuture,
    country_choices,
    country_field,
    radio_field,
    text_field,
    yes_no_field,
)
from portal.forms import PortalForm
from portal.i18n import native_name
from portal.widgets import KeptSelect


def details_field(label: object) -> TextAreaField:
    return TextAreaField(
        label,
        widget=GovTextArea(),
        validators=[MaxLength(2000)],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )


class YesNoDetailsForm(PortalForm):
    """A yes/no question whose "yes" needs details; a "no" clears them."""

    details_message: object = _l("Give the details")

    def validate_details(self, field: TextAreaField) -> None:
        if self.answer.data == YES and not field.data:
            raise ValidationError(str(self.details_message))
        # Only a "no" clears them: with no valid answer the page comes back with the details kept.
        if self.answer.data == NO:
            field.data = ""


class ApplicantTypeForm(PortalForm):
    applicant_type = radio_field(
        _l("Are you the main applicant or a family member?"),
        [
            ("main", _l("I am the main applicant")),
            ("family_member", _l("I am a family member of someone who has already applied")),
        ],
        _l("Select if you are the main applicant or a family member"),
        description=_l(
            "A family member applies with the family reference number that the main applicant received."
        ),
    )


class FamilyReferenceForm(PortalForm):
    family_reference = text_field(
        _l("What is the family reference number?"),
        _l("Enter the family reference number"),
        max_length=30,
        description=_l(
            "The main applicant received it after sending their application. It starts with FAM, like FAM-K7Q-M4T-9X2."
        ),
    )

    def validate_family_reference(self, field: StringField) -> None:
        try:
            field.data = parse_reference(field.data or "", FAMILY_PREFIX)
        except InvalidReference as exc:
            raise ValidationError(
                str(_l("Check the family reference number: one of its characters is not right"))
            ) from exc
        if family_group_for(field.data) is None:
            raise ValidationError(
                str(
                    _l(
                        "We cannot find this family reference number. Check it with the main applicant"
                    )
                )
            )


class TravellingForm(PortalForm):
    travelling = radio_field(
        _l("Are you applying alone or with family members?"),
        [("alone", _l("Alone")), ("with_family", _l("With family members"))],
        _l("Select if you are applying alone or with family members"),
        description=_l(
            "Family members are your partner and your children, or other relatives who depend on you."
        ),
    )


RELATIONSHIPS = [
    ("", _l("Choose a relationship")),
    ("partner", _l("Husband, wife or partner")),
    ("child", _l("Son or daughter")),
    ("parent", _l("Father or mother")),
    ("sibling", _l("Brother or sister")),
    ("other", _l("Another relative")),
]


class FamilyMemberForm(PortalForm):
    full_name = text_field(_l("Full name"), _l("Enter the family member's full name"))
    relationship = SelectField(
        _l("Relationship to you"),
        choices=RELATIONSHIPS,
        widget=GovSelect(),
        validators=[InputRequired(_l("Select the relationship"))],
    )
    date_of_birth = DateField(
        _l("Date of birth"),
        required=_l("Enter the family member's date of birth"),
        invalid=_l("Date of birth must be a real date, like 27 3 2007"),
        validators=[InPast(_l("Date of birth must be in the past"))],
    )


class NamesForm(PortalForm):
    given_names = text_field(
        _l("Given names"),
        _l("Enter your given names"),
        description=_l(
            "All your first and middle names, exactly as on your passport or identity card"
        ),
    )
    family_name = text_field(
        _l("Family name"),
        _l("Enter your family name"),
        description=_l("Exactly as on your passport or identity card"),
    )


class OtherNamesForm(YesNoDetailsForm):
    details_message = _l("Enter the other names you have used")
    answer = yes_no_field(
        _l("Have you ever used other names?"),
        _l("Select yes if you have used other names"),
        _l("For example a name before marriage, or a different spelling of your name"),
    )
    details = details_field(_l("Other names you have used"))


class BirthForm(PortalForm):
    date_of_birth = DateField(
        _l("Date of birth"),
        required=_l("Enter your date of birth"),
        invalid=_l("Date of birth must be a real date, like 27 3 1990"),
        validators=[InPast(_l("Date of birth must be in the past"))],
        description=_l("For example, 27 3 1990"),
    )
    place_of_birth = text_field(
        _l("Town or city of birth"), _l("Enter the town or city where you were born")
    )
    country_of_birth = country_field(
        _l("Country of birth"), _l("Choose the country where you were born")
    )


class SexForm(PortalForm):
    sex = radio_field(
        _l("What is your sex, as on your passport or identity card?"),
        [("female", _l("Female")), ("male", _l("Male")), ("unspecified", _l("Unspecified (X)"))],
        _l("Select your sex as it is on your document"),
    )


class NationalityForm(PortalForm):
    choice_messages = {"other_nationality": _l("Choose a country")}
    nationality = country_field(_l("Nationality"), _l("Choose your nationality"))
    other_nationality = SelectField(
        _l("Other nationality (if you have one)"),
        choices=lambda: [("", str(_l("I have no other nationality"))), *country_choices()[1:]],
        widget=KeptSelect(),
    )

    def validate_other_nationality(self, field: SelectField) -> None:
        if field.data and field.data == self.nationality.data:
            raise ValidationError(
                str(_l("Your other nationality must be different from your nationality"))
            )


class RelationshipStatusForm(PortalForm):
    relationship_status = radio_field(
        _l("What is your relationship status?"),
        [
            ("single", _l("Single")),
            ("married", _l("Married or in a civil partnership")),
            ("partner", _l("Living with a partner")),
            ("separated", _l("Separated")),
            ("divorced", _l("Divorced")),
            ("widowed", _l("Widowed")),
        ],
        _l("Select your relationship status"),
    )


class DocumentForm(PortalForm):
    document_type = radio_field(
        _l("Type of document"),
        [
            ("passport", _l("Passport")),
            ("national_identity_card", _l("National identity card")),
        ],
        _l("Select the type of document"),
    )
    document_number = text_field(
        _l("Document number"), _l("Enter the document number"), max_length=30
    )
    issuing_country = country_field(
        _l("Country that issued it"), _l("Choose the country that issued the document")
    )
    issue_date = DateField(
        _l("Date of issue"),
        required=_l("Enter the date of issue"),
        invalid=_l("Date of issue must be a real date, like 5 11 2019"),
        validators=[NotInFuture(_l("Date of issue must be today or in the past"))],
    )
    expiry_date = DateField(
        _l("Expiry date"),
        required=_l("Enter the expiry date"),
        invalid=_l("Expiry date must be a real date, like 4 11 2029"),
        description=_l(
            "If your document has expired, you can still use it when you do not have a valid one."
        ),
    )

    def validate_document_number(self, field: StringField) -> None:
        field.data = "".join((field.data or "").split()).upper()
        if field.data and not field.data.isalnum():
            raise ValidationError(str(_l("Document number must only include letters and numbers")))

    def validate_expiry_date(self, field: DateField) -> None:
        if field.data and self.issue_date.data and field.data <= self.issue_date.data:
            raise ValidationError(str(_l("Expiry date must be after the date of issue")))


class DocumentExpiredForm(PortalForm):
    has_valid_document = yes_no_field(
        _l(
            "Your document has expired. Do you have another passport or identity card that is still valid?"
        ),
        _l("Select yes if you have a valid passport or identity card"),
    )

    def validate_has_valid_document(self, field: object) -> None:
        if self.has_valid_document.data == YES:
            raise ValidationError(
                str(_l("Use your valid document: go back and enter its details instead"))
            )


class AddressForm(PortalForm):
    address = TextAreaField(
        _l("Where do you stay in France?"),
        widget=GovTextArea(),
        validators=[InputRequired(_l("Enter where you stay in France")), MaxLength(500)],
        description=_l(
            "An address, or if you have no fixed address, where you stay, like a camp or a shelter"
        ),
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )
    town = text_field(_l("Town or city"), _l("Enter the town or city"), max_length=100)
    living_since = DateField(
        _l("Since when have you been in France?"),
        required=_l("Enter the month and year you came to France"),
        invalid=_l("Enter a real month and year, like 3 2025"),
        parts=("month", "year"),
        validators=[NotInFuture(_l("The date you came to France must be in the past"))],
        description=_l("For example, 3 2025"),
    )


class ContactForm(PortalForm):
    email = StringField(
        _l("Email address"),
        widget=GovTextInput(),
        validators=[MaxLength(320), EmailAddress()],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )
    mobile = text_field(
        _l("Mobile phone number"),
        max_length=30,
        description=_l("A French number, or a number from another country with its code, like +44"),
    )

    def validate_mobile(self, field: StringField) -> None:
        MobileNumber()(self, field)
        if not field.data and not self.email.data:
            raise ValidationError(
                str(
                    _l(
                        "Enter an email address or a mobile phone number, so that we can contact you"
                    )
                )
            )


UK_STATUSES = [
    ("", _l("Choose their status")),
    ("british", _l("British citizen")),
    ("settled", _l("Settled status or indefinite leave to remain")),
    ("refugee", _l("Refugee or humanitarian protection")),
    ("visa", _l("Another visa")),
    ("asylum_seeker", _l("Waiting for an asylum decision")),
    ("dont_know", _l("I do not know")),
]


class UkFamilyForm(PortalForm):
    choice_messages = {"immigration_status": _l("Choose their immigration status")}
    answer = yes_no_field(
        _l("Do you have family in the UK?"),
        _l("Select yes if you have family in the UK"),
        _l("For example a husband, wife, partner, child, parent, brother or sister"),
    )
    relationship = text_field(_l("Their relationship to you"), max_length=100)
    full_name = text_field(_l("Their full name"), max_length=200)
    immigration_status = SelectField(
        _l("Their immigration status in the UK"), choices=UK_STATUSES, widget=GovSelect()
    )

    def validate_relationship(self, field: StringField) -> None:
        self._required_if_yes(field, _l("Enter their relationship to you"))

    def validate_full_name(self, field: StringField) -> None:
        self._required_if_yes(field, _l("Enter their full name"))

    def validate_immigration_status(self, field: SelectField) -> None:
        self._required_if_yes(field, _l("Choose their immigration status"))

    def _required_if_yes(self, field: object, message: object) -> None:
        if self.answer.data == YES and not field.data:  # type: ignore[attr-defined]  # a WTForms field, passed as object
            raise ValidationError(str(message))
        if self.answer.data == NO:
            field.data = ""  # type: ignore[attr-defined]  # a WTForms field, passed as object


def _history_form(
    name: str,
    question: object,
    message: object,
    hint: object,
    details: object,
    details_message: object,
) -> type[YesNoDetailsForm]:
    return type(
        name,
        (YesNoDetailsForm,),
        {
            "details_message": details_message,
            "answer": yes_no_field(question, message, hint),
            "details": details_field(details),
        },
    )


UkVisasForm = _history_form(
    "UkVisasForm",
    _l("Have you ever had a UK visa?"),
    _l("Select yes if you have had a UK visa"),
    _l("Any visa to visit, study, work or live in the UK"),
    _l("Type of visa and when you had it"),
    _l("Enter the type of visa and when you had it"),
)
UkRefusalsForm = _history_form(
    "UkRefusalsForm",
    _l("Have you ever been refused a UK visa or refused entry at the UK border?"),
    _l("Select yes if you have been refused a UK visa or entry"),
    None,
    _l("What was refused and when"),
    _l("Enter what was refused and when"),
)
UkRemovalsForm = _history_form(
    "UkRemovalsForm",
    _l("Have you ever been removed or deported from the UK?"),
    _l("Select yes if you have been removed or deported from the UK"),
    None,
    _l("When and why"),
    _l("Enter when and why you were removed or deported"),
)
ConvictionsForm = _history_form(
    "ConvictionsForm",
    _l("Have you ever been convicted of a crime in any country?"),
    _l("Select yes if you have been convicted of a crime"),
    _l("Include driving offences. Tell us even if it was a long time ago."),
    _l("The crime, the country, the date and the sentence"),
    _l("Enter the details of the conviction"),
)
WarCrimesForm = _history_form(
    "WarCrimesForm",
    _l("Have you ever been involved in war crimes, crimes against humanity or genocide?"),
    _l("Select yes if you have been involved in war crimes, crimes against humanity or genocide"),
    _l("This includes helping or encouraging others to do these things"),
    _l("What happened, where and when"),
    _l("Enter what happened, where and when"),
)
TerrorismForm = _history_form(
    "TerrorismForm",
    _l("Have you ever been involved in, supported or encouraged terrorism?"),
    _l("Select yes if you have been involved in, supported or encouraged terrorism"),
    _l("This includes being a member of an organisation that has been involved in terrorism"),
    _l("What happened, where and when"),
    _l("Enter what happened, where and when"),
)


class LanguagesForm(PortalForm):
    languages_spoken = text_field(
        _l("Which languages do you speak?"),
        _l("Enter the languages you speak"),
        description=_l("For example: Arabic, French"),
    )
    message_language = radio_field(
        _l("In which language should we send you messages?"),
        [(code, native_name(code)) for code in LOCALES],
        _l("Select the language for your messages"),
    )


class InformationAnswerForm(PortalForm):
    """The applicant's answer to a caseworker's request for more information."""

    answer = TextAreaField(
        _l("Your answer"),
        widget=GovTextArea(),
        description=_l("You can write in your own language or in English."),
        validators=[MaxLength(5000)],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )


class ShareLanguageForm(PortalForm):
    """The language of the text a main applicant sends a family member. Sent by GET: choosing
    it changes nothing, so it needs no security token, and the page can be reloaded."""

    language = radio_field(
        _l("In which language should the text be?"),
        [(code, native_name(code)) for code in LOCALES],
        _l("Select the language of the text"),
        description=_l("Choose a language that your family member reads well."),
    )


# Changing the contact details on the status page (apply.contact): a new address or number, then
# the code sent to it.
class NewEmailForm(PortalForm):
    email = StringField(
        _l("New email address"),
        widget=GovTextInput(),
        validators=[
            DataRequired(_l("Enter your new email address")),
            MaxLength(320),
            EmailAddress(),
        ],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )
    submit = SubmitField(_l("Send the code"), widget=GovSubmitInput())


class NewMobileForm(PortalForm):
    """Checked as the contact question checks it: French or international, stored in E.164."""

    mobile = StringField(
        _l("New mobile phone number"),
        widget=GovTextInput(),
        description=_l("A French number, or a number from another country with its code, like +44"),
        validators=[
            DataRequired(_l("Enter your new mobile phone number")),
            MaxLength(30),
            MobileNumber(),
        ],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )
    submit = SubmitField(_l("Send the code"), widget=GovSubmitInput())


def latin_digits(value: object) -> object:
    """A code typed on a Persian or Arabic keyboard arrives in those digits: the same number."""
    if not isinstance(value, str):
        return value
    kept = "".join(char for char in value if not char.isspace())
    return "".join(str(unicodedata.digit(char)) if char.isdecimal() else char for char in kept)


class ContactCodeForm(PortalForm):
    code = StringField(
        _l("Code"),
        widget=GovTextInput(),
        description=_l("The 6 digits in the message we sent you"),
        validators=[
            DataRequired(_l("Enter the code")),
            Regexp(r"^\d{6}$", message=_l("Enter the 6 digits of the code")),
        ],
        filters=[latin_digits],
    )
    submit = SubmitField(_l("Confirm"), widget=GovSubmitInput())
