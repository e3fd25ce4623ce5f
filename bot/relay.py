"""Relay: a message from the service (a caseworker's reply) owed to a witness's own channel."""

from __future__ import annotations

import uuid

from storage import messages, witnesses
from storage.crypto import KeyUnavailable, Vault
from storage.db import Database
from storage.models import Case, Witness


class WitnessUnreachable(Exception):
    """The witness opted out or erased their data: nothing may be sent to them."""


async def relay_to_witness(
    db: Database, *, vault: Vault, case_id: uuid.UUID, text: str
) -> uuid.UUID:
    """Store the text in the case's transcript and owe it to the witness through the outbox."""
    async with db.write() as session:
        case = await session.get(Case, case_id)
        witness = await session.get(Witness, case.witness_id) if case else None
        if case is None or witness is None or witness.erased_at or witness.opted_out:
            raise WitnessUnreachable(str(case_id))
        try:
            key = await witnesses.data_key_for(session, vault=vault, witness_id=witness.id)
        except KeyUnavailable as exc:
            raise WitnessUnreachable(str(case_id)) from exc
        message = await messages.add_message(
            session, key=key, direction="out", text=text, case_id=case.id, delivery="queued"
        )
        await messages.enqueue(session, message=message, channel=witness.channel)
        return message.id
