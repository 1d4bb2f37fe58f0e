"""Settings from the environment, validated once at start with one message listing every problem."""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

# config sits below every other module of bot and imports none of them (import-linter checks it):
# the values it parses are plain types that the composition root turns into domain objects.

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_QUESTIONS = PROJECT_ROOT / "questions.json"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
PACKS_DIR = PROJECT_ROOT / "packs"
# The banks shipped with Compass (packs), by name, in the order a list shows them: the short one,
# the default (questions.json), then the specialised ones. The one table every surface reads.
PACK_FILES: dict[str, Path] = {
    "core": PACKS_DIR / "core.json",
    "full": DEFAULT_QUESTIONS,
    "llmops": PACKS_DIR / "llmops.json",
}


def pack_path(name: str) -> Path | None:
    """The file of the pack called ``name``, or None when there is no such pack."""
    path = PACK_FILES.get(name)
    return path if path is not None and path.is_file() else None


def pack_names() -> tuple[str, ...]:
    """The packs this installation ships, in the order they are offered."""
    return tuple(name for name in PACK_FILES if pack_path(name) is not None)


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME", str(Path.home()))) / ".local" / "share")
    return Path(base) / "mlops-compass"


def default_database_url(environ: Mapping[str, str] | None = None) -> str:
    return f"sqlite:///{default_data_dir(environ) / 'compass.db'}"


def questions_path_from_env(environ: Mapping[str, str] | None = None) -> Path:
    """COMPASS_QUESTIONS alone, for checking a bank whatever else the environment lacks."""
    env = os.environ if environ is None else environ
    return Path(env.get("COMPASS_QUESTIONS") or DEFAULT_QUESTIONS)


def no_color_from_env(environ: Mapping[str, str] | None = None) -> bool:
    """The NO_COLOR convention (no-color.org): any non-empty value asks for plain output."""
    env = os.environ if environ is None else environ
    return env.get("NO_COLOR", "") != ""


def database_url_from_env(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return env.get("DATABASE_URL") or default_database_url(env)


def parse_work_days(days: str) -> frozenset[int]:
    """Parse "tue,wed,thu" or "mon-fri" into weekday numbers (0 = Monday); ValueError names the bad part."""
    chosen: set[int] = set()
    for part in days.lower().replace(" ", "").split(","):
        if "-" in part:
            first, last = part.split("-", 1)
            if first not in WEEKDAYS or last not in WEEKDAYS:
                raise ValueError(f"unknown weekday range {part!r}; use e.g. mon-fri")
            a, b = WEEKDAYS.index(first), WEEKDAYS.index(last)
            if a > b:
                raise ValueError(f"weekday range {part!r} runs backwards")
            chosen.update(range(a, b + 1))
        elif part in WEEKDAYS:
            chosen.add(WEEKDAYS.index(part))
        else:
            raise ValueError(f"unknown weekday {part!r}; use mon, tue, wed, thu, fri, sat, sun")
    return frozenset(chosen)


def parse_work_hours(hours: str) -> tuple[int, int]:
    """Parse "10-16" into (start, end), end exclusive; ValueError names the bad part."""
    try:
        start_text, end_text = hours.split("-", 1)
        start, end = int(start_text), int(end_text)
    except ValueError:
        raise ValueError(f"working hours {hours!r} must look like 10-16") from None
    if not 0 <= start < end <= 24:
        raise ValueError(f"working hours {hours!r} must satisfy 0 <= start < end <= 24")
    return start, end


class ConfigError(ValueError):
    """The environment is incomplete or wrong; the message lists every problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("configuration problems:\n" + "\n".join(f"  - {p}" for p in problems))


class Settings(BaseModel):
    """Typed, immutable settings; build with ``Settings.from_env``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    DATABASE_URL: str = ""
    COMPASS_QUESTIONS: Path = DEFAULT_QUESTIONS
    SLACK_BOT_TOKEN: SecretStr | None = None
    SLACK_SIGNING_SECRET: SecretStr | None = None
    SLACK_APP_TOKEN: SecretStr | None = None
    SLACK_API_URL: str = DEFAULT_SLACK_API_URL
    # Distributed mode (any workspace installs the app through OAuth): these two and no SLACK_BOT_TOKEN.
    SLACK_CLIENT_ID: str | None = None
    SLACK_CLIENT_SECRET: SecretStr | None = None
    # Fernet keys (comma-separated, the first encrypts) for the bot tokens stored at rest.
    COMPASS_ENCRYPTION_KEY: SecretStr | None = None
    # After an uninstall, the workspace's data is deleted this many days later (0: at once).
    COMPASS_PURGE_AFTER_DAYS: int = Field(default=30, ge=0, le=3650)
    # The app's public base URL (https://compass.example.com), shown in webhook set-up steps.
    COMPASS_PUBLIC_URL: str | None = None
    HOST: str = "0.0.0.0"  # the address HTTP mode binds; 127.0.0.1 keeps a local run on loopback
    PORT: int = Field(default=3000, ge=1, le=65535)
    WEB_CONCURRENCY: int = Field(default=1, ge=1, le=64)
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Scheduler and digests.
    COMPASS_MIN_RESPONDENTS: int = Field(default=5, ge=3)
    COMPASS_CADENCE_DAYS: int = Field(default=90, ge=1, le=3650)
    COMPASS_WORK_DAYS: str = "tue,wed,thu"
    COMPASS_WORK_HOURS: str = "10-16"
    COMPASS_TICK_MINUTES: int = Field(default=15, ge=1, le=1440)
    COMPASS_SEND_RATE: float = Field(default=2.0, gt=0, le=50)
    # Completed assessments are deleted this many days after completion (unfinished ones when they expire).
    COMPASS_RETENTION_DAYS: int = Field(default=730, ge=30, le=36500)
    # Slack user ids (comma-separated) who may change their workspace's question bank with
    # `/compass questions`, besides the workspace's admins and owners.
    COMPASS_BANK_ADMINS: str = ""
    # The worker: requests it handles at once.
    COMPASS_WORKER_THREADS: int = Field(default=8, ge=1, le=64)
    # `compass serve`: how many worker processes it runs beside itself.
    COMPASS_WORKER_PROCESSES: int = Field(default=1, ge=1, le=16)

    @field_validator("COMPASS_WORK_DAYS")
    @classmethod
    def _work_days(cls, value: str) -> str:
        parse_work_days(value)
        return value

    @field_validator("COMPASS_WORK_HOURS")
    @classmethod
    def _work_hours(cls, value: str) -> str:
        parse_work_hours(value)
        return value

    @property
    def bank_admins(self) -> frozenset[str]:
        return frozenset(u.strip() for u in self.COMPASS_BANK_ADMINS.split(",") if u.strip())

    @property
    def work_days(self) -> frozenset[int]:
        return parse_work_days(self.COMPASS_WORK_DAYS)

    @property
    def work_hours(self) -> tuple[int, int]:
        return parse_work_hours(self.COMPASS_WORK_HOURS)

    @field_validator("SLACK_API_URL")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("SLACK_BOT_TOKEN")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value() and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value or None

    @field_validator("SLACK_APP_TOKEN")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value() and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value or None

    @field_validator("COMPASS_ENCRYPTION_KEY")
    @classmethod
    def _encryption_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        for key in value.get_secret_value().split(","):
            try:
                valid = len(base64.urlsafe_b64decode(key.strip().encode())) == 32
            except (binascii.Error, ValueError):
                valid = False
            if not valid:
                raise ValueError(
                    "each comma-separated key must be a Fernet key (32 url-safe base64-encoded bytes); make one with "
                    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
                )
        return value

    @property
    def encryption_keys(self) -> list[str]:
        keys = self.COMPASS_ENCRYPTION_KEY.get_secret_value() if self.COMPASS_ENCRYPTION_KEY else ""
        return [k.strip() for k in keys.split(",") if k.strip()]

    @property
    def distributed(self) -> bool:
        """Installed by any workspace through OAuth (client id and secret, no bot token)."""
        return self.SLACK_CLIENT_ID is not None and self.SLACK_BOT_TOKEN is None

    @field_validator("COMPASS_QUESTIONS")
    @classmethod
    def _questions(cls, value: Path) -> Path:
        if not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        values = {k: v for k, v in env.items() if k in cls.model_fields and v != ""}
        try:
            settings = cls.model_validate(values)
        except ValidationError as exc:
            raise ConfigError([_describe(err) for err in exc.errors()]) from exc
        if not settings.DATABASE_URL:
            settings = settings.model_copy(update={"DATABASE_URL": default_database_url(env)})
        problem = settings._oauth_problem()
        if problem:
            raise ConfigError([problem])
        return settings

    def _oauth_problem(self) -> str | None:
        if self.SLACK_CLIENT_ID and self.SLACK_CLIENT_SECRET is None:
            return "SLACK_CLIENT_SECRET: missing (Basic Information > Client Secret), needed with SLACK_CLIENT_ID"
        if self.SLACK_CLIENT_SECRET is not None and not self.SLACK_CLIENT_ID:
            return "SLACK_CLIENT_ID: missing (Basic Information > Client ID), needed with SLACK_CLIENT_SECRET"
        if self.SLACK_CLIENT_ID and self.SLACK_BOT_TOKEN is not None:
            return (
                "SLACK_BOT_TOKEN and SLACK_CLIENT_ID: set one, not both (SLACK_BOT_TOKEN runs one workspace; "
                "SLACK_CLIENT_ID with SLACK_CLIENT_SECRET lets any workspace install the app)"
            )
        return None

    def require_slack(self, mode: Literal["socket", "http", "api"], chosen: bool = True) -> None:
        """Raise ConfigError naming every variable the chosen Slack mode still lacks.

        "api" is Web API calls only (the scheduler and its commands): just the bot token.
        ``chosen`` is False when HTTP was picked only because SLACK_APP_TOKEN is unset, so the
        message also names what Socket Mode would need.
        """
        problems = []
        if self.distributed:
            if mode == "socket":
                raise ConfigError(
                    [
                        "Socket Mode is for one workspace (SLACK_BOT_TOKEN): with SLACK_CLIENT_ID the app is "
                        "installed through OAuth, which needs HTTP (compass serve --http) and SLACK_SIGNING_SECRET"
                    ]
                )
            if mode == "http" and self.SLACK_SIGNING_SECRET is None:
                problems.append("SLACK_SIGNING_SECRET: missing (Basic Information > Signing Secret), needed for HTTP")
            if problems:
                raise ConfigError(problems)
            return
        if self.SLACK_BOT_TOKEN is None:
            problems.append("SLACK_BOT_TOKEN: missing (the Bot User OAuth Token, xoxb-...)")
        if mode == "http" and self.SLACK_SIGNING_SECRET is None:
            problems.append("SLACK_SIGNING_SECRET: missing (Basic Information > Signing Secret), needed for HTTP")
        if mode == "socket" and self.SLACK_APP_TOKEN is None:
            problems.append("SLACK_APP_TOKEN: missing (an app-level token xapp-... with connections:write)")
        if mode == "http" and not chosen and self.SLACK_SIGNING_SECRET is None:
            problems.append(
                "or, for Socket Mode (no public URL needed), set SLACK_APP_TOKEN (an app-level token xapp-... "
                "with connections:write) instead of SLACK_SIGNING_SECRET"
            )
        if problems:
            raise ConfigError(problems)


def _describe(err: Mapping[str, object]) -> str:
    loc = ".".join(str(part) for part in err.get("loc", ()))  # type: ignore[attr-defined]
    message = str(err.get("msg", "invalid"))
    message = message.removeprefix("Value error, ")
    return f"{loc}: {message}"
