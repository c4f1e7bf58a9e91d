"""Fetching one t.me/s preview page: HTTP statuses, redirects and page kinds become
FetchProblem with the state the channel is recorded in."""

from __future__ import annotations

import httpx

from bot.clock import Clock
from bot.sources.tme_http import (
    NO_POSTS,
    NOT_PUBLIC,
    UNREADABLE,
    FetchProblem,
    read_capped,
    retry_after,
)
from bot.sources.webpreview import PageKind, PreviewPage, parse_page


async def fetch_page(
    client: httpx.AsyncClient, base: str, username: str, before: int | None, clock: Clock
) -> PreviewPage:
    """One preview page of t.me/s/<username> (older than `before`), or FetchProblem."""
    try:
        html = await _get(client, base, username, before, clock)
    except httpx.TimeoutException:
        raise FetchProblem("error", "t.me did not answer in time (timeout)") from None
    except httpx.TooManyRedirects:
        raise FetchProblem("unavailable", NOT_PUBLIC) from None
    except httpx.HTTPError as exc:
        raise FetchProblem("error", f"could not reach t.me ({type(exc).__name__})") from None
    page = parse_page(html, username)
    if page.kind is PageKind.NO_PREVIEW:
        raise FetchProblem("unavailable", NOT_PUBLIC)
    if page.kind is PageKind.EMPTY and before is None:
        raise FetchProblem("unavailable", NO_POSTS)  # older pages may end empty: fine
    if page.kind is PageKind.UNRECOGNISED or (page.kind is PageKind.POSTS and not page.posts):
        raise FetchProblem("error", UNREADABLE)
    return page


async def _get(
    client: httpx.AsyncClient, base: str, username: str, before: int | None, clock: Clock
) -> str:
    params = {"before": str(before)} if before is not None else None
    url = f"{base}/{username}"
    async with client.stream("GET", url, params=params) as response:
        status = response.status_code
        if status == 429:
            wait = retry_after(response.headers.get("Retry-After"), clock())
            raise FetchProblem("error", "t.me asked to slow down (HTTP 429)", wait)
        if status == 404:
            raise FetchProblem("unavailable", NOT_PUBLIC)
        if status != 200:
            raise FetchProblem("error", f"t.me answered HTTP {status}")
        if not str(response.url).startswith(f"{base}/"):
            # t.me/s/<name> redirects to the contact card t.me/<name> when there is
            # no public preview to show.
            raise FetchProblem("unavailable", NOT_PUBLIC)
        return await read_capped(response)
