"""The words the intake understands, one lexicon per language.

A lexicon holds everything language-specific that reading an answer needs: keywords,
yes and no, negation and hedging, option synonyms per step, number, time and people
words, and the markers that tell its language apart. Entries are written as people
type them and normalized on load (case-folded, accents and apostrophes dropped), so
"llámeme", "llameme" and "LLÁMEME" are one entry. A third language is one more module
here plus its texts in script.py and messages.py.

Phrase syntax: words separated by spaces match consecutive words of an answer; a
phrase written with a leading "=" matches only when it is the whole answer ("=ya"
is "now" alone, but not the "ya" of "ya le dije").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bot.intake.model import Language


class Keyword(StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"
    STATUS = "status"
    DELETE = "delete"
    RESTART = "restart"
    SKIP = "skip"
    ENGLISH = "english"
    SPANISH = "spanish"
    EXIT = "exit"


_APOSTROPHES = re.compile(r"['’ʼ`´]")


def fold(text: str) -> str:
    """Case-folded, accent-free and apostrophe-free: the form every entry is kept in."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return " ".join(_APOSTROPHES.sub("", bare).split())


def words(text: str) -> frozenset[str]:
    """Entries written one per line or separated by "|", folded."""
    parts = re.split(r"[|\n]", text)
    return frozenset(fold(part) for part in parts if part.strip())


@dataclass(frozen=True)
class People:
    """How a household is described: who counts as one, who needs a number, what is a total."""

    # The witness themself: "me", "yo", "myself".
    self_words: frozenset[str]
    # One person each: "mom", "husband", "mi hija".
    one: frozenset[str]
    # Two people each: "parents", "mis papás", "twins".
    two: frozenset[str]
    # Several people whose number must be said: "kids", "hijos".
    group: frozenset[str]
    # A number beside these is everyone: "somos 4", "4 of us", "4 people", "4 en total".
    total_before: frozenset[str]
    total_after: frozenset[str]
    # A number beside these leaves the witness out: "4 not including me".
    excluding: frozenset[str]
    # "with my kids" / "con mis hijos": the witness is moving too.
    with_words: frozenset[str]
    # Only the witness: "just me", "yo sola", "alone".
    alone: frozenset[str]
    # Said with a number, it is a guess or a condition, not a count.
    vague: frozenset[str]


@dataclass(frozen=True)
class Lexicon:
    language: Language
    keywords: Mapping[str, Keyword]
    yes: frozenset[str]
    no: frozenset[str]
    # Words that negate what follows ("not", "never", "no"); their reach is a few words,
    # and it ends at punctuation or a boundary word ("but", "just", "pero", "solo").
    negators: frozenset[str]
    boundaries: frozenset[str]
    # Words that make an answer a guess ("maybe", "creo que", "i guess").
    hedges: frozenset[str]
    # Words that carry no answer around numbers or options ("please", "opción").
    fillers: frozenset[str]
    # Short words skipped when measuring how far a negation reaches ("me", "to", "la").
    function_words: frozenset[str]
    # "and", "y", "or": they join picks in a list of numbers.
    connectors: frozenset[str]
    numbers: Mapping[str, int]
    # Per step, per stored value: the phrases that name that option.
    options: Mapping[str, Mapping[str, frozenset[str]]]
    people: People
    # Answers that decline a free-text question ("skip", "prefiero no decir").
    declines: frozenset[str]
    # Asking to change an answer in the summary: "change", "cambiar", "wrong", "mal".
    change_words: frozenset[str]
    # Per answer step, words that name it in the summary ("people" -> household).
    step_names: Mapping[str, frozenset[str]]
    # Words common in this language and rare in the others, for telling them apart.
    markers: frozenset[str]
    # Everyday words that are never corrected toward a lexicon word ("there" is not
    # "three", "cell" is not "call").
    common: frozenset[str]
    emoji: Mapping[str, str] = field(default_factory=dict)


def option_table(*pairs: tuple[str, str]) -> dict[str, frozenset[str]]:
    return {value: words(text) for value, text in pairs}


def numbers(names: Iterable[str], *, start: int = 1) -> dict[str, int]:
    return {fold(name): n for n, name in enumerate(names, start=start)}


def _load() -> dict[Language, Lexicon]:
    from bot.intake.lexicon.en import ENGLISH
    from bot.intake.lexicon.es import SPANISH

    return {lexicon.language: lexicon for lexicon in (ENGLISH, SPANISH)}


# Every language the program speaks; readers consult all of them, so a Spanish word in
# an English conversation (and Spanglish) is still understood.
LEXICONS: Mapping[Language, Lexicon] = _load()
