"""Where a request came from, for throttling sign-ins: the one place that decides it.

The peer's own address counts, unless the peer is a proxy named in INTAKE_TRUSTED_PROXIES:
then X-Forwarded-For is read from the right (each proxy appends the address it saw),
passing over the trusted proxies, and the first address not among them is the client.
What a client writes into X-Forwarded-For itself sits further left and is never reached,
so nobody can pick the address their failed sign-ins count against. The server must not
rewrite the peer from the header first (uvicorn runs with proxy_headers off).
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from starlette.requests import Request

UNKNOWN = "unknown"
# An entry longer than any address is not one; it is cut before it is hashed.
MAX_ADDRESS = 64


def client_address(request: Request, *, trusted: Sequence[IPv4Network | IPv6Network]) -> str:
    """The address sign-in failures are counted against."""
    peer = request.client.host if request.client else UNKNOWN
    if not _trusted(peer, trusted):
        return peer
    hops = [
        hop.strip()
        for header in request.headers.getlist("x-forwarded-for")
        for hop in header.split(",")
    ]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop[:MAX_ADDRESS] or UNKNOWN
    # Only trusted proxies all the way: the leftmost one is as far as anyone can tell.
    return (hops[0] if hops else peer)[:MAX_ADDRESS] or UNKNOWN


def _trusted(address: str, trusted: Sequence[IPv4Network | IPv6Network]) -> bool:
    parsed = _address(address)
    return parsed is not None and any(parsed in network for network in trusted)


def _address(text: str) -> IPv4Address | IPv6Address | None:
    try:
        parsed = ip_address(text)
    except ValueError:
        return None
    # An IPv4 client reached over an IPv6 socket shows as ::ffff:a.b.c.d.
    if isinstance(parsed, IPv6Address) and parsed.ipv4_mapped is not None:
        return parsed.ipv4_mapped
    return parsed
