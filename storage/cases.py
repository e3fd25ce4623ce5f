"""Cases: opened from a confirmed intake, ordered in their queue by priority, then age."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto import DataKey
from storage.models import Case, utcnow

PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2}


class ReferenceTaken(Exception):
    """The random case reference collided with an existing one; draw another."""


async def open_case(
    session: AsyncSession,
    *,
    key: DataKey,
    reference: str,
    queue: str,
    priority: str,
    language: str,
    needs: list[str],
    answers: dict[str, str],
) -> Case:
    case_id = uuid.uuid4()
    case = Case(
        id=case_id,
        reference=reference,
        witness_id=key.owner,
        queue=queue,
        priority=priority,
        priority_rank=PRIORITY_RANK[priority],
        status="waiting",
        language=language,
        needs=",".join(needs),
        answers_sealed=key.seal(
            json.dumps(answers, ensure_ascii=False), table="cases", field="answers", row=case_id
        ),
    )
    try:
        async with session.begin_nested():
            session.add(case)
            await session.flush()
    except IntegrityError as exc:
        raise ReferenceTaken(reference) from exc
    return case


def open_answers(case: Case, key: DataKey) -> dict[str, str] | None:
    if case.answers_sealed is None:
        return None
    answers: dict[str, str] = json.loads(
        key.open(case.answers_sealed, table="cases", field="answers", row=case.id)
    )
    return answers


async def by_reference(session: AsyncSession, *, reference: str) -> Case | None:
    return (
        await session.execute(select(Case).where(Case.reference == reference))
    ).scalar_one_or_none()


async def note_witness_activity(session: AsyncSession, *, case: Case) -> None:
    case.witness_active_at = utcnow()
