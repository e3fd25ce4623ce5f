"""Caseworker accounts and a signed-in API client for tests of the caseworker API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from storage.caseworkers import add_caseworker
from storage.db import Database

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
