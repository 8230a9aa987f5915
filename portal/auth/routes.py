"""Account pages. Each handler parses the form, calls one service, and renders or redirects."""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user
from sqlalchemy import Select, bindparam, select

from portal import i18n, ratelimit
from portal.auth import held_forms, services, sessions, tokens, totp
from portal.auth.access import second_factor_redirect, signed_in_required
from portal.auth.forms import (
    ForgotPasswordForm,
    RegisterForm,
    ResetPasswordForm,
    SignInForm,
    TwoFactorForm,
    TwoFactorSetupForm,
)
from portal.extensions import db, login_manager
from portal.forms import ConfirmForm
from portal.models import Role, TokenPurpose, User, UserSession, utcnow
from portal.ratelimit import client_address, limiter
from portal.security import csrf_failed, form_page

PARIS = ZoneInfo("Europe/Paris")

auth = Blueprint("auth", __name__)


def submitted_email() -> str:
    """The rate limit key of a registration: the email address named in the form (normalised as
    accounts keep it), so that a limit follows it, not the address sending it."""
    return "email:" + (services.normalise_email(request.form.get("email", ""))[:320] or "none")


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: never an open redirect to another host."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@auth.route("/create-account", methods=["GET", "POST"])
@form_page
@limiter.limit(ratelimit.ADDRESS_CEILING, methods=["POST"], exempt_when=ratelimit.form_refused)
@limiter.limit(
    ratelimit.PER_EMAIL,
    methods=["POST"],
    key_func=submitted_email,
    exempt_when=ratelimit.form_refused,
)
def register() -> Any:
    form = RegisterForm()
    if form.validate_on_submit():
        services.register(form.email.data, form.password.data, g.locale)
        session["pending_email"] = services.normalise_email(form.email.data)
        return redirect(url_for("auth.check_email"))
    return render_template("auth/register.html", form=form)


@auth.route("/create-account/check-your-email")
def check_email() -> Any:
    return render_template("auth/check_email.html", email=session.get("pending_email"))


@auth.route("/confirm-email/<token>", methods=["GET", "POST"])
@form_page
@limiter.limit(ratelimit.ADDRESS_CEILING, methods=["POST"], exempt_when=ratelimit.form_refused)
@limiter.limit(
    ratelimit.PER_LINK,
    methods=["POST"],
    key_func=ratelimit.link_token,
    exempt_when=ratelimit.form_refused,
)
def confirm_email(token: str) -> Any:
    """A button, not the link itself, confirms: email scanners that follow links use nothing up."""
    form = ConfirmForm()
    if form.validate_on_submit():
        user = services.confirm_email(token)
        if user is None:
            return render_template("auth/link_expired.html"), 400
        flash(_("Your email address is confirmed. You can now sign in."), "success")
        return redirect(url_for("auth.sign_in"))
    if tokens.peek_token(token, TokenPurpose.VERIFY_EMAIL) is None:
        return render_template("auth/link_expired.html"), 400
    return render_template("auth/confirm_email.html", form=form)


@auth.route("/sign-in", methods=["GET", "POST"])
@form_page
@limiter.limit(
    ratelimit.SIGN_IN_ADDRESS_CEILING, methods=["POST"], exempt_when=ratelimit.form_refused
)
def sign_in() -> Any:
    """Wrong passwords are slowed per account and per client in the database (auth.throttle), not
    by a per-account rate limit: that counted every post naming the email, so anyone could keep
    its holder out."""
    next_url = _safe_next(request.args.get("next"))
    if current_user.is_authenticated and not current_user.needs_second_factor:
        return redirect(next_url or _landing_page(current_user))
    form = SignInForm()
    if form.validate_on_submit():
        result = services.authenticate(form.email.data, form.password.data, client_address())
        user = result.user
        if result.outcome is services.SignInOutcome.SLOWED and result.retry_at is not None:
            return _slowed(form, result.retry_at)
        if result.outcome is services.SignInOutcome.UNCONFIRMED:
            return render_template("auth/check_email.html", email=user.email if user else None)
        if result.outcome is services.SignInOutcome.OK and user is not None:
            _start_session(user)
            if user.needs_second_factor:
                session["after_second_factor"] = next_url
                return second_factor_redirect()
            return redirect(next_url or _landing_page(user))
        form.email.errors = [*form.email.errors, _("Enter a correct email address and password")]
        form.password.errors = [
            *form.password.errors,
            _("Enter a correct email address and password"),
        ]
    return render_template("auth/sign_in.html", form=form)


def _slowed(form: SignInForm, retry_at: datetime) -> Response:
    """The sign-in page again, with the time (in Paris, rounded up to the minute) to try again."""
    shown = (retry_at + timedelta(seconds=59)).replace(second=0, microsecond=0)
    same_day = shown.astimezone(PARIS).date() == utcnow().astimezone(PARIS).date()
    moment = i18n.time_of_day(shown) if same_day else i18n.date_time(shown, "short")
    form.password.errors = [
        _(
            "Too many attempts to sign in. Try again after %(time)s, or reset your password.",
            time=moment,
        )
    ]
    response = make_response(render_template("auth/sign_in.html", form=form), 429)
    response.headers["Retry-After"] = str(max(1, math.ceil((retry_at - utcnow()).total_seconds())))
    return response


def _landing_page(user: User) -> str:
    """Applicants continue their application; staff start from their account page."""
    return (
        url_for("apply.overview") if user.role_enum is Role.APPLICANT else url_for("auth.account")
    )


# What may outlive signing in or out: the language, and eligibility answers (nothing personal).
CARRIED_OVER = ("locale", "eligibility")


def _fresh_session() -> None:
    """Empty the session cookie, keeping only what is safe and useful to carry over."""
    kept = {key: session[key] for key in CARRIED_OVER if key in session}
    session.clear()
    session.update(kept)


def _start_session(user: User) -> None:
    """Sign in with a brand-new server-side session: nothing else from before sign-in carries over."""
    _fresh_session()
    user.current_session = services.begin_session(user)
    login_user(user)
    session.permanent = True


@auth.route("/sign-out", methods=["POST"])
def sign_out() -> Any:
    if current_user.is_authenticated and current_user.current_session is not None:
        services.sign_out(current_user, current_user.current_session)
    logout_user()
    _fresh_session()
    session.pop("eligibility", None)
    return redirect(url_for("auth.signed_out"))


@auth.route("/signed-out")
def signed_out() -> Any:
    return render_template("auth/signed_out.html")


@auth.route("/session/keep-alive", methods=["POST"])
def keep_alive() -> Any:
    """Called by the timeout warning's "Stay signed in" button."""
    if not current_user.is_authenticated or current_user.current_session is None:
        return Response(status=401)
    services.keep_session_alive(current_user.current_session, utcnow(), force=True)
    return Response(status=204)


@auth.route("/forgot-password", methods=["GET", "POST"])
@form_page
@limiter.limit(ratelimit.ADDRESS_CEILING, methods=["POST"], exempt_when=ratelimit.form_refused)
def forgot_password() -> Any:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        session["pending_email"] = services.normalise_email(form.email.data)
        return redirect(url_for("auth.reset_sent"))
    return render_template("auth/forgot_password.html", form=form)


@auth.route("/forgot-password/check-your-email")
def reset_sent() -> Any:
    return render_template("auth/reset_sent.html", email=session.get("pending_email"))


@auth.route("/reset-password/<token>", methods=["GET", "POST"])
@form_page
@limiter.limit(ratelimit.ADDRESS_CEILING, methods=["POST"], exempt_when=ratelimit.form_refused)
@limiter.limit(
    ratelimit.PER_LINK,
    methods=["POST"],
    key_func=ratelimit.link_token,
    exempt_when=ratelimit.form_refused,
)
def reset_password(token: str) -> Any:
    user = tokens.peek_token(token, TokenPurpose.RESET_PASSWORD)
    if user is None:
        return render_template("auth/link_expired.html", reset=True), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        if services.reset_password(token, form.password.data) is None:
            return render_template("auth/link_expired.html", reset=True), 400
        logout_user()
        flash(_("Your password has been changed. Sign in with your new password."), "success")
        return redirect(url_for("auth.sign_in"))
    return render_template("auth/reset_password.html", form=form, email=user.email)


@auth.route("/two-factor/set-up", methods=["GET", "POST"])
@form_page
@limiter.limit(
    ratelimit.SECOND_FACTOR_SETUP_PER_ACCOUNT,
    methods=["POST"],
    key_func=ratelimit.signed_in_account,
    exempt_when=ratelimit.form_refused,
)
def two_factor_setup() -> Any:
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.role_enum.is_staff or current_user.totp_confirmed_at is not None:
        return redirect(url_for("auth.account"))
    uri = services.begin_totp_setup(current_user)
    form = TwoFactorSetupForm()
    if form.validate_on_submit():
        codes = services.confirm_totp_setup(
            current_user, current_user.current_session, form.code.data
        )
        if codes is not None:
            return render_template(
                "auth/recovery_codes.html", codes=codes, next_url=_after_second_factor()
            )
        form.code.errors = [_("The code is not right. Enter the code your app shows now")]
    return render_template(
        "auth/two_factor_setup.html",
        form=form,
        qr_code=totp.qr_code_data_uri(uri),
        secret=current_user.totp_secret,
    )


@auth.route("/two-factor", methods=["GET", "POST"])
@form_page
@limiter.limit(
    ratelimit.SECOND_FACTOR_PER_ACCOUNT,
    methods=["POST"],
    key_func=ratelimit.signed_in_account,
    exempt_when=ratelimit.form_refused,
)
def two_factor() -> Any:
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.needs_second_factor:
        return redirect(url_for("auth.account"))
    if current_user.totp_confirmed_at is None:
        return redirect(url_for("auth.two_factor_setup"))
    form = TwoFactorForm()
    if form.validate_on_submit():
        if services.verify_second_factor(
            current_user, current_user.current_session, form.code.data
        ):
            return redirect(_after_second_factor())
        form.code.errors = [_("The code is not right. Enter the code your app shows now")]
    return render_template("auth/two_factor.html", form=form)


def _after_second_factor() -> str:
    return _safe_next(session.pop("after_second_factor", None)) or url_for("auth.account")


@auth.route("/account")
@signed_in_required
def account() -> Any:
    codes_left = totp.recovery_codes_left(current_user) if current_user.role_enum.is_staff else None
    return render_template("auth/account.html", recovery_codes_left=codes_left)


@cache
def _session_and_user(companions: int) -> Select[Any]:
    """The user comes with the session row: one query per request, not two. Built once (per
    number of registered companions): SQLAlchemy keeps a built statement's cache key, which it
    otherwise computes again on every request (more CPU than the query's own round trip,
    bench/floor.py). Both rows are plain entities of the SELECT, and `row.user` is then found in
    the session without a query; whether a form is held for the account comes in the same row
    (see held_forms.any_held), and so do the companions other capabilities registered
    (sessions.Companion: the person's application, which every applicant page reads)."""
    statement = select(
        UserSession,
        User,
        held_forms.any_held(User.id),
        *(companion.entity for companion in sessions.COMPANIONS[:companions]),
    ).join(UserSession.user)
    for companion in sessions.COMPANIONS[:companions]:
        statement = statement.outerjoin(companion.entity, companion.on(User.id))
    return statement.where(UserSession.id == bindparam("session_id"))


def load_user(session_id: str) -> User | None:
    """Flask-Login's loader: the session row must exist, not be ended, idle or too old."""
    try:
        key = uuid.UUID(session_id)
    except ValueError:
        return None
    companions = sessions.COMPANIONS[:]
    found = db.session.execute(
        _session_and_user(len(companions)), {"session_id": key}
    ).one_or_none()
    if found is None:
        return None
    row, user, held, *brought = found
    if not held:
        held_forms.nothing_held_for(user.id)
    settings = current_app.config["PORTAL"]
    limits = sessions.SessionLimits(
        idle=timedelta(minutes=settings.SESSION_IDLE_MINUTES),
        absolute=timedelta(hours=settings.SESSION_ABSOLUTE_HOURS),
    )
    now = utcnow()
    state = sessions.session_state(row, limits, now)
    if state is not sessions.SessionState.ACTIVE:
        # A request whose CSRF token was refused writes nothing; the next one ends the session.
        if state is not sessions.SessionState.ENDED and not csrf_failed():
            services.time_out_session(row, state.value)
            g.session_timed_out = True
            g.timed_out_user_id = row.user_id
        return None
    if not user.active:
        return None
    if not csrf_failed() and sessions.touch_due(row, now):
        services.keep_session_alive(row, now)
    user.current_session = row
    for companion, value in zip(companions, brought, strict=True):
        companion.receive(user, value)
    return user


def unauthorized() -> Any:
    """Not signed in (or signed out by a timeout): to the sign-in page, then back here."""
    if request.endpoint == "auth.keep_alive":
        return Response(status=401)
    if g.get("session_timed_out"):
        # Flask-Babel's ngettext fills %(num)s with the bare count; the sentence has no other
        # number, so all of its digits are the count's, written in the reader's digits.
        flash(
            i18n.native_digits(
                ngettext(
                    "You were signed out because you did nothing for %(num)s minute. "
                    "Sign in again to continue. Your saved answers are kept.",
                    "You were signed out because you did nothing for %(num)s minutes. "
                    "Sign in again to continue. Your saved answers are kept.",
                    current_app.config["PORTAL"].SESSION_IDLE_MINUTES,
                )
            ),
            "important",
        )
    timed_out_user_id = g.get("timed_out_user_id")
    # After a time-out, back to the page the person was on, whatever they sent.
    target = request.full_path if request.method == "GET" else None
    if timed_out_user_id is not None:
        target = target or request.path
    # Not for a refused security token: such a request writes nothing, whatever it carries.
    if (
        timed_out_user_id is not None
        and not csrf_failed()
        and held_forms.hold_posted_form(timed_out_user_id)
    ):
        flash(
            _(
                "What you typed on this page is kept for you. After you sign in, check it "
                "and save it again."
            ),
            "important",
        )
        target = request.path
    return redirect(
        url_for("auth.sign_in", next=_safe_next(target.rstrip("?") if target else None))
    )


ROLE_NAMES = {
    Role.APPLICANT: _l("Applicant"),
    Role.SUPPORT: _l("Support worker"),
    Role.CASEWORKER: _l("Caseworker"),
    Role.ADMIN: _l("Administrator"),
}


def role_name(role: str) -> str:
    return str(ROLE_NAMES[Role(role)])


def init_login(app: Flask) -> None:
    app.add_template_global(role_name)
    app.add_template_global(i18n.native_name, "language_name")
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(unauthorized)
    # Our sessions are server-side rows; Flask-Login's IP heuristics would sign out people whose
    # mobile network changes address.
    login_manager.session_protection = None

    @app.before_request
    def remember_locale() -> None:
        """A signed-in user's language choice follows them into their emails and SMS."""
        locale = g.get("locale")
        if locale and current_user.is_authenticated and current_user.locale != locale:
            services.remember_locale(current_user, locale)
