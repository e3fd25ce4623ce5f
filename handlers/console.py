"""The caseworker console at /console: server-rendered pages over the same casework core.

Same accounts, permissions and audit as the API. The session is an HttpOnly, SameSite=
Strict cookie (Secure over https) holding a random token stored only as a hash, ending
after a spell of idleness (the page script's polls do not count as use) and at the
latest INTAKE_SESSION_HOURS after sign-in; every form carries a CSRF token bound to the
session. Pages load one script file and one style sheet from /console/static, and the
Content Security Policy allows nothing inline. Witness content never appears in a URL.

A refused action is answered as the API answers it (handlers.errors): the same status,
on the page the form was sent from, saying why. Nothing typed is cut to fit.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from ipaddress import IPv4Network, IPv6Network
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot.accounts import CONSOLE, FIRST_ACCOUNT, Accounts, Actor, NotSignedIn, Throttled
from bot.casework import CaseNotFound, Casework
from bot.intake.describe import describe_answers
from bot.intake.script import SAFE_TIMES
from bot.intake.triage import QUEUES
from bot.roster import Roster
from handlers.client_address import client_address
from handlers.errors import REFUSED, Refusal, refusal_for
from handlers.forms import BadForm, read_form
from storage.crypto import Vault
from storage.states import CaseStatus, Priority

LOGIN_CSRF_COOKIE = "intake_login_csrf"
REFRESH_SECONDS = 5
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Witness content must not linger in the browser's cache.
    "Cache-Control": "no-store",
}
OUTCOMES = ("helped", "referred", "could not reach", "declined help", "duplicate", "other")
PRIORITIES = tuple(p.value for p in Priority)
# Fetched by the page script every few seconds, not by the caseworker: no supervisors'
# banner, and they do not keep a session alive (an open tab is not someone at the desk).
_POLLS = (".json", "/transcript")

Handler = Callable[[Request, Actor], Awaitable[Response]]
# Where a refusal is shown: the page the refused form was sent from, or a page of its own.
ShowRefusal = Callable[[Request, Actor, Refusal], Awaitable[Response]]


@dataclass(frozen=True)
class ConsoleSettings:
    idle: timedelta
    secure_cookies: bool
    trusted_proxies: Sequence[IPv4Network | IPv6Network] = ()


def _templates() -> Environment:
    folder = resources.files("handlers") / "templates"
    env = Environment(
        loader=FileSystemLoader(str(folder)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["ago"] = _ago
    env.filters["clock"] = lambda moment: moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""
    return env


def _ago(moment: datetime | int | None) -> str:
    if moment is None:
        return "-"
    seconds = moment if isinstance(moment, int) else (datetime.now(UTC) - moment).total_seconds()
    minutes = int(seconds // 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 48 else f"{hours // 24} days"


class Console:
    def __init__(
        self,
        *,
        casework: Casework,
        accounts: Accounts,
        roster: Roster,
        vault: Vault,
        settings: ConsoleSettings,
    ) -> None:
        self._casework = casework
        self._accounts = accounts
        self._roster = roster
        self._vault = vault
        self._settings = settings
        self._env = _templates()
        self._cookie = "__Host-intake" if settings.secure_cookies else "intake_console"

    # -- plumbing ---------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        static = StaticFiles(directory=str(resources.files("handlers") / "static"))
        alone, queues, accounts, case = (
            self._refused_alone,
            self._refused_on_queues,
            self._refused_on_caseworkers,
            self._refused_on_case,
        )
        signed: list[tuple[str, Handler, list[str], ShowRefusal]] = [
            ("/queues", self.queues_page, ["GET"], alone),
            ("/queues.json", self.queues_json, ["GET"], alone),
            ("/queues/{name}/claim", self.claim, ["POST"], queues),
            ("/cases", self.my_cases, ["GET"], alone),
            ("/all", self.all_cases, ["GET"], alone),
            ("/audit", self.audit_page, ["GET"], alone),
            ("/caseworkers", self.caseworkers_page, ["GET"], alone),
            ("/caseworkers/disable", self.disable_account, ["POST"], accounts),
            ("/caseworkers/enable", self.enable_account, ["POST"], accounts),
            ("/cases/{ref}", self.case_page, ["GET"], alone),
            ("/cases/{ref}/activity.json", self.case_activity, ["GET"], alone),
            ("/cases/{ref}/transcript", self.transcript, ["GET"], alone),
            ("/cases/{ref}/reply", self.reply, ["POST"], case),
            ("/cases/{ref}/phone", self.phone, ["POST"], case),
            ("/cases/{ref}/priority", self.priority, ["POST"], case),
            ("/cases/{ref}/release", self.release, ["POST"], case),
            ("/cases/{ref}/transfer", self.transfer, ["POST"], case),
            ("/cases/{ref}/close", self.close, ["POST"], case),
            ("/cases/{ref}/assign", self.assign, ["POST"], case),
            ("/logout", self.logout, ["POST"], alone),
        ]
        return [
            Route("/console", self.home, methods=["GET"]),
            Mount(
                "/console",
                routes=[
                    Route("/", self.home, methods=["GET"]),
                    Route("/login", self.login_page, methods=["GET"]),
                    Route("/login", self.login, methods=["POST"]),
                    Mount("/static", app=static, name="static"),
                    *(
                        Route(path, self._signed_in(handler, shown_on), methods=methods)
                        for path, handler, methods, shown_on in signed
                    ),
                ],
            ),
        ]

    def _render(
        self, request: Request, template: str, *, http_status: int = 200, **context: Any
    ) -> HTMLResponse:
        page = self._env.get_template(template).render(
            request=request,
            refresh_seconds=REFRESH_SECONDS,
            escalations=getattr(request.state, "escalations", []),
            sign_in_alarms=getattr(request.state, "sign_in_alarms", []),
            **context,
        )
        return HTMLResponse(page, status_code=http_status, headers=SECURITY_HEADERS)

    def _csrf_for(self, token: str) -> str:
        return self._vault.pseudonym(token, purpose="console-csrf").hex()

    def _signed_in(
        self, handler: Handler, shown_on: ShowRefusal
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            token = request.cookies.get(self._cookie, "")
            try:
                actor = await self._accounts.actor_for(token, kind=CONSOLE) if token else None
            except NotSignedIn:
                actor = None
            if actor is None:
                if request.url.path.endswith(".json"):
                    return JSONResponse({"detail": "signed out"}, status_code=401)
                return RedirectResponse("/console/login", status_code=303)
            if request.method == "POST":
                refused = await self._check_csrf(request, token)
                if refused is not None:
                    return refused
            poll = request.method == "GET" and request.url.path.endswith(_POLLS)
            if not poll:
                await self._accounts.keep_alive(token, idle=self._settings.idle)
            request.state.csrf = self._csrf_for(token)
            request.state.actor = actor
            if actor.supervisor and request.method == "GET" and not poll:
                request.state.escalations = await self._casework.escalations(actor)
                request.state.sign_in_alarms = await self._accounts.sign_in_alarms(actor)
            try:
                return await handler(request, actor)
            except CaseNotFound:
                return self._not_found(request, actor)
            except REFUSED as exc:
                return await shown_on(request, actor, refusal_for(exc))

        return endpoint

    # -- refusals: the API's status, on the page the form came from --------------------

    def _not_found(self, request: Request, actor: Actor) -> Response:
        return self._render(request, "console/not_found.html", http_status=404, actor=actor)

    async def _refused_alone(self, request: Request, actor: Actor, refusal: Refusal) -> Response:
        return self._render(
            request,
            "console/refused.html",
            http_status=refusal.status,
            actor=actor,
            refused=refusal.sentence,
        )

    async def _refused_on_case(self, request: Request, actor: Actor, refusal: Refusal) -> Response:
        try:
            return await self._case_page(
                request, actor, notice=None, refused=refusal.sentence, http_status=refusal.status
            )
        except CaseNotFound:
            # The case is gone from the caller's view (erased, say): the refusal stands alone.
            return await self._refused_alone(request, actor, refusal)

    async def _refused_on_queues(
        self, request: Request, actor: Actor, refusal: Refusal
    ) -> Response:
        queues = await self._casework.queues(actor)
        return self._refused_on(request, actor, refusal, "console/queues.html", queues=queues)

    async def _refused_on_caseworkers(
        self, request: Request, actor: Actor, refusal: Refusal
    ) -> Response:
        accounts = await self._roster.accounts(actor)
        return self._refused_on(
            request, actor, refusal, "console/caseworkers.html", accounts=accounts
        )

    def _refused_on(
        self, request: Request, actor: Actor, refusal: Refusal, template: str, **page: Any
    ) -> Response:
        """The page the form was on, with the refusal above it and the API's status."""
        return self._render(
            request,
            template,
            http_status=refusal.status,
            actor=actor,
            refused=refusal.sentence,
            **page,
        )

    async def _check_csrf(self, request: Request, token: str) -> Response | None:
        try:
            form = await read_form(request)
        except BadForm:
            return Response("bad form", status_code=400, headers=SECURITY_HEADERS)
        if not hmac.compare_digest(form.get("csrf", ""), self._csrf_for(token)):
            return Response("bad or missing CSRF token", status_code=403, headers=SECURITY_HEADERS)
        request.state.form = form
        return None

    def _set_session(self, response: Response, token: str) -> None:
        response.set_cookie(
            self._cookie,
            token,
            httponly=True,
            secure=self._settings.secure_cookies,
            samesite="strict",
            path="/",
        )

    # -- signing in and out -----------------------------------------------------------

    async def home(self, request: Request) -> Response:
        return RedirectResponse("/console/queues", status_code=303)

    async def login_page(
        self, request: Request, *, error: str | None = None, http_status: int = 401
    ) -> Response:
        nonce = secrets.token_urlsafe(24)
        response = self._render(
            request,
            "console/login.html",
            http_status=http_status if error else 200,
            error=error,
            csrf=nonce,
            first_account=FIRST_ACCOUNT if await self._accounts.first_run() else None,
        )
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            nonce,
            httponly=True,
            secure=self._settings.secure_cookies,
            samesite="strict",
            path="/console/login",
        )
        return response

    async def login(self, request: Request) -> Response:
        try:
            form = await read_form(request)
        except BadForm:
            return await self.login_page(request, error="Please use the sign-in form.")
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not expected or not hmac.compare_digest(form.get("csrf", ""), expected):
            return await self.login_page(request, error="Please try signing in again.")
        try:
            signed_in = await self._accounts.sign_in(
                username=form.get("username", ""),
                password=form.get("password", ""),
                client=client_address(request, trusted=self._settings.trusted_proxies),
                lifetime=self._settings.idle,
                kind=CONSOLE,
            )
        except REFUSED as exc:
            refusal = refusal_for(exc)
            error = refusal.sentence
            if isinstance(exc, Throttled):
                error = f"{error} Wait {_wait(exc.retry_after)} and try again."
            return await self.login_page(request, error=error, http_status=refusal.status)
        response = RedirectResponse("/console/queues", status_code=303)
        self._set_session(response, signed_in.token)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console/login")
        return response

    async def logout(self, request: Request, actor: Actor) -> Response:
        await self._accounts.sign_out(request.cookies.get(self._cookie, ""))
        response = RedirectResponse("/console/login", status_code=303)
        response.delete_cookie(self._cookie, path="/")
        return response

    # -- queues and lists -------------------------------------------------------------

    async def queues_page(self, request: Request, actor: Actor) -> Response:
        queues = await self._casework.queues(actor)
        notice = request.query_params.get("notice")
        return self._render(
            request, "console/queues.html", actor=actor, queues=queues, notice=notice
        )

    async def queues_json(self, request: Request, actor: Actor) -> Response:
        queues = await self._casework.queues(actor)
        return JSONResponse(
            [
                {
                    "name": q.name,
                    "waiting": q.waiting,
                    "urgent": q.urgent,
                    "oldest": _ago(q.oldest_waiting_seconds),
                }
                for q in queues
            ],
            headers={"Cache-Control": "no-store"},
        )

    async def claim(self, request: Request, actor: Actor) -> Response:
        view = await self._casework.claim(actor, request.path_params["name"])
        if view is None:
            return RedirectResponse("/console/queues?notice=empty", status_code=303)
        return RedirectResponse(f"/console/cases/{view.ref}", status_code=303)

    async def my_cases(self, request: Request, actor: Actor) -> Response:
        views = [
            v
            for v in await self._casework.list_cases(actor, status=CaseStatus.CLAIMED)
            if v.assigned_to == actor.username
        ]
        views.sort(key=lambda v: v.witness_active_at, reverse=True)
        notice = request.query_params.get("notice")
        return self._render(
            request, "console/cases.html", actor=actor, cases=views, mine=True, notice=notice
        )

    async def all_cases(self, request: Request, actor: Actor) -> Response:
        if not actor.supervisor:
            raise CaseNotFound("all")
        # The page's own filter links: an unknown status shows every case, as none does.
        given = request.query_params.get("status", "")
        status = CaseStatus(given) if given in tuple(CaseStatus) else None
        queue = request.query_params.get("queue") or None
        views = await self._casework.list_cases(actor, status=status, queue=queue)
        return self._render(
            request,
            "console/cases.html",
            actor=actor,
            cases=views,
            mine=False,
            status=status,
            queue=queue,
            queues=QUEUES,
        )

    async def audit_page(self, request: Request, actor: Actor) -> Response:
        ref = request.query_params.get("ref") or None
        action = request.query_params.get("action") or None
        entries = await self._casework.audit_log(actor, reference=ref, action=action, limit=300)
        return self._render(
            request, "console/audit.html", actor=actor, entries=entries, ref=ref, action=action
        )

    # -- one case ---------------------------------------------------------------------

    async def case_page(self, request: Request, actor: Actor) -> Response:
        return await self._case_page(request, actor, notice=request.query_params.get("notice"))

    async def _case_page(
        self,
        request: Request,
        actor: Actor,
        *,
        notice: str | None,
        phone: str | None = None,
        refused: str | None = None,
        http_status: int = 200,
    ) -> Response:
        view = await self._casework.read(actor, request.path_params["ref"])
        version = await self._casework.activity(actor, view.ref)
        return self._render(
            request,
            "console/case.html",
            http_status=http_status,
            refused=refused,
            actor=actor,
            case=view,
            answers=describe_answers(view.answers or {}),
            version=version,
            queues=[q for q in QUEUES if q != view.queue],
            assignable=[
                name
                for name in await self._casework.assignable(actor, view.ref)
                if name != view.assigned_to
            ],
            outcomes=OUTCOMES,
            priorities=PRIORITIES,
            holder=view.assigned_to == actor.username,
            # Free text in the witness's words: shown as given, never interpreted.
            safe_times=(view.answers or {}).get(SAFE_TIMES),
            office_open=self._casework.office_open(),
            phone=phone,
            notice=notice,
        )

    async def case_activity(self, request: Request, actor: Actor) -> Response:
        version = await self._casework.activity(actor, request.path_params["ref"])
        return JSONResponse({"version": version}, headers={"Cache-Control": "no-store"})

    async def transcript(self, request: Request, actor: Actor) -> Response:
        view = await self._casework.read(actor, request.path_params["ref"])
        return self._render(request, "console/transcript.html", case=view)

    async def reply(self, request: Request, actor: Actor) -> Response:
        ref = request.path_params["ref"]
        text = request.state.form.get("text", "").strip()
        confirmed = request.state.form.get("confirm_duress") == "yes"
        await self._casework.reply(actor, ref, text, confirm_duress=confirmed)
        return _back(ref, "sent")

    async def phone(self, request: Request, actor: Actor) -> Response:
        """The witness's number, shown on the page answering the form (never in a URL)."""
        reason = request.state.form.get("reason", "").strip()
        number = await self._casework.reveal_number(actor, request.path_params["ref"], reason)
        return await self._case_page(request, actor, notice=None, phone=number)

    async def priority(self, request: Request, actor: Actor) -> Response:
        ref = request.path_params["ref"]
        await self._casework.change_priority(actor, ref, request.state.form.get("priority", ""))
        return _back(ref, "priority-changed")

    async def release(self, request: Request, actor: Actor) -> Response:
        await self._casework.release(actor, request.path_params["ref"])
        return RedirectResponse("/console/queues?notice=released", status_code=303)

    async def transfer(self, request: Request, actor: Actor) -> Response:
        ref = request.path_params["ref"]
        await self._casework.transfer(actor, ref, request.state.form.get("queue", ""))
        return RedirectResponse("/console/queues?notice=transferred", status_code=303)

    async def assign(self, request: Request, actor: Actor) -> Response:
        ref = request.path_params["ref"]
        if not actor.supervisor:
            # Not a caseworker's form: it answers as a case they cannot see.
            raise CaseNotFound(ref)
        await self._casework.assign(actor, ref, request.state.form.get("username", ""))
        return _back(ref, "assigned")

    async def close(self, request: Request, actor: Actor) -> Response:
        ref = request.path_params["ref"]
        outcome = request.state.form.get("outcome", "").strip()
        await self._casework.close(actor, ref, outcome)
        if not actor.supervisor:
            # Closing ends the holder's access to the case: its page would be a 404 now.
            return RedirectResponse("/console/cases?notice=closed-now", status_code=303)
        return _back(ref, "closed-now")

    # -- caseworker accounts (supervisors) ---------------------------------------------

    async def caseworkers_page(self, request: Request, actor: Actor) -> Response:
        if not actor.supervisor:
            raise CaseNotFound("caseworkers")
        return self._render(
            request,
            "console/caseworkers.html",
            actor=actor,
            accounts=await self._roster.accounts(actor),
            notice=request.query_params.get("notice"),
        )

    async def disable_account(self, request: Request, actor: Actor) -> Response:
        if not actor.supervisor:
            raise CaseNotFound("caseworkers")
        await self._roster.disable(request.state.form.get("username", ""), actor=actor)
        return _to_caseworkers("disabled")

    async def enable_account(self, request: Request, actor: Actor) -> Response:
        if not actor.supervisor:
            raise CaseNotFound("caseworkers")
        await self._roster.enable(request.state.form.get("username", ""), actor=actor)
        return _to_caseworkers("enabled")


def _back(ref: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"/console/cases/{ref}?notice={notice}", status_code=303)


def _to_caseworkers(notice: str) -> RedirectResponse:
    return RedirectResponse(f"/console/caseworkers?notice={notice}", status_code=303)


def _wait(seconds: int) -> str:
    """A wait in words, rounded up: "1 second", "40 seconds", "3 minutes"."""
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
