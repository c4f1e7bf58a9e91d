"""HTTP for t.me web previews: the client, Retry-After, size caps, and why a fetch failed."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from importlib import metadata

import httpx

PROJECT_URL = "https://github.com/framewatch/framewatch"  # placeholder until a public home
MAX_PAGE_BYTES = 5_000_000  # a t.me/s page is about 100 kB
MAX_RETRY_AFTER = timedelta(days=1)
NOT_PUBLIC = (
    "no public web preview: the channel does not exist, is private, "
    "or its owner turned the preview off"
)
NO_POSTS = "its web preview shows no posts: the channel is empty, or its preview is off"
UNREADABLE = (
    "the page is not a channel preview FrameWatch can read "
    "(malformed or cut off, or Telegram changed its layout)"
)


def user_agent() -> str:
    try:
        version = metadata.version("framewatch")
    except metadata.PackageNotFoundError:
        version = "dev"
    return f"FrameWatch/{version} (+{PROJECT_URL})"


def open_client(timeout_seconds: float = 15.0) -> httpx.AsyncClient:
    """The HTTP client for t.me: timeouts, a clear User-Agent, English labels ("edited")."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_seconds, connect=min(5.0, timeout_seconds)),
        headers={"User-Agent": user_agent(), "Accept-Language": "en"},
        follow_redirects=True,
        max_redirects=3,
    )


class FetchProblem(Exception):
    """A preview page could not be read; `state` is how the channel is recorded."""

    def __init__(self, state: str, message: str, retry_after: timedelta | None = None) -> None:
        super().__init__(message)
        self.state = state  # "error" (retried with backoff) or "unavailable"
        self.message = message
        self.retry_after = retry_after


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """Retry-After in seconds or as an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        wait = timedelta(seconds=int(value))
    else:
        try:
            wait = parsedate_to_datetime(value) - now
        except (TypeError, ValueError):
            return None
    return min(max(wait, timedelta(0)), MAX_RETRY_AFTER)


async def read_capped(response: httpx.Response) -> str:
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_PAGE_BYTES:
            raise FetchProblem("error", f"the page is larger than {MAX_PAGE_BYTES} bytes")
        chunks.append(chunk)
    try:
        return b"".join(chunks).decode(response.encoding or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return b"".join(chunks).decode("utf-8", errors="replace")
