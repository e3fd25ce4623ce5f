"""Whatever a witness sends, in any order: the engine never fails and never goes quiet."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.intake.engine import advance
from bot.intake.model import (
    CaseOpened,
    CaseStatus,
    Context,
    ConversationState,
    Inbound,
    Language,
    Priority,
)
from bot.intake.parsing import KEYWORDS
from bot.intake.script import ANSWER_KEYS, MOVE_NEEDS
from bot.intake.triage import QUEUES, assess, queue_for
from tests.bot.chat import REFERENCE

WORDS = [
    *KEYWORDS,
    *(word.upper() for word in KEYWORDS),
    *(str(n) for n in range(0, 22)),
    "1 3",
    "1,3",
    "yes",
    "sí",
    "no",
    "hola",
    "ESPAÑOL",
    "one",
    "  2. ",
    "",
    "   ",
    "🙏🏽",
]

message = st.one_of(
    st.sampled_from(WORDS),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=200),
    st.builds(
        lambda part, times: part * times, st.text(min_size=1, max_size=5), st.integers(1000, 1000)
    ),
    st.sampled_from(["x" * 5000, "🙏" * 2500, "\x00" * 300, "1 " * 2000]),
)
inbound = st.builds(
    Inbound,
    text=message,
    language_hint=st.sampled_from([None, Language.EN, Language.ES]),
    has_media=st.booleans(),
)
context = st.builds(
    Context,
    new_reference=st.just(REFERENCE),
    case_status=st.sampled_from([None, *CaseStatus]),
)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(st.tuples(inbound, context), min_size=1, max_size=40))
def test_any_messages_in_any_order(conversation: list[tuple[Inbound, Context]]) -> None:
    state: ConversationState | None = None
    for sent, world in conversation:
        turn = advance(state, sent, world)

        assert turn.replies or turn.state.opted_out
        assert all(reply.text for reply in turn.replies)
        saved = json.loads(json.dumps(turn.state.to_dict()))
        assert ConversationState.from_dict(saved) == turn.state
        assert advance(state, sent, world) == turn
        for happened in turn.events:
            if isinstance(happened, CaseOpened):
                assert happened.queue in QUEUES and happened.priority in Priority
                assert turn.state.reference == happened.reference
        state = turn.state


ANSWERS = ["1", "2", "3", "4", "1 3", "2 5", "4 6", "SKIP", "today", "no", "bluebird", "HELP"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(ANSWERS), min_size=10, max_size=40))
def test_every_case_opened_is_consistent(answers: list[str]) -> None:
    state: ConversationState | None = None
    opened: list[CaseOpened] = []
    for text in ["hi", *answers]:
        turn = advance(state, Inbound(text), Context(REFERENCE))
        opened += [e for e in turn.events if isinstance(e, CaseOpened)]
        state = turn.state
    event(f"cases opened: {min(len(opened), 2)}")
    for case in opened:
        assert set(case.answers) <= set(ANSWER_KEYS)
        assert assess(case.answers).priority is case.priority
        assert case.queue == queue_for(case.needs)
        moving = bool(MOVE_NEEDS & set(case.needs))
        assert ("move_where" in case.answers) is moving
        assert ("household" in case.answers) is moving
