"""The service under test: `python -m bot serve` on a fresh database, pinned to its own core.

Each suite gets its own server process and its own empty database (a new SQLite file,
or a new PostgreSQL database created and dropped the way the tests do it), so no suite
measures what another left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import asyncpg
from sqlalchemy import Select
from sqlalchemy.engine import make_url

from bench.forms import ACCOUNT_SID, SERVICE_NUMBER, Twilio
from bench.pinning import SERVER_CORE, pinned
from bench.provider import AcceptingProvider
from storage.db import Database
from storage.keyring import encode_key, generate_key

PUBLIC_URL = "https://intake.example.org"
START_SECONDS = 90


class ServiceFailed(Exception):
    """The service did not start, or a command run beside it failed."""


@dataclass(frozen=True)
class Engine:
    """A database the service runs on; `server_url` names the PostgreSQL server to use."""

    kind: str
    label: str
    server_url: str | None = None


SQLITE = Engine("sqlite", "SQLite (synchronous=FULL)")


def postgres(server_url: str) -> Engine:
    return Engine("postgresql", "PostgreSQL", server_url)


def _asyncpg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def _admin(server_url: str, sql: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(server_url))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@contextlib.contextmanager
def fresh_database(engine: Engine, folder: Path) -> Iterator[str]:
    """The URL of a new, empty database of this engine, removed afterwards."""
    if engine.server_url is None:
        yield f"sqlite:///{folder / 'intake.db'}"
        return
    name = f"wi_bench_{secrets.token_hex(6)}"
    asyncio.run(_admin(engine.server_url, f'CREATE DATABASE "{name}"'))
    try:
        yield _asyncpg_dsn(engine.server_url, name)
    finally:
        asyncio.run(_admin(engine.server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def settled(read: Callable[[], int], *, interval: float = 0.25, limit: float = 15.0) -> int:
    """`read()` once it stops changing: requests wrk left in flight have been answered."""
    last = read()
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        time.sleep(interval)
        now = read()
        if now == last:
            return now
        last = now
    return last


def count_rows(database_url: str, query: Select[int]) -> int:
    """A count read straight from the service's database, beside the running service."""

    async def read() -> int:
        db = Database(database_url)
        try:
            async with db.read() as session:
                return int(await session.scalar(query) or 0)
        finally:
            await db.dispose()

    return asyncio.run(read())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def new_twilio() -> Twilio:
    return Twilio(auth_token=secrets.token_hex(16), public_url=PUBLIC_URL)


def memory_kib(pid: int, field: str) -> int:
    """A /proc/PID/status figure in KiB: VmRSS (now) or VmHWM (the peak so far)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise ServiceFailed(f"/proc/{pid}/status has no {field}")


class Service:
    """One `serve` process on one database, with the settings every suite shares."""

    def __init__(self, *, database_url: str, folder: Path, twilio: Twilio) -> None:
        self.database_url = database_url
        self.folder = folder
        self.twilio = twilio
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = folder / "server.log"
        self.master_key = encode_key(generate_key())
        self._process: subprocess.Popen[bytes] | None = None
        # Replies ride in the TwiML; what the outbox owes (claim notices, staff alerts,
        # deletes of Twilio's copies) is accepted by a stub of Twilio's API.
        self.provider = AcceptingProvider()

    def env(self) -> dict[str, str]:
        # The developer's own settings (and .env: the cwd is the bench folder) stay out.
        kept = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("INTAKE_", "TWILIO_", "TELEGRAM_"))
        }
        return {
            **kept,
            "INTAKE_DATABASE_URL": self.database_url,
            "INTAKE_DATA_DIR": str(self.folder / "data"),
            "INTAKE_MASTER_KEY": self.master_key,
            "INTAKE_PUBLIC_URL": self.twilio.public_url,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": self.twilio.auth_token,
            "TWILIO_PHONE_NUMBER": SERVICE_NUMBER,
            "TWILIO_API_BASE": self.provider.url,
            # Simulated witnesses answer faster than anyone types: without this, answers
            # seconds apart would be read as one answer in several texts, not as the next.
            "INTAKE_BURST_SECONDS": "0",
        }

    def command(self, *args: str, stdin: str | None = None) -> str:
        """Run `python -m bot ARGS` against this service's database and settings."""
        done = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "bot", *args],
            env=self.env(),
            cwd=self.folder,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise ServiceFailed(f"bot {args[0]} failed: {done.stderr.strip()[-2000:]}")
        return done.stdout

    def start(self) -> None:
        self.provider.__enter__()
        (self.folder / "data").mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                pinned(
                    [sys.executable, "-m", "bot", "serve", "--port", str(self.port)], SERVER_CORE
                ),
                env=self.env(),
                cwd=self.folder,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServiceFailed(f"the service exited at start:\n{self.log_tail()}")
            with contextlib.suppress(OSError):
                status, _ = self.get("/healthz")
                if status == 200:
                    return
            time.sleep(0.1)
        raise ServiceFailed(f"the service did not answer within {START_SECONDS} s")

    @property
    def process(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise ServiceFailed("the service is not running")
        return self._process

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_kib(self) -> int:
        return memory_kib(self.pid, "VmRSS")

    def peak_rss_kib(self) -> int:
        return memory_kib(self.pid, "VmHWM")

    def cpu_seconds(self) -> float:
        """User and system CPU time the service has used so far, all its threads together."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        # utime and stime: fields 14 and 15 of stat(5), 12 and 13 after the name.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def get(self, path: str) -> tuple[int, bytes]:
        return self.request("GET", path)

    def request(
        self, method: str, path: str, body: object = None, token: str | None = None
    ) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        call = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)  # noqa: S310 - our own local server
        try:
            with urllib.request.urlopen(call, timeout=30) as response:  # noqa: S310 - local server
                return int(response.status), bytes(response.read())
        except urllib.error.HTTPError as error:
            return int(error.code), bytes(error.read())

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        try:
            if self._process is None or self._process.poll() is not None:
                return
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        finally:
            self.provider.__exit__(None, None, None)

    def __enter__(self) -> Service:
        self.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.stop()
