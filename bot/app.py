"""The composition root: the one place that builds settings, storage, the core and the web app."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.routing import BaseRoute

from bot import alerts
from bot.accounts import Accounts
from bot.casework import Casework
from bot.channels import ChannelPlugin, Channels, Wiring
from bot.desk import IntakeDesk
from bot.metrics import Metrics
from bot.outbox import Doorbell, OutboxWorker
from bot.readiness import Heartbeat, Readiness
from bot.roster import Roster
from bot.settings import Settings
from bot.workers import ClaimTimeoutWorker, EscalationWorker, RetentionWorker
from handlers import api, telegram, terminal, twilio_sms
from handlers.console import Console, ConsoleSettings
from handlers.metrics import metrics_routes
from handlers.web import create_app
from storage import keychecks, rotation
from storage.crypto import Vault
from storage.db import Database
from storage.keyring import KeySource
from storage.models import Case, utcnow

log = logging.getLogger(__name__)

# Every channel a witness can write on; each handler module declares its own.
CHANNELS: tuple[ChannelPlugin, ...] = (twilio_sms.PLUGIN, telegram.PLUGIN, terminal.PLUGIN)


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
    # The registered channels, and the plugins that wire them into the web app.
    channels: Channels
    plugins: tuple[ChannelPlugin, ...] = CHANNELS
    doorbell: Doorbell = field(default_factory=Doorbell)
    # When the outbox worker last finished a pass (for /readyz).
    outbox_heartbeat: Heartbeat = field(default_factory=Heartbeat)
    # The operators' series, served at /metrics.
    metrics: Metrics = field(default_factory=Metrics)
    # The time response targets and escalation read (tests pass their own).
    clock: Callable[[], datetime] = utcnow
    # How workers wait out a backoff (tests pass one that returns at once).
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

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


def build_services(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utcnow,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    plugins: tuple[ChannelPlugin, ...] = CHANNELS,
) -> Services:
    """Everything the service runs on; `clock` is the time the service reads and `sleep`
    how its workers wait out a backoff (tests pass their own), `plugins` the channels a
    witness can write on."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    keys = KeySource(
        env_value=settings.master_key.get_secret_value() if settings.master_key else None,
        key_file=settings.key_file,
    )
    vault = Vault(keys)
    channels = Channels(plugin.describe(settings) for plugin in plugins)
    metrics = Metrics(channels=channels)
    outbox_heartbeat = metrics.heartbeat(OutboxWorker.name)
    db = Database(settings.resolved_database_url, on_commit=metrics.committed)
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
            channels=channels,
        ),
        casework=Casework(
            db=db,
            vault=vault,
            doorbell=doorbell,
            targets=settings.targets,
            channels=channels,
            clock=clock,
            on_claimed=metrics.claimed,
        ),
        accounts=Accounts(
            db=db,
            vault=vault,
            session_hours=settings.session_hours,
            sign_in_ceiling=settings.sign_in_ceiling,
            clock=clock,
        ),
        roster=Roster(db=db, clock=clock),
        channels=channels,
        plugins=plugins,
        doorbell=doorbell,
        outbox_heartbeat=outbox_heartbeat,
        metrics=metrics,
        clock=clock,
        sleep=sleep,
    )


def _danger_alert(vault: Vault) -> Callable[[AsyncSession, Case, str, datetime], Awaitable[None]]:
    """What the desk does when a witness signals danger: alert on-call staff at once."""

    async def alert(session: AsyncSession, case: Case, reason: str, now: datetime) -> None:
        await alerts.alert_staff(session, vault=vault, case=case, reason="danger", now=now)

    return alert


def channel_report(services: Services) -> list[str]:
    """One line per channel saying whether it is on, and if not, what it lacks."""
    return [plugin.report(services.settings) for plugin in services.plugins if plugin.report]


def _supervisors_alert(services: Services) -> Callable[[str], Awaitable[int]]:
    """Alert on-call supervisors about the service itself, through the outbox."""

    async def alert(reason: str) -> int:
        return await alerts.alert_supervisors(
            services.db,
            vault=services.vault,
            reason=reason,
            on_owed=services.doorbell.ring,
            now=services.clock(),
        )

    return alert


def _metrics_routes(services: Services) -> Sequence[BaseRoute]:
    """GET /metrics, reading the database's gauges afresh at each scrape."""

    async def exposition() -> bytes:
        await services.metrics.refresh(services.db, now=services.clock())
        return services.metrics.exposition()

    token = services.settings.metrics_token
    return metrics_routes(
        exposition=exposition,
        token=token.get_secret_value() if token else None,
        trusted_proxies=services.settings.trusted_networks,
    )


def build_web_app(services: Services) -> FastAPI:
    """The web app with every channel whose settings are present, and the workers."""
    for line in channel_report(services):
        log.info("%s", line)
    wiring = Wiring(
        settings=services.settings,
        desk=services.desk,
        db=services.db,
        vault=services.vault,
        clock=services.clock,
        alert_supervisors=_supervisors_alert(services),
        sleep=services.sleep,
        metrics=services.metrics,
    )
    plugged = {
        plugin.name: part
        for plugin in services.plugins
        if plugin.plug and (part := plugin.plug(wiring)) is not None
    }
    parts = list(plugged.values())
    services.accounts.alert_supervisors_by(wiring.alert_supervisors)
    outbox = OutboxWorker(
        db=services.db,
        vault=services.vault,
        senders={name: part.sender for name, part in plugged.items() if part.sender},
        doorbell=services.doorbell,
        clock=services.clock,
        heartbeat=services.outbox_heartbeat,
        metrics=services.metrics,
    )
    retention = RetentionWorker(
        db=services.db,
        vault=services.vault,
        retention_days=services.settings.retention_days,
        clock=services.clock,
        heartbeat=services.metrics.heartbeat(RetentionWorker.name),
    )
    claims = ClaimTimeoutWorker(
        casework=services.casework,
        timeout_minutes=services.settings.claim_timeout_minutes,
        clock=services.clock,
        heartbeat=services.metrics.heartbeat(ClaimTimeoutWorker.name),
    )
    escalation = EscalationWorker(
        db=services.db,
        vault=services.vault,
        targets=services.settings.targets,
        repeat_minutes=services.settings.alert_repeat_minutes,
        clock=services.clock,
        on_owed=services.doorbell.ring,
        heartbeat=services.metrics.heartbeat(EscalationWorker.name),
        on_escalated=services.metrics.escalated,
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
        workers=[outbox, retention, claims, escalation, *(w for p in parts for w in p.workers)],
        routes=[
            *(route for p in parts for route in p.routes),
            *console.routes(),
            *_metrics_routes(services),
        ],
        on_shutdown=[close for p in parts for close in p.closers],
        extend=[caseworker_api],
        api_docs=settings.api_docs,
        readiness=Readiness(
            db=services.db,
            keys=services.keys,
            outbox=services.outbox_heartbeat,
            clock=services.clock,
        ),
    )
