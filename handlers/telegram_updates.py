"""Telegram updates in, witness messages out: the routers that translate for the desk.

Only private chats reach the desk: in a group or channel the witness's words (and our
answers) would be read by everyone in it, so those are ignored without a reply. From an
update only these are read: the chat id (the reply address), the text or caption (or
the data of a pressed button), whether media came along, the update id (against
duplicate deliveries), the message id (to clean the chat on erasure) and the client's
language code (a hint for the first reply, never stored). Names, usernames and the rest
of the profile are never read, and media is never downloaded.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from aiogram import Bot, F, Router
from aiogram.enums import ChatType, ContentType
from aiogram.exceptions import AiogramError
from aiogram.types import CallbackQuery, Message, Update, User
from sqlalchemy.exc import SQLAlchemyError

from bot.desk import InboundMessage
from bot.intake.model import Button, Language, Press

if TYPE_CHECKING:
    from bot.desk import IntakeDesk, Receipt

log = logging.getLogger(__name__)

# The channel name stored with each Telegram witness.
TELEGRAM = "telegram"

# What a person can send that is not words. Service messages (a pinned message, a new
# chat background, ...) are left out: the person wrote nothing and expects no answer.
# UNKNOWN is what aiogram calls content newer than itself, most likely something sent.
MEDIA = frozenset(
    {
        ContentType.ANIMATION,
        ContentType.AUDIO,
        ContentType.CHECKLIST,
        ContentType.CONTACT,
        ContentType.DICE,
        ContentType.DOCUMENT,
        ContentType.GAME,
        ContentType.LIVE_PHOTO,
        ContentType.LOCATION,
        ContentType.PAID_MEDIA,
        ContentType.PHOTO,
        ContentType.POLL,
        ContentType.STICKER,
        ContentType.STORY,
        ContentType.UNKNOWN,
        ContentType.VENUE,
        ContentType.VIDEO,
        ContentType.VIDEO_NOTE,
        ContentType.VOICE,
    }
)
# Our buttons carry the question they belong to (see telegram_sender.keyboard): a pick
# or a toggle "p|t:{version}:{step}:{number}", or a multiple choice's Done "d:{version}:{step}".
BUTTON_DATA = re.compile(
    r"(?P<press>[pt]):(?P<version>0|[1-9][0-9]{0,8}):(?P<step>[a-z_]{1,16}):(?P<number>[0-9]{1,3})"
    r"|(?P<done>d):(?P<done_version>0|[1-9][0-9]{0,8}):(?P<done_step>[a-z_]{1,16})"
)
# Buttons sent before they were bound to a question carry an option number alone.
OPTION_DATA = re.compile(r"[0-9]{1,3}")
# The version no question has: the engine answers such a press "that question is closed".
UNBOUND = -1
ANSWER_TIMEOUT = 5
# Failures of the service rather than of one update: the database refusing, gone, or slow.
SERVICE_TROUBLE = (SQLAlchemyError, OSError, TimeoutError)


class NotStored(Exception):
    """The desk could not record a witness's message; Telegram must deliver it again."""

    def __init__(self, reason: str, *, service_trouble: bool) -> None:
        super().__init__(reason)
        # True when the database (or the network to it) failed: it will answer again, and
        # every update waits for it. False when this update itself could not be handled,
        # which trying again will not change.
        self.service_trouble = service_trouble


def language_hint(person: User | None) -> Language | None:
    """The language the witness's Telegram app is set to, if it is one we speak."""
    code = (person.language_code or "").lower() if person else ""
    if code.startswith("es"):
        return Language.ES
    if code.startswith("en"):
        return Language.EN
    return None


async def receive(desk: IntakeDesk, message: InboundMessage) -> Receipt:
    """Hand a message to the desk; any failure there means nothing was recorded."""
    try:
        return await desk.receive(message)
    except Exception as exc:
        # The desk writes in one transaction: whatever went wrong, it rolled back.
        trouble = isinstance(exc, SERVICE_TROUBLE)
        raise NotStored(type(exc).__name__, service_trouble=trouble) from exc


def intake_routers(desk: IntakeDesk) -> list[Router]:
    """One router for what witnesses write, one for the buttons they press."""
    return [_witness_messages(desk), _witness_buttons(desk)]


def _witness_messages(desk: IntakeDesk) -> Router:
    router = Router(name="witness-messages")
    router.message.filter(F.chat.type == ChatType.PRIVATE)

    @router.message(F.text)
    async def text(message: Message, event_update: Update) -> Receipt:
        return await receive(desk, _inbound(message, event_update, text=message.text or ""))

    @router.message(F.content_type.in_(MEDIA))
    async def media(message: Message, event_update: Update) -> Receipt:
        return await receive(
            desk, _inbound(message, event_update, text=message.caption or "", has_media=True)
        )

    return router


def _inbound(
    message: Message, update: Update, *, text: str, has_media: bool = False
) -> InboundMessage:
    return InboundMessage(
        channel=TELEGRAM,
        address=str(message.chat.id),
        text=text,
        provider_id=str(update.update_id),
        language_hint=language_hint(message.from_user),
        has_media=has_media,
        handle=str(message.message_id),
    )


def read_button(data: str) -> Button | None:
    """The press a button's callback data stands for; None for data that is not ours."""
    bound = BUTTON_DATA.fullmatch(data)
    if bound is not None and bound["done"]:
        return Button(Press.DONE, step=bound["done_step"], version=int(bound["done_version"]))
    if bound is not None:
        return Button(
            Press(bound["press"]),
            step=bound["step"],
            version=int(bound["version"]),
            number=int(bound["number"]),
        )
    if OPTION_DATA.fullmatch(data):
        return Button(Press.PICK, step="", version=UNBOUND, number=int(data))
    return None


def _witness_buttons(desk: IntakeDesk) -> Router:
    router = Router(name="witness-buttons")
    router.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)

    @router.callback_query()
    async def pressed(query: CallbackQuery, event_update: Update, bot: Bot) -> Receipt | None:
        await _stop_spinner(bot, query, update_id=event_update.update_id)
        button = read_button(query.data or "")
        if query.message is None or button is None:
            log.info("telegram update %d: button data is not an option", event_update.update_id)
            return None
        inbound = InboundMessage(
            channel=TELEGRAM,
            address=str(query.message.chat.id),
            text="",
            provider_id=str(event_update.update_id),
            language_hint=language_hint(query.from_user),
            # The button sits under our own message, whose handle is already recorded.
            handle=None,
            button=button,
        )
        return await receive(desk, inbound)

    return router


async def _stop_spinner(bot: Bot, query: CallbackQuery, *, update_id: int) -> None:
    """Answer the button press so the app stops its spinner; the real answer comes later."""
    try:
        await bot.answer_callback_query(query.id, request_timeout=ANSWER_TIMEOUT)
    except AiogramError as exc:
        # Only cosmetic (a retried update's query is already answered): carry on.
        log.info("telegram update %d: callback not answered (%s)", update_id, type(exc).__name__)
