"""How many SMS segments a text costs, so every prompt can be held to two.

A message of only GSM-7 characters (3GPP TS 23.038) fits 160 characters in one segment,
or 153 per segment once split; any other character turns the whole message into UCS-2,
70 UTF-16 units alone or 67 per segment. Spanish á, í, ó and ú are not GSM-7 (é, ñ, ¿
and ¡ are), so one accent can cut a message's room by more than half.
"""

from __future__ import annotations

from enum import StrEnum

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each costs an escape plus the character.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

MAX_PROMPT_SEGMENTS = 2


class Encoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


_SIZES = {
    # (one segment alone, each segment of a split message)
    Encoding.GSM7: (160, 153),
    Encoding.UCS2: (70, 67),
}


def encoding(text: str) -> Encoding:
    """The encoding a carrier must use for this text."""
    allowed = GSM7_BASIC | GSM7_EXTENSION
    return Encoding.GSM7 if all(ch in allowed for ch in text) else Encoding.UCS2


def _units(text: str, used: Encoding) -> list[int]:
    """What each character costs; a unit pair is never split across two segments."""
    if used is Encoding.GSM7:
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def segment_count(text: str) -> int:
    """Segments needed to send `text`; an empty message still costs one."""
    used = encoding(text)
    alone, split = _SIZES[used]
    units = _units(text, used)
    if sum(units) <= alone:
        return 1
    segments, room = 1, split
    for cost in units:
        if cost > room:
            segments, room = segments + 1, split
        room -= cost
    return segments


def fits(text: str, *, segments: int = MAX_PROMPT_SEGMENTS) -> bool:
    """Whether `text` goes out in at most `segments` SMS segments."""
    return segment_count(text) <= segments
