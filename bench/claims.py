"""Claiming the next case while 100,000 cases wait: the caseworker's own wait, p50 and p99.

The waiting cases are seeded in bulk, straight into the tables (each with its witness,
the witness's wrapped data key and sealed answers, as an intake leaves them), before the
service starts. Then one caseworker claims through the real API route,
POST /api/v1/queues/{queue}/claim, one claim after another on one keep-alive
connection: each claim's time is the caseworker's wait, not a queue behind other load.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import random
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bench.forms import witness_number
from bench.server import Engine, Service, fresh_database, new_twilio
from bench.stats import percentile
from bot.intake.script import (
    CONTACT,
    CONTACT_TEXT,
    HOUSEHOLD,
    HOW_SOON,
    LANGUAGE,
    NEED_MOVE_NOW,
    NEEDS,
    ROLE,
    SAFE_NOW,
    THIS_WEEK,
    YES,
)
from bot.reference import new_reference
from storage.cases import PRIORITY_RANK
from storage.crypto import Vault
from storage.db import Database
from storage.keyring import KeySource
from storage.models import Case, DataKeyRow, Witness, utcnow
from storage.witnesses import ALIAS_ALPHABET, LOOKUP_PURPOSE, lookup_value

QUEUE = "relocation"
CASEWORKER = "bench-claims"
# Seeded witnesses' numbers start here: far from the webhook's simulated witnesses.
FIRST_WITNESS = 5_000_000
BATCH = 5_000
WARM_UP_CLAIMS = 20
# A caseworker speaking English sees most, not all, of the queue (others wait for Spanish).
SPANISH_SHARE = 0.2
PRIORITIES = (("urgent", 0.05), ("high", 0.25), ("normal", 0.70))
MAX_AGE = timedelta(days=30)


@dataclass(frozen=True)
class Claims:
    engine: Engine
    waiting: int
    claims: int
    seed_seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    failures: int


def alias(index: int) -> str:
    """A distinct alias per seeded witness, in the service's alias alphabet."""
    digits = []
    for _ in range(6):
        index, digit = divmod(index, len(ALIAS_ALPHABET))
        digits.append(ALIAS_ALPHABET[digit])
    return "W-" + "".join(reversed(digits))


def _answers(language: str) -> dict[str, str]:
    return {
        LANGUAGE: language,
        SAFE_NOW: YES,
        ROLE: "witness",
        NEEDS: NEED_MOVE_NOW,
        HOUSEHOLD: "2",
        HOW_SOON: THIS_WEEK,
        CONTACT: CONTACT_TEXT,
    }


def _priority(rng: random.Random) -> str:
    roll = rng.random()
    for name, share in PRIORITIES:
        if roll < share:
            return name
        roll -= share
    return PRIORITIES[-1][0]


def seed_rows(
    vault: Vault, *, count: int, now: datetime, seed: int = 7
) -> Iterator[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """(witness, data key, case) rows for `count` waiting cases, sealed as the service seals."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible mix, not a secret
    references: set[str] = set()
    for index in range(count):
        witness_id, case_id = uuid.uuid4(), uuid.uuid4()
        key, wrapped = vault.new_data_key(witness_id)
        address = witness_number(FIRST_WITNESS + index)
        language = "es" if rng.random() < SPANISH_SHARE else "en"
        created = now - MAX_AGE * rng.random()
        reference = new_reference()
        while reference in references:
            reference = new_reference()
        references.add(reference)
        priority = _priority(rng)
        yield (
            {
                "id": witness_id,
                "alias": alias(index),
                "lookup_key": vault.pseudonym(lookup_value("sms", address), purpose=LOOKUP_PURPOSE),
                "lookup_version": vault.active_version,
                "channel": "sms",
                "address_sealed": key.seal(
                    address, table="witnesses", field="address", row=witness_id
                ),
                "language": language,
                "opted_out": False,
                "created_at": created,
                "last_active_at": created,
            },
            {
                "witness_id": witness_id,
                "master_version": wrapped.master_version,
                "wrapped": wrapped.blob,
                "created_at": created,
            },
            {
                "id": case_id,
                "reference": reference,
                "witness_id": witness_id,
                "queue": QUEUE,
                "priority": priority,
                "priority_rank": PRIORITY_RANK[priority],
                "status": "waiting",
                "language": language,
                "needs": NEED_MOVE_NOW,
                "answers_sealed": key.seal(
                    json.dumps(_answers(language)), table="cases", field="answers", row=case_id
                ),
                "created_at": created,
                "updated_at": created,
                "witness_active_at": created,
                # Within target: the escalation worker leaves them be during the run.
                "due_at": now + timedelta(days=1),
            },
        )


async def seed_cases(service: Service, *, count: int) -> None:
    """Migrate, then `count` waiting cases in QUEUE, inserted in batches of BATCH rows a table."""
    keys = KeySource(env_value=service.master_key, key_file=service.folder / "unused.keys")
    vault = Vault(keys)
    db = Database(service.database_url)
    now = utcnow()
    try:
        await db.migrate()
        rows = seed_rows(vault, count=count, now=now)
        while True:
            batch = [row for _, row in zip(range(BATCH), rows, strict=False)]
            if not batch:
                break
            async with db.write() as session:
                await session.execute(insert(Witness), [w for w, _, _ in batch])
                await session.execute(insert(DataKeyRow), [k for _, k, _ in batch])
                await session.execute(insert(Case), [c for _, _, c in batch])
    finally:
        await db.dispose()


def sign_in(service: Service, password: str) -> str:
    status, body = service.request(
        "POST", "/api/v1/login", {"username": CASEWORKER, "password": password}
    )
    if status != 200:
        raise RuntimeError(f"sign-in answered {status}")
    token: str = json.loads(body)["token"]
    return token


def claim_times(service: Service, token: str, *, claims: int) -> tuple[list[float], int]:
    """Seconds each claim took, and how many did not hand over a case."""
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=60)
    headers = {"Authorization": f"Bearer {token}", "Content-Length": "0"}
    path = f"/api/v1/queues/{QUEUE}/claim"
    times: list[float] = []
    failures = 0
    try:
        for _ in range(claims):
            started = time.perf_counter()
            connection.request("POST", path, headers=headers)
            response = connection.getresponse()
            response.read()
            times.append(time.perf_counter() - started)
            failures += response.status != 200
    finally:
        connection.close()
    return times, failures


def measure_claims(engine: Engine, *, folder: Path, waiting: int, claims: int) -> Claims:
    folder.mkdir(parents=True, exist_ok=True)
    with fresh_database(engine, folder) as url:
        service = Service(database_url=url, folder=folder, twilio=new_twilio())
        started = time.perf_counter()
        asyncio.run(seed_cases(service, count=waiting))
        seeded = time.perf_counter() - started
        password = secrets.token_urlsafe(18)
        service.command(
            "caseworker",
            "add",
            CASEWORKER,
            "--queues",
            QUEUE,
            "--languages",
            "en",
            "--password-stdin",
            stdin=password + "\n",
        )
        with service:
            token = sign_in(service, password)
            claim_times(service, token, claims=WARM_UP_CLAIMS)
            times, failures = claim_times(service, token, claims=claims)
    return Claims(
        engine=engine,
        waiting=waiting,
        claims=claims,
        seed_seconds=seeded,
        p50_ms=percentile(times, 50) * 1000,
        p99_ms=percentile(times, 99) * 1000,
        max_ms=max(times) * 1000,
        failures=failures,
    )
