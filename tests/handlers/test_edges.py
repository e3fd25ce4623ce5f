"""The server facing the internet: huge bodies, slow clients, crowds, and clients that leave.

Each test starts the real app on a real uvicorn server (`handlers.web.WebServer`, as
`serve` runs it) and speaks raw HTTP/1.1 over a socket, the way a misbehaving client
would. Client reads are bounded so that a hang fails the test instead of stalling it;
read deadlines run on a clock the test moves by hand.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.app import build_services, build_web_app
from bot.settings import Settings
from handlers.limits import MAX_BODY_BYTES
from handlers.web import ConnectionLimits, WebServer
from tests.clock import ManualClock
from tests.conftest import make_settings
from tests.fakes.telegram import DEFAULT_TOKEN
from tests.fakes.twilio import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, DEFAULT_PHONE_NUMBER
from tests.live import eventually

# Long enough for a loaded machine to answer; a hang is caught, never waited out.
ANSWER_WITHIN = 20.0
READ_SECONDS = 10.0


@dataclass
class Edge:
    server: WebServer
    port: int
    clock: ManualClock

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        """Send a whole request in one write; the status and body of the answer."""
        reader, writer = await self.connect()
        try:
            writer.write(request)
            await writer.drain()
            return await answer(reader)
        finally:
            writer.close()

    async def waiting(self, count: int) -> None:
        """Until `count` connections wait for (the rest of) a request."""
        await eventually(lambda: len(self.server.deadlines) == count, what=f"{count} waiting")


async def answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), ANSWER_WITHIN)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if line)
    length = int(headers.get("content-length", "0"))
    body = await asyncio.wait_for(reader.readexactly(length), ANSWER_WITHIN)
    return status, body


async def closed(reader: asyncio.StreamReader) -> bool:
    """The server closed the connection (the read ends), within a bounded wait."""
    try:
        rest = await asyncio.wait_for(reader.read(), ANSWER_WITHIN)
    except ConnectionResetError:
        return True
    return rest == b"" or rest.startswith(b"HTTP/1.1 ")


@asynccontextmanager
async def edge(
    tmp_path: Path, database_url: str, *, max_connections: int = 500
) -> AsyncIterator[Edge]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(
        tmp_path / "data",
        database_url,
        public_url=base,
        twilio_account_sid=DEFAULT_ACCOUNT_SID,
        twilio_auth_token=DEFAULT_AUTH_TOKEN,
        twilio_phone_number=DEFAULT_PHONE_NUMBER,
        # Nothing is sent in these tests: both providers point at a closed port.
        twilio_api_base="http://127.0.0.1:9",
        telegram_bot_token=DEFAULT_TOKEN,
        telegram_api_base="http://127.0.0.1:9",
        telegram_webhook_secret="edge-secret",
    )
    services = build_services(settings)
    clock = ManualClock()
    try:
        await services.start()
        server = WebServer(
            build_web_app(services),
            limits=ConnectionLimits(
                read_seconds=READ_SECONDS, keep_alive_seconds=5, max_connections=max_connections
            ),
            clock=lambda: clock().timestamp(),
            lifespan="on",
            # A request stuck for good must fail its test, not hang the shutdown after it.
            timeout_graceful_shutdown=5,
        )
        task = asyncio.create_task(server.serve(sockets=[sock]))
        await eventually(lambda: server.started or task.done(), what="the server to start")
        if task.done():
            task.result()
        try:
            yield Edge(server=server, port=port, clock=clock)
        finally:
            server.stop()
            await task
    finally:
        sock.close()
        await services.close()


def chunked(method: str, path: str, body: bytes, content_type: str) -> bytes:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    return head + f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"


def sized(method: str, path: str, body: bytes, content_type: str) -> bytes:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    return head + body


# Every kind of route: webhooks, the API (FastAPI), the console, health, one that does
# not exist, and ones that never read a body.
ROUTES = [
    ("POST", "/webhooks/twilio/sms", "application/x-www-form-urlencoded"),
    ("POST", "/webhooks/twilio/status", "application/x-www-form-urlencoded"),
    ("POST", "/webhooks/telegram", "application/json"),
    ("POST", "/api/v1/login", "application/json"),
    ("POST", "/api/v1/cases/ABCD-EFGH/messages", "application/json"),
    ("POST", "/console/login", "application/x-www-form-urlencoded"),
    ("GET", "/healthz", "text/plain"),
    ("GET", "/livez", "text/plain"),
    ("POST", "/nowhere", "text/plain"),
]


async def test_bodies_over_the_limit_get_413_on_every_route_chunked_or_sized(
    tmp_path: Path, database_url: str
) -> None:
    huge = b"x" * (MAX_BODY_BYTES + 1)
    async with edge(tmp_path, database_url) as server:
        for method, path, content_type in ROUTES:
            for frame in (chunked, sized):
                # The whole request in one write: nothing more will come after it.
                status, body = await server.exchange(frame(method, path, huge, content_type))
                assert (status, body) == (413, b'{"detail":"request body too large"}'), (
                    method,
                    path,
                    frame.__name__,
                )


async def test_a_chunked_body_sent_piece_by_piece_gets_413(
    tmp_path: Path, database_url: str
) -> None:
    async with edge(tmp_path, database_url) as server:
        reader, writer = await server.connect()
        writer.write(
            b"POST /api/v1/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        status = None
        for _ in range(2 * MAX_BODY_BYTES // 8192 + 1):
            writer.write(b"2000\r\n" + b"x" * 8192 + b"\r\n")
            try:
                await writer.drain()
            except ConnectionResetError:
                break
        writer.write(b"0\r\n\r\n")
        status, _ = await answer(reader)
        writer.close()
        assert status == 413


async def test_a_huge_body_announced_with_expect_is_refused_before_it_is_sent(
    tmp_path: Path, database_url: str
) -> None:
    async with edge(tmp_path, database_url) as server:
        reader, writer = await server.connect()
        writer.write(
            b"POST /webhooks/telegram HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 10000000\r\n"
            b"Expect: 100-continue\r\n\r\n"
        )
        # No "100 Continue": the body is refused without being asked for.
        assert await answer(reader) == (413, b'{"detail":"request body too large"}')
        writer.close()


async def test_a_chunked_body_under_the_limit_reaches_the_route(
    tmp_path: Path, database_url: str
) -> None:
    async with edge(tmp_path, database_url) as server:
        login = b'{"username": "nobody", "password": "wrong"}'
        status, body = await server.exchange(
            chunked("POST", "/api/v1/login", login, "application/json")
        )
        assert (status, body) == (401, b'{"detail":"wrong username or password"}')


async def test_slow_clients_are_cut_off_at_the_read_deadline(
    tmp_path: Path, database_url: str
) -> None:
    async with edge(tmp_path, database_url) as server:
        silent = [await server.connect() for _ in range(10)]
        partial = [await server.connect() for _ in range(10)]
        for _reader, writer in partial:
            writer.write(b"POST /webhooks/twilio/sms HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        # One sends its head a byte at a time: being busy does not move the deadline.
        dribbling = await server.connect()
        dribbling[1].write(b"G")
        await server.waiting(21)

        server.clock.advance(READ_SECONDS - 1)
        assert server.server.deadlines.sweep() == 0
        dribbling[1].write(b"E")
        # One that opened late and finishes in time is answered.
        on_time = await server.connect()
        await server.waiting(22)
        server.clock.advance(2)
        assert server.server.deadlines.sweep() == 21
        for reader, _writer in [*silent, *partial, dribbling]:
            assert await closed(reader)

        on_time[1].write(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert await answer(on_time[0]) == (200, b"ok")
        for _reader, writer in [*silent, *partial, dribbling, on_time]:
            writer.close()


async def test_a_request_being_answered_is_not_cut_off(tmp_path: Path, database_url: str) -> None:
    async with edge(tmp_path, database_url) as server:
        reader, writer = await server.connect()
        writer.write(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert await answer(reader) == (200, b"ok")
        # Kept alive, the connection now has a deadline for its next request.
        await server.waiting(1)
        writer.write(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert await answer(reader) == (200, b"ok")
        server.clock.advance(READ_SECONDS + 1)
        assert server.server.deadlines.sweep() == 1
        assert await closed(reader)
        writer.close()


async def test_past_the_connection_limit_new_requests_get_503(
    tmp_path: Path, database_url: str
) -> None:
    async with edge(tmp_path, database_url, max_connections=3) as server:
        idle = [await server.connect() for _ in range(2)]
        await server.waiting(2)
        status, _ = await server.exchange(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert status == 503
        for _reader, writer in idle:
            writer.close()
        await server.waiting(0)
        await eventually(lambda: not server.server.server.server_state.connections)
        status, _ = await server.exchange(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert status == 200


@pytest.mark.parametrize("framing", ["sized", "chunked"])
async def test_a_client_that_leaves_mid_body_is_noted_at_debug_level(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture, framing: str
) -> None:
    caplog.set_level(logging.DEBUG)
    async with edge(tmp_path, database_url) as server:
        _reader, writer = await server.connect()
        length = "Content-Length: 1000" if framing == "sized" else "Transfer-Encoding: chunked"
        writer.write(
            b"POST /webhooks/twilio/sms HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: c2ln\r\n"
            + length.encode()
            + b"\r\n\r\n"
            + (b"Body=hi" if framing == "sized" else b"7\r\nBody=hi\r\n")
        )
        await writer.drain()
        await server.waiting(1)
        writer.close()

        def noted() -> bool:
            return any(
                record.name == "handlers.limits" and "went away" in record.getMessage()
                for record in caplog.records
            )

        await eventually(noted, what="the disconnect to be noted")
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert all(record.exc_info is None for record in caplog.records)


def test_the_limits_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_REQUEST_TIMEOUT_SECONDS", "4.5")
    monkeypatch.setenv("INTAKE_KEEP_ALIVE_SECONDS", "3")
    monkeypatch.setenv("INTAKE_MAX_CONNECTIONS", "40")
    monkeypatch.setenv("INTAKE_API_DOCS", "true")
    settings = Settings(_env_file=None)
    assert (
        settings.request_timeout_seconds,
        settings.keep_alive_seconds,
        settings.max_connections,
        settings.api_docs,
    ) == (4.5, 3, 40, True)
    monkeypatch.delenv("INTAKE_API_DOCS")
    defaults = Settings(_env_file=None)
    assert defaults.api_docs is False
    monkeypatch.setenv("INTAKE_MAX_CONNECTIONS", "0")
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None)
    assert "INTAKE_MAX_CONNECTIONS" in str(refused.value)
