"""`python -m bot chat`: a whole intake typed at a terminal, through the real engine and storage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from storage.db import Database
from storage.models import Case
from tests.cli_runner import cli_env, run_cli
from tests.intake_scripts import ENGLISH_MOVE, REFERENCE, SPANISH_SUPPORT


async def cases_in(database_url: str) -> list[Case]:
    db = Database(database_url)
    try:
        async with db.read() as session:
            return list((await session.execute(select(Case))).scalars())
    finally:
        await db.dispose()


async def test_english_intake_in_the_terminal(tmp_path: Path, database_url: str) -> None:
    done = run_cli(
        "chat",
        data_dir=tmp_path / "data",
        database_url=database_url,
        stdin="\n".join(ENGLISH_MOVE) + "\n",
    )
    assert done.returncode == 0, done.stderr
    reference = REFERENCE.search(done.stdout)
    assert reference is not None, done.stdout
    [case] = await cases_in(database_url)
    assert (case.reference, case.queue, case.priority) == (reference.group(0), "relocation", "high")
    assert "Traceback" not in done.stderr


async def test_spanish_intake_and_status_in_the_terminal(tmp_path: Path, database_url: str) -> None:
    data_dir = tmp_path / "data"
    done = run_cli(
        "chat",
        "--as",
        "maria",
        data_dir=data_dir,
        database_url=database_url,
        stdin="\n".join(SPANISH_SUPPORT) + "\n",
    )
    assert done.returncode == 0, done.stderr
    [case] = await cases_in(database_url)
    assert (case.queue, case.priority, case.language) == ("support", "urgent", "es")
    # The same pretend witness comes back later and asks for the status of the request.
    later = run_cli(
        "chat", "--as", "maria", data_dir=data_dir, database_url=database_url, stdin="ESTADO\n"
    )
    assert case.reference in later.stdout
    # Someone else starts from the beginning.
    other = run_cli(
        "chat", "--as", "luis", data_dir=data_dir, database_url=database_url, stdin="hi\n"
    )
    assert "911" in other.stdout


async def test_end_of_input_leaves_cleanly(tmp_path: Path, database_url: str) -> None:
    done = run_cli("chat", data_dir=tmp_path / "data", database_url=database_url, stdin="")
    assert done.returncode == 0
    assert "Traceback" not in done.stderr


async def test_several_terminals_at_once_share_one_database(
    tmp_path: Path, database_url: str
) -> None:
    # Separate processes writing the same database at the same time: on SQLite this is
    # the busy-timeout path, and no intake may fail with "database is locked".
    data_dir = tmp_path / "data"
    run_cli("migrate", data_dir=data_dir, database_url=database_url)
    env = cli_env(data_dir, database_url)
    children = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "bot", "chat", "--as", f"witness-{i}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        for i in range(4)
    ]
    outputs = [child.communicate("\n".join(ENGLISH_MOVE) + "\n", timeout=120) for child in children]
    for child, (_, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err
        assert "locked" not in err
    cases = await cases_in(database_url)
    assert len(cases) == 4
    assert {REFERENCE.search(out).group(0) for out, _ in outputs} == {c.reference for c in cases}
