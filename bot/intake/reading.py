"""Understanding one answer: understood, unsure (confirm it), or not understood (ask again).

An answer is tokenized (case, accents and apostrophes folded; emoji read as words; typos
of longer words corrected toward the lexicon with rapidfuzz), then the lexicon's phrases
are found in it. A longer phrase outweighs a shorter one inside it ("not sure" is not
"sure"); a negator reaches a few words forward to the end of its clause ("no llamar,
solo mensajes" refuses calls and asks for texts); a hedge ("maybe", "creo que") turns
an answer into a question back. Numbers pick options only when the answer is nothing
but numbers; inside a sentence they count things ("me and my 2 kids" is three people).

The safety steps never guess. An unclear answer to "are you safe now" is read as not
safe, to be confirmed; "call me" is taken only when said plainly, with no negation,
hedge or correction of a typo.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.intake.lexicon import LEXICONS, Lexicon, fold
from bot.intake.model import Language

# An answer to a question is a few words; a paragraph is a story, not a choice, and
# reading one as an option would put words in the witness's mouth.
MAX_ANSWER_WORDS = 40
# How many words a negator reaches ("don't ever call me" still refuses the call).
NEGATION_REACH = 3
# Typos are corrected only in words this long; shorter ones are too close to other words.
FUZZY_MIN_LENGTH = 5
FUZZY_TWO_EDITS_LENGTH = 9

YES, NO = "yes", "no"
# A need to move, before "for now" or "permanently" says which.
MOVE = "move"
MOVE_NOW, MOVE_PERMANENT = "move_now", "move_permanent"
CALL = "call"

TokenKind = Literal["word", "number", "mark"]
_TOKEN = re.compile(r"[0-9]+|[^\W\d_]+|[,.;:!?¿¡/\n()]")
_MARKS_THAT_END_A_CLAUSE = frozenset(",.;:!?¿¡/\n()")


@dataclass(frozen=True)
class Reading:
    """What an answer said: a value taken for sure, a value to confirm, or nothing."""

    value: str | None
    sure: bool = True

    @property
    def understood(self) -> bool:
        return self.value is not None and self.sure

    @property
    def unsure(self) -> bool:
        return self.value is not None and not self.sure


NOT_UNDERSTOOD = Reading(None, sure=False)


def understood(value: str) -> Reading:
    return Reading(value, sure=True)


def unsure(value: str) -> Reading:
    return Reading(value, sure=False)


@dataclass(frozen=True)
class Token:
    text: str
    kind: TokenKind
    fuzzy: bool = False


@dataclass(frozen=True)
class Span:
    """Where a phrase of the lexicon was found: what it means and which tokens it covers."""

    meaning: str  # an option value, or one of the markers below
    start: int
    end: int
    fuzzy: bool = False

    def within(self, other: Span) -> bool:
        return (
            other.start <= self.start
            and self.end <= other.end
            and (other.end - other.start) > (self.end - self.start)
        )


HEDGE, FILLER = "~hedge", "~filler"


# Tokens


def lexicons_for(language: Language | None) -> list[Lexicon]:
    """Every lexicon, the conversation's own first."""
    return list(_lexicons_for(language))


@cache
def _lexicons_for(language: Language | None) -> tuple[Lexicon, ...]:
    first = [LEXICONS[language]] if language is not None and language in LEXICONS else []
    return tuple(first + [lex for lang, lex in LEXICONS.items() if lang is not language])


@cache
def _emoji() -> Mapping[str, str]:
    table: dict[str, str] = {}
    for lexicon in LEXICONS.values():
        table.update(lexicon.emoji)
    return table


@cache
def _known_words() -> frozenset[str]:
    """Words taken as written, never corrected."""
    known: set[str] = set()
    for lex in LEXICONS.values():
        for group in (
            lex.common,
            lex.function_words,
            lex.fillers,
            lex.negators,
            lex.hedges,
            lex.connectors,
            lex.markers,
            lex.boundaries,
            lex.yes,
            lex.no,
            lex.declines,
        ):
            known.update(word for phrase in group for word in phrase.lstrip("=").split())
        known.update(lex.numbers)
        known.update(lex.keywords)
    return frozenset(known | _vocabulary())


@cache
def _vocabulary() -> frozenset[str]:
    """The words a typo may be corrected to: the ones that carry an answer."""
    found: set[str] = set()
    for lex in LEXICONS.values():
        phrases: set[str] = set()
        for table in lex.options.values():
            for group in table.values():
                phrases |= group
        people = lex.people
        phrases |= people.one | people.two | people.group
        for phrase in phrases:
            found.update(word for word in phrase.lstrip("=").split() if len(word) >= 4)
    everyday = set().union(*(lex.common | lex.function_words for lex in LEXICONS.values()))
    return frozenset(found - everyday)


@cache
def _vocabulary_list() -> list[str]:
    return sorted(_vocabulary())


def _corrected(word: str) -> str | None:
    """The one lexicon word `word` is a typo of, if it is unambiguously one."""
    if len(word) < FUZZY_MIN_LENGTH:
        return None
    limit = 2 if len(word) >= FUZZY_TWO_EDITS_LENGTH else 1
    found = process.extract(
        word, _vocabulary_list(), scorer=OSA.distance, score_cutoff=limit, limit=3
    )
    if not found:
        return None
    best = min(distance for _, distance, _ in found)
    closest = {choice for choice, distance, _ in found if distance == best}
    return closest.pop() if len(closest) == 1 else None


def tokens(text: str) -> list[Token]:
    """The words, numbers and clause marks of an answer, typos corrected where clear."""
    emoji = _emoji()
    spelled = "".join(f" {emoji[ch]} " if ch in emoji else ch for ch in text)
    # A line break (texts of a burst are joined by one) ends a clause like a full stop.
    spelled = spelled.replace("\n", " . ")
    found: list[Token] = []
    for raw in _TOKEN.findall(fold(_visible(spelled))):
        if raw.isdecimal():
            found.append(Token(raw, "number"))
        elif raw in _MARKS_THAT_END_A_CLAUSE:
            found.append(Token(raw, "mark"))
        elif raw in _known_words():
            found.append(Token(raw, "word"))
        else:
            fixed = _corrected(raw)
            found.append(Token(fixed, "word", fuzzy=True) if fixed else Token(raw, "word"))
    return found


def _visible(text: str) -> str:
    # Control and invisible characters become spaces; a stray one never joins two words.
    return "".join(
        " " if unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn"} else ch for ch in text
    )


def words_only(found: Sequence[Token]) -> list[Token]:
    return [t for t in found if t.kind != "mark"]


def number_of(token: Token, language: Language | None = None) -> int | None:
    """The number a token says, in digits or in words of any language."""
    if token.kind == "number":
        # The length check keeps int() away from absurdly long digit strings.
        return int(token.text) if len(token.text) <= 3 else None
    for lex in lexicons_for(language):
        if token.text in lex.numbers:
            return lex.numbers[token.text]
    return None


# Phrases


@dataclass(frozen=True)
class Phrase:
    meaning: str
    words: tuple[str, ...]
    whole: bool  # only when it is the whole answer


def phrases_of(meaning: str, group: Iterable[str]) -> list[Phrase]:
    return [
        Phrase(meaning, tuple(entry.lstrip("=").split()), entry.startswith("="))
        for entry in group
        if entry.lstrip("=").strip()
    ]


class PhraseBook:
    """Phrases indexed by their first word, so finding them costs a lookup per word."""

    def __init__(self, phrases: Iterable[Phrase]) -> None:
        self.by_first: dict[str, list[Phrase]] = {}
        self.wholes: dict[tuple[str, ...], list[Phrase]] = {}
        for phrase in phrases:
            if phrase.whole:
                self.wholes.setdefault(phrase.words, []).append(phrase)
            else:
                self.by_first.setdefault(phrase.words[0], []).append(phrase)


@cache
def book(meaning: str, group: frozenset[str]) -> PhraseBook:
    """A lexicon group as a PhraseBook (lexicon groups are frozen, so this is kept)."""
    return PhraseBook(phrases_of(meaning, group))


# Questions answered with the plain yes and no of the lexicons, and what each means there.
YES_NO_MEANINGS: Mapping[str, tuple[str, str]] = {
    "safe_now": (YES, NO),
    "did_you_mean": (YES, NO),
    "confirm": ("send", NO),
}


@cache
def _step_phrases(step: str, language: Language | None) -> PhraseBook:
    """The option phrases of a step, plus the hedges and filler phrases that compete."""
    found: list[Phrase] = []
    for lex in lexicons_for(language):
        for value, group in lex.options.get(step, {}).items():
            found += phrases_of(value, group)
    if step in YES_NO_MEANINGS:
        yes, no = YES_NO_MEANINGS[step]
        for lex in lexicons_for(language):
            found += phrases_of(yes, lex.yes) + phrases_of(no, lex.no)
    for lex in lexicons_for(language):
        found += phrases_of(HEDGE, lex.hedges)
        found += phrases_of(FILLER, (f for f in lex.fillers if " " in f))
    return PhraseBook(found)


@cache
def _fillers(language: Language | None) -> frozenset[str]:
    return frozenset().union(*(lex.fillers for lex in lexicons_for(language)))


def _significant(found: Sequence[Token], language: Language | None) -> list[str]:
    """The words of an answer that say something: no marks, no single-word fillers."""
    fillers = _fillers(language)
    return [t.text for t in found if t.kind != "mark" and t.text not in fillers]


def spans(
    found: Sequence[Token], phrases: PhraseBook | Iterable[Phrase], language: Language | None
) -> list[Span]:
    """Every phrase found, minus those inside a longer phrase."""
    index = phrases if isinstance(phrases, PhraseBook) else PhraseBook(phrases)
    texts = [t.text for t in found]
    hits: list[Span] = [
        Span(phrase.meaning, 0, len(found))
        for phrase in index.wholes.get(tuple(_significant(found, language)), ())
    ]
    for start, first in enumerate(texts):
        for phrase in index.by_first.get(first, ()):
            end = start + len(phrase.words)
            if end <= len(texts) and tuple(texts[start:end]) == phrase.words:
                fuzzy = any(t.fuzzy for t in found[start:end])
                hits.append(Span(phrase.meaning, start, end, fuzzy))
    hits = list(dict.fromkeys(hits))
    kept = [hit for hit in hits if not any(hit.within(other) for other in hits)]
    # Where an option and a hedge are the same words ("not sure", "no sé"), the option
    # is what the witness meant.
    options = {(s.start, s.end) for s in kept if not s.meaning.startswith("~")}
    return [s for s in kept if not (s.meaning == HEDGE and (s.start, s.end) in options)]


def _covered(index: int, found_spans: Sequence[Span]) -> bool:
    return any(s.start <= index < s.end for s in found_spans)


@dataclass(frozen=True)
class Rules:
    """The grammar words of every language, the conversation's own first."""

    negators: frozenset[str]
    boundaries: frozenset[str]
    function_words: frozenset[str]
    fillers: frozenset[str]
    connectors: frozenset[str]


@cache
def rules(language: Language | None) -> Rules:
    lexicons = lexicons_for(language)

    def union(name: str) -> frozenset[str]:
        return frozenset().union(*(getattr(lex, name) for lex in lexicons))

    return Rules(
        negators=union("negators"),
        boundaries=union("boundaries"),
        function_words=union("function_words"),
        fillers=union("fillers"),
        connectors=union("connectors"),
    )


def negated(found: Sequence[Token], span: Span, kept: Sequence[Span], grammar: Rules) -> bool:
    """Whether a negator before the phrase (or a "no" right after it) reaches it."""
    reach = 0
    index = span.start - 1
    joined = False
    while index >= 0 and reach < NEGATION_REACH:
        token = found[index]
        if token.kind == "mark" or token.text in grammar.boundaries:
            break
        if _covered(index, kept):
            # A negation reaches over another option only when the two are coordinated
            # ("don't call or text"), not across a new clause ("not locks i need to move").
            if not joined:
                break
            reach += 1
        elif token.text in grammar.negators:
            return True
        elif token.text not in grammar.function_words:
            reach += 1
        joined = token.text in grammar.connectors
        index -= 1
    after = span.end
    if after < len(found) and found[after].text in {"?", ","}:
        after += 1  # "call? no", "llamar, no"
    if after < len(found) and found[after].text in {"no", "not"} and not _covered(after, kept):
        ends = after + 1 == len(found) or found[after + 1].kind == "mark"
        return ends or found[after + 1].text in grammar.boundaries
    return False


@dataclass(frozen=True)
class Mentions:
    """The options an answer names, split by whether a negator reaches them."""

    positive: frozenset[str]
    negative: frozenset[str]
    hedged: bool
    fuzzy: bool
    spans: tuple[Span, ...]


def mentions(
    found: Sequence[Token], step: str, language: Language | None, *, yes_no: bool = False
) -> Mentions:
    grammar = rules(language)
    kept = spans(found, _step_phrases(step, language), language)
    if yes_no:
        kept = _no_words_as_negators(found, kept, grammar)
    options = [s for s in kept if not s.meaning.startswith("~")]
    positive: set[str] = set()
    negative: set[str] = set()
    for span in options:
        (negative if negated(found, span, options, grammar) else positive).add(span.meaning)
    question = bool(found) and found[-1].text == "?"
    return Mentions(
        positive=frozenset(positive),
        negative=frozenset(negative),
        hedged=question or any(s.meaning == HEDGE for s in kept),
        fuzzy=any(s.fuzzy for s in options),
        spans=tuple(kept),
    )


def _no_words_as_negators(found: Sequence[Token], kept: list[Span], grammar: Rules) -> list[Span]:
    """A bare "no"/"not" that leads into another option negates it ("not safe", "no estoy a
    salvo" are found whole; this is for the rest, like "no i dont feel safe at all")."""
    result = []
    for span in kept:
        single = span.end - span.start == 1 and found[span.start].text in grammar.negators
        following = [
            s
            for s in kept
            if s is not span and not s.meaning.startswith("~") and s.start >= span.end
        ]
        leads = any(
            all(found[i].kind != "mark" for i in range(span.end, s.start))
            and s.start - span.end <= NEGATION_REACH
            for s in following
        )
        if not (single and leads):
            result.append(span)
    return result


# Numbers that pick options


def picked_numbers(
    found: Sequence[Token], kept: Sequence[Span], language: Language | None
) -> list[int] | None:
    """The numbers of an answer that is nothing but picks ("1 3", "uno y tres", "#2 please");
    None when numbers sit inside a sentence, where they count things instead."""
    grammar = rules(language)
    numbers: list[int] = []
    for index, token in enumerate(found):
        number = number_of(token, language)
        if number is not None and not _covered(index, [s for s in kept if s.meaning != FILLER]):
            if token.kind == "number" and len(token.text) > 1 and number > 20:
                numbers.extend(int(digit) for digit in token.text)
            else:
                numbers.append(number)
            continue
        if token.kind == "mark" or _covered(index, kept):
            continue
        if token.text in grammar.fillers or token.text in grammar.connectors:
            continue
        if _is_yes_word(token.text, language):
            continue
        return None
    return numbers or None


def _is_yes_word(word: str, language: Language | None) -> bool:
    return any(word in lex.yes for lex in lexicons_for(language))
