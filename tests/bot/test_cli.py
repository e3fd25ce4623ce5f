"""The operator's command line, run as a child process on both databases."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from sqlalchemy import select

from storage.db import Database
from storage.models import Caseworker
from tests.cli_runner import cli_env, run_cli, serve_once
from tests.intake_scripts import ENGLISH_MOVE


async def accounts(database_url: str) -> list[Caseworker]:
    db = Database(database_url)
    try:
        async with db.read() as session:
            return list((await session.execute(select(Caseworker))).scalars())
    finally:
        await db.dispose()


async def test_caseworker_add_with_a_generated_password(tmp_path: Path, database_url: str) -> None:
    done = run_cli(
        "caseworker",
        "add",
        "ana",
        "--queues",
        "relocation,support",
        "--languages",
        "en,es",
        data_dir=tmp_path / "data",
        database_url=database_url,
    )
    assert done.returncode == 0, done.stderr
    password = done.stdout.split("password (shown once): ")[1].strip()
    [account] = await accounts(database_url)
    assert (account.username, account.queues, account.languages) == (
        "ana",
        "relocation,support",
        "en,es",
    )
    assert account.password_hash.startswith("$argon2id$")
    assert password not in account.password_hash


async def test_caseworker_add_reads_the_password_from_stdin(
    tmp_path: Path, database_url: str
) -> None:
    data_dir = tmp_path / "data"
    done = run_cli(
        "caseworker",
        "add",
        "sam",
        "--supervisor",
        "--password-stdin",
        data_dir=data_dir,
        database_url=database_url,
        stdin="correct horse battery\n",
    )
    assert done.returncode == 0, done.stderr
    assert "correct horse" not in done.stdout
    again = run_cli(
        "caseworker",
        "add",
        "sam",
        "--password-stdin",
        data_dir=data_dir,
        database_url=database_url,
        stdin="another long password\n",
    )
    assert again.returncode == 1 and "sam" in again.stderr
    short = run_cli(
        "caseworker",
        "add",
        "kim",
        "--password-stdin",
        data_dir=data_dir,
        database_url=database_url,
        stdin="short\n",
    )
    assert short.returncode == 1
    [account] = await accounts(database_url)
    assert account.is_supervisor


async def test_keys_rotate_then_retire(tmp_path: Path, database_url: str) -> None:
    data_dir = tmp_path / "data"
    run_cli(
        "chat", data_dir=data_dir, database_url=database_url, stdin="\n".join(ENGLISH_MOVE) + "\n"
    )
    early = run_cli("keys", "retire", "1", data_dir=data_dir, database_url=database_url)
    assert early.returncode == 1
    rotated = run_cli("keys", "rotate", data_dir=data_dir, database_url=database_url)
    assert rotated.returncode == 0, rotated.stderr
    assert "version 2: 1 data keys rewrapped" in rotated.stdout
    retired = run_cli("keys", "retire", "1", data_dir=data_dir, database_url=database_url)
    assert retired.returncode == 0, retired.stderr
    assert list(json.loads((data_dir / "master.keys").read_text())["keys"]) == ["2"]
    # The conversation goes on under the new key: STATUS finds the witness and the case.
    status = run_cli("chat", data_dir=data_dir, database_url=database_url, stdin="STATUS\n")
    assert "Traceback" not in status.stderr
    assert "waiting" in status.stdout.lower() or "queue" in status.stdout.lower()


async def test_purge_runs_with_the_retention_setting(tmp_path: Path, database_url: str) -> None:
    done = run_cli(
        "purge", data_dir=tmp_path / "data", database_url=database_url, INTAKE_RETENTION_DAYS="30"
    )
    assert done.returncode == 0, done.stderr
    assert "retention 30 days: 0 witnesses erased" in done.stdout


def test_a_bad_setting_is_named_not_echoed(tmp_path: Path) -> None:
    done = run_cli(
        "migrate",
        data_dir=tmp_path / "data",
        database_url="sqlite:///x.db",
        INTAKE_RETENTION_DAYS="soon",
        INTAKE_MASTER_KEY="hunter2-secret",
    )
    assert done.returncode == 2
    assert "INTAKE_RETENTION_DAYS" in done.stderr.upper() or "RETENTION_DAYS" in done.stderr.upper()
    assert "hunter2" not in done.stderr + done.stdout


def test_serve_starts_with_no_settings_and_answers_health(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    env = {k: v for k, v in cli_env(data_dir, "").items() if k != "INTAKE_DATABASE_URL"}
    env.pop("INTAKE_DATA_DIR")
    health, returncode, output = serve_once(tmp_path, env, "/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    # uvicorn finishes its graceful shutdown, then re-raises SIGTERM as it should.
    assert returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    assert "SMS channel: off" in output and "Telegram channel: off" in output
    assert "no caseworker account yet" in output
    assert "python -m bot caseworker add NAME --supervisor" in output
    assert (data_dir / "intake.db").exists()
    assert oct((data_dir / "master.keys").stat().st_mode & 0o777) == "0o600"
    assert "Traceback" not in output
