"""`compass questions check`, `template` and `packs`: the question bank from a terminal."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from bot.app.banks import BankSummary
    from bot.domain.questionnaire import Questionnaire

# The commands import what they need when they run, so that `compass questions --help` stays as
# quick as `compass --help` (common brings SQLAlchemy and Alembic, assess rich, config pydantic).

BANK_ARGUMENT = click.argument("path", required=False, type=click.Path(path_type=Path))
# A plain string, not click.Choice: the names live in bot.app.packs, which --help does not import;
# an unknown name is refused with the list of packs by load_pack.
PACK_OPTION = click.option(
    "--pack", "pack", metavar="NAME", help="A pack shipped with Compass (compass questions packs)."
)


@click.group()
def questions() -> None:
    """Work with the question bank."""


def _path_or_pack(path: Path | None, pack: str | None) -> tuple[str, Questionnaire]:
    """Which bank a command means: a file, a pack, or COMPASS_QUESTIONS (else the shipped questions.json)."""
    from bot.cli import common
    from bot.config import questions_path_from_env

    if path is not None and pack is not None:
        raise click.UsageError("Give a PATH or --pack NAME, not both.")
    if pack is not None:
        return f"pack {pack}", common.pack(pack)
    # Not Settings.from_env(): checking a bank must work whatever else the environment lacks.
    target = path or questions_path_from_env()
    return str(target), common.bank(target)


@questions.command("check")
@BANK_ARGUMENT
@PACK_OPTION
@click.option("--all-packs", is_flag=True, help="Check every pack shipped with Compass.")
def questions_check(path: Path | None, pack: str | None, all_packs: bool) -> None:
    """Validate a question bank (default: COMPASS_QUESTIONS or the shipped questions.json)."""
    from bot.app.packs import PACKS, pack_path
    from bot.cli import common
    from bot.domain.questionnaire import QuestionnaireError, load_questionnaire

    def ok(what: str, bank: Questionnaire) -> str:
        return (
            f"OK: {what} is valid: {len(bank)} questions in {len(bank.dimensions)} dimensions "
            f"(version {bank.version}, hash {bank.content_hash})"
        )

    if all_packs:
        if path is not None or pack is not None:
            raise click.UsageError("--all-packs checks every pack: give no PATH or --pack with it.")
        failed = []
        for name in PACKS:
            # Read afresh rather than through load_pack's cache: this is the check of the files.
            try:
                click.echo(ok(f"pack {name} ({pack_path(name)})", load_questionnaire(pack_path(name))))
            except QuestionnaireError as exc:
                click.echo(f"FAILED: pack {name}: {exc}", err=True)
                failed.append(name)
        if failed:
            common.fail(f"{len(failed)} of {len(PACKS)} packs are invalid: {', '.join(failed)}")
        return
    what, bank = _path_or_pack(path, pack)
    click.echo(ok(what, bank))


@questions.command("template")
@BANK_ARGUMENT
@PACK_OPTION
def questions_template(path: Path | None, pack: str | None) -> None:
    """Print an answers file for `compass assess --answers` with every question id (default bank as for check)."""
    from bot.cli.assess import answers_template

    _, bank = _path_or_pack(path, pack)
    click.echo(answers_template(bank))


@questions.command("packs")
def questions_packs() -> None:
    """List the packs shipped with Compass: name, version, dimensions, questions, minutes to answer."""
    from bot.app.packs import pack_summaries
    from bot.cli import common
    from bot.domain.questionnaire import QuestionnaireError
    from bot.domain.reading import DECISION_SECONDS, WORDS_PER_MINUTE

    try:
        summaries = pack_summaries()
    except QuestionnaireError as exc:
        common.fail(str(exc))
    rows = [("PACK", "VERSION", "DIMENSIONS", "QUESTIONS", "MINUTES")]
    rows += [(p.name, p.version, str(p.dimensions), str(p.questions), str(p.minutes)) for p in summaries]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    click.echo(
        f"Minutes: reading at {WORDS_PER_MINUTE} words a minute plus {DECISION_SECONDS} seconds a question"
        " to choose, rounded up (docs/questions.md)."
    )


WORKSPACE_OPTION = click.option(
    "--workspace", required=True, metavar="T…|local", help='The Slack team id, or "local" for the terminal.'
)


def _bank_lines(summary: BankSummary) -> list[str]:
    lines = [
        f"Bank: {summary.name}, version {summary.version} (hash {summary.content_hash}, revision {summary.revision})",
        f"{summary.questions} questions (about {summary.minutes} minutes) in {len(summary.dimensions)} dimensions:",
    ]
    lines += [f"  - {d.name} ({d.id}): {d.questions} questions" for d in summary.dimensions]
    if summary.set_by is not None and summary.set_at is not None:
        lines.append(f"Set by {summary.set_by} at {summary.set_at:%Y-%m-%d %H:%M} UTC")
    else:
        lines.append("The deployment's default bank (COMPASS_QUESTIONS); no one set another for this workspace.")
    return lines


@questions.command("show")
@WORKSPACE_OPTION
def questions_show(workspace: str) -> None:
    """Show the bank a workspace answers: name, version, dimensions, questions, who set it and when."""
    from bot.app.banks import bank_view
    from bot.app.context import AppContext
    from bot.cli import common

    config = common.settings()
    database = common.database(config)
    try:
        view = bank_view(AppContext(database.sessions, common.bank(config.COMPASS_QUESTIONS)), workspace)
    finally:
        database.dispose()
    click.echo("\n".join(_bank_lines(view.current)))
    click.echo(f"Unfinished assessments: {view.unfinished}. Packs: {', '.join(view.packs)}.")


@questions.command("set")
@WORKSPACE_OPTION
@click.argument("source", metavar="PACK|FILE")
def questions_set(workspace: str, source: str) -> None:
    """Give a workspace a pack (full, core, llmops) or a bank file; unfinished assessments carry over
    the answers to questions both banks share."""
    import getpass

    from bot.app.banks import CUSTOM, BankConflict, bank_view, pack_document, parse_document, set_bank
    from bot.app.context import AppContext
    from bot.app.packs import UnknownPack
    from bot.cli import common
    from bot.config import pack_path
    from bot.domain.questionnaire import QuestionnaireError

    if pack_path(source) is not None or not Path(source).exists():
        try:
            name, document = source, pack_document(source)
        except UnknownPack as exc:
            common.fail(f"{exc.detail} A file path works too.")
    else:
        try:
            name, document = CUSTOM, Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            common.fail(f"cannot read {source}: {exc}")
    try:
        parse_document(document, source)  # named as the operator named it; set_bank checks it again
    except QuestionnaireError as exc:
        common.fail(f"{exc}\nNothing was changed.")
    config = common.settings()
    database = common.database(config)
    try:
        ctx = AppContext(database.sessions, common.bank(config.COMPASS_QUESTIONS))
        expected = bank_view(ctx, workspace).current.revision
        result = set_bank(
            ctx, workspace, name, document, by=f"cli:{getpass.getuser()}", now=common.now(), expected_version=expected
        )
    except QuestionnaireError as exc:
        common.fail(f"{exc}\nNothing was changed.")
    finally:
        database.dispose()
    if isinstance(result, BankConflict):
        common.fail(f"{result.current.set_by} changed the bank meanwhile; nothing was changed. Run it again.")
    click.echo(f"{workspace} now answers {result.bank.name} (was {result.previous.name}).")
    click.echo("\n".join(_bank_lines(result.bank)))
    if result.unfinished:
        click.echo(
            f"{result.unfinished} unfinished assessment(s) will carry over the answers to questions both banks "
            "share on their next click."
        )
