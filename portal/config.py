"""Settings from PORTAL_* environment variables, with embedded defaults for one-command development.

Production (PORTAL_ENV=production) refuses defaults that are only safe on a developer's machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

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


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _int(name: str, default: int) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from exc


def _bool(name: str, default: bool) -> bool:
    raw = _env(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Setting:
    """One documented setting: the README's configuration table is generated from these."""

    name: str
    default: str
    meaning: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "PORTAL_ENV", "development", "`production` turns on the strict checks and secure cookies"
    ),
    Setting("PORTAL_SECRET_KEY", "random per instance/", "signs sessions and CSRF tokens"),
    Setting("DATABASE_URL", "sqlite:///instance/portal.sqlite3", "SQLAlchemy database URL"),
    Setting(
        "PORTAL_DATABASE_USERNAME",
        "the URL's",
        "database user, replacing the URL's (a rotating secret's `username`)",
    ),
    Setting(
        "PORTAL_DATABASE_PASSWORD",
        "the URL's",
        "database password, replacing the URL's (a rotating secret's `password`)",
    ),
    Setting(
        "PORTAL_DATABASE_RUNTIME_ROLE",
        "",
        "migrations grant data rights (no DDL) to this role, creating it if missing (PostgreSQL)",
    ),
    Setting(
        "PORTAL_DATABASE_RUNTIME_PASSWORD",
        "",
        "its first password when the migration creates it (else it cannot sign in)",
    ),
    Setting("PORTAL_DB_POOL_SIZE", "5", "connections each process keeps open (PostgreSQL)"),
    Setting("PORTAL_DB_MAX_OVERFLOW", "10", "connections a process may open beyond its pool"),
    Setting("PORTAL_BASE_URL", "http://127.0.0.1:5000", "absolute address used in emails and SMS"),
    Setting(
        "PORTAL_NOTIFY_BACKEND",
        "log",
        "email: `log` (development), `smtp`, `notify` (GOV.UK Notify) or `aws` (SES)",
    ),
    Setting(
        "PORTAL_SMS_BACKEND",
        "as email",
        "SMS: `log`, `notify` or `aws` (SNS); unset: the email backend's if it sends SMS",
    ),
    Setting("PORTAL_NOTIFY_API_KEY", "", "GOV.UK Notify API key (secret)"),
    Setting(
        "PORTAL_NOTIFY_BASE_URL", "https://api.notifications.service.gov.uk", "GOV.UK Notify API"
    ),
    Setting(
        "PORTAL_NOTIFY_EMAIL_TEMPLATE_ID", "", "Notify email template `((subject))`/`((body))`"
    ),
    Setting("PORTAL_NOTIFY_SMS_TEMPLATE_ID", "", "Notify text message template `((body))`"),
    Setting("PORTAL_NOTIFY_CALLBACK_TOKEN", "", "bearer token Notify sends with delivery receipts"),
    Setting("PORTAL_NOTIFY_TIMEOUT_SECONDS", "10", "how long to wait for Notify's answer"),
    Setting("PORTAL_SES_REGION", "eu-west-2", "SES region (aws email); sender: PORTAL_MAIL_FROM"),
    Setting("PORTAL_SES_CONFIGURATION_SET", "", "SES configuration set that publishes events"),
    Setting("PORTAL_SES_ENDPOINT_URL", "", "another SES endpoint (tests)"),
    Setting("PORTAL_SES_EVENTS_QUEUE_URL", "", "SQS queue of SES bounce/complaint/delivery events"),
    Setting("PORTAL_SNS_REGION", "eu-west-2", "SNS region (aws SMS)"),
    Setting("PORTAL_SNS_SENDER_ID", "", "alphanumeric sender id of text messages, if allowed"),
    Setting("PORTAL_SNS_ENDPOINT_URL", "", "another SNS endpoint (tests)"),
    Setting(
        "PORTAL_SEND_MAX_ATTEMPTS", "8", "tries of a message before a temporary failure is final"
    ),
    Setting("PORTAL_SEND_BACKOFF_SECONDS", "30", "wait after a first temporary failure (doubles)"),
    Setting("PORTAL_SEND_BACKOFF_MAX_SECONDS", "3600", "the longest wait between two tries"),
    Setting(
        "PORTAL_SEND_CLAIM_SECONDS", "300", "after this, a message a dead worker held is due again"
    ),
    Setting("PORTAL_SMTP_HOST", "localhost", "SMTP server for the smtp backend"),
    Setting("PORTAL_SMTP_PORT", "587", "SMTP port"),
    Setting("PORTAL_SMTP_USERNAME", "", "SMTP user name (empty: no authentication)"),
    Setting("PORTAL_SMTP_PASSWORD", "", "SMTP password"),
    Setting("PORTAL_SMTP_STARTTLS", "true", "upgrade the SMTP connection with STARTTLS"),
    Setting("PORTAL_MAIL_FROM", "no-reply@eoi.localhost", "sender address of emails"),
    Setting("PORTAL_RATELIMIT_STORAGE_URL", "memory://", "Flask-Limiter storage (`redis://...`)"),
    Setting("PORTAL_RATELIMIT_ENABLED", "true", "turn rate limits off (tests only)"),
    Setting("PORTAL_SESSION_IDLE_MINUTES", "30", "sign out after this long without a request"),
    Setting("PORTAL_SESSION_ABSOLUTE_HOURS", "12", "sign out this long after signing in"),
    Setting("PORTAL_CSRF_TIME_LIMIT_SECONDS", "3600", "lifetime of a form's CSRF token"),
    Setting("PORTAL_TOKEN_HOURS", "24", "lifetime of email confirmation links"),
    Setting("PORTAL_RESET_TOKEN_MINUTES", "60", "lifetime of password reset links"),
    Setting(
        "PORTAL_SHOW_GOVUK_BRAND", "false", "show the GOV.UK crown (only when the brand is allowed)"
    ),
    Setting("PORTAL_LOG_LEVEL", "INFO", "log level of the JSON logs"),
    Setting(
        "PORTAL_INSTANCE_PATH", "instance/", "folder for the SQLite database and development key"
    ),
    Setting("PORTAL_DOCUMENT_STORAGE", "local", "`local` (encrypted files in instance/) or `s3`"),
    Setting(
        "PORTAL_DOCUMENT_KEY",
        "random per instance/",
        "AES-256 key (urlsafe base64, `flask --app portal documents-key`) for files at rest",
    ),
    Setting("PORTAL_S3_BUCKET", "", "private bucket for documents (s3 storage)"),
    Setting("PORTAL_S3_REGION", "eu-west-2", "the bucket's region"),
    Setting("PORTAL_S3_ENDPOINT_URL", "", "another S3 endpoint (tests, S3-compatible stores)"),
    Setting("PORTAL_S3_SSE", "aws:kms", "server-side encryption: `aws:kms` or `AES256`"),
    Setting("PORTAL_S3_KMS_KEY_ID", "", "KMS key for `aws:kms` (empty: the bucket's default)"),
    Setting("PORTAL_DOCUMENT_MAX_BYTES", "10485760", "largest file an applicant can upload"),
    Setting(
        "PORTAL_DOCUMENTS_TOTAL_MAX_BYTES", "52428800", "largest total of one application's files"
    ),
    Setting("PORTAL_IMAGE_MAX_PIXELS", "50000000", "larger images are refused unopened"),
    Setting("PORTAL_IMAGE_MAX_SIDE", "2000", "images are scaled down to this many pixels"),
    Setting("PORTAL_PDF_MAX_PAGES", "20", "longest PDF accepted"),
    Setting(
        "PORTAL_CLAMD_SOCKET",
        "",
        "clamd's unix socket: turns virus scanning on (production needs it or the host)",
    ),
    Setting("PORTAL_CLAMD_HOST", "", "clamd's host, when it listens on TCP"),
    Setting("PORTAL_CLAMD_PORT", "3310", "clamd's TCP port"),
    Setting("PORTAL_CLAMD_TIMEOUT_SECONDS", "30", "how long to wait for a scan"),
    Setting("PORTAL_QUEUE", "database", "checking queue: `database` or `sqs`"),
    Setting("PORTAL_QUEUE_LEASE_SECONDS", "1800", "how long a claimed application stays reserved"),
    Setting("PORTAL_QUEUE_MAX_RECEIVES", "5", "claims of one item before it is dead-lettered"),
    Setting("PORTAL_SQS_QUEUE_URL", "", "SQS queue of the checking queue (sqs)"),
    Setting("PORTAL_SQS_PRIORITY_QUEUE_URL", "", "SQS queue for priority applications (sqs)"),
    Setting("PORTAL_SQS_DEAD_LETTER_QUEUE_URL", "", "the dead-letter queue both redrive to (sqs)"),
    Setting("PORTAL_SQS_REGION", "eu-west-2", "the queues' region"),
    Setting("PORTAL_SQS_ENDPOINT_URL", "", "another SQS endpoint (tests)"),
    Setting(
        "PORTAL_CAPACITY_RESOURCE_ID",
        "",
        "the web service's scalable target (`service/<cluster>/<service>`) for plan-capacity",
    ),
    Setting("PORTAL_CAPACITY_REGION", "eu-west-2", "Application Auto Scaling's region"),
    Setting(
        "PORTAL_CAPACITY_ENDPOINT_URL", "", "another Application Auto Scaling endpoint (tests)"
    ),
    Setting("PORTAL_CAPACITY_BASE_MIN_TASKS", "2", "fewest web tasks outside a window's surge"),
    Setting("PORTAL_CAPACITY_WINDOW_MIN_TASKS", "10", "fewest web tasks during a window's surge"),
    Setting("PORTAL_CAPACITY_MAX_TASKS", "24", "most web tasks (the scalable target's maximum)"),
    Setting("PORTAL_CAPACITY_LEAD_MINUTES", "30", "the floor is raised this long before opening"),
    Setting("PORTAL_CAPACITY_SURGE_HOURS", "3", "and lowered this long after opening"),
    Setting(
        "PORTAL_PRIORITY_NATIONALITIES",
        "AF,ER,SD,SY,YE",
        "ISO codes of nationalities with high protection grant rates (priority)",
    ),
    Setting("PORTAL_BOOKING_HORIZON_DAYS", "28", "how far ahead applicants can book appointments"),
    Setting("PORTAL_BOOKING_CUTOFF_HOURS", "48", "no moving or cancelling closer than this"),
    Setting("PORTAL_REMINDER_DAYS", "2", "days before an appointment that its reminder goes"),
    Setting(
        "PORTAL_NUDGE_DAYS", "3", "days after an invitation that unbooked applicants are nudged"
    ),
    Setting(
        "PORTAL_FAMILY_REMINDER_DAYS",
        "3",
        "days before a window closes that main applicants hear of adults who have not applied",
    ),
)


@dataclass
class PortalConfig:
    """The settings the application reads, built from the environment by `from_env`."""

    ENV: str = "development"
    SECRET_KEY: str = ""
    DATABASE_URL: str = ""
    DATABASE_USERNAME: str = ""
    DATABASE_PASSWORD: str = ""
    DATABASE_RUNTIME_ROLE: str = ""
    DATABASE_RUNTIME_PASSWORD: str = ""
    DB_POOL_SIZE: int = 5
    DB_MAX_OVERFLOW: int = 10
    BASE_URL: str = "http://127.0.0.1:5000"
    TESTING: bool = False
    NOTIFY_BACKEND: str = "log"
    SMS_BACKEND: str = ""
    NOTIFY_API_KEY: str = ""
    NOTIFY_BASE_URL: str = "https://api.notifications.service.gov.uk"
    NOTIFY_EMAIL_TEMPLATE_ID: str = ""
    NOTIFY_SMS_TEMPLATE_ID: str = ""
    NOTIFY_CALLBACK_TOKEN: str = ""
    NOTIFY_TIMEOUT_SECONDS: int = 10
    SES_REGION: str = "eu-west-2"
    SES_CONFIGURATION_SET: str = ""
    SES_ENDPOINT_URL: str = ""
    SES_EVENTS_QUEUE_URL: str = ""
    SNS_REGION: str = "eu-west-2"
    SNS_SENDER_ID: str = ""
    SNS_ENDPOINT_URL: str = ""
    SMTP_HOST: str = "localhost"
    SMTP_PORT: int = 587
    SMTP_USERNAME: str = ""
    SMTP_PASSWORD: str = ""
    SMTP_STARTTLS: bool = True
    MAIL_FROM: str = "no-reply@eoi.localhost"
    SEND_MAX_ATTEMPTS: int = 8
    SEND_BACKOFF_SECONDS: int = 30
    SEND_BACKOFF_MAX_SECONDS: int = 3600
    SEND_CLAIM_SECONDS: int = 300
    RATELIMIT_STORAGE_URL: str = "memory://"
    RATELIMIT_ENABLED: bool = True
    SESSION_IDLE_MINUTES: int = 30
    SESSION_ABSOLUTE_HOURS: int = 12
    CSRF_TIME_LIMIT_SECONDS: int = 3600
    TOKEN_HOURS: int = 24
    RESET_TOKEN_MINUTES: int = 60
    SHOW_GOVUK_BRAND: bool = False
    LOG_LEVEL: str = "INFO"
    INSTANCE_PATH: Path = field(default_factory=lambda: PROJECT_ROOT / "instance")
    DOCUMENT_STORAGE: str = "local"
    DOCUMENT_KEY: str = ""
    S3_BUCKET: str = ""
    S3_REGION: str = "eu-west-2"
    S3_ENDPOINT_URL: str = ""
    S3_SSE: str = "aws:kms"
    S3_KMS_KEY_ID: str = ""
    DOCUMENT_MAX_BYTES: int = 10 * 1024 * 1024
    DOCUMENTS_TOTAL_MAX_BYTES: int = 50 * 1024 * 1024
    IMAGE_MAX_PIXELS: int = 50_000_000
    IMAGE_MAX_SIDE: int = 2000
    PDF_MAX_PAGES: int = 20
    CLAMD_SOCKET: str = ""
    CLAMD_HOST: str = ""
    CLAMD_PORT: int = 3310
    CLAMD_TIMEOUT_SECONDS: int = 30
    QUEUE: str = "database"
    QUEUE_LEASE_SECONDS: int = 1800
    QUEUE_MAX_RECEIVES: int = 5
    SQS_QUEUE_URL: str = ""
    SQS_PRIORITY_QUEUE_URL: str = ""
    SQS_DEAD_LETTER_QUEUE_URL: str = ""
    SQS_REGION: str = "eu-west-2"
    SQS_ENDPOINT_URL: str = ""
    CAPACITY_RESOURCE_ID: str = ""
    CAPACITY_REGION: str = "eu-west-2"
    CAPACITY_ENDPOINT_URL: str = ""
    CAPACITY_BASE_MIN_TASKS: int = 2
    CAPACITY_WINDOW_MIN_TASKS: int = 10
    CAPACITY_MAX_TASKS: int = 24
    CAPACITY_LEAD_MINUTES: int = 30
    CAPACITY_SURGE_HOURS: int = 3
    PRIORITY_NATIONALITIES: tuple[str, ...] = ("AF", "ER", "SD", "SY", "YE")
    BOOKING_HORIZON_DAYS: int = 28
    BOOKING_CUTOFF_HOURS: int = 48
    REMINDER_DAYS: int = 2
    NUDGE_DAYS: int = 3
    FAMILY_REMINDER_DAYS: int = 3
    METRICS_TOKEN: str = ""
    RETENTION_DAYS: int = 365

    @classmethod
    def from_env(cls) -> PortalConfig:
        """Read every PORTAL_* variable; unset ones keep their embedded default."""
        instance = Path(_env("PORTAL_INSTANCE_PATH", str(PROJECT_ROOT / "instance")) or "")
        return cls(
            ENV=_env("PORTAL_ENV", "development") or "development",
            SECRET_KEY=_env("PORTAL_SECRET_KEY", "") or "",
            DATABASE_URL=_env("DATABASE_URL", "") or "",
            DATABASE_USERNAME=_env("PORTAL_DATABASE_USERNAME", "") or "",
            DATABASE_PASSWORD=_env("PORTAL_DATABASE_PASSWORD", "") or "",
            DATABASE_RUNTIME_ROLE=_env("PORTAL_DATABASE_RUNTIME_ROLE", "") or "",
            DATABASE_RUNTIME_PASSWORD=_env("PORTAL_DATABASE_RUNTIME_PASSWORD", "") or "",
            DB_POOL_SIZE=_int("PORTAL_DB_POOL_SIZE", 5),
            DB_MAX_OVERFLOW=_int("PORTAL_DB_MAX_OVERFLOW", 10),
            BASE_URL=_env("PORTAL_BASE_URL", "http://127.0.0.1:5000") or "",
            NOTIFY_BACKEND=_env("PORTAL_NOTIFY_BACKEND", "log") or "log",
            SMS_BACKEND=_env("PORTAL_SMS_BACKEND", "") or "",
            NOTIFY_API_KEY=_env("PORTAL_NOTIFY_API_KEY", "") or "",
            NOTIFY_BASE_URL=_env(
                "PORTAL_NOTIFY_BASE_URL", "https://api.notifications.service.gov.uk"
            )
            or "",
            NOTIFY_EMAIL_TEMPLATE_ID=_env("PORTAL_NOTIFY_EMAIL_TEMPLATE_ID", "") or "",
            NOTIFY_SMS_TEMPLATE_ID=_env("PORTAL_NOTIFY_SMS_TEMPLATE_ID", "") or "",
            NOTIFY_CALLBACK_TOKEN=_env("PORTAL_NOTIFY_CALLBACK_TOKEN", "") or "",
            NOTIFY_TIMEOUT_SECONDS=_int("PORTAL_NOTIFY_TIMEOUT_SECONDS", 10),
            SES_REGION=_env("PORTAL_SES_REGION", "eu-west-2") or "eu-west-2",
            SES_CONFIGURATION_SET=_env("PORTAL_SES_CONFIGURATION_SET", "") or "",
            SES_ENDPOINT_URL=_env("PORTAL_SES_ENDPOINT_URL", "") or "",
            SES_EVENTS_QUEUE_URL=_env("PORTAL_SES_EVENTS_QUEUE_URL", "") or "",
            SNS_REGION=_env("PORTAL_SNS_REGION", "eu-west-2") or "eu-west-2",
            SNS_SENDER_ID=_env("PORTAL_SNS_SENDER_ID", "") or "",
            SNS_ENDPOINT_URL=_env("PORTAL_SNS_ENDPOINT_URL", "") or "",
            SMTP_HOST=_env("PORTAL_SMTP_HOST", "localhost") or "localhost",
            SMTP_PORT=_int("PORTAL_SMTP_PORT", 587),
            SMTP_USERNAME=_env("PORTAL_SMTP_USERNAME", "") or "",
            SMTP_PASSWORD=_env("PORTAL_SMTP_PASSWORD", "") or "",
            SMTP_STARTTLS=_bool("PORTAL_SMTP_STARTTLS", True),
            MAIL_FROM=_env("PORTAL_MAIL_FROM", "no-reply@eoi.localhost") or "",
            SEND_MAX_ATTEMPTS=_int("PORTAL_SEND_MAX_ATTEMPTS", 8),
            SEND_BACKOFF_SECONDS=_int("PORTAL_SEND_BACKOFF_SECONDS", 30),
            SEND_BACKOFF_MAX_SECONDS=_int("PORTAL_SEND_BACKOFF_MAX_SECONDS", 3600),
            SEND_CLAIM_SECONDS=_int("PORTAL_SEND_CLAIM_SECONDS", 300),
            RATELIMIT_STORAGE_URL=_env("PORTAL_RATELIMIT_STORAGE_URL", "memory://") or "",
            RATELIMIT_ENABLED=_bool("PORTAL_RATELIMIT_ENABLED", True),
            SESSION_IDLE_MINUTES=_int("PORTAL_SESSION_IDLE_MINUTES", 30),
            SESSION_ABSOLUTE_HOURS=_int("PORTAL_SESSION_ABSOLUTE_HOURS", 12),
            CSRF_TIME_LIMIT_SECONDS=_int("PORTAL_CSRF_TIME_LIMIT_SECONDS", 3600),
            TOKEN_HOURS=_int("PORTAL_TOKEN_HOURS", 24),
            RESET_TOKEN_MINUTES=_int("PORTAL_RESET_TOKEN_MINUTES", 60),
            SHOW_GOVUK_BRAND=_bool("PORTAL_SHOW_GOVUK_BRAND", False),
            LOG_LEVEL=_env("PORTAL_LOG_LEVEL", "INFO") or "INFO",
            INSTANCE_PATH=instance,
            DOCUMENT_STORAGE=_env("PORTAL_DOCUMENT_STORAGE", "local") or "local",
            DOCUMENT_KEY=_env("PORTAL_DOCUMENT_KEY", "") or "",
            S3_BUCKET=_env("PORTAL_S3_BUCKET", "") or "",
            S3_REGION=_env("PORTAL_S3_REGION", "eu-west-2") or "eu-west-2",
            S3_ENDPOINT_URL=_env("PORTAL_S3_ENDPOINT_URL", "") or "",
            S3_SSE=_env("PORTAL_S3_SSE", "aws:kms") or "aws:kms",
            S3_KMS_KEY_ID=_env("PORTAL_S3_KMS_KEY_ID", "") or "",
            DOCUMENT_MAX_BYTES=_int("PORTAL_DOCUMENT_MAX_BYTES", 10 * 1024 * 1024),
            DOCUMENTS_TOTAL_MAX_BYTES=_int("PORTAL_DOCUMENTS_TOTAL_MAX_BYTES", 50 * 1024 * 1024),
            IMAGE_MAX_PIXELS=_int("PORTAL_IMAGE_MAX_PIXELS", 50_000_000),
            IMAGE_MAX_SIDE=_int("PORTAL_IMAGE_MAX_SIDE", 2000),
            PDF_MAX_PAGES=_int("PORTAL_PDF_MAX_PAGES", 20),
            CLAMD_SOCKET=_env("PORTAL_CLAMD_SOCKET", "") or "",
            CLAMD_HOST=_env("PORTAL_CLAMD_HOST", "") or "",
            CLAMD_PORT=_int("PORTAL_CLAMD_PORT", 3310),
            CLAMD_TIMEOUT_SECONDS=_int("PORTAL_CLAMD_TIMEOUT_SECONDS", 30),
            QUEUE=_env("PORTAL_QUEUE", "database") or "database",
            QUEUE_LEASE_SECONDS=_int("PORTAL_QUEUE_LEASE_SECONDS", 1800),
            BOOKING_HORIZON_DAYS=_int("PORTAL_BOOKING_HORIZON_DAYS", 28),
            BOOKING_CUTOFF_HOURS=_int("PORTAL_BOOKING_CUTOFF_HOURS", 48),
            REMINDER_DAYS=_int("PORTAL_REMINDER_DAYS", 2),
            NUDGE_DAYS=_int("PORTAL_NUDGE_DAYS", 3),
            FAMILY_REMINDER_DAYS=_int("PORTAL_FAMILY_REMINDER_DAYS", 3),
            METRICS_TOKEN=_env("PORTAL_METRICS_TOKEN", "") or "",
            RETENTION_DAYS=_int("PORTAL_RETENTION_DAYS", 365),
            QUEUE_MAX_RECEIVES=_int("PORTAL_QUEUE_MAX_RECEIVES", 5),
            SQS_QUEUE_URL=_env("PORTAL_SQS_QUEUE_URL", "") or "",
            SQS_PRIORITY_QUEUE_URL=_env("PORTAL_SQS_PRIORITY_QUEUE_URL", "") or "",
            SQS_DEAD_LETTER_QUEUE_URL=_env("PORTAL_SQS_DEAD_LETTER_QUEUE_URL", "") or "",
            SQS_REGION=_env("PORTAL_SQS_REGION", "eu-west-2") or "eu-west-2",
            SQS_ENDPOINT_URL=_env("PORTAL_SQS_ENDPOINT_URL", "") or "",
            CAPACITY_RESOURCE_ID=_env("PORTAL_CAPACITY_RESOURCE_ID", "") or "",
            CAPACITY_REGION=_env("PORTAL_CAPACITY_REGION", "eu-west-2") or "eu-west-2",
            CAPACITY_ENDPOINT_URL=_env("PORTAL_CAPACITY_ENDPOINT_URL", "") or "",
            CAPACITY_BASE_MIN_TASKS=_int("PORTAL_CAPACITY_BASE_MIN_TASKS", 2),
            CAPACITY_WINDOW_MIN_TASKS=_int("PORTAL_CAPACITY_WINDOW_MIN_TASKS", 10),
            CAPACITY_MAX_TASKS=_int("PORTAL_CAPACITY_MAX_TASKS", 24),
            CAPACITY_LEAD_MINUTES=_int("PORTAL_CAPACITY_LEAD_MINUTES", 30),
            CAPACITY_SURGE_HOURS=_int("PORTAL_CAPACITY_SURGE_HOURS", 3),
            PRIORITY_NATIONALITIES=tuple(
                code.strip().upper()
                for code in (_env("PORTAL_PRIORITY_NATIONALITIES", "AF,ER,SD,SY,YE") or "").split(
                    ","
                )
                if code.strip()
            ),
        )

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
        from portal.documents.crypto import parse_key

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
    from portal.documents.crypto import new_key_text

    path = instance / "document_key"
    if not path.exists():
        path.write_text(new_key_text())
        path.chmod(0o600)
    return path.read_text().strip()
