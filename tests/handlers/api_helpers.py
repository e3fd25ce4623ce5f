"""Caseworker accounts and a signed-in API client for tests of the caseworker API."""

from __future__ import annotations

import itertools
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update

from bot.app import Services
from bot.reference import new_reference
from storage import audit, cases, witnesses
from storage.caseworkers import add_caseworker, by_username
from storage.crypto import Vault
from storage.db import Database
from storage.models import AuditEvent, Case, CaseworkerSession, utcnow
from storage.sessions import token_hash

PASSWORD = "correct horse battery staple"


async def make_caseworker(
    db: Database,
    username: str,
    *,
    queues: tuple[str, ...] = ("relocation", "home-security", "support", "general"),
    languages: tuple[str, ...] = ("en", "es"),
    supervisor: bool = False,
) -> None:
    async with db.write() as session:
        await add_caseworker(
            session,
            username=username,
            password=PASSWORD,
            queues=list(queues),
            languages=list(languages),
            supervisor=supervisor,
        )


@dataclass
class Caseworker:
    """One signed-in caseworker talking to the live API."""

    client: httpx.AsyncClient
    base_url: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(self.base_url + path, headers=self.headers, params=params)

    async def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await self.client.post(self.base_url + path, headers=self.headers, json=body)


async def sign_in(client: httpx.AsyncClient, base_url: str, username: str) -> Caseworker:
    response = await client.post(
        base_url + "/api/v1/login", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return Caseworker(client=client, base_url=base_url, token=response.json()["token"])


async def sign_in_token(client: httpx.AsyncClient, base_url: str, username: str) -> str:
    return (await sign_in(client, base_url, username)).token


_addresses = itertools.count(secrets.randbelow(10**5) * 100)


def new_number() -> str:
    """A witness phone number no other witness in this test run has."""
    return f"+1555{next(_addresses) % 10**7:07d}"


async def seed_cases(
    db: Database,
    vault: Vault,
    *,
    count: int = 1,
    queue: str = "relocation",
    language: str = "en",
    priority: str = "normal",
    created_at: datetime | None = None,
) -> list[str]:
    """Waiting cases opened the way the desk opens them (sealed answers, one witness each)."""
    references = []
    async with db.write() as session:
        for _ in range(count):
            _witness, key = await witnesses.create_witness(
                session, vault=vault, channel="sms", address=new_number()
            )
            case = await cases.open_case(
                session,
                key=key,
                reference=new_reference(),
                queue=queue,
                priority=priority,
                language=language,
                needs=["move_now"],
                answers={"safe_now": "yes", "needs": "move_now", "contact": "text_here"},
            )
            if created_at is not None:
                case.created_at = created_at
            await audit.record(session, actor_kind="witness", action="case.opened", case_id=case.id)
            references.append(case.reference)
    return references


async def expire_token(db: Database, token: str) -> None:
    """Move a sign-in's expiry into the past, as if its lifetime had run out."""
    async with db.write() as session:
        await session.execute(
            update(CaseworkerSession)
            .where(CaseworkerSession.token_hash == token_hash(token))
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )


async def case_row(db: Database, reference: str) -> Case:
    async with db.read() as session:
        query = select(Case).where(Case.reference == reference)
        return (await session.execute(query)).scalar_one()


async def audit_rows(db: Database, *, action: str, reference: str | None = None) -> int:
    """How many audit rows of this action exist (for this case, if given)."""
    query = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    if reference is not None:
        query = query.join(Case, Case.id == AuditEvent.case_id).where(Case.reference == reference)
    async with db.read() as session:
        return int(await session.scalar(query) or 0)


async def reply_from_caseworker(services: Services, case_id: uuid.UUID, text: str) -> uuid.UUID:
    """A caseworker's reply to a case's witness, through the audited gate the API uses
    (a supervisor, "relay", made on first use, may answer any open case)."""
    async with services.db.write() as session:
        if await by_username(session, username="relay") is None:
            await add_caseworker(
                session,
                username="relay",
                password=PASSWORD,
                queues=["general"],
                languages=["en", "es"],
                supervisor=True,
            )
        reference = (await session.get(Case, case_id)).reference
    signed_in = await services.accounts.sign_in(
        username="relay", password=PASSWORD, client="127.0.0.1"
    )
    actor = await services.accounts.actor_for(signed_in.token)
    return await services.casework.reply(actor, reference, text)
