"""The composition root: the one place that builds settings, storage, the core and the web app."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import FastAPI

from bot.desk import IntakeDesk
from bot.settings import Settings
from bot.workers import RetentionWorker
from handlers.web import create_app
from storage.crypto import Vault
from storage.db import Database
from storage.keyring import KeySource

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    keys: KeySource
    vault: Vault
    desk: IntakeDesk

    async def close(self) -> None:
        await self.db.dispose()


def build_services(settings: Settings) -> Services:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    keys = KeySource(
        env_value=settings.master_key.get_secret_value() if settings.master_key else None,
        key_file=settings.key_file,
    )
    vault = Vault(keys)
    db = Database(settings.resolved_database_url)
    return Services(
        settings=settings, db=db, keys=keys, vault=vault, desk=IntakeDesk(db=db, vault=vault)
    )


def channel_report(settings: Settings) -> list[str]:
    """One line per channel saying whether it is on, and if not, what it lacks."""
    lines = []
    if settings.sms_enabled:
        lines.append("SMS channel: on")
    else:
        missing = [
            name
            for name, value in (
                ("TWILIO_ACCOUNT_SID", settings.twilio_account_sid),
                ("TWILIO_AUTH_TOKEN", settings.twilio_auth_token),
                ("TWILIO_PHONE_NUMBER", settings.twilio_phone_number),
            )
            if not value
        ]
        lines.append(f"SMS channel: off ({', '.join(missing)} not set)")
    if settings.telegram_enabled:
        lines.append("Telegram channel: on")
    else:
        lines.append("Telegram channel: off (TELEGRAM_BOT_TOKEN not set)")
    return lines


def build_web_app(services: Services) -> FastAPI:
    for line in channel_report(services.settings):
        log.info("%s", line)
    workers = [
        RetentionWorker(db=services.db, retention_days=services.settings.retention_days),
    ]
    return create_app(db=services.db, workers=workers)
