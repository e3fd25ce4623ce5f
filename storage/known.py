"""What a batch of inbound messages needs to read, fetched in five queries for the batch.

The desk answers many witnesses' messages in one transaction (bot/desk.py). Read one by
one, each message costs five round trips before the engine runs; here the whole batch
reads the provider ids already seen, the witnesses, their data keys, conversations and
cases with one IN query each. The rows belong to the session like any others, so what
the desk changes on them is written at the batch's single flush, and on PostgreSQL the
witnesses and then their cases are locked, in id order.

A `Known` answers only for the messages it was gathered for; anything else it is asked
is a programming error, not a miss.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto import Vault
from storage.messages import PROVIDER_PURPOSE
from storage.models import Case, Conversation, DataKeyRow, Message, Witness
from storage.witnesses import LOOKUP_PURPOSE, lookup_value


@dataclass(frozen=True)
class Wanted:
    """One inbound message's keys: who wrote, and the provider's id for it if any."""

    channel: str
    address: str
    provider_id: str | None


@dataclass(frozen=True)
class Known:
    """The rows a batch of messages reads, by the keys the desk looks them up with."""

    # Keyed hashes, under every master key held, of each message's sender and provider id.
    lookups: dict[tuple[str, str], list[bytes]]
    providers: dict[tuple[str, str], list[bytes]]
    seen: set[bytes]
    witnesses: dict[bytes, Witness]
    conversations: dict[uuid.UUID, Conversation]
    data_keys: dict[uuid.UUID, DataKeyRow]
    cases: dict[tuple[uuid.UUID, str], Case]

    def maybe_seen(self, *, channel: str, provider_id: str) -> bool:
        """Whether a message under this provider id may already be stored."""
        return any(key in self.seen for key in self.providers[(channel, provider_id)])

    def witness(self, *, channel: str, address: str) -> Witness | None:
        for key in self.lookups[(channel, address)]:
            if key in self.witnesses:
                return self.witnesses[key]
        return None

    def conversation(self, witness_id: uuid.UUID) -> Conversation | None:
        return self.conversations.get(witness_id)

    def data_key(self, witness_id: uuid.UUID) -> DataKeyRow | None:
        return self.data_keys.get(witness_id)

    def case(self, *, witness_id: uuid.UUID, reference: str) -> Case | None:
        return self.cases.get((witness_id, reference))


async def gather(session: AsyncSession, *, vault: Vault, wanted: Sequence[Wanted]) -> Known:
    """Read, for every message in `wanted`, what the desk would read for it one by one."""
    lookups: dict[tuple[str, str], list[bytes]] = {}
    providers: dict[tuple[str, str], list[bytes]] = {}
    for item in wanted:
        sender = lookup_value(item.channel, item.address)
        lookups[(item.channel, item.address)] = list(
            vault.pseudonym_candidates(sender, purpose=LOOKUP_PURPOSE).values()
        )
        if item.provider_id is not None:
            provider = f"{item.channel}\x00{item.provider_id}"
            providers[(item.channel, item.provider_id)] = list(
                vault.pseudonym_candidates(provider, purpose=PROVIDER_PURPOSE).values()
            )
    lookup_keys = [key for keys in lookups.values() for key in keys]
    found = (
        select(Witness)
        .where(Witness.lookup_key.in_(lookup_keys))
        .order_by(Witness.id)
        .with_for_update()
    )
    witnesses = {
        witness.lookup_key: witness
        for witness in (await session.execute(found)).scalars()
        if witness.lookup_key is not None
    }
    # After the witnesses' locks: a delivery another process stored while this batch
    # waited for them is seen here, not found at the flush as a duplicate key.
    seen: set[bytes] = set()
    provider_keys = [key for keys in providers.values() for key in keys]
    if provider_keys:
        repeats = select(Message.provider_key).where(Message.provider_key.in_(provider_keys))
        seen = {key for key in (await session.execute(repeats)).scalars() if key is not None}
    ids = [witness.id for witness in witnesses.values()]
    conversations: dict[uuid.UUID, Conversation] = {}
    data_keys: dict[uuid.UUID, DataKeyRow] = {}
    cases: dict[tuple[uuid.UUID, str], Case] = {}
    if ids:
        # Held here, not only in the session: its identity map keeps no row alive.
        keys = await session.execute(select(DataKeyRow).where(DataKeyRow.witness_id.in_(ids)))
        data_keys = {row.witness_id: row for row in keys.scalars()}
        rows = await session.execute(select(Conversation).where(Conversation.witness_id.in_(ids)))
        conversations = {row.witness_id: row for row in rows.scalars()}
        # Locked too (after the witnesses, in id order): a caseworker's change to a case
        # waits for the batch, and the batch reads the case as it is, never a status a
        # close has just changed (a message to a closed case must reopen it).
        theirs = (
            select(Case)
            .where(Case.witness_id.in_(ids), Case.reference.is_not(None))
            .order_by(Case.id)
            .with_for_update()
        )
        for case in (await session.execute(theirs)).scalars():
            if case.witness_id is not None and case.reference is not None:
                cases[(case.witness_id, case.reference)] = case
    return Known(lookups, providers, seen, witnesses, conversations, data_keys, cases)
