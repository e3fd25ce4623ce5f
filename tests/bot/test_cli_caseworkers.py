"""Caseworker accounts over their life from the command line: list, disable, enable,
reset-password, against a live service on both databases (the command runs as a child
process on the same database, as an operator would run it beside the service)."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import httpx

from tests.cli_runner import run_cli
from tests.handlers.api_helpers import PASSWORD, audit_rows, make_caseworker
from tests.live import LiveService, running_service

NEW_PASSWORD = "a whole new long passphrase"
ALERT_NUMBER = "+15550104477"


async def cli(
    live_dir: Path, database_url: str, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    # In a thread: the live service shares this event loop and must keep answering.
    return await asyncio.to_thread(
        run_cli, *args, data_dir=live_dir, database_url=database_url, stdin=stdin
    )


async def login(
    client: httpx.AsyncClient, live: LiveService, username: str, password: str
) -> httpx.Response:
    return await client.post(
        live.url("/api/v1/login"), json={"username": username, "password": password}
    )


async def queues(client: httpx.AsyncClient, live: LiveService, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return (await client.get(live.url("/api/v1/queues"), headers=headers)).status_code


async def test_caseworker_list_disable_enable_and_reset_password(
    tmp_path: Path, database_url: str
) -> None:
    data_dir = tmp_path / "data"
    async with (
        running_service(data_dir=data_dir, database_url=database_url) as live,
        httpx.AsyncClient(timeout=30) as client,
    ):
        await make_caseworker(live.services.db, "ana", queues=("relocation",), languages=("es",))
        await make_caseworker(live.services.db, "sam", supervisor=True)
        added = await cli(
            data_dir, database_url, "caseworker", "alerts", "sam", "--alert-sms", ALERT_NUMBER
        )
        assert added.returncode == 0, added.stderr
        first = (await login(client, live, "ana", PASSWORD)).json()["token"]
        second = (await login(client, live, "ana", PASSWORD)).json()["token"]

        listed = await cli(data_dir, database_url, "caseworker", "list")
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.splitlines() == [
            "ana\tcaseworker\tqueues=relocation\tlanguages=es\talerts=off\tenabled",
            "sam\tsupervisor\tqueues=relocation,home-security,support,general\t"
            "languages=en,es\talerts=sms\tenabled",
        ]
        assert ALERT_NUMBER not in listed.stdout

        # Disabling ends both of Ana's tokens at once, and she cannot sign in.
        disabled = await cli(data_dir, database_url, "caseworker", "disable", "ana")
        assert disabled.returncode == 0, disabled.stderr
        assert disabled.stdout.strip() == "caseworker ana disabled; 2 sessions ended"
        assert [await queues(client, live, t) for t in (first, second)] == [401, 401]
        assert (await login(client, live, "ana", PASSWORD)).status_code == 401
        listed = await cli(data_dir, database_url, "caseworker", "list")
        assert listed.stdout.splitlines()[0].endswith("\tdisabled")

        # Enabling lets her sign in again; the old tokens stay ended.
        enabled = await cli(data_dir, database_url, "caseworker", "enable", "ana")
        assert enabled.returncode == 0, enabled.stderr
        assert [await queues(client, live, t) for t in (first, second)] == [401, 401]
        third = (await login(client, live, "ana", PASSWORD)).json()["token"]
        assert await queues(client, live, third) == 200

        # A new password ends every session signed in with the old one.
        reset = await cli(
            data_dir,
            database_url,
            "caseworker",
            "reset-password",
            "ana",
            "--password-stdin",
            stdin=NEW_PASSWORD + "\n",
        )
        assert reset.returncode == 0, reset.stderr
        assert NEW_PASSWORD not in reset.stdout + reset.stderr
        assert await queues(client, live, third) == 401
        assert (await login(client, live, "ana", PASSWORD)).status_code == 401
        assert (await login(client, live, "ana", NEW_PASSWORD)).status_code == 200

        db = live.services.db
        for action in ("account.disabled", "account.enabled", "account.password_reset"):
            assert await audit_rows(db, action=action) == 1, action
        sam = (await login(client, live, "sam", PASSWORD)).json()["token"]
        trail = await client.get(
            live.url("/api/v1/audit"),
            params={"action": "account.disabled"},
            headers={"Authorization": f"Bearer {sam}"},
        )
        assert [(r["actor"], r["detail"]) for r in trail.json()] == [("admin", "ana")]


async def test_caseworker_commands_refuse_what_they_cannot_do(
    tmp_path: Path, database_url: str
) -> None:
    data_dir = tmp_path / "data"
    made = run_cli(
        "caseworker",
        "add",
        "ana",
        "--password-stdin",
        data_dir=data_dir,
        database_url=database_url,
        stdin=PASSWORD + "\n",
    )
    assert made.returncode == 0, made.stderr
    for args in (("disable",), ("enable",), ("reset-password", "--password-stdin")):
        missing = run_cli(
            "caseworker",
            args[0],
            "nobody",
            *args[1:],
            data_dir=data_dir,
            database_url=database_url,
            stdin=NEW_PASSWORD + "\n",
        )
        assert (missing.returncode, missing.stderr.strip()) == (1, "no caseworker nobody"), args
    short = run_cli(
        "caseworker",
        "reset-password",
        "ana",
        "--password-stdin",
        data_dir=data_dir,
        database_url=database_url,
        stdin="short\n",
    )
    assert short.returncode == 1 and "at least 12 characters" in short.stderr
    # Longer than sign-in takes is refused too, never set to be unusable.
    long = run_cli(
        "caseworker",
        "reset-password",
        "ana",
        "--password-stdin",
        data_dir=data_dir,
        database_url=database_url,
        stdin="x" * 1025 + "\n",
    )
    assert long.returncode == 1 and "at most 1024 characters" in long.stderr
    # Without --password-stdin it asks on the terminal; with none, it says what to do.
    no_terminal = run_cli(
        "caseworker", "reset-password", "ana", data_dir=data_dir, database_url=database_url
    )
    assert no_terminal.returncode == 2 and "--password-stdin" in no_terminal.stderr
