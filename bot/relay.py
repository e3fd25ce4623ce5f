"""Relay: a message from the service (a caseworker's reply) owed to a witness's own channel."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from storage import messages, witnesses
from storage.crypto import KeyUnavailable, Vault
from storage.db import Database
from storage.models import Case, Witness
from storage.states import Delivery, Direction


class WitnessUnreachable(Exception):
    """The witness opted out or erased their data: nothing may be sent to them."""


async def owe_reply(session: AsyncSession, *, vault: Vault, case: Case, text: str) -> uuid.UUID:
    """Add the text to the case's transcript and owe it to the witness, in this transaction."""
    witness = (
        await session.get(Witness, case.witness_id, with_for_update=True)
        if case.witness_id
        else None
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
    await messages.enqueue(session, message=message, channel=witness.channel)
    return message.id


async def relay_to_witness(
    db: Database, *, vault: Vault, case_id: uuid.UUID, text: str
) -> uuid.UUID:
    """Owe the witness of this case a message, in a transaction of its own."""
    async with db.write() as session:
        case = await session.get(Case, case_id)
        if case is None:
            raise WitnessUnreachable(str(case_id))
        return await owe_reply(session, vault=vault, case=case, text=text)
