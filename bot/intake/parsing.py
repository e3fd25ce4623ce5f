"""Reading what a witness typed, forgiving about case, accents, spacing and punctuation.

Everything here works on `normalize`d text: case-folded, accents stripped ("Sí" reads
as "si"), control and invisible characters gone, and punctuation or emoji around the
edges removed, so "STOP!", " stop " and "Stop." are the same word.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from bot.intake.lexicon import LEXICONS, Keyword
from bot.intake.model import Language

KEYWORDS: Mapping[str, Keyword] = {
    word: keyword for lexicon in LEXICONS.values() for word, keyword in lexicon.keywords.items()
}
# Which language each keyword word belongs to ("ayuda" is Spanish), for the first reply.
_KEYWORD_LANGUAGE: Mapping[str, Language] = {
    word: lexicon.language for lexicon in LEXICONS.values() for word in lexicon.keywords
}
_SPANISH_CHARACTERS = frozenset("¿¡ñÑáíóúÁÍÓÚ")


_DROPPED_CATEGORIES = frozenset({"Mn", "Me", "Cf", "Cs", "Co", "Cn"})
_WORD = re.compile(r"[^\W_]+")
_APOSTROPHES = re.compile(r"['’ʼ`´]")


def _is_edge(ch: str) -> bool:
    """Punctuation, symbols (emoji included) and spaces, which never change an answer."""
    return unicodedata.category(ch)[0] in "PSZ" or ch.isspace()


def normalize(text: str) -> str:
    """Case-folded, accent-free, single-spaced text with its edges trimmed of punctuation."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(
        " " if unicodedata.category(ch) == "Cc" else ch
        for ch in decomposed
        if unicodedata.category(ch) not in _DROPPED_CATEGORIES
    )
    spaced = " ".join(kept.split())
    start, end = 0, len(spaced)
    while start < end and _is_edge(spaced[start]):
        start += 1
    while end > start and _is_edge(spaced[end - 1]):
        end -= 1
    return spaced[start:end]


def words_of(text: str) -> list[str]:
    """The normalized words of `text`; "don't" is one word, "1,3" two."""
    return _WORD.findall(_APOSTROPHES.sub("", normalize(text)))


def parse_keyword(text: str) -> Keyword | None:
    """The keyword `text` is, if it is a single keyword word and nothing else."""
    word = normalize(text).replace("-", "").replace("_", "")
    return KEYWORDS.get(word)


def keyword_language(text: str) -> Language | None:
    """Spanish when the keyword itself is a Spanish word (AYUDA, BORRAR, ALTO...)."""
    word = normalize(text).replace("-", "").replace("_", "")
    language = _KEYWORD_LANGUAGE.get(word)
    return language if language is not Language.EN else None


def _yes_no(kind: str) -> frozenset[str]:
    return frozenset().union(*(getattr(lexicon, kind) for lexicon in LEXICONS.values()))


def is_yes(text: str) -> bool:
    """A clear yes ("yes", "Sí", "yes, erase it"), with no no in it."""
    words = words_of(text)
    return bool(words) and words[0] in _yes_no("yes") and not _yes_no("no") & set(words)


def is_no(text: str) -> bool:
    """A clear no, and nothing more than a no."""
    words = words_of(text)
    return bool(words) and all(word in _yes_no("no") for word in words)


def guess_language(text: str) -> Language | None:
    """Spanish or English when the words lean clearly one way; None when they do not."""
    words = set(words_of(text))
    markers = {lexicon.language: lexicon.markers for lexicon in LEXICONS.values()}
    spanish = len(words & markers[Language.ES]) + (2 if _SPANISH_CHARACTERS & set(text) else 0)
    english = len(words & markers[Language.EN])
    if spanish > english:
        return Language.ES
    if english > spanish:
        return Language.EN
    return None


def clean_free_text(text: str, *, limit: int) -> str:
    """The witness's own words as stored: no control characters, trimmed, at most `limit`."""
    kept = "".join(
        ch
        for ch in text
        # Surrogates cannot be stored as UTF-8; newer emoji may be unassigned here, so stay.
        if ch in "\n\t" or unicodedata.category(ch) not in {"Cc", "Cs"}
    )
    return kept.strip()[:limit].strip()


def has_words(text: str) -> bool:
    """Whether there is anything in `text` beyond spaces and control characters."""
    return bool(clean_free_text(text, limit=1))
