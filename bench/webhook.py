"""The bare route and the SMS webhook, side by side on one server in one run.

The bare route (GET /livez: no database, no work) is the ceiling of this server on this
machine; the webhook's share of it (the ratio) is the figure that travels between
machines. Webhook requests replay forms signed beforehand (bench/forms.py), in which
witnesses walk an English intake round-robin.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from bench.forms import SMS_PATH, Twilio, round_robin, write_requests
from bench.load import Load, run_wrk
from bench.server import Engine, Service, count_rows, fresh_database, settled
from storage.models import Case, Message
from storage.states import Direction
from tests.intake_scripts import ENGLISH_MOVE

SCRIPT = ENGLISH_MOVE
# Warm-up witnesses come from a range of their own, far from the measured ones.
WARM_UP_FIRST_WITNESS = 9_000_000
WARM_UP_WITNESSES = 200
WARM_UP_SECONDS = 2.0


@dataclass(frozen=True)
class Plan:
    witnesses: int
    connections: int
    bare_seconds: float
    webhook_seconds: float
    # The most requests a second the pre-signed forms last for through the whole run.
    max_rate: int


@dataclass(frozen=True)
class Requests:
    """Pre-signed request files, shared by every engine's run (one signing for all)."""

    twilio: Twilio
    measured: Path
    warm_up: Path


@dataclass(frozen=True)
class Routes:
    engine: Engine
    connections: int
    witnesses: int
    bare: Load
    webhook: Load
    peak_rss_mib: float
    # The service process's own CPU time over the webhook run (not the database server's).
    webhook_cpu_seconds: float
    stored_inbound: int
    cases_opened: int

    @property
    def ratio(self) -> float:
        return self.webhook.rate / self.bare.rate if self.bare.rate else 0.0

    @property
    def messages_per_witness(self) -> float:
        """How far into the intake the measured witnesses got, on average."""
        return self.webhook.requests / self.witnesses

    @property
    def cpu_ms_per_request(self) -> float:
        return (
            1000 * self.webhook_cpu_seconds / self.webhook.requests
            if self.webhook.requests
            else 0.0
        )

    @property
    def cpu_share(self) -> float:
        """How busy the service kept its core during the webhook run (1.0: all the time)."""
        return self.webhook_cpu_seconds / self.webhook.seconds if self.webhook.seconds else 0.0

    @property
    def problems(self) -> list[str]:
        """What makes the webhook figures untrustworthy, if anything."""
        found = []
        if self.webhook.wraps:
            found.append("ran out of pre-signed forms (raise --max-rate)")
        if self.webhook.bad_status or self.webhook.socket_errors:
            found.append(
                f"{self.webhook.bad_status} error answers, "
                f"{self.webhook.socket_errors} socket errors"
            )
        # Requests still in flight when wrk stops may be stored without being counted.
        if not 0 <= self.stored_inbound - self.webhook.requests <= self.connections:
            found.append(
                f"{self.stored_inbound} inbound messages stored for "
                f"{self.webhook.requests} answered"
            )
        return found


def sign_requests(folder: Path, twilio: Twilio, plan: Plan) -> Requests:
    measured = folder / "webhook.tsv"
    write_requests(
        measured,
        twilio,
        round_robin(
            SCRIPT,
            witnesses=plan.witnesses,
            total=int(plan.webhook_seconds * plan.max_rate),
        ),
    )
    warm_up = folder / "warm-up.tsv"
    write_requests(
        warm_up,
        twilio,
        round_robin(
            SCRIPT,
            witnesses=WARM_UP_WITNESSES,
            total=WARM_UP_WITNESSES * len(SCRIPT),
            first_witness=WARM_UP_FIRST_WITNESS,
        ),
    )
    return Requests(twilio=twilio, measured=measured, warm_up=warm_up)


INBOUND = select(func.count()).select_from(Message).where(Message.direction == Direction.IN)
CASES = select(func.count()).select_from(Case)


def stored(database_url: str) -> tuple[int, int]:
    """(inbound messages, cases) once the server has answered what was in flight."""
    inbound = settled(lambda: count_rows(database_url, INBOUND))
    return inbound, count_rows(database_url, CASES)


def measure_routes(engine: Engine, *, folder: Path, requests: Requests, plan: Plan) -> Routes:
    folder.mkdir(parents=True, exist_ok=True)
    with (
        fresh_database(engine, folder) as url,
        Service(database_url=url, folder=folder, twilio=requests.twilio) as service,
    ):
        sms_url = service.base + SMS_PATH
        run_wrk(service.base + "/livez", seconds=1, connections=plan.connections)
        run_wrk(
            sms_url,
            seconds=WARM_UP_SECONDS,
            connections=plan.connections,
            requests_file=requests.warm_up,
        )
        before = stored(url)
        bare = run_wrk(
            service.base + "/livez", seconds=plan.bare_seconds, connections=plan.connections
        )
        cpu_before = service.cpu_seconds()
        webhook = run_wrk(
            sms_url,
            seconds=plan.webhook_seconds,
            connections=plan.connections,
            requests_file=requests.measured,
        )
        cpu = service.cpu_seconds() - cpu_before
        peak = service.peak_rss_kib() / 1024
        after = stored(url)
    return Routes(
        engine=engine,
        connections=plan.connections,
        witnesses=plan.witnesses,
        bare=bare,
        webhook=webhook,
        peak_rss_mib=peak,
        webhook_cpu_seconds=cpu,
        stored_inbound=after[0] - before[0],
        cases_opened=after[1] - before[1],
    )
