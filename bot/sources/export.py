"""Telegram Desktop "Export chat history" JSON (result.json), read as a stream.

Both layouts are read in one pass with ijson, so memory does not grow with the file: the
export of one chat ({"name", "type", "id", "messages"}) and the full-account export
({"chats": {"list": [...]}, "left_chats": {"list": [...]}}). Each message of a channel or
supergroup becomes an IncomingPost (source "import"); bot.importing stores them.

Channels and supergroups get their Bot API id (-100<id>), so an import and the bot's own
posts of one channel land in one channel. Other chats (private, bot, basic group, saved
messages) are skipped and counted: they are not channels and have no post links.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import ijson

from bot.sources.json_bounds import BoundedReader, BoundsError

IMPORTED_CHAT_TYPES = frozenset(
    {"public_channel", "private_channel", "public_supergroup", "private_supergroup"}
)
PUBLIC_CHAT_TYPES = frozenset({"public_channel", "public_supergroup"})
_BOT_API_CHANNEL_OFFSET = 1_000_000_000_000
_CHAT_FIELDS = frozenset({"name", "type", "id"})
_FULL_EXPORT_CHATS = ("chats.list.item", "left_chats.list.item")
_IN_FULL_EXPORT_CHAT = ("chats.list.item.", "left_chats.list.item.")


class ExportError(Exception):
    """The file cannot be imported (further); the message says why and what to do."""


def bot_api_chat_id(bare_id: int) -> int:
    """The Bot API id of an exported channel or supergroup: 2447843635 -> -1002447843635.

    bot.links.internal_channel_id is the inverse. An id already in Bot API form is kept.
    """
    return bare_id if bare_id < 0 else -(_BOT_API_CHANNEL_OFFSET + bare_id)


def forward_origin_id(value: object) -> int | None:
    """The Bot API id of an export's `forwarded_from_id` when it names a channel
    ("channel1741241258" -> -1001741241258); users and unknown forms give None."""
    if isinstance(value, str) and value.startswith("channel") and value[7:].isdigit():
        return bot_api_chat_id(int(value[7:]))
    return None


@dataclass
class Chat:
    """A chat of the export, as far as read: its fields come before its messages."""

    name: str = ""
    type: str | None = None
    bare_id: int | None = None

    @property
    def chat_id(self) -> int:
        if self.bare_id is None:
            raise ExportError(
                "the export lists messages before the chat's id: is it a Telegram Desktop "
                "JSON export (result.json)?"
            )
        return bot_api_chat_id(self.bare_id)


class ExportSource:
    """The export file as the parser reads it: counts bytes for progress and errors."""

    def __init__(self, path: Path, file: BinaryIO, size: int) -> None:
        self.path = path
        self.size = size
        self.bytes_read = 0
        self.chunk_start = 0  # where the last chunk handed to the parser began
        self._file = file

    def read(self, n: int = 64 * 1024) -> bytes:
        try:
            data = self._file.read(n)
        except OSError as exc:
            raise ExportError(f"{self.path}: cannot read it ({exc.strerror or exc})") from None
        if self.bytes_read == 0 and data.startswith(b"\xef\xbb\xbf"):
            data, self.bytes_read = data[3:], 3  # a byte order mark some editors add
        self.chunk_start = self.bytes_read
        self.bytes_read += len(data)
        return data

    def rewind(self) -> None:
        self._file.seek(0)
        self.bytes_read = self.chunk_start = 0

    def __enter__(self) -> ExportSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()


def open_export(path: Path) -> ExportSource:
    """The export at path: result.json, or the folder Telegram Desktop saved it in."""
    if path.is_dir():
        path = path / "result.json"
    try:
        # Checked before opening: opening a FIFO would wait for a writer, forever.
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise ExportError(f"{path}: not a regular file; give an export's result.json")
        file = path.open("rb")
        return ExportSource(path, file, os.fstat(file.fileno()).st_size)
    except FileNotFoundError:
        raise ExportError(
            f"{path}: no such file; give the result.json of a Telegram Desktop JSON export"
        ) from None
    except OSError as exc:
        raise ExportError(f"{path}: cannot read it ({exc.strerror or exc})") from None


@dataclass
class ExportReader:
    """Every message of every chat of an export, in one streaming pass."""

    source: ExportSource
    one_chat_only: bool = False  # refuse a full-account export (--username names one chat)
    chats: list[Chat] = field(default_factory=lambda: [Chat()])  # the last is being read
    _bounded: BoundedReader = field(init=False)

    def messages(self) -> Iterator[tuple[Chat, Any]]:
        """ExportError also when the file is beyond json_bounds' limits."""
        try:
            yield from self._messages()
        except BoundsError as exc:
            raise ExportError(
                f"{self.source.path}: {exc.what} at byte {exc.at} (line "
                f"{_line_at(self.source.path, exc.at)}): not a Telegram Desktop export, or a "
                "damaged one; nothing after this point was read"
            ) from None

    def _messages(self) -> Iterator[tuple[Chat, Any]]:
        chat = self._one_chat_head()
        self.source.rewind()
        self._bounded = BoundedReader(self.source)
        if chat is not None:
            # The common case, one chat: ijson builds the messages in C, twice as fast.
            self.chats = [chat]
            self._bounded.message_starts()  # no yield between messages: each is bounded
            for message in ijson.items(self._bounded, "messages.item", use_float=True):
                yield chat, message
                self._bounded.message_starts()
            return
        for message in ijson.items(self._events(), "messages.item"):
            # items() yields a message as soon as its last event is read, before the
            # next chat's fields: chats[-1] is the chat it belongs to.
            yield self.chats[-1], message

    def _one_chat_head(self) -> Chat | None:
        """The fields of a one-chat export, read up to its messages; None for the other
        layout, or when a field comes after the messages."""
        chat = Chat()
        for prefix, event, value in ijson.parse(BoundedReader(self.source), use_float=True):
            if prefix in _CHAT_FIELDS and event in ("string", "number", "null"):
                _set_chat_field(chat, prefix, value)
            elif prefix == "messages" and event == "start_array":
                return chat if chat.bare_id is not None and chat.type is not None else None
            elif prefix == "" and event == "map_key" and value in ("chats", "left_chats"):
                return None
        return None

    def found_a_chat(self) -> bool:
        return any(chat.bare_id is not None or chat.type for chat in self.chats)

    def _events(self) -> Iterator[tuple[str, str, Any]]:
        for prefix, event, value in ijson.parse(self._bounded, use_float=True):
            if prefix.startswith(_IN_FULL_EXPORT_CHAT):
                # A chat of a full export reads like a one-chat export from here on.
                prefix = prefix.partition(".item.")[2]
            elif prefix in _FULL_EXPORT_CHATS and event == "start_map":
                if self.one_chat_only:
                    raise ExportError(
                        "--username names the channel of a one-chat export, but this is a "
                        "full-account export with many chats: import it without --username"
                    )
                self.chats.append(Chat())
            if prefix in _CHAT_FIELDS and event in ("string", "number", "null"):
                _set_chat_field(self.chats[-1], prefix, value)
            elif prefix == "messages.item":  # only messages are built as objects: bound them
                if event in ("start_map", "start_array"):
                    self._bounded.message_starts()
                elif event in ("end_map", "end_array"):
                    self._bounded.message_ends()
            yield prefix, event, value


def _line_at(path: Path, offset: int) -> int:
    """The line of a byte offset, read again from the file: for error messages only."""
    line, done = 1, 0
    with path.open("rb") as file:
        while done < offset and (chunk := file.read(min(1 << 20, offset - done))):
            line += chunk.count(b"\n")
            done += len(chunk)
    return line


def _set_chat_field(chat: Chat, name: str, value: Any) -> None:
    if name == "name":
        chat.name = value if isinstance(value, str) else ""
    elif name == "type":
        chat.type = value if isinstance(value, str) else None
    elif isinstance(value, int) and not isinstance(value, bool):
        chat.bare_id = value
