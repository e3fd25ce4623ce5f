"""Sending to witnesses over the Bot API, for the outbox: messages with buttons, chat clean-up.

Telegram's refusals are sorted the way the outbox needs them: a rate limit, a server
error or a network failure is worth another try (after Telegram's retry_after when it
gives one); a blocked bot means the witness opted out; anything else about the message
itself is final. Reasons are fixed strings: Telegram's descriptions are never stored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from aiogram import Bot
from aiogram.exceptions import (
    AiogramError,
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.intake.model import Option, Press, Prompt
from bot.outbox import Outgoing, RetryLater, Sent, Undeliverable

log = logging.getLogger(__name__)

SEND_TIMEOUT = 15
# deleteMessages takes at most 100 ids a call.
DELETE_CHUNK = 100
# Two buttons this short sit side by side on a phone without being cut off.
SHORT_BUTTON = 14
TICK = "✓ "
# Telegram refuses callback data over 64 bytes. "t:{version}:{step}:{number}" with a step
# name of at most 16 letters, a version of at most 9 digits and a number of at most 3
# takes at most 32; keyboard() refuses to bind anything longer.
CALLBACK_DATA_LIMIT = 64
STEP_NAME = re.compile(r"[a-z_]{1,16}")
MAX_VERSION = 999_999_999
MAX_NUMBER = 999
# Telegram's answers to an edit that has nothing left to do.
NOTHING_TO_EDIT = ("message is not modified", "message to edit not found")


def keyboard(
    options: tuple[Option, ...], prompt: Prompt | None = None
) -> InlineKeyboardMarkup | None:
    """One button per option, two a row when every label is short; bound to `prompt`.

    Bound buttons carry their question's step and version, so a press is only ever
    applied to the question it was shown under; a multiple choice gets toggles (ticked
    when selected) and a Done button. Unbound buttons carry the option number alone.
    """
    if not options:
        return None
    if prompt is not None:
        _check_bindable(options, prompt)
    buttons = [
        InlineKeyboardButton(text=_label(option, prompt), callback_data=_data(option, prompt))
        for option in options
    ]
    # A multiple choice is laid out as if every option were ticked, so toggling one
    # never moves the buttons under the witness's thumb.
    widest = len(TICK) if prompt is not None and prompt.multi else 0
    short = all(len(f"{o.number}. {o.label}") + widest <= SHORT_BUTTON for o in options)
    per_row = 2 if short else 1
    rows = [buttons[start : start + per_row] for start in range(0, len(buttons), per_row)]
    if prompt is not None and prompt.multi:
        done = f"{Press.DONE.value}:{prompt.version}:{prompt.step}"
        rows.append([InlineKeyboardButton(text=prompt.done_label, callback_data=done)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _label(option: Option, prompt: Prompt | None) -> str:
    text = f"{option.number}. {option.label}"
    if prompt is not None and prompt.multi and option.number in prompt.selected:
        return TICK + text
    return text


def _data(option: Option, prompt: Prompt | None) -> str:
    if prompt is None:
        return str(option.number)
    press = Press.TOGGLE if prompt.multi else Press.PICK
    return f"{press.value}:{prompt.version}:{prompt.step}:{option.number}"


def _check_bindable(options: tuple[Option, ...], prompt: Prompt) -> None:
    if not STEP_NAME.fullmatch(prompt.step):
        raise ValueError("a step name on a button must be 1-16 letters a-z or _")
    if not 0 <= prompt.version <= MAX_VERSION:
        raise ValueError("a question version on a button must be 0-999999999")
    if any(not 0 <= option.number <= MAX_NUMBER for option in options):
        raise ValueError("an option number on a button must be 0-999")
    if prompt.multi and not prompt.done_label:
        raise ValueError("a multiple choice needs a label for its Done button")


class TelegramSender:
    """The outbox's Telegram channel."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send(self, message: Outgoing) -> Sent:
        chat_id = _chat_id(message.address)
        markup = _markup(message.options, message.prompt)
        try:
            sent = await self._bot.send_message(
                chat_id=chat_id,
                text=message.text,
                reply_markup=markup,
                request_timeout=SEND_TIMEOUT,
            )
        except AiogramError as exc:
            raise _classify(exc) from None
        return Sent(handle=str(sent.message_id))

    async def edit_keyboard(
        self,
        *,
        address: str,
        handle: str,
        options: tuple[Option, ...],
        prompt: Prompt | None,
    ) -> None:
        """Re-draw the buttons under one of our messages; without options, remove them."""
        chat_id = _chat_id(address)
        if not handle.isdigit():
            raise Undeliverable("not a telegram message")
        markup = _markup(options, prompt)
        try:
            await self._bot.edit_message_reply_markup(
                chat_id=chat_id,
                message_id=int(handle),
                reply_markup=markup,
                request_timeout=SEND_TIMEOUT,
            )
        except TelegramBadRequest as exc:
            if any(answer in exc.message.lower() for answer in NOTHING_TO_EDIT):
                # Already showing this keyboard (a retried edit), or the witness deleted
                # the message: either way the chat is as it should be.
                return
            raise _classify(exc) from None
        except AiogramError as exc:
            raise _classify(exc) from None

    async def forget(self, provider_id: str) -> None:
        """Telegram keeps no copy a bot can delete beyond the chat itself (see erase_chat)."""

    async def erase_chat(self, *, address: str, handles: list[str]) -> None:
        """Delete our conversation from the witness's chat, as far as Telegram still allows.

        Telegram lets a bot delete messages for 48 hours; older ones, and ones already
        gone, are skipped. A rate limit or an outage is retried like any send.
        """
        chat_id = _chat_id(address)
        ids = sorted({int(handle) for handle in handles if handle.isdigit()})
        for chunk in _chunks(ids, DELETE_CHUNK):
            try:
                await self._bot.delete_messages(
                    chat_id=chat_id, message_ids=chunk, request_timeout=SEND_TIMEOUT
                )
            except (TelegramBadRequest, TelegramNotFound):
                # One message in the batch spoils it, or the server predates deleteMessages.
                await self._delete_each(chat_id, chunk)
            except TelegramForbiddenError:
                log.info("chat clean-up skipped: the witness blocked the bot")
                return
            except AiogramError as exc:
                raise _classify(exc) from None

    async def _delete_each(self, chat_id: int, ids: list[int]) -> None:
        for message_id in ids:
            try:
                await self._bot.delete_message(
                    chat_id=chat_id, message_id=message_id, request_timeout=SEND_TIMEOUT
                )
            except (TelegramBadRequest, TelegramNotFound):
                continue  # too old to delete, or already gone: nothing more to do
            except TelegramForbiddenError:
                return
            except AiogramError as exc:
                raise _classify(exc) from None


def _markup(options: tuple[Option, ...], prompt: Prompt | None) -> InlineKeyboardMarkup | None:
    try:
        return keyboard(options, prompt)
    except ValueError:
        # A question the buttons cannot be bound to is a bug, not a busy provider: fail
        # this one item visibly rather than hold up every later message to the witness.
        log.error("buttons could not be bound to their question")
        raise Undeliverable("telegram buttons unbindable") from None


def _chat_id(address: str) -> int:
    try:
        return int(address)
    except ValueError:
        raise Undeliverable("not a telegram chat") from None


def _chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _classify(exc: AiogramError) -> RetryLater | Undeliverable:
    """What the outbox should do about a failed Bot API call."""
    if isinstance(exc, TelegramRetryAfter):
        return RetryLater("telegram 429", after=float(exc.retry_after))
    if isinstance(exc, TelegramEntityTooLarge):
        return Undeliverable("telegram 413 too large")
    if isinstance(exc, TelegramServerError):
        return RetryLater("telegram 5xx")
    if isinstance(exc, TelegramNetworkError | ClientDecodeError):
        # ClientDecodeError: an answer that is not the Bot API's JSON (a proxy's error page).
        return RetryLater(f"telegram network: {type(exc).__name__}")
    if isinstance(exc, TelegramForbiddenError):
        return Undeliverable("telegram 403 blocked", opted_out=True)
    if isinstance(exc, TelegramUnauthorizedError):
        # The bot token was refused: ours to fix, not the witness's; keep the message owed.
        log.error("Telegram refused the bot token: check TELEGRAM_BOT_TOKEN")
        return RetryLater("telegram 401 token refused")
    if isinstance(exc, TelegramBadRequest):
        return Undeliverable("telegram 400")
    if isinstance(exc, TelegramAPIError) and "too many requests" in exc.message.lower():
        # A 429 without retry_after comes through as the generic error.
        return RetryLater("telegram 429")
    return Undeliverable(f"telegram refused: {type(exc).__name__}")
