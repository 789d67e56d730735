"""A small fake Telegram Bot API server on 127.0.0.1, for driving the real bot over HTTP.

It queues updates for `getUpdates` (messages, button presses, inline queries) and keeps them
until a later call's `offset` confirms them, as Telegram does (so a restarted bot gets what
it had not confirmed), answers the methods the bot calls with plausible objects, records
every call (`answerInlineQuery` with its results decoded), hands out only the kinds of
update the bot asked for (`allowed_updates`), refuses a text longer than
Telegram's 4,096 characters as Telegram does (and counts the formatting entities it
would show, `entities`), refuses an inline answer with an empty title in it
(`ARTICLE_TITLE_EMPTY`, read as Telegram reads it: `empty_to_telegram`), and can be told to fail a method
in the ways a network fails (see `Fault`), refuse messages to a user who blocked the bot
(403), refuse a reply to a message deleted meanwhile, or its edit (`deleted`), refuse a chat the bot has
never met (`unknown_chats`) or a group upgraded to a supergroup (`migrated`), or hold a
chat's messages (`held`) or every call of a method (`gates`), to test the bot's handling of faults.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import socket
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from aiohttp import web

BOT_USER = {"id": 999, "is_bot": True, "first_name": "News", "username": "news_test_bot"}
JSON_PARAMS = {
    "reply_markup",
    "commands",
    "scope",
    "link_preview_options",
    "allowed_updates",
    "entities",
    "reply_parameters",
    "results",
    "button",
}
MAX_MESSAGE = 4096
"""The longest text Telegram sends, in characters after its HTML is parsed: tdlib counts them
with `utf8_length` (code points), not in the UTF-16 units of its entities' offsets."""
MAX_ENTITIES = 100
"""The formatting entities Telegram shows in one message (python-telegram-bot's
`MessageLimit.MESSAGE_ENTITIES`, found by experiment: Telegram does not document it)."""
INT_PARAMS = {"chat_id", "message_id", "message_thread_id", "offset", "timeout", "limit", "cache_time"}
BOOL_PARAMS = {"is_personal"}


@dataclass
class Call:
    """One request the bot made."""

    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    result: Any = None
    """What the server answered (a message sent or edited: its `message_id`)."""


@dataclass
class Fault:
    """A planned fault of one call.

    By default an error answer (`status`, `description`, `retry_after`), for a request
    Telegram did not act on; `drop` closes the connection without any answer instead.
    With `delivered`, the request is acted on first (recorded as a call) and only its
    answer is lost: dropped, or sent `delay` seconds late (past the client's timeout).
    `refuse` acts on the call and answers it, then closes the connection and refuses new
    ones until `accept_connections()`, keeping the port bound meanwhile.
    """

    status: int = 500
    description: str = "Internal Server Error"
    retry_after: int | None = None
    drop: bool = False
    delivered: bool = False
    delay: float = 0.0
    refuse: bool = False


class FakeBotApi:
    """The fake server; `base_url` is what the bot's `TELEGRAM_BASE_URL` should be."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.faults: dict[str, list[Fault]] = {}
        self.latency: dict[str, float] = {}
        """Seconds the answer to each call of a method takes, after the call is acted on."""
        self.confirmations: list[tuple[int, int]] = []
        """(offset, messages sent so far) at each `getUpdates` as it confirms the updates before offset."""
        self.down = False
        self.batch = 100
        """The most updates one `getUpdates` hands out (Telegram's own limit is 100)."""
        self.inline_mode = True
        """Whether `getMe` says inline mode is on, as @BotFather's /setinline switches it."""
        self.blocked: set[int] = set()
        """Chats whose user blocked the bot: sending to them (a message, "typing…") is a 403."""
        self.too_long: list[Call] = []
        """Messages refused for their length, as Telegram refuses them."""
        self.unknown_chats: set[int] = set()
        """Chats the bot has never met (a user who never wrote to it): a message or a command menu
        for one is refused with "chat not found", as Telegram refuses it."""
        self.deleted: set[tuple[int, int]] = set()
        """(chat, message) ids of messages deleted from their chat: a reply to one is refused unless
        it allows sending without the reply, as Telegram does."""
        self.migrated: dict[int, int] = {}
        """Groups upgraded to a supergroup, each with the supergroup's id: a message or an edit
        for one is refused with `migrate_to_chat_id`, as Telegram refuses it, before any planned
        fault (a 429 planned is then the supergroup's)."""
        self.refused_migrated: list[Call] = []
        """Messages and edits refused for a group upgraded to a supergroup (`migrated`)."""
        self.refused: list[Call] = []
        """Calls answered with a planned fault (`fail`), as they were made."""
        self.held: dict[int, asyncio.Event] = {}
        """Chats whose messages wait until their event is set, as a group's do at Telegram's 20 a
        minute; the server sends blanks meanwhile, so that no client timeout ends the wait."""
        self.holding = 0
        """Messages waiting in `held` chats now."""
        self.gates: dict[str, asyncio.Event] = {}
        """Methods whose calls wait, unanswered, until their event is set (`gated` counts them): a
        test orders what the bot does meanwhile (a question held at its "typing…")."""
        self.gated = 0
        """Calls waiting at a gate now."""
        self.allowed_updates: set[str] | None = None
        """The kinds of update the bot asked for (`allowed_updates`); None for every kind."""
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._shown: dict[tuple[Any, int], dict[str, Any]] = {}
        """Each message the bot sent, as it is now (edits applied): what Telegram attaches to a press."""
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._port_holder: socket.socket | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        self._port_holder = _bound_port()
        self.port = self._port_holder.getsockname()[1]
        await self.accept_connections()

    async def accept_connections(self) -> None:
        """Listen (again after a `Fault(refuse=True)`) on the port held since `start`.

        The holder stays bound but never listens, so a connection meanwhile is refused and no
        other program can take the port before the server listens on it again."""
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_port=True)
        await self._site.start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._port_holder is not None:
            self._port_holder.close()

    # --- what tests do -------------------------------------------------------------

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update (its `update_id` is assigned here) and return the id."""
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, **update})
        asyncio.get_running_loop().create_task(self._notify())
        return update_id

    def push_message(
        self,
        text: str | None = None,
        *,
        user_id: int = 1,
        chat_id: int | None = None,
        chat_type: str = "private",
        kind: str = "message",
        language_code: str | None = None,
        message_id: int | None = None,
        **extra: Any,
    ) -> int:
        """Queue a message from a user, with the entities Telegram would add to commands and mentions
        (`message_id`: one given before, as Telegram hands out again what was not confirmed)."""
        message: dict[str, Any] = {
            "message_id": message_id if message_id is not None else next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id if chat_id is not None else user_id, "type": chat_type, "title": "Group"}
            if chat_type != "private"
            else {"id": chat_id if chat_id is not None else user_id, "type": "private"},
            "from": _user(user_id, language_code),
        }
        if text is not None:
            message["text"] = text
            entities = marked_entities(text)
            if entities:
                message["entities"] = entities
        message.update(extra)
        return self.push_update({kind: message})

    def push_edit(self, text: str | None, message_id: int, *, user_id: int = 1, **extra: Any) -> int:
        """Queue the edit of a message a user sent before (`message_id`), as Telegram sends it: the
        message whole, with its new text, its first `date` and the time of the edit (`edit_date`)."""
        extra.setdefault("edit_date", int(time.time()))
        return self.push_message(text, user_id=user_id, message_id=message_id, kind="edited_message", **extra)

    def new_message_id(self) -> int:
        """An id for a message of a user, as `push_message` gives one when none is passed."""
        return next(self._message_ids)

    def push_callback(
        self, data: str, message: dict[str, Any], user_id: int = 1, language_code: str | None = None
    ) -> int:
        """Queue a press on an inline button of `message` (a message the bot sent), with that
        message's buttons as the bot last left them, as Telegram attaches it: the data pressed
        need not be among them (a modified client sends any)."""
        shown = self._shown.get((message.get("chat", {}).get("id"), message.get("message_id")))
        if shown is not None:
            message = {key: value for key, value in message.items() if key != "reply_markup"}
            if "reply_markup" in shown:
                message["reply_markup"] = shown["reply_markup"]
        return self.push_update(
            {
                "callback_query": {
                    "id": str(next(self._message_ids)),
                    "from": _user(user_id, language_code),
                    "chat_instance": "1",
                    "data": data,
                    "message": message,
                }
            }
        )

    def message_with(self, data: str, chat_id: int = 7) -> dict[str, Any]:
        """The bot's message in `chat_id` that shows a button of `data` now (the newest of them)."""
        for (chat, _), message in reversed(self._shown.items()):
            rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
            if chat == chat_id and any(button.get("callback_data") == data for row in rows for button in row):
                return message
        raise LookupError(f"no message of chat {chat_id} shows a button {data!r}")

    def push_inline_query(self, query: str, user_id: int = 1, language_code: str | None = None) -> str:
        """Queue what a user types after the bot's name in any chat; return the query's id."""
        query_id = str(next(self._message_ids))
        self.push_update(
            {
                "inline_query": {
                    "id": query_id,
                    "from": _user(user_id, language_code),
                    "query": query,
                    "offset": "",
                }
            }
        )
        return query_id

    def fail(self, method: str, *faults: Fault) -> None:
        """Make the next calls of `method` fail, one fault per call."""
        self.faults.setdefault(method, []).extend(faults)

    def sent(self, method: str = "sendMessage", chat_id: int | None = None) -> list[Call]:
        """The successful calls of `method` so far (to `chat_id` if given)."""
        return [
            c
            for c in self.calls
            if c.method == method and (chat_id is None or c.params.get("chat_id") == chat_id)
        ]

    async def wait_for(
        self, method: str = "sendMessage", *, chat_id: int | None = None, count: int = 1, timeout: float = 120
    ) -> list[Call]:
        """Wait until `count` calls of `method` (to `chat_id`) have been made; return them.

        `timeout` only stops a hang: the wait ends with the call, however busy the machine."""
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(self.sent(method, chat_id)) >= count), timeout
            )
        return self.sent(method, chat_id)

    async def until_gated(self, count: int, timeout: float = 120) -> None:
        """Wait until `count` calls wait at `gates` (`timeout` only stops a hang)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.gated >= count), timeout)

    async def until_holding(self, count: int, timeout: float = 120) -> None:
        """Wait until `count` messages wait in `held` chats (`timeout` only stops a hang)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.holding >= count), timeout)

    # --- the server ----------------------------------------------------------------

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        params = await _params(request)
        if self.down:
            return web.json_response(
                {"ok": False, "error_code": 502, "description": "Bad Gateway"}, status=502
            )
        if method in ("sendMessage", "editMessageText") and params.get("chat_id") in self.migrated:
            self.refused_migrated.append(Call(method, params))  # before any fault: the group is gone
            return _error(
                Fault(400, "Bad Request: group chat was upgraded to a supergroup chat"),
                migrate_to_chat_id=self.migrated[params["chat_id"]],
            )
        planned = self.faults.get(method)
        fault = planned.pop(0) if planned else None
        if fault is not None and not (fault.delivered or fault.refuse):  # not acted on
            self.refused.append(Call(method, params))
            return _dropped(request) if fault.drop else _error(fault)
        shown = shown_length(str(params.get("text", "")), params.get("parse_mode"))
        if method in ("sendMessage", "editMessageText") and shown > MAX_MESSAGE:
            self.too_long.append(Call(method, params))
            return _error(Fault(400, "Bad Request: message is too long"))
        if self._to_unknown_chat(method, params):
            return _error(Fault(400, "Bad Request: chat not found"))
        if method == "editMessageText" and (params.get("chat_id"), params.get("message_id")) in self.deleted:
            return _error(Fault(400, "Bad Request: message to edit not found"))
        if method == "answerInlineQuery" and any(
            empty_to_telegram(str(r.get("title", ""))) for r in params.get("results", [])
        ):
            return _error(Fault(400, "Bad Request: ARTICLE_TITLE_EMPTY"))  # one empty title refuses the list
        if method == "sendMessage" and self._replies_to_deleted(params):
            return _error(Fault(400, "Bad Request: message to be replied not found"))
        if method in ("sendMessage", "sendChatAction") and params.get("chat_id") in self.blocked:
            return web.json_response(
                {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
                status=403,
            )
        gate = self.gates.get(method)
        if gate is not None and not gate.is_set():
            self.gated += 1
            await self._notify()
            await gate.wait()
            self.gated -= 1
        hold = self.held.get(params.get("chat_id")) if method == "sendMessage" else None
        if hold is not None and not hold.is_set():
            return await self._answer_when_released(request, hold, method, params)
        if method == "getUpdates":
            result: Any = await self._get_updates(params)
        else:
            result = self._result(method, params)
        self.calls.append(Call(method, params, result=result))
        await self._notify()
        await asyncio.sleep(self.latency.get(method, 0.0))
        response = web.json_response({"ok": True, "result": result})
        if fault is not None:  # acted on; now its answer goes astray
            await asyncio.sleep(fault.delay)
            if fault.drop:
                return _dropped(request)
            if fault.refuse:
                assert self._site is not None
                await self._site.stop()  # no new connections; this one closes after the answer
                response.force_close()
        return response

    def _to_unknown_chat(self, method: str, params: dict[str, Any]) -> bool:
        """Whether a message, or a command menu scoped to a chat, is for a chat the bot never met."""
        if method == "setMyCommands":
            chat = (params.get("scope") or {}).get("chat_id")
        else:
            chat = params.get("chat_id") if method == "sendMessage" else None
        return chat is not None and chat in self.unknown_chats

    def _replies_to_deleted(self, params: dict[str, Any]) -> bool:
        """Whether a message replies to a deleted one without allowing to be sent without it."""
        reply = params.get("reply_parameters") or {}
        if not reply or reply.get("allow_sending_without_reply"):
            return False
        return (reply.get("chat_id", params.get("chat_id")), reply.get("message_id")) in self.deleted

    async def _answer_when_released(
        self, request: web.Request, hold: asyncio.Event, method: str, params: dict[str, Any]
    ) -> web.StreamResponse:
        """Act on the call once `hold` is set; until then, send a blank (valid before JSON) now and then."""
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        self.holding += 1
        await self._notify()
        while not hold.is_set():
            await response.write(b" ")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(hold.wait(), 0.5)
        self.holding -= 1
        result = self._result(method, params)
        self.calls.append(Call(method, params, result=result))
        await self._notify()
        await response.write(json.dumps({"ok": True, "result": result}).encode())
        await response.write_eof()
        return response

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        if params.get("allowed_updates"):  # kept until changed, as Telegram keeps it
            self.allowed_updates = set(params["allowed_updates"])
        self._updates = [u for u in self._updates if u["update_id"] >= offset and self._allowed(u)]
        self.confirmations.append((offset, len(self.sent("sendMessage"))))
        wait = min(float(params.get("timeout") or 0), 0.2)  # short, so that stopping is quick
        if not self._updates and wait > 0:
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait_for(lambda: bool(self._updates)), wait)
        return list(self._updates[: min(int(params.get("limit") or 100), self.batch)])

    def _allowed(self, update: dict[str, Any]) -> bool:
        """Whether the bot asked for this kind of update: Telegram drops the others."""
        return self.allowed_updates is None or any(kind in self.allowed_updates for kind in update)

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {
                **BOT_USER,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": self.inline_mode,
            }
        if method in ("sendMessage", "editMessageText"):
            chat_id = params.get("chat_id")
            message = {
                "message_id": params.get("message_id") or next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if chat_id and chat_id > 0 else "group"},
                "from": BOT_USER,
                "text": params.get("text", ""),
            }
            if "reply_markup" in params:
                message["reply_markup"] = params["reply_markup"]
            self._shown[(chat_id, message["message_id"])] = message  # an edit without buttons drops them
            return message
        return True


def _bound_port() -> socket.socket:
    """A socket bound to a free port of 127.0.0.1, that the server's listening sockets share."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    holder.bind(("127.0.0.1", 0))
    return holder


def _error(fault: Fault, **parameters: Any) -> web.Response:
    """The error answer Telegram gives to a request it did not act on (with its `parameters`)."""
    body: dict[str, Any] = {"ok": False, "error_code": fault.status, "description": fault.description}
    if fault.retry_after is not None:
        parameters["retry_after"] = fault.retry_after
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=fault.status)


def _dropped(request: web.Request) -> web.Response:
    """Close the connection without an answer."""
    assert request.transport is not None
    request.transport.close()
    return web.Response()


async def _params(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        raw: dict[str, Any] = await request.json()
        return raw
    form = await request.post()
    params: dict[str, Any] = {}
    for key, value in form.items():
        text = str(value)
        if key in JSON_PARAMS:
            params[key] = json.loads(text)
        elif key in INT_PARAMS:
            params[key] = int(text)
        elif key in BOOL_PARAMS:
            params[key] = text == "true"
        else:
            params[key] = text
    return params


def _user(user_id: int, language_code: str | None) -> dict[str, Any]:
    """A user as Telegram describes one, with the language of their app if given."""
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
    if language_code is not None:
        user["language_code"] = language_code
    return user


class _Text(HTMLParser):
    """The text of Telegram HTML, as its reader sees it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


class _Entities(HTMLParser):
    """The formatting entities of Telegram HTML: one a tag (bold, italic, a link, ...)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.count = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.count += 1


FOUND = re.compile(r"(?<![\w/])(?:#\w+|\$[A-Z]{1,8}\b|@\w{5,32}|/[a-z]\w*)|https?://\S+")
"""What Telegram makes an entity of by itself in a text: hashtags, cashtags, mentions, bot
commands, links."""


_REMOVED = re.compile("[\r\u2028-\u202e\u030a\u0333\u033f]")
"""What Telegram removes from every text it is sent: line and paragraph separators, bidi
embeddings and overrides, and three combining marks that draw lines (tdlib `clean_input_string`)."""
_SPACES = re.compile(
    "[\x00-\x1f\u1680\u180e\u2000-\u200a\u202f\u205f\u2800\u3000\ufffc\U000e0000-\U000e007f]"
)
"""What Telegram reads as a space in a title (tdlib `strip_empty_characters`): C0 controls,
Unicode's spaces, the blank Braille pattern, the object replacement character, tags."""
_NOTHING = frozenset(" \n\u200b\u200c\u200d\u200e\u200f\ufeff\u00a0")
"""What is left that Telegram counts as nothing: spaces, zero-width characters, direction marks."""


def empty_to_telegram(title: str) -> bool:
    """Whether Telegram takes `title` for an empty one: not only "" but a title of the object
    replacement character (U+FFFC), of zero-width spaces, of combining underlines alone."""
    return all(char in _NOTHING for char in _SPACES.sub(" ", _REMOVED.sub("", title)))


def entities(text: str) -> int:
    """How many entities Telegram makes of an HTML text: one a tag, and one each hashtag, cashtag,
    mention, bot command or link it finds in the text (`FOUND`). It shows the first `MAX_ENTITIES` and drops
    the rest unseen: no error, a link that is no longer one."""
    parser = _Entities()
    parser.feed(text)
    parser.close()
    return parser.count + len(FOUND.findall(shown_text(text)))


def shown_length(text: str, parse_mode: str | None = "HTML") -> int:
    """How long a text is as Telegram holds it to its limit: its HTML parsed, in characters."""
    return len(shown_text(text) if parse_mode == "HTML" else text)


def shown_text(text: str) -> str:
    """The text of Telegram HTML as its reader sees it."""
    parser = _Text()
    parser.feed(text)
    parser.close()
    return "".join(parser.parts)


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>@])")
"""A bot command as Telegram finds it (tdlib `find_bot_commands`): `/`, letters, digits and
underscores, perhaps `@botname`, ended by any other character but a letter, `/`, `<` or `>`:
`/latest\n5` and `/help,` are commands, `/latest-5` is `/latest`, `/latestü` none."""


_URL = re.compile(
    r"(?<![\w@/.-])(?:https?://\S+|(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+([a-z]{2,24})(?::\d{1,5})?(?:/\S*)?)",
    re.IGNORECASE,
)
"""An address as Telegram marks it (a `url` entity): one with `http(s)://`, or a bare host
name with a top-level domain Telegram knows (`_DOMAINS`), perhaps a port and a path
(`bbc.com/news/x`); the punctuation that ends a sentence after it is no part of it."""
_DOMAINS = frozenset("com org net info io news co uk ua ru de fr eu int gov edu me us".split())
"""A few of the top-level domains Telegram's list holds: `file.txt` or `e.g.` is no address."""


def marked_entities(text: str) -> list[dict[str, Any]]:
    """The `bot_command`, `mention` and `url` entities Telegram would attach, in UTF-16
    offsets: a command at the start alone, the one bot commands are read from."""
    entities = []
    if command := _COMMAND.match(text):
        entities.append({"type": "bot_command", "offset": 0, "length": _utf16_length(command.group())})
    offset = 0
    for word in text.split(" "):
        if word.startswith("@") and len(word) > 1:
            entities.append({"type": "mention", "offset": offset, "length": _utf16_length(word)})
        offset += _utf16_length(word) + 1
    for found in _URL.finditer(text):
        address = found.group().rstrip(".,;:!?'\")")
        if found.group(1) is None or found.group(1).lower() in _DOMAINS:
            start = _utf16_length(text[: found.start()])
            entities.append({"type": "url", "offset": start, "length": _utf16_length(address)})
    return sorted(entities, key=lambda entity: entity["offset"])
