"""In-process emulator of the Telegram Bot API server for end-to-end tests of the bot.

Run the real python-telegram-bot ``Application`` against it::

    with BotAPIEmulator() as emu:
        app = ApplicationBuilder().token(emu.token).base_url(emu.base_url).base_file_url(emu.base_file_url)

Only 127.0.0.1 is ever bound or contacted. Standard library only.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import http.client
import itertools
import json
import mimetypes
import re
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

from telegram.ext import Application

JSON = dict[str, Any]

BOT_USER: JSON = {"id": 999, "is_bot": True, "first_name": "Newsdesk", "username": "newsdesk_test_bot"}
MAX_TEXT_LENGTH, MAX_CAPTION_LENGTH = 4096, 1024
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
POLLING_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)
CHAT_ACTIONS = {
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
}  # fmt: skip
# HTML tag -> MessageEntity type, for the tags Telegram accepts.
_TAG_TYPES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "a": "text_link",
    "code": "code", "pre": "pre", "span": "spoiler", "tg-spoiler": "spoiler",
    "blockquote": "blockquote", "tg-emoji": "custom_emoji",
}  # fmt: skip
# How form-encoded parameters are typed (nested objects arrive JSON-encoded); the rest stay strings.
_JSON_FIELDS = {
    "reply_markup", "reply_parameters", "link_preview_options", "commands", "scope", "entities",
    "caption_entities", "allowed_updates", "media", "results", "button",
}  # fmt: skip
MAX_BUTTONS, MAX_CALLBACK_DATA, MAX_INLINE_RESULTS = 100, 64, 50
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_INT_FIELDS = {
    "chat_id", "message_id", "offset", "limit", "user_id", "reply_to_message_id", "max_connections",
    "cache_time",
}  # fmt: skip
_BOOL_FIELDS = {
    "disable_web_page_preview", "drop_pending_updates", "allow_sending_without_reply", "show_alert",
    "is_personal",
}  # fmt: skip
_REQUIRED_ATTRS = {"a": ("href", ""), "span": ("class", "tg-spoiler"), "tg-emoji": ("emoji-id", "")}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_TAG_RE = re.compile(r"<(/?)([^\s>]*)\s*")
_ATTR_RE = re.compile(r"""([^\s=>]+)\s*(?:=\s*("[^"]*"|'[^']*'|[^\s>]*)\s*)?""")
_AUTO_ENTITY_RE = re.compile(
    r"(?P<bot_command>(?<![\w/@])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?)"
    r"|(?P<url>\bhttps?://[^\s<>\"]*[^\s<>\".,;:!?)\]'])"
    r"|(?P<mention>(?<![\w@])@[A-Za-z0-9_]{4,32})"
)


class ApiError(Exception):
    """An error answered to the bot as a Telegram-shaped ``{"ok": false, ...}`` body."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters

    def body(self) -> bytes:
        """The JSON body Telegram would send for this error."""
        payload: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        return json.dumps({**payload, "parameters": self.parameters} if self.parameters else payload).encode()


class EntityParseError(ValueError):
    """Raised by :func:`parse_html` for markup Telegram would refuse."""


@dataclass
class Upload:
    """A file part received in a multipart/form-data request."""

    filename: str
    content: bytes
    content_type: str


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def auto_entities(text: str) -> list[JSON]:
    """Entities Telegram detects by itself in user messages: bot_command, mention and url."""
    return [
        {"type": m.lastgroup, "offset": utf16_len(text[: m.start()]), "length": utf16_len(m.group())}
        for m in _AUTO_ENTITY_RE.finditer(text)
    ]


def _byte_offset(src: str, pos: int) -> int:
    """UTF-8 byte offset of character ``pos``, as used in Telegram's parse errors."""
    return len(src[:pos].encode("utf-8"))


def _unescape(src: str, start: int, end: int) -> str:
    """Decode the HTML entities Telegram supports in ``src[start:end]``; reject a bare ``&``."""
    out, i = [], start
    while (amp := src.find("&", i, end)) >= 0:
        out.append(src[i:amp])
        m = _ENTITY_RE.match(src, amp, end)
        code = 0
        if m is not None:
            code = ord(_NAMED_ENTITIES[m[1]]) if m[1] else int(m[2], 10) if m[2] else int(m[3], 16)
        if m is None or not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            at = _byte_offset(src, amp)
            raise EntityParseError(f'Character "&" at byte offset {at} must be escaped as "&amp;"')
        out.append(chr(code))
        i = m.end()
    return "".join([*out, src[i:end]])


def parse_html(src: str) -> tuple[str, list[JSON]]:
    """Parse Telegram-flavoured HTML strictly into (visible text, entities), like Bot API parse_mode=HTML."""
    visible: list[str] = []
    stack: list[tuple[str, dict[str, str], int]] = []
    entities: list[JSON] = []
    i = utf16 = 0
    while i < len(src):
        j = src.find("<", i)
        j = len(src) if j < 0 else j
        chunk = _unescape(src, i, j)
        visible.append(chunk)
        utf16 += utf16_len(chunk)
        if j == len(src):
            break
        tag_match = _TAG_RE.match(src, j)
        assert tag_match is not None  # the pattern matches any "<"
        at, tag, k = _byte_offset(src, j), tag_match[2].lower(), tag_match.end()
        if tag_match[1]:  # end tag
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {at}")
            if src[k : k + 1] != ">":
                raise EntityParseError(f"Unclosed end tag at byte offset {at}")
            name, attrs, start = stack.pop()
            if tag and tag != name:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {at}, expected "</{name}>", found "</{tag}>"'
                )
            language = attrs.get("class", "").removeprefix("language-") if name == "code" else ""
            if language and stack and stack[-1][0] == "pre" and stack[-1][2] == start:
                stack[-1][1]["language"] = language  # <pre><code class="language-x"> is one pre entity
            elif utf16 > start:
                entities.append(_make_entity(name, attrs, start, utf16 - start))
            i = k + 1
            continue
        if k >= len(src):
            raise EntityParseError(f"Unclosed start tag at byte offset {at}")
        if tag not in _TAG_TYPES:
            raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {at}')
        attrs = {}
        while src[k : k + 1] != ">":
            attr = _ATTR_RE.match(src, k)
            if attr is None:
                raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {at}')
            key, value, k = attr[1].lower(), attr[2], attr.end()
            if value is None and not (tag == "blockquote" and key == "expandable"):
                what = f'an attribute of the tag "{tag}" at byte offset {at}'
                raise EntityParseError(f"Expected equal sign in declaration of {what}")
            value_at = _byte_offset(src, attr.start(2))
            if value and value[0] in "'\"" and (len(value) < 2 or value[-1] != value[0]):
                raise EntityParseError(f"Unclosed end of attribute value at byte offset {value_at}")
            if value and value[0] in "'\"":
                attrs[key] = _unescape(src, attr.start(2) + 1, attr.end(2) - 1)
            elif value and not re.fullmatch(r"[A-Za-z0-9.-]+", value):
                raise EntityParseError(f"Unexpected end of name token at byte offset {value_at}")
            else:
                attrs[key] = (value or "").lower()
        required, expected = _REQUIRED_ATTRS.get(tag, ("", ""))
        if required and (not attrs.get(required) or expected not in ("", attrs[required])):
            what = f'class "{expected}"' if expected else f'attribute "{required}"'
            raise EntityParseError(f'Tag "{tag}" must have {what} at byte offset {at}')
        stack.append((tag, attrs, utf16))
        i = k + 1
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return "".join(visible), sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def _make_entity(tag: str, attrs: dict[str, str], offset: int, length: int) -> JSON:
    """Build the MessageEntity for a closed HTML tag."""
    entity: JSON = {"type": _TAG_TYPES[tag], "offset": offset, "length": length}
    if tag == "a":
        entity["url"] = attrs["href"]
    elif tag == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    elif tag == "tg-emoji":
        entity["custom_emoji_id"] = attrs["emoji-id"]
    elif tag == "pre" and attrs.get("language"):
        entity["language"] = attrs["language"]
    return entity


def _coerce(key: str, value: Any) -> Any:
    """Type a form-encoded parameter the way Telegram reads it (nested objects arrive as JSON)."""
    if not isinstance(value, str):
        return value
    if key in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError as exc:
            raise ApiError(400, f"Bad Request: can't parse {key} JSON object") from exc
    if key in _INT_FIELDS and re.fullmatch(r"-?\d+", value):
        return int(value)
    if key in _BOOL_FIELDS and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _parse_multipart(body: bytes, content_type: str) -> dict[str, Any]:
    """Split a multipart/form-data body into text fields and :class:`Upload` parts."""
    boundary = re.search(r'boundary="?([^";]+)"?', content_type)
    if boundary is None:
        raise ApiError(400, "Bad Request: multipart boundary is missing")
    fields: dict[str, Any] = {}
    for part in (b"\r\n" + body).split(b"\r\n--" + boundary[1].encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.partition(b"\r\n\r\n")
        lines = [line.partition(":") for line in head.decode("utf-8", "replace").split("\r\n")]
        headers = {key.strip().lower(): value.strip() for key, _, value in lines}
        disposition = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', headers.get("content-disposition", "")))
        if "filename" in disposition:
            kind = headers.get("content-type", "application/octet-stream")
            fields[disposition.get("name", "")] = Upload(unquote(disposition["filename"]), content, kind)
        else:
            fields[disposition.get("name", "")] = content.decode("utf-8")
    return fields


class _Handler(BaseHTTPRequestHandler):
    """HTTP front-end: routes /bot<token>/<method> and /file/bot<token>/<path> to the emulator."""

    protocol_version = "HTTP/1.1"
    emulator: BotAPIEmulator

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def do_GET(self) -> None:
        """Serve a GET request."""
        self._handle(b"")

    def do_POST(self) -> None:
        """Serve a POST request."""
        self._handle(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def _handle(self, body: bytes) -> None:
        """Dispatch one request and write the response."""
        url = urlsplit(self.path)
        path, ctype = unquote(url.path), "application/json"  # PTB percent-encodes file URLs, token included
        content_type = self.headers.get("Content-Type", "")
        kind = content_type.split(";")[0].strip().lower()
        try:
            if file_match := re.fullmatch(r"/file/bot([^/]+)/(.+)", path):
                status, data = 200, self.emulator._serve_file(file_match[1], file_match[2])
                ctype = "application/octet-stream"
            elif method_match := re.fullmatch(r"/bot([^/]+)/([A-Za-z_]+)/?", path):
                raw: dict[str, Any] = dict(parse_qsl(url.query, keep_blank_values=True))
                if kind == "application/json" and body:
                    raw.update(json.loads(body))
                elif kind == "application/x-www-form-urlencoded":
                    raw.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
                elif kind == "multipart/form-data":
                    raw.update(_parse_multipart(body, content_type))
                status, data = 200, self.emulator._dispatch(method_match[1], method_match[2], raw)
            else:
                raise ApiError(404, "Not Found")
        except ApiError as exc:
            status, data, ctype = exc.code, exc.body(), "application/json"
        except ValueError as exc:  # undecodable body
            status, data, ctype = 400, ApiError(400, f"Bad Request: {exc}").body(), "application/json"
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up, e.g. a cancelled long poll
            self.close_connection = True


class BotAPIEmulator:
    """A fake Telegram Bot API server on 127.0.0.1 with a thread-safe test-side API."""

    def __init__(self, token: str = "123456:TEST-token") -> None:
        self.token = token
        self.port: int | None = None
        self.calls: defaultdict[str, list[JSON]] = defaultdict(list)
        self.webhook: JSON = {"url": "", "secret_token": None, "allowed_updates": None, "max_connections": 40}
        self._cond = threading.Condition(threading.RLock())  # guards all state; notified on every change
        self._server: ThreadingHTTPServer | None = None
        self._closing = False
        self._updates: list[JSON] = []
        self._update_ids, self._file_ids = itertools.count(1), itertools.count(1)
        self._poll_generation = 0
        self._chats: dict[int, JSON] = {}
        self._last_message_id: defaultdict[int, int] = defaultdict(int)
        self._messages: dict[tuple[int, Any], JSON] = {}  # (chat_id, message_id) -> Message
        self._records: dict[tuple[int, Any], JSON] = {}  # same key -> test-side record of a bot message
        self._files: dict[str, JSON] = {}
        self._actions: defaultdict[int, list[str]] = defaultdict(list)
        self._commands: dict[str, list[JSON]] = {}
        self._faults: defaultdict[str, list[ApiError]] = defaultdict(list)
        self._queries: dict[str, JSON] = {}  # callback and inline query id -> what the bot answered (or {})
        self._query_ids = itertools.count(1)
        self._methods = {name[5:].lower(): name[5:] for name in dir(self) if name.startswith("_api_")}

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> BotAPIEmulator:
        """Bind an ephemeral port on 127.0.0.1 and serve from a daemon thread."""
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_Handler,), {"emulator": self}))
        self._server.daemon_threads, self._server.block_on_close = True, False
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        """Release pending long polls and shut the server down."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> BotAPIEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """Value for ``ApplicationBuilder().base_url`` (PTB appends the token)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for ``ApplicationBuilder().base_file_url`` (PTB appends the token)."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    # ------------------------------------------------------------ test-side API
    def fail_next(
        self,
        method: str,
        error_code: int = 429,
        retry_after: int = 1,
        description: str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail (default: 429 "retry after")."""
        if description is None:
            defaults = {400: "Bad Request", 403: "Forbidden: bot was blocked by the user"}
            defaults[429] = f"Too Many Requests: retry after {retry_after}"
            description = defaults.get(error_code, "Internal Server Error")
        params = {"retry_after": retry_after} if error_code == 429 else None
        with self._cond:
            self._faults[method.lower()] += [ApiError(error_code, description, params) for _ in range(times)]

    def send_user_message(
        self,
        text: str,
        chat_id: int | None = None,
        user_id: int = 1001,
        chat_type: str = "private",
        username: str | None = "alice",
        first_name: str = "Alice",
        reply_to_message_id: int | None = None,
        entities: list[JSON] | None = None,
        chat_title: str = "Newsdesk Test Group",
        queue: bool = True,
    ) -> JSON:
        """Queue (unless ``queue=False``) an Update with a user's text message and return the Update."""
        with self._cond:
            chat, user = self._user_chat(chat_id, user_id, chat_type, username, first_name, chat_title)
            if reply_to_message_id is not None and (chat["id"], reply_to_message_id) not in self._messages:
                raise ValueError(f"no message {reply_to_message_id} in chat {chat['id']} to reply to")
            reply = self._messages.get((chat["id"], reply_to_message_id or 0))
            found = auto_entities(text) if entities is None else entities
            fields = {"text": text, **({"entities": found} if found else {})}
            return self._enqueue({"message": self._new_message(chat, user, reply, fields)}, queue)

    def send_user_document(
        self,
        filename: str,
        content: bytes,
        caption: str | None = None,
        chat_id: int | None = None,
        user_id: int = 1001,
        chat_type: str = "private",
        username: str | None = "alice",
        first_name: str = "Alice",
        mime_type: str | None = None,
        chat_title: str = "Newsdesk Test Group",
        queue: bool = True,
    ) -> JSON:
        """Store a file and queue an Update with a user's document message; return the Update."""
        with self._cond:
            chat, user = self._user_chat(chat_id, user_id, chat_type, username, first_name, chat_title)
            fields: JSON = {"document": self._document(self._store_file(filename, content, mime_type))}
            if caption is not None:
                found = auto_entities(caption)
                fields.update(caption=caption, **({"caption_entities": found} if found else {}))
            return self._enqueue({"message": self._new_message(chat, user, None, fields)}, queue)

    def press_button(self, chat_id: int, message_id: int, data: str, user_id: int = 1001) -> str:
        """Queue a callback query, as when a user presses an inline button of a bot message; return its id.

        The message must hold a button with that callback data, as in Telegram.
        """
        with self._cond:
            message = self._messages.get((chat_id, message_id))
            if message is None:
                raise ValueError(f"no message {message_id} in chat {chat_id}")
            rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
            if data not in [button.get("callback_data") for row in rows for button in row]:
                raise ValueError(f"message {message_id} has no button with callback data {data!r}")
            chat = self._chats.get(chat_id, {"id": chat_id, "type": "private"})
            user = {"id": user_id, "is_bot": False, "first_name": "Alice", "language_code": "en"}
            if chat.get("type") == "private":
                user = {**user, "id": chat_id}
            query_id = str(next(self._query_ids))
            self._queries[query_id] = {}
            query = {
                "id": query_id,
                "from": user,
                "message": copy.deepcopy(message),
                "chat_instance": f"ci{chat_id}",
                "data": data,
            }
            self._enqueue({"callback_query": query}, True)
            return query_id

    def send_inline_query(self, query: str, user_id: int = 1001) -> str:
        """Queue an inline query (`@bot query` typed in any chat); return its id."""
        with self._cond:
            query_id = str(next(self._query_ids))
            self._queries[query_id] = {}
            user = {"id": user_id, "is_bot": False, "first_name": "Alice", "language_code": "en"}
            self._enqueue(
                {
                    "inline_query": {
                        "id": query_id,
                        "from": user,
                        "query": query,
                        "offset": "",
                        "chat_type": "private",
                    }
                },
                True,
            )
            return query_id

    def answer_to(self, query_id: str) -> JSON:
        """What the bot answered to a callback or inline query ({} while unanswered)."""
        with self._cond:
            return copy.deepcopy(self._queries[query_id])

    def send_channel_post(
        self,
        text: str | None,
        chat_id: int = -1002000000001,
        username: str | None = "harbourdesk",
        title: str = "Harbour Desk",
        caption: str | None = None,
        date: int | None = None,
    ) -> JSON:
        """Queue a channel post (text, or a caption of a photo); return the Update."""
        with self._cond:
            chat: JSON = {"id": chat_id, "type": "channel", "title": title}
            if username:
                chat["username"] = username
            self._chats[chat_id] = chat
            fields: JSON = {"sender_chat": dict(chat)}
            if text is not None:
                found = auto_entities(text)
                fields.update(text=text, **({"entities": found} if found else {}))
            if caption is not None:
                fields.update(
                    caption=caption,
                    photo=[{"file_id": "p1", "file_unique_id": "u1", "width": 1, "height": 1}],
                )
            message = self._new_message(chat, {}, None, fields)
            del message["from"]  # channel posts have no sender user
            if date is not None:
                message["date"] = date
            return self._enqueue({"channel_post": message}, True)

    def edit_channel_post(self, chat_id: int, message_id: int, text: str) -> JSON:
        """Queue an edit of a channel post; return the Update."""
        with self._cond:
            message = self._messages[(chat_id, message_id)]
            message.update(text=text, edit_date=int(time.time()))
            return self._enqueue({"edited_channel_post": message}, True)

    def sent_messages(self, chat_id: int | None = None) -> list[JSON]:
        """Current state of the bot's non-deleted messages, oldest first, optionally for one chat."""
        with self._cond:
            records = self._records.values()
            return [copy.deepcopy(r) for r in records if not r["deleted"] and chat_id in (None, r["chat_id"])]

    def chat_actions(self, chat_id: int) -> list[str]:
        """Chat actions (``typing``...) the bot sent to ``chat_id``, in order."""
        with self._cond:
            return list(self._actions[chat_id])

    def pending_updates(self) -> list[JSON]:
        """Updates queued and not yet confirmed by the bot through ``offset``."""
        with self._cond:
            return copy.deepcopy(self._updates)

    def wait_until(self, predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
        """Block until ``predicate()`` is truthy (re-checked on every state change) and return its value."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not (result := predicate()):
                if (remaining := deadline - time.monotonic()) <= 0:
                    sent = [(r["chat_id"], r["message_id"], r["text"][:100]) for r in self._records.values()]
                    calls = {method: len(params) for method, params in self.calls.items()}
                    raise TimeoutError(
                        f"timed out after {timeout}s waiting for {what}; "
                        f"bot messages (chat, id, text): {sent}; calls: {calls}"
                    )
                self._cond.wait(remaining)
            return result

    def wait_for_messages(self, chat_id: int, count: int = 1, timeout: float = 10.0) -> list[JSON]:
        """Block until chat ``chat_id`` holds at least ``count`` bot messages; return them all."""
        return self.wait_until(
            lambda: msgs if len(msgs := self.sent_messages(chat_id)) >= count else None,
            timeout,
            f"{count} bot message(s) in chat {chat_id}",
        )

    def wait_for_call(self, method: str, count: int = 1, timeout: float = 10.0) -> list[JSON]:
        """Block until ``method`` was called at least ``count`` times; return the params received."""
        return self.wait_until(
            lambda: calls if len(calls := list(self.calls.get(method, ()))) >= count else None,
            timeout,
            f"{count} call(s) of {method}",
        )

    def post_update_to_webhook(self, update: JSON, url: str | None = None, timeout: float = 10.0) -> int:
        """POST ``update`` to the (local, http) webhook with the secret header; return the HTTP status."""
        with self._cond:
            target, secret = url or self.webhook["url"], self.webhook["secret_token"]
        parts = urlsplit(target or "")
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError(f"refusing to POST to {target!r}: only http://127.0.0.1 webhooks are supported")
        headers = {"Content-Type": "application/json"}
        if secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        conn = http.client.HTTPConnection("127.0.0.1", parts.port or 80, timeout=timeout)
        try:
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            conn.request("POST", path, body=json.dumps(update).encode(), headers=headers)
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()

    # --------------------------------------------------------------- internals
    def _user_chat(
        self,
        chat_id: int | None,
        user_id: int,
        chat_type: str,
        username: str | None,
        first_name: str,
        title: str,
    ) -> tuple[JSON, JSON]:
        """Build (and remember) the chat and the user of an injected message."""
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"}
        if chat_type == "private":
            chat: JSON = {"id": user_id if chat_id is None else chat_id, "type": "private"}
            chat["first_name"] = first_name
        elif chat_type in ("group", "supergroup"):
            default_id = -1001 if chat_type == "group" else -1001000000001
            chat = {"id": default_id if chat_id is None else chat_id, "type": chat_type, "title": title}
        else:
            raise ValueError(f"unsupported chat_type {chat_type!r}")
        if username:
            user["username"] = username
            if chat_type == "private":
                chat["username"] = username
        self._chats[chat["id"]] = chat
        return chat, user

    def _new_message(self, chat: JSON, sender: JSON, reply: JSON | None, fields: JSON) -> JSON:
        """Allocate the next message id in ``chat`` and store the new Message."""
        self._last_message_id[chat["id"]] += 1
        mid = self._last_message_id[chat["id"]]
        message = {"message_id": mid, "from": dict(sender), "chat": dict(chat), "date": int(time.time())}
        if reply is not None:  # Telegram embeds the replied-to message one level deep
            message["reply_to_message"] = {k: v for k, v in reply.items() if k != "reply_to_message"}
        message.update(fields)
        self._messages[(chat["id"], mid)] = message
        return message

    def _enqueue(self, payload: JSON, queue: bool) -> JSON:
        """Wrap ``payload`` in an Update, queue it for getUpdates if asked, and return a copy."""
        update = {"update_id": next(self._update_ids), **copy.deepcopy(payload)}
        if queue:
            self._updates.append(update)
            self._cond.notify_all()
        return copy.deepcopy(update)

    def _store_file(self, filename: str, content: bytes, mime_type: str | None) -> JSON:
        """Store file bytes and return their metadata (file_id, file_unique_id, file_size, file_path...)."""
        n, ext = next(self._file_ids), filename.rsplit(".", 1)[-1] if "." in filename else "bin"
        stored: JSON = {"file_id": f"BQACAgIAAxkBAAI{n:06d}", "file_unique_id": f"AgAD{n:06d}"}
        stored["file_name"] = filename
        mime_type = mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        stored.update(file_size=len(content), file_path=f"documents/file_{n}.{ext}", mime_type=mime_type)
        self._files[stored["file_id"]] = {**stored, "content": content}
        return stored

    @staticmethod
    def _document(stored: JSON) -> JSON:
        """The Document object for a stored file."""
        return {k: stored[k] for k in ("file_name", "mime_type", "file_id", "file_unique_id", "file_size")}

    def _serve_file(self, token: str, path: str) -> bytes:
        """Content for GET /file/bot<token>/<path>."""
        if token != self.token:
            raise ApiError(401, "Unauthorized")
        with self._cond:
            found = [f["content"] for f in self._files.values() if f["file_path"] == path]
        if not found:
            raise ApiError(404, "Not Found")
        return found[0]

    def _dispatch(self, token: str, method: str, raw: JSON) -> bytes:
        """Record one Bot API call, apply faults, run it and return the ``{"ok": true}`` body."""
        if token != self.token:
            raise ApiError(401, "Unauthorized")
        name = self._methods.get(method.lower(), method)
        with self._cond:
            params, bad_param = dict(raw), None
            try:
                params = {key: _coerce(key, value) for key, value in raw.items()}
            except ApiError as exc:
                bad_param = exc
            self.calls[name].append(params)
            self._cond.notify_all()
            if bad_param is not None:
                raise bad_param
            if self._faults.get(name.lower()):
                raise self._faults[name.lower()].pop(0)
            handler = getattr(self, f"_api_{name}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            result = handler(params)
            self._cond.notify_all()
            return json.dumps({"ok": True, "result": result}, ensure_ascii=False).encode()

    def _chat(self, chat_id: Any) -> JSON:
        """Resolve the target chat of a bot call; unknown numeric ids are created on the fly."""
        if chat_id is None or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if not isinstance(chat_id, int):
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id not in self._chats:
            kind = "private" if chat_id > 0 else "supergroup" if str(chat_id).startswith("-100") else "group"
            name_key = "first_name" if kind == "private" else "title"
            self._chats[chat_id] = {"id": chat_id, "type": kind, name_key: f"Chat {chat_id}"}
        return self._chats[chat_id]

    def _format(self, params: JSON, key: str) -> tuple[str, list[JSON]]:
        """Validate ``params[key]`` (text or caption) like Telegram; return (visible text, entities)."""
        raw, mode = str(params.get(key) or ""), str(params.get("parse_mode") or "").lower()
        if mode == "html":
            try:
                visible, found = parse_html(raw)
            except EntityParseError as exc:
                raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from exc
        elif mode in ("", "markdown", "markdownv2"):  # Markdown is passed through unparsed
            visible = raw
            found = list(params.get("caption_entities" if key == "caption" else "entities") or [])
        else:
            raise ApiError(400, "Bad Request: unsupported parse_mode")
        if key == "caption" and len(visible) > MAX_CAPTION_LENGTH:
            raise ApiError(400, "Bad Request: message caption is too long")
        if key == "text" and not visible.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if key == "text" and len(visible) > MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        return visible, found

    def _bot_message(self, params: JSON, fields: JSON, document: JSON | None) -> JSON:
        """Store a message sent by the bot with its test-side record; return the Message."""
        chat = self._chat(params.get("chat_id"))
        reply_params = params.get("reply_parameters") or {}
        reply_id = reply_params.get("message_id", params.get("reply_to_message_id"))
        reply = self._messages.get((chat["id"], reply_id))
        allow_missing = params.get("allow_sending_without_reply")
        if (
            reply_id is not None
            and reply is None
            and not reply_params.get("allow_sending_without_reply", allow_missing)
        ):
            raise ApiError(400, "Bad Request: message to be replied not found")
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            _check_keyboard(markup)
            fields["reply_markup"] = markup
        message = self._new_message(chat, BOT_USER, reply, fields)
        preview = params.get("link_preview_options") or {}
        preview_off = params.get("disable_web_page_preview") or preview.get("is_disabled")
        self._records[(chat["id"], message["message_id"])] = {
            "chat_id": chat["id"],
            "message_id": message["message_id"],
            "text": fields.get("text", fields.get("caption", "")),
            "raw_text": str(params.get("text", params.get("caption")) or ""),
            "parse_mode": params.get("parse_mode"),
            "entities": fields.get("entities", fields.get("caption_entities", [])),
            "reply_markup": markup,
            "reply_to_message_id": reply["message_id"] if reply else None,
            "link_preview_disabled": bool(preview_off),
            "document": document,
            "edits": 0,
            "deleted": False,
            "message": message,
        }
        return message

    # ------------------------------------------------- Bot API methods (_api_<name>)
    def _api_getMe(self, params: JSON) -> JSON:
        return {**BOT_USER, "can_join_groups": True, "can_read_all_group_messages": False}

    def _api_getUpdates(self, params: JSON) -> list[JSON]:
        if self.webhook["url"]:
            raise ApiError(409, WEBHOOK_CONFLICT)
        offset, limit = params.get("offset") or 0, min(max(params.get("limit") or 100, 1), 100)
        deadline = time.monotonic() + max(float(params.get("timeout") or 0), 0.0)
        self._poll_generation += 1  # a newer getUpdates terminates an older one, like Telegram
        generation = self._poll_generation
        self._cond.notify_all()
        if offset > 0:  # confirm (drop) every update below offset
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:  # keep only the last -offset updates
            self._updates = self._updates[offset:]
        while not self._updates and not self._closing and (remaining := deadline - time.monotonic()) > 0:
            self._cond.wait(remaining)
            if generation != self._poll_generation:
                raise ApiError(409, POLLING_CONFLICT)
        return copy.deepcopy(self._updates[:limit])

    def _api_sendMessage(self, params: JSON) -> JSON:
        visible, found = self._format(params, "text")
        return self._bot_message(params, {"text": visible, **({"entities": found} if found else {})}, None)

    def _api_editMessageText(self, params: JSON) -> JSON:
        key = (self._chat(params.get("chat_id"))["id"], params.get("message_id"))
        record = self._records.get(key)
        if record is None or record["deleted"]:
            problem = "can't be edited" if key in self._messages else "to edit not found"
            raise ApiError(400, f"Bad Request: message {problem}")
        if record["document"] is not None:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        visible, found_entities = self._format(params, "text")
        markup = params.get("reply_markup")
        inline = markup if isinstance(markup, dict) and "inline_keyboard" in markup else None
        if inline is not None:
            _check_keyboard(inline)
        message = record["message"]
        current = (message["text"], message.get("entities", []), message.get("reply_markup"))
        if (visible, found_entities, inline) == current:
            raise ApiError(400, NOT_MODIFIED)
        message.update(text=visible, edit_date=int(time.time()), entities=found_entities, reply_markup=inline)
        for empty in [k for k in ("entities", "reply_markup") if not message[k]]:
            del message[empty]
        record.update(text=visible, raw_text=str(params.get("text")), parse_mode=params.get("parse_mode"))
        record.update(entities=found_entities, reply_markup=markup, edits=record["edits"] + 1)
        return message

    def _api_deleteMessage(self, params: JSON) -> bool:
        key = (self._chat(params.get("chat_id"))["id"], params.get("message_id"))
        if self._messages.pop(key, None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        if key in self._records:
            self._records[key]["deleted"] = True
        return True

    def _api_sendChatAction(self, params: JSON) -> bool:
        chat = self._chat(params.get("chat_id"))
        if params.get("action") not in CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        self._actions[chat["id"]].append(params["action"])
        return True

    def _api_sendDocument(self, params: JSON) -> JSON:
        document = params.get("document")
        if isinstance(document, str) and document.startswith("attach://"):
            document = params.get(document.removeprefix("attach://"))
        if isinstance(document, Upload) and document.content:
            stored = self._store_file(document.filename, document.content, document.content_type)
        elif isinstance(document, Upload):
            raise ApiError(400, "Bad Request: file must be non-empty")
        elif isinstance(document, str) and document in self._files:
            stored = self._files[document]
        else:  # the emulator never fetches HTTP URLs
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        fields: JSON = {"document": self._document(stored)}
        if params.get("caption"):
            visible, found = self._format(params, "caption")
            fields.update(caption=visible, **({"caption_entities": found} if found else {}))
        return self._bot_message(params, fields, fields["document"])

    def _api_getFile(self, params: JSON) -> JSON:
        stored = self._files.get(str(params.get("file_id")))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if stored["file_size"] > 20 * 1024 * 1024:
            raise ApiError(400, "Bad Request: file is too big")
        return {k: stored[k] for k in ("file_id", "file_unique_id", "file_size", "file_path")}

    def _api_setMyCommands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[json.dumps([params.get("scope"), params.get("language_code")])] = commands
        return True

    def _api_getMyCommands(self, params: JSON) -> list[JSON]:
        return self._commands.get(json.dumps([params.get("scope"), params.get("language_code")]), [])

    def _api_setWebhook(self, params: JSON) -> bool:
        url, secret = str(params.get("url") or ""), params.get("secret_token")
        if url and urlsplit(url).scheme not in ("http", "https"):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook.update(url=url, secret_token=secret if url else None)
        self.webhook.update(allowed_updates=params.get("allowed_updates"))
        self.webhook["max_connections"] = params.get("max_connections") or 40
        return True

    def _api_deleteWebhook(self, params: JSON) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook.update(url="", secret_token=None)
        return True

    def _api_getWebhookInfo(self, params: JSON) -> JSON:
        info: JSON = {"url": self.webhook["url"], "has_custom_certificate": False}
        info["pending_update_count"] = len(self._updates)
        if self.webhook["url"]:
            info["max_connections"] = self.webhook["max_connections"]
        return info

    def _api_answerCallbackQuery(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id"))
        if self._queries.get(query_id) != {}:  # unknown, or answered already
            raise ApiError(400, QUERY_INVALID)
        if len(str(params.get("text") or "")) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._queries[query_id] = {"text": params.get("text"), "show_alert": bool(params.get("show_alert"))}
        return True

    def _api_editMessageReplyMarkup(self, params: JSON) -> JSON:
        key = (self._chat(params.get("chat_id"))["id"], params.get("message_id"))
        record = self._records.get(key)
        if record is None or record["deleted"]:
            raise ApiError(400, "Bad Request: message to edit not found")
        markup = params.get("reply_markup")
        inline = markup if isinstance(markup, dict) and "inline_keyboard" in markup else None
        if inline is not None:
            _check_keyboard(inline)
        message = record["message"]
        if inline == message.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        if inline:
            message["reply_markup"] = inline
        else:
            message.pop("reply_markup", None)
        record.update(reply_markup=inline, edits=record["edits"] + 1)
        return message

    def _api_answerInlineQuery(self, params: JSON) -> bool:
        query_id = str(params.get("inline_query_id"))
        if self._queries.get(query_id) != {}:
            raise ApiError(400, QUERY_INVALID)
        results = params.get("results")
        if not isinstance(results, list) or len(results) > MAX_INLINE_RESULTS:
            raise ApiError(400, "Bad Request: RESULTS_TOO_MUCH")
        ids = [str(result.get("id", "")) for result in results]
        if any(not 1 <= len(i.encode()) <= 64 for i in ids) or len(set(ids)) != len(ids):
            raise ApiError(400, "Bad Request: RESULT_ID_INVALID")
        for result in results:
            content = result.get("input_message_content") or {}
            if "message_text" in content:
                self._format(
                    {"text": content["message_text"], "parse_mode": content.get("parse_mode")}, "text"
                )
            markup = result.get("reply_markup")
            if isinstance(markup, dict):
                _check_keyboard(markup)
        self._queries[query_id] = {"results": results, "cache_time": params.get("cache_time")}
        return True


def _check_keyboard(markup: JSON) -> None:
    """Refuse an inline keyboard as Telegram does: too many buttons, callback data over 64 bytes,
    a button that is neither a link nor a callback."""
    rows = markup.get("inline_keyboard")
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError(
            400,
            'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays',
        )
    buttons = [button for row in rows for button in row]
    if len(buttons) > MAX_BUTTONS:
        raise ApiError(400, "Bad Request: reply markup is too long")
    for button in buttons:
        if not str(button.get("text") or "").strip():
            raise ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
        data, url = button.get("callback_data"), button.get("url")
        if (data is None) == (url is None):
            raise ApiError(
                400, "Bad Request: can't parse inline keyboard button: exactly one action is needed"
            )
        if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
            raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        if url is not None and urlsplit(str(url)).scheme not in ("http", "https", "tg"):
            raise ApiError(400, "Bad Request: inline keyboard button URL is invalid")


# ----------------------------------------------------------------------------- running a bot

T = TypeVar("T")


def serve(app: Application, script: Callable[[], Awaitable[T]]) -> T:
    """Run `app` with long polling against the emulator while `script` talks to the emulator."""

    async def main() -> T:
        async with running(app):
            return await script()

    return asyncio.run(main())


@contextlib.asynccontextmanager
async def running(app: Application) -> AsyncIterator[Application]:
    """Initialise, start and poll; stop everything on the way out."""
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=1, poll_interval=0)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()
