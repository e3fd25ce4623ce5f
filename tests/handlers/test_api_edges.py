"""The caseworker API's edges: browsable docs off by default, nothing cached, the 400 for
an unreadable body documented, and `since` read strictly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from handlers.limits import MAX_BODY_BYTES
from tests.handlers.api_helpers import make_caseworker, sign_in
from tests.live import running_service


async def test_browsable_docs_are_served_only_when_enabled(
    tmp_path: Path, database_url: str
) -> None:
    async with (
        running_service(data_dir=tmp_path / "data", database_url=database_url) as live,
        httpx.AsyncClient() as client,
    ):
        for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
            assert (await client.get(live.url(path))).status_code == 404, path
        # The schema is part of the interface: always there.
        assert (await client.get(live.url("/openapi.json"))).status_code == 200
    async with (
        running_service(
            data_dir=tmp_path / "data", database_url=database_url, api_docs=True
        ) as live,
        httpx.AsyncClient() as client,
    ):
        for path in ("/docs", "/redoc"):
            response = await client.get(live.url(path))
            assert response.status_code == 200, path
            assert "text/html" in response.headers["content-type"]


async def test_every_api_answer_says_no_store(tmp_path: Path, database_url: str) -> None:
    async with (
        running_service(data_dir=tmp_path / "data", database_url=database_url) as live,
        httpx.AsyncClient() as client,
    ):
        await make_caseworker(live.services.db, "ana", supervisor=True)
        ana = await sign_in(client, live.base_url, "ana")
        answers = {
            "signed in": await client.post(
                live.url("/api/v1/login"),
                json={"username": "ana", "password": "correct horse battery staple"},
            ),
            "wrong password": await client.post(
                live.url("/api/v1/login"), json={"username": "ana", "password": "no"}
            ),
            "no token": await client.get(live.url("/api/v1/queues")),
            "queues": await ana.get("/api/v1/queues"),
            "not found": await ana.get("/api/v1/cases/ABCD-EFGH"),
            "invalid": await ana.get("/api/v1/cases", status="lost"),
            "no route": await ana.get("/api/v1/nowhere"),
            "too large": await client.post(
                live.url("/api/v1/login"),
                content=b"x" * (MAX_BODY_BYTES + 1),
                headers={"Content-Type": "application/json"},
            ),
            "schema": await client.get(live.url("/openapi.json")),
            "health": await client.get(live.url("/healthz")),
            "signed out": await ana.post("/api/v1/logout"),
        }
        statuses = {name: response.status_code for name, response in answers.items()}
        assert statuses == {
            "signed in": 200,
            "wrong password": 401,
            "no token": 401,
            "queues": 200,
            "not found": 404,
            "invalid": 422,
            "no route": 404,
            "too large": 413,
            "schema": 200,
            "health": 200,
            "signed out": 204,
        }
        for name, response in answers.items():
            assert response.headers.get("cache-control") == "no-store", name
        # The webhooks and the console keep their own headers.
        livez = await client.get(live.url("/livez"))
        assert "cache-control" not in livez.headers


async def test_openapi_documents_the_400_for_an_unreadable_body(
    tmp_path: Path, database_url: str
) -> None:
    async with (
        running_service(data_dir=tmp_path / "data", database_url=database_url) as live,
        httpx.AsyncClient() as client,
    ):
        spec = (await client.get(live.url("/openapi.json"))).json()
        with_body = 0
        for path, methods in spec["paths"].items():
            if not path.startswith("/api/v1/"):
                continue
            for method, operation in methods.items():
                responses: dict[str, Any] = operation["responses"]
                if "requestBody" in operation:
                    with_body += 1
                    schema = responses["400"]["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (path, method)
                else:
                    assert "400" not in responses, (path, method)
        assert with_body >= 6
        # And it is what the service answers to a body that is not UTF-8.
        response = await client.post(
            live.url("/api/v1/login"),
            content=b'{"username": "\xff\xfe", "password": "x"}',
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 400
        assert set(response.json()) == {"detail"}


async def test_audit_since_takes_only_a_date_and_time(tmp_path: Path, database_url: str) -> None:
    async with (
        running_service(data_dir=tmp_path / "data", database_url=database_url) as live,
        httpx.AsyncClient() as client,
    ):
        await make_caseworker(live.services.db, "boss", supervisor=True)
        boss = await sign_in(client, live.base_url, "boss")
        for since in ("0.5", "1700000000", "-1", "1e9", "2024-01-01", "today", "inf"):
            response = await boss.get("/api/v1/audit", since=since)
            assert response.status_code == 422, (since, response.text)
        for since in ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00+02:00", "2024-01-01 00:00Z"):
            response = await boss.get("/api/v1/audit", since=since)
            assert response.status_code == 200, (since, response.text)
        later = await boss.get("/api/v1/audit", since="2999-01-01T00:00:00Z")
        assert later.json() == []
