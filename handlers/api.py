"""The caseworker API, `/api/v1`: JSON over HTTPS, bearer tokens, every route authenticated
except sign-in. Core exceptions become status codes through handlers.errors, the table
the console answers by too.

The routes live on two module-level routers; `install` hands them the services (through
the app's state, read by typed dependencies) and adds them to the app. No
`from __future__ import annotations` here: FastAPI reads the route signatures at
definition time.
"""

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from ipaddress import IPv4Network, IPv6Network
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    Field,
    GetPydanticSchema,
    field_validator,
)
from pydantic_core import core_schema

from bot.accounts import MAX_PASSWORD, MAX_USERNAME, Accounts, Actor, NotSignedIn, Throttled
from bot.casework import (
    MAX_ACTION_FILTER,
    MAX_OUTCOME,
    MAX_REASON,
    MAX_REFERENCE_FILTER,
    MAX_REPLY,
    AuditView,
    CaseView,
    Casework,
    QueueView,
)
from bot.intake.triage import QUEUES
from handlers.client_address import client_address
from handlers.errors import REFUSALS, Refusal
from storage.states import CaseStatus, Delivery, Direction, Priority

PREFIX = "/api/v1"

# What each error status means, for the OpenAPI document; the bodies are REFUSALS' words.
ERROR_MEANINGS = {
    400: "the body could not be read as JSON (not UTF-8, or cut short)",
    401: "no token, or an unknown, expired or revoked one (sign-in: wrong credentials)",
    403: "not a queue the caller works, or supervisors only",
    404: "no such case, or one the caller neither holds nor supervises (never told apart)",
    409: (
        "the case is closed, or the witness opted out or erased their data; for a reply, "
        "the witness may be under duress and it was not confirmed; for the number, the "
        "witness did not ask to be called, none is available, or the caller does not hold "
        "the case"
    ),
    429: "too many failed sign-ins; try again after Retry-After seconds",
}


class ErrorOut(BaseModel):
    detail: str


# An ISO 8601 date and time; the zone is then required by AwareDatetime.
ISO_MOMENT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}.*")


def _iso_moment(value: object) -> object:
    # pydantic alone would also read a number ("0.5") as seconds since 1970.
    if not isinstance(value, str) or not ISO_MOMENT.fullmatch(value):
        raise ValueError("expected an ISO 8601 date and time with a time zone")
    return value


Moment = Annotated[AwareDatetime, BeforeValidator(_iso_moment)]


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {"model": ErrorOut, "description": ERROR_MEANINGS[status]} for status in statuses
    }


def _one_of(values: type[StrEnum]) -> GetPydanticSchema:
    """Read as a member of the enum, checked and documented as a choice of its values.

    The schema then lists the values in place, as the published document always has,
    and a wrong value gets the same 422 it always did.
    """
    choice = core_schema.literal_schema([v.value for v in values])
    return GetPydanticSchema(
        lambda _type, _handler: core_schema.no_info_after_validator_function(values, choice)
    )


StatusValue = Annotated[CaseStatus, _one_of(CaseStatus)]
PriorityValue = Annotated[Priority, _one_of(Priority)]
DirectionValue = Annotated[Direction, _one_of(Direction)]


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=MAX_USERNAME)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)


class LoginOut(BaseModel):
    token: str
    expires_at: datetime


class QueueOut(BaseModel):
    name: str
    waiting: int
    urgent: int
    oldest_waiting_seconds: int | None


class MessageOut(BaseModel):
    direction: DirectionValue
    text: str | None = Field(description="null once the witness erased their data")
    at: datetime
    delivery: str | None = Field(description="queued, sent, delivered or failed (out only)")


class CaseSummaryOut(BaseModel):
    ref: str
    alias: str
    queue: str
    priority: PriorityValue
    status: StatusValue
    language: str
    needs: list[str]
    created_at: datetime
    witness_active_at: datetime
    assigned_to: str | None
    due_at: datetime | None = Field(
        description="the response target: when a caseworker should have answered"
    )
    escalated: bool = Field(
        description="past its target and not yet acted on: still waiting, or claimed with no "
        "reply since"
    )


class CaseOut(CaseSummaryOut):
    answers: dict[str, str] | None
    messages: list[MessageOut]
    outcome: str | None
    may_call: bool = Field(
        default=False,
        description="true only when the witness clearly asked to be called; the holder then "
        "asks for the number with POST /api/v1/cases/{ref}/phone",
    )
    triage: list[str] = Field(
        description='why triage raised the case, as short labels ("not safe now", '
        '"danger words", "duress", ...); never the witness\'s words'
    )


class ReplyIn(BaseModel):
    # `pattern` is a search: at least one character that is not white space.
    text: str = Field(min_length=1, max_length=MAX_REPLY, pattern=r"\S")
    confirm_duress: bool = Field(
        default=False,
        description='required (true) when the case\'s triage includes "duress"',
    )


class PhoneIn(BaseModel):
    reason: str = Field(
        min_length=1,
        max_length=MAX_REASON,
        pattern=r"\S",
        description="why the number is needed; kept sealed in the audit trail",
    )


class PhoneOut(BaseModel):
    phone: str


class PriorityIn(BaseModel):
    priority: PriorityValue


class ReplyOut(BaseModel):
    delivery: Literal[Delivery.QUEUED] = Delivery.QUEUED


class CloseIn(BaseModel):
    outcome: str = Field(min_length=1, max_length=MAX_OUTCOME, pattern=r"\S")


class TransferIn(BaseModel):
    queue: str = Field(min_length=1, max_length=32, json_schema_extra={"enum": list(QUEUES)})

    @field_validator("queue")
    @classmethod
    def _known(cls, queue: str) -> str:
        # A 422 of the documented validation-error shape; the core checks again.
        if queue not in QUEUES:
            raise ValueError("no such queue")
        return queue


class AuditOut(BaseModel):
    at: datetime
    actor: str | None
    action: str
    ref: str | None
    detail: str | None


def _summary(view: CaseView) -> CaseSummaryOut:
    return CaseSummaryOut.model_validate(view, from_attributes=True)


def _case(view: CaseView) -> CaseOut:
    return CaseOut.model_validate(view, from_attributes=True)


def _queue(view: QueueView) -> QueueOut:
    return QueueOut.model_validate(view, from_attributes=True)


def _audit(view: AuditView) -> AuditOut:
    return AuditOut.model_validate(view, from_attributes=True)


@dataclass(frozen=True)
class Wiring:
    """What `install` gives the routes: the core services and the proxies to trust."""

    casework: Casework
    accounts: Accounts
    trusted_proxies: Sequence[IPv4Network | IPv6Network]


def _wiring(request: Request) -> Wiring:
    wiring = getattr(request.app.state, "caseworker_api", None)
    if not isinstance(wiring, Wiring):
        raise RuntimeError("the caseworker API routes were added without install()")
    return wiring


def _casework(request: Request) -> Casework:
    return _wiring(request).casework


def _accounts(request: Request) -> Accounts:
    return _wiring(request).accounts


BEARER = HTTPBearer(auto_error=False)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
CaseworkDep = Annotated[Casework, Depends(_casework)]
AccountsDep = Annotated[Accounts, Depends(_accounts)]
WiringDep = Annotated[Wiring, Depends(_wiring)]


async def current_actor(credentials: Credentials, accounts: AccountsDep) -> Actor:
    """The signed-in caller, from the bearer token (NotSignedIn, a 401, without one)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotSignedIn
    return await accounts.actor_for(credentials.credentials)


Caller = Annotated[Actor, Depends(current_actor)]

public = APIRouter(prefix=PREFIX, tags=["session"])
# Authenticated by default: every route on this router needs a live token.
private = APIRouter(prefix=PREFIX, dependencies=[Depends(current_actor)], responses=_errors(401))
CASE_CHANGE = _errors(404, 409)


@public.post("/login", response_model=LoginOut, responses=_errors(401, 429))
async def login(body: LoginIn, request: Request, wiring: WiringDep) -> LoginOut:
    client = client_address(request, trusted=wiring.trusted_proxies)
    signed_in = await wiring.accounts.sign_in(
        username=body.username, password=body.password, client=client
    )
    return LoginOut(token=signed_in.token, expires_at=signed_in.expires_at)


@private.post("/logout", status_code=204, tags=["session"])
async def logout(credentials: Credentials, accounts: AccountsDep) -> Response:
    if credentials is not None:
        await accounts.sign_out(credentials.credentials)
    return Response(status_code=204)


@private.get("/queues", response_model=list[QueueOut], tags=["queues"])
async def list_queues(actor: Caller, casework: CaseworkDep) -> list[QueueOut]:
    return [_queue(q) for q in await casework.queues(actor)]


@private.post(
    "/queues/{name}/claim",
    response_model=CaseOut,
    responses={204: {"description": "no case waits in a language you speak"}, **_errors(403)},
    tags=["queues"],
)
async def claim(name: str, actor: Caller, casework: CaseworkDep) -> CaseOut | Response:
    view = await casework.claim(actor, name)
    return Response(status_code=204) if view is None else _case(view)


@private.get("/cases", response_model=list[CaseSummaryOut], tags=["cases"])
async def list_cases(
    actor: Caller,
    casework: CaseworkDep,
    status: Annotated[StatusValue | None, Query()] = None,
    queue: Annotated[str | None, Query(max_length=32)] = None,
) -> list[CaseSummaryOut]:
    return [_summary(v) for v in await casework.list_cases(actor, status=status, queue=queue)]


@private.get("/cases/{ref}", response_model=CaseOut, responses=_errors(404), tags=["cases"])
async def read_case(ref: str, actor: Caller, casework: CaseworkDep) -> CaseOut:
    return _case(await casework.read(actor, ref))


@private.post(
    "/cases/{ref}/messages",
    status_code=202,
    response_model=ReplyOut,
    responses=_errors(404, 409),
    tags=["cases"],
)
async def reply(ref: str, body: ReplyIn, actor: Caller, casework: CaseworkDep) -> ReplyOut:
    await casework.reply(actor, ref, body.text, confirm_duress=body.confirm_duress)
    return ReplyOut()


@private.post(
    "/cases/{ref}/phone", response_model=PhoneOut, responses=_errors(404, 409), tags=["cases"]
)
async def reveal_number(ref: str, body: PhoneIn, actor: Caller, casework: CaseworkDep) -> PhoneOut:
    return PhoneOut(phone=await casework.reveal_number(actor, ref, body.reason))


@private.post(
    "/cases/{ref}/priority", response_model=CaseSummaryOut, responses=CASE_CHANGE, tags=["cases"]
)
async def change_priority(
    ref: str, body: PriorityIn, actor: Caller, casework: CaseworkDep
) -> CaseSummaryOut:
    return _summary(await casework.change_priority(actor, ref, body.priority))


@private.post(
    "/cases/{ref}/release", response_model=CaseSummaryOut, responses=CASE_CHANGE, tags=["cases"]
)
async def release(ref: str, actor: Caller, casework: CaseworkDep) -> CaseSummaryOut:
    return _summary(await casework.release(actor, ref))


@private.post(
    "/cases/{ref}/close", response_model=CaseSummaryOut, responses=CASE_CHANGE, tags=["cases"]
)
async def close(ref: str, body: CloseIn, actor: Caller, casework: CaseworkDep) -> CaseSummaryOut:
    return _summary(await casework.close(actor, ref, body.outcome))


@private.post(
    "/cases/{ref}/transfer", response_model=CaseSummaryOut, responses=CASE_CHANGE, tags=["cases"]
)
async def transfer(
    ref: str, body: TransferIn, actor: Caller, casework: CaseworkDep
) -> CaseSummaryOut:
    return _summary(await casework.transfer(actor, ref, body.queue))


@private.get("/audit", response_model=list[AuditOut], responses=_errors(403), tags=["audit"])
async def audit_log(
    actor: Caller,
    casework: CaseworkDep,
    ref: Annotated[str | None, Query(max_length=MAX_REFERENCE_FILTER)] = None,
    action: Annotated[str | None, Query(max_length=MAX_ACTION_FILTER)] = None,
    since: Moment | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[AuditOut]:
    views = await casework.audit_log(actor, reference=ref, action=action, since=since, limit=limit)
    return [_audit(v) for v in views]


def install(
    app: FastAPI,
    *,
    casework: Casework,
    accounts: Accounts,
    trusted_proxies: Sequence[IPv4Network | IPv6Network] = (),
) -> None:
    """Add the caseworker API and its answers to core exceptions to the app."""
    app.state.caseworker_api = Wiring(
        casework=casework, accounts=accounts, trusted_proxies=trusted_proxies
    )
    _document_unreadable_bodies(public, private)
    app.include_router(public)
    app.include_router(private)
    for error, refusal in REFUSALS.items():
        app.add_exception_handler(error, _answer(refusal))
    app.add_exception_handler(RequestValidationError, _invalid)


def _document_unreadable_bodies(*routers: APIRouter) -> None:
    """List FastAPI's 400 for a body it cannot read on every API route that takes JSON."""
    unreadable = {
        "description": ERROR_MEANINGS[400],
        # By reference: a model given here, after the route was built, would not be read.
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
    }
    for router in routers:
        for route in router.routes:
            if isinstance(route, APIRoute) and route.body_field is not None:
                route.responses.setdefault(400, unreadable)


async def _invalid(_request: Request, exc: Exception) -> JSONResponse:
    """422 naming what was wrong and where, without echoing the input back.

    FastAPI's own handler echoes each bad value, and fails with a 500 on text it cannot
    encode (a lone surrogate, which JSON can carry); what a caller typed is theirs anyway.
    """
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for it alone
    errors = [{"type": e["type"], "loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
    return JSONResponse({"detail": errors}, status_code=422)


def _answer(refusal: Refusal) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def answer(_request: Request, exc: Exception) -> JSONResponse:
        headers = {}
        if refusal.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        if isinstance(exc, Throttled):
            # The wait that is actually left, not a fixed guess.
            headers["Retry-After"] = str(exc.retry_after)
        if refusal.status == 503:
            headers["Retry-After"] = "1"
        return JSONResponse(
            {"detail": refusal.message}, status_code=refusal.status, headers=headers
        )

    return answer
