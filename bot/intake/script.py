"""The intake conversation as data: its steps, options, branches and words in both languages.

The engine (engine.py) runs this definition; flow.mmd beside it draws the same graph.
Fixed messages that belong to no step (welcome, help, keywords) are in messages.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bot.intake.model import Language

PROGRAM_NAME = "Safe Passage"
EMERGENCY_NUMBER = "911"
# The longest message Telegram delivers; an SMS tops out at 1,600 characters, so this only
# guards the stored state against absurd input and never cuts a real message.
FREE_TEXT_LIMIT = 4096
HOUSEHOLD_MIN, HOUSEHOLD_MAX = 1, 20


class Text(Mapping[Language, str]):
    """Words for one message, in every language the program speaks (a test checks each
    text covers them all); written `Text(en="...", es="...")`."""

    __slots__ = ("_words",)

    def __init__(self, **words: str) -> None:
        self._words: dict[Language, str] = {Language(code): text for code, text in words.items()}

    def __getitem__(self, language: Language) -> str:
        return self._words[language]

    def __iter__(self) -> Iterator[Language]:
        return iter(self._words)

    def __len__(self) -> int:
        return len(self._words)

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._words.items())))

    def __repr__(self) -> str:
        return f"Text({self._words!r})"

    def in_language(self, language: Language) -> str:
        # A missing translation falls back to English rather than failing a witness.
        return self._words.get(language) or self._words[Language.EN]


class Kind(StrEnum):
    CHOICE = "choice"  # exactly one numbered option
    MULTI = "multi"  # one or more numbered options
    COUNT = "count"  # a number of people
    FREE_TEXT = "free_text"  # the witness's own words, or SKIP
    FINAL = "final"  # the intake is over; the thread stays open


@dataclass(frozen=True)
class Choice:
    """One option: its number, the stable value stored in the answers, and how it reads."""

    number: int
    value: str
    label: Text


@dataclass(frozen=True)
class Step:
    name: str
    kind: Kind
    question: Text | None = None
    hint: Text | None = None
    choices: tuple[Choice, ...] = ()
    # Asked only when the witness chose one of these needs.
    only_for_needs: frozenset[str] = frozenset()
    # An answer value that leads somewhere other than the next step in order.
    jumps: Mapping[str, str] = field(default_factory=dict)
    # Messages sent right after an answer value, before the next question.
    follow_ups: Mapping[str, tuple[Text, ...]] = field(default_factory=dict)
    # How the answer is labelled in the summary shown before sending; None leaves it out.
    summary_label: Text | None = None
    # False for steps that steer the conversation rather than describe the witness's need.
    kept_in_answers: bool = True
    # The answers key, when it is not the step's own name (two steps can fill one answer).
    answer_key: str | None = None
    # Asked only on the "not safe now" fast path.
    fast_path: bool = False
    # Passed over when its answer is already given (the fast path asked it).
    skip_if_answered: bool = False

    @property
    def key(self) -> str:
        return self.answer_key or self.name


# Step names double as the keys of the answers a caseworker reads.
START = "start"  # nothing sent yet: the first message gets the welcome
LANGUAGE = "language"
SAFE_NOW = "safe_now"
ROLE = "role"
NEEDS = "needs"
MOVE_WHERE = "move_where"
HOUSEHOLD = "household"
HOW_SOON = "how_soon"
CONTACT = "contact"
SAFE_TIMES = "safe_times"
STORY = "story"
CODE_WORD = "code_word"
DURESS_WORD = "duress_word"
FAST_CONTACT = "fast_contact"
LOCATION = "location"
MORE = "more"
CONFIRM = "confirm"
DONE = "done"

YES, NO = "yes", "no"
TODAY, THIS_WEEK, LATER = "today", "this_week", "later"
CONTACT_TEXT, CONTACT_CALL, CONTACT_TEXT_FIRST = "text_here", "call", "only_when_i_text_first"
SEND, START_OVER = "send", "start_over"
ANSWER_NOW, NOT_NOW = "now", "later"

NEED_MOVE_NOW = "move_now"
NEED_MOVE_PERMANENT = "move_permanent"
NEED_LOCKS = "locks"
NEED_MOVING_COSTS = "moving_costs"
NEED_TALK = "talk"
NEED_OTHER = "other"
# A "move" is needs 1 and 2 only. Help paying to move (4) is picked mostly together with
# 1 or 2, which already asks where and how many; picked alone it usually means a move the
# witness has arranged (a deposit, a truck), and the relocation caseworker it is routed
# to asks for details then, rather than lengthening the intake for everyone.
MOVE_NEEDS = frozenset({NEED_MOVE_NOW, NEED_MOVE_PERMANENT})
NEEDS_SEPARATOR = ", "

DANGER_GUIDANCE = Text(
    en=(
        f"If you are in danger now, call {EMERGENCY_NUMBER}. If you can, go somewhere with "
        "other people or to someone you trust. We will mark your request urgent."
    ),
    es=(
        f"Si corre peligro ahora, llame al {EMERGENCY_NUMBER}. Si puede, vaya a un lugar con "
        "gente o con alguien de confianza. Marcaremos su solicitud como urgente."
    ),
)

STEPS: tuple[Step, ...] = (
    Step(
        name=LANGUAGE,
        kind=Kind.CHOICE,
        question=Text(
            en="Choose your language. Para español, responda 2.",
            es="Elija su idioma. For English, reply 1.",
        ),
        hint=Text(
            en="Please reply 1 for English. Para español, responda 2.",
            es="Responda 2 para español. Please reply 1 for English.",
        ),
        choices=(
            Choice(
                1,
                Language.EN.value,
                Text(en="English", es="English"),
            ),
            Choice(
                2,
                Language.ES.value,
                Text(en="Español", es="Español"),
            ),
        ),
        kept_in_answers=False,
    ),
    Step(
        name=SAFE_NOW,
        kind=Kind.CHOICE,
        question=Text(en="Are you safe right now?", es="¿Se encuentra a salvo ahora?"),
        hint=Text(
            en="Sorry, I did not understand. Reply 1 if you are safe now, or 2 if you are not.",
            es="Perdone, no le entendí. Responda 1 si está a salvo ahora, o 2 si no lo está.",
        ),
        choices=(
            Choice(1, YES, Text(en="Yes", es="Sí")),
            Choice(2, NO, Text(en="No", es="No")),
        ),
        follow_ups={NO: (DANGER_GUIDANCE,)},
        summary_label=Text(en="Safe now", es="A salvo ahora"),
    ),
    Step(
        name=FAST_CONTACT,
        kind=Kind.CHOICE,
        question=Text(en="Can we text you here?", es="¿Podemos escribirle aquí?"),
        hint=Text(
            en="Sorry, I did not understand. Reply 1 if we can text you here, or 2 to wait.",
            es="Perdone, no le entendí. Responda 1 si podemos escribirle aquí, o 2 para esperar.",
        ),
        choices=(
            Choice(1, CONTACT_TEXT, Text(en="Yes, text me here", es="Sí, escríbanme aquí")),
            Choice(
                2,
                CONTACT_TEXT_FIRST,
                Text(en="No, wait until I write", es="No, esperen a que yo escriba"),
            ),
        ),
        answer_key=CONTACT,
        fast_path=True,
    ),
    Step(
        name=LOCATION,
        kind=Kind.FREE_TEXT,
        question=Text(
            en="Roughly where are you now? A city or area is enough.",
            es="¿Más o menos dónde está ahora? Basta con la ciudad o la zona.",
        ),
        hint=Text(
            en="Please write a city or area, or reply SKIP.",
            es="Escriba una ciudad o zona, o responda OMITIR.",
        ),
        summary_label=Text(en="Where you are", es="Dónde está"),
        fast_path=True,
    ),
    Step(
        name=MORE,
        kind=Kind.CHOICE,
        question=Text(
            en="If you can, a few more questions help us help you.",
            es="Si puede, unas preguntas más nos ayudan a ayudarle.",
        ),
        hint=Text(
            en="Sorry, I did not understand. Reply 1 to answer now, or 2 for not now.",
            es="Perdone, no le entendí. Responda 1 para contestar ahora, o 2 para más tarde.",
        ),
        choices=(
            Choice(1, ANSWER_NOW, Text(en="Answer now", es="Contestar ahora")),
            Choice(2, NOT_NOW, Text(en="Not now", es="Ahora no")),
        ),
        jumps={NOT_NOW: DONE},
        kept_in_answers=False,
        fast_path=True,
    ),
    Step(
        name=ROLE,
        kind=Kind.CHOICE,
        question=Text(en="How would you describe yourself?", es="¿Cómo se describiría usted?"),
        hint=Text(
            en="Sorry, I did not understand. Reply with one number from 1 to 4.",
            es="Perdone, no le entendí. Responda con un número del 1 al 4.",
        ),
        choices=(
            Choice(1, "witness", Text(en="A witness", es="Testigo")),
            Choice(2, "victim", Text(en="A victim", es="Víctima")),
            Choice(
                3,
                "family",
                Text(en="Family of a victim", es="Familiar de una víctima"),
            ),
            Choice(4, "other", Text(en="Other", es="Otro")),
        ),
        summary_label=Text(en="You are", es="Usted es"),
    ),
    Step(
        name=NEEDS,
        kind=Kind.MULTI,
        question=Text(
            en="What help do you need? You can pick more than one, like: 1 3",
            es="¿Qué ayuda necesita? Puede elegir varias, por ejemplo: 1 3",
        ),
        hint=Text(
            en=(
                "Sorry, I did not understand. Reply with the numbers of what you need, "
                "like 1 or 1 3."
            ),
            es=(
                "Perdone, no le entendí. Responda con los números de lo que necesita, como 1 o 1 3."
            ),
        ),
        choices=(
            Choice(
                1,
                NEED_MOVE_NOW,
                Text(en="Move somewhere safe for now", es="Mudarme a un lugar seguro ya"),
            ),
            Choice(
                2,
                NEED_MOVE_PERMANENT,
                Text(en="Move permanently", es="Mudarme de forma permanente"),
            ),
            Choice(
                3,
                NEED_LOCKS,
                Text(
                    en="Change locks / secure my home", es="Cambiar cerraduras o proteger mi casa"
                ),
            ),
            Choice(
                4,
                NEED_MOVING_COSTS,
                Text(en="Help paying to move", es="Ayuda para pagar la mudanza"),
            ),
            Choice(
                5,
                NEED_TALK,
                Text(en="Someone to talk to", es="Alguien con quien hablar"),
            ),
            Choice(
                6,
                NEED_OTHER,
                Text(en="Something else", es="Otra cosa"),
            ),
        ),
        summary_label=Text(en="Help", es="Ayuda"),
    ),
    Step(
        name=MOVE_WHERE,
        kind=Kind.CHOICE,
        question=Text(en="Where could you move?", es="¿A dónde podría mudarse?"),
        hint=Text(
            en="Sorry, I did not understand. Reply 1, 2 or 3.",
            es="Perdone, no le entendí. Responda 1, 2 o 3.",
        ),
        choices=(
            Choice(
                1,
                "in_state",
                Text(en="Within the state", es="Dentro del estado"),
            ),
            Choice(
                2,
                "out_of_state",
                Text(en="Out of state", es="Fuera del estado"),
            ),
            Choice(
                3,
                "not_sure",
                Text(en="Not sure", es="No sé"),
            ),
        ),
        only_for_needs=MOVE_NEEDS,
        summary_label=Text(en="Move", es="Mudanza"),
    ),
    Step(
        name=HOUSEHOLD,
        kind=Kind.COUNT,
        question=Text(
            en="How many people would move, including you? Reply with a number.",
            es="¿Cuántas personas se mudarían, incluyéndose usted? Responda con un número.",
        ),
        hint=Text(
            en="Sorry, I did not understand. Reply with one number from 1 to 20.",
            es="Perdone, no le entendí. Responda con un número del 1 al 20.",
        ),
        only_for_needs=MOVE_NEEDS,
        summary_label=Text(en="People", es="Personas"),
    ),
    Step(
        name=HOW_SOON,
        kind=Kind.CHOICE,
        question=Text(en="How soon do you need help?", es="¿Para cuándo necesita ayuda?"),
        hint=Text(
            en="Sorry, I did not understand. Reply 1 for today, 2 for this week or 3 for later.",
            es=(
                "Perdone, no le entendí. Responda 1 para hoy, 2 para esta semana o 3 para "
                "más adelante."
            ),
        ),
        choices=(
            Choice(
                1,
                TODAY,
                Text(en="Today", es="Hoy"),
            ),
            Choice(
                2,
                THIS_WEEK,
                Text(en="This week", es="Esta semana"),
            ),
            Choice(
                3,
                LATER,
                Text(en="Later", es="Más adelante"),
            ),
        ),
        summary_label=Text(en="When", es="Cuándo"),
    ),
    Step(
        name=CONTACT,
        kind=Kind.CHOICE,
        question=Text(
            en="How should a caseworker reach you?", es="¿Cómo prefiere que le contactemos?"
        ),
        hint=Text(
            en="Sorry, I did not understand. Reply 1, 2 or 3.",
            es="Perdone, no le entendí. Responda 1, 2 o 3.",
        ),
        choices=(
            Choice(
                1,
                CONTACT_TEXT,
                Text(en="Text me here", es="Escribirme aquí"),
            ),
            Choice(
                2,
                CONTACT_CALL,
                Text(en="Call this number", es="Llamar a este número"),
            ),
            Choice(
                3,
                CONTACT_TEXT_FIRST,
                Text(en="Only reply when I text first", es="Solo cuando yo escriba primero"),
            ),
        ),
        summary_label=Text(en="Contact", es="Contacto"),
        skip_if_answered=True,
    ),
    Step(
        name=SAFE_TIMES,
        kind=Kind.FREE_TEXT,
        question=Text(
            en="When is it safe to contact you? For example: weekdays after 6pm.",
            es="¿Cuándo es seguro contactarle? Por ejemplo: entre semana después de las 6pm.",
        ),
        hint=Text(
            en="Please write when it is safe to contact you, or reply SKIP.",
            es="Escriba cuándo es seguro contactarle, o responda OMITIR.",
        ),
        summary_label=Text(en="Safe times", es="Horario seguro"),
    ),
    Step(
        name=STORY,
        kind=Kind.FREE_TEXT,
        question=Text(
            en="In a few words, what happened or what do you need? No names needed.",
            es="En pocas palabras, ¿qué pasó o qué necesita? No hace falta dar nombres.",
        ),
        hint=Text(
            en="Please write a few words about what you need, or reply SKIP.",
            es="Escriba unas palabras sobre lo que necesita, o responda OMITIR.",
        ),
        summary_label=Text(en="What happened", es="Qué pasó"),
    ),
    Step(
        name=CODE_WORD,
        kind=Kind.FREE_TEXT,
        question=Text(
            en="Pick a code word so we know it is you later.",
            es="Elija una palabra clave para que sepamos que es usted más adelante.",
        ),
        hint=Text(
            en="Please write a code word you will remember, or reply SKIP.",
            es="Escriba una palabra clave que vaya a recordar, o responda OMITIR.",
        ),
        summary_label=Text(en="Code word", es="Palabra clave"),
    ),
    Step(
        name=DURESS_WORD,
        kind=Kind.FREE_TEXT,
        question=Text(
            en=(
                "Optional: a danger word. If someone forces you to text us, send it: we will "
                "reply as if you had a wrong number and quietly alert our team."
            ),
            es=(
                "Opcional: una palabra de alarma. Si alguien le obliga a escribirnos, envíela y "
                "avisaremos en secreto."
            ),
        ),
        hint=Text(
            en="Please write a danger word, or reply SKIP.",
            es="Escriba una palabra de alarma, o responda OMITIR.",
        ),
        summary_label=Text(en="Danger word", es="Palabra de alarma"),
    ),
    Step(
        name=CONFIRM,
        kind=Kind.CHOICE,
        question=Text(
            en="Send this to a caseworker? To fix one answer, reply CHANGE and its number.",
            es="¿Lo enviamos? Para corregir una respuesta, responda CAMBIAR y su número.",
        ),
        hint=Text(
            en=(
                "Sorry, I did not understand. Reply 1 to send, 2 to start over, or CHANGE and "
                "the number of the answer to fix, like CHANGE 3."
            ),
            es=(
                "Perdone, no le entendí. Responda 1 para enviar, 2 para empezar de nuevo, o "
                "CAMBIAR y el número de la respuesta, como CAMBIAR 3."
            ),
        ),
        choices=(
            Choice(
                1,
                SEND,
                Text(en="Yes, send it", es="Sí, enviar"),
            ),
            Choice(
                2,
                START_OVER,
                Text(en="No, start over", es="No, empezar de nuevo"),
            ),
        ),
        jumps={SEND: DONE, START_OVER: SAFE_NOW},
        kept_in_answers=False,
    ),
    Step(name=DONE, kind=Kind.FINAL, kept_in_answers=False),
)

STEP_BY_NAME: Mapping[str, Step] = {step.name: step for step in STEPS}
STEP_NAMES: frozenset[str] = frozenset(STEP_BY_NAME) | {START}
# The keys a caseworker may find in a case's answers (a skipped or unasked step is absent).
ANSWER_KEYS: tuple[str, ...] = tuple(
    step.name for step in STEPS if step.kept_in_answers and step.answer_key is None
)


def needs_in(answers: Mapping[str, str]) -> tuple[str, ...]:
    """The need values stored in the answers, in option order."""
    chosen = {value.strip() for value in answers.get(NEEDS, "").split(",")}
    return tuple(c.value for c in STEP_BY_NAME[NEEDS].choices if c.value in chosen)


def is_asked(step: Step, answers: Mapping[str, str]) -> bool:
    """Whether this step applies to a witness who gave these answers so far."""
    if step.fast_path and answers.get(SAFE_NOW) != NO:
        return False
    return not step.only_for_needs or bool(step.only_for_needs & set(needs_in(answers)))


def next_step(current: str, *, value: str | None, answers: Mapping[str, str]) -> str:
    """The step after answering `current` with `value` (None when skipped)."""
    step = STEP_BY_NAME[current]
    if value is not None and value in step.jumps:
        return step.jumps[value]
    later = STEPS[STEPS.index(step) + 1 :]
    return next(
        (
            s.name
            for s in later
            if is_asked(s, answers) and not (s.skip_if_answered and s.key in answers)
        ),
        DONE,
    )


def successors(current: str) -> frozenset[str]:
    """Every step that can follow `current`, whatever the answers: the graph the diagram draws."""
    step = STEP_BY_NAME[current]
    found = set(step.jumps.values())
    for later in STEPS[STEPS.index(step) + 1 :]:
        found.add(later.name)
        if not (later.only_for_needs or later.fast_path or later.skip_if_answered):
            break
    return frozenset(found)
