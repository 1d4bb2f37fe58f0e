"""`compass questions check`: the question bank from a terminal."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli import common
from bot.config import questions_path_from_env

BANK_ARGUMENT = click.argument("path", required=False, type=click.Path(path_type=Path))


@click.group()
def questions() -> None:
    """Work with the question bank."""


@questions.command("check")
@BANK_ARGUMENT
def questions_check(path: Path | None) -> None:
    """Validate a question bank (default: COMPASS_QUESTIONS or the shipped questions.json)."""
    # Not Settings.from_env(): checking a bank must work whatever else the environment lacks.
    target = path or questions_path_from_env()
    bank = common.bank(target)
    click.echo(
        f"OK: {target} is valid: {len(bank)} questions in {len(bank.dimensions)} dimensions "
        f"(version {bank.version}, hash {bank.content_hash})"
    )
