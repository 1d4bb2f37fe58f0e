"""`compass export`: completed assessments, (``--teams``) the digest history, as CSV or JSON, with the
teams' sessions (agreed levels and actions, never a vote) in the JSON, or
(``--user``) everything kept about one person as the JSON of `/compass export-me`."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from bot.app import export as use
from bot.app import rights
from bot.app.context import AppContext
from bot.app.types import LOCAL_WORKSPACE, Who
from bot.cli import common
from bot.domain.export import assessment_table, assessments_json, team_table, teams_json, to_csv
from bot.domain.rights import personal_json

EXIT_BAD_INPUT = 2  # click's own status for bad usage


def _bad(message: str) -> NoReturn:
    common.fail(f"compass export: {message}", EXIT_BAD_INPUT)


class _OneLineErrors(click.Command):
    """Bad input is one line on stderr and status 2, rather than click's usage block: an export is
    often run from a script, whose log should say what was wrong and nothing else."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            _bad(exc.format_message())


class _Date(click.ParamType[datetime]):
    name = "date"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date; use YYYY-MM-DD (UTC) or an ISO 8601 time", param, ctx)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@click.command(cls=_OneLineErrors)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), help="csv (the default) or json; --user always writes json."
)
@click.option(
    "--since",
    type=_Date(),
    metavar="DATE",
    help="Only what was completed (with --teams: sent) on or after DATE: YYYY-MM-DD, UTC.",
)
@click.option("--workspace", metavar="ID", help="Only this workspace: a Slack team id (T...), or local.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write to FILE (replaced whole, readable by you only) instead of stdout.",
)
@click.option("--with-user-ids", is_flag=True, help="Name people by their user id, not a pseudonymous key.")
@click.option(
    "--teams",
    is_flag=True,
    help="The digests each channel was sent (and, in the JSON, its sessions), instead of the assessments.",
)
@click.option(
    "--user",
    metavar="NAME",
    help="Everything kept about one person (a Slack user id, or a terminal login; in --workspace, default "
    "local), as the JSON file /compass export-me sends.",
)
def export(
    *,  # click passes every option by name
    fmt: str | None,
    since: datetime | None,
    workspace: str | None,
    out: Path | None,
    with_user_ids: bool,
    teams: bool,
    user: str | None,
) -> None:
    """Export completed assessments (--teams: the digest history; --user: one person's data) as CSV or JSON."""
    if teams and with_user_ids:
        _bad("--with-user-ids has no meaning with --teams: digests name no one")
    if user is not None and (teams or since is not None or with_user_ids or fmt == "csv"):
        _bad("--user exports one person's data as JSON; it takes only --workspace and --out")
    fmt = fmt or ("json" if user is not None else "csv")
    config = common.settings()
    bank = common.bank(config.COMPASS_QUESTIONS)
    # The file is made first, so that an unwritable --out fails before any work, and filled
    # and renamed only at the end, so that no failure leaves half an export behind.
    staged = _stage(out) if out is not None else None
    try:
        database = common.database(config)
        try:
            ctx = AppContext(database.sessions, bank)
            now = common.now()
            if user is not None:
                person = rights.export_person(ctx, Who(workspace or LOCAL_WORKSPACE, user))
                counted = _count(len(person.assessments), "assessment")
                text = _json(personal_json(person, now))
            elif teams:
                history = use.export_teams(
                    ctx, min_respondents=config.COMPASS_MIN_RESPONDENTS, since=since, workspace=workspace
                )
                counted = _count(len(history.periods), "digest")
                if fmt == "csv":
                    text = to_csv(team_table(history))
                else:
                    text = _json(teams_json(history, now))
                    counted += f" and {_count(len(history.sessions), 'team session')}"
            else:
                found = use.export_assessments(
                    ctx, now, since=since, workspace=workspace, user_ids=with_user_ids, with_answers=fmt == "json"
                )
                counted = _count(len(found.assessments), "assessment")
                text = to_csv(assessment_table(found)) if fmt == "csv" else _json(assessments_json(found, now))
        finally:
            database.dispose()
        data = text.encode("utf-8")
        if staged is None:
            sys.stdout.flush()
            sys.stdout.buffer.write(data)  # bytes: UTF-8 whatever the locale says
            sys.stdout.buffer.flush()
        else:
            _commit(staged, data)
    finally:
        if staged is not None and staged[1].exists():
            staged[1].unlink()
    where = "" if out is None else f" to {out}"
    click.echo(f"compass export: {counted}{where}", err=True)


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _stage(out: Path) -> tuple[Path, Path]:
    """An empty temporary file beside ``out`` (mode 0600: an export is personal data); (out, temp)."""
    try:
        fd, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".partial")
    except OSError as exc:
        _bad(f"cannot write {out}: {exc.strerror or exc}")
    os.close(fd)
    return out, Path(name)


def _commit(staged: tuple[Path, Path], data: bytes) -> None:
    """Fill the temporary file and rename it over ``out`` in one step."""
    out, temp = staged
    try:
        with temp.open("wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        temp.replace(out)
    except OSError as exc:
        _bad(f"cannot write {out}: {exc.strerror or exc}")
