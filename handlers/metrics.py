"""GET /metrics: the operators' series in Prometheus's text format, for a scraper only.

With INTAKE_METRICS_TOKEN set, the scraper sends it as a bearer token. Without it, only
a client on this machine (loopback) may read the series; the client's address is decided
by handlers/client_address.py, so X-Forwarded-For counts only from a trusted proxy.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from ipaddress import IPv4Network, IPv6Address, IPv6Network, ip_address

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from handlers.client_address import client_address
from handlers.forms import plain_text

log = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
NO_STORE = {"Cache-Control": "no-store"}


def metrics_routes(
    *,
    exposition: Callable[[], Awaitable[bytes]],
    token: str | None,
    trusted_proxies: Sequence[IPv4Network | IPv6Network],
) -> list[Route]:
    """The /metrics route; `exposition` reads the series fresh for each scrape."""

    async def metrics(request: Request) -> Response:
        refusal = _refusal(request, token=token, trusted_proxies=trusted_proxies)
        if refusal is not None:
            refusal.headers.update(NO_STORE)
            return refusal
        body = await exposition()
        return Response(body, media_type=CONTENT_TYPE_LATEST, headers=NO_STORE)

    return [Route(METRICS_PATH, metrics, methods=["GET"])]


def _refusal(
    request: Request, *, token: str | None, trusted_proxies: Sequence[IPv4Network | IPv6Network]
) -> Response | None:
    """Why this request may not read the series, as the answer to send; None if it may."""
    if token is not None:
        if _bearer_matches(request.headers.get("authorization"), token):
            return None
        return Response(
            "a bearer token is required\n",
            status_code=401,
            media_type="text/plain",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if _loopback(client_address(request, trusted=trusted_proxies)):
        return None
    log.warning("refused /metrics to a client not on this machine (INTAKE_METRICS_TOKEN unset)")
    return plain_text(403, "metrics are served to this machine only")


def _bearer_matches(header: str | None, token: str) -> bool:
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        return False
    # Starlette decodes header bytes as latin-1, so this gets back exactly what was sent.
    return secrets.compare_digest(given.strip().encode("latin-1"), token.encode("utf-8"))


def _loopback(address: str) -> bool:
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    # An IPv4 client reached over an IPv6 socket shows as ::ffff:a.b.c.d.
    if isinstance(parsed, IPv6Address) and parsed.ipv4_mapped is not None:
        return parsed.ipv4_mapped.is_loopback
    return parsed.is_loopback
