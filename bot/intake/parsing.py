"""Reading what a witness typed, forgiving about case, accents, spacing and punctuation.

Everything here works on `normalize`d text: case-folded, accents stripped ("Sí" reads
as "si"), control and invisible characters gone, and punctuation or emoji around the
edges removed, so "STOP!", " stop " and "Stop." are the same word.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum

from bot.intake.model import Language
from bot.intake.script import Choice


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


KEYWORDS: Mapping[str, Keyword] = {
    # Twilio's own opt-out words, so our state agrees with what the carrier enforces.
    **dict.fromkeys(
        ("stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"),
        Keyword.STOP,
    ),
    **dict.fromkeys(("start", "unstop"), Keyword.START),
    **dict.fromkeys(("help", "ayuda", "info"), Keyword.HELP),
    **dict.fromkeys(("status", "estado"), Keyword.STATUS),
    **dict.fromkeys(("delete", "borrar"), Keyword.DELETE),
    **dict.fromkeys(("restart", "reiniciar"), Keyword.RESTART),
    **dict.fromkeys(("skip", "omitir", "saltar"), Keyword.SKIP),
    **dict.fromkeys(("english", "ingles"), Keyword.ENGLISH),
    **dict.fromkeys(("espanol", "spanish", "castellano"), Keyword.SPANISH),
}
SPANISH_KEYWORDS = frozenset(
    {"ayuda", "estado", "borrar", "reiniciar", "omitir", "saltar", "espanol", "castellano"}
)

_NUMBER_WORDS: Mapping[str, int] = {
    word: number
    for words in (
        "one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty",
        "uno dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce "
        "quince dieciseis diecisiete dieciocho diecinueve veinte",
    )
    for number, word in enumerate(words.split(), start=1)
} | {"una": 1}

_YES = frozenset({"yes", "y", "yeah", "yep", "yup", "si"})
_NO = frozenset({"no", "n", "nope", "not", "nah"})
_JUST_ME = frozenset(
    {"me", "just me", "only me", "me only", "alone", "myself", "just myself", "only myself"}
    | {"yo", "solo yo", "yo solo", "yo sola", "solo", "sola", "nomas yo", "nada mas yo"}
)

# Words that mark a message as Spanish or English, chosen not to occur in the other.
_SPANISH_MARKERS = frozenset(
    """hola buenas buenos buen dia dias tardes noches ayuda ayudame ayudeme ayudenme
    auxilio socorro necesito necesitamos necesita favor porfa gracias quiero queremos
    tengo tenemos estoy estamos soy somos miedo peligro testigo victima familia donde
    como que quien usted ustedes mi mis yo nosotros hablo habla espanol castellano
    senor senora mudarme casa amenaza amenazas vivo hijo hija hijos puede pueden
    informacion estado borrar reiniciar si pero tambien hermano hermana""".split()  # noqa: SIM905 - a long word list reads best as words
)
_ENGLISH_MARKERS = frozenset(
    """hi hello hey help need needs please i im my the is are you want can how what
    where who safe witness victim english thanks thank this that with from they we our
    brother sister mom dad family scared afraid""".split()  # noqa: SIM905 - as above
)
_SPANISH_CHARACTERS = frozenset("¿¡ñÑáíóúÁÍÓÚ")

# An answer to a numbered question is a few words; a paragraph is a story, not a choice,
# and reading one as "1" would put words in the witness's mouth.
MAX_ANSWER_WORDS = 30

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


def _phrase(words: Iterable[str]) -> str:
    return " " + " ".join(words) + " "


def _number(word: str) -> int | None:
    # The length check also keeps int() away from absurdly long digit strings.
    if word.isdecimal() and len(word) <= 3:
        return int(word)
    return _NUMBER_WORDS.get(word)


def parse_keyword(text: str) -> Keyword | None:
    """The keyword `text` is, if it is a single keyword word and nothing else."""
    word = normalize(text).replace("-", "").replace("_", "")
    return KEYWORDS.get(word)


def keyword_language(text: str) -> Language | None:
    """Spanish when the keyword itself is a Spanish word (AYUDA, BORRAR...)."""
    word = normalize(text)
    return Language.ES if word in SPANISH_KEYWORDS else None


def _named(choice: Choice, phrase: str) -> bool:
    return any(f" {word} " in phrase for word in choice.words)


def _mentions(choice: Choice, words: Sequence[str]) -> list[tuple[int, int]]:
    """Where `words` point at `choice`, as (start, end) word spans."""
    spans = [(i, i + 1) for i, word in enumerate(words) if _number(word) == choice.number]
    for alias in choice.words:
        size = len(alias.split())
        spans += [
            (i, i + size)
            for i in range(len(words) - size + 1)
            if " ".join(words[i : i + size]) == alias
        ]
    return spans


def parse_choice(text: str, choices: Sequence[Choice]) -> Choice | None:
    """The one option `text` points at by number, number word or label word; else None.

    A longer phrase outweighs a shorter one inside it, so "not safe" is no even though
    "safe" alone is yes; two options named side by side ("1 or 2") are unclear.
    """
    words = words_of(text)
    if len(words) > MAX_ANSWER_WORDS:
        return None
    found = [(c, span) for c in choices for span in set(_mentions(c, words))]
    kept = {
        choice.number
        for choice, (start, end) in found
        if not any(
            other is not choice and s <= start and end <= e and (s, e) != (start, end)
            for other, (s, e) in found
        )
    }
    chosen = [c for c in choices if c.number in kept]
    return chosen[0] if len(chosen) == 1 else None


def parse_choices(text: str, choices: Sequence[Choice]) -> tuple[Choice, ...] | None:
    """One or more options ("1 3", "1,3", "1 and 3", "1 y 3"); None if unclear or out of range."""
    valid = {c.number for c in choices}
    words = words_of(text)
    if len(words) > MAX_ANSWER_WORDS:
        return None
    picked: set[int] = set()
    for word in words:
        number = _number(word)
        if number is None:
            if word.isdecimal():
                return None
            continue
        if number in valid:
            picked.add(number)
        elif word.isdecimal() and {int(digit) for digit in word} <= valid:
            # "13" on a list of six can only mean 1 and 3.
            picked.update(int(digit) for digit in word)
        else:
            return None
    phrase = _phrase(words)
    picked.update(c.number for c in choices if _named(c, phrase))
    chosen = tuple(c for c in choices if c.number in picked)
    return chosen or None


def parse_count(text: str, *, low: int, high: int) -> int | None:
    """A single number of people from `low` to `high`, in digits or words; "just me" is 1."""
    words = words_of(text)
    if len(words) > MAX_ANSWER_WORDS:
        return None
    numbers = {n for n in map(_number, words) if n is not None}
    if any(word.isdecimal() and len(word) > 3 for word in words):
        return None
    if len(numbers) == 1:
        (number,) = numbers
        return number if low <= number <= high else None
    if not numbers and " ".join(words) in _JUST_ME:
        return 1
    return None


def is_yes(text: str) -> bool:
    """A clear yes ("yes", "Sí", "yes, erase it"), with no no in it."""
    words = words_of(text)
    return bool(words) and words[0] in _YES and not _NO & set(words)


def is_no(text: str) -> bool:
    """A clear no, and nothing more than a no."""
    words = words_of(text)
    return bool(words) and all(word in _NO for word in words)


def guess_language(text: str) -> Language | None:
    """Spanish or English when the words lean clearly one way; None when they do not."""
    words = set(words_of(text))
    spanish = len(words & _SPANISH_MARKERS) + (2 if _SPANISH_CHARACTERS & set(text) else 0)
    english = len(words & _ENGLISH_MARKERS)
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
