"""Case references: 8 random Crockford base32 characters, shown as XXXX-XXXX."""

from __future__ import annotations

import re
import secrets

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PATTERN = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")


def new_reference() -> str:
    """A random reference: it says nothing about how many cases exist or in what order."""
    # 32 letters: a random byte's low five bits pick one uniformly, so 8 bytes make one.
    body = "".join(CROCKFORD[byte % 32] for byte in secrets.token_bytes(8))
    return f"{body[:4]}-{body[4:]}"
