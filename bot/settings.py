"""The service's settings: one frozen object, parsed once at start from the environment."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.targets import ResponseTargets

IPNetwork = IPv4Network | IPv6Network


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


def _networks(text: str) -> tuple[IPNetwork, ...]:
    # A ValueError names what was wrong; pydantic reports it under the setting's name.
    return tuple(ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())


class Settings(BaseSettings):
    """Every knob an operator can turn; names are fixed by the external interface."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        frozen=True,
        extra="ignore",
        populate_by_name=True,
    )

    database_url: str | None = Field(default=None, validation_alias=_env("INTAKE_DATABASE_URL"))
    data_dir: Path = Field(default=Path("./var"), validation_alias=_env("INTAKE_DATA_DIR"))
    master_key: SecretStr | None = Field(default=None, validation_alias=_env("INTAKE_MASTER_KEY"))
    public_url: str | None = Field(default=None, validation_alias=_env("INTAKE_PUBLIC_URL"))
    retention_days: int = Field(default=90, ge=1, validation_alias=_env("INTAKE_RETENTION_DAYS"))
    session_hours: float = Field(
        default=12.0, gt=0, le=24 * 30, validation_alias=_env("INTAKE_SESSION_HOURS")
    )
    console_idle_minutes: float = Field(
        default=30.0, gt=0, le=24 * 60, validation_alias=_env("INTAKE_CONSOLE_IDLE_MINUTES")
    )
    # Proxies whose X-Forwarded-For is believed (IPs or CIDRs, comma-separated); none by
    # default, so a client cannot choose the address its sign-in failures count against.
    trusted_proxies: str = Field(default="", validation_alias=_env("INTAKE_TRUSTED_PROXIES"))
    # Failed sign-ins to one account in an hour, from every address together, past which
    # supervisors are alerted (nobody is locked out by it).
    sign_in_ceiling: int = Field(default=100, ge=1, validation_alias=_env("INTAKE_SIGN_IN_CEILING"))
    # Texts this close behind an answer continue it rather than answer the next question.
    burst_seconds: float = Field(
        default=5.0, ge=0, le=120, validation_alias=_env("INTAKE_BURST_SECONDS")
    )
    # Past this many messages a minute from one witness, each is kept but not each answered.
    flood_per_minute: int = Field(
        default=30, ge=1, le=10_000, validation_alias=_env("INTAKE_FLOOD_PER_MINUTE")
    )
    claim_timeout_minutes: float = Field(
        default=240.0, gt=0, validation_alias=_env("INTAKE_CLAIM_TIMEOUT_MINUTES")
    )
    # A civilian 24/7 line offered beside 911 when a witness is in danger.
    crisis_line: str | None = Field(default=None, validation_alias=_env("INTAKE_CRISIS_LINE"))
    office_hours: str | None = Field(default=None, validation_alias=_env("INTAKE_OFFICE_HOURS"))
    target_minutes: str = Field(
        default="urgent=15,high=120,normal=1440", validation_alias=_env("INTAKE_TARGET_MINUTES")
    )
    # While a caseworker has written within this long, the intake adds no "got it" to each
    # witness message (danger replies still go out).
    conversation_minutes: float = Field(
        default=60.0, ge=0, le=24 * 60, validation_alias=_env("INTAKE_CONVERSATION_MINUTES")
    )
    # How often staff are alerted again about a case nobody has acted on.
    alert_repeat_minutes: float = Field(
        default=15.0, gt=0, le=24 * 60, validation_alias=_env("INTAKE_ALERT_REPEAT_MINUTES")
    )
    # A whole request (head and body) must arrive within this long of the connection
    # opening or of the previous response, or the connection is closed (slow clients).
    request_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, validation_alias=_env("INTAKE_REQUEST_TIMEOUT_SECONDS")
    )
    keep_alive_seconds: int = Field(
        default=5, ge=1, le=300, validation_alias=_env("INTAKE_KEEP_ALIVE_SECONDS")
    )
    # Connections (or requests in flight) past which new requests get 503.
    max_connections: int = Field(
        default=500, ge=1, le=100_000, validation_alias=_env("INTAKE_MAX_CONNECTIONS")
    )
    # How log lines are written: `text` for people, `json` (one object a line) for collectors.
    log_format: Literal["text", "json"] = Field(
        default="text", validation_alias=_env("INTAKE_LOG_FORMAT")
    )
    # The bearer token /metrics asks for; unset, only loopback clients may read it.
    metrics_token: SecretStr | None = Field(
        default=None, validation_alias=_env("INTAKE_METRICS_TOKEN")
    )
    # The browsable API docs (/docs, /redoc); /openapi.json is always served.
    api_docs: bool = Field(default=False, validation_alias=_env("INTAKE_API_DOCS"))
    twilio_account_sid: str | None = Field(
        default=None, validation_alias=_env("TWILIO_ACCOUNT_SID")
    )
    twilio_auth_token: SecretStr | None = Field(
        default=None, validation_alias=_env("TWILIO_AUTH_TOKEN")
    )
    twilio_phone_number: SecretStr | None = Field(
        default=None, validation_alias=_env("TWILIO_PHONE_NUMBER")
    )
    twilio_api_base: str = Field(
        default="https://api.twilio.com", validation_alias=_env("TWILIO_API_BASE")
    )
    # Delete Twilio's copy of each message once it is stored here (inbound) or reached a
    # final status (outbound), and every copy left when a witness erases their data.
    twilio_delete: bool = Field(default=True, validation_alias=_env("INTAKE_TWILIO_DELETE"))
    telegram_bot_token: SecretStr | None = Field(
        default=None, validation_alias=_env("TELEGRAM_BOT_TOKEN")
    )
    telegram_webhook_secret: SecretStr | None = Field(
        default=None, validation_alias=_env("TELEGRAM_WEBHOOK_SECRET")
    )
    telegram_api_base: str = Field(
        default="https://api.telegram.org", validation_alias=_env("TELEGRAM_API_BASE")
    )

    @field_validator("office_hours", "target_minutes")
    @classmethod
    def _targets_read(cls, value: str | None, info: ValidationInfo) -> str | None:
        # Refuse to start on targets that cannot be read, naming the setting.
        if value:
            if info.field_name == "office_hours":
                ResponseTargets.parse(minutes=None, office_hours=value)
            else:
                ResponseTargets.parse(minutes=value, office_hours=None)
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_read(cls, value: str) -> str:
        _networks(value)
        return value

    @property
    def trusted_networks(self) -> tuple[IPNetwork, ...]:
        """INTAKE_TRUSTED_PROXIES as networks (a single address is a network of one)."""
        return _networks(self.trusted_proxies)

    @property
    def targets(self) -> ResponseTargets:
        return ResponseTargets.parse(minutes=self.target_minutes, office_hours=self.office_hours)

    @field_validator(
        "database_url",
        "crisis_line",
        "office_hours",
        "public_url",
        "twilio_account_sid",
        "twilio_auth_token",
        "twilio_phone_number",
        "telegram_bot_token",
        "telegram_webhook_secret",
        "metrics_token",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `FOO=` in a .env file means "not set", not "set to the empty string".
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("master_key", mode="before")
    @classmethod
    def _master_key_given(cls, value: object) -> object:
        # Unlike other settings, a blank key is not "unset": starting without the key
        # a database was written with must fail loudly, never fall back to another.
        if isinstance(value, str) and not value.strip():
            raise ValueError("INTAKE_MASTER_KEY is set but blank; unset it or give the key")
        return value

    @property
    def resolved_database_url(self) -> str:
        """The configured database URL, or the embedded SQLite file under the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'intake.db').resolve()}"

    @property
    def key_file(self) -> Path:
        return self.data_dir / "master.keys"

    @property
    def sms_enabled(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_phone_number)

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_bot_token is not None
