"""Reading what witnesses type: normalization, keywords, choices, numbers, language."""

from __future__ import annotations

import pytest

from bot.intake.model import Language
from bot.intake.parsing import (
    Keyword,
    clean_free_text,
    guess_language,
    has_words,
    is_no,
    is_yes,
    keyword_language,
    normalize,
    parse_choice,
    parse_choices,
    parse_count,
    parse_keyword,
    words_of,
)
from bot.intake.script import STEP_BY_NAME

ROLE = STEP_BY_NAME["role"].choices
NEEDS = STEP_BY_NAME["needs"].choices
SAFE = STEP_BY_NAME["safe_now"].choices


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
    ("text", "number"),
    [
        ("1", 1),
        ("one", 1),
        ("uno", 1),
        ("#2", 2),
        ("option 2", 2),
        ("I'm a witness", 1),
        ("VÍCTIMA", 2),
        ("familia", 3),
        ("4)", 4),
    ],
)
def test_parse_choice(text: str, number: int) -> None:
    choice = parse_choice(text, ROLE)
    assert choice is not None and choice.number == number


@pytest.mark.parametrize("text", ["", "5", "1 or 2", "witness and victim", "12", "🙂"])
def test_parse_choice_refuses_what_is_unclear(text: str) -> None:
    assert parse_choice(text, ROLE) is None


@pytest.mark.parametrize(
    ("text", "yes"), [("yes", True), ("Sí", True), ("si", True), ("no", False), ("not safe", False)]
)
def test_yes_no_choices(text: str, yes: bool) -> None:
    choice = parse_choice(text, SAFE)
    assert choice is not None and (choice.value == "yes") is yes


@pytest.mark.parametrize(
    ("text", "yes"),
    [
        ("I'm safe", True),
        ("estoy bien", True),
        ("not fine", False),
        ("I am not safe", False),
        ("no estoy a salvo", False),
        ("no estoy bien", False),
        ("en peligro", False),
    ],
)
def test_a_longer_phrase_outweighs_the_word_inside_it(text: str, yes: bool) -> None:
    choice = parse_choice(text, SAFE)
    assert choice is not None and (choice.value == "yes") is yes


@pytest.mark.parametrize("text", ["yes no", "ok no", "1 2", "safe or not"])
def test_mixed_yes_and_no_is_unclear(text: str) -> None:
    assert parse_choice(text, SAFE) is None


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("1 3", [1, 3]),
        ("1,3", [1, 3]),
        ("1, 3", [1, 3]),
        ("1 and 3", [1, 3]),
        ("1 y 3", [1, 3]),
        ("1/3", [1, 3]),
        ("3 1 3", [1, 3]),
        ("one and three", [1, 3]),
        ("uno y tres", [1, 3]),
        ("135", [1, 3, 5]),
        ("I need 2", [2]),
        ("cerraduras", [3]),
        ("6", [6]),
    ],
)
def test_parse_choices(text: str, numbers: list[int]) -> None:
    chosen = parse_choices(text, NEEDS)
    assert chosen is not None and [c.number for c in chosen] == numbers


@pytest.mark.parametrize("text", ["", "0", "7", "1 7", "seven", "189", "9" * 5000, "maybe"])
def test_parse_choices_refuses_out_of_range_or_nothing(text: str) -> None:
    assert parse_choices(text, NEEDS) is None


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("1", 1),
        ("20", 20),
        ("three", 3),
        ("tres", 3),
        ("diecinueve", 19),
        ("5 people", 5),
        ("somos 4", 4),
        ("just me", 1),
        ("solo yo", 1),
        ("0", None),
        ("21", None),
        ("3 or 4", None),
        ("a lot", None),
        ("", None),
        ("1" * 5000, None),
    ],
)
def test_parse_count(text: str, count: int | None) -> None:
    assert parse_count(text, low=1, high=20) == count


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


def test_a_paragraph_is_not_a_choice() -> None:
    story = "I saw it happen and I am a witness " * 10

    assert parse_choice(story, ROLE) is None
    assert parse_choices("1 " * 31, NEEDS) is None
    assert parse_count("we are 3 " * 20, low=1, high=20) is None
    assert parse_choice("I am a witness", ROLE) is not None
