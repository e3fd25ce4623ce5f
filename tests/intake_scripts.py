"""Witness scripts that walk the whole intake, shared by the desk, terminal and privacy tests."""

from __future__ import annotations

import re

REFERENCE = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}\b")

# English, safe now, victim, move now + locks ("1 3"): relocation, high priority.
ENGLISH_MOVE = [
    "hi",
    "1",  # English
    "1",  # safe now: yes
    "2",  # victim
    "1 3",  # move somewhere safe now + change locks
    "1",  # within the state
    "3",  # three people
    "3",  # later
    "1",  # text me here
    "evenings after 6",
    "someone keeps driving past my house",
    "bluebird",
    "SKIP",  # no danger word
    "1",  # send to a caseworker
]

# Spanish from the first message, not safe now: the fast path sends an urgent case at
# once, then the rest of the questions amend it: someone to talk to -> support.
SPANISH_SUPPORT = [
    "hola, necesito ayuda",
    "2",  # no estoy a salvo: the fast path
    "2",  # no me escriban hasta que yo escriba
    "OMITIR",  # dónde está
    "1",  # contestar las demás preguntas ahora
    "1",  # testigo
    "5",  # alguien con quien hablar
    "2",  # esta semana
    "OMITIR",
    "vi lo que pasó en la esquina",
    "OMITIR",
    "OMITIR",  # sin palabra de alarma
    "1",  # enviar
]

# English, safe, witness, locks only, later: home-security, normal priority.
ENGLISH_LOCKS = ["hello", "1", "1", "1", "3", "3", "1", "SKIP", "SKIP", "SKIP", "SKIP", "1"]


def with_story(script: list[str], story: str, *, code_word: str | None = None) -> list[str]:
    """ENGLISH_MOVE with the free-text story (and code word) replaced."""
    assert script is ENGLISH_MOVE
    changed = list(script)
    changed[10] = story
    if code_word is not None:
        changed[11] = code_word
    return changed
