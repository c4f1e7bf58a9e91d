"""A fake Telegram Bot API HTTP server for end-to-end tests.

The bot under test talks to this server through the *real* python-telegram-bot HTTP stack
(``telegram.Bot(token, base_url=tg.base_url)``), so request encoding, response parsing and error
mapping are exercised exactly as in production, without network access or mocks.

Typical use::

    async with FakeTelegram(token="123:ABC") as tg:
        tg.push_update(channel_post(chat_id=-1001, message_id=7, text="hello"))
        async with telegram.Bot("123:ABC", base_url=tg.base_url) as bot:
            ...
        sent = await tg.wait_for_sent(1, chat_id=42)
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from aiohttp import web
from multidict import MultiDictProxy

from tests.telegram_html import MAX_CAPTION_UNITS, MAX_TEXT_UNITS, check_message, units

JSONDict = dict[str, Any]

DEFAULT_DATE = 1_700_000_000
"""Fixed unix time used for payload dates, so test output is deterministic."""

DEFAULT_USER_ID = 42
FIRST_UPDATE_ID = 1000
MAX_UPDATES_LIMIT = 100

BOT_USER: JSONDict = {
    "id": 1000,
    "is_bot": True,
    "first_name": "FrameWatch",
    "username": "framewatch_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
    "can_connect_to_business": False,
    "has_main_web_app": False,
}

STRING_ONLY_KEYS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "first_name",
        "last_name",
        "title",
        "description",
        "short_description",
        "name",
        "query",
        "callback_query_id",
        "inline_query_id",
        "url",
        "username",
        "custom_title",
        "secret_token",
        "language_code",
    }
)
"""Bot API parameters of type String.

PTB form-encodes strings raw but JSON-encodes every other type, so ``"42"`` is ambiguous. For
these keys we never JSON-decode, otherwise a message text of ``"42"`` or ``"true"`` would be
recorded as an int or a bool.
"""

_private_message_ids = itertools.count(1)


@dataclass
class UploadedFile:
    """A file part of a multipart request, kept so tests can assert on uploads."""

    filename: str
    content_type: str
    content: bytes


@dataclass
class RecordedRequest:
    """One HTTP call made to the fake, successful or not.

    ``status`` is filled in once the call has been answered, so tests can tell injected failures
    from successes. It stays ``None`` while a long poll is waiting, and for good if the client
    disconnected before the answer could be written.
    """

    method: str
    params: JSONDict
    status: int | None = None


@dataclass
class SentMessage:
    """A message the bot successfully sent through ``sendMessage``."""

    chat_id: int
    text: str
    parse_mode: str | None
    params: JSONDict
    message_id: int


@dataclass
class SentPhoto:
    """A photo the bot successfully sent through ``sendPhoto`` (uploaded as a file)."""

    chat_id: int
    photo: bytes
    caption: str | None
    parse_mode: str | None
    message_id: int


@dataclass
class _FailureRule:
    """A pending injected failure; ``times=None`` means it never runs out."""

    method: str
    chat_id: int | None
    status: int
    retry_after: int
    times: int | None
    description: str | None
    migrate_to_chat_id: int | None = None

    def matches(self, method: str, params: Mapping[str, Any]) -> bool:
        if self.method.lower() != method.lower():
            return False
        return self.chat_id is None or _as_int(params.get("chat_id")) == self.chat_id


class TelegramHTTPError(Exception):
    """Raised by method handlers to answer with a Telegram-style error body."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


class _ClientGoneError(Exception):
    """The client disconnected before a streamed answer was written; carries that response."""

    def __init__(self, response: web.StreamResponse):
        super().__init__("client disconnected")
        self.response = response


# --------------------------------------------------------------------------------------------
# Payload builders
# --------------------------------------------------------------------------------------------


def channel_chat(chat_id: int, title: str = "Channel", username: str | None = None) -> JSONDict:
    """A ``Chat`` object of type channel; shared by posts, forwards and membership updates."""
    chat: JSONDict = {"id": chat_id, "type": "channel", "title": title}
    if username is not None:
        chat["username"] = username
    return chat


def user(user_id: int = DEFAULT_USER_ID, first_name: str = "User") -> JSONDict:
    """A human ``User`` object."""
    return {"id": user_id, "is_bot": False, "first_name": first_name}


def private_chat(chat_id: int, first_name: str = "User") -> JSONDict:
    """A private ``Chat`` object; in Telegram its id equals the user's id."""
    return {"id": chat_id, "type": "private", "first_name": first_name}


def _photo_sizes(chat_id: int, message_id: int) -> list[JSONDict]:
    """Media for captioned posts: Telegram never sends a caption without media."""
    unique = f"{chat_id}_{message_id}"
    return [{"file_id": f"photo_{unique}", "file_unique_id": unique, "width": 90, "height": 90}]


def channel_post(
    chat_id: int,
    message_id: int,
    text: str | None = None,
    caption: str | None = None,
    date: int = DEFAULT_DATE,
    username: str | None = None,
    title: str = "Channel",
    edited: bool = False,
    edit_date: int | None = None,
) -> JSONDict:
    """An (edited) channel post payload, ready for :meth:`FakeTelegram.push_update`.

    A caption without text gets a photo attached, because that is how Telegram delivers it and
    PTB filters such as ``filters.PHOTO`` rely on it.
    """
    chat = channel_chat(chat_id, title=title, username=username)
    message: JSONDict = {
        "message_id": message_id,
        "sender_chat": chat,
        "chat": chat,
        "date": date,
    }
    if text is not None:
        message["text"] = text
    if caption is not None:
        message["caption"] = caption
        if text is None:
            message["photo"] = _photo_sizes(chat_id, message_id)
    if edited:
        message["edit_date"] = edit_date if edit_date is not None else date + 60
    return {("edited_channel_post" if edited else "channel_post"): message}


def _command_entities(text: str) -> list[JSONDict]:
    """Telegram marks a leading ``/command`` with an entity; PTB's CommandHandler needs it."""
    if not text.startswith("/"):
        return []
    first_word = text.split(maxsplit=1)[0]
    return [{"type": "bot_command", "offset": 0, "length": len(first_word)}]


def private_message(
    user_id: int,
    text: str,
    chat_id: int | None = None,
    date: int = DEFAULT_DATE,
    first_name: str = "User",
    message_id: int | None = None,
) -> JSONDict:
    """A ``message`` update payload from a private chat with a human user."""
    chat = private_chat(chat_id if chat_id is not None else user_id, first_name=first_name)
    message: JSONDict = {
        "message_id": message_id if message_id is not None else next(_private_message_ids),
        "from": user(user_id, first_name=first_name),
        "chat": chat,
        "date": date,
        "text": text,
    }
    entities = _command_entities(text)
    if entities:
        message["entities"] = entities
    return {"message": message}


def forwarded_channel_post(
    user_id: int,
    origin_chat_id: int,
    origin_message_id: int,
    text: str,
    origin_username: str | None = None,
    origin_title: str = "Channel",
    date: int = DEFAULT_DATE,
    origin_date: int | None = None,
) -> JSONDict:
    """A private message forwarding a channel post, with both modern and legacy fields.

    Current Bot API clients read ``forward_origin``; the legacy ``forward_from_chat`` fields are
    still sent by Telegram and included so code relying on either is exercised.
    """
    payload = private_message(user_id, text, date=date)
    message = payload["message"]
    origin_chat = channel_chat(origin_chat_id, title=origin_title, username=origin_username)
    forwarded_at = origin_date if origin_date is not None else date
    message["forward_origin"] = {
        "type": "channel",
        "chat": origin_chat,
        "message_id": origin_message_id,
        "date": forwarded_at,
    }
    message["forward_from_chat"] = origin_chat
    message["forward_from_message_id"] = origin_message_id
    message["forward_date"] = forwarded_at
    return payload


_ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": True,
    "can_edit_stories": True,
    "can_delete_stories": True,
    "can_post_messages": True,
    "can_edit_messages": True,
}


def chat_member(status: str, member: JSONDict) -> JSONDict:
    """A ``ChatMember`` object with exactly the fields PTB requires for ``status``."""
    result: JSONDict = {"status": status, "user": member}
    if status == "administrator":
        result.update(_ADMIN_RIGHTS)
    elif status == "creator":
        result["is_anonymous"] = False
    elif status == "kicked":
        result["until_date"] = 0
    return result


def my_chat_member(
    chat_id: int,
    title: str,
    username: str | None,
    status_new: str = "administrator",
    status_old: str = "left",
    user_id: int = DEFAULT_USER_ID,
    date: int = DEFAULT_DATE,
) -> JSONDict:
    """A ``my_chat_member`` payload: user ``user_id`` changed the bot's status in a channel."""
    return {
        "my_chat_member": {
            "chat": channel_chat(chat_id, title=title, username=username),
            "from": user(user_id),
            "date": date,
            "old_chat_member": chat_member(status_old, dict(BOT_USER)),
            "new_chat_member": chat_member(status_new, dict(BOT_USER)),
        }
    }


_callback_ids = itertools.count(1)


def callback_query(
    user_id: int,
    data: str,
    chat_id: int,
    message_id: int,
    text: str = "card",
    inaccessible: bool = False,
) -> JSONDict:
    """A ``callback_query`` update: ``user_id`` pressed an inline button whose callback data
    is ``data`` under the bot's message ``message_id`` in ``chat_id``. An inaccessible
    message (older than 48 hours) comes as chat, id and date 0 only."""
    message: JSONDict = {"message_id": message_id, "date": 0, "chat": _chat_for_id(chat_id)}
    if not inaccessible:
        message.update({"date": DEFAULT_DATE, "from": dict(BOT_USER), "text": text})
    return {
        "callback_query": {
            "id": str(next(_callback_ids)),
            "from": user(user_id),
            "chat_instance": str(chat_id),
            "message": message,
            "data": data,
        }
    }


# --------------------------------------------------------------------------------------------
# Request parsing
# --------------------------------------------------------------------------------------------


def _as_int(value: Any) -> int | None:
    """Chat ids arrive as int (decoded JSON) or str (query/JSON bodies); compare them as ints."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def decode_form_value(key: str, raw: str) -> Any:
    """Undo PTB's form encoding: non-strings are JSON-encoded, strings are sent raw."""
    if key in STRING_ONLY_KEYS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _decode_form(form: MultiDictProxy[Any]) -> JSONDict:
    """Turn a urlencoded/multipart form into params, keeping uploaded files as bytes."""
    params: JSONDict = {}
    for key, value in form.items():
        if isinstance(value, web.FileField):
            params[key] = UploadedFile(value.filename, value.content_type, value.file.read())
        else:
            params[key] = decode_form_value(key, str(value))
    return params


async def parse_params(request: web.Request) -> JSONDict:
    """Merge query-string and body parameters the way the Bot API accepts them."""
    params = {key: decode_form_value(key, value) for key, value in request.query.items()}
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
    elif request.can_read_body:
        params.update(_decode_form(await request.post()))
    return params


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(status: int, description: str, parameters: JSONDict | None = None) -> web.Response:
    body: JSONDict = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


def _default_description(status: int, retry_after: int) -> str:
    """The descriptions real Telegram uses, so error-message parsing code is exercised."""
    return {
        429: f"Too Many Requests: retry after {retry_after}",
        403: "Forbidden: bot was blocked by the user",
        400: "Bad Request: chat not found",
        401: "Unauthorized",
        404: "Not Found",
        409: "Conflict: terminated by other getUpdates request",
        502: "Bad Gateway",
    }.get(status, "Internal Server Error")


def _check_text(text: str, parse_mode: object, limit: int) -> None:
    """Refuse a text (or caption) the way the Bot API does: bad HTML, empty, too long."""
    if isinstance(parse_mode, str) and parse_mode.upper() == "HTML":
        problem = check_message(text, limit)
    elif not text.strip():
        problem = "Bad Request: message text is empty"
    else:
        problem = "Bad Request: message is too long" if units(text) > limit else ""
    if problem:
        raise TelegramHTTPError(400, problem)


def _chat_for_id(chat_id: int) -> JSONDict:
    """Guess the chat type from the id the way Telegram numbers chats."""
    if chat_id > 0:
        return private_chat(chat_id)
    if str(chat_id).startswith("-100"):
        return channel_chat(chat_id)
    return {"id": chat_id, "type": "group", "title": "Group"}


Handler = Callable[[web.Request, JSONDict], Any]


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


CONFLICT_DESCRIPTION = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
WEBHOOK_ACTIVE_DESCRIPTION = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
    "delete the webhook first"
)
_RAW = "_raw_element"  # key of an element pushed with push_raw, served without its wrapper


@dataclass
class _LongPoll:
    terminated: bool = False


class FakeTelegram:
    """An in-process Bot API server on 127.0.0.1 with an OS-assigned port.

    State is plain public attributes so tests can assert on it directly. Waiting is event driven
    (see :meth:`_notify`), never sleep-polling, so tests are fast and deterministic.
    """

    def __init__(self, token: str = "123:ABC") -> None:
        self.token = token
        self._transports: set[asyncio.BaseTransport] = set()  # every connection seen
        self.requests: list[RecordedRequest] = []
        self.sent: list[SentMessage] = []
        self.photos: list[SentPhoto] = []  # sendPhoto calls answered with success
        self.allowed_updates: list[str] | None = None
        self.webhook: JSONDict | None = None  # setWebhook's parameters; None: polling
        self.commands: dict[str, list[JSONDict]] = {}
        self.on_updates_served: Callable[[list[JSONDict]], None] | None = None
        self.hook_errors: list[Exception] = []
        self.date = DEFAULT_DATE
        self._updates: list[JSONDict] = []
        self._polls: list[_LongPoll] = []  # getUpdates calls waiting now
        self.conflicts = 0  # getUpdates calls ended with 409 Conflict
        self._next_update_id = FIRST_UPDATE_ID
        self._message_ids: dict[int, int] = {}
        self._failures: list[_FailureRule] = []
        # sendMessage's pace: each answer waits send_delay seconds after the message is
        # recorded (Telegram's latency); after hold_sends(n), answers past the n-th message
        # wait until release_sends(): the message is Telegram's, its sender does not know.
        self.send_delay = 0.0
        self._hold_after: int | None = None
        self._released = asyncio.Event()
        self.held = 0  # sendMessage answers waiting for release_sends() now
        self._event = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._methods: dict[str, Handler] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "deletewebhook": self._delete_webhook,
            "setwebhook": self._set_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "close": self._return_true,
            "logout": self._return_true,
            "answercallbackquery": self._return_true,
            "editmessagetext": self._edit_message_text,
            "leavechat": self._return_true,
            "sendphoto": self._send_photo,
        }

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind to an ephemeral port so parallel test runs never collide."""
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._dispatch)
        self._closing = False
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Release pending long polls first so shutdown does not wait for their timeouts."""
        self._closing = True
        self._released.set()
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        # A client killed mid-request (the crash tests SIGKILL the bot during long polls)
        # can leave aiohttp's end of that connection open until the garbage collector finds
        # it, in whatever test runs then: close every connection this server saw, now.
        for transport in self._transports:
            if not transport.is_closing():
                transport.close()
        self._transports.clear()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """Pass to ``telegram.Bot(base_url=...)``; PTB appends ``<token>/<method>``."""
        if self._port is None:
            raise RuntimeError("FakeTelegram is not started")
        return f"http://127.0.0.1:{self._port}/bot"

    # ---- test-facing API -------------------------------------------------------------------

    def push_update(self, payload: JSONDict) -> int:
        """Queue an update (as Telegram would) and wake any waiting long poll."""
        update_id = self._next_update_id
        self._next_update_id += 1
        self._updates.append({"update_id": update_id, **payload})
        self._notify()
        return update_id

    def pending_updates(self) -> list[JSONDict]:
        """Updates not yet acknowledged through a getUpdates ``offset``."""
        return list(self._updates)

    def sent_to(self, chat_id: int) -> list[SentMessage]:
        return [message for message in self.sent if message.chat_id == chat_id]

    def my_commands(self, scope: JSONDict | None = None, language_code: str = "") -> list[JSONDict]:
        """Commands last set via setMyCommands for that scope/language (default scope)."""
        key = self._commands_key({"scope": scope, "language_code": language_code})
        return self.commands.get(key, [])

    def requests_for(self, method: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method.lower() == method.lower()]

    def fail(
        self,
        method: str,
        chat_id: int | None = None,
        status: int = 429,
        retry_after: int = 1,
        times: int | None = 1,
        description: str | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        """Make the next ``times`` matching calls fail like Telegram; ``None`` = forever.
        migrate_to_chat_id: the 400 Telegram gives when a group became a supergroup."""
        rule = _FailureRule(
            method, chat_id, status, retry_after, times, description, migrate_to_chat_id
        )
        self._failures.append(rule)

    def hold_sends(self, after: int) -> None:
        """Record every sendMessage but answer none after the first `after` until
        release_sends(): a sender killed then had its messages accepted, unanswered."""
        self._hold_after = after
        self._released = asyncio.Event()

    def release_sends(self) -> None:
        self._hold_after = None
        self._released.set()

    def clear_failures(self) -> None:
        self._failures.clear()

    async def wait_for_sent(
        self,
        count: int,
        chat_id: int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - a per-call deadline reads best in test code
    ) -> list[SentMessage]:
        """Wait until ``count`` messages were sent (to ``chat_id``) and return them."""

        def matching() -> list[SentMessage]:
            return self.sent if chat_id is None else self.sent_to(chat_id)

        if not await self._wait_until(lambda: len(matching()) >= count, timeout):
            where = "" if chat_id is None else f" to chat {chat_id}"
            raise AssertionError(
                f"expected {count} sent message(s){where} within {timeout}s, got "
                f"{len(matching())}; all sent: {[(m.chat_id, m.text) for m in self.sent]}"
            )
        return list(matching())

    async def wait_for_request(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - a per-call deadline reads best in test code
    ) -> list[RecordedRequest]:
        """Wait until ``method`` was called ``count`` times (counted on arrival)."""
        if not await self._wait_until(lambda: len(self.requests_for(method)) >= count, timeout):
            raise AssertionError(
                f"expected {count} {method} request(s) within {timeout}s, got "
                f"{len(self.requests_for(method))}; all: {[r.method for r in self.requests]}"
            )
        return self.requests_for(method)

    async def wait_for_held(
        self,
        count: int,
        timeout: float = 5.0,  # noqa: ASYNC109 - a per-call deadline reads best in test code
    ) -> None:
        """Wait until `count` sendMessage answers are held (hold_sends)."""
        if not await self._wait_until(lambda: self.held >= count, timeout):
            raise AssertionError(f"expected {count} held sends within {timeout}s, got {self.held}")

    # ---- change notification ---------------------------------------------------------------

    def _notify(self) -> None:
        """Wake every waiter; sync so it can be called from ``push_update`` and hooks.

        Setting the current event and replacing it is race-free on one event loop because
        waiters re-check their predicate before awaiting the (new) event.
        """
        self._event.set()
        self._event = asyncio.Event()

    async def _wait_until(self, predicate: Callable[[], bool], within: float) -> bool:
        """Return whether ``predicate`` became true within ``within`` seconds."""
        try:
            async with asyncio.timeout(within):
                while not predicate():
                    await self._event.wait()
        except TimeoutError:
            return predicate()
        return True

    # ---- HTTP dispatch ---------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        """Record, authenticate, inject failures, then route to the method handler."""
        if request.transport is not None:
            self._transports.add(request.transport)
        method = request.match_info["method"]
        recorded = RecordedRequest(method, await parse_params(request))
        self.requests.append(recorded)
        self._notify()
        try:
            response = await self._answer(request, recorded)
        except _ClientGoneError as gone:
            return gone.response  # aiohttp ignores the ConnectionError when finishing it
        recorded.status = response.status
        return response

    async def _answer(self, request: web.Request, recorded: RecordedRequest) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        rule = self._take_failure(recorded.method, recorded.params)
        if rule is not None:
            return self._failure_response(rule)
        handler = self._methods.get(recorded.method.lower())
        if handler is None:
            return _error(404, "Not Found: method not found")
        try:
            result = await handler(request, recorded.params)
        except TelegramHTTPError as err:
            return _error(err.status, err.description, err.parameters)
        if isinstance(result, web.StreamResponse):
            return result
        return _ok(result)

    def _take_failure(self, method: str, params: JSONDict) -> _FailureRule | None:
        """Consume one use of the first matching failure rule."""
        for rule in self._failures:
            if rule.matches(method, params):
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self._failures.remove(rule)
                return rule
        return None

    @staticmethod
    def _failure_response(rule: _FailureRule) -> web.Response:
        description = rule.description or _default_description(rule.status, rule.retry_after)
        parameters: JSONDict | None = None
        if rule.status == 429:
            parameters = {"retry_after": rule.retry_after}
        elif rule.migrate_to_chat_id is not None:
            parameters = {"migrate_to_chat_id": rule.migrate_to_chat_id}
        return _error(rule.status, description, parameters)

    # ---- method handlers -------------------------------------------------------------------

    async def _get_me(self, request: web.Request, params: JSONDict) -> JSONDict:
        return dict(BOT_USER)

    async def _return_true(self, request: web.Request, params: JSONDict) -> bool:
        return True

    async def _get_updates(self, request: web.Request, params: JSONDict) -> web.StreamResponse:
        """Long-poll like Telegram: ack by offset, wait up to ``timeout`` for new updates.

        Like Telegram, a getUpdates arriving while another one waits ends the waiting one
        with 409 Conflict: two pollers on one token keep cutting each other off."""
        if self.webhook is not None:
            raise TelegramHTTPError(409, WEBHOOK_ACTIVE_DESCRIPTION)
        if "allowed_updates" in params:
            self.allowed_updates = params["allowed_updates"]
        offset = _as_int(params.get("offset"))
        if offset is not None:
            self._acknowledge(offset)
        limit = min(max(_as_int(params.get("limit")) or MAX_UPDATES_LIMIT, 1), MAX_UPDATES_LIMIT)
        timeout = float(params.get("timeout") or 0)
        for earlier in self._polls:
            earlier.terminated = True
        poll = _LongPoll()
        self._polls.append(poll)
        self._notify()
        try:
            await self._wait_until(
                lambda: self._closing or poll.terminated or self._deliverable(offset) != [],
                timeout,
            )
        finally:
            self._polls.remove(poll)
        if poll.terminated and not self._closing:
            self.conflicts += 1
            raise TelegramHTTPError(409, CONFLICT_DESCRIPTION)
        updates = [] if self._closing else self._deliverable(offset)[:limit]
        return await self._write_updates(request, [u.get(_RAW, u) for u in updates])

    def push_raw(self, element: Any) -> int:
        """Queue any JSON value as an element of getUpdates' result, as a broken proxy
        might send it; it is acknowledged like an update with the id returned (which it
        does not carry)."""
        update_id = self._next_update_id
        self._next_update_id += 1
        self._updates.append({"update_id": update_id, _RAW: element})
        self._notify()
        return update_id

    def _acknowledge(self, offset: int) -> None:
        """Forget confirmed updates; a negative offset keeps only the last ``-offset``."""
        if offset < 0:
            self._updates = self._updates[offset:]
        else:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]

    def _deliverable(self, offset: int | None) -> list[JSONDict]:
        if offset is None or offset < 0:
            return list(self._updates)
        return [u for u in self._updates if u["update_id"] >= offset]

    async def _write_updates(
        self, request: web.Request, updates: list[JSONDict]
    ) -> web.StreamResponse:
        """Write the whole response before calling the hook, so a crash test can simulate
        "the client received updates but died before acknowledging them".
        """
        body = json.dumps({"ok": True, "result": updates}).encode()
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = len(body)
        try:
            await response.prepare(request)
            await response.write(body)
            await response.write_eof()
        except ConnectionError:
            # The client abandoned the long poll (e.g. PTB's Updater stopping); nothing was
            # served, so the updates stay pending and the hook must not fire.
            raise _ClientGoneError(response) from None
        if updates and self.on_updates_served is not None:
            self._run_hook(self.on_updates_served, updates)
        return response

    def _run_hook(self, hook: Callable[[list[JSONDict]], None], updates: list[JSONDict]) -> None:
        """The response is already sent, so a raising hook can only be reported, not answered."""
        try:
            hook([dict(u) for u in updates])
        except Exception as exc:
            self.hook_errors.append(exc)

    async def _send_message(self, request: web.Request, params: JSONDict) -> JSONDict:
        chat_id = _as_int(params.get("chat_id"))
        if chat_id is None:
            raise TelegramHTTPError(400, "Bad Request: chat not found")
        text = params.get("text")
        if not isinstance(text, str) or not text:
            raise TelegramHTTPError(400, "Bad Request: message text is empty")
        _check_text(text, params.get("parse_mode"), MAX_TEXT_UNITS)
        message_id = self._message_ids.get(chat_id, 0) + 1
        self._message_ids[chat_id] = message_id
        parse_mode = params.get("parse_mode")
        self.sent.append(SentMessage(chat_id, text, parse_mode, dict(params), message_id))
        self._notify()
        if self.send_delay:
            await asyncio.sleep(self.send_delay)
        if self._hold_after is not None and len(self.sent) > self._hold_after:
            self.held += 1
            self._notify()
            try:
                await self._released.wait()
            finally:
                self.held -= 1
        return self._message_json(chat_id, message_id, text, params)

    def _message_json(self, chat_id: int, message_id: int, text: str, params: JSONDict) -> JSONDict:
        message: JSONDict = {
            "message_id": message_id,
            "date": self.date,
            "chat": _chat_for_id(chat_id),
            "from": dict(BOT_USER),
            "text": text,
        }
        if isinstance(params.get("reply_markup"), dict):
            message["reply_markup"] = params["reply_markup"]
        return message

    async def _set_webhook(self, request: web.Request, params: JSONDict) -> bool:
        """Remembered, never called back: tests POST to the bot's listener themselves.
        Like Telegram, getUpdates is refused while a webhook is set."""
        if not str(params.get("url", "")).startswith("https://"):
            raise TelegramHTTPError(400, "Bad Request: bad webhook: HTTPS url must be provided")
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        self.webhook = params
        if isinstance(params.get("allowed_updates"), list):
            self.allowed_updates = params["allowed_updates"]
        return True

    async def _delete_webhook(self, request: web.Request, params: JSONDict) -> bool:
        """``drop_pending_updates`` really drops them: PTB's bootstrap relies on this."""
        self.webhook = None
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        return True

    async def _get_webhook_info(self, request: web.Request, params: JSONDict) -> JSONDict:
        pending = len(self._updates)
        url = "" if self.webhook is None else str(self.webhook.get("url", ""))
        return {"url": url, "has_custom_certificate": False, "pending_update_count": pending}

    @staticmethod
    def _commands_key(params: JSONDict) -> str:
        """Commands are stored per (scope, language) like Telegram does."""
        scope = params.get("scope") or {"type": "default"}
        return json.dumps([scope, params.get("language_code") or ""], sort_keys=True)

    async def _set_my_commands(self, request: web.Request, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise TelegramHTTPError(400, "Bad Request: parameter commands is required")
        self.commands[self._commands_key(params)] = commands
        return True

    async def _get_my_commands(self, request: web.Request, params: JSONDict) -> list[JSONDict]:
        return self.commands.get(self._commands_key(params), [])

    async def _delete_my_commands(self, request: web.Request, params: JSONDict) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    async def _edit_message_text(self, request: web.Request, params: JSONDict) -> JSONDict:
        """Edit a message sent earlier, as Telegram does: a missing message or an edit that
        changes nothing is a 400; the inline keyboard goes unless it is sent again."""
        chat_id, message_id = _as_int(params.get("chat_id")), _as_int(params.get("message_id"))
        text = params.get("text")
        if not isinstance(text, str) or not text:
            raise TelegramHTTPError(400, "Bad Request: message text is empty")
        found = [m for m in self.sent if (m.chat_id, m.message_id) == (chat_id, message_id)]
        if not found or chat_id is None or message_id is None:
            raise TelegramHTTPError(400, "Bad Request: message to edit not found")
        sent = found[0]
        markup = params.get("reply_markup")
        if sent.text == text and sent.params.get("reply_markup") == markup:
            raise TelegramHTTPError(400, "Bad Request: message is not modified")
        sent.text, sent.parse_mode = text, params.get("parse_mode")
        sent.params = {**sent.params, "text": text, "reply_markup": markup}
        if markup is None:
            del sent.params["reply_markup"]
        self._notify()
        return self._message_json(chat_id, message_id, text, sent.params)

    async def _send_photo(self, request: web.Request, params: JSONDict) -> JSONDict:
        """Accept an uploaded file (multipart), as the bot sends its charts; a photo given as
        a file_id or URL is refused: nothing here could resolve it."""
        chat_id = _as_int(params.get("chat_id"))
        if chat_id is None:
            raise TelegramHTTPError(400, "Bad Request: chat not found")
        photo = params.get("photo")
        if not isinstance(photo, UploadedFile) or not photo.content:
            raise TelegramHTTPError(400, "Bad Request: there is no photo in the request")
        caption = params.get("caption")
        if isinstance(caption, str) and units(caption) > MAX_CAPTION_UNITS:
            raise TelegramHTTPError(400, "Bad Request: message caption is too long")
        if isinstance(caption, str) and caption:
            _check_text(caption, params.get("parse_mode"), MAX_CAPTION_UNITS)
        message_id = self._message_ids.get(chat_id, 0) + 1
        self._message_ids[chat_id] = message_id
        parse_mode = params.get("parse_mode")
        self.photos.append(SentPhoto(chat_id, photo.content, caption, parse_mode, message_id))
        self._notify()
        message: JSONDict = {
            "message_id": message_id,
            "date": self.date,
            "chat": _chat_for_id(chat_id),
            "from": dict(BOT_USER),
            "photo": _photo_sizes(chat_id, message_id),
        }
        if caption:
            message["caption"] = caption
        return message
