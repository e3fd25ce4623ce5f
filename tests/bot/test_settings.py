"""Settings: the names of the external interface, defaults, and secrets that never print."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import Settings

SECRET_ENV = {
    "INTAKE_MASTER_KEY": "master-secret-value",
    "TWILIO_AUTH_TOKEN": "twilio-secret-value",
    "TELEGRAM_BOT_TOKEN": "telegram-secret-value",
    "TELEGRAM_WEBHOOK_SECRET": "webhook-secret-value",
    "TWILIO_PHONE_NUMBER": "+15550001111",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in [
        "INTAKE_DATABASE_URL",
        "INTAKE_DATA_DIR",
        "INTAKE_PUBLIC_URL",
        "INTAKE_RETENTION_DAYS",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_API_BASE",
        "TELEGRAM_API_BASE",
        *SECRET_ENV,
    ]:
        monkeypatch.delenv(name, raising=False)


def test_defaults_need_no_settings_at_all() -> None:
    settings = Settings()
    assert settings.resolved_database_url == f"sqlite:///{Path('var/intake.db').resolve()}"
    assert settings.retention_days == 90
    assert not settings.sms_enabled and not settings.telegram_enabled
    assert settings.twilio_api_base == "https://api.twilio.com"
    assert settings.telegram_api_base == "https://api.telegram.org"


def test_environment_names_are_the_documented_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_DATABASE_URL", "postgresql://u@h/d")
    monkeypatch.setenv("INTAKE_DATA_DIR", "/srv/intake")
    monkeypatch.setenv("INTAKE_PUBLIC_URL", "https://intake.example.org")
    monkeypatch.setenv("INTAKE_RETENTION_DAYS", "30")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC123")
    monkeypatch.setenv("TWILIO_API_BASE", "http://127.0.0.1:9")
    monkeypatch.setenv("TELEGRAM_API_BASE", "http://127.0.0.1:8")
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.resolved_database_url == "postgresql://u@h/d"
    assert settings.data_dir == Path("/srv/intake")
    assert settings.public_url == "https://intake.example.org"
    assert settings.retention_days == 30
    assert settings.sms_enabled and settings.telegram_enabled
    assert settings.twilio_api_base == "http://127.0.0.1:9"
    assert settings.telegram_api_base == "http://127.0.0.1:8"
    assert settings.telegram_webhook_secret is not None
    assert settings.telegram_webhook_secret.get_secret_value() == "webhook-secret-value"


def test_secrets_never_print(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    shown = repr(Settings()) + str(Settings()) + str(Settings().model_dump())
    for value in SECRET_ENV.values():
        assert value not in shown
    assert "**********" in shown


def test_dotenv_file_is_read_and_blank_means_unset(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("INTAKE_RETENTION_DAYS=7\nTWILIO_ACCOUNT_SID=\n")
    settings = Settings()
    assert settings.retention_days == 7
    assert settings.twilio_account_sid is None


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(ValidationError):
        settings.retention_days = 1  # type: ignore[misc]


def test_a_bad_value_names_its_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_RETENTION_DAYS", "0")
    with pytest.raises(ValidationError, match="INTAKE_RETENTION_DAYS"):
        Settings()
