"""Twilio's REST API through twilio's own async client: sending SMS, configuring the number.

twilio has no setting for the API host: every Messages call is built from the `api`
domain's public `base_url`, so TWILIO_API_BASE is applied by assigning it (its default is
Twilio's own host, which leaves the client unchanged).
"""

from __future__ import annotations

import base64
import logging
from contextvars import ContextVar
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from bot.intake.model import Option, Prompt
from bot.outbox import Outgoing, RetryLater, Sent, Undeliverable

log = logging.getLogger(__name__)

# Twilio's error code for "the recipient has opted out (replied STOP)".
OPTED_OUT_CODE = 21610
# "Cannot delete this resource before it is complete": a message record in its first
# minute, or still in flight.
NOT_COMPLETE_CODE = 20009
PAGE_SIZE = 200
SEND_TIMEOUT = 15.0

_retry_after: ContextVar[float | None] = ContextVar("twilio_retry_after", default=None)

# twilio's client logs each request line and response headers at INFO: useless noise
# at best, and never to be trusted near witness data. Only its warnings pass.
_quiet = logging.getLogger("handlers.twilio_client.http")


class TwilioHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """twilio's async HTTP client, with two changes.

    It sends the Basic credentials as a header it builds itself (aiohttp deprecates the
    BasicAuth object twilio 9.13 passes, twilio/twilio-python#931), and it notes a 429's
    Retry-After, which twilio's exception does not carry, for the sender to honour.
    """

    def __init__(self) -> None:
        _quiet.setLevel(logging.WARNING)  # when a client is made, never on import
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
        """Delete every record Twilio keeps of messages to or from this number.

        SMS cannot be unsent from the phone (the farewell tells the witness to delete the
        thread), but Twilio's copies can go. A record still in flight refuses (20009):
        the whole item is retried, and records already deleted are simply not listed.
        """
        try:
            found = [
                *await self._client.messages.list_async(to=address, page_size=PAGE_SIZE),
                *await self._client.messages.list_async(from_=address, page_size=PAGE_SIZE),
            ]
        except TwilioRestException as exc:
            raise _classify(exc) from None
        except (OSError, TimeoutError) as exc:
            raise RetryLater(f"network: {type(exc).__name__}") from None
        waiting: RetryLater | None = None
        for sid in sorted({*handles, *(str(record.sid) for record in found)}):
            try:
                await self.forget(sid)
            except RetryLater as exc:
                waiting = exc  # the others still go now
        if waiting is not None:
            raise waiting

    async def forget(self, provider_id: str) -> None:
        """Delete Twilio's record of one message (its media go with it)."""
        _retry_after.set(None)
        try:
            await self._client.messages(provider_id).delete_async()
        except TwilioRestException as exc:
            if int(exc.status or 0) == HTTPStatus.NOT_FOUND:
                return  # already gone
            if exc.code and int(exc.code) == NOT_COMPLETE_CODE:
                raise RetryLater("twilio 20009 not complete yet", after=60.0) from None
            raise _classify(exc) from None
        except (OSError, TimeoutError) as exc:
            raise RetryLater(f"network: {type(exc).__name__}") from None

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


class NumberNotFound(Exception):
    """The Twilio account has no phone number equal to TWILIO_PHONE_NUMBER."""


class TwilioRefused(Exception):
    """Twilio answered a call to configure the number with an error."""

    def __init__(self, status: int, code: int | None) -> None:
        super().__init__(f"twilio {status} {code or ''}".strip())
        self.status = status
        self.code = code


class TwilioUnreachable(Exception):
    """No answer from Twilio at TWILIO_API_BASE."""


@dataclass(frozen=True)
class NumberWebhooks:
    """Where Twilio is to send what arrives at the service's number."""

    sms_url: str
    status_callback: str
    fallback_url: str | None = None


async def configure_number(
    *, account_sid: str, auth_token: str, api_base: str, phone_number: str, webhooks: NumberWebhooks
) -> None:
    """Point the number's SMS webhooks at the service (the IncomingPhoneNumbers resource).

    An SMS application on the number would be used instead of these URLs, so it is removed.
    """
    http = TwilioHttpClient()
    try:
        client = Client(account_sid, auth_token, http_client=http)
        client.api.base_url = api_base.rstrip("/")
        numbers = client.incoming_phone_numbers
        found = await numbers.list_async(phone_number=phone_number, limit=1)
        if not found:
            raise NumberNotFound
        changes = {
            "sms_url": webhooks.sms_url,
            "sms_method": "POST",
            "sms_application_sid": "",
            "status_callback": webhooks.status_callback,
            "status_callback_method": "POST",
        }
        if webhooks.fallback_url:
            changes |= {"sms_fallback_url": webhooks.fallback_url, "sms_fallback_method": "POST"}
        await numbers(found[0].sid).update_async(**changes)
    except TwilioRestException as exc:
        raise TwilioRefused(int(exc.status or 0), int(exc.code) if exc.code else None) from None
    except TwilioException as exc:
        # A list whose page is refused says so with the bare response, not a code.
        answer = next((arg for arg in exc.args if isinstance(arg, Response)), None)
        raise TwilioRefused(answer.status_code if answer else 0, None) from None
    except (OSError, TimeoutError, aiohttp.ClientError) as exc:
        raise TwilioUnreachable(type(exc).__name__) from None
    finally:
        await http.close()
