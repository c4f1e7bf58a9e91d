"""Logging set-up: one format, quiet HTTP libraries, and the bot token redacted everywhere."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

REDACTED = "[REDACTED]"


class RedactingFormatter(logging.Formatter):
    """Removes secrets from the whole formatted line, tracebacks included.

    httpx and PTB put the request URL, which contains the token, into messages and
    exceptions; redacting the final text catches every path a secret could take.
    """

    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        self._secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self._secrets)


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` without any secret, whatever its case: PTB's errors capitalize() Telegram's
    description, which lowercases a secret it quotes."""
    for secret in secrets:
        if secret:
            text = re.sub(re.escape(secret), REDACTED, text, flags=re.IGNORECASE)
    return text


def configure_logging(level: str, secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and the URL contains the token.
    for noisy in ("httpx", "httpcore", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
