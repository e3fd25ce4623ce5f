"""One table of refusals for both caseworker front ends.

The core raises narrow exceptions; the API answers each with its status and a JSON
`detail`, the console with the same status and a page saying why. A front end adds no
limits of its own, so the two never disagree about what is refused or how.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.accounts import (
    MAX_PASSWORD,
    MAX_USERNAME,
    BadCredentials,
    BadCredentialsLength,
    NotSignedIn,
    Throttled,
)
from bot.casework import (
    MAX_OUTCOME,
    MAX_REASON,
    MAX_REPLY,
    BadOutcomeLength,
    BadReasonLength,
    BadReplyLength,
    CaseClosed,
    CaseNotFound,
    DuressUnconfirmed,
    FilterTooLong,
    HolderOnly,
    NoSuchCaseworker,
    NotCallable,
    NotInQueue,
    SupervisorsOnly,
    UnknownPriority,
    UnknownQueue,
)
from bot.relay import WitnessUnreachable
from bot.roster import NoSuchAccount, OwnAccount
from storage.db import WriteConflict


@dataclass(frozen=True)
class Refusal:
    """How the front ends answer one core exception."""

    status: int
    # The API's `detail`, word for word.
    message: str
    # The console's sentence, only where the API's words name a JSON field or the console
    # adds to them (the wait of a throttled sign-in).
    console: str | None = None

    @property
    def sentence(self) -> str:
        """What the console shows."""
        if self.console is not None:
            return self.console
        return f"{self.message[:1].upper()}{self.message[1:]}."


REFUSALS: dict[type[Exception], Refusal] = {
    NotSignedIn: Refusal(401, "sign in first"),
    BadCredentials: Refusal(401, "wrong username or password"),
    BadCredentialsLength: Refusal(
        422, f"a username has 1 to {MAX_USERNAME} characters, a password 1 to {MAX_PASSWORD}"
    ),
    Throttled: Refusal(429, "too many failed sign-ins; try again later", "Too many attempts."),
    CaseNotFound: Refusal(404, "no such case"),
    NotInQueue: Refusal(403, "you do not work that queue"),
    SupervisorsOnly: Refusal(403, "supervisors only"),
    UnknownQueue: Refusal(422, "no such queue"),
    UnknownPriority: Refusal(422, "no such priority"),
    BadReplyLength: Refusal(422, f"a reply needs between 1 and {MAX_REPLY} characters"),
    BadOutcomeLength: Refusal(
        422, f"say how the case ended, in 1 to {MAX_OUTCOME} characters, before closing it"
    ),
    BadReasonLength: Refusal(422, f"say in 1 to {MAX_REASON} characters why you need the number"),
    FilterTooLong: Refusal(422, "the filter is longer than any case reference or action name"),
    NoSuchCaseworker: Refusal(422, "that caseworker does not work this queue in this language"),
    CaseClosed: Refusal(409, "the case is closed"),
    WitnessUnreachable: Refusal(409, "the witness opted out or erased their data"),
    DuressUnconfirmed: Refusal(
        409,
        "the witness may be under duress: someone may be reading their messages; "
        'send again with "confirm_duress": true if you are sure',
        "This witness may be under duress: someone may be reading their messages. "
        "Tick the box to confirm before sending.",
    ),
    NotCallable: Refusal(409, "the witness did not ask to be called, or no number is available"),
    HolderOnly: Refusal(409, "only the caseworker holding the case may see the number"),
    NoSuchAccount: Refusal(404, "no such account"),
    OwnAccount: Refusal(409, "you cannot disable your own account: ask another supervisor"),
    # Tried again already (Database.transact) and still caught in others' changes.
    WriteConflict: Refusal(
        503, "the case changed under this request; nothing was saved, try again"
    ),
}

# Every exception the table answers, for an `except` clause.
REFUSED: tuple[type[Exception], ...] = tuple(REFUSALS)


def refusal_for(exc: Exception) -> Refusal:
    """The refusal for an exception of a class in the table, or of a subclass of one."""
    for kind in type(exc).__mro__:
        if kind in REFUSALS:
            return REFUSALS[kind]
    raise LookupError(f"{type(exc).__name__} is not in the table of refusals")
