"""Setting a case's columns and answers directly, as the conversation engine would leave them."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select

from storage import witnesses
from storage.cases import open_answers
from storage.crypto import Vault
from storage.db import Database
from storage.models import Case, Caseworker

UNSET: Any = object()


async def change_answers(db: Database, vault: Vault, reference: str, **answers: str) -> None:
    """Change some of a case's intake answers (sealed again, as the desk seals them)."""
    async with db.write() as session:
        case = (await session.execute(select(Case).where(Case.reference == reference))).scalar_one()
        key = await witnesses.data_key_for(session, vault=vault, witness_id=case.witness_id)
        merged = {**(open_answers(case, key) or {}), **answers}
        case.answers_sealed = key.seal(
            json.dumps(merged, ensure_ascii=False), table="cases", field="answers", row=case.id
        )


async def set_case(
    db: Database,
    reference: str,
    *,
    triage: str = UNSET,
    priority: str = UNSET,
    priority_rank: int = UNSET,
    due_at: datetime | None = UNSET,
    escalated_at: datetime | None = UNSET,
    created_at: datetime = UNSET,
    previous_holder_username: str | None = UNSET,
) -> None:
    """Set columns of a case the way triage, targets and reopening set them."""
    async with db.write() as session:
        case = (await session.execute(select(Case).where(Case.reference == reference))).scalar_one()
        for name, value in (
            ("triage", triage),
            ("priority", priority),
            ("priority_rank", priority_rank),
            ("due_at", due_at),
            ("escalated_at", escalated_at),
            ("created_at", created_at),
        ):
            if value is not UNSET:
                setattr(case, name, value)
        if previous_holder_username is not UNSET:
            holder = None
            if previous_holder_username is not None:
                query = select(Caseworker).where(Caseworker.username == previous_holder_username)
                holder = (await session.execute(query)).scalar_one()
            case.previous_holder = holder.id if holder else None
