"""Settings: the only place that reads the environment (and .env).

Every setting has the prefix FRAMEWATCH_. Errors are reported as one line naming the
variable; the bot token's value never appears in any message.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

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
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    scan_interval_seconds: int = Field(default=300, ge=10, le=86_400)
    digest_time: time = time(9, 0)
    timezone: str = "Europe/Kyiv"
    log_level: str = "INFO"
    web_preview_url: str = "https://t.me/s"
    poll_interval_seconds: int = Field(default=600, ge=60, le=86_400)
    backfill_posts: int = Field(default=200, ge=0, le=10_000)
    # Spikes (bot/trends.py): p-value threshold, and the least posts and distinct
    # non-watchdog channels a day needs to count as a spike.
    spike_p: float = Field(default=0.01, gt=0, lt=0.5)
    spike_min_posts: int = Field(default=5, ge=1, le=100_000)
    spike_min_channels: int = Field(default=2, ge=1, le=10_000)

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _parse_ids(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
        bad = [p for p in parts if not p.lstrip("-").isdigit()]
        if bad:
            raise ValueError(f"expected comma-separated numeric Telegram user ids, got {bad[0]!r}")
        return frozenset(int(p) for p in parts)

    @field_validator("digest_time", mode="before")
    @classmethod
    def _parse_time(cls, value: Any) -> Any:
        if isinstance(value, str):
            hours, sep, minutes = value.strip().partition(":")
            if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
                raise ValueError(f"expected a time as HH:MM, got {value!r}")
            if not (0 <= int(hours) <= 23 and 0 <= int(minutes) <= 59):
                raise ValueError(f"expected a time between 00:00 and 23:59, got {value!r}")
            return time(int(hours), int(minutes))
        return value

    @field_validator("timezone")
    @classmethod
    def _check_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as Europe/Kyiv)"
            ) from None
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
        if self.bot_token is None:
            return []
        raw = self.bot_token.get_secret_value()
        return [s for s in {raw, raw.strip()} if s.strip()]

    def token(self) -> str:
        """The bot token, or ConfigError if it is not set."""
        if self.bot_token is None or not self.bot_token.get_secret_value().strip():
            raise ConfigError(
                f"{ENV_PREFIX}BOT_TOKEN is not set: put the token from @BotFather in the "
                "environment or in .env"
            )
        return self.bot_token.get_secret_value().strip()


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and .env, or ConfigError naming the bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    # Built from field names and our own messages only: pydantic's default text would
    # echo the input value, which for the token is the secret itself.
    first = exc.errors(include_input=False, include_url=False)[0]
    field = str(first["loc"][0]) if first["loc"] else "?"
    message = str(first["msg"]).removeprefix("Value error, ")
    if field == "bot_token":
        message = "is malformed"
    return f"{ENV_PREFIX}{field.upper()}: {message}"
