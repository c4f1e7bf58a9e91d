"""The Datasette plugin of `framewatch serve`: the token gate, who may read what, t.me links,
the SQL functions the stored queries call, and the dashboard page.

One instance per serve process, registered with Datasette's plugin manager by bot/serve.py
(it holds the token, so nothing about it is in the metadata Datasette publishes).

With FRAMEWATCH_SERVE_TOKEN set, every request needs it: `Authorization: Bearer <token>`,
or once `?_token=<token>`, which sets a cookie (an HMAC of the token, never the token) and
redirects to the same address without it. Who passes is the actor READER, who may read every
table and run SQL. Without a token nobody is READER: only PUBLIC_TABLES and the stored
queries are readable, arbitrary SQL is off, and the database file is never downloadable.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from http.cookies import CookieError, SimpleCookie
from typing import Any, TypeVar, cast
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from datasette import hookimpl as datasette_hookimpl
from markupsafe import Markup

from bot.links import post_link
from bot.serve_sql import local_time, sql_functions
from storage.browser_queries import (
    CHANNEL_USERNAME,
    FRAMINGS_OVER_TIME,
    PUBLIC_TABLES,
)

READER = "framewatch-reader"
COOKIE = "framewatch_serve"
SCOPE_KEY = "framewatch_reader"
DASHBOARD_PATH = "/-/dashboard"
CHART_DAYS = (30, 90, 365)
_COOKIE_DAYS = 30
_TME = re.compile(r"https://t\.me/(?:c/)?[A-Za-z0-9_]+/[0-9]+")
_TIME_COLUMNS = {"posted_at", "edited_at"}

F = TypeVar("F", bound=Callable[..., Any])


def hookimpl(function: F) -> F:
    """Datasette's plugin hook marker, typed (Datasette ships no type information)."""
    return cast(F, datasette_hookimpl(function))


Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class ServePlugin:
    def __init__(self, token: str | None, zone: ZoneInfo, database: str) -> None:
        self.__name__ = "framewatch_serve"  # Datasette lists plugins by __name__
        self._token = token.encode() if token else None
        self._cookie = (
            hmac.new(self._token, b"framewatch serve cookie v1", hashlib.sha256).hexdigest()
            if self._token
            else None
        )
        self._zone = zone
        self._database = database

    # -- the token gate ---------------------------------------------------------------
    @hookimpl
    def asgi_wrapper(self, datasette: Any) -> Callable[[App], App]:
        def wrap(app: App) -> App:
            async def gate(scope: Scope, receive: Receive, send: Send) -> None:
                if scope["type"] != "http" or self._token is None:
                    await app(scope, receive, send)
                    return
                query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), True)
                given = [value for key, value in query if key == "_token"]
                if given and self._matches(given[0].encode()):
                    await _redirect_with_cookie(scope, send, query, self._cookie_header())
                elif not given and self._authorised(scope):
                    # Datasette never sees the token: its error pages print their locals.
                    headers = [h for h in scope["headers"] if h[0] != b"authorization"]
                    await app({**scope, "headers": headers, SCOPE_KEY: True}, receive, send)
                else:
                    await _unauthorised(send)

            return gate

        return wrap

    def _matches(self, given: bytes) -> bool:
        return self._token is not None and hmac.compare_digest(given, self._token)

    def _authorised(self, scope: Scope) -> bool:
        headers = dict(scope.get("headers") or [])
        scheme, _, credential = headers.get(b"authorization", b"").partition(b" ")
        if scheme.lower() == b"bearer" and self._matches(credential.strip()):
            return True
        cookie = _cookie_value(headers.get(b"cookie", b""))
        return (
            self._cookie is not None
            and cookie is not None
            and hmac.compare_digest(cookie.encode(), self._cookie.encode())
        )

    def _cookie_header(self) -> bytes:
        return (
            f"{COOKIE}={self._cookie}; Path=/; HttpOnly; SameSite=Lax; "
            f"Max-Age={_COOKIE_DAYS * 86400}"
        ).encode()

    @hookimpl
    def actor_from_request(self, datasette: Any, request: Any) -> dict[str, str] | None:
        return {"id": READER} if request.scope.get(SCOPE_KEY) else None

    # -- who may read what ---------------------------------------------------------------
    @hookimpl
    def permission_allowed(
        self, datasette: Any, actor: Mapping[str, Any] | None, action: str, resource: Any
    ) -> bool | None:
        reader = bool(actor) and actor is not None and actor.get("id") == READER
        if action == "view-database-download":
            return False  # the whole file, hidden tables included: never
        if reader:
            return None
        if action == "view-table":
            return None if str(resource[1]).lower() in PUBLIC_TABLES else False
        if action in {"execute-sql", "permissions-debug", "debug-menu"}:
            return False  # arbitrary SQL would read every table
        return None

    # -- SQL functions and cells -------------------------------------------------------
    @hookimpl
    def prepare_connection(self, conn: Any, database: str, datasette: Any) -> None:
        for name, arity, function in sql_functions(self._zone):
            conn.create_function(name, arity, function, deterministic=True)

    @hookimpl
    def render_cell(
        self, row: Any, value: Any, column: str, table: str | None, database: str, datasette: Any
    ) -> Any:
        if isinstance(value, str) and _TME.fullmatch(value):
            return link_markup(value)
        timed = table in {"posts", "trend_posts", "post_versions"} and column in _TIME_COLUMNS
        if timed and isinstance(value, int) and not isinstance(value, bool):
            return Markup(
                f'<span title="{value}">{html.escape(local_time(value, self._zone))}</span>'
            )
        if table == "posts" and column == "message_id" and isinstance(value, int):
            chat_id = _plain(row["chat_id"])
            if isinstance(chat_id, int):
                return self._post_link(datasette, database, chat_id, value)
        return None

    def _post_link(
        self, datasette: Any, database: str, chat_id: int, message_id: int
    ) -> Callable[[], Awaitable[Markup]]:
        async def inner() -> Markup:
            found = await datasette.get_database(database).execute(CHANNEL_USERNAME, [chat_id])
            username = found.rows[0][0] if found.rows else None
            url = post_link(chat_id, username, message_id)
            return Markup(f'<a href="{html.escape(url)}" rel="noopener">{message_id}</a>')

        return inner

    # -- the dashboard -------------------------------------------------------------------
    @hookimpl
    def register_routes(self, datasette: Any) -> list[tuple[str, Any]]:
        return [(r"^/-/dashboard$", self.dashboard)]

    @hookimpl
    def menu_links(self, datasette: Any, actor: Any, request: Any) -> list[dict[str, str]]:
        return [{"href": datasette.urls.path(DASHBOARD_PATH), "label": "Dashboard"}]

    async def dashboard(self, request: Any, datasette: Any) -> Any:
        from datasette.utils.asgi import Response

        days = _chart_days(request.args.get("days"))
        db = datasette.get_database(self._database)
        tables = set(await db.table_names()) | set(await db.view_names())
        rows: list[dict[str, Any]] = []
        if FRAMINGS_OVER_TIME.needs <= tables:
            result = await db.execute(FRAMINGS_OVER_TIME.sql, {"days": str(days)})
            rows = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
        queries = datasette.metadata("queries", database=self._database) or {}
        page = await datasette.render_template(
            "framewatch_dashboard.html",
            {
                "chart_json": script_json(rows),
                "totals": _totals(rows),
                "days": days,
                "day_choices": CHART_DAYS,
                "database": self._database,
                "queries": [
                    (name, q.get("title", name), q.get("description", ""))
                    for name, q in queries.items()
                ],
            },
            request=request,
        )
        return Response.html(page)


def link_markup(url: str) -> Markup:
    label = url.removeprefix("https://")
    return Markup(f'<a href="{html.escape(url)}" rel="noopener">{html.escape(label)}</a>')


def script_json(value: Any) -> Markup:
    """JSON safe inside a <script> element (no "</script>" or "<!--" can appear)."""
    text = json.dumps(value, ensure_ascii=False)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _totals(rows: list[dict[str, Any]]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["framing"]] = counts.get(row["framing"], 0) + int(row["posts"])
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _chart_days(text: str | None) -> int:
    try:
        days = int(text or "")
    except ValueError:
        return 90
    return days if days in CHART_DAYS else 90


def _plain(value: Any) -> Any:
    """A cell's value; an expanded foreign key is {"value": ..., "label": ...}."""
    return value.get("value") if isinstance(value, dict) else value


def _cookie_value(header: bytes) -> str | None:
    try:
        jar: SimpleCookie = SimpleCookie(header.decode("latin-1"))
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    return None if morsel is None else morsel.value


async def _redirect_with_cookie(
    scope: Scope, send: Send, query: list[tuple[str, str]], cookie: bytes
) -> None:
    rest = urlencode([(k, v) for k, v in query if k != "_token"])
    # raw_path: the path as sent, still percent-encoded (scope["path"] is decoded).
    path: bytes = scope.get("raw_path") or scope["path"].encode()
    location = scope.get("root_path", "").encode() + path + (f"?{rest}".encode() if rest else b"")
    await _respond(send, 302, b"", [(b"location", location), (b"set-cookie", cookie)])


_DENIED = (
    b"<!DOCTYPE html><html><head><title>FrameWatch: token needed</title></head><body>"
    b"<h1>This FrameWatch view needs its token</h1><p>Open this address once with "
    b"<code>?_token=&lt;FRAMEWATCH_SERVE_TOKEN&gt;</code> appended (a cookie then keeps you in), "
    b"or send the header <code>Authorization: Bearer &lt;token&gt;</code>.</p></body></html>"
)


async def _unauthorised(send: Send) -> None:
    headers = [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"www-authenticate", b'Bearer realm="framewatch"'),
    ]
    await _respond(send, 401, _DENIED, headers)


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    headers = [
        *headers,
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
