"""Settings from PORTAL_* environment variables, with embedded defaults for one-command development.

Production (PORTAL_ENV=production) refuses defaults that are only safe on a developer's machine.

Each setting is declared once, as a field of `PortalConfig`: its type is the annotation, and
`setting(...)` gives its environment variable, its default and its meaning. `from_env` parses
every declared variable by its type, and the README's configuration table is checked against the
same declarations (tests/unit/test_config.py). A small declarative table rather than
pydantic-settings: the parsing stays exactly what it was (an empty variable counts as unset, a
boolean is true only for 1/true/yes/on, a list is comma-separated, a malformed number names its
variable in a ConfigError), `finalise` can still fill development defaults in place, and no new
dependency (pydantic and its compiled core) comes into every process for about seventy values.
To add a setting: one field below, `NAME: type = setting("PORTAL_NAME", default, "meaning")`,
and the same row in the README table (the test says which row it expects).
"""

from __future__ import annotations

import dataclasses
import os
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.engine import make_url

from portal.keys import new_key_text, parse_key

PROJECT_ROOT = Path(__file__).resolve().parent.parent

EMAIL_BACKENDS = ("log", "smtp", "notify", "aws")
SMS_BACKENDS = ("log", "notify", "aws")

# fa is Iranian Persian, prs is Dari (the Persian of Afghanistan): the words for an identity card, a
# family name or a mobile phone differ between the two, so Afghan readers get their own catalog.
LOCALES: tuple[str, ...] = (
    "en",
    "fr",
    "ar",
    "fa",
    "prs",
    "ps",
    "ckb",
    "ku",
    "ti",
    "am",
    "vi",
    "so",
)


class ConfigError(RuntimeError):
    """The environment asks for something the portal must not run with."""


T = TypeVar("T")


@dataclass(frozen=True)
class Setting:
    """One setting as declared on PortalConfig: the README's configuration table row comes from it."""

    name: str
    attribute: str
    kind: Any
    default: Any
    meaning: str
    shown: str | None = None

    @property
    def shown_default(self) -> str:
        """The default as the README shows it."""
        if self.shown is not None:
            return self.shown
        if self.default == "":
            return "(empty)"
        if isinstance(self.default, bool):
            return f"`{str(self.default).lower()}`"
        if isinstance(self.default, tuple):
            return "`" + ",".join(self.default) + "`"
        return f"`{self.default}`"

    @property
    def readme_row(self) -> str:
        return f"| `{self.name}` | {self.shown_default} | {self.meaning} |"

    def parse(self, raw: str) -> Any:
        """The value of the variable as set (neither unset nor empty)."""
        if self.kind is int:
            try:
                return int(raw)
            except ValueError as exc:
                raise ConfigError(f"{self.name} must be a whole number, not {raw!r}") from exc
        if self.kind is bool:
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        if self.kind is Path:
            return Path(raw)
        if self.kind == tuple[str, ...]:
            return tuple(code.strip().upper() for code in raw.split(",") if code.strip())
        return raw


def setting(variable: str, default: T, meaning: str, *, shown: str | None = None) -> T:
    """Declare a PortalConfig field read from `variable`; `shown` is the README's default when the
    real one is computed at start (a random key, a path under the project)."""
    return dataclasses.field(
        default=default, metadata={"variable": variable, "meaning": meaning, "shown": shown}
    )


@dataclass
class PortalConfig:
    """The settings the application reads, built from the environment by `from_env`."""

    ENV: str = setting(
        "PORTAL_ENV", "development", "`production` turns on the strict checks and secure cookies"
    )
    SECRET_KEY: str = setting(
        "PORTAL_SECRET_KEY",
        "",
        "signs sessions and CSRF tokens",
        shown="random, kept in `instance/secret_key`",
    )
    DATABASE_URL: str = setting(
        "DATABASE_URL",
        "",
        "SQLAlchemy database URL (`postgresql://...` uses psycopg 3)",
        shown="`sqlite:///instance/portal.sqlite3`",
    )
    DATABASE_USERNAME: str = setting(
        "PORTAL_DATABASE_USERNAME",
        "",
        "database user, replacing the URL's (on AWS, the rotating secret's `username` field)",
        shown="the URL's",
    )
    DATABASE_PASSWORD: str = setting(
        "PORTAL_DATABASE_PASSWORD",
        "",
        "database password, replacing the URL's (on AWS, the rotating secret's `password` field)",
        shown="the URL's",
    )
    DATABASE_RUNTIME_ROLE: str = setting(
        "PORTAL_DATABASE_RUNTIME_ROLE",
        "",
        "PostgreSQL: migration 0034 grants this role data rights only (no DDL, no TRUNCATE), creating it if missing; the app and workers connect as it, the migrations as the owner",
    )
    DATABASE_RUNTIME_PASSWORD: str = setting(
        "PORTAL_DATABASE_RUNTIME_PASSWORD",
        "",
        "the runtime role's first password, when migration 0034 creates it (without one it cannot sign in)",
    )
    DB_POOL_SIZE: int = setting(
        "PORTAL_DB_POOL_SIZE", 5, "PostgreSQL connections each process keeps open"
    )
    DB_MAX_OVERFLOW: int = setting(
        "PORTAL_DB_MAX_OVERFLOW",
        10,
        "connections a process may open beyond its pool (pool + overflow, times processes, must fit the server's limit: `docs/capacity.md`)",
    )
    BASE_URL: str = setting(
        "PORTAL_BASE_URL",
        "http://127.0.0.1:5000",
        "absolute address used in links in emails and SMS",
    )
    TESTING: bool = False  # set by tests and the app factory, never from the environment
    NOTIFY_BACKEND: str = setting(
        "PORTAL_NOTIFY_BACKEND",
        "log",
        "email: `log` (development), `smtp`, `notify` (GOV.UK Notify) or `aws` (Amazon SES)",
    )
    SMS_BACKEND: str = setting(
        "PORTAL_SMS_BACKEND",
        "",
        "SMS: `log`, `notify` or `aws` (Amazon SNS); unset, it follows the email backend when that one sends SMS (`log`, `notify`, `aws`); with `smtp` email it must be set in production",
        shown="the email backend's",
    )
    NOTIFY_API_KEY: str = setting(
        "PORTAL_NOTIFY_API_KEY",
        "",
        "GOV.UK Notify API key (a secret: from the environment or the secrets store)",
    )
    NOTIFY_BASE_URL: str = setting(
        "PORTAL_NOTIFY_BASE_URL",
        "https://api.notifications.service.gov.uk",
        "GOV.UK Notify's API (tests point it at a loopback server)",
    )
    NOTIFY_EMAIL_TEMPLATE_ID: str = setting(
        "PORTAL_NOTIFY_EMAIL_TEMPLATE_ID",
        "",
        "id of the Notify email template, subject `((subject))`, body `((body))`",
    )
    NOTIFY_SMS_TEMPLATE_ID: str = setting(
        "PORTAL_NOTIFY_SMS_TEMPLATE_ID",
        "",
        "id of the Notify text message template, body `((body))`",
    )
    NOTIFY_CALLBACK_TOKEN: str = setting(
        "PORTAL_NOTIFY_CALLBACK_TOKEN",
        "",
        "bearer token Notify sends with delivery receipts to `/callbacks/notify/delivery-status` (a secret; empty: every receipt is refused)",
    )
    NOTIFY_TIMEOUT_SECONDS: int = setting(
        "PORTAL_NOTIFY_TIMEOUT_SECONDS",
        10,
        "how long to wait for Notify's answer (a timeout is retried after a look-up by reference)",
    )
    SES_REGION: str = setting(
        "PORTAL_SES_REGION",
        "eu-west-2",
        "SES region for `aws` email; the sender is `PORTAL_MAIL_FROM`, a verified identity",
    )
    SES_CONFIGURATION_SET: str = setting(
        "PORTAL_SES_CONFIGURATION_SET",
        "",
        "SES configuration set that publishes bounce, complaint and delivery events to SNS",
    )
    SES_ENDPOINT_URL: str = setting("PORTAL_SES_ENDPOINT_URL", "", "another SES endpoint (tests)")
    SES_EVENTS_QUEUE_URL: str = setting(
        "PORTAL_SES_EVENTS_QUEUE_URL",
        "",
        "SQS queue subscribed to the SES events topic, read by `consume-delivery-events` (region and endpoint: `PORTAL_SQS_*`)",
    )
    SNS_REGION: str = setting("PORTAL_SNS_REGION", "eu-west-2", "SNS region for `aws` SMS")
    SNS_SENDER_ID: str = setting(
        "PORTAL_SNS_SENDER_ID",
        "",
        "alphanumeric sender id of text messages, where the destination country allows one",
    )
    SNS_ENDPOINT_URL: str = setting("PORTAL_SNS_ENDPOINT_URL", "", "another SNS endpoint (tests)")
    SMTP_HOST: str = setting("PORTAL_SMTP_HOST", "localhost", "SMTP server for the smtp backend")
    SMTP_PORT: int = setting("PORTAL_SMTP_PORT", 587, "SMTP port")
    SMTP_USERNAME: str = setting(
        "PORTAL_SMTP_USERNAME", "", "SMTP user name (empty: no authentication)"
    )
    SMTP_PASSWORD: str = setting("PORTAL_SMTP_PASSWORD", "", "SMTP password")
    SMTP_STARTTLS: bool = setting(
        "PORTAL_SMTP_STARTTLS", True, "upgrade the SMTP connection with STARTTLS"
    )
    MAIL_FROM: str = setting(
        "PORTAL_MAIL_FROM", "no-reply@eoi.localhost", "sender address of emails"
    )
    SEND_MAX_ATTEMPTS: int = setting(
        "PORTAL_SEND_MAX_ATTEMPTS", 8, "tries of a message before a temporary failure is final"
    )
    SEND_BACKOFF_SECONDS: int = setting(
        "PORTAL_SEND_BACKOFF_SECONDS",
        30,
        "wait after a first temporary failure (doubles each time, with jitter)",
    )
    SEND_BACKOFF_MAX_SECONDS: int = setting(
        "PORTAL_SEND_BACKOFF_MAX_SECONDS", 3600, "the longest wait between two tries"
    )
    SEND_CLAIM_SECONDS: int = setting(
        "PORTAL_SEND_CLAIM_SECONDS",
        300,
        "after this, a message that a dead sender held is due again",
    )
    RATELIMIT_STORAGE_URL: str = setting(
        "PORTAL_RATELIMIT_STORAGE_URL",
        "memory://",
        "Flask-Limiter storage; `redis://127.0.0.1:6379/0` when there is more than one process",
    )
    RATELIMIT_ENABLED: bool = setting(
        "PORTAL_RATELIMIT_ENABLED",
        True,
        "rate limits on sign-in, registration, links, password reset, claim codes and reports on the words of a page",
    )
    SESSION_IDLE_MINUTES: int = setting(
        "PORTAL_SESSION_IDLE_MINUTES",
        30,
        "sign out after this long without a request (a warning comes 2 minutes before)",
    )
    SESSION_ABSOLUTE_HOURS: int = setting(
        "PORTAL_SESSION_ABSOLUTE_HOURS", 12, "sign out this long after signing in, whatever happens"
    )
    CSRF_TIME_LIMIT_SECONDS: int = setting(
        "PORTAL_CSRF_TIME_LIMIT_SECONDS",
        3600,
        "lifetime of a form's CSRF token (an expired one re-shows the form with the answers)",
    )
    TOKEN_HOURS: int = setting("PORTAL_TOKEN_HOURS", 24, "lifetime of email confirmation links")
    RESET_TOKEN_MINUTES: int = setting(
        "PORTAL_RESET_TOKEN_MINUTES", 60, "lifetime of password reset links"
    )
    SHOW_GOVUK_BRAND: bool = setting(
        "PORTAL_SHOW_GOVUK_BRAND",
        False,
        "show the GOV.UK header with the crown (only where the brand may be used)",
    )
    LOG_LEVEL: str = setting("PORTAL_LOG_LEVEL", "INFO", "level of the JSON logs on stderr")
    INSTANCE_PATH: Path = setting(
        "PORTAL_INSTANCE_PATH",
        PROJECT_ROOT / "instance",
        "folder for the SQLite database and the development key",
        shown="`instance/`",
    )
    DOCUMENT_STORAGE: str = setting(
        "PORTAL_DOCUMENT_STORAGE",
        "local",
        "`local` (encrypted files under `instance/documents/`) or `s3`",
    )
    DOCUMENT_KEY: str = setting(
        "PORTAL_DOCUMENT_KEY",
        "",
        "AES-256 key (urlsafe base64; `flask --app portal documents-key` makes one) that encrypts local files; required in production",
        shown="random, kept in `instance/document_key`",
    )
    S3_BUCKET: str = setting(
        "PORTAL_S3_BUCKET", "", "private bucket for documents when `PORTAL_DOCUMENT_STORAGE=s3`"
    )
    S3_REGION: str = setting("PORTAL_S3_REGION", "eu-west-2", "the bucket's region")
    S3_ENDPOINT_URL: str = setting(
        "PORTAL_S3_ENDPOINT_URL", "", "another S3 endpoint (tests, S3-compatible stores)"
    )
    S3_SSE: str = setting(
        "PORTAL_S3_SSE", "aws:kms", "server-side encryption of each object: `aws:kms` or `AES256`"
    )
    S3_KMS_KEY_ID: str = setting(
        "PORTAL_S3_KMS_KEY_ID", "", "KMS key for `aws:kms` (empty: the bucket's default key)"
    )
    DOCUMENT_MAX_BYTES: int = setting(
        "PORTAL_DOCUMENT_MAX_BYTES",
        10 * 1024 * 1024,
        "largest file an applicant can upload (10 MB); a larger request gets the 413 page",
    )
    DOCUMENTS_TOTAL_MAX_BYTES: int = setting(
        "PORTAL_DOCUMENTS_TOTAL_MAX_BYTES",
        50 * 1024 * 1024,
        "largest total of one application's files (50 MB)",
    )
    IMAGE_MAX_PIXELS: int = setting(
        "PORTAL_IMAGE_MAX_PIXELS",
        50_000_000,
        "images with more pixels are refused from their header, before decoding",
    )
    IMAGE_MAX_SIDE: int = setting(
        "PORTAL_IMAGE_MAX_SIDE",
        2000,
        "images are scaled down so their longest side is at most this",
    )
    PDF_MAX_PAGES: int = setting("PORTAL_PDF_MAX_PAGES", 20, "longest PDF accepted")
    CLAMD_SOCKET: str = setting(
        "PORTAL_CLAMD_SOCKET",
        "",
        "clamd's unix socket: set it (or the host) to scan every upload with ClamAV; production refuses to start without one of the two",
    )
    CLAMD_HOST: str = setting("PORTAL_CLAMD_HOST", "", "clamd's host when it listens on TCP")
    CLAMD_PORT: int = setting("PORTAL_CLAMD_PORT", 3310, "clamd's TCP port")
    CLAMD_TIMEOUT_SECONDS: int = setting(
        "PORTAL_CLAMD_TIMEOUT_SECONDS",
        30,
        "how long to wait for a scan; a scanner that does not answer refuses the upload",
    )
    QUEUE: str = setting(
        "PORTAL_QUEUE",
        "database",
        "checking queue: `database` (the outbox table, leased) or `sqs` (the relay publishes to SQS)",
    )
    QUEUE_LEASE_SECONDS: int = setting(
        "PORTAL_QUEUE_LEASE_SECONDS",
        1800,
        "how long a claimed application stays reserved for its caseworker",
    )
    QUEUE_MAX_RECEIVES: int = setting(
        "PORTAL_QUEUE_MAX_RECEIVES", 5, "claims of one item before it moves to the dead letters"
    )
    SQS_QUEUE_URL: str = setting(
        "PORTAL_SQS_QUEUE_URL", "", "SQS queue of the checking queue (`sqs`)"
    )
    SQS_PRIORITY_QUEUE_URL: str = setting(
        "PORTAL_SQS_PRIORITY_QUEUE_URL",
        "",
        "SQS queue for priority applications, read first (`sqs`)",
    )
    SQS_DEAD_LETTER_QUEUE_URL: str = setting(
        "PORTAL_SQS_DEAD_LETTER_QUEUE_URL",
        "",
        "the dead-letter queue both queues redrive to, emptied when an admin returns the dead letters (`sqs`)",
    )
    SQS_REGION: str = setting("PORTAL_SQS_REGION", "eu-west-2", "the queues' region")
    SQS_ENDPOINT_URL: str = setting("PORTAL_SQS_ENDPOINT_URL", "", "another SQS endpoint (tests)")
    CAPACITY_RESOURCE_ID: str = setting(
        "PORTAL_CAPACITY_RESOURCE_ID",
        "",
        "the web service's scalable target (`service/<cluster>/<service>`) whose floor `flask --app portal plan-capacity` raises before each window; empty: the command does nothing",
    )
    CAPACITY_REGION: str = setting(
        "PORTAL_CAPACITY_REGION", "eu-west-2", "Application Auto Scaling's region"
    )
    CAPACITY_ENDPOINT_URL: str = setting(
        "PORTAL_CAPACITY_ENDPOINT_URL", "", "another Application Auto Scaling endpoint (tests)"
    )
    CAPACITY_BASE_MIN_TASKS: int = setting(
        "PORTAL_CAPACITY_BASE_MIN_TASKS", 2, "fewest web tasks outside a window's first hours"
    )
    CAPACITY_WINDOW_MIN_TASKS: int = setting(
        "PORTAL_CAPACITY_WINDOW_MIN_TASKS",
        10,
        "fewest web tasks from `PORTAL_CAPACITY_LEAD_MINUTES` before a window opens to `PORTAL_CAPACITY_SURGE_HOURS` after",
    )
    CAPACITY_MAX_TASKS: int = setting(
        "PORTAL_CAPACITY_MAX_TASKS",
        24,
        "most web tasks (the scalable target's maximum, kept by every scheduled action)",
    )
    CAPACITY_LEAD_MINUTES: int = setting(
        "PORTAL_CAPACITY_LEAD_MINUTES", 30, "how long before a window opens the floor is raised"
    )
    CAPACITY_SURGE_HOURS: int = setting(
        "PORTAL_CAPACITY_SURGE_HOURS", 3, "how long after a window opens the floor is lowered again"
    )
    PRIORITY_NATIONALITIES: tuple[str, ...] = setting(
        "PORTAL_PRIORITY_NATIONALITIES",
        ("AF", "ER", "SD", "SY", "YE"),
        "ISO codes of nationalities with high protection grant rates, checked first",
    )
    BOOKING_HORIZON_DAYS: int = setting(
        "PORTAL_BOOKING_HORIZON_DAYS",
        28,
        "how far ahead an invited applicant can book a biometric appointment",
    )
    BOOKING_CUTOFF_HOURS: int = setting(
        "PORTAL_BOOKING_CUTOFF_HOURS",
        48,
        "no moving or cancelling an appointment closer to it than this",
    )
    REMINDER_DAYS: int = setting(
        "PORTAL_REMINDER_DAYS",
        2,
        "days before an appointment that `send-reminders` reminds the applicant",
    )
    NUDGE_DAYS: int = setting(
        "PORTAL_NUDGE_DAYS",
        3,
        "days after an invitation that `send-reminders` nudges those who have not booked",
    )
    FAMILY_REMINDER_DAYS: int = setting(
        "PORTAL_FAMILY_REMINDER_DAYS",
        3,
        "days before a window closes that `remind-families` tells a main applicant, once, that a listed adult has not applied",
    )
    METRICS_TOKEN: str = setting(
        "PORTAL_METRICS_TOKEN",
        "",
        "bearer token that Prometheus sends to read `/metrics`; empty: `/metrics` answers 404",
    )
    RETENTION_DAYS: int = setting(
        "PORTAL_RETENTION_DAYS",
        365,
        "days after a final decision or a withdrawal that `flask --app portal retention` deletes documents and personal data",
    )

    @classmethod
    def from_env(cls) -> PortalConfig:
        """Read every PORTAL_* variable; unset or empty ones keep their embedded default."""
        values = {}
        for declared in SETTINGS:
            raw = os.environ.get(declared.name)
            if raw not in (None, ""):
                values[declared.attribute] = declared.parse(raw)
        return cls(**values)

    @property
    def is_production(self) -> bool:
        return self.ENV == "production"

    def finalise(self) -> None:
        """Fill development defaults, or refuse to start in production without real settings."""
        if self.is_production:
            if not self.SECRET_KEY or len(self.SECRET_KEY) < 32:
                raise ConfigError(
                    "PORTAL_SECRET_KEY must be set (32 characters or more) in production"
                )
            if not self.DATABASE_URL or self.DATABASE_URL.startswith("sqlite"):
                raise ConfigError(
                    "DATABASE_URL must name a server database in production, not SQLite"
                )
            if self.NOTIFY_BACKEND == "log":
                raise ConfigError(
                    "PORTAL_NOTIFY_BACKEND must deliver messages in production, not log"
                )
            if self.sms_backend() == "log":
                raise ConfigError("PORTAL_SMS_BACKEND must deliver messages in production, not log")
            if not self.sms_backend():
                raise ConfigError(
                    "PORTAL_SMS_BACKEND must name an SMS provider in production (notify or aws)"
                )
            if not self.BASE_URL.startswith("https://"):
                raise ConfigError("PORTAL_BASE_URL must be an https:// address in production")
            if not self.DOCUMENT_KEY:
                raise ConfigError("PORTAL_DOCUMENT_KEY must be set in production")
            if not (self.CLAMD_SOCKET or self.CLAMD_HOST):
                # Staff must never open a file no scanner has passed, and without one none would be.
                raise ConfigError(
                    "PORTAL_CLAMD_SOCKET or PORTAL_CLAMD_HOST must name a virus scanner in production"
                )
            self._check_documents()
            self._check_messages()
            return
        self.INSTANCE_PATH.mkdir(parents=True, exist_ok=True)
        if not self.DATABASE_URL:
            self.DATABASE_URL = f"sqlite:///{self.INSTANCE_PATH / 'portal.sqlite3'}"
        if not self.SECRET_KEY:
            self.SECRET_KEY = _development_secret(self.INSTANCE_PATH)
        if not self.DOCUMENT_KEY:
            self.DOCUMENT_KEY = _development_document_key(self.INSTANCE_PATH)
        self._check_documents()
        self._check_messages()

    def sms_backend(self) -> str:
        """The SMS channel: as set, else the email backend's when it can send SMS, else none."""
        if self.SMS_BACKEND:
            return self.SMS_BACKEND
        return self.NOTIFY_BACKEND if self.NOTIFY_BACKEND in SMS_BACKENDS else ""

    def _check_messages(self) -> None:
        if self.NOTIFY_BACKEND not in EMAIL_BACKENDS:
            raise ConfigError("PORTAL_NOTIFY_BACKEND must be `log`, `smtp`, `notify` or `aws`")
        if self.SMS_BACKEND and self.SMS_BACKEND not in SMS_BACKENDS:
            raise ConfigError("PORTAL_SMS_BACKEND must be `log`, `notify` or `aws`")
        # A Notify key ends with the service id and the secret, 36 characters each.
        uses_notify = "notify" in (self.NOTIFY_BACKEND, self.sms_backend())
        if uses_notify and len(self.NOTIFY_API_KEY) < 74:
            raise ConfigError("PORTAL_NOTIFY_API_KEY must be a GOV.UK Notify API key")
        if self.NOTIFY_BACKEND == "notify" and not self.NOTIFY_EMAIL_TEMPLATE_ID:
            raise ConfigError("PORTAL_NOTIFY_EMAIL_TEMPLATE_ID must be set for Notify email")
        if self.sms_backend() == "notify" and not self.NOTIFY_SMS_TEMPLATE_ID:
            raise ConfigError("PORTAL_NOTIFY_SMS_TEMPLATE_ID must be set for Notify SMS")

    def _check_documents(self) -> None:
        try:
            parse_key(self.DOCUMENT_KEY)
        except ValueError as exc:
            raise ConfigError(f"PORTAL_DOCUMENT_KEY is not a usable key: {exc}") from exc
        if self.DOCUMENT_STORAGE not in ("local", "s3"):
            raise ConfigError("PORTAL_DOCUMENT_STORAGE must be `local` or `s3`")
        if self.DOCUMENT_STORAGE == "s3" and not self.S3_BUCKET:
            raise ConfigError("PORTAL_S3_BUCKET must be set when documents are kept in S3")
        if self.CLAMD_SOCKET and self.CLAMD_HOST:
            raise ConfigError("set PORTAL_CLAMD_SOCKET or PORTAL_CLAMD_HOST, not both")
        if self.QUEUE not in ("database", "sqs"):
            raise ConfigError("PORTAL_QUEUE must be `database` or `sqs`")
        if self.QUEUE == "sqs" and not (self.SQS_QUEUE_URL and self.SQS_PRIORITY_QUEUE_URL):
            raise ConfigError(
                "PORTAL_SQS_QUEUE_URL and PORTAL_SQS_PRIORITY_QUEUE_URL must be set for the sqs queue"
            )

    def flask_settings(self) -> dict[str, Any]:
        """The Flask and extension keys derived from these settings."""
        production = self.is_production
        return {
            "PORTAL": self,
            "SECRET_KEY": self.SECRET_KEY,
            "TESTING": self.TESTING,
            "SQLALCHEMY_ENGINES": {
                "default": engine_options(
                    self.DATABASE_URL,
                    pool_size=self.DB_POOL_SIZE,
                    max_overflow=self.DB_MAX_OVERFLOW,
                    username=self.DATABASE_USERNAME,
                    password=self.DATABASE_PASSWORD,
                )
            },
            "SESSION_COOKIE_NAME": "__Host-session" if production else "session",
            "SESSION_COOKIE_SECURE": production,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "PERMANENT_SESSION_LIFETIME": self.SESSION_ABSOLUTE_HOURS * 3600,
            # The cookie is signed and sent again only when its contents change, not on every
            # response (about a tenth of a question page's server time, bench/floor.py). It
            # still outlives the server-side session: written at sign-in with the absolute
            # limit's lifetime, it expires no sooner than the row does (auth.sessions).
            "SESSION_REFRESH_EACH_REQUEST": False,
            "WTF_CSRF_TIME_LIMIT": self.CSRF_TIME_LIMIT_SECONDS,
            "WTF_CSRF_SSL_STRICT": production,
            "RATELIMIT_STORAGE_URI": self.RATELIMIT_STORAGE_URL,
            "RATELIMIT_ENABLED": self.RATELIMIT_ENABLED,
            "RATELIMIT_HEADERS_ENABLED": True,
            "BABEL_DEFAULT_LOCALE": "en",
            "BABEL_DEFAULT_TIMEZONE": "Europe/Paris",
            "BABEL_TRANSLATION_DIRECTORIES": str(PROJECT_ROOT / "translations"),
            # One file and the form around it: a larger request is refused before it is read.
            "MAX_CONTENT_LENGTH": self.DOCUMENT_MAX_BYTES + 256 * 1024,
            # Werkzeug's default limit on non-file form data stays small whatever the file limit.
            "MAX_FORM_MEMORY_SIZE": 500 * 1024,
            "PREFERRED_URL_SCHEME": "https" if production else "http",
        }


def _declared() -> tuple[Setting, ...]:
    kinds = typing.get_type_hints(PortalConfig)
    return tuple(
        Setting(
            name=f.metadata["variable"],
            attribute=f.name,
            kind=kinds[f.name],
            default=f.default,
            meaning=f.metadata["meaning"],
            shown=f.metadata["shown"],
        )
        for f in dataclasses.fields(PortalConfig)
        if "variable" in f.metadata
    )


SETTINGS: tuple[Setting, ...] = _declared()


CONNECT_TIMEOUT_SECONDS = 5


def engine_options(
    url: str,
    *,
    pool_size: int = 5,
    max_overflow: int = 10,
    username: str = "",
    password: str = "",
) -> dict[str, Any]:
    """The engine's URL and the options every process uses.

    `pool_pre_ping`: a connection that the server closed (a restart, a failover, an idle timeout)
    is found and replaced when it is taken from the pool, instead of failing the request that took
    it. `hide_parameters`: an error's message never carries the statement's values (email
    addresses, password hashes) into the logs. `connect_timeout` (PostgreSQL, unless the URL sets
    one): during a failover the old primary's address may swallow packets; a connection attempt
    gives up after a few seconds instead of the operating system's two minutes, so requests and the
    readiness check (portal.health) fail fast and the pool reconnects to the new primary.

    `pool_size` and `max_overflow` (PostgreSQL) bound each process's connections, so that the
    processes of every task stay within the server's connection limit (docs/capacity.md).
    `username` and `password`, when given, replace the URL's: Secrets Manager rotates them as
    fields of their own, and the URL without them holds no secret.
    """
    parsed = make_url(_engine_url(url))
    if username:
        parsed = parsed.set(username=username)
    if password:
        parsed = parsed.set(password=password)
    options: dict[str, Any] = {
        "url": parsed.render_as_string(hide_password=False)
        if username or password
        else _engine_url(url),
        "pool_pre_ping": True,
        "hide_parameters": True,
    }
    if parsed.get_backend_name() == "postgresql":
        options["pool_size"] = pool_size
        options["max_overflow"] = max_overflow
        if "connect_timeout" not in parsed.query:
            options["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    return options


def _engine_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whichever spelling of the URL the platform gives."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _development_secret(instance: Path) -> str:
    """A random key kept in instance/ so that development sessions survive a restart."""
    import secrets

    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _development_document_key(instance: Path) -> str:
    """A document key kept in instance/ so that development files stay readable after a restart."""
    path = instance / "document_key"
    if not path.exists():
        path.write_text(new_key_text())
        path.chmod(0o600)
    return path.read_text().strip()
