"""A pretend phone texting the live service the way Twilio delivers it: signed forms."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx

from handlers.twilio_sms import SMS_PATH, STATUS_PATH
from tests.fakes.twilio import FakeTwilio, inbound_sms_form, new_sid
from tests.live import LiveService, running_service

WITNESS = "+15550142299"


def twiml_messages(body: str) -> list[str]:
    root = ElementTree.fromstring(body)  # noqa: S314 - our own service's response
    assert root.tag == "Response"
    return [message.text or "" for message in root.iter("Message")]


@dataclass
class Phone:
    """One witness's phone: each text is a signed Twilio webhook to the live service."""

    live: LiveService
    twilio: FakeTwilio
    client: httpx.AsyncClient
    number: str = WITNESS
    sids: list[str] = field(default_factory=list)
    reply_sids: list[str] = field(default_factory=list)

    async def post(
        self, path: str, form: dict[str, str], *, signature: str | None = None
    ) -> httpx.Response:
        url = self.live.url(path)
        headers = {"X-Twilio-Signature": signature or self.twilio.sign(url, form)}
        return await self.client.post(url, data=form, headers=headers)

    async def text(self, body: str, *, sid: str | None = None, **form: Any) -> list[str]:
        sid = sid or new_sid("SM")
        self.sids.append(sid)
        fields = inbound_sms_form(
            from_=self.number,
            to=self.twilio.phone_number,
            body=body,
            account_sid=self.twilio.account_sid,
            message_sid=sid,
            **form,
        )
        response = await self.post(SMS_PATH, fields)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/xml")
        replies = twiml_messages(response.text)
        # What Twilio keeps: the inbound message, and a record per <Message> replied.
        self.twilio.received(fields)
        self.reply_sids.extend(self.twilio.replied(self.number, len(replies)))
        return replies

    async def walk(self, script: list[str]) -> list[str]:
        replies: list[str] = []
        for body in script:
            replies = await self.text(body)
        return replies

    async def status(self, sid: str, status: str, *, error_code: int | None = None) -> int:
        form = self.twilio.status_callback_form(sid, status, error_code=error_code)
        return (await self.post(STATUS_PATH, form)).status_code


@asynccontextmanager
async def sms_service(
    tmp_path: Path, database_url: str, **settings: Any
) -> AsyncIterator[tuple[LiveService, FakeTwilio, Phone]]:
    async with (
        FakeTwilio() as twilio,
        running_service(
            data_dir=tmp_path / "data",
            database_url=database_url,
            twilio_account_sid=twilio.account_sid,
            twilio_auth_token=twilio.auth_token,
            twilio_phone_number=twilio.phone_number,
            twilio_api_base=twilio.base_url,
            public_url=True,
            **settings,
        ) as live,
        httpx.AsyncClient(timeout=30) as client,
    ):
        yield live, twilio, Phone(live=live, twilio=twilio, client=client)
