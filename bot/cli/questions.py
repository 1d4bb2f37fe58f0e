"""`compass questions check` and `compass questions template`: the question bank from a terminal."""

from __future__ import annotations

from pathlib import Path

import click

# The commands import what they need when they run, so that `compass questions --help` stays as
# quick as `compass --help` (common brings SQLAlchemy and Alembic, assess rich, config pydantic).

BANK_ARGUMENT = click.argument("path", required=False, type=click.Path(path_type=Path))


@click.group()
def questions() -> None:
    """Work with the question bank."""


@questions.command("check")
@BANK_ARGUMENT
def questions_check(path: Path | None) -> None:
    """Validate a question bank (default: COMPASS_QUESTIONS or the shipped questions.json)."""
    from bot.cli import common
    from bot.config import questions_path_from_env

    # Not Settings.from_env(): checking a bank must work whatever else the environment lacks.
    target = path or questions_path_from_env()
    bank = common.bank(target)
    click.echo(
        f"OK: {target} is valid: {len(bank)} questions in {len(bank.dimensions)} dimensions "
        f"(version {bank.version}, hash {bank.content_hash})"
    )


@questions.command("template")
@BANK_ARGUMENT
def questions_template(path: Path | None) -> None:
    """Print an answers file for `compass assess --answers` with every question id (default bank as for check)."""
    from bot.cli import common
    from bot.cli.assess import answers_template
    from bot.config import questions_path_from_env

    click.echo(answers_template(common.bank(path or questions_path_from_env())))
