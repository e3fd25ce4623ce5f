"""The composition root: the one place that builds settings, storage, the core and the web app."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.routing import BaseRoute

from bot import alerts
from bot.accounts import Accounts
from bot.casework import Casework
from bot.desk import IntakeDesk
from bot.intake.model import Channel
from bot.outbox import Doorbell, OutboxWorker, Sender
from bot.roster import Roster
from bot.settings import Settings
from bot.workers import ClaimTimeoutWorker, EscalationWorker, RetentionWorker, Worker
from handlers import api
from handlers.console import Console, ConsoleSettings
from handlers.web import create_app
from storage import keychecks, rotation
from storage.crypto import Vault
from storage.db import Database
from storage.keyring import KeySource
from storage.models import Case, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    keys: KeySource
    vault: Vault
    desk: IntakeDesk
    casework: Casework
    accounts: Accounts
    roster: Roster
    doorbell: Doorbell = field(default_factory=Doorbell)
    # The time response targets and escalation read (tests pass their own).
    clock: Callable[[], datetime] = utcnow

    async def start(self) -> None:
        """Bring the database to the newest schema and check the master keys against it.

        MasterKeyError when the keys are wrong or missing: nothing is sealed, nothing
        written, and no key generated for a database that already holds sealed data.
        """
        await self.db.migrate()
        await keychecks.open_keys(self.db, keys=self.keys, vault=self.vault)
        resealed = await rotation.reseal_legacy_messages(self.db, vault=self.vault)
        if resealed:
            log.info("%d messages bound to their direction and case", resealed)

    async def close(self) -> None:
        await self.db.dispose()


def build_services(settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> Services:
    """Everything the service runs on; `clock` is the time the conversation reads (tests
    pass their own)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    keys = KeySource(
        env_value=settings.master_key.get_secret_value() if settings.master_key else None,
        key_file=settings.key_file,
    )
    vault = Vault(keys)
    db = Database(settings.resolved_database_url)
    doorbell = Doorbell()
    return Services(
        settings=settings,
        db=db,
        keys=keys,
        vault=vault,
        desk=IntakeDesk(
            db=db,
            vault=vault,
            on_owed=doorbell.ring,
            clock=clock,
            burst_seconds=settings.burst_seconds,
            flood_per_minute=settings.flood_per_minute,
            targets=settings.targets,
            crisis_line=settings.crisis_line,
            conversation=timedelta(minutes=settings.conversation_minutes),
            on_danger=_danger_alert(vault),
            forget_channels=_forget_channels(settings),
        ),
        casework=Casework(
            db=db, vault=vault, doorbell=doorbell, targets=settings.targets, clock=clock
        ),
        accounts=Accounts(
            db=db,
            vault=vault,
            session_hours=settings.session_hours,
            sign_in_ceiling=settings.sign_in_ceiling,
            clock=clock,
        ),
        roster=Roster(db=db, clock=clock),
        doorbell=doorbell,
        clock=clock,
    )


def _forget_channels(settings: Settings) -> frozenset[Channel]:
    """Channels whose provider's copies of messages are deleted once they are stored."""
    return (
        frozenset({Channel.SMS}) if settings.sms_enabled and settings.twilio_delete else frozenset()
    )


def _danger_alert(vault: Vault) -> Callable[[AsyncSession, Case, str, datetime], Awaitable[None]]:
    """What the desk does when a witness signals danger: alert on-call staff at once."""

    async def alert(session: AsyncSession, case: Case, reason: str, now: datetime) -> None:
        await alerts.alert_staff(session, vault=vault, case=case, reason="danger", now=now)

    return alert


def channel_report(settings: Settings) -> list[str]:
    """One line per channel saying whether it is on, and if not, what it lacks."""
    lines = []
    if settings.sms_enabled:
        inbound = "on" if settings.public_url else "off until INTAKE_PUBLIC_URL is set"
        lines.append(f"SMS channel: on (sending on; inbound webhook {inbound})")
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
    if not settings.telegram_enabled:
        lines.append("Telegram channel: off (TELEGRAM_BOT_TOKEN not set)")
    elif settings.public_url and settings.telegram_webhook_secret:
        lines.append("Telegram channel: on (webhook)")
    elif settings.public_url:
        lines.append(
            "Telegram channel: on (long polling; the webhook stays off until "
            "TELEGRAM_WEBHOOK_SECRET is set)"
        )
    else:
        lines.append("Telegram channel: on (long polling: INTAKE_PUBLIC_URL not set)")
    return lines


@dataclass
class _Parts:
    routes: list[BaseRoute] = field(default_factory=list)
    senders: dict[str, Sender] = field(default_factory=dict)
    workers: list[Worker] = field(default_factory=list)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


def _sms(services: Services, parts: _Parts) -> None:
    settings = services.settings
    if not settings.sms_enabled:
        return
    from handlers.twilio_client import TwilioSender
    from handlers.twilio_sms import STATUS_PATH, TwilioWebhooks

    assert settings.twilio_account_sid and settings.twilio_auth_token  # noqa: S101 - sms_enabled
    assert settings.twilio_phone_number  # noqa: S101 - sms_enabled
    token = settings.twilio_auth_token.get_secret_value()
    public_url = settings.public_url.rstrip("/") if settings.public_url else None
    sender = TwilioSender(
        account_sid=settings.twilio_account_sid,
        auth_token=token,
        from_number=settings.twilio_phone_number.get_secret_value(),
        api_base=settings.twilio_api_base,
        status_callback=public_url + STATUS_PATH if public_url else None,
    )
    parts.senders[Channel.SMS] = sender
    parts.closers.append(sender.close)
    if public_url:
        webhooks = TwilioWebhooks(
            desk=services.desk,
            db=services.db,
            vault=services.vault,
            account_sid=settings.twilio_account_sid,
            auth_token=token,
            public_url=public_url,
            forget=Channel.SMS in _forget_channels(settings),
            clock=services.clock,
        )
        parts.routes.extend(webhooks.routes())


def _telegram(services: Services, parts: _Parts) -> None:
    settings = services.settings
    if settings.telegram_bot_token is None:
        return
    from handlers.telegram import TelegramChannel

    secret = settings.telegram_webhook_secret
    channel = TelegramChannel(
        desk=services.desk,
        token=settings.telegram_bot_token.get_secret_value(),
        api_base=settings.telegram_api_base,
        webhook_secret=secret.get_secret_value() if secret else None,
        use_webhook=bool(settings.public_url and secret),
        on_set_aside=_supervisors_alert(services),
    )
    parts.senders[Channel.TELEGRAM] = channel.sender
    parts.routes.extend(channel.routes())
    parts.workers.extend(channel.workers())
    parts.closers.append(channel.close)


def _supervisors_alert(services: Services) -> Callable[[str], Awaitable[int]]:
    """Alert on-call supervisors about the service itself, through the outbox."""

    async def alert(reason: str) -> int:
        return await alerts.alert_supervisors(
            services.db, vault=services.vault, reason=reason, on_owed=services.doorbell.ring
        )

    return alert


def build_web_app(services: Services) -> FastAPI:
    """The web app with every channel whose settings are present, and the workers."""
    for line in channel_report(services.settings):
        log.info("%s", line)
    parts = _Parts()
    _sms(services, parts)
    _telegram(services, parts)
    services.accounts.alert_supervisors_by(_supervisors_alert(services))
    outbox = OutboxWorker(
        db=services.db,
        vault=services.vault,
        senders=parts.senders,
        doorbell=services.doorbell,
    )
    retention = RetentionWorker(
        db=services.db,
        vault=services.vault,
        retention_days=services.settings.retention_days,
        clock=services.clock,
    )
    claims = ClaimTimeoutWorker(
        casework=services.casework, timeout_minutes=services.settings.claim_timeout_minutes
    )
    escalation = EscalationWorker(
        db=services.db,
        vault=services.vault,
        targets=services.settings.targets,
        repeat_minutes=services.settings.alert_repeat_minutes,
        clock=services.clock,
        on_owed=services.doorbell.ring,
    )

    def caseworker_api(app: FastAPI) -> None:
        api.install(
            app,
            casework=services.casework,
            accounts=services.accounts,
            trusted_proxies=services.settings.trusted_networks,
        )

    settings = services.settings
    console = Console(
        casework=services.casework,
        accounts=services.accounts,
        roster=services.roster,
        vault=services.vault,
        settings=ConsoleSettings(
            idle=timedelta(minutes=settings.console_idle_minutes),
            secure_cookies=bool(settings.public_url and settings.public_url.startswith("https:")),
            trusted_proxies=settings.trusted_networks,
        ),
    )

    return create_app(
        db=services.db,
        workers=[outbox, retention, claims, escalation, *parts.workers],
        routes=[*parts.routes, *console.routes()],
        on_shutdown=parts.closers,
        extend=[caseworker_api],
        api_docs=settings.api_docs,
    )
