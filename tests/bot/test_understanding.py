"""Reading one answer: options, numbers, negation, hedges, typos, counts, the summary."""

from __future__ import annotations

import pytest

from bot.intake.lexicon import LEXICONS, Keyword
from bot.intake.model import Language
from bot.intake.reading import NOT_UNDERSTOOD, Reading, tokens
from bot.intake.script import STEP_BY_NAME
from bot.intake.understanding import read, read_confirm, read_yes_no

EN, ES = Language.EN, Language.ES


def reads(step: str, text: str, language: Language = EN) -> Reading:
    return read(STEP_BY_NAME[step], text, language)


def taken(step: str, text: str, language: Language = EN) -> str | None:
    """The value when understood for sure; None otherwise."""
    reading = reads(step, text, language)
    return reading.value if reading.understood else None


# The quotes that were misread before, each as the witness meant it


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("please don't call me", EN),
        ("dont call", EN),
        ("no me llamen", ES),
        ("never call this number he checks my phone", EN),
        ("no quiero que me llamen", ES),
        ("Don't ever call me", EN),
        ("call? no", EN),
        ("llamadas no", ES),
    ],
)
def test_a_refused_call_is_never_a_call(text: str, language: Language) -> None:
    assert reads("contact", text, language).value != "call"


@pytest.mark.parametrize(
    ("text", "language", "value"),
    [
        ("no llamar, solo mensajes", ES, "text_here"),
        ("dont call just text", EN, "text_here"),
        ("never call this number he checks my phone", EN, "only_when_i_text_first"),
        ("call me", EN, "call"),
        ("llámame", ES, "call"),
        ("llámeme", ES, "call"),
        ("márcame", ES, "call"),
        ("2", EN, "call"),
    ],
)
def test_contact(text: str, language: Language, value: str) -> None:
    assert taken("contact", text, language) == value


@pytest.mark.parametrize("text", ["maybe call?", "call or text idk", "calling is ok i guess"])
def test_a_hedged_call_is_not_consent(text: str) -> None:
    assert not reads("contact", text).understood


def test_a_corrected_typo_is_never_consent_to_a_call() -> None:
    # "callme" is one edit from "call me"'s words only after correction: never taken plainly.
    reading = reads("contact", "calll")
    assert not reading.understood


@pytest.mark.parametrize(
    ("text", "language"),
    [("i dont feel safe", EN), ("no me siento segura", ES), ("not really", EN), ("nel", ES)],
)
def test_not_feeling_safe_is_not_safe(text: str, language: Language) -> None:
    assert reads("safe_now", text, language).value == "no"


@pytest.mark.parametrize(
    "text", ["i think so", "kind of", "yes but he keeps calling me", "safe-ish", "idk", "🤷", ""]
)
def test_an_unclear_safe_now_counts_as_not_safe_and_is_confirmed(text: str) -> None:
    assert reads("safe_now", text) == Reading("no", sure=False)


@pytest.mark.parametrize("text", ["yes", "Sí", "👍", "1", "im safe", "estoy a salvo"])
def test_only_a_plain_yes_is_safe(text: str) -> None:
    assert taken("safe_now", text, ES if "í" in text else EN) == "yes"


@pytest.mark.parametrize(
    ("text", "language", "needs"),
    [
        ("locks and moving", EN, "move_now, locks"),
        ("cambiar chapas y mudarme", ES, "move_now, locks"),
        ("I need to move", EN, "move_now"),
        ("relocate", EN, "move_now"),
        ("necesito mudarme", ES, "move_now"),
        ("mudanza", ES, "move_now"),
        ("a safe place to stay tonight", EN, "move_now"),
        ("we have to get out of this apartment", EN, "move_now"),
        ("reloacte", EN, "move_now"),
        ("not locks, I need to move", EN, "move_now"),
        ("i dont need money just locks", EN, "locks"),
        ("move permanently", EN, "move_permanent"),
        ("mudarme de forma permanente", ES, "move_permanent"),
        ("help paying to move", EN, "moving_costs"),
        ("1 3", EN, "move_now, locks"),
        ("1,3", EN, "move_now, locks"),
        ("1 and 3", EN, "move_now, locks"),
        ("uno y tres", ES, "move_now, locks"),
        ("1/3", EN, "move_now, locks"),
        ("135", EN, "move_now, locks, talk"),
        ("I need 2", EN, "move_permanent"),
        ("he has 2 guns i need to move", EN, "move_now"),
    ],
)
def test_needs(text: str, language: Language, needs: str) -> None:
    assert taken("needs", text, language) == needs


@pytest.mark.parametrize("text", ["", "0", "7", "1 7", "seven", "9" * 5000, "everything", "🙂"])
def test_needs_not_understood(text: str) -> None:
    assert reads("needs", text) == NOT_UNDERSTOOD


def test_a_number_inside_a_sentence_never_picks_an_option() -> None:
    # "2" here counts children; option 2 (move permanently) must not be taken.
    assert taken("needs", "me and my 2 kids need a safe place") == "move_now"
    assert reads("how_soon", "somos 4 con mis 2 hijos", ES).value is None


@pytest.mark.parametrize(
    ("text", "language", "count"),
    [
        ("me and my 2 kids", EN, "3"),
        ("me my mom and my 3 kids", EN, "5"),
        ("somos 4 con mis 2 hijos", ES, "4"),
        ("somos 4", ES, "4"),
        ("just me", EN, "1"),
        ("solo yo", ES, "1"),
        ("1", EN, "1"),
        ("20", EN, "20"),
        ("three", EN, "3"),
        ("diecinueve", ES, "19"),
        ("5 people", EN, "5"),
        ("4 not including me", EN, "5"),
        ("my wife and 4 kids", EN, "6"),
        ("mi esposa, mis dos hijas y yo", ES, "4"),
        ("3 y yo", ES, "4"),
    ],
)
def test_people_are_counted_from_phrases(text: str, language: Language, count: str) -> None:
    assert taken("household", text, language) == count


@pytest.mark.parametrize(
    "text", ["0", "21", "3 or 4", "a lot", "", "1" * 5000, "me and my kids", "my family"]
)
def test_a_count_that_cannot_be_made_is_asked(text: str) -> None:
    assert reads("household", text).value is None


def test_a_conditional_count_is_never_taken() -> None:
    assert not reads("household", "depende si mi hermano se viene", ES).understood
    assert not reads("household", "maybe 3").understood


@pytest.mark.parametrize(
    ("text", "language", "when"),
    [
        ("urgente", ES, "today"),
        ("asap", EN, "today"),
        ("now", EN, "today"),
        ("tonight", EN, "today"),
        ("hoy", ES, "today"),
        ("ya", ES, "today"),
        ("cuanto antes", ES, "today"),
        ("tomorrow", EN, "this_week"),
        ("mañana", ES, "this_week"),
        ("next week", EN, "later"),
        ("next month", EN, "later"),
        ("no rush", EN, "later"),
    ],
)
def test_time_words(text: str, language: Language, when: str) -> None:
    assert taken("how_soon", text, language) == when


@pytest.mark.parametrize(
    ("text", "value"),
    [("witnes", "witness"), ("I'm a witness", "witness"), ("VÍCTIMA", "victim"), ("#2", "victim")],
)
def test_role(text: str, value: str) -> None:
    assert taken("role", text) == value


@pytest.mark.parametrize("text", ["", "5", "1 or 2", "witness and victim", "12", "🙂"])
def test_role_refuses_what_is_unclear(text: str) -> None:
    assert reads("role", text).value is None


@pytest.mark.parametrize(
    ("word", "nearby"),
    [("cell", "call"), ("there", "three"), ("love", "move"), ("lock", "look")],
)
def test_short_and_everyday_words_are_never_corrected(word: str, nearby: str) -> None:
    (token,) = tokens(word)
    assert (token.text, token.fuzzy) == (word, False)


@pytest.mark.parametrize(
    ("typo", "word"),
    [("reloacte", "relocate"), ("lcoks", "locks"), ("mudansa", "mudanza"), ("witnes", "witness")],
)
def test_longer_typos_are_corrected(typo: str, word: str) -> None:
    (token,) = tokens(typo)
    assert (token.text, token.fuzzy) == (word, True)


@pytest.mark.parametrize(
    ("text", "value"), [("👍", "yes"), ("exacto 🙏", "yes"), ("no no", "no"), ("2", "no")]
)
def test_did_you_mean(text: str, value: str) -> None:
    assert read_yes_no(text, EN).value == value


@pytest.mark.parametrize("text", ["mm", "más o menos", "yes no"])
def test_did_you_mean_unclear(text: str) -> None:
    assert read_yes_no(text, ES) == NOT_UNDERSTOOD


LINES = ["safe_now", "role", "needs", "move_where", "household", "how_soon", "contact"]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", "send"),
        ("👍", "send"),
        ("yes send it", "send"),
        ("2", "start_over"),
        ("start over", "start_over"),
        ("change 4", "change:move_where"),
        ("cambiar 3", "change:needs"),
        ("CAMBIAR 5", "change:household"),
        ("fix the people one", "change:household"),
        ("i said text not call", "change:contact"),
    ],
)
def test_the_summary(text: str, value: str) -> None:
    assert read_confirm(text, EN, lines=LINES).value == value


@pytest.mark.parametrize("text", ["no", "change", "change 9", "3"])
def test_the_summary_asks_again_when_unclear(text: str) -> None:
    assert read_confirm(text, EN, lines=LINES).value is None


def test_a_paragraph_is_not_a_choice() -> None:
    story = "I saw it happen and I am a witness " * 10
    assert reads("role", story).value is None
    assert reads("needs", "1 " * 41).value is None
    assert reads("household", "we are 3 " * 20).value is None
    assert taken("role", "I am a witness") == "witness"


def test_every_language_has_every_keyword_and_its_own_opt_outs() -> None:
    assert set(LEXICONS[EN].keywords.values()) == set(Keyword)
    # START stays English: it is the carrier's opt-in word.
    assert set(LEXICONS[ES].keywords.values()) == set(Keyword) - {Keyword.START}
    spanish = LEXICONS[ES].keywords
    assert {w for w, k in spanish.items() if k is Keyword.STOP} == {
        "alto",
        "parar",
        "basta",
        "cancelar",
    }


def test_every_lexicon_names_options_of_every_choice_step() -> None:
    for lexicon in LEXICONS.values():
        for step in ("language", "safe_now", "role", "needs", "move_where", "how_soon"):
            assert lexicon.options[step], (lexicon.language, step)
        assert set(lexicon.options["contact"]) == {c.value for c in STEP_BY_NAME["contact"].choices}
