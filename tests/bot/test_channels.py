"""A channel plugs in with one declaration: a made-up fourth one carries a whole intake."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.app import CHANNELS
from bot.channels import ChannelPlugin, Channels, ChannelTraits, Plugged, UnknownChannel, Wiring
from bot.desk import InboundMessage
from bot.intake import messages
from bot.intake.model import Option, Prompt
from bot.outbox import Outgoing, Sent
from storage.models import Case, Witness
from storage.states import CaseStatus
from tests.intake_scripts import ENGLISH_LOCKS, REFERENCE
from tests.live import eventually, running_service


class Loft:
    """The carrier pigeons' side: what the service sent to whom."""

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    async def send(self, message: Outgoing) -> Sent:
        self.sent.append(message)
        return Sent(provider_id=f"bird-{len(self.sent)}")

    async def erase_chat(self, *, address: str, handles: list[str]) -> None:
        return None

    async def forget(self, provider_id: str) -> None:
        return None

    async def edit_keyboard(
        self, *, address: str, handle: str, options: tuple[Option, ...], prompt: Prompt | None
    ) -> None:
        return None


def pigeon(loft: Loft) -> ChannelPlugin:
    """The whole of a new channel: its traits, its inbound route and its sender."""

    def plug(wiring: Wiring) -> Plugged:
        async def inbound(request: Request) -> Response:
            form = await request.json()
            await wiring.desk.receive(
                InboundMessage(channel="pigeon", address=str(form["ring"]), text=str(form["note"]))
            )
            return Response(status_code=204)

        return Plugged(sender=loft, routes=[Route("/webhooks/pigeon", inbound, methods=["POST"])])

    return ChannelPlugin(
        name="pigeon",
        describe=lambda _: ChannelTraits(name="pigeon", help=messages.HELP_TERMINAL),
        plug=plug,
    )


async def test_a_fourth_channel_runs_an_intake_through_the_outbox(
    tmp_path: Path, database_url: str
) -> None:
    loft = Loft()
    async with (
        running_service(
            data_dir=tmp_path / "data",
            database_url=database_url,
            plugins=(*CHANNELS, pigeon(loft)),
        ) as live,
        httpx.AsyncClient(base_url=live.base_url) as client,
    ):
        for note in ENGLISH_LOCKS:
            before = len(loft.sent)
            posted = await client.post("/webhooks/pigeon", json={"ring": "R-17", "note": note})
            assert posted.status_code == 204
            # Each answer waits for its reply, as a witness would.
            await eventually(lambda: len(loft.sent) > before, what=f"a reply to {note!r}")  # noqa: B023
        found = await eventually(
            lambda: [m for m in loft.sent if REFERENCE.search(m.text)], what="the reference"
        )
        assert {m.channel for m in loft.sent} == {"pigeon"}
        assert {m.address for m in loft.sent} == {"R-17"}
        async with live.services.db.read() as session:
            witness = (await session.execute(select(Witness))).scalar_one()
            case = (await session.execute(select(Case))).scalar_one()
        assert witness.channel == "pigeon" and case.status == CaseStatus.WAITING
        reference = REFERENCE.search(found[-1].text)
        assert reference is not None and case.reference == reference.group()


def test_two_channels_cannot_share_a_name() -> None:
    traits = ChannelTraits(name="sms", help=messages.HELP_SMS)
    with pytest.raises(ValueError, match="sms"):
        Channels([traits, traits])


def test_an_unregistered_channel_is_named_in_the_error() -> None:
    with pytest.raises(UnknownChannel, match="pigeon"):
        Channels([ChannelTraits(name="sms", help=messages.HELP_SMS)])["pigeon"]
