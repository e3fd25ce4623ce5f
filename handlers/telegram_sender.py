"""Sending to witnesses over the Bot API, for the outbox: messages with buttons, chat clean-up.

Telegram's refusals are sorted the way the outbox needs them: a rate limit, a server
error or a network failure is worth another try (after Telegram's retry_after when it
gives one); a blocked bot means the witness opted out; anything else about the message
itself is final. Reasons are fixed strings: Telegram's descriptions are never stored.
"""

from __future__ import annotations

import logging
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

from bot.intake.model import Option
from bot.outbox import Outgoing, RetryLater, Sent, Undeliverable

log = logging.getLogger(__name__)

SEND_TIMEOUT = 15
# deleteMessages takes at most 100 ids a call.
DELETE_CHUNK = 100
# Two buttons this short sit side by side on a phone without being cut off.
SHORT_BUTTON = 14


def keyboard(options: tuple[Option, ...]) -> InlineKeyboardMarkup | None:
    """One button per option, carrying its number; two a row when every label is short."""
    if not options:
        return None
    buttons = [
        InlineKeyboardButton(
            text=f"{option.number}. {option.label}", callback_data=str(option.number)
        )
        for option in options
    ]
    per_row = 2 if all(len(button.text) <= SHORT_BUTTON for button in buttons) else 1
    rows = [buttons[start : start + per_row] for start in range(0, len(buttons), per_row)]
    return InlineKeyboardMarkup(inline_keyboard=rows)


class TelegramSender:
    """The outbox's Telegram channel."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send(self, message: Outgoing) -> Sent:
        chat_id = _chat_id(message.address)
        try:
            sent = await self._bot.send_message(
                chat_id=chat_id,
                text=message.text,
                reply_markup=keyboard(message.options),
                request_timeout=SEND_TIMEOUT,
            )
        except AiogramError as exc:
            raise _classify(exc) from None
        return Sent(handle=str(sent.message_id))

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
