"""What every subcommand shares: settings, the question bank and the database, failing in one clear message."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import click

from bot.app.packs import load_pack
from bot.config import ConfigError, Settings
from bot.db.setup import Database, open_database
from bot.domain.errors import CompassError
from bot.domain.questionnaire import Questionnaire, QuestionnaireError, load_questionnaire

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def now() -> datetime:
    return datetime.now(UTC)


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


def settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        fail(str(exc))


def require_slack(config: Settings, mode: str, chosen: bool = True) -> None:
    try:
        config.require_slack(mode, chosen)  # type: ignore[arg-type]
    except ConfigError as exc:
        fail(str(exc))


def bank(path: Path) -> Questionnaire:
    try:
        return load_questionnaire(path)
    except QuestionnaireError as exc:
        fail(str(exc))


def pack(name: str) -> Questionnaire:
    """A shipped pack by name; an unknown name fails with the list of packs."""
    try:
        return load_pack(name)
    except CompassError as exc:
        fail(exc.detail)
    except QuestionnaireError as exc:
        fail(str(exc))


def database(config: Settings) -> Database:
    return open_database(config.DATABASE_URL)


def configure_logging(config: Settings) -> None:
    logging.basicConfig(level=config.LOG_LEVEL, format=LOG_FORMAT)
    if config.LOG_LEVEL != "DEBUG":
        # Alembic says at INFO which dialect it found each time it looks at the schema.
        logging.getLogger("alembic").setLevel(logging.WARNING)
