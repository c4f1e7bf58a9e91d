"""A command as FrameWatch knows it: names, callback, who may use it, how /help shows it."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import Update

from bot.context import Context
from bot.roles import Role

Callback = Callable[[Update, Context], Coroutine[Any, Any, None]]


@dataclass(frozen=True, slots=True)
class Command:
    names: tuple[str, ...]
    callback: Callback
    role: Role  # the least role that may use it; register() enforces it
    usage: str  # HTML, as /help shows it: "/watch &lt;framing&gt; &lt;term&gt;"
    summary: str  # HTML, one line
