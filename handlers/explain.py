"""/explain: which framings and terms match a text, and why (filled in by the rules issue)."""

from __future__ import annotations

from handlers.registry import Command

COMMANDS: list[Command] = []
