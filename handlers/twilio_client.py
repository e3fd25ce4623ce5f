"""Sending SMS through Twilio's REST API with twilio's own async client.

twilio has no setting for the API host: every Messages call is built from the `api`
domain's public `base_url`, so TWILIO_API_BASE is applied by assigning it (its default is
Twilio's own host, which leaves the client unchanged).
"""

from __future__ import annotations

import base64
import logging
from contextvars import ContextVar
from typing import Any

from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from bot.intake.model import Option, Prompt
from bot.outbox import Outgoing, RetryLater, Sent, Undeliverable

log = logging.getLogger(__name__)

# Twilio's error code for "the recipient has opted out (replied STOP)".
OPTED_OUT_CODE = 21610
SEND_TIMEOUT = 15.0

_retry_after: ContextVar[float | None] = ContextVar("twilio_retry_after", default=None)

# twilio's client logs each request line and response headers at INFO: useless noise
# at best, and never to be trusted near witness data. Only its warnings pass.
_quiet = logging.getLogger("handlers.twilio_client.http")
_quiet.setLevel(logging.WARNING)


class TwilioHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """twilio's async HTTP client, with two changes.

    It sends the Basic credentials as a header it builds itself (aiohttp deprecates the
    BasicAuth object twilio 9.13 passes, twilio/twilio-python#931), and it notes a 429's
    Retry-After, which twilio's exception does not carry, for the sender to honour.
    """

    def __init__(self) -> None:
        super().__init__(timeout=SEND_TIMEOUT, logger=_quiet)

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode("latin-1")).decode("ascii")
            headers = {**(headers or {}), "Authorization": f"Basic {token}"}
        response: Response = await super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=None,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )
        _retry_after.set(
            _seconds(response.headers.get("Retry-After") if response.headers else None)
        )
        return response


def _seconds(value: Any) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


class TwilioSender:
    """The outbox's SMS channel."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str,
        api_base: str,
        status_callback: str | None,
    ) -> None:
        self._http = TwilioHttpClient()
        self._client = Client(account_sid, auth_token, http_client=self._http)
        self._client.api.base_url = api_base.rstrip("/")
        self._from = from_number
        self._status_callback = status_callback

    async def send(self, message: Outgoing) -> Sent:
        _retry_after.set(None)
        extra = {"status_callback": self._status_callback} if self._status_callback else {}
        try:
            created = await self._client.messages.create_async(
                to=message.address, from_=self._from, body=_sms_text(message), **extra
            )
        except TwilioRestException as exc:
            raise _classify(exc) from None
        except (OSError, TimeoutError) as exc:
            raise RetryLater(f"network: {type(exc).__name__}") from None
        return Sent(provider_id=str(created.sid))

    async def erase_chat(self, *, address: str, handles: list[str]) -> None:
        """SMS cannot be unsent; the farewell tells the witness to delete the thread."""

    async def edit_keyboard(
        self,
        *,
        address: str,
        handle: str,
        options: tuple[Option, ...],
        prompt: Prompt | None,
    ) -> None:
        """SMS has no buttons: the options are numbered in the text, which cannot change."""

    async def close(self) -> None:
        await self._http.close()


def _sms_text(message: Outgoing) -> str:
    # The engine's texts already list the numbered options for SMS.
    return message.text


def _classify(exc: TwilioRestException) -> Exception:
    status = int(exc.status or 0)
    code = int(exc.code) if exc.code else None
    if status == 429 or status >= 500:
        return RetryLater(f"twilio {status}", after=_retry_after.get())
    if code == OPTED_OUT_CODE:
        return Undeliverable("twilio 21610 opted out", opted_out=True)
    return Undeliverable(f"twilio {status} {code or ''}".strip())
