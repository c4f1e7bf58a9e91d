"""Storing the channel posts of a Telegram Desktop JSON export (`framewatch import`).

Posts go through the same store path as live posts (bot.ingest.store_posts), in batches of
BATCH_SIZE per transaction: what was committed stays if the file turns out broken later,
and importing the same file again changes nothing. The command's parser and its messages
are in bot/commands/importer.py, which imports this module only when an import runs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import ijson

from bot.ingest import store_posts
from bot.sources.export import ExportError, ExportReader, ExportSource, open_export
from bot.sources.export_messages import MessageReader, SkippedMessage, describe_message
from storage.models import IncomingPost, StoreOutcome
from storage.posts import PostRepository

BATCH_SIZE = 2000
MAX_PROBLEMS_SHOWN = 20

Progress = Callable[[int, int], None]  # (bytes read, file size)


@dataclass
class ImportReport:
    path: Path
    size: int
    outcomes: Counter[StoreOutcome] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> messages
    problems: list[str] = field(default_factory=list)  # the first malformed messages
    chats: dict[int, tuple[str, str, int]] = field(default_factory=dict)  # id: name, type, posts
    local_dates: int = 0  # messages whose date had no zone
    error: str | None = None  # why the import stopped early (what was stored stays)


async def import_export(
    source: ExportSource,
    posts: PostRepository,
    now: datetime,
    reader: MessageReader,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Store every channel post of an export; a fatal error ends it with report.error set."""
    report = ImportReport(path=source.path, size=source.size)
    export = ExportReader(source, one_chat_only=reader.username is not None)
    try:
        # Parsing runs between the writes, not in a thread beside them: the two would fight
        # for the GIL (sqlite3 releases it per row) and the import ran 60% slower.
        for batch in _batches(export, reader, report, batch_size):
            for result in await store_posts(posts, batch, now):
                report.outcomes[result.outcome] += 1
            if progress is not None:
                progress(source.bytes_read, source.size)
        if progress is not None:
            progress(source.bytes_read, source.size)  # the end, after the last read
    except _BROKEN_JSON as exc:
        report.error = describe_json_error(source.path, exc, source.chunk_start)
    except ExportError as exc:
        report.error = str(exc)
    report.local_dates = reader.local_dates
    if report.error is None and not export.found_a_chat():
        report.error = (
            f"{source.path}: no chat found. Expected the result.json of a Telegram Desktop "
            "export in JSON (Settings > Advanced > Export Telegram data, format: JSON)"
        )
    return report


def _batches(
    export: ExportReader, reader: MessageReader, report: ImportReport, size: int
) -> Iterator[list[IncomingPost]]:
    """Posts in batches; skipped messages are counted as they are read."""
    batch: list[IncomingPost] = []
    try:
        for chat, message in export.messages():
            try:
                post = reader.post(message, chat)
            except SkippedMessage as skip:
                report.skipped[skip.reason] += 1
                if skip.problem and len(report.problems) < MAX_PROBLEMS_SHOWN:
                    report.problems.append(f"{describe_message(message, chat)}: {skip.reason}")
                continue
            name, kind, count = report.chats.get(post.chat_id, (chat.name, chat.type or "", 0))
            report.chats[post.chat_id] = (name, kind, count + 1)
            batch.append(post)
            if len(batch) >= size:
                yield batch
                batch = []
    except (*_BROKEN_JSON, ExportError):
        # The messages read before the broken part are complete and valid: keep them.
        if batch:
            yield batch
        raise
    if batch:
        yield batch


# ijson's C parser raises UnicodeDecodeError for a string escaping a lone surrogate
# ("\ud800"), which is invalid JSON text too.
_BROKEN_JSON = (ijson.JSONError, UnicodeDecodeError)


def describe_json_error(path: Path, exc: Exception, chunk_start: int) -> str:
    """Where and why the JSON is broken, and what to do."""
    reason: object = exc.args[0] if exc.args else b""
    if isinstance(exc, UnicodeDecodeError):
        reason = f"a string holds an invalid character ({exc.reason})"
    if isinstance(reason, bytes):
        reason = reason.decode("utf-8", "replace")
    reason = (str(reason).strip().splitlines() or ["malformed JSON"])[0]
    offset, line = _locate_json_error(path, chunk_start)
    with path.open("rb") as file:
        file.seek(max(0, offset - 30))
        near = file.read(60).decode("utf-8", "replace")
    if "premature EOF" in reason:
        reason += " (the file ends early: was it copied or downloaded completely?)"
    return (
        f"{path} is not valid JSON at byte {offset} (line {line}): {reason}; near {near!r}. "
        "The posts before that point were stored; fix or re-export the file and import it "
        "again (stored posts are not duplicated)"
    )


def _locate_json_error(path: Path, chunk_start: int) -> tuple[int, int]:
    """(byte offset, line) where a fresh parser fails: the file is parsed again in chunks
    up to the chunk that failed, then byte by byte. One more pass, only for broken files."""
    sink = ijson.utils.sendable_list()
    parser = ijson.basic_parse_coro(sink)
    line = 1
    with open_export(path) as source:
        while source.bytes_read < chunk_start:
            data = source.read(min(64 * 1024, chunk_start - source.bytes_read))
            parser.send(data)  # parsed once already without failing
            line += data.count(b"\n")
            del sink[:]
        while byte := source.read(1):
            try:
                parser.send(byte)
            except _BROKEN_JSON:
                return source.chunk_start, line
            line += byte == b"\n"
            del sink[:]
        return source.bytes_read, line  # the parser wanted more: the file ends too early
