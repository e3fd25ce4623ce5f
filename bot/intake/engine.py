"""The conversation engine: (state, inbound message, context) -> (new state, replies, events).

Pure: no IO, no clock, no randomness; the case reference and the time arrive in the
Context. The intake it runs is data in script.py and messages.py, drawn in flow.mmd
beside them; what an answer means is decided in understanding.py.

Rules the integrating code can rely on:
- Keywords (a single word, any case, in any language we speak) are checked before
  anything else. STOP and its synonyms opt out with one confirmation; from then on only
  HELP, STATUS, START and DELETE (with its confirmation) are answered, because each is
  an explicit request for a reply. Everything else is silent, but after intake it still
  yields WitnessWrote.
- Language: a first message that is a language name, reads as Spanish, or comes with a
  Spanish language hint (and does not read as English) goes straight to Spanish. Anything
  else gets the English welcome and the bilingual language question; an English hint does
  not skip it, because many Spanish speakers' phones are set to English and the question
  costs one message. ENGLISH / ESPAÑOL switch language at any point.
- Every answer is understood (taken), unsure (confirmed in one yes-or-no question), or not
  understood (asked again with a hint). "Are you safe now" never guesses safe: an unclear
  answer counts as not safe and is asked once more.
- A text sent within `Context.burst_seconds` of the previous answer continues it: the two
  are read as one answer to the earlier question, never as an answer to the next one.
- Buttons are bound to the question (step and version) they were shown under; a button
  from an earlier question is answered "that question is closed" and changes nothing.
- The summary lists every answer by number; "change 4" returns to that question and, once
  answered, to the summary.
- RESTART clears the intake in progress but keeps the reference of a case already sent
  (so STATUS still answers); a new intake opens a new case with a new reference.
- Keywords are commands, not messages to a caseworker: they never yield WitnessWrote.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from bot.intake import messages, render
from bot.intake.lexicon import Keyword
from bot.intake.messages import Message
from bot.intake.model import (
    Button,
    CaseAmended,
    CaseOpened,
    CaseStatus,
    Context,
    ConversationState,
    DangerReported,
    EraseConfirmed,
    Event,
    Inbound,
    Language,
    LanguageChosen,
    LastAnswer,
    OptedIn,
    OptedOut,
    Press,
    Prompt,
    QuietRequested,
    Reply,
    Turn,
    WitnessWrote,
)
from bot.intake.parsing import (
    clean_free_text,
    guess_language,
    has_words,
    is_no,
    is_yes,
    keyword_language,
    normalize,
    parse_keyword,
)
from bot.intake.reading import NO, YES, Reading, understood
from bot.intake.script import (
    CONFIRM,
    DANGER_GUIDANCE,
    DONE,
    DURESS_WORD,
    FREE_TEXT_LIMIT,
    LANGUAGE,
    MORE,
    NEEDS_SEPARATOR,
    NOT_NOW,
    SAFE_NOW,
    START,
    STEP_BY_NAME,
    STEP_NAMES,
    STEPS,
    Kind,
    Step,
    is_asked,
    next_step,
)
from bot.intake.triage import DURESS, SCANNED_ANSWERS, assess, signals
from bot.intake.understanding import (
    CHANGE,
    SEND,
    SKIPPED,
    START_OVER,
    read,
    read_confirm,
    read_yes_no,
)

_OPEN = (CaseStatus.WAITING, CaseStatus.CLAIMED)
_STATUS_MESSAGES: dict[CaseStatus | None, Message] = {
    CaseStatus.WAITING: messages.STATUS_WAITING,
    CaseStatus.CLAIMED: messages.STATUS_CLAIMED,
    CaseStatus.CLOSED: messages.STATUS_CLOSED,
    None: messages.STATUS_UNKNOWN,
}


@dataclass
class _Draft:
    """The turn being built; mutated only inside one call to `advance`."""

    state: ConversationState
    language: Language
    context: Context
    replies: list[Reply] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def say(self, message: Message, **values: str) -> None:
        self.replies.extend(render.say(message, self.language, **values))

    def wait(self, due: datetime | None) -> str:
        """When to expect an answer, in words, from a due time."""
        return render.wait_phrase(due, self.context.now, self.language)

    def warn(self, *, during_intake: bool = False) -> None:
        """The safety reply: 911 now, and the program's crisis line when it has one."""
        self.say(messages.SAFETY_IN_INTAKE if during_intake else messages.SAFETY_NOW)
        if self.context.crisis_line:
            self.say(messages.CRISIS_LINE, crisis_line=self.context.crisis_line)

    def choose_language(self, language: Language) -> None:
        if self.state.language is not language:
            self.state = replace(self.state, language=language)
            self.events.append(LanguageChosen(language))
        self.language = language

    def remember(self, step: str, text: str) -> None:
        """Keep this answer's words, so a text right behind it can continue it."""
        now = self.context.now
        last = LastAnswer(step, text, now, self.state.editing) if now is not None else None
        self.state = replace(self.state, last_answer=last)

    def turn(self) -> Turn:
        return Turn(state=self.state, replies=tuple(self.replies), events=tuple(self.events))


def advance(state: ConversationState | None, inbound: Inbound, context: Context) -> Turn:
    """What one inbound message does to a witness's conversation."""
    current = _repaired(state or ConversationState())
    keyword = None if inbound.button else parse_keyword(inbound.text)
    draft = _Draft(state=current, language=_reply_language(current, inbound), context=context)
    if current.confirming_delete:
        _answer_erase_question(draft, inbound, keyword, context)
    elif keyword is not None and keyword is not Keyword.SKIP:
        draft.state = replace(draft.state, last_answer=None)
        _KEYWORD_HANDLERS[keyword](draft, inbound, context)
    elif current.opted_out:
        _while_opted_out(draft)
    elif inbound.button is not None:
        _on_button(draft, inbound.button)
    else:
        _on_message(draft, inbound)
    if inbound.has_media and draft.replies:
        draft.replies[:0] = render.say(messages.MEDIA_NOT_KEPT, draft.language)
    return draft.turn()


def open_question(state: ConversationState) -> Prompt | None:
    """The question whose buttons still work, with its ticks; None when none is open."""
    if state.step in (START, DONE) or state.step not in STEP_BY_NAME:
        return None
    step = STEP_BY_NAME[state.step]
    multi = step.kind is Kind.MULTI and state.pending is None
    return Prompt(
        step=state.step,
        version=state.version,
        multi=multi,
        selected=state.selection if multi else (),
    )


def _repaired(state: ConversationState) -> ConversationState:
    """A stored state the script no longer knows resumes somewhere sensible, never fails."""
    broken = state.step not in STEP_NAMES or (state.step == DONE and not state.reference)
    if not broken:
        return state
    step = SAFE_NOW if state.language else START
    return replace(state, step=step, retries=0, pending=None, selection=(), editing=False)


def _reply_language(state: ConversationState, inbound: Inbound) -> Language:
    if state.language is not None:
        return state.language
    if keyword_language(inbound.text) is Language.ES:
        return Language.ES
    if state.step == START:
        return _first_language(inbound) or Language.EN
    return Language.EN


def _first_language(inbound: Inbound) -> Language | None:
    """The language to use without asking, for a first message; None means ask."""
    keyword = parse_keyword(inbound.text)
    if keyword is Keyword.ENGLISH:
        return Language.EN
    if keyword is Keyword.SPANISH or keyword_language(inbound.text) is Language.ES:
        return Language.ES
    guessed = guess_language(inbound.text)
    if guessed is Language.ES:
        return Language.ES
    if guessed is None and inbound.language_hint is Language.ES:
        return Language.ES
    return None


# Moving through the intake


def _on_message(draft: _Draft, inbound: Inbound) -> None:
    state = draft.state
    if state.step == DONE:
        _after_intake(draft, inbound)
        return
    if state.step != START and inbound.has_media and not has_words(inbound.text):
        _ask(draft)
        return
    if _continues_burst(draft, inbound):
        return
    _answer(draft, inbound)


def _after_intake(draft: _Draft, inbound: Inbound) -> None:
    """A message once the request is sent: it reaches a person, and danger is acted on."""
    state, context = draft.state, draft.context
    draft.events.append(WitnessWrote(reference=state.reference or ""))
    if state.duress_word and normalize(inbound.text) == normalize(state.duress_word):
        # Someone may be reading over their shoulder: look like a stranger, raise the alarm.
        draft.events.append(DangerReported(reasons=(DURESS,)))
        draft.say(messages.WRONG_NUMBER)
        return
    reasons = signals(inbound.text)
    if reasons:
        draft.events.append(DangerReported(reasons=reasons))
        draft.warn()
    elif context.case_status is CaseStatus.CLOSED:
        draft.say(messages.REOPENED)
    elif context.in_conversation:
        return  # the caseworker is talking with them: no automatic "got it" in between
    elif context.case_status is CaseStatus.CLAIMED:
        draft.say(messages.ACKNOWLEDGED)
    else:
        draft.say(messages.ACK_WAITING)


def _answer(draft: _Draft, inbound: Inbound) -> None:
    """`inbound` as the answer to the question the witness is on."""
    state = draft.state
    if state.step == START:
        draft.remember(START, inbound.text)
        _enter(draft, inbound, welcome=True)
        return
    if state.pending is not None:
        draft.state = replace(state, last_answer=None)
        _answer_did_you_mean(draft, inbound.text)
        return
    draft.remember(state.step, inbound.text)
    step = STEP_BY_NAME[state.step]
    if step.name == CONFIRM:
        _answer_summary(draft, inbound.text)
        return
    _take(draft, step, _read(step, inbound.text, draft.language))


def _read(step: Step, text: str, language: Language) -> Reading:
    reading = read(step, text, language)
    if reading.value is None and step.name == LANGUAGE and not (is_yes(text) or is_no(text)):
        # "hola, necesito ayuda" answers "which language?" as well as "2" does; a bare
        # "sí" or "ok" does not say which language is wanted.
        guessed = guess_language(text)
        if guessed is not None:
            return understood(guessed.value)
    if step.kind is Kind.FREE_TEXT and reading.value is not None:
        words = clean_free_text(reading.value, limit=FREE_TEXT_LIMIT)
        return understood(words) if words else understood(SKIPPED)
    return reading


def _take(draft: _Draft, step: Step, reading: Reading) -> None:
    if reading.value is not None and reading.sure:
        _accept(draft, step, reading.value or None)
    elif reading.value is not None:
        _confirm(draft, step, reading.value)
    else:
        _not_understood(draft, step)


def _not_understood(draft: _Draft, step: Step) -> None:
    draft.state = replace(draft.state, retries=draft.state.retries + 1)
    draft.replies.append(render.hint(step, draft.language, failures=draft.state.retries))
    _ask(draft, summary=False)


def _confirm(draft: _Draft, step: Step, value: str) -> None:
    """One short question back about an answer we are unsure of."""
    state = draft.state
    if step.name == SAFE_NOW:
        _check_safety(draft, step)
        return
    draft.state = replace(state, pending=value, version=state.version + 1)
    draft.replies.extend(
        render.did_you_mean(step, value, draft.language, version=draft.state.version)
    )


def _check_safety(draft: _Draft, step: Step) -> None:
    """An unclear "are you safe": not safe until the witness says plainly that they are."""
    state = draft.state
    if state.answers.get(SAFE_NOW) == NO and state.retries > 0:
        # Asked twice and still unclear: it stays "not safe", and the intake goes on.
        _accept(draft, step, NO)
        return
    answers = {**state.answers, SAFE_NOW: NO}
    draft.state = replace(state, answers=answers, retries=state.retries + 1)
    draft.say(messages.SAFETY_CHECK)
    draft.replies.append(Reply(text=DANGER_GUIDANCE.in_language(draft.language)))
    _ask(draft)


def _answer_did_you_mean(draft: _Draft, text: str) -> None:
    state = draft.state
    step = STEP_BY_NAME[state.step]
    pending = state.pending or ""
    said = read_yes_no(text, draft.language)
    if said.understood and said.value == YES:
        draft.state = replace(state, pending=None)
        _accept(draft, step, pending)
        return
    if said.understood and said.value == NO:
        draft.state = replace(state, pending=None, retries=state.retries + 1)
        draft.say(messages.TRY_AGAIN)
        _ask(draft, new_version=True)
        return
    again = _read(step, text, draft.language)
    if again.understood:
        draft.state = replace(state, pending=None)
        _accept(draft, step, again.value or None)
        return
    draft.state = replace(state, retries=state.retries + 1)
    draft.replies.extend(render.did_you_mean(step, pending, draft.language, version=state.version))


def _accept(draft: _Draft, step: Step, value: str | None) -> None:
    if step.name == LANGUAGE and value is not None:
        _start_in(draft, Language(value))
        return
    if step.name == MORE and value == NOT_NOW:
        _finish_later(draft)
        return
    state = draft.state
    answers = dict(state.answers)
    previous = answers.get(step.key)
    if step.kept_in_answers and value is not None:
        answers[step.key] = value
    else:
        answers.pop(step.key, None)
    if step.kind is Kind.FREE_TEXT and value and step.name in SCANNED_ANSWERS:
        _triage_answer(draft, value)
    if value != previous:
        for text in step.follow_ups.get(value or "", ()):
            draft.replies.append(Reply(text=text.in_language(draft.language)))
    if step.kind is Kind.MULTI and value:
        draft.replies.append(render.taken(step, value, draft.language))
    answered = tuple(dict.fromkeys((*state.answered, step.name)))
    answers, answered = _still_asked(answers, answered)
    if state.editing:
        following = _first_unanswered(answers, answered)
    else:
        following = next_step(step.name, value=value, answers=answers)
    draft.state = replace(
        state, answers=answers, answered=answered, retries=0, pending=None, selection=()
    )
    _go(draft, following)


def _triage_answer(draft: _Draft, text: str) -> None:
    """A free-text answer that signals danger gets the safety reply at once."""
    reasons = signals(text)
    if not reasons:
        return
    draft.warn(during_intake=True)
    state = draft.state
    draft.state = replace(state, triage=tuple(dict.fromkeys((*state.triage, *reasons))))
    if state.amending:
        # A case is open already (the fast path): it goes urgent now, not at the summary.
        draft.events.append(DangerReported(reasons=reasons))


def _finish_later(draft: _Draft) -> None:
    """The fast path's case is sent; the witness will not answer more now."""
    draft.state = _closed_intake(draft.state, reference=draft.state.reference)
    draft.say(messages.FAST_LATER)


def _still_asked(
    answers: dict[str, str], answered: tuple[str, ...]
) -> tuple[dict[str, str], tuple[str, ...]]:
    """Answers to questions that no longer apply (a move, once the needs change) are gone."""
    kept = {
        name: value
        for name, value in answers.items()
        if name not in STEP_BY_NAME or is_asked(STEP_BY_NAME[name], answers)
    }
    return kept, tuple(name for name in answered if is_asked(STEP_BY_NAME[name], kept))


def _first_unanswered(answers: dict[str, str], answered: tuple[str, ...]) -> str:
    """After changing an answer: any question it newly calls for, else the summary."""
    for step in STEPS:
        if step.name in (LANGUAGE, MORE, CONFIRM, DONE) or step.kind is Kind.FINAL:
            continue
        if step.skip_if_answered and step.key in answers:
            continue
        if is_asked(step, answers) and step.name not in answered:
            return step.name
    return CONFIRM


def _go(draft: _Draft, following: str) -> None:
    """Move to another question (or finish); buttons of the previous one stop working."""
    state = draft.state
    editing = state.editing and following != CONFIRM
    draft.state = replace(
        state, step=following, version=state.version + 1, editing=editing, retries=0
    )
    if following == DONE:
        _send_case(draft)
        return
    if following == MORE and not state.amending and not state.editing:
        # Not safe now: the case goes out as urgent before anything else is asked.
        _open_case(draft, fast=True)
    _ask(draft)


def _answer_summary(draft: _Draft, text: str) -> None:
    state = draft.state
    lines = render.summary_steps(state.answers, state.answered)
    reading = read_confirm(text, draft.language, lines=lines)
    if not reading.understood or reading.value is None:
        _not_understood(draft, STEP_BY_NAME[CONFIRM])
        return
    _summary_answered(draft, reading.value)


def _summary_answered(draft: _Draft, value: str) -> None:
    state = draft.state
    if value == SEND:
        _go(draft, DONE)
    elif value == START_OVER:
        draft.state = replace(state, answers={}, answered=(), last_answer=None)
        draft.say(messages.RESTARTED)
        _go(draft, SAFE_NOW)
    elif value.startswith(CHANGE):
        draft.state = replace(state, editing=True)
        _go(draft, value.removeprefix(CHANGE))


def _send_case(draft: _Draft) -> None:
    """The intake is finished: open the case, or change the open one it amends."""
    if draft.state.amending and draft.state.reference:
        _amend_case(draft)
    else:
        _open_case(draft)


def _open_case(draft: _Draft, *, fast: bool = False) -> None:
    state = draft.state
    answers = dict(state.answers)
    assessment = assess(answers)
    reference = draft.context.new_reference
    triage = tuple(dict.fromkeys((*assessment.reasons_urgent, *state.triage)))
    draft.events.append(
        CaseOpened(
            reference=reference,
            queue=assessment.queue,
            priority=assessment.priority,
            language=draft.language,
            needs=assessment.needs,
            answers=answers,
            triage=triage,
        )
    )
    wait = draft.wait(draft.context.due_by_priority.get(assessment.priority))
    if fast:
        # The rest of the intake will amend this case; the answers stay until then.
        draft.state = replace(state, reference=reference, amending=True, triage=())
        draft.say(messages.FAST_SENT, reference=reference, wait=wait)
        return
    draft.state = _closed_intake(state, reference=reference)
    draft.say(messages.DONE, reference=reference, wait=wait)


def _amend_case(draft: _Draft) -> None:
    state = draft.state
    answers = dict(state.answers)
    assessment = assess(answers)
    reference = state.reference or ""
    draft.events.append(
        CaseAmended(
            reference=reference,
            queue=assessment.queue,
            priority=assessment.priority,
            needs=assessment.needs,
            answers=answers,
            triage=tuple(dict.fromkeys((*assessment.reasons_urgent, *state.triage))),
        )
    )
    draft.state = _closed_intake(state, reference=reference)
    wait = draft.wait(draft.context.case_due_at)
    draft.say(messages.AMENDED, reference=reference, wait=wait)


def _closed_intake(state: ConversationState, *, reference: str | None) -> ConversationState:
    """After the request is sent: the answers live with the case, not the conversation."""
    return replace(
        state,
        step=DONE,
        answers={},
        answered=(),
        reference=reference,
        retries=0,
        pending=None,
        selection=(),
        editing=False,
        last_answer=None,
        amending=False,
        triage=(),
        duress_word=state.answers.get(DURESS_WORD) or state.duress_word,
    )


def _enter(draft: _Draft, inbound: Inbound, *, welcome: bool) -> None:
    """Begin the intake from its very start: welcome, then language or the first question."""
    language = draft.state.language or _first_language(inbound)
    if language is None:
        draft.language = Language.EN
        if welcome:
            draft.say(messages.WELCOME)
        _to(draft, LANGUAGE)
        return
    draft.choose_language(language)
    if welcome:
        draft.say(messages.WELCOME)
    _to(draft, SAFE_NOW)


def _to(draft: _Draft, step: str) -> None:
    state = draft.state
    draft.state = replace(state, step=step, version=state.version + 1, retries=0, pending=None)
    _ask(draft)


def _start_in(draft: _Draft, language: Language) -> None:
    """The language question answered: the welcome was English, so Spanish gets its own."""
    draft.choose_language(language)
    if language is Language.ES:
        draft.say(messages.WELCOME)
    _to(draft, SAFE_NOW)


def _ask(draft: _Draft, *, summary: bool = True, new_version: bool = False) -> None:
    """Repeat the question the witness is on; after intake there is none."""
    if new_version:
        draft.state = replace(draft.state, version=draft.state.version + 1)
    state = draft.state
    if state.step in (START, DONE):
        return
    step = STEP_BY_NAME[state.step]
    if step.kind is Kind.FINAL:
        return
    if step.name == CONFIRM and summary:
        draft.replies.extend(render.summary(state.answers, state.answered, draft.language))
    draft.replies.append(
        render.question(step, draft.language, version=state.version, selected=state.selection)
    )


def _resume(draft: _Draft, inbound: Inbound, *, welcome: bool) -> None:
    if draft.state.step == START:
        _enter(draft, inbound, welcome=welcome)
    else:
        _ask(draft)


def _while_opted_out(draft: _Draft) -> None:
    """Silence; but a message after intake still reaches the caseworker."""
    if draft.state.step == DONE:
        draft.events.append(WitnessWrote(reference=draft.state.reference or ""))


# Bursts: texts sent before the witness could have read the next question


def _continues_burst(draft: _Draft, inbound: Inbound) -> bool:
    """Read this text together with the previous answer, if it came right behind it."""
    state, context = draft.state, draft.context
    last = state.last_answer
    if last is None or context.now is None or context.burst_seconds <= 0:
        return False
    elapsed = (context.now - last.at).total_seconds()
    if not 0 <= elapsed <= context.burst_seconds:
        return False
    rewound = _rewound(state, last)
    if rewound is None:
        return False
    # Capped like any free-text answer, so a long run of texts cannot grow the state.
    joined = f"{last.text}\n{inbound.text}"[:FREE_TEXT_LIMIT]
    trial = _Draft(state=rewound, language=draft.language, context=context)
    if last.step == START:
        trial.language = _reply_language(rewound, replace(inbound, text=joined))
    _answer(trial, replace(inbound, text=joined))
    if _same_place(trial.state, state):
        # Nothing the witness needs to hear changed: keep the joined answer quietly, and
        # the buttons already shown keep working.
        draft.state = replace(trial.state, version=state.version)
        return True
    draft.state, draft.language = trial.state, trial.language
    draft.replies, draft.events = trial.replies, trial.events
    return True


def _rewound(state: ConversationState, last: LastAnswer) -> ConversationState | None:
    """The conversation as it was before the previous answer, to read it again."""
    if last.step == START:
        if state.reference is not None or state.answers:
            return None
        return replace(state, step=START, language=None, retries=0, pending=None)
    if last.step not in STEP_BY_NAME:
        return None
    answers = {k: v for k, v in state.answers.items() if k != last.step}
    if last.step == SAFE_NOW and state.answers.get(SAFE_NOW) == NO:
        answers[SAFE_NOW] = NO  # a "not safe" already said is never taken back by a burst
    return replace(
        state,
        step=last.step,
        answers=answers,
        answered=tuple(name for name in state.answered if name != last.step),
        retries=0,
        pending=None,
        selection=(),
        editing=last.editing,
    )


def _same_place(trial: ConversationState, current: ConversationState) -> bool:
    free_text = {step.name for step in STEPS if step.kind is Kind.FREE_TEXT}

    def chosen(state: ConversationState) -> dict[str, str]:
        return {k: v for k, v in state.answers.items() if k not in free_text}

    return (
        trial.step == current.step
        and trial.pending == current.pending
        and trial.language == current.language
        and chosen(trial) == chosen(current)
    )


# Buttons


def _on_button(draft: _Draft, button: Button) -> None:
    state = draft.state
    draft.state = replace(state, last_answer=None)
    current = button.step == state.step and button.version == state.version
    if not current or state.step in (START, DONE):
        draft.say(messages.QUESTION_CLOSED)
        _ask(draft, summary=False)
        return
    step = STEP_BY_NAME[state.step]
    if state.pending is not None:
        if button.number in (1, 2):
            _answer_did_you_mean(draft, str(button.number))
        return
    if step.name == CONFIRM:
        if button.number in (1, 2):
            _summary_answered(draft, SEND if button.number == 1 else START_OVER)
        return
    numbers = {c.number: c.value for c in step.choices}
    if step.kind is Kind.MULTI:
        _on_toggle(draft, step, button, numbers)
    elif button.number in numbers:
        _take(draft, step, understood(numbers[button.number]))


def _on_toggle(draft: _Draft, step: Step, button: Button, numbers: dict[int, str]) -> None:
    state = draft.state
    if button.press is Press.DONE:
        if not state.selection:
            draft.replies.append(Reply(text=messages.PICK_ONE_FIRST.in_language(draft.language)))
            return
        chosen = [c.value for c in step.choices if c.number in state.selection]
        _accept(draft, step, NEEDS_SEPARATOR.join(chosen))
        return
    if button.number not in numbers:
        return
    picked = set(state.selection) ^ {button.number}
    # The keyboard under the question is redrawn with the new ticks; nothing is said.
    draft.state = replace(state, selection=tuple(sorted(picked)))


# Keywords


def _on_stop(draft: _Draft, inbound: Inbound, context: Context) -> None:
    if draft.state.opted_out:
        return
    draft.state = replace(draft.state, opted_out=True, confirming_delete=False)
    draft.events.append(OptedOut())
    draft.say(messages.OPTED_OUT)


def _on_start(draft: _Draft, inbound: Inbound, context: Context) -> None:
    if draft.state.opted_out:
        draft.state = replace(draft.state, opted_out=False)
        draft.events.append(OptedIn())
        draft.say(messages.OPTED_IN)
    _resume(draft, inbound, welcome=True)
    if not draft.replies:
        draft.say(messages.OPTED_IN)


def _on_help(draft: _Draft, inbound: Inbound, context: Context) -> None:
    draft.say(context.help or messages.HELP)
    if not draft.state.opted_out:
        _resume(draft, inbound, welcome=False)


def _on_status(draft: _Draft, inbound: Inbound, context: Context) -> None:
    reference = draft.state.reference
    if reference:
        wait = draft.wait(context.case_due_at)
        draft.say(_STATUS_MESSAGES[context.case_status], reference=reference, wait=wait)
    else:
        draft.say(messages.NO_REQUEST_YET)
    if not draft.state.opted_out:
        _resume(draft, inbound, welcome=True)


def _on_delete(draft: _Draft, inbound: Inbound, context: Context) -> None:
    draft.state = replace(draft.state, confirming_delete=True)
    draft.say(messages.CONFIRM_DELETE)


def _on_restart(draft: _Draft, inbound: Inbound, context: Context) -> None:
    state = draft.state
    began = state.step != START
    step = START if state.language is None else SAFE_NOW
    open_case = bool(state.reference) and context.case_status in _OPEN
    draft.state = replace(
        state,
        step=step,
        amending=open_case,
        triage=(),
        answers={},
        answered=(),
        retries=0,
        pending=None,
        selection=(),
        editing=False,
        confirming_delete=False,
        version=state.version + 1,
    )
    if state.opted_out:
        return
    if began:
        draft.say(messages.RESTARTED)
    _resume(draft, inbound, welcome=state.language is None)


def _on_exit(draft: _Draft, inbound: Inbound, context: Context) -> None:
    """Quick exit: keep everything, send nothing more until the witness writes again."""
    draft.events.append(QuietRequested())
    if not context.exit_empties_chat:
        # Where the chat itself is emptied (Telegram), nothing; elsewhere, one last word
        # on hiding it.
        draft.say(messages.QUIET)


def _on_language(draft: _Draft, inbound: Inbound, language: Language) -> None:
    state = draft.state
    if state.opted_out:
        draft.choose_language(language)
        return
    if state.step == START:
        _enter(draft, inbound, welcome=True)
    elif state.step == LANGUAGE:
        _start_in(draft, language)
    else:
        draft.choose_language(language)
        draft.say(messages.LANGUAGE_SWITCHED)
        # The options are drawn again in the new language; the old buttons close.
        _ask(draft, new_version=True)


def _on_english(draft: _Draft, inbound: Inbound, context: Context) -> None:
    _on_language(draft, inbound, Language.EN)


def _on_spanish(draft: _Draft, inbound: Inbound, context: Context) -> None:
    _on_language(draft, inbound, Language.ES)


# SKIP is missing on purpose: it answers a free-text question and is no command.
_KEYWORD_HANDLERS: dict[Keyword, Callable[[_Draft, Inbound, Context], None]] = {
    Keyword.STOP: _on_stop,
    Keyword.START: _on_start,
    Keyword.HELP: _on_help,
    Keyword.STATUS: _on_status,
    Keyword.DELETE: _on_delete,
    Keyword.RESTART: _on_restart,
    Keyword.ENGLISH: _on_english,
    Keyword.SPANISH: _on_spanish,
    Keyword.EXIT: _on_exit,
}


def _answer_erase_question(
    draft: _Draft, inbound: Inbound, keyword: Keyword | None, context: Context
) -> None:
    """The message after DELETE: yes erases; anything else keeps everything."""
    state = replace(draft.state, confirming_delete=False)
    draft.state = state
    if keyword is Keyword.DELETE or is_yes(inbound.text):
        draft.state = ConversationState()
        draft.events.append(EraseConfirmed())
        draft.say(messages.ERASED)
        return
    draft.say(messages.NOT_ERASED)
    if keyword is not None and keyword is not Keyword.SKIP:
        _KEYWORD_HANDLERS[keyword](draft, inbound, context)
        return
    if state.step == DONE:
        # Whatever they wrote instead of "no" may be meant for their caseworker.
        if has_words(inbound.text) and not is_no(inbound.text):
            draft.events.append(WitnessWrote(reference=state.reference or ""))
        return
    if not state.opted_out:
        # A witness whose very first message was DELETE has not had the welcome yet.
        _resume(draft, inbound, welcome=True)
