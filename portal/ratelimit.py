"""Who a rate limit counts against, and how much.

Many applicants share one address: a shelter's Wi-Fi, a charity's office, a mobile operator's
carrier-grade NAT. On the day a window opens they all apply at once. So a limit is keyed first on
what the form is about (the email address being registered, keyed by auth.routes; the link's
token; the signed-in account), and a per-address limit is only a ceiling that a busy hour of
honest use cannot reach: tests/integration/test_shared_addresses.py has 200 people on one address
register, confirm and sign in within an hour, mistakes included, and nobody is refused. Password
guessing is slowed per account, and per account and address, in the database
(portal.auth.throttle), not here; reset emails are capped per account where they are sent
(portal.auth.services).

Only a form whose CSRF token passed is counted (`form_refused` exempts the others): a refused form
does nothing, so it must cost nothing, and cannot be used to use up someone else's allowance.
"""

from flask import request
from flask_limiter import Limiter
from flask_login import current_user

from portal.security import csrf_failed

# Ceilings per address: far above what a shelter's busiest hour sends (see the module docstring).
ADDRESS_CEILING = "1000 per hour"
SIGN_IN_ADDRESS_CEILING = "300 per minute"
# One email address being registered: a person retrying, not a form used to send mail to someone.
PER_EMAIL = "5 per hour"
# One emailed link (confirmation or reset): tokens are unguessable, so this only stops a loop.
PER_LINK = "10 per hour"
# One staff account's second-factor codes: a six-digit code must not be guessed.
SECOND_FACTOR_SETUP_PER_ACCOUNT = "20 per 15 minutes"
SECOND_FACTOR_PER_ACCOUNT = "10 per 15 minutes"


def client_address() -> str:
    """The client's address as the WSGI server saw it (ProxyFix corrects it behind a proxy)."""
    return request.remote_addr or "unknown"


def link_token() -> str:
    """The token of the emailed link the form belongs to."""
    return "link:" + str((request.view_args or {}).get("token", ""))[:128]


def signed_in_account() -> str:
    """The account of the signed-in person (first factor passed), else the address."""
    if current_user.is_authenticated:
        return f"account:{current_user.get_id()}"
    return client_address()


def form_refused() -> bool:
    """Exempt a post whose CSRF token was refused: the view only shows the form again."""
    return csrf_failed()


# Created here, with the rules of who it counts against, and bound to the app in create_app().
# A capability keyed on something of its own (auth: the email address being registered) gives
# its key function to `limiter.limit`, so that this module needs no capability.
limiter = Limiter(key_func=client_address, default_limits=[])
