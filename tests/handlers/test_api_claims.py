"""Claiming work from the queues, and what a claim allows: over real HTTP, on both databases.

Claims hand out the most urgent, then oldest, case in a language the caller speaks, and
never the same case twice: not to concurrent callers of one process, and not across two
server processes sharing one PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update

from bot.app import build_services
from storage.db import Database
from storage.models import Case, Message, utcnow
from storage.models import Caseworker as Account
from tests.cli_runner import spawn_serve, stop_all, wait_healthy
from tests.conftest import make_settings
from tests.handlers.api_helpers import (
    Caseworker,
    audit_rows,
    case_row,
    make_caseworker,
    seed_cases,
    sign_in,
)
from tests.handlers.sms_helpers import WITNESS, Phone, sms_service
from tests.intake_scripts import ENGLISH_MOVE
from tests.live import eventually, running_service

CLAIM = "/api/v1/queues/relocation/claim"


async def claim_all(worker: Caseworker, username: str) -> list[str]:
    """Claim in `relocation` until it answers 204; every case claimed is the caller's."""
    claimed: list[str] = []
    while True:
        response = await worker.post(CLAIM)
        if response.status_code == 204:
            return claimed
        assert response.status_code == 200, response.text
        case = response.json()
        assert (case["status"], case["assigned_to"]) == ("claimed", username)
        claimed.append(case["ref"])


async def test_claims_come_most_urgent_first_then_oldest_in_the_callers_languages(
    tmp_path: Path, database_url: str
) -> None:
    async with (
        running_service(data_dir=tmp_path / "data", database_url=database_url) as live,
        httpx.AsyncClient(timeout=30) as client,
    ):
        db, vault = live.services.db, live.services.vault
        now = utcnow()
        ago = {minutes: now - timedelta(minutes=minutes) for minutes in (300, 180, 60, 30, 10)}
        [spanish_urgent] = await seed_cases(
            db, vault, language="es", priority="urgent", created_at=ago[300]
        )
        [old_normal] = await seed_cases(db, vault, priority="normal", created_at=ago[180])
        [high] = await seed_cases(db, vault, priority="high", created_at=ago[60])
        [new_urgent] = await seed_cases(db, vault, priority="urgent", created_at=ago[10])
        [old_urgent] = await seed_cases(db, vault, priority="urgent", created_at=ago[30])
        await make_caseworker(db, "enid", queues=("relocation",), languages=("en",))
        await make_caseworker(db, "esme", queues=("relocation",), languages=("es",))
        enid = await sign_in(client, live.base_url, "enid")
        esme = await sign_in(client, live.base_url, "esme")

        assert await claim_all(enid, "enid") == [old_urgent, new_urgent, high, old_normal]
        # The Spanish case still waits: an English-only caseworker is never handed it.
        assert (await case_row(db, spanish_urgent)).status == "waiting"
        assert (await enid.post(CLAIM)).status_code == 204
        assert await claim_all(esme, "esme") == [spanish_urgent]


async def _waiting(db: Database) -> int:
    async with db.read() as session:
        query = select(func.count()).select_from(Case).where(Case.status == "waiting")
        return int(await session.scalar(query) or 0)


async def _concurrent_claims(
    workers: dict[str, Caseworker], *, in_flight: int, db: Database
) -> dict[str, list[str]]:
    """Every caseworker claims with `in_flight` requests at once until the queue is empty.

    Only claims run, so once "nothing waits" (204) is answered, every case that still
    waited was locked by a claim in flight that will take it: a claim sent after any 204
    must get 204 too, and no more cases can still wait than there are other loops.
    """
    loops = len(workers) * in_flight
    emptied = asyncio.Event()

    async def one_loop(name: str) -> list[str]:
        claimed: list[str] = []
        while True:
            sent_after_empty = emptied.is_set()
            response = await workers[name].post(CLAIM)
            if response.status_code == 204:
                emptied.set()
                assert await _waiting(db) < loops
                return claimed
            assert not sent_after_empty, "a claim succeeded after the queue answered 204"
            assert response.status_code == 200, response.text
            case = response.json()
            assert (case["status"], case["assigned_to"]) == ("claimed", name)
            claimed.append(case["ref"])

    async with asyncio.TaskGroup() as group:
        tasks = {
            name: [group.create_task(one_loop(name)) for _ in range(in_flight)] for name in workers
        }
    return {name: [ref for task in found for ref in task.result()] for name, found in tasks.items()}


def _assert_each_case_claimed_once(seeded: list[str], by_worker: dict[str, list[str]]) -> None:
    everything = [ref for refs in by_worker.values() for ref in refs]
    duplicates = [ref for ref, n in Counter(everything).items() if n > 1]
    assert duplicates == []
    assert sorted(everything) == sorted(seeded)


async def _assert_held_as_answered(db: Database, by_worker: dict[str, list[str]]) -> None:
    """The database agrees: every case is claimed by the caseworker the API told."""
    async with db.read() as session:
        rows = (
            await session.execute(
                select(Case.reference, Case.status, Account.username).outerjoin(
                    Account, Account.id == Case.assigned_to
                )
            )
        ).all()
    told = {ref: ("claimed", name) for name, refs in by_worker.items() for ref in refs}
    assert {ref: (status, name) for ref, status, name in rows} == told


async def test_concurrent_claims_in_one_process_hand_out_each_case_once(
    tmp_path: Path, database_url: str
) -> None:
    async with (
        running_service(data_dir=tmp_path / "data", database_url=database_url) as live,
        httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=200)) as client,
    ):
        db = live.services.db
        seeded = await seed_cases(db, live.services.vault, count=200)
        names = ("ana", "ben", "cy", "di")
        for name in names:
            await make_caseworker(db, name, queues=("relocation",))
        workers = {name: await sign_in(client, live.base_url, name) for name in names}

        by_worker = await _concurrent_claims(workers, in_flight=8, db=db)

        _assert_each_case_claimed_once(seeded, by_worker)
        await _assert_held_as_answered(db, by_worker)
        assert await audit_rows(db, action="case.claimed") == 200
        for worker in workers.values():
            assert (await worker.post(CLAIM)).status_code == 204


@contextlib.asynccontextmanager
async def _servers(
    count: int, *, data_dir: Path, database_url: str, client: httpx.AsyncClient
) -> AsyncIterator[list[str]]:
    """`python -m bot serve` in `count` child processes; their base URLs once healthy."""
    started: list[tuple[subprocess.Popen[bytes], Path, str]] = []
    try:
        for index in range(count):
            log = data_dir.parent / f"serve-{index}.log"
            process, port = spawn_serve(data_dir, database_url, log=log)
            started.append((process, log, f"http://127.0.0.1:{port}"))
        for process, log, url in started:
            await wait_healthy(client, url, process=process, log=log)
        yield [url for _process, _log, url in started]
    finally:
        stop_all(process for process, _log, _url in started)


@pytest.mark.postgres
@pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)
async def test_two_server_processes_on_one_postgresql_never_hand_out_a_case_twice(
    tmp_path: Path, database_url: str
) -> None:
    data_dir = tmp_path / "data"
    # Migrate, create the master key file and seed before the servers start, so the two
    # processes find the schema and the key in place instead of racing to create them.
    services = build_services(make_settings(data_dir, database_url))
    try:
        await services.start()
        seeded = await seed_cases(services.db, services.vault, count=200)
        names = ("ana", "ben", "cy", "di")
        for name in names:
            await make_caseworker(services.db, name, queues=("relocation",))
    finally:
        await services.close()

    check = Database(database_url)
    try:
        async with (
            httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=200)) as client,
            _servers(2, data_dir=data_dir, database_url=database_url, client=client) as urls,
        ):
            # ana and ben on the first process, cy and di on the second.
            workers = {
                name: await sign_in(client, urls[index // 2], name)
                for index, name in enumerate(names)
            }
            by_worker = await _concurrent_claims(workers, in_flight=8, db=check)
            for worker in workers.values():
                assert (await worker.post(CLAIM)).status_code == 204
        _assert_each_case_claimed_once(seeded, by_worker)
        await _assert_held_as_answered(check, by_worker)
        assert await audit_rows(check, action="case.claimed") == 200
    finally:
        await check.dispose()
    # Both processes handed out cases, so the two really competed for the same rows.
    assert by_worker["ana"] + by_worker["ben"]
    assert by_worker["cy"] + by_worker["di"]


async def test_release_puts_the_case_back_for_someone_else(
    tmp_path: Path, database_url: str
) -> None:
    async with sms_service(tmp_path, database_url) as (live, _twilio, phone):
        await phone.walk(ENGLISH_MOVE)
        db = live.services.db
        await make_caseworker(db, "ana", queues=("relocation",))
        await make_caseworker(db, "ben", queues=("relocation",))
        ana = await sign_in(phone.client, live.base_url, "ana")
        ben = await sign_in(phone.client, live.base_url, "ben")
        ref = (await ana.post(CLAIM)).json()["ref"]
        assert (await ben.post(CLAIM)).status_code == 204
        assert (await ben.get(f"/api/v1/cases/{ref}")).status_code == 404

        released = await ana.post(f"/api/v1/cases/{ref}/release")

        assert released.status_code == 200
        assert (released.json()["status"], released.json()["assigned_to"]) == ("waiting", None)
        assert (await ana.get(f"/api/v1/cases/{ref}")).status_code == 404
        [queue] = (await ben.get("/api/v1/queues")).json()
        assert (queue["name"], queue["waiting"]) == ("relocation", 1)
        again = await ben.post(CLAIM)
        assert again.status_code == 200
        assert (again.json()["ref"], again.json()["assigned_to"]) == (ref, "ben")
        assert await audit_rows(db, action="case.released", reference=ref) == 1


async def test_transfer_moves_the_case_to_wait_in_another_queue(
    tmp_path: Path, database_url: str
) -> None:
    async with sms_service(tmp_path, database_url) as (live, _twilio, phone):
        await phone.walk(ENGLISH_MOVE)
        db = live.services.db
        await make_caseworker(db, "ana", queues=("relocation",))
        await make_caseworker(db, "sol", queues=("support",))
        ana = await sign_in(phone.client, live.base_url, "ana")
        sol = await sign_in(phone.client, live.base_url, "sol")
        ref = (await ana.post(CLAIM)).json()["ref"]

        unknown = await ana.post(f"/api/v1/cases/{ref}/transfer", {"queue": "nowhere"})
        assert unknown.status_code == 422
        [problem] = unknown.json()["detail"]
        assert (problem["loc"], problem["msg"]) == (["body", "queue"], "Value error, no such queue")
        row = await case_row(db, ref)
        assert (row.queue, row.status) == ("relocation", "claimed")

        moved = await ana.post(f"/api/v1/cases/{ref}/transfer", {"queue": "support"})

        assert moved.status_code == 200
        body = moved.json()
        assert (body["queue"], body["status"], body["assigned_to"]) == ("support", "waiting", None)
        assert (await ana.get(f"/api/v1/cases/{ref}")).status_code == 404
        assert (await ana.post(CLAIM)).status_code == 204
        waiting = (await sol.get("/api/v1/cases", status="waiting", queue="support")).json()
        assert [c["ref"] for c in waiting] == [ref]
        taken = await sol.post("/api/v1/queues/support/claim")
        assert (taken.status_code, taken.json()["ref"]) == (200, ref)
        assert await audit_rows(db, action="case.transferred", reference=ref) == 1


async def test_a_closed_case_leaves_its_holder_and_supervisors_read_but_not_change_it(
    tmp_path: Path, database_url: str
) -> None:
    async with sms_service(tmp_path, database_url) as (live, _twilio, phone):
        await phone.walk(ENGLISH_MOVE)
        db = live.services.db
        await make_caseworker(db, "ana", queues=("relocation",))
        await make_caseworker(db, "ben", queues=("relocation",))
        await make_caseworker(db, "boss", supervisor=True)
        ana = await sign_in(phone.client, live.base_url, "ana")
        ben = await sign_in(phone.client, live.base_url, "ben")
        boss = await sign_in(phone.client, live.base_url, "boss")
        ref = (await ana.post(CLAIM)).json()["ref"]
        closed = await ana.post(f"/api/v1/cases/{ref}/close", {"outcome": "moved in with family"})
        assert (closed.status_code, closed.json()["status"]) == (200, "closed")

        changes = (
            ("messages", {"text": "one more thing"}),
            ("release", None),
            ("close", {"outcome": "again"}),
            ("transfer", {"queue": "general"}),
            ("priority", {"priority": "urgent"}),
            ("phone", {"reason": "to arrange the move"}),
        )
        for path, body in changes:
            later = await boss.post(f"/api/v1/cases/{ref}/{path}", body)
            assert later.status_code == 409, (path, later.text)
            assert later.json() == {"detail": "the case is closed"}
        read = await boss.get(f"/api/v1/cases/{ref}")
        assert read.status_code == 200
        assert (read.json()["status"], read.json()["outcome"]) == ("closed", "moved in with family")
        # Closing ended Ana's hold: to her it is now like any case she does not hold.
        for caller in (ana, ben):
            for path, body in changes:
                later = await caller.post(f"/api/v1/cases/{ref}/{path}", body)
                assert later.status_code == 404, (path, later.text)
            assert (await caller.get(f"/api/v1/cases/{ref}")).status_code == 404
        row = await case_row(db, ref)
        assert (row.status, row.queue) == ("closed", "relocation")
        async with db.read() as session:
            sent = await session.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.case_id == row.id, Message.direction == "out")
                .where(Message.reply_to_id.is_(None))
            )
        # Only the notice of the claim: no caseworker message was queued for the closed case.
        assert sent == 1


async def _push_touched_back(db: Database, ref: str, *, minutes: float) -> None:
    async with db.write() as session:
        row = (await session.execute(select(Case).where(Case.reference == ref))).scalar_one()
        await session.execute(
            update(Case)
            .where(Case.id == row.id)
            .values(touched_at=row.touched_at - timedelta(minutes=minutes))
        )


async def test_an_untouched_claim_returns_to_its_queue(tmp_path: Path, database_url: str) -> None:
    async with (
        running_service(data_dir=tmp_path / "data", database_url=database_url) as live,
        httpx.AsyncClient(timeout=30) as client,
    ):
        db, casework = live.services.db, live.services.casework
        timeout = timedelta(minutes=live.services.settings.claim_timeout_minutes)
        await seed_cases(db, live.services.vault, count=3)
        await make_caseworker(db, "ana", queues=("relocation",))
        await make_caseworker(db, "ben", queues=("relocation",))
        ana = await sign_in(client, live.base_url, "ana")
        ben = await sign_in(client, live.base_url, "ben")
        forgotten, worked, fresh = [(await ana.post(CLAIM)).json()["ref"] for _ in range(3)]
        over = timeout.total_seconds() / 60 + 1
        await _push_touched_back(db, forgotten, minutes=over)
        await _push_touched_back(db, worked, minutes=over)
        # Reading a case is working on it: the claim is fresh again.
        assert (await ana.get(f"/api/v1/cases/{worked}")).status_code == 200

        assert await casework.return_stale(timeout=timeout) == 1

        assert [(await case_row(db, ref)).status for ref in (forgotten, worked, fresh)] == [
            "waiting",
            "claimed",
            "claimed",
        ]
        assert await audit_rows(db, action="case.claim_expired", reference=forgotten) == 1
        assert await audit_rows(db, action="case.claim_expired") == 1
        assert (await ana.get(f"/api/v1/cases/{forgotten}")).status_code == 404
        taken = await ben.post(CLAIM)
        assert (taken.status_code, taken.json()["ref"]) == (200, forgotten)


async def test_the_served_app_returns_claims_untouched_past_its_configured_timeout(
    tmp_path: Path, database_url: str
) -> None:
    data_dir = tmp_path / "data"
    async with (
        running_service(data_dir=data_dir, database_url=database_url) as live,
        httpx.AsyncClient(timeout=30) as client,
    ):
        db = live.services.db
        await seed_cases(db, live.services.vault, count=2)
        await make_caseworker(db, "ana", queues=("relocation",))
        ana = await sign_in(client, live.base_url, "ana")
        stale, recent = [(await ana.post(CLAIM)).json()["ref"] for _ in range(2)]
        await _push_touched_back(db, stale, minutes=6)
        await _push_touched_back(db, recent, minutes=4)

    # INTAKE_CLAIM_TIMEOUT_MINUTES=5 (not the default 240); the timeout worker makes its
    # first pass as the service starts.
    async with running_service(
        data_dir=data_dir, database_url=database_url, claim_timeout_minutes=5
    ) as live:
        db = live.services.db

        async def returned() -> bool:
            return (await case_row(db, stale)).status == "waiting"

        await eventually(returned)
        # The same pass looked at both claims: the one touched 4 minutes ago stays.
        assert (await case_row(db, recent)).status == "claimed"
        assert await audit_rows(db, action="case.claim_expired", reference=stale) == 1
        assert await audit_rows(db, action="case.claim_expired") == 1


async def test_reply_to_a_witness_who_opted_out_is_409(tmp_path: Path, database_url: str) -> None:
    async with sms_service(tmp_path, database_url) as (live, twilio, phone):
        await phone.walk(ENGLISH_MOVE)
        await make_caseworker(live.services.db, "ana", queues=("relocation",))
        ana = await sign_in(phone.client, live.base_url, "ana")
        ref = (await ana.post(CLAIM)).json()["ref"]
        await phone.text("STOP")

        refused = await ana.post(f"/api/v1/cases/{ref}/messages", {"text": "Are you safe?"})

        assert refused.status_code == 409
        assert refused.json() == {"detail": "the witness opted out or erased their data"}
        texts = [m["text"] for m in (await ana.get(f"/api/v1/cases/{ref}")).json()["messages"]]
        assert "Are you safe?" not in texts
        # Opting back in makes the witness reachable again.
        await phone.text("START")
        sent = await ana.post(f"/api/v1/cases/{ref}/messages", {"text": "Welcome back."})
        assert sent.status_code == 202
        await eventually(lambda: [m for m in twilio.sent_to(WITNESS) if m.body == "Welcome back."])
        assert not [m for m in twilio.sent_to(WITNESS) if m.body == "Are you safe?"]


async def test_reply_to_a_witness_who_erased_their_data_is_409(
    tmp_path: Path, database_url: str
) -> None:
    async with sms_service(tmp_path, database_url) as (live, _twilio, phone):
        await phone.walk(ENGLISH_MOVE)
        await make_caseworker(live.services.db, "ana", queues=("relocation",))
        ana = await sign_in(phone.client, live.base_url, "ana")
        ref = (await ana.post(CLAIM)).json()["ref"]
        await phone.text("DELETE")
        await phone.text("YES")

        refused = await ana.post(f"/api/v1/cases/{ref}/messages", {"text": "Are you safe?"})

        # Erasure also closes the case; either way the answer is 409.
        assert refused.status_code == 409
        assert (
            await ana.post(f"/api/v1/cases/{ref.lower()}/close", {"outcome": "x"})
        ).status_code == 409
        # Nothing is left to read: the case row keeps aggregate facts only, no reference.
        assert (await ana.get(f"/api/v1/cases/{ref}")).status_code == 404


async def test_the_number_is_shown_only_to_the_holder_of_a_call_me_case(
    tmp_path: Path, database_url: str
) -> None:
    async with sms_service(tmp_path, database_url) as (live, twilio, phone):
        call_me = list(ENGLISH_MOVE)
        call_me[8] = "2"  # Call this number
        await phone.walk(call_me)
        texter = Phone(live=live, twilio=twilio, client=phone.client, number="+15550167788")
        await texter.walk(ENGLISH_MOVE)
        db = live.services.db
        await make_caseworker(db, "ana", queues=("relocation",))
        await make_caseworker(db, "boss", supervisor=True)
        ana = await sign_in(phone.client, live.base_url, "ana")
        boss = await sign_in(phone.client, live.base_url, "boss")
        call_ref = (await ana.post(CLAIM)).json()["ref"]  # the older case comes first
        text_ref = (await ana.post(CLAIM)).json()["ref"]
        assert (await case_row(db, call_ref)).created_at < (await case_row(db, text_ref)).created_at
        held = (await ana.get(f"/api/v1/cases/{call_ref}")).json()
        assert (held["answers"]["contact"], held["may_call"]) == ("call", True)
        assert "phone" not in held
        assert await audit_rows(db, action="case.number_revealed", reference=call_ref) == 0

        asked = await ana.post(f"/api/v1/cases/{call_ref}/phone", {"reason": "to plan the move"})
        assert (asked.status_code, asked.json()) == (200, {"phone": WITNESS})
        assert await audit_rows(db, action="case.number_revealed", reference=call_ref) == 1

        overseen = await boss.post(f"/api/v1/cases/{call_ref}/phone", {"reason": "checking"})
        assert overseen.status_code == 409
        assert WITNESS not in overseen.text
        assert await audit_rows(db, action="case.number_revealed", reference=call_ref) == 1
        trail = (await boss.get("/api/v1/audit", action="case.number_revealed")).json()
        assert {(row["actor"], row["ref"]) for row in trail} == {("ana", call_ref)}

        texted = await ana.post(f"/api/v1/cases/{text_ref}/phone", {"reason": "to plan the move"})
        assert texted.status_code == 409
        assert texter.number not in texted.text
        assert await audit_rows(db, action="case.number_revealed", reference=text_ref) == 0
