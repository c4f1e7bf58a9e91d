"""Settings: the only place that reads the environment (and .env).

Every setting has the prefix FRAMEWATCH_. Errors are reported as one line naming the
variable; the bot token's value never appears in any message.
"""

from __future__ import annotations

import os
import re
from datetime import time
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from storage.numbers import ascii_int

ENV_PREFIX = "FRAMEWATCH_"


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    bot_token: SecretStr | None = None
    api_base_url: str = "https://api.telegram.org/bot"
    db_path: str = "framewatch.db"
    # PostgreSQL instead of the SQLite file (issue 12): postgresql://user:password@host/name.
    database_url: SecretStr | None = None
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    scan_interval_seconds: int = Field(default=300, ge=10, le=86_400)
    # Processes that match a large scan backlog (bot/scan_pool.py): 0 = one per core, 1 = none.
    scan_workers: int = Field(default=0, ge=0, le=32)
    digest_time: time = time(9, 0)
    timezone: str = "Europe/Kyiv"
    log_level: str = "INFO"
    web_preview_url: str = "https://t.me/s"
    poll_interval_seconds: int = Field(default=600, ge=60, le=86_400)
    backfill_posts: int = Field(default=200, ge=0, le=10_000)
    # Minutes within which 3+ channels posting near-identical text is a coordinated push;
    # unset: learned from the data (bot/propagation.py, CooRnet's method).
    coordination_window: float | None = Field(default=None, gt=0, le=10_080)
    # Spikes (bot/trends.py): p-value threshold, and the least posts and distinct
    # non-watchdog channels a day needs to count as a spike.
    spike_p: float = Field(default=0.01, gt=0, lt=0.5)
    spike_min_posts: int = Field(default=5, ge=1, le=100_000)
    spike_min_channels: int = Field(default=2, ge=1, le=10_000)
    # `framewatch serve`: when set, every page of the browser view needs this token.
    serve_token: SecretStr | None = None
    # `framewatch run --webhook URL` (bot/webhook.py): the secret Telegram sends with every
    # update, and the address and port the listener binds (a TLS proxy forwards to it).
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65_535)
    # Shared work on PostgreSQL (issue 12): how long a claim on a delivery, a scan batch or a
    # poll holds before another process may take it over, and how long `framewatch worker`
    # sleeps when it found nothing to do.
    lease_seconds: int = Field(default=60, ge=5, le=3_600)
    worker_idle_seconds: float = Field(default=2.0, gt=0, le=300)

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _parse_ids(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
        ids = [ascii_int(p, signed=True) for p in parts]
        bad = [p for p, number in zip(parts, ids, strict=True) if number is None]
        if bad:
            raise ValueError(f"expected comma-separated numeric Telegram user ids, got {bad[0]!r}")
        return frozenset(number for number in ids if number is not None)

    @field_validator("serve_token", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return (value.strip() or None) if isinstance(value, str) else value

    @field_validator("database_url", mode="before")
    @classmethod
    def _check_database_url(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        url = value.strip()
        if not url:
            return None  # blank: SQLite at FRAMEWATCH_DB_PATH
        if not url.startswith(("postgresql://", "postgres://")):
            # Never the value itself: it may hold a password.
            raise ValueError(
                "expected a PostgreSQL URL such as postgresql://user:password@host:5432/name "
                "(unset it to use the SQLite file FRAMEWATCH_DB_PATH)"
            )
        return url

    def database(self, path: str | None = None) -> str:
        """What to open: the PostgreSQL URL when FRAMEWATCH_DATABASE_URL is set and no other
        file is asked for, else the SQLite file `path` (default FRAMEWATCH_DB_PATH)."""
        if self.database_url is not None and path in (None, self.db_path):
            return self.database_url.get_secret_value()
        return path or self.db_path

    @property
    def on_postgres(self) -> bool:
        return self.database_url is not None

    @field_validator("webhook_listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        if not value.strip() or any(c.isspace() for c in value.strip()):
            raise ValueError("expected an address to listen on, such as 127.0.0.1 or 0.0.0.0")
        return value.strip()

    @field_validator("digest_time", mode="before")
    @classmethod
    def _parse_time(cls, value: Any) -> Any:
        if isinstance(value, str):
            hours_text, sep, minutes_text = value.strip().partition(":")
            hours, minutes = ascii_int(hours_text), ascii_int(minutes_text)
            if not (sep and hours is not None and minutes is not None and len(minutes_text) == 2):
                raise ValueError(f"expected a time as HH:MM, got {value!r}")
            if not (0 <= hours <= 23 and 0 <= minutes <= 59):
                raise ValueError(f"expected a time between 00:00 and 23:59, got {value!r}")
            return time(hours, minutes)
        return value

    @field_validator("db_path")
    @classmethod
    def _check_db_path(cls, value: str) -> str:
        return check_db_path(value)

    @field_validator("timezone")
    @classmethod
    def _check_zone(cls, value: str) -> str:
        if zone_named(value) is None:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Kyiv)")
        return value

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError(f"expected DEBUG, INFO, WARNING or ERROR, got {value!r}")
        return level

    @field_validator("web_preview_url")
    @classmethod
    def _check_preview_url(cls, value: str) -> str:
        url = value.strip().rstrip("/")
        scheme, sep, rest = url.partition("://")
        if scheme.lower() not in {"http", "https"} or not sep or not rest or " " in rest:
            raise ValueError(f"expected an http(s) URL such as https://t.me/s, got {value[:100]!r}")
        return url

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def secrets(self) -> list[str]:
        """Every form of the token a log line could contain, for redaction."""
        values = [v.get_secret_value() for v in (self.bot_token, self.webhook_secret) if v]
        if self.database_url is not None:  # the database password, should a URL be logged
            try:
                password = urlsplit(self.database_url.get_secret_value()).password
            except ValueError:
                password = None
            values += [password] if password else []
        return [s for raw in values for s in {raw, raw.strip()} if s.strip()]

    def token(self) -> str:
        """The bot token, or ConfigError if it is not set."""
        if self.bot_token is None or not self.bot_token.get_secret_value().strip():
            raise ConfigError(
                f"{ENV_PREFIX}BOT_TOKEN is not set: put the token from @BotFather in the "
                "environment or in .env"
            )
        return self.bot_token.get_secret_value().strip()

    def webhook_secret_value(self) -> str:
        """The webhook's secret token, or ConfigError (which never quotes it)."""
        value = "" if self.webhook_secret is None else self.webhook_secret.get_secret_value()
        if not value.strip():
            raise ConfigError(
                f"{ENV_PREFIX}WEBHOOK_SECRET is not set: --webhook needs it "
                "(1-256 characters of A-Z a-z 0-9 _ -, e.g. from `openssl rand -hex 32`)"
            )
        if not WEBHOOK_SECRET.fullmatch(value.strip()):
            raise ConfigError(
                f"{ENV_PREFIX}WEBHOOK_SECRET may hold only 1-256 characters of A-Z a-z 0-9 _ - "
                "(Telegram's rule): choose another, e.g. from `openssl rand -hex 32`"
            )
        return value.strip()


WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")  # Telegram's rule for secret_token


def zone_named(name: str) -> ZoneInfo | None:
    """The IANA time zone `name`, or None ("Europe" names a folder of zones: OSError)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def check_db_path(value: str) -> str:
    """The database file's path, if SQLite can create or write it there; else ValueError.

    An empty path would give SQLite's private temporary database (nothing kept across a
    restart), and a missing folder is a typo more often than a wish: neither is created.
    """
    path = value.strip()
    if not path:
        raise ValueError(
            "is empty: give the database file's path, e.g. framewatch.db or "
            "/var/lib/framewatch/framewatch.db"
        )
    target = Path(path)
    if target.is_dir():
        raise ValueError(f"{path} is a folder: give a file's path, e.g. {target / 'framewatch.db'}")
    folder = target.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise ValueError(f"the folder {folder} {what}: create it or fix the path")
    # SQLite writes the -wal and -shm files beside the database: the folder must be writable.
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"the folder {folder} cannot be written by this user")
    # A read-only file is fine for `search`; commands that write find out at open.
    if target.exists() and not os.access(target, os.R_OK):
        raise ValueError(f"{path} cannot be read by this user")
    return path


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and .env, or ConfigError naming the bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except UnicodeDecodeError as exc:
        # pydantic-settings reads .env as UTF-8; its error would be a traceback.
        raise ConfigError(
            f".env is not UTF-8 text (byte {exc.start} cannot be read): save it as UTF-8"
        ) from None


def _describe(exc: ValidationError) -> str:
    # Built from field names and our own messages only: pydantic's default text would
    # echo the input value, which for the token is the secret itself.
    first = exc.errors(include_input=False, include_url=False)[0]
    field = str(first["loc"][0]) if first["loc"] else "?"
    message = str(first["msg"]).removeprefix("Value error, ")
    if field in {"bot_token", "webhook_secret"}:
        message = "is malformed"
    return f"{ENV_PREFIX}{field.upper()}: {message}"
