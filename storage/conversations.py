"""The engine's per-witness state, sealed as JSON under the witness's data key."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto import DataKey
from storage.models import Conversation, utcnow


async def load_state(
    session: AsyncSession, *, key: DataKey, witness_id: uuid.UUID
) -> tuple[Conversation | None, dict[str, Any] | None]:
    """The stored row (hold on to it to save without reading again) and the opened state."""
    row = await session.get(Conversation, witness_id)
    return row, opened(row, key=key)


def opened(row: Conversation | None, *, key: DataKey) -> dict[str, Any] | None:
    """The state a stored row holds; None for no row."""
    if row is None:
        return None
    state: dict[str, Any] = json.loads(
        key.open(row.state_sealed, table="conversations", field="state", row=row.witness_id)
    )
    return state


def save_state(
    session: AsyncSession,
    *,
    key: DataKey,
    witness_id: uuid.UUID,
    state: dict[str, Any],
    row: Conversation | None,
) -> None:
    sealed = key.seal(
        json.dumps(state, ensure_ascii=False, separators=(",", ":")),
        table="conversations",
        field="state",
        row=witness_id,
    )
    if row is None:
        session.add(Conversation(witness_id=witness_id, state_sealed=sealed))
    else:
        row.state_sealed = sealed
        row.updated_at = utcnow()
