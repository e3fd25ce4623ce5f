"""Relay: a message from the service (a caseworker's reply) owed to a witness's own channel."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage import messages, witnesses
from storage.crypto import KeyUnavailable, Vault
from storage.models import Case
from storage.states import Delivery, Direction


class WitnessUnreachable(Exception):
    """The witness opted out or erased their data: nothing may be sent to them."""


async def owe_reply(
    session: AsyncSession, *, vault: Vault, case: Case, text: str, now: datetime
) -> uuid.UUID:
    """Add the text to the case's transcript and owe it to the witness, in this transaction."""
    witness = (
        await witnesses.locked(session, witness_id=case.witness_id) if case.witness_id else None
    )
    if witness is None or witness.erased_at or witness.opted_out:
        raise WitnessUnreachable(case.reference)
    try:
        key = await witnesses.data_key_for(session, vault=vault, witness_id=witness.id)
    except KeyUnavailable as exc:
        raise WitnessUnreachable(case.reference) from exc
    message = await messages.add_message(
        session,
        key=key,
        direction=Direction.OUT,
        text=text,
        case_id=case.id,
        delivery=Delivery.QUEUED,
    )
    await messages.enqueue(session, message=message, channel=witness.channel, now=now)
    return message.id
