"""Keeping a witness's chat buttons in step with the question the conversation is on.

A keyboard answers one question (its step and the version it was asked at). Once the
conversation has moved on, the keyboard is closed: its buttons are dropped from storage
and removed from the chat, so only the open question shows buttons. While a multiple
choice stays open, its keyboard is re-drawn whenever the witness's ticks change.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.intake.model import Prompt
from bot.outbox import decode_options, encode_options
from storage import messages
from storage.crypto import DataKey
from storage.states import OutboxKind


async def settle(
    session: AsyncSession,
    *,
    key: DataKey,
    witness_id: uuid.UUID,
    channel: str,
    current: Prompt | None,
    now: datetime,
) -> None:
    """Close every keyboard not bound to `current`; re-draw its own if the ticks changed.

    Runs in the transaction of the witness's turn, after its replies are stored: the
    edits are owed through the outbox behind them, and a reply already carrying the
    current question is left as it is.
    """
    for message in await messages.with_keyboards(session, witness_id=witness_id):
        shown = decode_options(messages.open_options(message, key))
        if shown.prompt is None:
            # Stored before buttons were bound to their question; the engine refuses
            # their presses, and nothing here can tell which question they belonged to.
            continue
        if current is None or not _same_question(shown.prompt, current):
            messages.set_options(message, key, None)
        elif shown.prompt.multi and set(shown.prompt.selected) != set(current.selected):
            ticked = replace(shown.prompt, selected=current.selected)
            messages.set_options(message, key, encode_options(shown.options, ticked))
        else:
            continue
        await messages.enqueue(
            session, message=message, channel=channel, now=now, kind=OutboxKind.KEYBOARD
        )


def _same_question(shown: Prompt, current: Prompt) -> bool:
    return shown.step == current.step and shown.version == current.version
