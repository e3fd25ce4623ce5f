"""Run the real command line in a child process, as an operator or a trainer would."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import httpx


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_once(cwd: Path, env: dict[str, str], path: str) -> tuple[httpx.Response, int, str]:
    """Start `serve`, ask `path` once it listens, stop it: the answer, exit code and output.

    The server is another process on the real clock: its start is polled for, briefly.
    """
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bot", "serve", "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        answer = None
        for _ in range(200):
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert answer is not None, "serve never listened"
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    return answer, server.returncode, output


def spawn_serve(
    data_dir: Path, database_url: str, *, log: Path, **extra: str
) -> tuple[subprocess.Popen[bytes], int]:
    """`python -m bot serve` in a child process on a free port, its output into `log`."""
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "bot", "serve", "--port", str(port)],
            env=cli_env(data_dir, database_url, **extra),
            cwd=data_dir.parent,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return process, port


async def wait_healthy(
    client: httpx.AsyncClient,
    url: str,
    *,
    process: subprocess.Popen[bytes],
    log: Path,
    within: float = 60.0,
) -> None:
    """Poll `url`/healthz until it answers 200; fail with the log's end if the process dies."""
    deadline = time.monotonic() + within
    while True:
        if process.poll() is not None:
            raise AssertionError(f"the server at {url} exited:\n{log.read_text()[-3000:]}")
        try:
            if (await client.get(url + "/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"the server at {url} did not become healthy")
        await asyncio.sleep(0.1)


def stop_all(
    processes: Iterable[subprocess.Popen[bytes]],
    *,
    how: signal.Signals = signal.SIGTERM,
    within: float = 20.0,
) -> None:
    """Ask every child still running to stop, all at once; kill any still there after `within`."""
    running = [process for process in processes if process.poll() is None]
    for process in running:
        process.send_signal(how)
    for process in running:
        try:
            process.wait(timeout=within)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
