"""The application's one t.me client, opened on first use.

Apart from bot/sources/tme_http.py, which imports httpx, so that every command that builds
the services (bot.context) does not import httpx: only the first poll does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx


class SharedClient:
    """One t.me client for the whole application, opened on first use and closed with
    the application (Services.close): polls reuse its connections instead of opening a
    new client, TLS handshake included, every minute."""

    def __init__(self, timeout_seconds: float = 15.0) -> None:
        self._timeout = timeout_seconds
        self._client: httpx.AsyncClient | None = None

    def get(self) -> httpx.AsyncClient:
        if self._client is None or self._client.is_closed:
            from bot.sources.tme_http import open_client

            self._client = open_client(self._timeout)
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
