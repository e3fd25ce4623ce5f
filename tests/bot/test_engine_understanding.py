"""The engine acting on what it understood: confirming, echoing, bursts, changes, buttons."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.intake.model import CaseAmended, Language, Press
from tests.bot.chat import ON_TELEGRAM, Chat, intake, text_of

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
NEEDS_EN = "What help do you need?"
HOUSEHOLD_EN = "How many people would move"


@pytest.fixture
def timed() -> Chat:
    return Chat(now=T0)


def at_needs(chat: Chat) -> None:
    chat.walk("hi", "1", "1", "1")
    assert chat.step == "needs"


# Confirming what we are unsure of


def test_an_unsure_answer_is_confirmed_in_one_question_then_taken(chat: Chat) -> None:
    at_needs(chat)
    asked = chat.send("maybe locks")

    assert asked.replies[-1].text.startswith("Did you mean: Change locks / secure my home?")
    assert asked.replies[-1].options[0].label == "Yes"
    assert chat.step == "needs" and chat.state is not None and "needs" not in chat.state.answers
    chat.send("yes")
    assert chat.state.answers["needs"] == "locks" and chat.step == "how_soon"


def test_no_to_did_you_mean_asks_the_question_again(chat: Chat) -> None:
    at_needs(chat)
    chat.send("i guess locks")
    turn = chat.send("no")

    assert chat.step == "needs" and chat.state is not None and chat.state.pending is None
    assert turn.replies[-1].text.startswith(NEEDS_EN)


def test_a_fresh_answer_instead_of_yes_or_no_is_read_as_the_answer(chat: Chat) -> None:
    at_needs(chat)
    chat.send("maybe locks")
    chat.send("I need to move")

    assert chat.state is not None and chat.state.answers["needs"] == "move_now"


def test_spanish_did_you_mean(chat: Chat) -> None:
    chat.walk("hola", "1", "1")
    turn = chat.send("tal vez cerraduras")

    assert turn.replies[-1].text.startswith("¿Quiso decir: Cambiar cerraduras o proteger mi casa?")
    chat.send("sí")
    assert chat.state is not None and chat.state.answers["needs"] == "locks"


def test_a_hedged_call_is_confirmed_and_never_recorded_without_a_yes(chat: Chat) -> None:
    chat.walk(*intake(contact="maybe call?", confirm=None)[:-3])
    assert chat.state is not None and chat.state.pending == "call"
    assert "contact" not in chat.state.answers
    chat.send("no")
    assert "contact" not in chat.state.answers and chat.step == "contact"


# Multiple choice


def test_several_needs_are_echoed(chat: Chat) -> None:
    at_needs(chat)
    turn = chat.send("locks and moving")

    assert "Got it: Move somewhere safe for now + Change locks / secure my home" in text_of(turn)
    assert chat.step == "move_where"


def test_a_need_with_its_negation_is_left_out(chat: Chat) -> None:
    at_needs(chat)
    chat.send("not locks, I need to move")

    assert chat.state is not None and chat.state.answers["needs"] == "move_now"


# Bursts


def test_texts_right_behind_a_free_text_answer_join_it(timed: Chat) -> None:
    timed.walk(*intake(confirm=None)[:-3])
    assert timed.step == "story"
    timed.wait(60)
    timed.send("I didnt.")
    timed.wait(3)
    turn = timed.send("I just want my kids safe")

    assert timed.step == "code_word"
    assert timed.state is not None
    assert timed.state.answers["story"] == "I didnt.\nI just want my kids safe"
    assert "code_word" not in timed.state.answers
    assert turn.replies == ()


def test_a_burst_adds_to_a_multiple_choice(timed: Chat) -> None:
    at_needs(timed)
    timed.wait(60)
    timed.send("locks")
    assert timed.step == "how_soon"
    timed.wait(2)
    turn = timed.send("and moving too")

    assert timed.state is not None and timed.state.answers["needs"] == "move_now, locks"
    assert timed.step == "move_where"
    assert "Got it:" in text_of(turn)


def test_a_burst_that_changes_nothing_is_kept_quietly(timed: Chat) -> None:
    at_needs(timed)
    timed.wait(60)
    timed.send("locks")
    version = timed.state.version if timed.state else 0
    timed.wait(2)
    turn = timed.send("please")

    assert turn.replies == ()
    assert timed.state is not None and timed.state.version == version
    assert timed.state.answers["needs"] == "locks" and timed.step == "how_soon"


def test_a_text_after_the_burst_window_answers_the_next_question(timed: Chat) -> None:
    at_needs(timed)
    timed.wait(60)
    timed.send("locks")
    timed.wait(60)
    timed.send("1")

    assert timed.state is not None and timed.state.answers["how_soon"] == "today"


def test_a_burst_never_takes_back_not_safe(timed: Chat) -> None:
    timed.walk("hi", "1")
    timed.wait(60)
    timed.send("no")
    timed.wait(2)
    timed.send("está afuera de mi casa")

    assert timed.state is not None and timed.state.answers["safe_now"] == "no"


# The summary


def test_the_summary_shows_every_answer_numbered_with_free_text(chat: Chat) -> None:
    turn = chat.walk(*intake(story="someone keeps driving past my house at night", confirm=None))
    summary = text_of(turn)

    assert "1 Safe now: Yes" in summary
    assert "What happened: someone keeps driving past my house..." in summary
    assert "Code word: (skipped)" in summary
    assert "CHANGE" in summary


def test_change_an_answer_by_number_and_return_to_the_summary(chat: Chat) -> None:
    chat.walk(*intake(confirm=None))
    lines = text_of(chat.turns[-1])
    number = next(line.split()[0] for line in lines.splitlines() if "When:" in line)
    chat.send(f"change {number}")
    assert chat.step == "how_soon"
    turn = chat.send("1")

    assert chat.step == "confirm"
    assert chat.state is not None and chat.state.answers["how_soon"] == "today"
    assert "When: Today" in text_of(turn)
    chat.send("1")
    assert chat.case().answers["how_soon"] == "today"


def test_cambiar_in_spanish(chat: Chat) -> None:
    chat.walk(*intake(first="hola", language=None, confirm=None))
    chat.send("cambiar 2")

    assert chat.step == "role"


def test_changing_needs_to_a_move_asks_the_move_questions_then_returns(chat: Chat) -> None:
    chat.walk(*intake(needs="3", confirm=None))
    chat.send("change 3")
    chat.send("1 3")
    assert chat.step == "move_where"
    chat.send("1")
    assert chat.step == "household"
    chat.send("me and my 2 kids")

    assert chat.step == "confirm"
    assert chat.state is not None and chat.state.answers["household"] == "3"


def test_changing_a_move_away_drops_its_answers(chat: Chat) -> None:
    chat.walk(*intake(needs="1", where="1", household="2", confirm=None))
    chat.send("change 3")
    chat.send("3")

    assert chat.step == "confirm"
    assert chat.state is not None
    assert "move_where" not in chat.state.answers and "household" not in chat.state.answers


# Buttons


def test_a_button_from_an_older_question_is_closed_and_changes_nothing(chat: Chat) -> None:
    chat.send("hi")
    language_version = chat.state.version if chat.state else 0
    chat.press(1)  # English
    assert chat.step == "safe_now"
    before = chat.state
    turn = chat.press(2, version=language_version)  # the old "2. Español"

    assert turn.replies[0].text == "That question is closed."
    assert chat.state is not None and before is not None
    assert chat.state.answers == before.answers and chat.state.language is Language.EN
    assert "safe_now" not in chat.state.answers


def test_buttons_toggle_several_needs_then_done(chat: Chat) -> None:
    at_needs(chat)
    assert chat.turns[-1].replies[-1].prompt is not None
    assert chat.turns[-1].replies[-1].prompt.multi
    first = chat.press(1, kind=Press.TOGGLE)
    chat.press(3, kind=Press.TOGGLE)
    chat.press(5, kind=Press.TOGGLE)
    chat.press(5, kind=Press.TOGGLE)

    assert first.replies == ()
    assert chat.state is not None and chat.state.selection == (1, 3)
    turn = chat.press(kind=Press.DONE)
    assert chat.state.answers["needs"] == "move_now, locks"
    assert "Got it: Move somewhere safe for now + Change locks / secure my home" in text_of(turn)


def test_done_with_nothing_picked_asks_for_a_pick(chat: Chat) -> None:
    at_needs(chat)
    turn = chat.press(kind=Press.DONE)

    assert chat.step == "needs" and "pick at least one" in text_of(turn)


def test_a_legacy_button_without_a_question_is_closed(chat: Chat) -> None:
    chat.walk("hi", "1")
    turn = chat.press(2, version=-1)

    assert turn.replies[0].text == "That question is closed." and chat.step == "safe_now"


def test_did_you_mean_buttons(chat: Chat) -> None:
    at_needs(chat)
    chat.send("maybe locks")
    chat.press(1)

    assert chat.state is not None and chat.state.answers["needs"] == "locks"


# Words per channel


def test_help_on_telegram_speaks_of_telegram() -> None:
    chat = Chat(**ON_TELEGRAM)
    text = text_of(chat.send("help"))

    assert "Telegram" in text and "Twilio" not in text


@pytest.mark.parametrize("word", ["ALTO", "parar", "Basta", "CANCELAR"])
def test_spanish_single_word_opt_outs_work_like_stop(chat: Chat, word: str) -> None:
    chat.walk("hola")
    turn = chat.send(word)

    assert chat.state is not None and chat.state.opted_out
    assert "No recibirá más mensajes" in text_of(turn)


def test_a_whole_free_text_intake_with_what_people_write(chat: Chat) -> None:
    chat.walk(
        "hi",
        "english",
        "i dont feel safe",  # the fast path
        "please don't call, just text",
        "downtown near the bus station",
        "yes",  # a few more questions
        "witnes",
        "locks and moving",
        "same state",
        "me and my 2 kids",
        "asap",
        "after 6pm",
        "they shot at my house",
        "bluebird",
        "SKIP",
        "👍",
    )
    opened = chat.case()
    (amended,) = chat.events(CaseAmended)

    assert opened.priority.value == "urgent" and opened.answers["contact"] == "text_here"
    assert opened.answers["location"] == "downtown near the bus station"
    assert amended.reference == opened.reference and amended.priority.value == "urgent"
    assert amended.answers["safe_now"] == "no" and amended.answers["role"] == "witness"
    assert set(amended.needs) == {"move_now", "locks"} and amended.queue == "relocation"
    assert amended.answers["household"] == "3"
    assert amended.answers["contact"] == "text_here"
    assert {"not safe now", "needs help today", "threat"} <= set(amended.triage)
