"""Production refuses development defaults; development fills them in."""

from __future__ import annotations

import dataclasses
import re

import pytest

from portal import create_app
from portal.config import PROJECT_ROOT, SETTINGS, ConfigError, PortalConfig
from portal.keys import new_key_text

STRONG_KEY = "k" * 48


def production(**overrides: object) -> PortalConfig:
    config = PortalConfig(
        ENV="production",
        SECRET_KEY=STRONG_KEY,
        DATABASE_URL="postgresql://portal@db/portal",
        NOTIFY_BACKEND="smtp",
        SMS_BACKEND="aws",
        BASE_URL="https://apply.example.org",
        DOCUMENT_KEY=new_key_text(),
        CLAMD_HOST="127.0.0.1",
    )
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"SECRET_KEY": ""}, "PORTAL_SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "PORTAL_SECRET_KEY"),
        ({"DATABASE_URL": ""}, "DATABASE_URL"),
        ({"DATABASE_URL": "sqlite:///instance/portal.sqlite3"}, "DATABASE_URL"),
        ({"NOTIFY_BACKEND": "log"}, "PORTAL_NOTIFY_BACKEND"),
        ({"NOTIFY_BACKEND": "sendgrid"}, "PORTAL_NOTIFY_BACKEND"),
        ({"SMS_BACKEND": "log"}, "PORTAL_SMS_BACKEND"),
        ({"SMS_BACKEND": ""}, "PORTAL_SMS_BACKEND"),
        ({"SMS_BACKEND": "smtp"}, "PORTAL_SMS_BACKEND"),
        ({"NOTIFY_BACKEND": "notify", "SMS_BACKEND": ""}, "PORTAL_NOTIFY_API_KEY"),
        (
            {"NOTIFY_BACKEND": "notify", "SMS_BACKEND": "", "NOTIFY_API_KEY": "k" * 80},
            "PORTAL_NOTIFY_EMAIL_TEMPLATE_ID",
        ),
        (
            {
                "NOTIFY_BACKEND": "aws",
                "SMS_BACKEND": "notify",
                "NOTIFY_API_KEY": "k" * 80,
            },
            "PORTAL_NOTIFY_SMS_TEMPLATE_ID",
        ),
        ({"BASE_URL": "http://apply.example.org"}, "PORTAL_BASE_URL"),
        ({"DOCUMENT_KEY": ""}, "PORTAL_DOCUMENT_KEY"),
        ({"DOCUMENT_KEY": "not a key"}, "PORTAL_DOCUMENT_KEY"),
        ({"DOCUMENT_STORAGE": "ftp"}, "PORTAL_DOCUMENT_STORAGE"),
        ({"DOCUMENT_STORAGE": "s3", "S3_BUCKET": ""}, "PORTAL_S3_BUCKET"),
        ({"CLAMD_HOST": ""}, "PORTAL_CLAMD_SOCKET or PORTAL_CLAMD_HOST"),
        ({"CLAMD_HOST": "clamd", "CLAMD_SOCKET": "/run/clamd.sock"}, "not both"),
    ],
)
def test_production_refuses_to_start_with_unsafe_settings(overrides, message):
    with pytest.raises(ConfigError, match=message):
        create_app(production(**overrides))


def test_production_settings_harden_cookies():
    config = production()
    config.finalise()
    settings = config.flask_settings()
    assert settings["SESSION_COOKIE_NAME"] == "__Host-session"
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["SESSION_COOKIE_HTTPONLY"] is True
    assert settings["SESSION_COOKIE_SAMESITE"] == "Lax"
    engine = settings["SQLALCHEMY_ENGINES"]["default"]
    assert engine["url"].startswith("postgresql+psycopg://")
    # A connection the server closed is replaced, and errors never log the statement's values.
    assert engine["pool_pre_ping"] is True
    assert engine["hide_parameters"] is True


def test_development_fills_in_sqlite_and_a_kept_secret(tmp_path):
    config = PortalConfig(INSTANCE_PATH=tmp_path)
    config.finalise()
    assert f"sqlite:///{tmp_path / 'portal.sqlite3'}" == config.DATABASE_URL
    again = PortalConfig(INSTANCE_PATH=tmp_path)
    again.finalise()
    assert again.SECRET_KEY == config.SECRET_KEY and len(config.SECRET_KEY) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_from_env_reads_portal_variables(monkeypatch):
    monkeypatch.setenv("PORTAL_SESSION_IDLE_MINUTES", "15")
    monkeypatch.setenv("PORTAL_RATELIMIT_STORAGE_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@h/d")
    config = PortalConfig.from_env()
    assert config.SESSION_IDLE_MINUTES == 15
    assert config.RATELIMIT_STORAGE_URL == "redis://127.0.0.1:6379/0"
    assert (
        config.flask_settings()["SQLALCHEMY_ENGINES"]["default"]["url"]
        == "postgresql+psycopg://u@h/d"
    )


def test_a_malformed_number_is_refused_with_its_name(monkeypatch):
    monkeypatch.setenv("PORTAL_SMTP_PORT", "twenty-five")
    with pytest.raises(ConfigError, match="PORTAL_SMTP_PORT"):
        PortalConfig.from_env()


def test_the_readme_table_is_the_declared_settings():
    """Each row (variable, default, meaning) comes from the setting's one declaration."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if re.match(r"^\| `[A-Z0-9_]+` \|", line)]
    assert rows == [setting.readme_row for setting in SETTINGS]


def test_every_field_but_testing_is_declared_from_the_environment():
    declared = {setting.attribute for setting in SETTINGS}
    assert {f.name for f in dataclasses.fields(PortalConfig)} - declared == {"TESTING"}


def test_from_env_parses_each_setting_by_its_declared_type(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_PRIORITY_NATIONALITIES", " af, sy ,,ER ")
    monkeypatch.setenv("PORTAL_SMTP_STARTTLS", "off")
    monkeypatch.setenv("PORTAL_SHOW_GOVUK_BRAND", "Yes")
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("PORTAL_MAIL_FROM", "")
    config = PortalConfig.from_env()
    assert config.PRIORITY_NATIONALITIES == ("AF", "SY", "ER")
    assert (config.SMTP_STARTTLS, config.SHOW_GOVUK_BRAND) == (False, True)
    assert str(config.INSTANCE_PATH) == str(tmp_path)
    assert config.MAIL_FROM == "no-reply@eoi.localhost"


@pytest.mark.parametrize(
    ("email", "sms", "expected"),
    [
        ("log", "", "log"),
        ("notify", "", "notify"),
        ("aws", "", "aws"),
        ("smtp", "", ""),
        ("smtp", "notify", "notify"),
        ("log", "aws", "aws"),
    ],
)
def test_the_sms_channel_follows_the_email_backend_unless_set(email, sms, expected):
    assert PortalConfig(NOTIFY_BACKEND=email, SMS_BACKEND=sms).sms_backend() == expected


def test_production_starts_with_notify_for_both_channels():
    config = production(
        NOTIFY_BACKEND="notify",
        SMS_BACKEND="",
        NOTIFY_API_KEY="portal-" + "1" * 36 + "-" + "2" * 36,
        NOTIFY_EMAIL_TEMPLATE_ID="e" * 36,
        NOTIFY_SMS_TEMPLATE_ID="s" * 36,
    )
    config.finalise()
    assert config.sms_backend() == "notify"
