"""Who may call which caseworker API route: the whole matrix, as a table.

Callers:
  no token    no Authorization header at all
  malformed   the holder's live token, but sent as `Authorization: Basic <token>`
  expired     the holder's token after its expiry passed
  revoked     the holder's token after POST /api/v1/logout
  other       a signed-in caseworker who works only `general` and does not hold the case
  holder      the caseworker holding the case (works `relocation`)
  supervisor  a supervisor (works every queue) who does not hold the case

The case is a `relocation` case held by `holder`; claims are made in `relocation`.

  route                            no token malformed expired revoked other holder supervisor
  POST /api/v1/logout                   401       401     401     401   204    204        204
  GET  /api/v1/queues                   401       401     401     401   200    200        200
  POST /api/v1/queues/{name}/claim      401       401     401     401   403    200        200
  GET  /api/v1/cases                    401       401     401     401   200    200        200
  GET  /api/v1/cases/{ref}              401       401     401     401   404    200        200
  POST /api/v1/cases/{ref}/messages     401       401     401     401   404    202        202
  POST /api/v1/cases/{ref}/release      401       401     401     401   404    200        200
  POST /api/v1/cases/{ref}/close        401       401     401     401   404    200        200
  POST /api/v1/cases/{ref}/transfer     401       401     401     401   404    200        200
  POST /api/v1/cases/{ref}/phone        401       401     401     401   404    200        409
  POST /api/v1/cases/{ref}/priority     401       401     401     401   404    200        200
  GET  /api/v1/audit                    401       401     401     401   403    403        200

Every 401 carries `WWW-Authenticate: Bearer`. A caseworker who does not hold a case gets
the very answer a case that does not exist gets (404, never 403): the API never says
whether a reference exists. 403 is only for claiming in a queue the caller does not work
and for non-supervisors reading the audit trail. The witness's number is for the holder
alone: a supervisor overseeing the case gets 409. A refused call changes nothing.

The case's witness asked to be called, so the holder may ask for the number.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.conftest import _require_postgres, drop_database, fresh_database_url
from tests.handlers.api_helpers import (
    PASSWORD,
    case_row,
    expire_token,
    make_caseworker,
    seed_cases,
    sign_in_token,
)
from tests.handlers.casework_helpers import change_answers
from tests.handlers.sms_helpers import sms_service
from tests.live import LiveService

# The live service is shared by every test of a database: they all run on its event loop.
on_module_loop = pytest.mark.asyncio(loop_scope="module")

CALLERS = ("no token", "malformed", "expired", "revoked", "other", "holder", "supervisor")

# (method, path, JSON body); {ref} is the case the holder holds.
ROUTES: dict[str, tuple[str, str, dict[str, str] | None]] = {
    "logout": ("POST", "/api/v1/logout", None),
    "queues": ("GET", "/api/v1/queues", None),
    "claim": ("POST", "/api/v1/queues/{name}/claim", None),
    "cases": ("GET", "/api/v1/cases", None),
    "case": ("GET", "/api/v1/cases/{ref}", None),
    "reply": ("POST", "/api/v1/cases/{ref}/messages", {"text": "This is your caseworker."}),
    "release": ("POST", "/api/v1/cases/{ref}/release", None),
    "close": ("POST", "/api/v1/cases/{ref}/close", {"outcome": "referred to a partner"}),
    "transfer": ("POST", "/api/v1/cases/{ref}/transfer", {"queue": "general"}),
    "phone": ("POST", "/api/v1/cases/{ref}/phone", {"reason": "to arrange the move by phone"}),
    "priority": ("POST", "/api/v1/cases/{ref}/priority", {"priority": "normal"}),
    "audit": ("GET", "/api/v1/audit", None),
}

# The table of the module docstring, caller by caller in the order of CALLERS.
EXPECTED: dict[str, dict[str, int]] = {
    route: dict(zip(CALLERS, codes, strict=True))
    for route, codes in {
        "logout": (401, 401, 401, 401, 204, 204, 204),
        "queues": (401, 401, 401, 401, 200, 200, 200),
        "claim": (401, 401, 401, 401, 403, 200, 200),
        "cases": (401, 401, 401, 401, 200, 200, 200),
        "case": (401, 401, 401, 401, 404, 200, 200),
        "reply": (401, 401, 401, 401, 404, 202, 202),
        "release": (401, 401, 401, 401, 404, 200, 200),
        "close": (401, 401, 401, 401, 404, 200, 200),
        "transfer": (401, 401, 401, 401, 404, 200, 200),
        "phone": (401, 401, 401, 401, 404, 200, 409),
        "priority": (401, 401, 401, 401, 404, 200, 200),
        "audit": (401, 401, 401, 401, 403, 403, 200),
    }.items()
}

MISSING_CASE = "ZZZZ-ZZZZ"


@dataclass
class World:
    """One live service per database, shared by the whole matrix: three accounts."""

    live: LiveService
    client: httpx.AsyncClient
    holder_token: str
    tokens: dict[str, str] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.live.url(path)

    async def claimed_case(self) -> str:
        """A relocation case held by `holder` (a new one is seeded so one always waits)."""
        await seed_cases(self.live.services.db, self.live.services.vault)
        response = await self.client.post(
            self.url("/api/v1/queues/relocation/claim"),
            headers={"Authorization": f"Bearer {self.holder_token}"},
        )
        assert response.status_code == 200, response.text
        reference: str = response.json()["ref"]
        services = self.live.services
        await change_answers(services.db, services.vault, reference, contact="call")
        return reference

    async def headers_for(self, caller: str, *, fresh: bool) -> dict[str, str]:
        """Authorization headers for a caller; expired and revoked tokens are always new."""
        if caller == "no token":
            return {}
        username = {"other": "other", "supervisor": "boss"}.get(caller, "holder")
        if fresh or caller in ("expired", "revoked"):
            token = await sign_in_token(self.client, self.live.base_url, username)
        else:
            if username not in self.tokens:
                self.tokens[username] = await sign_in_token(
                    self.client, self.live.base_url, username
                )
            token = self.tokens[username]
        if caller == "malformed":
            return {"Authorization": f"Basic {token}"}
        if caller == "expired":
            await expire_token(self.live.services.db, token)
        if caller == "revoked":
            out = await self.client.post(
                self.url("/api/v1/logout"), headers={"Authorization": f"Bearer {token}"}
            )
            assert out.status_code == 204
        return {"Authorization": f"Bearer {token}"}


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["sqlite", "postgresql"])
async def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    kind: str = request.param
    if kind == "postgresql":
        _require_postgres()
    tmp_path = tmp_path_factory.mktemp(f"authz-{kind}")
    url = await fresh_database_url(kind, tmp_path)
    try:
        async with sms_service(tmp_path, url) as (live, _twilio, phone):
            db = live.services.db
            await make_caseworker(db, "holder", queues=("relocation",))
            await make_caseworker(db, "other", queues=("general",))
            await make_caseworker(db, "boss", supervisor=True)
            token = await sign_in_token(phone.client, live.base_url, "holder")
            yield World(live=live, client=phone.client, holder_token=token)
    finally:
        await drop_database(url)


def test_the_docstring_table_is_the_expectation_table() -> None:
    rows = {}
    for line in (__doc__ or "").splitlines():
        found = re.match(r"\s+(GET|POST)\s+(/api/v1/\S+)((?:\s+\d{3}){7})\s*$", line)
        if found:
            rows[found[1], found[2]] = [int(code) for code in found[3].split()]
    expected = {
        (method, path): [EXPECTED[route][caller] for caller in CALLERS]
        for route, (method, path, _body) in ROUTES.items()
    }
    assert rows == expected


@on_module_loop
@pytest.mark.parametrize(
    ("route", "caller"),
    [(route, caller) for route in EXPECTED for caller in EXPECTED[route]],
    ids=lambda value: value.replace(" ", "-"),
)
async def test_route_answers_caller_as_documented(world: World, route: str, caller: str) -> None:
    expected = EXPECTED[route][caller]
    method, template, body = ROUTES[route]
    db = world.live.services.db
    reference = MISSING_CASE
    if "{ref}" in template:
        reference = await world.claimed_case()
    else:
        await seed_cases(db, world.live.services.vault)
    before = await case_row(db, reference) if reference != MISSING_CASE else None
    # Logging out revokes the token used, so that route gets tokens of its own.
    headers = await world.headers_for(caller, fresh=route == "logout")
    path = template.format(ref=reference, name="relocation")

    response = await world.client.request(method, world.url(path), headers=headers, json=body)

    assert response.status_code == expected, response.text
    if expected == 401:
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.json() == {"detail": "sign in first"}
    if expected == 404:
        missing = await world.client.request(
            method, world.url(template.format(ref=MISSING_CASE)), headers=headers, json=body
        )
        assert (missing.status_code, missing.json()) == (404, response.json())
    if route == "claim" and expected == 200:
        claimed = response.json()
        assert claimed["status"] == "claimed"
        assert claimed["assigned_to"] == {"holder": "holder", "supervisor": "boss"}[caller]
    if before is not None:
        after = await case_row(db, reference)
        if expected >= 400:
            # A refused call changes nothing about the case.
            assert (after.status, after.assigned_to, after.queue) == (
                before.status,
                before.assigned_to,
                before.queue,
            )
        elif route == "phone":
            assert set(response.json()) == {"phone"}
        elif method == "POST" and route != "reply":
            assert response.json()["ref"] == reference
            assert (after.status, after.queue) == {
                "release": ("waiting", "relocation"),
                "close": ("closed", "relocation"),
                "transfer": ("waiting", "general"),
                "priority": ("claimed", "relocation"),
            }[route]


@on_module_loop
@pytest.mark.parametrize(
    "header",
    [
        "Basic {token}",
        "{token}",
        "Bearer",
        "Bearer\t{token}",
        "Token {token}",
        "Bearer {token}x",
        "Bearer x{token}",
        "Bearer {token} {token}",
        "Bearer " + "A" * 43,
    ],
    ids=lambda value: value.replace("{token}", "T").replace(" ", "_")[:20],
)
async def test_malformed_authorization_is_401(world: World, header: str) -> None:
    token = await sign_in_token(world.client, world.live.base_url, "holder")
    response = await world.client.get(
        world.url("/api/v1/queues"), headers={"Authorization": header.format(token=token)}
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    # The same token, well formed, works: the header was the only thing wrong.
    ok = await world.client.get(
        world.url("/api/v1/queues"), headers={"Authorization": f"bearer {token}"}
    )
    assert ok.status_code == 200


@on_module_loop
async def test_wrong_password_and_unknown_user_get_the_same_401(world: World) -> None:
    login = world.url("/api/v1/login")
    wrong = await world.client.post(login, json={"username": "holder", "password": "not it at all"})
    unknown = await world.client.post(login, json={"username": "nobody", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "wrong username or password"}
    assert "token" not in wrong.text
    right = await world.client.post(login, json={"username": "holder", "password": PASSWORD})
    assert right.status_code == 200
    assert set(right.json()) == {"token", "expires_at"}


OPENAPI_PATHS: dict[str, dict[str, tuple[str | None, str, str | None]]] = {
    "/api/v1/login": {"post": ("LoginIn", "200", "LoginOut")},
    "/api/v1/logout": {"post": (None, "204", None)},
    "/api/v1/queues": {"get": (None, "200", "QueueOut")},
    "/api/v1/queues/{name}/claim": {"post": (None, "200", "CaseOut")},
    "/api/v1/cases": {"get": (None, "200", "CaseSummaryOut")},
    "/api/v1/cases/{ref}": {"get": (None, "200", "CaseOut")},
    "/api/v1/cases/{ref}/messages": {"post": ("ReplyIn", "202", "ReplyOut")},
    "/api/v1/cases/{ref}/release": {"post": (None, "200", "CaseSummaryOut")},
    "/api/v1/cases/{ref}/close": {"post": ("CloseIn", "200", "CaseSummaryOut")},
    "/api/v1/cases/{ref}/transfer": {"post": ("TransferIn", "200", "CaseSummaryOut")},
    "/api/v1/cases/{ref}/phone": {"post": ("PhoneIn", "200", "PhoneOut")},
    "/api/v1/cases/{ref}/priority": {"post": ("PriorityIn", "200", "CaseSummaryOut")},
    "/api/v1/audit": {"get": (None, "200", "AuditOut")},
}


def _schema_names(schema: dict[str, Any]) -> set[str]:
    """Model names a schema refers to, directly or as the items of a list."""
    text = str(schema)
    return set(re.findall(r"#/components/schemas/(\w+)", text))


@on_module_loop
async def test_openapi_documents_every_route_with_its_schemas(world: World) -> None:
    response = await world.client.get(world.url("/openapi.json"))
    assert response.status_code == 200
    spec = response.json()
    schemas = spec["components"]["schemas"]
    for model in {
        "LoginIn",
        "LoginOut",
        "QueueOut",
        "CaseSummaryOut",
        "CaseOut",
        "MessageOut",
        "ReplyIn",
        "ReplyOut",
        "CloseIn",
        "TransferIn",
        "PhoneIn",
        "PhoneOut",
        "PriorityIn",
        "AuditOut",
        "ErrorOut",
    }:
        assert model in schemas, model
    for path, methods in OPENAPI_PATHS.items():
        assert path in spec["paths"], path
        for method, (request_model, status, response_model) in methods.items():
            operation = spec["paths"][path][method]
            if request_model is None:
                assert "requestBody" not in operation, path
            else:
                body = operation["requestBody"]["content"]["application/json"]["schema"]
                assert _schema_names(body) == {request_model}, path
            assert status in operation["responses"], (path, operation["responses"])
            content = operation["responses"][status].get("content")
            if response_model is None:
                assert not content, path
            else:
                names = _schema_names(content["application/json"]["schema"])
                assert names == {response_model}, path
            # Authenticated by default: only sign-in goes without the bearer scheme.
            secured = operation.get("security") == [{"HTTPBearer": []}]
            assert secured == (path != "/api/v1/login"), path
    claim = spec["paths"]["/api/v1/queues/{name}/claim"]["post"]["responses"]
    assert "204" in claim
    # Every status of the matrix is documented for its route, errors with their body.
    for route, (method, template, _body) in ROUTES.items():
        responses = spec["paths"][template][method.lower()]["responses"]
        for code in set(EXPECTED[route].values()):
            assert str(code) in responses, (route, code)
            if code >= 400:
                error = responses[str(code)]["content"]["application/json"]["schema"]
                assert _schema_names(error) == {"ErrorOut"}, (route, code)
    login = spec["paths"]["/api/v1/login"]["post"]["responses"]
    assert {"401", "429"} <= set(login)
    for change in ("messages", "release", "close", "transfer", "phone", "priority"):
        responses = spec["paths"][f"/api/v1/cases/{{ref}}/{change}"]["post"]["responses"]
        assert {"404", "409"} <= set(responses), change
    transfer = spec["paths"]["/api/v1/cases/{ref}/transfer"]["post"]["responses"]
    assert _schema_names(transfer["422"]["content"]["application/json"]["schema"]) == {
        "HTTPValidationError"
    }
    for change in ("phone", "priority"):
        responses = spec["paths"][f"/api/v1/cases/{{ref}}/{change}"]["post"]["responses"]
        assert _schema_names(responses["422"]["content"]["application/json"]["schema"]) == {
            "HTTPValidationError"
        }
    assert schemas["PriorityIn"]["properties"]["priority"]["enum"] == ["urgent", "high", "normal"]
    assert schemas["PhoneIn"]["properties"]["reason"]["maxLength"] == 500
    assert "phone" not in schemas["CaseOut"]["properties"]
    for name in ("triage", "may_call", "due_at", "escalated"):
        assert name in schemas["CaseOut"]["properties"], name
    for name in ("due_at", "escalated"):
        assert name in schemas["CaseSummaryOut"]["properties"], name
    assert "confirm_duress" in schemas["ReplyIn"]["properties"]
    assert schemas["TransferIn"]["properties"]["queue"]["enum"] == [
        "relocation",
        "home-security",
        "support",
        "general",
    ]
    # Every documented method is there, and no API route is left out of the table.
    api_paths = {p for p in spec["paths"] if p.startswith("/api/v1/")}
    assert api_paths == set(OPENAPI_PATHS)
    for path in api_paths:
        assert set(spec["paths"][path]) == set(OPENAPI_PATHS[path]), path


# Bad input of any kind: a clear 4xx, never a 500. Each of these was a 500 once: a NUL
# reached PostgreSQL as a parameter, a naive `since` reached a UTC-only column, or
# FastAPI's 422 handler tried to echo a lone surrogate back as UTF-8.
NOT_FOUND = {"detail": "no such case"}
BAD_INPUT = {
    "nul-in-reference": ("GET", "/api/v1/cases/AB%00C-DEFG", None, 404, NOT_FOUND),
    "nul-in-reply-reference": (
        "POST",
        "/api/v1/cases/%00/messages",
        b'{"text": "hi"}',
        404,
        NOT_FOUND,
    ),
    "huge-reference": ("GET", "/api/v1/cases/" + "A" * 4000, None, 404, NOT_FOUND),
    "nul-in-audit-ref": ("GET", "/api/v1/audit?ref=%00", None, 200, []),
    "nul-in-audit-action": ("GET", "/api/v1/audit?action=case%00", None, 200, []),
    "nul-in-queue-filter": ("GET", "/api/v1/cases?queue=%00", None, 200, []),
    "naive-since": ("GET", "/api/v1/audit?since=2024-01-01T00:00:00", None, 422, None),
    "surrogate-in-reply": (
        "POST",
        "/api/v1/cases/{ref}/messages",
        b'{"text": "\\ud800"}',
        422,
        None,
    ),
    "blank-reply": ("POST", "/api/v1/cases/{ref}/messages", b'{"text": " \\n "}', 422, None),
    "surrogate-in-outcome": (
        "POST",
        "/api/v1/cases/{ref}/close",
        b'{"outcome": "\\udfff"}',
        422,
        None,
    ),
    "blank-reason": ("POST", "/api/v1/cases/{ref}/phone", b'{"reason": "  "}', 422, None),
    "huge-reason": (
        "POST",
        "/api/v1/cases/{ref}/phone",
        b'{"reason": "' + b"x" * 501 + b'"}',
        422,
        None,
    ),
    "surrogate-in-reason": (
        "POST",
        "/api/v1/cases/{ref}/phone",
        b'{"reason": "\\ud800"}',
        422,
        None,
    ),
    "unknown-priority": (
        "POST",
        "/api/v1/cases/{ref}/priority",
        b'{"priority": "lowest"}',
        422,
        None,
    ),
    "string-confirm-duress": (
        "POST",
        "/api/v1/cases/{ref}/messages",
        b'{"text": "hi", "confirm_duress": "perhaps"}',
        422,
        None,
    ),
    "surrogate-in-queue": (
        "POST",
        "/api/v1/cases/{ref}/transfer",
        b'{"queue": "\\ud800"}',
        422,
        None,
    ),
    "surrogate-in-username": (
        "POST",
        "/api/v1/login",
        b'{"username": "\\ud800", "password": "x"}',
        422,
        None,
    ),
    "nul-in-username": (
        "POST",
        "/api/v1/login",
        b'{"username": "boss\\u0000", "password": "x"}',
        401,
        {"detail": "wrong username or password"},
    ),
}


@on_module_loop
@pytest.mark.parametrize("case", list(BAD_INPUT))
async def test_bad_input_gets_a_4xx_never_a_500(world: World, case: str) -> None:
    method, path, body, expected, answer = BAD_INPUT[case]
    reference = await world.claimed_case()
    before = await case_row(world.live.services.db, reference)
    headers = {
        **await world.headers_for("supervisor", fresh=False),
        "Content-Type": "application/json",
    }
    response = await world.client.request(
        method, world.url(path.replace("{ref}", reference)), headers=headers, content=body
    )
    assert response.status_code == expected, response.text
    if answer is not None:
        assert response.json() == answer
    if expected == 422:
        assert all({"type", "loc", "msg"} <= set(e) for e in response.json()["detail"])
    after = await case_row(world.live.services.db, reference)
    assert (after.status, after.queue, after.assigned_to) == (
        before.status,
        before.queue,
        before.assigned_to,
    )
