"""The conversation engine, message by message: every branch of the intake and every keyword."""

from __future__ import annotations

import json

import pytest

from bot.intake import script
from bot.intake.engine import advance
from bot.intake.model import (
    CaseOpened,
    CaseStatus,
    Context,
    ConversationState,
    EraseConfirmed,
    Inbound,
    Language,
    LanguageChosen,
    OptedIn,
    OptedOut,
    Option,
    Priority,
    WitnessWrote,
)
from tests.bot.chat import REFERENCE, Chat, essentials, intake, text_of

# The first reply of each fixed message, enough to recognise it.
DANGER_EN = "If you are in danger now, call 911"
DANGER_ES = "Si corre peligro ahora, llame al 911"
HELP_EN = "Safe Passage is a civilian service, not the police"
HELP_ES = "Safe Passage es un servicio civil, no la policía"
SAFE_NOW_EN = "Are you safe right now?"
SAFE_NOW_ES = "¿Se encuentra a salvo ahora?"
MEDIA_EN = "We do not keep pictures"


# The first message


def test_first_message_gets_the_welcome_and_the_language_question(chat: Chat) -> None:
    turn = chat.send("hi")

    welcome = text_of(turn)
    for promise in ("Safe Passage", "not the police", "Call 911", "STOP", "HELP", "DELETE"):
        assert promise in welcome
    question = turn.replies[-1]
    assert "1 English\n2 Español" in question.text
    assert question.options == (Option(1, "English"), Option(2, "Español"))
    assert (chat.step, turn.events) == ("language", ())


@pytest.mark.parametrize("answer", ["1", "one", "English", " ENGLISH. ", "ingles"])
def test_choosing_english(chat: Chat, answer: str) -> None:
    chat.send("hi")
    turn = chat.send(answer)

    assert turn.events == (LanguageChosen(Language.EN),)
    assert essentials(chat.state) == ConversationState(step="safe_now", language=Language.EN)
    assert turn.replies[-1].text.startswith(SAFE_NOW_EN)


@pytest.mark.parametrize("answer", ["2", "dos", "Español", "espanol", "spanish", "hola"])
def test_choosing_spanish_repeats_the_welcome_in_spanish(chat: Chat, answer: str) -> None:
    chat.send("hi")
    turn = chat.send(answer)

    assert turn.events == (LanguageChosen(Language.ES),)
    assert "no la policía" in turn.replies[0].text
    assert turn.replies[-1].text.startswith(SAFE_NOW_ES)


@pytest.mark.parametrize(
    "first", ["hola", "Hola, necesito ayuda", "buenas noches", "¿me pueden ayudar?", "AYUDA"]
)
def test_a_spanish_first_message_skips_to_spanish(chat: Chat, first: str) -> None:
    turn = chat.send(first)

    assert LanguageChosen(Language.ES) in turn.events
    assert chat.state is not None and chat.state.language is Language.ES
    assert "Llame al 911" in text_of(turn)
    assert turn.replies[-1].text.startswith(SAFE_NOW_ES)
    assert chat.step == "safe_now"


def test_a_spanish_language_hint_skips_to_spanish() -> None:
    chat = Chat(language_hint=Language.ES)
    turn = chat.send("/start")

    assert turn.events == (LanguageChosen(Language.ES),)
    assert turn.replies[-1].text.startswith(SAFE_NOW_ES)


def test_english_words_outweigh_a_spanish_hint() -> None:
    chat = Chat(language_hint=Language.ES)
    chat.send("hello I need help")

    assert chat.step == "language"


def test_an_english_hint_still_offers_spanish() -> None:
    chat = Chat(language_hint=Language.EN)
    turn = chat.send("/start")

    assert chat.step == "language"
    assert "2 Español" in turn.replies[-1].text


def test_naming_english_first_skips_the_question(chat: Chat) -> None:
    turn = chat.send("English")

    assert turn.events == (LanguageChosen(Language.EN),)
    assert turn.replies[-1].text.startswith(SAFE_NOW_EN)


def test_an_unclear_language_answer_is_asked_again(chat: Chat) -> None:
    chat.send("hi")
    turn = chat.send("7")

    assert chat.step == "language"
    assert "Para español, responda 2" in turn.replies[0].text
    assert turn.replies[-1].options == (Option(1, "English"), Option(2, "Español"))


# Whole intakes


def test_english_intake_opens_a_case_with_readable_answers(chat: Chat) -> None:
    messages = intake(
        safe="1",
        role="2",
        needs="1 3",
        where="2",
        household="3",
        soon="2",
        contact="2",
        safe_times="weekdays after 6pm",
        story="I saw what happened at the corner",
        code_word="bluebird",
    )
    done = chat.walk(*messages)

    case = chat.case()
    assert case == CaseOpened(
        reference=REFERENCE,
        queue="relocation",
        priority=Priority.HIGH,
        language=Language.EN,
        needs=("move_now", "locks"),
        answers={
            "safe_now": "yes",
            "role": "victim",
            "needs": "move_now, locks",
            "move_where": "out_of_state",
            "household": "3",
            "how_soon": "this_week",
            "contact": "call",
            "safe_times": "weekdays after 6pm",
            "story": "I saw what happened at the corner",
            "code_word": "bluebird",
        },
    )
    assert REFERENCE in done.replies[0].text
    assert "DELETE" in text_of(done)
    assert essentials(chat.state) == ConversationState(
        step="done", language=Language.EN, reference=REFERENCE, duress_word=None
    )


def test_spanish_intake_opens_a_spanish_case(chat: Chat) -> None:
    chat.walk(
        *intake(
            first="hola",
            language=None,
            safe="sí",
            role="testigo",
            needs="5",
            soon="dos",
            contact="1",
            story="vi lo que pasó en la esquina",
            safe_times="OMITIR",
            code_word="saltar",
        )
    )

    case = chat.case()
    assert (case.language, case.queue, case.priority, case.needs) == (
        Language.ES,
        "support",
        Priority.HIGH,
        ("talk",),
    )
    assert case.answers == {
        "safe_now": "yes",
        "role": "witness",
        "needs": "talk",
        "how_soon": "this_week",
        "contact": "text_here",
        "story": "vi lo que pasó en la esquina",
    }
    assert "Su referencia es ABCD-EFGH" in chat.turns[-1].replies[0].text


def test_every_step_in_spanish_speaks_spanish(chat: Chat) -> None:
    questions = [
        chat.send(message).replies[-1].text
        for message in intake(
            first="hola", language=None, needs="1", where="1", household="2", confirm=None
        )
    ]

    assert questions[0].startswith(SAFE_NOW_ES)
    assert [q.split("\n")[0] for q in questions[1:5]] == [
        "¿Cómo se describiría usted?",
        "¿Qué ayuda necesita? Puede elegir varias, por ejemplo: 1 3",
        "¿A dónde podría mudarse?",
        "¿Cuántas personas se mudarían, incluyéndose usted? Responda con un número.",
    ]
    assert questions[-1].startswith("¿Lo enviamos?")
    assert "Revise sus respuestas:" in text_of(chat.turns[-1])


# Branches and routing


def test_not_safe_now_gives_911_guidance_then_the_fast_path(chat: Chat) -> None:
    chat.walk("hi", "1")
    turn = chat.send("2")

    assert turn.replies[0].text.startswith(DANGER_EN)
    assert turn.replies[-1].text.startswith("Can we text you here?")


def test_not_safe_now_in_spanish_gives_spanish_guidance(chat: Chat) -> None:
    chat.send("hola")
    turn = chat.send("no")

    assert turn.replies[0].text.startswith(DANGER_ES)


def test_a_move_asks_where_and_how_many(chat: Chat) -> None:
    chat.walk("hi", "1", "1", "1")
    assert chat.send("2").replies[-1].text.startswith("Where could you move?")
    assert chat.send("3").replies[-1].text.startswith("How many people")
    assert chat.send("just me").replies[-1].text.startswith("How soon")
    assert chat.state is not None and chat.state.answers["household"] == "1"


@pytest.mark.parametrize("needs", ["3", "4", "5", "6", "3 5", "4 6"])
def test_no_move_skips_where_and_how_many(chat: Chat, needs: str) -> None:
    chat.walk("hi", "1", "1", "1")
    turn = chat.send(needs)

    assert chat.step == "how_soon"
    assert turn.replies[-1].text.startswith("How soon")


@pytest.mark.parametrize(
    ("needs", "move", "queue"),
    [
        ("1", True, "relocation"),
        ("2", True, "relocation"),
        ("4", False, "relocation"),
        ("3 4", False, "relocation"),
        ("3", False, "home-security"),
        ("3 5 6", False, "home-security"),
        ("5", False, "support"),
        ("5 6", False, "support"),
        ("6", False, "general"),
    ],
)
def test_routing(chat: Chat, needs: str, move: bool, queue: str) -> None:
    where, household = ("1", "2") if move else (None, None)
    chat.walk(*intake(needs=needs, where=where, household=household))

    assert chat.case().queue == queue


@pytest.mark.parametrize(
    ("changes", "priority"),
    [
        ({}, Priority.NORMAL),
        ({"soon": "2"}, Priority.HIGH),
        ({"needs": "1", "where": "1", "household": "2"}, Priority.HIGH),
        ({"needs": "2", "where": "3", "household": "4"}, Priority.HIGH),
        ({"needs": "4"}, Priority.NORMAL),
        ({"safe": "2"}, Priority.URGENT),
        ({"soon": "1"}, Priority.URGENT),
        ({"soon": "today"}, Priority.URGENT),
        ({"story": "he has a gun"}, Priority.URGENT),
        ({"story": "They threatened my son"}, Priority.URGENT),
        ({"story": "they know where I live"}, Priority.URGENT),
        ({"safe_times": "never, they said they would kill me"}, Priority.URGENT),
        ({"first": "hola", "language": None, "story": "tiene una pistola"}, Priority.URGENT),
        ({"first": "hola", "language": None, "story": "me amenazó"}, Priority.URGENT),
        ({"first": "hola", "language": None, "story": "saben dónde vivo"}, Priority.URGENT),
        ({"first": "hola", "language": None, "safe_times": "quieren matarme"}, Priority.URGENT),
        ({"story": "my skills are fine; alarm at home"}, Priority.NORMAL),
        ({"code_word": "pistola"}, Priority.NORMAL),
    ],
)
def test_priority(chat: Chat, changes: dict[str, str | None], priority: Priority) -> None:
    chat.walk(*intake(**changes))

    assert chat.case().priority is priority


def test_confirm_shows_a_summary_of_the_answers(chat: Chat) -> None:
    turn = chat.walk(*intake(needs="1 3", where="2", household="4", confirm=None))

    summary = text_of(turn)
    for line in (
        "Safe now: Yes",
        "You are: A victim",
        "Help: Move somewhere safe for now, Change locks / secure my home",
        "Move: Out of state",
        "People: 4",
        "When: Later",
        "Contact: Text me here",
    ):
        assert line in summary
    assert turn.replies[-1].options == (Option(1, "Yes, send it"), Option(2, "No, start over"))


@pytest.mark.parametrize("answer", ["2", "start over", "empezar de nuevo"])
def test_start_over_at_confirm_keeps_the_language(chat: Chat, answer: str) -> None:
    chat.walk(*intake(first="hola", language=None, confirm=None))
    turn = chat.send(answer)

    assert essentials(chat.state) == ConversationState(step="safe_now", language=Language.ES)
    assert turn.replies[-1].text.startswith(SAFE_NOW_ES)
    assert not chat.events(CaseOpened)


# Forgiving answers


@pytest.mark.parametrize(
    ("answer", "value"),
    [
        ("1", "yes"),
        ("yes", "yes"),
        ("Y", "yes"),
        ("sí", "yes"),
        ("SI!", "yes"),
        ("  1.  ", "yes"),
        ("one", "yes"),
        ("2", "no"),
        ("No", "no"),
        ("NOPE", "no"),
        ("no, I'm not", "no"),
    ],
)
def test_yes_and_no_are_read_forgivingly(chat: Chat, answer: str, value: str) -> None:
    chat.walk("hi", "1", answer)

    assert chat.state is not None and chat.state.answers["safe_now"] == value


@pytest.mark.parametrize(
    ("answer", "value"),
    [
        ("witness", "witness"),
        ("Testigo", "witness"),
        ("víctima", "victim"),
        ("I am family", "family"),
    ],
)
def test_options_can_be_named(chat: Chat, answer: str, value: str) -> None:
    chat.walk("hi", "1", "1", answer)

    assert chat.state is not None and chat.state.answers["role"] == value


@pytest.mark.parametrize(
    ("answer", "needs"),
    [
        ("1 3", "move_now, locks"),
        ("1,3", "move_now, locks"),
        ("3, 1", "move_now, locks"),
        ("1 and 3", "move_now, locks"),
        ("1 y 3", "move_now, locks"),
        ("13", "move_now, locks"),
        ("1 1 3 3", "move_now, locks"),
        ("locks and someone to talk to", "locks, talk"),
        ("5", "talk"),
        ("six", "other"),
    ],
)
def test_several_needs_at_once(chat: Chat, answer: str, needs: str) -> None:
    chat.walk("hi", "1", "1", "1", answer)

    assert chat.state is not None and chat.state.answers["needs"] == needs


@pytest.mark.parametrize("answer", ["1 9", "0", "7", "banana", "", "1000"])
def test_needs_out_of_range_or_unclear_are_asked_again(chat: Chat, answer: str) -> None:
    chat.walk("hi", "1", "1", "1")
    turn = chat.send(answer)

    assert chat.step == "needs"
    assert turn.replies[0].text.startswith("Sorry, I did not understand.")
    assert len(turn.replies[-1].options) == 6


@pytest.mark.parametrize(
    ("answer", "household"),
    [("3", "3"), ("tres", "3"), ("Three people", "3"), ("20", "20"), ("solo yo", "1")],
)
def test_household_in_digits_or_words(chat: Chat, answer: str, household: str) -> None:
    chat.walk("hi", "1", "1", "1", "1", "1", answer)

    assert chat.state is not None and chat.state.answers["household"] == household


@pytest.mark.parametrize("answer", ["0", "21", "3 or 4", "many"])
def test_household_outside_1_to_20_is_asked_again(chat: Chat, answer: str) -> None:
    chat.walk("hi", "1", "1", "1", "1", "1")
    turn = chat.send(answer)

    assert chat.step == "household"
    assert "1 to 20" in turn.replies[0].text


def test_an_unclear_answer_gets_a_hint_then_a_plainer_one(chat: Chat) -> None:
    chat.walk("hi", "1", "1")
    first = chat.send("maybe")
    chat.send("hmm")
    third = chat.send("what?")

    assert first.replies[0].text.startswith("Sorry, I did not understand. Reply with one number")
    assert third.replies[0].text.startswith("Please send only the number")
    assert third.replies[-1].text.startswith("How would you describe yourself?")
    assert chat.state is not None and chat.state.retries == 3
    chat.send("1")
    assert chat.state.retries == 0 and chat.step == "needs"


def test_an_unclear_safe_now_counts_as_not_safe_and_is_asked_once_more(chat: Chat) -> None:
    chat.walk("hi", "1")
    first = chat.send("maybe")

    assert first.replies[0].text == "To be careful, we will treat this as not safe for now."
    assert first.replies[1].text.startswith(DANGER_EN)
    assert first.replies[-1].text.startswith(SAFE_NOW_EN)
    assert chat.state is not None and chat.state.answers["safe_now"] == "no"
    second = chat.send("idk")
    assert chat.step == "fast_contact" and chat.state.answers["safe_now"] == "no"
    assert second.replies[-1].text.startswith("Can we text you here?")


def test_a_plain_yes_after_the_safety_check_is_safe(chat: Chat) -> None:
    chat.walk("hi", "1", "kind of")
    chat.send("yes")

    assert chat.state is not None and chat.state.answers["safe_now"] == "yes"
    assert chat.step == "role"


def test_no_at_the_summary_asks_what_to_change_rather_than_wiping_the_answers(chat: Chat) -> None:
    chat.walk(*intake(confirm=None))
    turn = chat.send("no")

    assert chat.step == "confirm" and chat.state is not None and chat.state.answers
    assert "CHANGE" in turn.replies[0].text


def test_an_empty_free_text_answer_is_asked_again(chat: Chat) -> None:
    chat.walk(*intake(safe_times="", story="", code_word="", confirm=None)[:-2])
    turn = chat.send("   ")

    assert chat.step == "safe_times"
    assert "or reply SKIP" in turn.replies[0].text


def test_skipped_free_text_is_left_out_of_the_answers(chat: Chat) -> None:
    chat.walk(*intake(safe_times="skip", story="Omitir", code_word="SKIP."))

    assert not {"safe_times", "story", "code_word"} & set(chat.case().answers)


def test_free_text_is_kept_without_control_characters_and_capped(chat: Chat) -> None:
    story = "line one\nline\x00 two\x07 " + "x" * 10_000
    chat.walk(*intake(story=story))

    kept = chat.case().answers["story"]
    assert kept.startswith("line one\nline two ")
    assert len(kept) == script.FREE_TEXT_LIMIT


def test_numbered_options_are_in_the_text_and_attached_for_buttons(chat: Chat) -> None:
    chat.walk("hi", "1", "1")
    question = chat.turns[-1].replies[-1]

    assert question.text == (
        "How would you describe yourself?\nReply 1, 2, 3 or 4:\n"
        "1 A witness\n2 A victim\n3 Family of a victim\n4 Other"
    )
    assert [o.number for o in question.options] == [1, 2, 3, 4]


# After intake


def test_every_message_after_intake_reaches_the_case(chat: Chat) -> None:
    chat.walk(*intake())
    chat.case_status = CaseStatus.CLAIMED
    turn = chat.send("thank you, I will wait for your call")

    assert turn.events == (WitnessWrote(reference=REFERENCE),)
    assert text_of(turn) == "Got it. Your caseworker will see this."
    assert chat.step == "done"


def test_the_acknowledgement_is_in_spanish_for_a_spanish_case(chat: Chat) -> None:
    chat.walk(*intake(first="hola", language=None))
    turn = chat.send("ok gracias")

    assert turn.events == (WitnessWrote(reference=REFERENCE),)
    assert text_of(turn).startswith("Recibido.")


# Keywords


@pytest.mark.parametrize(
    "word", ["STOP", "stop", "Stop.", "STOPALL", "unsubscribe", "CANCEL", "end", "QUIT", "revoke"]
)
def test_stop_words_opt_out_with_one_confirmation(chat: Chat, word: str) -> None:
    chat.walk("hi", "1")
    turn = chat.send(word)

    assert turn.events == (OptedOut(),)
    assert len(turn.replies) == 1 and "START" in turn.replies[0].text
    assert chat.state is not None and chat.state.opted_out


def test_opted_out_is_silent_until_start(chat: Chat) -> None:
    chat.walk("hi", "1", "STOP")
    before = chat.state

    silent = chat.send("1")
    assert (silent.replies, silent.events, chat.state) == ((), (), before)
    assert chat.send("STOP").replies == ()

    back = chat.send("START")
    assert back.events == (OptedIn(),)
    assert back.replies[0].text == "You will get messages from Safe Passage again."
    assert back.replies[-1].text.startswith(SAFE_NOW_EN)
    assert chat.state is not None and not chat.state.opted_out


def test_opted_out_after_intake_still_reaches_the_case_silently(chat: Chat) -> None:
    chat.walk(*intake(), "STOP")
    turn = chat.send("they came back")

    assert turn.replies == ()
    assert turn.events == (WitnessWrote(reference=REFERENCE),)


def test_help_and_status_are_answered_even_when_opted_out(chat: Chat) -> None:
    chat.walk("hi", "1", "STOP")

    assert chat.send("HELP").replies[0].text.startswith(HELP_EN)
    assert chat.send("status").replies[0].text == "You have not sent a request yet."
    assert chat.send("RESTART").replies == ()


def test_stop_as_the_first_message_then_start_gets_the_welcome(chat: Chat) -> None:
    assert chat.send("STOP").events == (OptedOut(),)
    turn = chat.send("start")

    assert turn.events == (OptedIn(),)
    assert "not the police" in text_of(turn)
    assert chat.step == "language"


def test_start_as_a_first_message_just_begins(chat: Chat) -> None:
    turn = chat.send("START")

    assert turn.events == ()
    assert "not the police" in text_of(turn)


def test_help_is_honest_and_then_repeats_the_question(chat: Chat) -> None:
    chat.walk("hi", "1", "1")
    turn = chat.send("help")

    help_text = text_of(turn)
    assert help_text.startswith(HELP_EN)
    for fact in ("911", "Twilio", "phone company", "STATUS", "DELETE", "STOP"):
        assert fact in help_text
    assert "Telegram" not in help_text
    assert turn.replies[-1].text.startswith("How would you describe yourself?")
    assert chat.step == "role"


def test_ayuda_answers_in_spanish(chat: Chat) -> None:
    chat.walk("hi", "1")
    turn = chat.send("AYUDA")

    # The witness chose English, so English it stays.
    assert turn.replies[0].text.startswith(HELP_EN)
    other = Chat()
    other.send("hi")
    assert other.send("ayuda").replies[0].text.startswith(HELP_ES)


def test_help_as_the_first_message_then_the_language_question(chat: Chat) -> None:
    turn = chat.send("HELP")

    assert turn.replies[0].text.startswith(HELP_EN)
    assert "1 English" in turn.replies[-1].text
    assert chat.step == "language"


def test_status_before_a_case_says_so_and_repeats_the_question(chat: Chat) -> None:
    chat.walk("hi", "1", "1")
    turn = chat.send("STATUS")

    assert turn.replies[0].text == "You have not sent a request yet."
    assert turn.replies[-1].text.startswith("How would you describe yourself?")


@pytest.mark.parametrize(
    ("status", "english", "spanish"),
    [
        (CaseStatus.WAITING, "is waiting for a caseworker", "espera a alguien de nuestro equipo"),
        (CaseStatus.CLAIMED, "A caseworker is working on", "atiende su solicitud"),
        (CaseStatus.CLOSED, "is closed", "está cerrada"),
        (None, "We have your request", "Tenemos su solicitud"),
    ],
)
def test_status_after_a_case(status: CaseStatus | None, english: str, spanish: str) -> None:
    for first, language, expected, keyword in (
        ("hi", "1", english, "STATUS"),
        ("hola", None, spanish, "estado"),
    ):
        chat = Chat(case_status=status)
        chat.walk(*intake(first=first, language=language))
        turn = chat.send(keyword)

        assert len(turn.replies) == 1
        assert expected in turn.replies[0].text and REFERENCE in turn.replies[0].text
        assert turn.events == ()


@pytest.mark.parametrize("yes", ["YES", "yes", "sí", "Si", "y", "DELETE", "borrar"])
def test_delete_confirmed_erases_and_starts_fresh(chat: Chat, yes: str) -> None:
    chat.walk(*intake())
    asked = chat.send("DELETE")
    assert "Reply YES to erase" in asked.replies[0].text
    assert chat.state is not None and chat.state.confirming_delete

    turn = chat.send(yes)
    assert turn.events == (EraseConfirmed(),)
    assert turn.replies[0].text.startswith("Everything you told us has been erased.")
    assert essentials(chat.state) == ConversationState()


def test_borrar_asks_in_spanish(chat: Chat) -> None:
    chat.send("hola")
    asked = chat.send("BORRAR")

    assert "Responda SÍ para borrar" in asked.replies[0].text
    assert chat.send("sí").replies[0].text.startswith("Todo lo que nos dijo fue borrado.")


@pytest.mark.parametrize("other", ["no", "NO", "wait", "1", ""])
def test_delete_cancelled_mid_intake_repeats_the_question(chat: Chat, other: str) -> None:
    chat.walk("hi", "1", "1")
    before = chat.state
    chat.send("delete")
    turn = chat.send(other)

    assert turn.events == ()
    assert turn.replies[0].text == "Nothing was erased."
    assert turn.replies[-1].text.startswith("How would you describe yourself?")
    assert chat.state == before


def test_delete_cancelled_after_intake_keeps_what_they_wrote(chat: Chat) -> None:
    chat.walk(*intake(), "DELETE")
    words = chat.send("actually, can someone call me tomorrow?")
    chat.send("DELETE")
    no = chat.send("no")

    assert words.events == (WitnessWrote(reference=REFERENCE),)
    assert words.replies[0].text == "Nothing was erased."
    assert no.events == ()
    assert chat.state is not None and chat.state.reference == REFERENCE


def test_a_stop_word_after_delete_opts_out_and_erases_nothing(chat: Chat) -> None:
    chat.walk("hi", "1", "DELETE")
    turn = chat.send("cancel")

    assert turn.events == (OptedOut(),)
    assert turn.replies[0].text == "Nothing was erased."
    assert chat.state is not None and chat.state.opted_out and not chat.state.confirming_delete


def test_delete_works_while_opted_out(chat: Chat) -> None:
    chat.walk("hi", "STOP")

    assert chat.send("DELETE").replies
    assert chat.send("yes").events == (EraseConfirmed(),)


def test_restart_mid_intake_goes_back_to_safe_now(chat: Chat) -> None:
    chat.walk("hola", "1", "1", "3")
    turn = chat.send("reiniciar")

    assert turn.replies[0].text == "Empezamos de nuevo."
    assert turn.replies[-1].text.startswith(SAFE_NOW_ES)
    assert essentials(chat.state) == ConversationState(step="safe_now", language=Language.ES)


def test_restart_before_choosing_a_language_welcomes_again(chat: Chat) -> None:
    chat.send("hi")
    turn = chat.send("RESTART")

    assert "not the police" in text_of(turn)
    assert chat.step == "language"


def test_restart_after_a_case_opens_a_new_case(chat: Chat) -> None:
    chat.walk(*intake())
    chat.send("RESTART")
    assert chat.state is not None and chat.state.reference == REFERENCE
    assert REFERENCE in chat.send("STATUS").replies[0].text

    chat.reference = "WXYZ-2345"
    chat.walk(*intake()[2:])

    assert [c.reference for c in chat.events(CaseOpened)] == [REFERENCE, "WXYZ-2345"]
    assert chat.state is not None and chat.state.reference == "WXYZ-2345"


def test_switching_language_mid_intake(chat: Chat) -> None:
    chat.walk("hi", "1", "1")
    turn = chat.send("ESPAÑOL")

    assert turn.events == (LanguageChosen(Language.ES),)
    assert turn.replies[-1].text.startswith("¿Cómo se describiría usted?")
    assert chat.send("english").replies[-1].text.startswith("How would you describe yourself?")


def test_skip_is_only_a_command_in_free_text_steps(chat: Chat) -> None:
    chat.walk("hi", "1", "1")
    turn = chat.send("SKIP")

    assert chat.step == "role"
    assert turn.replies[0].text.startswith("Sorry")


# Media and odd input


def test_media_alone_is_not_kept_and_the_question_repeats(chat: Chat) -> None:
    chat.walk("hi", "1")
    turn = chat.send("", media=True)

    assert turn.replies[0].text.startswith(MEDIA_EN)
    assert turn.replies[-1].text.startswith(SAFE_NOW_EN)
    assert chat.state is not None and chat.state.retries == 0


def test_media_with_a_caption_still_answers(chat: Chat) -> None:
    chat.walk("hi", "1")
    turn = chat.send("1", media=True)

    assert turn.replies[0].text.startswith(MEDIA_EN)
    assert chat.step == "role"


def test_media_as_the_first_message_gets_the_welcome(chat: Chat) -> None:
    turn = chat.send("", media=True)

    assert turn.replies[0].text.startswith(MEDIA_EN)
    assert "not the police" in text_of(turn)


def test_media_after_intake_reaches_the_case(chat: Chat) -> None:
    chat.walk(*intake())
    turn = chat.send("", media=True)

    assert turn.events == (WitnessWrote(reference=REFERENCE),)
    assert turn.replies[0].text.startswith(MEDIA_EN)


ODD = ["", "   ", "\x00\x1b[31m", "🙏🏽🙏🏽", "👍", "x" * 10_000, "1" * 5_000, "\u200b", "\ud800"]


@pytest.mark.parametrize("odd", ODD)
@pytest.mark.parametrize("steps", [0, 1, 2, 5, 12, 13])
def test_odd_input_at_any_step_is_answered(odd: str, steps: int) -> None:
    chat = Chat()
    for message in intake()[:steps]:
        chat.send(message)
    turn = chat.send(odd)

    assert turn.replies
    json.dumps(turn.state.to_dict())


def test_a_state_from_an_older_script_resumes_safely() -> None:
    lost = ConversationState(step="no_such_step", language=Language.ES, answers={"role": "x"})
    turn = advance(lost, Inbound("hola"), Context(REFERENCE))

    assert turn.state.step == "safe_now"
    assert turn.replies[-1].text.startswith(SAFE_NOW_ES)


def test_done_without_a_reference_starts_again() -> None:
    broken = ConversationState(step="done")
    turn = advance(broken, Inbound("hi"), Context(REFERENCE))

    assert turn.state.step == "language"


def test_advance_is_pure(chat: Chat) -> None:
    chat.walk("hi", "1", "1")
    state = chat.state
    inbound, context = Inbound("2"), Context(REFERENCE)

    assert advance(state, inbound, context) == advance(state, inbound, context)
    assert chat.state == state


def test_delete_as_the_first_message_then_no_gets_the_welcome(chat: Chat) -> None:
    assert "Reply YES to erase" in text_of(chat.send("DELETE"))
    turn = chat.send("no")

    assert turn.replies[0].text == "Nothing was erased."
    assert "not the police" in text_of(turn)
    assert chat.step == "language"
