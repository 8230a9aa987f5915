"""The account forms. Messages say what to do, in the reader's language (GOV.UK error style)."""

from __future__ import annotations

from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextInput
from wtforms import Field, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, ValidationError

from portal.auth.passwords import MAX_LENGTH, MIN_LENGTH, PasswordProblem, password_problem
from portal.fields import MaxLength
from portal.forms import PortalForm
from portal.widgets import PasswordInput

PASSWORD_MESSAGES = {
    PasswordProblem.TOO_SHORT: _l("Password must be %(min)s characters or more", min=MIN_LENGTH),
    PasswordProblem.TOO_LONG: _l("Password must be %(max)s characters or fewer", max=MAX_LENGTH),
    PasswordProblem.COMMON: _l(
        "This password is too easy to guess because many people use it. Choose another password"
    ),
    PasswordProblem.SAME_AS_EMAIL: _l("Password must not be your email address"),
    PasswordProblem.REPEATED: _l("Password must not be one character repeated"),
}


class EmailAddress:
    """A syntactically valid email address (no DNS look-up: the portal calls no other host)."""

    def __call__(self, form: PortalForm, field: Field) -> None:
        if not field.data:
            return
        try:
            validate_email(field.data, check_deliverability=False)
        except EmailNotValidError as exc:
            raise ValidationError(
                str(_l("Enter an email address in the correct format, like name@example.com"))
            ) from exc


class AcceptablePassword:
    """The NIST 800-63B rules, checked against the email address typed on the same form."""

    def __call__(self, form: PortalForm, field: Field) -> None:
        if not field.data:
            return
        email_field = getattr(form, "email", None)
        problem = password_problem(field.data, email_field.data if email_field else None)
        if problem is not None:
            raise ValidationError(str(PASSWORD_MESSAGES[problem]))


def email_field(**kwargs: Any) -> StringField:
    return StringField(
        _l("Email address"),
        widget=GovTextInput(),
        validators=[DataRequired(_l("Enter your email address")), MaxLength(320), EmailAddress()],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        **kwargs,
    )


class RegisterForm(PortalForm):
    email = email_field()
    password = PasswordField(
        _l("Create a password"),
        widget=PasswordInput(),
        description=_l(
            "Use 8 characters or more. A few words you can remember make a strong password."
        ),
        validators=[DataRequired(_l("Enter a password")), AcceptablePassword()],
    )
    password_confirm = PasswordField(
        _l("Type the password again"),
        widget=PasswordInput(),
        validators=[
            DataRequired(_l("Type the password again")),
            EqualTo("password", _l("The passwords do not match. Type the same password twice")),
        ],
    )
    submit = SubmitField(_l("Create account"), widget=GovSubmitInput())


class SignInForm(PortalForm):
    email = email_field()
    password = PasswordField(
        _l("Password"),
        widget=PasswordInput(),
        validators=[DataRequired(_l("Enter your password"))],
    )
    submit = SubmitField(_l("Sign in"), widget=GovSubmitInput())


class ForgotPasswordForm(PortalForm):
    email = email_field()
    submit = SubmitField(_l("Send reset link"), widget=GovSubmitInput())


class ResetPasswordForm(PortalForm):
    password = PasswordField(
        _l("New password"),
        widget=PasswordInput(),
        description=_l("Use 8 characters or more."),
        validators=[DataRequired(_l("Enter a new password")), AcceptablePassword()],
    )
    password_confirm = PasswordField(
        _l("Type the new password again"),
        widget=PasswordInput(),
        validators=[
            DataRequired(_l("Type the new password again")),
            EqualTo("password", _l("The passwords do not match. Type the same password twice")),
        ],
    )
    submit = SubmitField(_l("Save new password"), widget=GovSubmitInput())


class TwoFactorForm(PortalForm):
    code = StringField(
        _l("Security code"),
        widget=GovTextInput(),
        description=_l("The 6-digit code from your authenticator app, or a recovery code"),
        validators=[DataRequired(_l("Enter the security code"))],
    )
    submit = SubmitField(_l("Continue"), widget=GovSubmitInput())


class TwoFactorSetupForm(PortalForm):
    code = StringField(
        _l("Security code"),
        widget=GovTextInput(),
        description=_l("The 6-digit code your authenticator app shows now"),
        validators=[DataRequired(_l("Enter the security code"))],
    )
    submit = SubmitField(_l("Turn on two-factor authentication"), widget=GovSubmitInput())
