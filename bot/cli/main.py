"""The ``compass`` command group.

Every subcommand lives in another module, imported when it runs (``LazyGroup``): ``compass
--help`` imports click and nothing else, ``compass assess`` does not pay for Bolt, gunicorn and
APScheduler, which only ``serve`` and friends use. Keep this module's imports to click, the
standard library and ``bot.startup``.
"""

from __future__ import annotations

import importlib
from typing import Any, NamedTuple

import click

from bot.startup import EXIT_STARTUP, StartupProblem


class Lazy(NamedTuple):
    target: str  # "module:attribute"
    summary: str  # the listing's line in ``compass --help``; a test keeps it equal to the command's own


LAZY_COMMANDS = {
    "assess": Lazy("bot.cli.assess:assess", "Take the assessment in the terminal; Ctrl-C keeps your progress."),
    "report": Lazy("bot.cli.assess:report", "The latest completed report; --chart FILE.png draws its radar chart."),
    "history": Lazy("bot.cli.assess:history", "Past results with the change since the previous one."),
    "questions": Lazy("bot.cli.questions:questions", "Work with the question bank."),
    "serve": Lazy(
        "bot.cli.serve:serve", "Run the Slack app: Socket Mode when SLACK_APP_TOKEN is set, else HTTP on $PORT."
    ),
    "worker": Lazy(
        "bot.cli.serve:worker",
        "Run a worker: it does the work behind every acknowledged Slack request (run one or more).",
    ),
    "scheduler": Lazy(
        "bot.cli.serve:scheduler",
        "Run the scheduler (exactly one per deployment): digests, invitations, reminders, idle team sessions.",
    ),
    "jobs": Lazy("bot.cli.admin:jobs", "Scheduled work, run by hand (or from cron)."),
    "digest": Lazy("bot.cli.admin:digest", "Post a team digest to a channel right away."),
    "db": Lazy("bot.cli.admin:db", "Database maintenance."),
    "signals": Lazy(
        "bot.cli.signals:signals",
        "Delivery signals: the GitHub, GitLab, MLflow and CI sources that report to a team channel.",
    ),
    "export": Lazy(
        "bot.cli.export:export",
        "Export completed assessments (--teams: the digest history; --user: one person's data) as CSV or JSON.",
    ),
    "forget": Lazy(
        "bot.cli.rights:forget",
        "Delete everything kept about one person: assessments, answers, reports, preferences, sends.",
    ),
    "status": Lazy(
        "bot.cli.admin:status",
        "Is the deployment well? The database and its schema, live workers, the queue, the scheduler.",
    ),
}


class LazyGroup(click.Group):
    """A group whose subcommands live in other modules, imported on first use (the click docs' pattern).

    The listing in ``--help`` comes from ``LAZY_COMMANDS``, so showing it imports nothing.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS:
            module, attr = LAZY_COMMANDS[cmd_name].target.split(":")
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

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if name in LAZY_COMMANDS:
                # a stand-in with the same help shortens it exactly as the real command would
                stand_in = click.Command(name, help=LAZY_COMMANDS[name].summary)
                rows.append((name, stand_in.get_short_help_str(limit)))
            else:
                command = super().get_command(ctx, name)
                if command is not None and not command.hidden:
                    rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mlops-compass")
def main() -> None:
    """MLOps Compass: find where your MLOps practice is weakest and what to improve next."""
