"""`compass forget`: delete everything kept about one person (the terminal's `/compass forget-me`)."""

from __future__ import annotations

import click

from bot.app import rights
from bot.app.types import LOCAL_WORKSPACE, Who
from bot.cli import common
from bot.domain.rights import deleted_summary


@click.command()
@click.option("--user", required=True, metavar="NAME", help="The person: a Slack user id (U...) or a terminal login.")
@click.option(
    "--workspace",
    default=LOCAL_WORKSPACE,
    show_default=True,
    metavar="ID",
    help="Their workspace: a Slack team id (T...), or local for terminal users.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def forget(user: str, workspace: str, yes: bool) -> None:
    """Delete everything kept about one person: assessments, answers, reports, preferences, sends."""
    config = common.settings()
    if not yes:
        click.confirm(
            f"Delete everything MLOps Compass keeps about {user} in {workspace}? This cannot be undone",
            abort=True,
            err=True,
        )
    database = common.database(config)
    try:
        deleted = rights.forget_person(database.sessions, Who(workspace, user), common.now())
    finally:
        database.dispose()
    if deleted.nothing:
        click.echo(f"compass forget: nothing is kept about {user} in {workspace}; deleted nothing")
    else:
        click.echo(f"compass forget: deleted {deleted_summary(deleted)} of {user} in {workspace}")
