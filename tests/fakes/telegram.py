"""A fake Telegram Bot API on 127.0.0.1, plus builders for the Updates Telegram sends us.

`FakeTelegram` answers `POST /bot{token}/{method}` (JSON, urlencoded or multipart bodies,
plus query parameters) for the methods the service uses, records every call in `calls`,
and can script failures with `fail_next(...)`. Point the real aiogram Bot at it with:

    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    async with Bot(fake.token, session=session) as bot:  # closes the session on exit
        await bot.send_message(chat_id, "text")

aiogram posts every method as an application/x-www-form-urlencoded form (multipart only
when it uploads a file): strings as they are, numbers and booleans as JSON text ("42",
"false"), objects and lists (reply_markup, allowed_updates, message_ids) as JSON strings;
parameters left as None, and empty strings, are not sent at all. `calls[...].params` holds
the decoded values: JSON text is parsed back, except for parameters that are always
strings (text, callback_query_id, url, ...), so `params["text"] == "112"` stays a string.
JSON bodies (as other clients send them) are read as they are.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.web_request import FileField

from tests.fakes import LocalServer

DEFAULT_TOKEN = "123456789:AAFakeTelegramTokenForTests_0123456"
DEFAULT_BOT_USERNAME = "witness_intake_test_bot"
DEFAULT_BOT_NAME = "Witness Intake"
MAX_TEXT_LENGTH = 4096

# Parameters that are strings in the Bot API even when they look like JSON ("123").
STRING_PARAMS = frozenset(
    {
        "business_connection_id",
        "callback_query_id",
        "caption",
        "data",
        "inline_message_id",
        "ip_address",
        "message_effect_id",
        "parse_mode",
        "secret_token",
        "text",
        "url",
    }
)
# Update types Telegram leaves out unless allowed_updates names them.
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_UPDATE_TYPES_WITH_MESSAGE = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
)
DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
SUCCESS_DESCRIPTIONS = {"setWebhook": "Webhook was set", "deleteWebhook": "Webhook was deleted"}
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


@dataclass(frozen=True)
class TelegramCall:
    """One Bot API request: the method as named in the URL and its decoded parameters."""

    method: str
    params: dict[str, Any]
    authorized: bool
    status: int
    result: Any = None


@dataclass(frozen=True)
class TelegramFailure:
    """A scripted error answer for the next call of `method` (any method when None)."""

    method: str | None
    status: int
    description: str
    retry_after: int | None = None


class BotApiError(Exception):
    """The fake refuses a call the way the Bot API would."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


class FakeTelegram(LocalServer):
    """The Bot API for one bot: answers, records and, when told to, fails its calls."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        username: str = DEFAULT_BOT_USERNAME,
        first_name: str = DEFAULT_BOT_NAME,
        max_poll_timeout: float = 0.5,
        require_https_webhook: bool = True,
    ) -> None:
        super().__init__()
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.username = username
        self.first_name = first_name
        self.max_poll_timeout = max_poll_timeout
        self.require_https_webhook = require_https_webhook
        self.calls: list[TelegramCall] = []
        self.webhook: dict[str, Any] | None = None
        self.pending_updates: list[dict[str, Any]] = []
        self._failures: list[TelegramFailure] = []
        self._chats: dict[int, dict[str, Any]] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._next_message_id = 1000
        self._next_update_id = 1
        self._arrived = asyncio.Event()
        self._closing = False
        # Long polls now waiting for an update (tests wait for one to start).
        self.polls_waiting = 0
        self._methods = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "sendMessage": self._send_message,
                "answerCallbackQuery": self._answer_callback_query,
                "deleteMessage": self._delete_message,
                "deleteMessages": self._delete_messages,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "getUpdates": self._get_updates,
            }.items()
        }

    # -- what tests use ---------------------------------------------------------------

    @property
    def api_base(self) -> str:
        """The value for TELEGRAM_API_BASE (the same as `base_url`)."""
        return self.base_url

    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an Update for getUpdates; one without update_id gets the next free id."""
        update = dict(update)
        update.setdefault("update_id", self._next_update_id)
        self._next_update_id = max(self._next_update_id, update["update_id"] + 1)
        self.pending_updates.append(update)
        self.pending_updates.sort(key=lambda queued: int(queued["update_id"]))
        self._remember(update)
        self._arrived.set()
        self._arrived = asyncio.Event()
        return int(update["update_id"])

    def fail_next(
        self,
        method: str | None = None,
        *,
        status: int,
        retry_after: int | None = None,
        description: str | None = None,
    ) -> None:
        """Answer the next call of `method` (or of anything) with this error; they queue."""
        if status == 429:
            retry_after = retry_after if retry_after is not None else 1
            description = description or f"Too Many Requests: retry after {retry_after}"
        elif status == 400 and method is not None and method.lower().startswith("delete"):
            description = description or "Bad Request: message can't be deleted"
        description = description or DESCRIPTIONS.get(status, f"Error {status}")
        self._failures.append(TelegramFailure(method, status, description, retry_after))

    def calls_to(self, method: str) -> list[TelegramCall]:
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def sent_messages(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """The Message objects returned for successful sendMessage calls, oldest first."""
        return [
            call.result
            for call in self.calls_to("sendMessage")
            if call.status == 200 and (chat_id is None or call.result["chat"]["id"] == chat_id)
        ]

    def texts_to(self, chat_id: int) -> list[str]:
        return [message["text"] for message in self.sent_messages(chat_id)]

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """A message as the chat shows it now (keyboard edits applied); None once deleted."""
        return self._messages.get((chat_id, message_id))

    # -- server -------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._call)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        return app

    async def before_stop(self) -> None:
        self._closing = True
        self._arrived.set()

    async def _not_found(self, request: web.Request) -> web.Response:
        return _error_response(BotApiError(404, "Not Found"))

    async def _call(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        authorized = secrets.compare_digest(
            request.match_info["token"].encode(), self.token.encode()
        )
        try:
            params = await _read_params(request)
        except BotApiError as error:
            self.calls.append(TelegramCall(name, {}, authorized, error.status))
            return _error_response(error)
        known = self._methods.get(name.lower())
        try:
            if not authorized:
                raise BotApiError(401, "Unauthorized")
            if known is None:
                raise BotApiError(404, "Not Found")
            self._raise_scripted(known[0])
            result = await known[1](params)
        except BotApiError as error:
            self.calls.append(TelegramCall(name, params, authorized, error.status))
            return _error_response(error)
        self.calls.append(TelegramCall(name, params, authorized, 200, result))
        body: dict[str, Any] = {"ok": True, "result": result}
        if known[0] in SUCCESS_DESCRIPTIONS:
            body["description"] = SUCCESS_DESCRIPTIONS[known[0]]
        return web.json_response(body)

    def _raise_scripted(self, method: str) -> None:
        for index, failure in enumerate(self._failures):
            if failure.method is None or failure.method.lower() == method.lower():
                del self._failures[index]
                raise BotApiError(failure.status, failure.description, failure.retry_after)

    # -- chats and messages ------------------------------------------------------------

    def _remember(self, update: dict[str, Any]) -> None:
        messages = [update[kind] for kind in _UPDATE_TYPES_WITH_MESSAGE if kind in update]
        if "callback_query" in update and "message" in update["callback_query"]:
            messages.append(update["callback_query"]["message"])
        for message in messages:
            chat = message["chat"]
            self._chats[int(chat["id"])] = chat
            self._messages[(int(chat["id"]), int(message["message_id"]))] = message

    def _chat(self, chat_id: Any) -> dict[str, Any]:
        if chat_id is None or chat_id == "":
            raise BotApiError(400, "Bad Request: chat_id is empty")
        try:
            number = int(chat_id)
        except (TypeError, ValueError):
            raise BotApiError(400, "Bad Request: chat not found") from None
        if number in self._chats:
            return self._chats[number]
        if number > 0:
            return {"id": number, "type": "private"}
        kind = "supergroup" if str(number).startswith("-100") else "group"
        return {"id": number, "title": "Group", "type": kind}

    def _new_message(self, chat: dict[str, Any]) -> dict[str, Any]:
        self._next_message_id += 1
        return {
            "message_id": self._next_message_id,
            "from": self.bot_user(),
            "chat": chat,
            "date": int(time.time()),
        }

    # -- methods ------------------------------------------------------------------------

    async def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot_user() | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params.get("chat_id"))
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise BotApiError(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > MAX_TEXT_LENGTH:
            raise BotApiError(400, "Bad Request: message is too long")
        message = self._new_message(chat) | {"text": text}
        if params.get("entities"):
            message["entities"] = params["entities"]
        markup = params.get("reply_markup")
        # Telegram echoes inline keyboards only; reply keyboards live on the client.
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self._messages[(int(chat["id"]), message["message_id"])] = message
        return message

    async def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        if not params.get("callback_query_id"):
            raise BotApiError(400, "Bad Request: QUERY_ID_INVALID")
        return True

    async def _delete_message(self, params: dict[str, Any]) -> bool:
        chat = self._chat(params.get("chat_id"))
        if not params.get("message_id"):
            raise BotApiError(400, "Bad Request: message identifier is not specified")
        self._messages.pop((int(chat["id"]), int(params["message_id"])), None)
        return True

    async def _delete_messages(self, params: dict[str, Any]) -> bool:
        chat = self._chat(params.get("chat_id"))
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise BotApiError(400, "Bad Request: message identifiers are not specified")
        for message_id in ids:
            self._messages.pop((int(chat["id"]), int(message_id)), None)
        return True

    async def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        if params.get("inline_message_id"):
            return True
        chat = self._chat(params.get("chat_id"))
        if not params.get("message_id"):
            raise BotApiError(400, "Bad Request: message identifier is not specified")
        key = (int(chat["id"]), int(params["message_id"]))
        known = self._messages.get(key)
        markup = params.get("reply_markup")
        if known is not None and known.get("reply_markup") == markup:
            raise BotApiError(400, NOT_MODIFIED)
        message = dict(known) if known else self._new_message(chat) | {"message_id": key[1]}
        message.pop("reply_markup", None)
        if markup:
            message["reply_markup"] = markup
        message["edit_date"] = int(time.time())
        self._messages[key] = message
        return message

    async def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = params.get("url") or ""
        if not url:
            return await self._delete_webhook(params)
        if self.require_https_webhook and not url.startswith("https://"):
            raise BotApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN.fullmatch(str(secret)):
            raise BotApiError(400, "Bad Request: secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self.pending_updates.clear()
        self.webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": params.get("max_connections", 40),
            "allowed_updates": params.get("allowed_updates"),
            "ip_address": params.get("ip_address"),
        }
        return True

    async def _delete_webhook(self, params: dict[str, Any]) -> bool:
        if params.get("drop_pending_updates"):
            self.pending_updates.clear()
        self.webhook = None
        return True

    async def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending_updates),
        }
        if self.webhook:
            info["max_connections"] = self.webhook["max_connections"]
            if self.webhook["allowed_updates"]:
                info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook:
            raise BotApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self._confirm(int(params.get("offset") or 0))
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        allowed = params.get("allowed_updates") or []
        wait = min(float(params.get("timeout") or 0), self.max_poll_timeout)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            ready = [update for update in self.pending_updates if _allowed(update, allowed)]
            remaining = deadline - loop.time()
            if ready or remaining <= 0 or self._closing:
                return ready[:limit]
            arrived = self._arrived
            self.polls_waiting += 1
            try:
                async with asyncio.timeout(remaining):
                    await arrived.wait()
            except TimeoutError:
                return []
            finally:
                self.polls_waiting -= 1

    def _confirm(self, offset: int) -> None:
        """Forget updates the caller confirmed with `offset`, as Telegram does."""
        if offset > 0:
            self.pending_updates = [u for u in self.pending_updates if u["update_id"] >= offset]
        elif offset < 0:
            self.pending_updates = self.pending_updates[offset:]


def _allowed(update: dict[str, Any], allowed: list[str]) -> bool:
    kind = next(key for key in update if key != "update_id")
    return kind in allowed if allowed else kind not in OPT_IN_UPDATES


async def _read_params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = {key: _decode(key, value) for key, value in request.query.items()}
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise BotApiError(400, "Bad Request: can't parse JSON object") from None
        if not isinstance(body, dict):
            raise BotApiError(400, "Bad Request: JSON object expected")
        return params | body
    fields = await request.post()
    for key, value in fields.items():
        params[key] = _decode(key, value)
    return params


def _decode(key: str, value: str | bytes | bytearray | FileField) -> Any:
    if isinstance(value, FileField):
        return {
            "filename": value.filename,
            "content_type": value.content_type,
            "size": len(value.file.read()),
        }
    if isinstance(value, bytes | bytearray):
        value = value.decode()
    if key in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _error_response(error: BotApiError) -> web.Response:
    body: dict[str, Any] = {
        "ok": False,
        "error_code": error.status,
        "description": error.description,
    }
    if error.retry_after is not None:
        body["parameters"] = {"retry_after": error.retry_after}
    return web.json_response(body, status=error.status)


# -- Update builders ---------------------------------------------------------------------


def user(
    user_id: int,
    *,
    first_name: str = "Alex",
    last_name: str | None = None,
    username: str | None = None,
    language_code: str | None = "en",
) -> dict[str, Any]:
    """A Telegram User who is a person; absent optional fields are left out, as Telegram does."""
    fields = {
        "id": user_id,
        "is_bot": False,
        "first_name": first_name,
        "last_name": last_name,
        "username": username,
        "language_code": language_code,
    }
    return {key: value for key, value in fields.items() if value is not None}


def private_chat(person: dict[str, Any]) -> dict[str, Any]:
    """The private chat with a user: same id as the user, type "private"."""
    fields = {
        "id": person["id"],
        "first_name": person["first_name"],
        "last_name": person.get("last_name"),
        "username": person.get("username"),
        "type": "private",
    }
    return {key: value for key, value in fields.items() if value is not None}


def _message(
    message_id: int, sender: dict[str, Any] | None, chat: dict[str, Any], date: int | None
) -> dict[str, Any]:
    message: dict[str, Any] = {"message_id": message_id}
    if sender is not None:
        message["from"] = sender
    return message | {"chat": chat, "date": date if date is not None else int(time.time())}


def _with_text(message: dict[str, Any], text: str) -> dict[str, Any]:
    message = message | {"text": text}
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        length = len(command.encode("utf-16-le")) // 2
        message["entities"] = [{"offset": 0, "length": length, "type": "bot_command"}]
    return message


def _file_id(kind: str) -> tuple[str, str]:
    return f"{kind}ACAgIAAxkBAAI{secrets.token_urlsafe(24)}", f"AQAD{secrets.token_urlsafe(9)}"


def text_update(
    update_id: int,
    chat_id: int,
    text: str,
    *,
    language_code: str | None = "en",
    first_name: str = "Alex",
    last_name: str | None = None,
    username: str | None = None,
    message_id: int | None = None,
    date: int | None = None,
) -> dict[str, Any]:
    """A private text message from the person whose user id is `chat_id`."""
    person = user(
        chat_id,
        first_name=first_name,
        last_name=last_name,
        username=username,
        language_code=language_code,
    )
    message = _message(message_id or update_id, person, private_chat(person), date)
    return {"update_id": update_id, "message": _with_text(message, text)}


def callback_update(
    update_id: int,
    chat_id: int,
    data: str,
    *,
    message_id: int = 1,
    message_text: str = "Choose one:",
    reply_markup: dict[str, Any] | None = None,
    callback_query_id: str | None = None,
    bot_id: int | None = None,
    bot_username: str = DEFAULT_BOT_USERNAME,
    language_code: str | None = "en",
    first_name: str = "Alex",
    last_name: str | None = None,
    username: str | None = None,
) -> dict[str, Any]:
    """A tap on an inline button with callback `data`, under the bot's message."""
    person = user(
        chat_id,
        first_name=first_name,
        last_name=last_name,
        username=username,
        language_code=language_code,
    )
    bot = {
        "id": bot_id if bot_id is not None else int(DEFAULT_TOKEN.split(":", 1)[0]),
        "is_bot": True,
        "first_name": DEFAULT_BOT_NAME,
        "username": bot_username,
    }
    markup = reply_markup or {"inline_keyboard": [[{"text": data, "callback_data": data}]]}
    message = _message(message_id, bot, private_chat(person), None) | {
        "text": message_text,
        "reply_markup": markup,
    }
    query = {
        "id": callback_query_id or str(secrets.randbits(62)),
        "from": person,
        "message": message,
        "chat_instance": str(-secrets.randbits(62)),
        "data": data,
    }
    return {"update_id": update_id, "callback_query": query}


def photo_update(
    update_id: int,
    chat_id: int,
    *,
    caption: str | None = None,
    language_code: str | None = "en",
    first_name: str = "Alex",
    message_id: int | None = None,
) -> dict[str, Any]:
    """A private photo (Telegram sends one PhotoSize per resolution), maybe captioned."""
    person = user(chat_id, first_name=first_name, language_code=language_code)
    message = _message(message_id or update_id, person, private_chat(person), None)
    sizes = [(90, 68, 1_450), (320, 240, 19_873), (800, 600, 84_112), (1280, 960, 151_204)]
    message["photo"] = [
        dict(zip(("file_id", "file_unique_id"), _file_id("Ag"), strict=True))
        | {"file_size": size, "width": width, "height": height}
        for width, height, size in sizes
    ]
    if caption is not None:
        message["caption"] = caption
    return {"update_id": update_id, "message": message}


def sticker_update(
    update_id: int,
    chat_id: int,
    *,
    emoji: str = "👍",
    language_code: str | None = "en",
    first_name: str = "Alex",
    message_id: int | None = None,
) -> dict[str, Any]:
    """A private sticker message."""
    person = user(chat_id, first_name=first_name, language_code=language_code)
    message = _message(message_id or update_id, person, private_chat(person), None)
    file_id, unique = _file_id("CA")
    thumb_id, thumb_unique = _file_id("AA")
    message["sticker"] = {
        "width": 512,
        "height": 512,
        "emoji": emoji,
        "set_name": "HotCherry",
        "is_animated": False,
        "is_video": False,
        "type": "regular",
        "thumbnail": {
            "file_id": thumb_id,
            "file_unique_id": thumb_unique,
            "file_size": 5_416,
            "width": 128,
            "height": 128,
        },
        "file_id": file_id,
        "file_unique_id": unique,
        "file_size": 23_974,
    }
    return {"update_id": update_id, "message": message}


def edited_message_update(
    update_id: int,
    chat_id: int,
    text: str,
    *,
    message_id: int,
    language_code: str | None = "en",
    first_name: str = "Alex",
    date: int | None = None,
    edit_date: int | None = None,
) -> dict[str, Any]:
    """A private message the person edited after sending it."""
    person = user(chat_id, first_name=first_name, language_code=language_code)
    now = int(time.time())
    message = _message(message_id, person, private_chat(person), date or now - 60)
    message = _with_text(message, text) | {"edit_date": edit_date or now}
    return {"update_id": update_id, "edited_message": message}


def group_message_update(
    update_id: int,
    chat_id: int,
    text: str,
    *,
    user_id: int,
    chat_type: str = "supergroup",
    title: str = "Neighbourhood watch",
    first_name: str = "Alex",
    language_code: str | None = "en",
    message_id: int | None = None,
) -> dict[str, Any]:
    """A text message in a group (`chat_id` < 0) from the person `user_id`."""
    person = user(user_id, first_name=first_name, language_code=language_code)
    chat = {"id": chat_id, "title": title, "type": chat_type}
    if chat_type == "group":
        chat["all_members_are_administrators"] = True
    message = _message(message_id or update_id, person, chat, None)
    return {"update_id": update_id, "message": _with_text(message, text)}


def channel_post_update(
    update_id: int,
    chat_id: int,
    text: str,
    *,
    title: str = "Community news",
    username: str | None = None,
    message_id: int | None = None,
) -> dict[str, Any]:
    """A post in a channel the bot administers: no `from`, `sender_chat` is the channel."""
    chat: dict[str, Any] = {"id": chat_id, "title": title, "type": "channel"}
    if username is not None:
        chat["username"] = username
    message = _message(message_id or update_id, None, chat, None)
    message = {"message_id": message["message_id"], "sender_chat": chat} | message
    return {"update_id": update_id, "channel_post": _with_text(message, text)}
