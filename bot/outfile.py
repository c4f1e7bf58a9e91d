"""Files the CLI writes (--output, a pack): complete or absent, and only regular files.

The text goes to a new temporary file beside the target (O_EXCL: never an existing file or
a symlink planted under a predictable name), which is renamed over the target once
complete. The target must be missing or a regular file: a rename would replace a symlink,
a FIFO, a device node or a folder's entry instead of writing to it.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, TextIO


class OutputError(ValueError):
    """The target cannot be written; the message says why (one line)."""


def check_target(path: Path) -> int | None:
    """The target's permission bits if it is a regular file, None if it does not exist;
    OutputError for anything else (symlink, FIFO, device, socket, folder)."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(info.st_mode):
        raise OutputError(f"{path} is a symbolic link: give the path of a regular file")
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise OutputError(f"{path} is {kind}: give the path of a regular file")
    return stat.S_IMODE(info.st_mode)


@contextmanager
def atomic_text_file(path: Path) -> Iterator[TextIO]:
    """A text file that replaces `path` when the block ends without an exception.

    OutputError if the target is not a regular file; OSError if writing fails (the
    temporary file is removed and the target is untouched either way).
    """
    with _atomic(path, binary=False) as file:
        yield file


@contextmanager
def atomic_binary_file(path: Path) -> Iterator[BinaryIO]:
    """atomic_text_file for bytes (a chart, a graph file)."""
    with _atomic(path, binary=True) as file:
        yield file


@contextmanager
def text_output(path: str | None) -> Iterator[TextIO]:
    """Standard output when no path is given, else atomic_text_file(path)."""
    if path is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    with atomic_text_file(Path(path)) as file:
        yield file


@contextmanager
def _atomic(path: Path, binary: bool) -> Iterator[Any]:
    mode = check_target(path)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        opened = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")
        with opened as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode if mode is not None else 0o666 & ~_umask())
        check_target(path)  # again: it may have been replaced while we wrote
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell: None empty, booleans as words, and text a spreadsheet would
    run as a formula (CSV injection, OWASP) made text with a leading '. Numbers stay
    numbers, so -5 is still -5."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value
