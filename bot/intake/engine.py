"""The conversation engine: (state, inbound message, context) -> (new state, replies, events).

Pure: no IO, no clock, no randomness; the case reference arrives in the Context. The
intake it runs is data in script.py and messages.py, drawn in flow.mmd beside them.

Rules the integrating code can rely on:
- Keywords (a single word, any case) are checked before anything else. STOP and its
  Twilio synonyms opt out with one confirmation; from then on only HELP, STATUS, START
  and DELETE (with its confirmation) are answered, because each is an explicit request
  for a reply. Everything else is silent, but after intake it still yields WitnessWrote.
- Language: a first message that is a language name, reads as Spanish, or comes with a
  Spanish language hint (and does not read as English) goes straight to Spanish. Anything
  else gets the English welcome and the bilingual language question; an English hint does
  not skip it, because many Spanish speakers' phones are set to English and the question
  costs one message. ENGLISH / ESPAÑOL switch language at any point.
- RESTART clears the intake in progress but keeps the reference of a case already sent
  (so STATUS still answers); a new intake opens a new case with a new reference.
- Keywords are commands, not messages to a caseworker: they never yield WitnessWrote.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from bot.intake import messages, render
from bot.intake.messages import Message
from bot.intake.model import (
    CaseOpened,
    CaseStatus,
    Context,
    ConversationState,
    EraseConfirmed,
    Event,
    Inbound,
    Language,
    LanguageChosen,
    OptedIn,
    OptedOut,
    Reply,
    Turn,
    WitnessWrote,
)
from bot.intake.parsing import (
    Keyword,
    clean_free_text,
    guess_language,
    has_words,
    is_no,
    is_yes,
    keyword_language,
    parse_choice,
    parse_choices,
    parse_count,
    parse_keyword,
)
from bot.intake.script import (
    CONFIRM,
    DONE,
    FREE_TEXT_LIMIT,
    HOUSEHOLD_MAX,
    HOUSEHOLD_MIN,
    LANGUAGE,
    NEEDS_SEPARATOR,
    SAFE_NOW,
    START,
    STEP_BY_NAME,
    STEP_NAMES,
    STEPS,
    Kind,
    Step,
    next_step,
)
from bot.intake.triage import assess

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
    replies: list[Reply] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def say(self, message: Message, *, reference: str = "") -> None:
        self.replies.extend(render.say(message, self.language, reference=reference))

    def choose_language(self, language: Language) -> None:
        if self.state.language is not language:
            self.state = replace(self.state, language=language)
            self.events.append(LanguageChosen(language))
        self.language = language

    def turn(self) -> Turn:
        return Turn(state=self.state, replies=tuple(self.replies), events=tuple(self.events))


def advance(state: ConversationState | None, inbound: Inbound, context: Context) -> Turn:
    """What one inbound message does to a witness's conversation."""
    current = _repaired(state or ConversationState())
    keyword = parse_keyword(inbound.text)
    draft = _Draft(state=current, language=_reply_language(current, inbound))
    if current.confirming_delete:
        _answer_erase_question(draft, inbound, keyword, context)
    elif keyword is not None and keyword is not Keyword.SKIP:
        _KEYWORD_HANDLERS[keyword](draft, inbound, context)
    elif current.opted_out:
        _while_opted_out(draft)
    else:
        _on_message(draft, inbound, context)
    if inbound.has_media and draft.replies:
        draft.replies[:0] = render.say(messages.MEDIA_NOT_KEPT, draft.language)
    return draft.turn()


def _repaired(state: ConversationState) -> ConversationState:
    """A stored state the script no longer knows resumes somewhere sensible, never fails."""
    broken = state.step not in STEP_NAMES or (state.step == DONE and not state.reference)
    if not broken:
        return state
    return replace(state, step=SAFE_NOW if state.language else START, retries=0)


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


def _on_message(draft: _Draft, inbound: Inbound, context: Context) -> None:
    state = draft.state
    if state.step == START:
        _enter(draft, inbound, welcome=True)
        return
    if state.step == DONE:
        draft.events.append(WitnessWrote(reference=state.reference or ""))
        draft.say(messages.ACKNOWLEDGED)
        return
    if inbound.has_media and not has_words(inbound.text):
        _ask(draft)
        return
    step = STEP_BY_NAME[state.step]
    understood, value = _read(step, inbound.text)
    if not understood and step.name == LANGUAGE:
        # "hola, necesito ayuda" answers "which language?" as well as "2" does.
        guessed = guess_language(inbound.text)
        understood, value = guessed is not None, guessed.value if guessed else None
    if understood:
        _accept(draft, step, value, context)
    else:
        draft.state = replace(state, retries=state.retries + 1)
        draft.replies.append(render.hint(step, draft.language, failures=draft.state.retries))
        _ask(draft)


def _read(step: Step, text: str) -> tuple[bool, str | None]:
    """Whether `text` answers `step`, and the value to store (None for a skip)."""
    if step.kind is Kind.CHOICE:
        choice = parse_choice(text, step.choices)
        return choice is not None, choice.value if choice else None
    if step.kind is Kind.MULTI:
        chosen = parse_choices(text, step.choices)
        values = NEEDS_SEPARATOR.join(c.value for c in chosen) if chosen else None
        return values is not None, values
    if step.kind is Kind.COUNT:
        count = parse_count(text, low=HOUSEHOLD_MIN, high=HOUSEHOLD_MAX)
        return count is not None, str(count) if count is not None else None
    if step.kind is Kind.FREE_TEXT:
        if parse_keyword(text) is Keyword.SKIP:
            return True, None
        words = clean_free_text(text, limit=FREE_TEXT_LIMIT)
        return bool(words), words or None
    return False, None


def _accept(draft: _Draft, step: Step, value: str | None, context: Context) -> None:
    if step.name == LANGUAGE and value is not None:
        _start_in(draft, Language(value))
        return
    answers = dict(draft.state.answers)
    if step.kept_in_answers and value is not None:
        answers[step.name] = value
    else:
        answers.pop(step.name, None)
    for text in step.follow_ups.get(value or "", ()):
        draft.replies.append(Reply(text=text.in_language(draft.language)))
    following = next_step(step.name, value=value, answers=answers)
    if _position(following) <= _position(step.name):
        # Going back means starting over: earlier answers no longer hold.
        answers = {}
        draft.say(messages.RESTARTED)
    draft.state = replace(draft.state, step=following, answers=answers, retries=0)
    if following == DONE:
        _open_case(draft, context)
    else:
        _ask(draft)


def _position(step_name: str) -> int:
    return STEPS.index(STEP_BY_NAME[step_name])


def _open_case(draft: _Draft, context: Context) -> None:
    state = draft.state
    answers = dict(state.answers)
    assessment = assess(answers)
    reference = context.new_reference
    draft.events.append(
        CaseOpened(
            reference=reference,
            queue=assessment.queue,
            priority=assessment.priority,
            language=draft.language,
            needs=assessment.needs,
            answers=answers,
        )
    )
    # The answers now live with the case; the conversation need not hold a second copy.
    draft.state = replace(state, step=DONE, answers={}, reference=reference, retries=0)
    draft.say(messages.DONE, reference=reference)


def _enter(draft: _Draft, inbound: Inbound, *, welcome: bool) -> None:
    """Begin the intake from its very start: welcome, then language or the first question."""
    language = draft.state.language or _first_language(inbound)
    if language is None:
        draft.language = Language.EN
        if welcome:
            draft.say(messages.WELCOME)
        draft.state = replace(draft.state, step=LANGUAGE, retries=0)
        _ask(draft)
        return
    draft.choose_language(language)
    if welcome:
        draft.say(messages.WELCOME)
    draft.state = replace(draft.state, step=SAFE_NOW, retries=0)
    _ask(draft)


def _start_in(draft: _Draft, language: Language) -> None:
    """The language question answered: the welcome was English, so Spanish gets its own."""
    draft.choose_language(language)
    if language is Language.ES:
        draft.say(messages.WELCOME)
    draft.state = replace(draft.state, step=SAFE_NOW, retries=0)
    _ask(draft)


def _ask(draft: _Draft) -> None:
    """Repeat the question the witness is on; after intake there is none."""
    name = draft.state.step
    if name in (START, DONE):
        return
    step = STEP_BY_NAME[name]
    if step.kind is Kind.FINAL:
        return
    if name == CONFIRM:
        draft.replies.extend(render.summary(draft.state.answers, draft.language))
    draft.replies.append(render.question(step, draft.language))


def _resume(draft: _Draft, inbound: Inbound, *, welcome: bool) -> None:
    if draft.state.step == START:
        _enter(draft, inbound, welcome=welcome)
    else:
        _ask(draft)


def _while_opted_out(draft: _Draft) -> None:
    """Silence; but a message after intake still reaches the caseworker."""
    if draft.state.step == DONE:
        draft.events.append(WitnessWrote(reference=draft.state.reference or ""))


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
    draft.say(messages.HELP)
    if not draft.state.opted_out:
        _resume(draft, inbound, welcome=False)


def _on_status(draft: _Draft, inbound: Inbound, context: Context) -> None:
    reference = draft.state.reference
    if reference:
        draft.say(_STATUS_MESSAGES[context.case_status], reference=reference)
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
    draft.state = replace(state, step=step, answers={}, retries=0, confirming_delete=False)
    if state.opted_out:
        return
    if began:
        draft.say(messages.RESTARTED)
    _resume(draft, inbound, welcome=state.language is None)


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
        _ask(draft)


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
