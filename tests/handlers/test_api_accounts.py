"""Caseworker accounts over the API: sign-in throttling, token lifetime, the audit trail.

All of it against the live service on both databases, the accounts made the way an
admin makes them (the command line) or through the same storage function it uses.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from bot.accounts import FREE_TRIES
from storage.models import LoginFailure
from tests.canaries import find_canaries, table_rows
from tests.cli_runner import run_cli
from tests.handlers.api_helpers import PASSWORD, expire_token, make_caseworker, sign_in
from tests.handlers.sms_helpers import WITNESS, sms_service
from tests.intake_scripts import ENGLISH_MOVE, REFERENCE, with_story
from tests.live import LiveService, eventually, running_service

WRONG = "not the password at all"
# Distinctive, so a search of the stored throttle keys cannot hit by chance.
USERNAME = "marisol.quintero"


async def login(client: httpx.AsyncClient, live: LiveService, username: str, password: str) -> int:
    response = await client.post(
        live.url("/api/v1/login"), json={"username": username, "password": password}
    )
    if response.status_code == 429:
        assert int(response.headers["Retry-After"]) > 0
        assert response.json() == {"detail": "too many failed sign-ins; try again later"}
    return response.status_code


async def test_failed_sign_ins_throttle_the_username_at_this_client_then_the_client(
    tmp_path: Path, database_url: str
) -> None:
    async with (
        running_service(data_dir=tmp_path / "data", database_url=database_url) as live,
        httpx.AsyncClient(timeout=30) as client,
    ):
        db = live.services.db
        await make_caseworker(db, USERNAME)
        await make_caseworker(db, "bo")

        tries = [await login(client, live, USERNAME, WRONG) for _ in range(FREE_TRIES)]
        assert tries == [401] * FREE_TRIES
        # The next attempt at once is refused before the password is looked at, right or not.
        assert await login(client, live, USERNAME, PASSWORD) == 429
        assert await login(client, live, USERNAME.upper(), PASSWORD) == 429

        # Another username from the same client still signs in: 3 client failures so far.
        assert await login(client, live, "bo", PASSWORD) == 200
        others = [await login(client, live, f"nobody{i}", WRONG) for i in range(16)]
        assert others == [401] * 16
        assert await login(client, live, "bo", PASSWORD) == 200  # 19 failures: still fine
        assert await login(client, live, "nobody-else", WRONG) == 401  # the 20th
        assert await login(client, live, "bo", PASSWORD) == 429

        # The throttle keys are keyed hashes: no username, no address, not even a plain hash.
        stored = [row for row in await table_rows(db) if row[0].startswith("login_failures.")]
        assert stored
        canaries = [USERNAME, "nobody-else", "nobody13", "127.0.0.1"]
        assert find_canaries(canaries, stored) == []
        keys = {blob for where, blob in stored if where == "login_failures.key"}
        for plain in (USERNAME, "127.0.0.1"):
            assert hashlib.sha256(plain.encode()).digest() not in keys

        # Once the failures are older than the 15-minute window, both sign in again.
        async with db.write() as session:
            for failure in (await session.execute(select(LoginFailure))).scalars():
                failure.at -= timedelta(minutes=16)
        assert await login(client, live, USERNAME, PASSWORD) == 200
        assert await login(client, live, "bo", PASSWORD) == 200


async def test_concurrent_wrong_passwords_get_no_more_guesses_than_sequential_ones(
    tmp_path: Path, database_url: str
) -> None:
    async with (
        running_service(data_dir=tmp_path / "data", database_url=database_url) as live,
        httpx.AsyncClient(timeout=60) as client,
    ):
        await make_caseworker(live.services.db, USERNAME)

        guesses = await asyncio.gather(
            *(login(client, live, USERNAME, f"{WRONG} {i}") for i in range(20))
        )

        # Only the free tries are checked at once, however the guesses are timed.
        assert set(guesses) <= {401, 429}
        assert guesses.count(401) <= FREE_TRIES
        many_clients = await asyncio.gather(
            *(login(client, live, f"nobody{i}", WRONG) for i in range(40))
        )
        assert set(many_clients) <= {401, 429}
        assert guesses.count(401) + many_clients.count(401) <= 20


async def test_tokens_expire_and_logout_revokes_them(tmp_path: Path, database_url: str) -> None:
    async with (
        running_service(
            data_dir=tmp_path / "data", database_url=database_url, session_hours=0.5
        ) as live,
        httpx.AsyncClient(timeout=30) as client,
    ):
        db = live.services.db
        await make_caseworker(db, "ana")
        signed_in = await client.post(
            live.url("/api/v1/login"), json={"username": "ana", "password": PASSWORD}
        )
        expires_at = datetime.fromisoformat(signed_in.json()["expires_at"])
        # INTAKE_SESSION_HOURS sets the lifetime: half an hour here.
        assert abs(expires_at - (datetime.now(UTC) + timedelta(minutes=30))) < timedelta(minutes=1)
        first = await sign_in(client, live.base_url, "ana")
        second = await sign_in(client, live.base_url, "ana")
        third = await sign_in(client, live.base_url, "ana")
        tokens = [signed_in.json()["token"], first.token, second.token, third.token]
        assert len(set(tokens)) == 4
        assert (await first.get("/api/v1/queues")).status_code == 200

        await expire_token(db, first.token)
        expired = await first.get("/api/v1/queues")
        assert (expired.status_code, expired.headers["WWW-Authenticate"]) == (401, "Bearer")
        # Keeping a session alive (the console slides its sessions) cannot revive one
        # that already ended: the check and the keep-alive are not one transaction.
        await live.services.accounts.keep_alive(first.token, idle=timedelta(hours=1))
        assert (await first.get("/api/v1/queues")).status_code == 401

        assert (await second.post("/api/v1/logout")).status_code == 204
        assert (await second.get("/api/v1/queues")).status_code == 401
        assert (await second.post("/api/v1/logout")).status_code == 401
        # Each sign-in is its own session: the others are untouched.
        assert (await third.get("/api/v1/queues")).status_code == 200

        # Only a hash of each token is kept: no token, nor a slice of one, is in any table.
        rows = await table_rows(db)
        assert find_canaries(tokens, rows) == []
        hashes = {blob for where, blob in rows if where == "caseworker_sessions.token_hash"}
        assert {hashlib.sha256(t.encode()).digest() for t in tokens} == hashes


STORY = "Tamarind-Canary waits outside the bodega"
CODE_WORD = "heliotrope-walrus"
REPLY = "Halvard-Canary here, we can move you tonight"
OUTCOME = "Placed-Canary at the shelter on Fifth"


async def test_the_audit_trail_names_every_read_and_change_without_witness_content(
    tmp_path: Path, database_url: str
) -> None:
    async with sms_service(tmp_path, database_url) as (live, twilio, phone):
        await phone.walk(with_story(ENGLISH_MOVE, STORY, code_word=CODE_WORD))
        db = live.services.db
        await make_caseworker(db, "ana", queues=("relocation",))
        await make_caseworker(db, "boss", supervisor=True)
        ana = await sign_in(phone.client, live.base_url, "ana")
        boss = await sign_in(phone.client, live.base_url, "boss")

        claim = "/api/v1/queues/relocation/claim"
        ref = (await ana.post(claim)).json()["ref"]
        assert (await ana.get(f"/api/v1/cases/{ref}")).status_code == 200
        assert (await ana.post(f"/api/v1/cases/{ref}/messages", {"text": REPLY})).status_code == 202
        await eventually(lambda: twilio.sent_to(WITNESS))
        assert (await ana.post(f"/api/v1/cases/{ref}/release")).status_code == 200
        assert (await ana.post(claim)).json()["ref"] == ref
        closed = await ana.post(f"/api/v1/cases/{ref}/close", {"outcome": OUTCOME})
        assert closed.status_code == 200
        assert (await boss.get(f"/api/v1/cases/{ref}")).status_code == 200
        assert (await ana.get("/api/v1/cases")).status_code == 200

        trail = await boss.get("/api/v1/audit", ref=ref.lower())
        assert trail.status_code == 200
        assert [(row["actor"], row["action"], row["ref"]) for row in trail.json()] == [
            ("boss", "case.read", ref),
            ("ana", "case.closed", ref),
            ("ana", "case.claimed", ref),
            ("ana", "case.released", ref),
            ("ana", "case.replied", ref),
            ("ana", "case.read", ref),
            ("ana", "case.claimed", ref),
            ("witness", "case.opened", ref),
        ]
        claims = (await boss.get("/api/v1/audit", action="case.claimed")).json()
        assert [(row["actor"], row["ref"]) for row in claims] == [("ana", ref), ("ana", ref)]
        both = (await boss.get("/api/v1/audit", ref=ref, action="case.replied")).json()
        assert [row["action"] for row in both] == ["case.replied"]
        assert (await boss.get("/api/v1/audit", ref="ZZZZ-ZZZZ")).json() == []
        everything = await boss.get("/api/v1/audit")
        actions = {(row["actor"], row["action"]) for row in everything.json()}
        # Listing cases and reading the trail are recorded too.
        assert {("ana", "cases.listed"), ("boss", "audit.read")} <= actions
        for row in everything.json():
            assert row["at"] and row["action"]
            assert row["ref"] is None or REFERENCE.fullmatch(row["ref"])

        # Neither the trail as stored nor as served holds anything the witness or ana wrote.
        canaries = [STORY, CODE_WORD, REPLY, OUTCOME, WITNESS]
        stored = [row for row in await table_rows(db) if row[0].startswith("audit_events.")]
        assert find_canaries(canaries, stored) == []
        served = [("GET /api/v1/audit", everything.content)]
        assert find_canaries(canaries, served) == []


async def test_a_caseworker_added_on_the_command_line_can_sign_in(
    tmp_path: Path, database_url: str
) -> None:
    data_dir = tmp_path / "data"
    added = run_cli(
        "caseworker",
        "add",
        "ines",
        "--queues",
        "relocation,support",
        "--languages",
        "en,es",
        data_dir=data_dir,
        database_url=database_url,
    )
    assert added.returncode == 0, added.stderr
    printed = re.search(r"password \(shown once\): (\S+)", added.stdout)
    assert printed is not None, added.stdout
    password = printed[1]
    boss = run_cli(
        "caseworker",
        "add",
        "dara",
        "--supervisor",
        "--password-stdin",
        data_dir=data_dir,
        database_url=database_url,
        stdin=PASSWORD + "\n",
    )
    assert boss.returncode == 0, boss.stderr
    assert PASSWORD not in boss.stdout

    async with (
        running_service(data_dir=data_dir, database_url=database_url) as live,
        httpx.AsyncClient(timeout=30) as client,
    ):
        response = await client.post(
            live.url("/api/v1/login"), json={"username": "ines", "password": password}
        )
        assert response.status_code == 200, response.text
        token = response.json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        queues = (await client.get(live.url("/api/v1/queues"), headers=headers)).json()
        assert [q["name"] for q in queues] == ["relocation", "support"]
        assert (await client.get(live.url("/api/v1/audit"), headers=headers)).status_code == 403
        dara = await sign_in(client, live.base_url, "dara")
        assert (await dara.get("/api/v1/audit")).status_code == 200
        assert await login(client, live, "ines", PASSWORD) == 401
        # The generated password is kept only as an Argon2id hash.
        rows = await table_rows(live.services.db)
        assert find_canaries([password, PASSWORD], rows) == []
        hashes = [blob for where, blob in rows if where == "caseworkers.password_hash"]
        assert hashes and all(h.startswith(b"$argon2id$") for h in hashes)
