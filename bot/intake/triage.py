"""Triage: how urgent a confirmed intake is, and which queue of caseworkers gets it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.intake.model import Priority
from bot.intake.parsing import normalize
from bot.intake.script import (
    HOW_SOON,
    MOVE_NEEDS,
    NEED_LOCKS,
    NEED_MOVING_COSTS,
    NEED_TALK,
    NO,
    SAFE_NOW,
    SAFE_TIMES,
    STORY,
    THIS_WEEK,
    TODAY,
    needs_in,
)

RELOCATION = "relocation"
HOME_SECURITY = "home-security"
SUPPORT = "support"
GENERAL = "general"
QUEUES = (RELOCATION, HOME_SECURITY, SUPPORT, GENERAL)

# Free-text answers searched for danger words. The code word is not: it is chosen to be
# arbitrary, and a witness who picks "pistola" as a password is not reporting a gun.
SCANNED_ANSWERS = (SAFE_TIMES, STORY)

# Matched on normalized text (case-folded, accents stripped: "dónde" is "donde"), from the
# start of a word, so "skill" is not "kill" and "alarma" is not "arma".
_DANGER = re.compile(
    r"\b(?:"
    # English
    r"guns?|gunm[ae]n|gunshots?|gunfire|shoot\w*|shot|shots|shotgun|kill\w*|murder\w*"
    r"|threat\w*|knife|knives|stab|stabs|stabbed|stabbing"
    r"|knows? where (?:i|we) live|coming (?:after|for) (?:me|us)|wants? (?:me|us) dead"
    # Spanish
    r"|pistolas?|armas?|dispar\w*|balazos?|balacera|balas?|tiroteo\w*"
    r"|matar\w*|mataron|matan|maten|mato|asesin\w*|amenaz\w*|cuchill\w*|navajas?|apunal\w*"
    r"|saben? donde viv(?:o|imos)|(?:me|nos) (?:estan buscando|buscan)"
    r")\b"
)


# What a message after the intake (or a free-text answer during it) can signal. Each is a
# short label a caseworker reads; the witness's words are never quoted in one. Matched on
# normalized text; when unsure, these lean to urgent (a false alarm costs a caseworker a
# minute, a miss can cost a life).
WEAPON, THREAT, PRESENCE, NOT_SAFE, DANGER_WORDS = (
    "weapon",
    "threat",
    "someone is here",
    "not safe",
    "danger words",
)
DURESS = "duress"
NOT_SAFE_NOW, NEEDS_TODAY = "not safe now", "needs help today"
_SIGNALS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        WEAPON,
        re.compile(
            r"\b(?:guns?|pistols?|firearms?|rifles?|shotguns?|revolvers?|knife|knives|machete"
            r"|armed|pistolas?|armas?|armado|cuchill\w*|navajas?|fierro|cuete|escopeta)\b"
        ),
    ),
    (
        THREAT,
        re.compile(
            r"\b(?:threat\w*|kill\w*|murder\w*|(?:gonna|going to|will|wants? to) (?:hurt|get|kill)"
            r"|shoot\w*|shot|shots|stab\w*|amenaz\w*|matar\w*|maten|mato"
            r"|me va a (?:matar|hacer|pegar)"
            r"|dispar\w*|lastimar\w*)\b"
        ),
    ),
    (
        PRESENCE,
        re.compile(
            r"\b(?:(?:he|she|they|hes|shes|theyre)\s+(?:is |are )?(?:here|outside|back|coming)"
            r"|outside (?:my|the|our) (?:house|home|door|apartment|window|building|work)"
            r"|at (?:my|the|our) (?:door|house|window)|(?:found|find) (?:me|us|out where)"
            r"|knows? where (?:i|we) (?:live|am|are|stay)|on (?:his|her|their) way"
            r"|coming (?:for|after|to get) (?:me|us)|following (?:me|us)|parked outside"
            r"|(?:came|come|coming) back|volvieron|regresaron|volvio|regreso"
            r"|esta (?:aqui|afuera|aca|en la puerta)|estan (?:aqui|afuera|aca)"
            r"|afuera de (?:mi|la) casa|en (?:mi|la) puerta"
            r"|me (?:encontr\w*|sigu\w*|esta siguiendo)"
            r"|(?:ya )?vienen? (?:para|pa) aca|ya viene|saben? donde (?:vivo|vivimos|estoy)"
            r"|(?:me|nos) (?:estan buscando|buscan))\b"
        ),
    ),
    (
        NOT_SAFE,
        re.compile(
            r"\b(?:not safe|unsafe|in danger|help me|scared for my life|no estoy a salvo"
            r"|en peligro|corro peligro|auxilio|socorro|ayudenme|ayudame)\b"
        ),
    ),
)


def signals(text: str) -> tuple[str, ...]:
    """The danger a message signals, as labels in a fixed order; () when it signals none."""
    normal = normalize(text).replace("'", "").replace("’", "")
    found = [label for label, pattern in _SIGNALS if pattern.search(normal)]
    if not found and danger_words(text):
        found.append(DANGER_WORDS)
    return tuple(found)


@dataclass(frozen=True)
class Assessment:
    """The triage of one intake, with the reasons a caseworker can be shown."""

    priority: Priority
    queue: str
    needs: tuple[str, ...]
    reasons: tuple[str, ...]

    @property
    def reasons_urgent(self) -> tuple[str, ...]:
        """The reasons that made it urgent (kept on the case as its triage labels)."""
        return self.reasons if self.priority is Priority.URGENT else ()


def danger_words(text: str) -> tuple[str, ...]:
    """The danger words and phrases in `text`, as normalized, in order of appearance."""
    return tuple(match.group(0) for match in _DANGER.finditer(normalize(text)))


def _urgent_reasons(answers: Mapping[str, str]) -> list[str]:
    reasons = []
    if answers.get(SAFE_NOW) == NO:
        reasons.append(NOT_SAFE_NOW)
    if answers.get(HOW_SOON) == TODAY:
        reasons.append(NEEDS_TODAY)
    for key in SCANNED_ANSWERS:
        reasons.extend(signals(answers.get(key, "")))
    return list(dict.fromkeys(reasons))


def priority_for(answers: Mapping[str, str]) -> Priority:
    """How urgent an intake is; see `assess` for the rule."""
    return assess(answers).priority


def queue_for(needs: Iterable[str]) -> str:
    """The queue for these needs: a move or its cost before locks, locks before talking."""
    chosen = set(needs)
    if chosen & (MOVE_NEEDS | {NEED_MOVING_COSTS}):
        return RELOCATION
    if NEED_LOCKS in chosen:
        return HOME_SECURITY
    if NEED_TALK in chosen:
        return SUPPORT
    return GENERAL


def assess(answers: Mapping[str, str]) -> Assessment:
    """Priority, queue and needs for the intake answers (keyed by step name).

    URGENT when the witness is not safe now, needs help today, or wrote danger words
    (guns, shooting, killing, threats, "know where I live", and their Spanish) when
    asked when to call or what happened. HIGH when help is needed this week or the
    witness needs to move (now or permanently): a person who must move is at risk even
    if not today. NORMAL otherwise. Missing answers count as nothing said.
    """
    needs = needs_in(answers)
    reasons = _urgent_reasons(answers)
    if reasons:
        priority = Priority.URGENT
    else:
        if answers.get(HOW_SOON) == THIS_WEEK:
            reasons.append("needs help this week")
        if MOVE_NEEDS & set(needs):
            reasons.append("needs to move")
        priority = Priority.HIGH if reasons else Priority.NORMAL
    return Assessment(
        priority=priority, queue=queue_for(needs), needs=needs, reasons=tuple(reasons)
    )
