"""A claim costs the same few statements however many cases wait, and its detail is the read's."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from bot.accounts import Actor, NotSignedIn
from bot.app import Services
from bot.casework import CaseView
from storage import caseworkers
from storage.models import Case, Caseworker, OutboxItem, utcnow
from tests.bot.test_case_list_queries import counted
from tests.handlers.api_helpers import make_caseworker, seed_cases
from tests.live import eventually, waiting_on_a_lock

# Checking the bearer token: one statement. Claiming, with the witness told through the
# outbox and the case's detail: the claim, its witness and data key, the audit row, the
# witness's row lock for the notice, the notice, its place in the witness's order, the
# outbox item, and the transcript.
TOKEN_STATEMENTS = 1
CLAIM_STATEMENTS = 8


def sent(statements: list[str]) -> list[str]:
    """The statements that do work: SQLite's explicit BEGINs are left out (PostgreSQL's
    driver begins without one)."""
    return [s for s in statements if not s.lstrip().upper().startswith("BEGIN")]


async def signed_in(services: Services, username: str) -> str:
    await make_caseworker(services.db, username, queues=("relocation",), languages=("en",))
    session = await services.accounts.sign_in(
        username=username, password="correct horse battery staple", client="127.0.0.1"
    )
    return session.token


async def claim_counted(services: Services, token: str) -> tuple[list[str], list[str]]:
    """The statements of one token check and of one claim, which must hand over a case."""
    with counted(services.db) as checking:
        actor = await services.accounts.actor_for(token)
    with counted(services.db) as claiming:
        view = await services.casework.claim(actor, "relocation")
    assert view is not None and view.assigned_to == actor.username
    return sent(checking), sent(claiming)


async def outbox_items(services: Services) -> int:
    async with services.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxItem)) or 0)


async def test_a_claim_costs_the_same_few_statements_with_3_or_300_cases_waiting(
    services: Services,
) -> None:
    token = await signed_in(services, "cora")
    await seed_cases(services.db, services.vault, count=3)
    few = await claim_counted(services, token)

    await seed_cases(services.db, services.vault, count=300)
    many = await claim_counted(services, token)

    for checking, claiming in (few, many):
        assert len(checking) <= TOKEN_STATEMENTS, checking
        assert len(claiming) <= CLAIM_STATEMENTS, claiming
    assert [len(s) for s in few] == [len(s) for s in many], many
    # Both claims owed their witness the notice, in the claim's own transaction.
    assert await outbox_items(services) == 2


def unread(view: CaseView | None) -> CaseView:
    """The detail without the holder's last look, which the read itself moves."""
    assert view is not None
    return replace(view, touched_at=None)


async def test_a_claims_detail_is_what_reading_the_case_shows(services: Services) -> None:
    token = await signed_in(services, "cora")
    actor = await services.accounts.actor_for(token)
    [plain] = await seed_cases(services.db, services.vault, created_at=utcnow() - timedelta(1))
    claimed = await services.casework.claim(actor, "relocation")
    assert claimed is not None and claimed.ref == plain
    assert claimed.alias.startswith("W-") and claimed.messages
    assert unread(claimed) == unread(await services.casework.read(actor, plain))


async def test_a_reopened_escalated_claims_detail_names_its_earlier_holder(
    services: Services,
) -> None:
    token = await signed_in(services, "cora")
    actor = await services.accounts.actor_for(token)
    await make_caseworker(services.db, "bob", queues=("relocation",), languages=("en",))
    [ref] = await seed_cases(services.db, services.vault)
    async with services.db.write() as session:
        bob = await caseworkers.by_username(session, username="bob")
        assert bob is not None
        await session.execute(
            update(Case)
            .where(Case.reference == ref)
            .values(previous_holder=bob.id, escalated_at=utcnow(), due_at=utcnow())
        )
    claimed = await services.casework.claim(actor, "relocation")
    assert claimed is not None
    assert (claimed.previous_holder, claimed.escalated) == ("bob", True)
    assert unread(claimed) == unread(await services.casework.read(actor, ref))


async def test_a_token_signs_in_its_caseworker_until_they_are_disabled(
    services: Services,
) -> None:
    token = await signed_in(services, "cora")
    async with services.db.read() as session:
        account = await caseworkers.by_username(session, username="cora")
    assert account is not None
    assert await services.accounts.actor_for(token) == Actor.of(account)
    async with services.db.write() as session:
        await session.execute(
            update(Caseworker).where(Caseworker.id == account.id).values(disabled_at=utcnow())
        )
    with pytest.raises(NotSignedIn):
        await services.accounts.actor_for(token)


@pytest.mark.postgres
@pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)
async def test_a_case_an_intake_holds_is_waited_for_not_reported_missing(
    services: Services,
) -> None:
    # The only waiting case is locked by another transaction (an intake writing to it):
    # the claim waits for it and hands it over, instead of answering that none waits.
    token = await signed_in(services, "cora")
    (seeded,) = await seed_cases(services.db, services.vault, count=1)
    actor = await services.accounts.actor_for(token)
    async with services.db.write() as intake:
        await intake.execute(select(Case.id).where(Case.reference == seeded).with_for_update())
        claiming = asyncio.ensure_future(services.casework.claim(actor, "relocation"))
        await eventually(lambda: waiting_on_a_lock(services.db), what="the claim to wait")
        assert not claiming.done()
    view = await claiming
    assert view is not None and view.ref == seeded
