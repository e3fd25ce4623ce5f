"""Local fake servers for the network edge: a Twilio REST API and a Telegram Bot API.

Each fake is a real HTTP server on 127.0.0.1 (a free port picked by the OS), started and
stopped inside the test's event loop, and driven through the real twilio and aiogram
clients:

    from tests.fakes.telegram import FakeTelegram
    from tests.fakes.twilio import FakeTwilio

    async with FakeTwilio() as twilio, FakeTelegram() as telegram:
        ...  # TWILIO_API_BASE=twilio.base_url, TELEGRAM_API_BASE=telegram.base_url

`LocalServer` is the lifecycle both share.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from aiohttp import web


class LocalServer:
    """An aiohttp app served on 127.0.0.1 for the length of an `async with` block."""

    # Pending requests get this long to finish when the server stops; long polls are
    # woken before that, so stopping never waits for a client's timeout.
    shutdown_timeout = 1.0

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    def build_app(self) -> web.Application:
        """The routes this fake serves."""
        raise NotImplementedError

    async def before_stop(self) -> None:
        """Release anything that would keep a request open (e.g. wake long polls)."""

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError(f"{type(self).__name__} is not running; use `async with`")
        return self._port

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`, without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError(f"{type(self).__name__} is already running")
        runner = web.AppRunner(
            self.build_app(), access_log=None, shutdown_timeout=self.shutdown_timeout
        )
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        host_port = runner.addresses[0]
        self._runner, self._port = runner, int(host_port[1])

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        await self.before_stop()
        await runner.cleanup()
        self._port = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
