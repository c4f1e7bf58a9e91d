"""Connecting to PostgreSQL with asyncpg, every failure a user can fix as one clear line.

The URL's password never appears in a message: errors name the server by its masked URL.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import asyncpg

CONNECT_TIMEOUT = 10.0  # seconds: an address that swallows packets fails instead of hanging


class PgConnectError(Exception):
    """The server cannot be reached or refuses us: the message says which and what to do."""


def masked_url(url: str) -> str:
    """The URL with its password (in the user part or a password= parameter) as ***."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<an unreadable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        if ":" in user:
            user = user.split(":", 1)[0] + ":***"
        netloc = f"{user}@{host}"
    query = "&".join(
        f"{key}={'***' if key == 'password' else value}"
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
    )
    # Not urlunsplit: it writes postgresql:///name (a local socket) as postgresql:/name.
    shown = f"{parts.scheme}://{netloc}{parts.path}"
    return shown + (f"?{query}" if query else "") + (f"#{parts.fragment}" if parts.fragment else "")


async def connect(url: str) -> asyncpg.Connection:
    """A connection to the database at url, or PgConnectError saying why not."""
    where = masked_url(url)
    try:
        conn: asyncpg.Connection = await asyncpg.connect(url, timeout=CONNECT_TIMEOUT)
    except asyncpg.InvalidCatalogNameError:
        raise PgConnectError(
            f"{where}: the database does not exist; create it first (createdb NAME)"
        ) from None
    except (asyncpg.InvalidAuthorizationSpecificationError, asyncpg.InvalidPasswordError):
        raise PgConnectError(
            f"{where}: the server refused the user or password; check the URL"
        ) from None
    except asyncpg.PostgresError as exc:
        raise PgConnectError(f"{where}: the server refused the connection ({exc})") from None
    except (OSError, TimeoutError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "timed out"
        raise PgConnectError(
            f"cannot reach PostgreSQL at {where} ({reason}); is the server running, "
            "and are host and port right?"
        ) from None
    except (ValueError, asyncpg.InterfaceError) as exc:
        raise PgConnectError(f"{where}: not a usable PostgreSQL URL ({exc})") from None
    return conn
