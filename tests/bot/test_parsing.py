"""Reading what witnesses type: normalization, keywords, yes and no, language."""

from __future__ import annotations

import pytest

from bot.intake.lexicon import Keyword
from bot.intake.model import Language
from bot.intake.parsing import (
    clean_free_text,
    guess_language,
    has_words,
    is_no,
    is_yes,
    keyword_language,
    normalize,
    parse_keyword,
    words_of,
)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("  Sí  ", "si"),
        ("STOP!!!", "stop"),
        ("¿Qué?", "que"),
        ("Español", "espanol"),
        ("1️⃣", "1"),
        ("１", "1"),
        ("\t1\n", "1"),
        ("1\n3", "1 3"),
        ("🙏 help 🙏", "help"),
        ("he\u200bllo", "hello"),
        ("", ""),
        ("...", ""),
    ],
)
def test_normalize(raw: str, normal: str) -> None:
    assert normalize(raw) == normal


def test_words_keep_contractions_whole() -> None:
    assert words_of("Don't know, 1,3") == ["dont", "know", "1", "3"]


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("STOP", Keyword.STOP),
        ("stop.", Keyword.STOP),
        (" Unsubscribe ", Keyword.STOP),
        ("opt-out", Keyword.STOP),
        ("OPTOUT", Keyword.STOP),
        ("Quit", Keyword.STOP),
        ("unstop", Keyword.START),
        ("Start", Keyword.START),
        ("help?", Keyword.HELP),
        ("AYUDA", Keyword.HELP),
        ("Estado", Keyword.STATUS),
        ("borrar", Keyword.DELETE),
        ("DELETE", Keyword.DELETE),
        ("Restart", Keyword.RESTART),
        ("reiniciar", Keyword.RESTART),
        ("skip", Keyword.SKIP),
        ("Omitir", Keyword.SKIP),
        ("saltar", Keyword.SKIP),
        ("ESPAÑOL", Keyword.SPANISH),
        ("inglés", Keyword.ENGLISH),
        ("stop it", None),
        ("please help", None),
        ("stopped", None),
        ("", None),
    ],
)
def test_keywords_are_single_words(text: str, keyword: Keyword | None) -> None:
    assert parse_keyword(text) is keyword


def test_spanish_keywords_say_so() -> None:
    assert keyword_language("AYUDA") is Language.ES
    assert keyword_language("HELP") is None


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("hola", Language.ES),
        ("Buenas tardes, necesito ayuda por favor", Language.ES),
        ("¿me ayudan?", Language.ES),
        ("Sí", Language.ES),
        ("hi", Language.EN),
        ("hello, I need help please", Language.EN),
        ("hi, necesito ayuda", Language.ES),
        ("ok", None),
        ("1", None),
        ("", None),
    ],
)
def test_guess_language(text: str, language: Language | None) -> None:
    assert guess_language(text) is language


@pytest.mark.parametrize("text", ["yes", "YES!", "sí", "y", "yes, erase it", "si borrar"])
def test_is_yes(text: str) -> None:
    assert is_yes(text)


@pytest.mark.parametrize("text", ["", "no", "yes no", "maybe", "1", "not yes"])
def test_is_not_yes(text: str) -> None:
    assert not is_yes(text)


def test_is_no() -> None:
    assert is_no("No.") and is_no("nope")
    assert not is_no("no, call me tomorrow") and not is_no("")


def test_clean_free_text() -> None:
    assert clean_free_text("  a\x00b\tc\nd\x1b  ", limit=100) == "ab\tc\nd"
    assert clean_free_text("🙏🏽 gracias", limit=100) == "🙏🏽 gracias"
    assert clean_free_text("x" * 50, limit=10) == "x" * 10
    assert clean_free_text("a\ud800b", limit=10) == "ab"


def test_has_words() -> None:
    assert has_words("🙂") and has_words("a")
    assert not has_words("") and not has_words(" \n\x00 ")
