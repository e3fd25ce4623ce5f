"""Run the real command line in a child process, as an operator or a trainer would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def cli_env(data_dir: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("INTAKE_", "TWILIO_", "TELEGRAM_"))
    }
    env.update(INTAKE_DATA_DIR=str(data_dir), INTAKE_DATABASE_URL=database_url, **extra)
    return env


def run_cli(
    *args: str, data_dir: Path, database_url: str, stdin: str = "", **extra: str
) -> subprocess.CompletedProcess[str]:
    # cwd is the data dir's parent so no developer .env file is read.
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=cli_env(data_dir, database_url, **extra),
        cwd=data_dir.parent,
        timeout=120,
        check=False,
    )
