"""The ``compass`` command group and its small maintenance commands.

Subcommands are imported when they run (``LazyGroup``), so that ``compass assess`` does
not pay at start for Bolt, gunicorn and APScheduler, which only ``serve`` and friends use.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import click

from bot.cli import common
from bot.config import EXIT_STARTUP, StartupProblem, questions_path_from_env

LAZY_COMMANDS = {
    "assess": "bot.cli.assess:assess",
    "history": "bot.cli.assess:history",
    "serve": "bot.cli.serve:serve",
    "worker": "bot.cli.serve:worker",
    "scheduler": "bot.cli.serve:scheduler",
    "jobs": "bot.cli.admin:jobs",
    "digest": "bot.cli.admin:digest",
    "db": "bot.cli.admin:db",
    "status": "bot.cli.admin:status",
}


class LazyGroup(click.Group):
    """A group whose subcommands live in other modules, imported on first use (the click docs' pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS:
            module, attr = LAZY_COMMANDS[cmd_name].split(":")
            command: Any = getattr(importlib.import_module(module), attr)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        """The one place a problem outside the code (database, token) becomes one line and an exit code."""
        try:
            return super().invoke(ctx)
        except StartupProblem as exc:
            click.echo(f"compass: {exc}", err=True)
            ctx.exit(EXIT_STARTUP)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mlops-compass")
def main() -> None:
    """MLOps Compass: find where your MLOps practice is weakest and what to improve next."""


@main.group()
def questions() -> None:
    """Work with the question bank."""


@questions.command("check")
@click.argument("path", required=False, type=click.Path(path_type=Path))
def questions_check(path: Path | None) -> None:
    """Validate a question bank (default: COMPASS_QUESTIONS or the shipped questions.json)."""
    # Not Settings.from_env(): checking a bank must work whatever else the environment lacks.
    target = path or questions_path_from_env()
    bank = common.bank(target)
    click.echo(
        f"OK: {target} is valid: {len(bank)} questions in {len(bank.dimensions)} dimensions "
        f"(version {bank.version}, hash {bank.content_hash})"
    )
