"""Followed public channels (/follow, /unfollow) and their poll job (the sources issue)."""

from __future__ import annotations

from typing import Any

from telegram.ext import JobQueue

from handlers.registry import Command

COMMANDS: list[Command] = []


def schedule(job_queue: JobQueue[Any]) -> None:
    """Add this module's jobs; nothing yet."""
