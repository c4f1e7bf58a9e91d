"""`framewatch serve`: Datasette over the bot's database, read-only, as an analyst's tool.

The metadata (titles, descriptions, full-text search, stored queries) is built here at
start from the tables the database has: a stored query whose tables are missing (an older
database, a branch not merged yet) is left out rather than failing when opened.

Datasette opens the file as mutable, so it reads with `mode=ro` connections and sees what
the running bot writes (WAL); never `immutable`, which would let SQLite skip the changes.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from bot.config import Settings
from bot.serve_plugin import DASHBOARD_PATH, ServePlugin
from storage.browser_queries import INTERNAL_TABLES, available, read_tables

PLUGIN_NAME = "framewatch-serve"
STATIC_MOUNT = "framewatch-static"
_TOKEN_ONLY = " Needs FRAMEWATCH_SERVE_TOKEN: it holds Telegram user ids."

_TABLES: dict[str, dict[str, Any]] = {
    "posts": {
        "description": "Every stored post (text or caption), one row per channel message; "
        "message_id links to the post on t.me. Search it with the box above.",
        "fts_table": "posts_fts",
        "fts_pk": "id",
        "sort_desc": "posted_at",
        "columns": {
            "posted_at": "when it was posted (shown in FRAMEWATCH_TIMEZONE; Unix seconds)",
            "edited_at": "its latest edit, if any; older texts are in post_versions",
            "source": "how it arrived: bot (channel admin), forward, webpreview, export, demo",
        },
    },
    "post_versions": {
        "description": "Earlier texts of edited posts (the current text is in posts).",
        "sort_desc": "id",
    },
    "matches": {
        "description": "Which term of which framing matched which post, and where in its text.",
    },
    "trend_posts": {
        "description": "One row per matched post and framing, with its date and channel: what "
        "trends and the stored queries count.",
        "sort_desc": "posted_at",
    },
    "near_duplicates": {
        "description": "Pairs of posts with near-identical text (MinHash, verified).",
    },
    "channels": {
        "description": "Channels the bot stores posts of." + _TOKEN_ONLY,
        "label_column": "title",
    },
    "framings": {"description": "Framings and their titles." + _TOKEN_ONLY, "label_column": "slug"},
    "terms": {"description": "Terms of each framing." + _TOKEN_ONLY, "label_column": "text"},
    "audit_log": {"description": "Who changed what, when." + _TOKEN_ONLY},
    "roles": {"description": "Moderators and analysts." + _TOKEN_ONLY},
    "subscribers": {"description": "Digest subscribers." + _TOKEN_ONLY},
}


def build_metadata(database: str, tables: frozenset[str], token_set: bool) -> dict[str, Any]:
    """Datasette metadata for database `database` having `tables`."""
    described: dict[str, dict[str, Any]] = {}
    for name in sorted(tables):
        entry = dict(_TABLES.get(name, {}))
        if name in INTERNAL_TABLES:
            entry["hidden"] = True
        if entry:
            described[name] = entry
    queries = {
        query.name: {
            "title": query.title,
            "description": query.description,
            "sql": query.sql,
            **({"params": list(query.params)} if query.params else {}),
        }
        for query in available(tables)
    }
    private = "" if token_set else " Tables holding Telegram user ids need FRAMEWATCH_SERVE_TOKEN."
    return {
        "title": "FrameWatch",
        "description_html": (
            f'Read-only view of the bot\'s database. <a href="{DASHBOARD_PATH}">Dashboard</a>: '
            "framings over time and every stored query. Posts link to t.me." + private
        ),
        "databases": {
            database: {
                "description": "Posts, framings and matches, as the bot stores them.",
                "tables": described,
                "queries": queries,
            }
        },
    }


def database_name(path: str) -> str:
    """The name Datasette gives a database file (its stem)."""
    return Path(path).stem


def make_datasette(settings: Settings, tables: frozenset[str]) -> Any:
    """The Datasette app; register `plugin_for(settings)` with its plugin manager first."""
    from datasette.app import Datasette

    package = resources.files("bot")
    return Datasette(
        files=[settings.db_path],
        metadata=build_metadata(
            database_name(settings.db_path), tables, settings.serve_token is not None
        ),
        template_dir=str(package / "serve_templates"),
        static_mounts=[(STATIC_MOUNT, str(package / "serve_static"))],
        settings={
            "allow_download": False,
            "suggest_facets": False,
            "sql_time_limit_ms": 5000,
            "default_page_size": 50,
        },
    )


def plugin_for(settings: Settings) -> ServePlugin:
    token = settings.serve_token.get_secret_value() if settings.serve_token else None
    return ServePlugin(token, settings.zone, database_name(settings.db_path))


async def serve(settings: Settings, host: str, port: int, out: TextIO = sys.stdout) -> int:
    """Serve until interrupted. Raises FileNotFoundError, OSError (cannot listen)."""
    import uvicorn
    from datasette.plugins import pm  # first: it loads Datasette's own plugins

    _quiet_error_pages()

    tables = _tables(settings.db_path)  # before serving: blocking is fine here
    listener = _listen(host, port)
    plugin = plugin_for(settings)
    pm.register(plugin, name=PLUGIN_NAME)
    try:
        view = make_datasette(settings, tables)
        await view.invoke_startup()
        config = uvicorn.Config(view.app(), log_config=None, access_log=False)
        bound_host, bound_port = listener.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        gate = "token required" if settings.serve_token else "no token: user-id tables hidden"
        print(f"FrameWatch browser view: http://{shown}:{bound_port}/ ({gate})", file=out)
        if not _loopback(host) and settings.serve_token is None:
            print(
                f"warning: listening on {host} without FRAMEWATCH_SERVE_TOKEN: anyone who "
                "can reach it reads the posts",
                file=out,
            )
        out.flush()
        await uvicorn.Server(config).serve(sockets=[listener])
    finally:
        pm.unregister(name=PLUGIN_NAME)
        listener.close()
    return 0


def _tables(db_path: str) -> frozenset[str]:
    path = Path(db_path)
    if not path.is_file():
        raise FileNotFoundError(path)  # opening it would create an empty database
    return read_tables(str(path))


def _quiet_error_pages() -> None:
    """Datasette prints every error page's traceback with its local variables (headers,
    cookies) to standard output when rich is installed: not in this process."""
    from datasette import handle_exception

    handle_exception.rich = None


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(128)
    except OSError:
        listener.close()
        raise
    listener.set_inheritable(True)
    return listener


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
