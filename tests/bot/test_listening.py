"""After the intake: every message read for danger, nothing swallowed, quiet exit, amending."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.intake.model import (
    CaseAmended,
    CaseOpened,
    CaseStatus,
    DangerReported,
    Priority,
    QuietRequested,
    WitnessWrote,
)
from tests.bot.chat import ON_TELEGRAM, REFERENCE, Chat, intake, text_of

NOW = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)


def sent(chat: Chat, **overrides: str) -> Chat:
    chat.walk(*intake(**overrides))
    assert chat.step == "done"
    chat.case_status = CaseStatus.WAITING
    return chat


@pytest.mark.parametrize(
    ("message", "first"),
    [
        ("he is outside my house with a gun right now", "hi"),
        ("ya viene para acá y tiene una pistola", "hola"),
        ("they found out where i live", "hi"),
    ],
)
def test_danger_after_the_intake_is_answered_at_once_and_reported(
    chat: Chat, message: str, first: str
) -> None:
    sent(chat, first=first, language="1" if first == "hi" else None)
    turn = chat.send(message)

    (danger,) = [e for e in turn.events if isinstance(e, DangerReported)]
    assert danger.reasons and all(word not in danger.reasons for word in message.split())
    assert WitnessWrote(reference=REFERENCE) in turn.events
    assert "911" in turn.replies[0].text


def test_the_crisis_line_is_offered_beside_911() -> None:
    chat = Chat()
    chat.crisis_line = "+1 800 555 0199"
    sent(chat)
    text = text_of(chat.send("he has a knife and is at my door"))

    assert "911" in text and "+1 800 555 0199" in text


@pytest.mark.parametrize(("message", "first"), [("thank you", "hi"), ("ok gracias", "hola")])
def test_thanks_change_nothing(chat: Chat, message: str, first: str) -> None:
    sent(chat, first=first, language="1" if first == "hi" else None)
    turn = chat.send(message)

    assert turn.events == (WitnessWrote(reference=REFERENCE),)
    assert "911" not in text_of(turn)


def test_before_a_claim_no_one_is_called_your_caseworker(chat: Chat) -> None:
    sent(chat)
    assert text_of(chat.send("thank you")) == "Got it. A caseworker will see this."
    chat.case_status = CaseStatus.CLAIMED
    assert text_of(chat.send("thank you")) == "Got it. Your caseworker will see this."


def test_a_message_to_a_closed_case_is_told_a_person_will_see_it(chat: Chat) -> None:
    sent(chat)
    chat.case_status = CaseStatus.CLOSED
    turn = chat.send("they came back last night, I need help again")

    assert WitnessWrote(reference=REFERENCE) in turn.events
    assert any(isinstance(e, DangerReported) for e in turn.events)
    chat.case_status = CaseStatus.CLOSED
    calm = chat.send("I need help again please")
    assert calm.events == (WitnessWrote(reference=REFERENCE),)
    assert text_of(calm).startswith("Thank you for writing. Your request is open again")


def test_a_live_conversation_gets_no_automatic_reply(chat: Chat) -> None:
    sent(chat)
    chat.case_status = CaseStatus.CLAIMED
    chat.in_conversation = True

    assert chat.send("ok, tomorrow works").replies == ()
    assert "911" in text_of(chat.send("he is here now"))


def test_the_danger_word_looks_like_a_wrong_number_and_raises_the_alarm(chat: Chat) -> None:
    sent(chat, duress_word="Pineapple")
    turn = chat.send("pineapple")

    assert text_of(turn) == "Sorry, wrong number."
    assert DangerReported(reasons=("duress",)) in turn.events
    other = chat.send("pineapples are nice")
    assert not any(isinstance(e, DangerReported) for e in other.events)


def test_exit_keeps_the_case_and_goes_quiet(chat: Chat) -> None:
    sent(chat)
    turn = chat.send("EXIT")

    assert turn.events == (QuietRequested(),)
    assert "delete this thread" in text_of(turn)
    assert chat.step == "done" and chat.state is not None and chat.state.reference == REFERENCE


def test_exit_on_telegram_says_nothing_the_chat_is_emptied() -> None:
    chat = Chat(**ON_TELEGRAM)
    sent(chat)
    turn = chat.send("salir")

    assert turn.events == (QuietRequested(),) and turn.replies == ()


# One open case per witness


def test_restart_with_an_open_case_amends_it(chat: Chat) -> None:
    sent(chat, needs="3")
    chat.send("RESTART")
    chat.walk(*intake(needs="1", where="1", household="2")[2:])

    assert len(chat.events(CaseOpened)) == 1
    (amended,) = chat.events(CaseAmended)
    assert amended.reference == REFERENCE and amended.queue == "relocation"
    assert "Updated your request" in text_of(chat.turns[-1])


def test_restart_after_a_closed_case_opens_a_new_one(chat: Chat) -> None:
    sent(chat)
    chat.case_status = CaseStatus.CLOSED
    chat.send("RESTART")
    chat.reference = "WXYZ-2345"
    chat.walk(*intake()[2:])

    assert [e.reference for e in chat.events(CaseOpened)] == [REFERENCE, "WXYZ-2345"]
    assert chat.events(CaseAmended) == []


# Not safe now: the fast path


def fast(chat: Chat) -> None:
    chat.walk("hi", "1", "2")
    assert chat.step == "fast_contact"
    chat.walk("1")
    assert chat.step == "location"
    if chat.now is not None:
        chat.wait(60)


def test_not_safe_sends_an_urgent_case_after_two_questions(chat: Chat) -> None:
    chat.due_by_priority = {Priority.URGENT: NOW + timedelta(minutes=15)}
    chat.now = NOW
    fast(chat)
    turn = chat.send("near the park on 5th")

    case = chat.case()
    assert case.priority is Priority.URGENT and "not safe now" in case.triage
    assert case.answers == {
        "safe_now": "no",
        "contact": "text_here",
        "location": "near the park on 5th",
    }
    text = text_of(turn)
    assert f"Your request {REFERENCE} is sent as urgent" in text
    assert "within about 15 minutes" in text
    assert turn.replies[-1].text.startswith("If you can, a few more questions")


def test_not_now_leaves_the_urgent_case_as_it_is(chat: Chat) -> None:
    fast(chat)
    chat.send("SKIP")
    turn = chat.send("2")

    assert chat.step == "done" and chat.events(CaseAmended) == []
    assert "stays urgent" in text_of(turn)


def test_the_rest_of_the_questions_amend_the_same_case(chat: Chat) -> None:
    fast(chat)
    chat.send("SKIP")
    chat.send("1")
    assert chat.step == "role"
    chat.walk("2", "3", "3")  # victim, locks, later: contact was asked already
    assert chat.step == "safe_times"
    chat.walk("SKIP", "SKIP", "SKIP", "SKIP", "1")

    (amended,) = chat.events(CaseAmended)
    assert amended.reference == chat.case().reference
    assert amended.priority is Priority.URGENT and amended.queue == "home-security"
    assert amended.answers["contact"] == "text_here" and amended.answers["role"] == "victim"


# What happens next


def test_done_says_when_to_expect_an_answer(chat: Chat) -> None:
    chat.now = NOW
    chat.due_by_priority = {
        Priority.URGENT: NOW + timedelta(minutes=15),
        Priority.HIGH: NOW + timedelta(hours=2),
        Priority.NORMAL: NOW + timedelta(hours=24),
    }
    turn = chat.walk(*intake(needs="1", where="1", household="1", soon="2"))

    assert chat.case().priority is Priority.HIGH
    assert "A caseworker will answer within about 2 hours" in text_of(turn)


def test_status_says_when_to_expect_an_answer(chat: Chat) -> None:
    sent(chat)
    chat.now = NOW
    chat.case_due_at = NOW + timedelta(minutes=40)

    assert "will answer within about 40 minutes" in text_of(chat.send("STATUS"))
    chat.case_due_at = NOW - timedelta(minutes=5)
    assert "as soon as possible" in text_of(chat.send("estado"))
