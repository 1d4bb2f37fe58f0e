"""`compass assess`, `compass report` and `compass history`: the assessment in a terminal."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from bot.app import assessment, results
from bot.app.context import AppContext
from bot.app.types import LOCAL_WORKSPACE, Click, Progress, Who
from bot.charts.data import Chart, radar_for_report, trend_for_reports
from bot.cli import common, terminal
from bot.domain.errors import CompassError
from bot.domain.flow import InvalidAnswer, NotApplicableRefused, Status, UnknownQuestion, check_answer
from bot.domain.questionnaire import Questionnaire

NA_WORDS = ("na", "n/a")
# The value `compass questions template` writes for each question: still to be answered (asked on a terminal).
UNANSWERED = "?"


def _answer_problem(bank: Questionnaire, key: str, value: Any) -> tuple[int | None, str | None]:
    """The level a file's value stands for, or the problem with it (the domain judges what a question accepts)."""
    if isinstance(value, str) and value.strip().lower() in NA_WORDS:
        value = None
    is_level = value is None or (isinstance(value, int) and not isinstance(value, bool))
    try:
        # Anything that is not a number (text, true) is handed over as 0, which no question accepts,
        # so that an unknown question is still named first.
        check_answer(bank, key, value if is_level else 0)
    except UnknownQuestion:
        return None, f"no such question in bank version {bank.version}"
    except NotApplicableRefused:
        return None, "'not applicable' is not an allowed answer to this question"
    except InvalidAnswer:
        return None, f'answer must be a level 1-4 or "na", got {json.dumps(value)}'
    return value, None


def read_answers(source: str, bank: Questionnaire) -> dict[str, int | None]:
    """Parse and check an answers file: {"question id": 1-4, "na" or "?"}; "?" (unanswered) is left out."""
    try:
        raw = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        common.fail(f"cannot read answers file {source}: {exc.strerror or exc}")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        common.fail(f"answers file {source} is not valid JSON: {exc.msg} at line {exc.lineno}")
    if isinstance(data, dict) and isinstance(data.get("answers"), dict):
        data = data["answers"]
    if not isinstance(data, dict):
        common.fail(f'answers file {source} must be a JSON object like {{"question id": 3}}')
    problems = []
    answers: dict[str, int | None] = {}
    for key, value in data.items():
        if value == UNANSWERED and bank.has_question(key):
            continue
        level, problem = _answer_problem(bank, key, value)
        if problem:
            problems.append(f"{key}: {problem}")
        else:
            answers[key] = level
    if problems:
        common.fail(f"answers file {source} has problems:\n" + "\n".join(f"  - {p}" for p in problems))
    return answers


def answers_template(bank: Questionnaire) -> str:
    """An answers file with every question at "?", in the format ``read_answers`` reads.

    JSON has no comments: the explanations sit beside "answers", which is all that is read.
    """
    questions = {}
    for q in bank.questions:
        levels = ", ".join(f"{o.level} {o.label}" for o in q.options)
        na = '; or "na" (not applicable)' if q.allow_na else ""
        questions[q.id] = f"{q.title} ({bank.dimension(q.dimension).name}): {levels}{na}"
    document = {
        "bank_version": bank.version,
        "how_to": [
            f'Replace each "{UNANSWERED}" under "answers" with a level 1-4, or "na" where the question allows it.',
            f'Then run compass assess --answers FILE; on a terminal, questions left at "{UNANSWERED}" are asked.',
        ],
        "questions": questions,
        "answers": {q.id: UNANSWERED for q in bank.questions},
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def _who(user: str | None) -> Who:
    return Who(LOCAL_WORKSPACE, user or getpass.getuser())


def local_bank(ctx: AppContext, pack: str | None) -> Questionnaire:
    """The bank the terminal answers: the local workspace's own when one was set, else ``ctx.bank``
    (COMPASS_QUESTIONS or ``--pack``). A pack cannot override a bank set for the workspace: the
    use cases would ask the workspace's, not the pack's."""
    with ctx.sessions() as session:
        in_use = ctx.banks.in_use(session, LOCAL_WORKSPACE)
    if pack is not None and in_use.name is not None and in_use.bank.content_hash != ctx.bank.content_hash:
        raise CompassError(
            f"The terminal's workspace answers the {in_use.name!r} questions (set with `compass questions set "
            f"--workspace local`), so --pack {pack} cannot apply: run `compass questions set --workspace local "
            f"{pack}` to change them."
        )
    return in_use.bank


@click.command()
@click.option("--answers", "answers_source", metavar="FILE", help='Answer from a JSON file ("-" for stdin).')
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--restart", is_flag=True, help="Abandon an unfinished assessment and start over.")
@click.option("--user", default=None, help="Whose assessment (default: your login name).")
@click.option("--no-input", is_flag=True, help="Never ask: fail when the answers file leaves questions out.")
@click.option(
    "--pack",
    metavar="NAME",
    help="Answer a pack shipped with Compass (core, full, llmops) instead of COMPASS_QUESTIONS.",
)
def assess(
    *, answers_source: str | None, as_json: bool, restart: bool, user: str | None, no_input: bool, pack: str | None
) -> None:
    """Take the assessment in the terminal; Ctrl-C keeps your progress."""
    if no_input and not answers_source:
        raise click.UsageError("--no-input needs --answers FILE: without a file every answer is asked.")
    config = common.settings()
    chosen = common.pack(pack) if pack is not None else common.bank(config.COMPASS_QUESTIONS)
    database = common.database(config)
    ctx = AppContext(database.sessions, chosen)
    try:
        # The terminal is the "local" workspace: the bank an operator set for it (`compass questions
        # set --workspace local`) is the one its use cases ask, so the answers file is read against it.
        bank = local_bank(ctx, pack)
        scripted = read_answers(answers_source, bank) if answers_source else None
    except CompassError as exc:
        database.dispose()
        common.fail(exc.detail)
    except BaseException:
        database.dispose()
        raise
    # The questions a file leaves out are asked only on a terminal: from a pipe, a script could
    # hang or end half-way, so it is told which ids are missing before anything is stored.
    can_ask = scripted is None or (not no_input and answers_source != "-" and sys.stdin.isatty())
    who = _who(user)
    console = terminal.make_console(stderr=as_json)
    try:
        if scripted is not None and not can_ask:
            # Check before starting (or restarting) anything, so an incomplete file
            # neither leaves an empty assessment behind nor throws progress away.
            pending = None if restart else assessment.current_progress(ctx, who, common.now())
            _check_complete(bank, scripted, pending)
        progress = _begin(ctx, who, restart, console, ask=scripted is None)
        if scripted is not None and not can_ask:
            _check_complete(bank, scripted, progress)
        elif scripted is not None and (missing := _missing(bank, scripted, progress)):
            console.print(f"The answers file leaves {len(missing)} question(s) out: they are asked here.")
        progress = _answer(ctx, who, progress, console, scripted or {})
    except KeyboardInterrupt:
        again = "compass assess" if pack is None else f"compass assess --pack {pack}"
        console.print(f"\nProgress saved. Run [bold]{escape(again)}[/bold] again to resume.")
        sys.exit(130)
    except CompassError as exc:
        common.fail(exc.detail)
    finally:
        database.dispose()
    report = progress.report
    assert report is not None
    if as_json:
        click.echo(json.dumps({"assessment_id": progress.assessment_id, **report.to_json_dict()}, indent=2))
    else:
        terminal.make_console().print(terminal.render_report(report))


def _missing(bank: Questionnaire, answers: dict[str, int | None], progress: Progress | None) -> list[str]:
    """The ids the assessment has no answer for yet that the file does not answer either."""
    open_ids = [q.id for q in bank] if progress is None else list(progress.unanswered)
    return [qid for qid in open_ids if qid not in answers]


def _check_complete(bank: Questionnaire, answers: dict[str, int | None], progress: Progress | None) -> None:
    """Fail unless the answers cover every question from where the assessment stands."""
    missing = _missing(bank, answers, progress)
    if missing:
        kept = "" if progress is None else f"\n(progress kept: question {progress.number} of {progress.total})"
        common.fail(
            "answers file has no answer for question(s): "
            + ", ".join(missing)
            + kept
            + "\nAdd them to the file (compass questions template prints one with every question id),"
            + " or run compass assess --answers FILE on a terminal to be asked the rest."
        )


def _begin(ctx: AppContext, who: Who, restart: bool, console: Console, ask: bool) -> Progress:
    """The assessment to answer; with ``ask``, the person chooses whether to resume an unfinished one.
    If the question bank changed since it began, the person is told what that did to their answers."""
    if restart:
        return assessment.restart_assessment(ctx, who, common.now())
    started = assessment.start_assessment(ctx, who, common.now())
    if started.progress.notice:
        console.print(escape(started.progress.notice))
    if not started.resumable or not ask:
        return started.progress
    p = started.progress
    console.print(f"You have an unfinished assessment at question {p.number} of {p.total}.")
    while True:
        # markup=False: rich would read "[s]" as its strike-through tag and hide the "s"
        choice = console.input("[R]esume or [s]tart over? ", markup=False).strip().lower()
        if choice in ("", "r", "resume"):
            return p
        if choice in ("s", "start over", "restart"):
            return assessment.restart_assessment(ctx, who, common.now())
        console.print("Please type r to resume or s to start over.")


def _answer(
    ctx: AppContext, who: Who, progress: Progress, console: Console, from_file: dict[str, int | None]
) -> Progress:
    """Answer until the assessment is complete: from the file where it has the answer, else by asking."""
    unused = dict(from_file)
    while progress.status is Status.ASKING:
        question = progress.question
        assert question is not None
        if question.id in unused:
            # Used once: after "back" to a question the file answered, the person is asked it.
            click_ = Click(progress.assessment_id, question.id, unused.pop(question.id))
            progress = assessment.record_answer(ctx, who, click_, common.now()).progress
        else:
            progress = _ask(ctx, who, progress, console)
    return progress


def _ask(ctx: AppContext, who: Who, progress: Progress, console: Console) -> Progress:
    """Show the current question, read one valid key, and record it (or go back)."""
    question = progress.question
    assert question is not None
    console.print()
    console.print(terminal.render_question(progress))
    can_go_back = progress.position > 0
    while True:
        try:
            raw = console.input(terminal.prompt_hint(question, can_go_back) + ": ")
        except EOFError:
            raise KeyboardInterrupt from None
        key = terminal.parse_key(raw, question, can_go_back)
        if key != "":
            break
        shown = escape(raw.strip()) or "Nothing"  # typed text is not markup: "[/]" would crash rich
        console.print(f"[red]{shown} is not an answer here.[/red] Try again.")
    if key == "back":
        result = assessment.go_back(ctx, who, Click(progress.assessment_id, question.id), common.now())
    else:
        level = key if isinstance(key, int) else None
        result = assessment.record_answer(ctx, who, Click(progress.assessment_id, question.id, level), common.now())
    return result.progress


def _write_chart(path: Path, chart: Chart) -> None:
    try:
        path.write_bytes(chart.png)
    except OSError as exc:
        common.fail(f"cannot write the chart to {path}: {exc.strerror or exc}")
    click.echo(f"Chart written to {path} ({chart.width}x{chart.height} px). {chart.alt_text}", err=True)


CHART_OPTION = click.option(
    "--chart", "chart_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE.png", help="Also draw it."
)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@CHART_OPTION
@click.option("--user", default=None, help="Whose report (default: your login name).")
def report(as_json: bool, chart_path: Path | None, user: str | None) -> None:
    """The latest completed report; --chart FILE.png draws its radar chart."""
    config = common.settings()
    database = common.database(config)
    try:
        latest, previous = results.latest_with_previous(database.sessions, _who(user))
    finally:
        database.dispose()
    if latest is None:
        common.fail("no completed assessment yet: run compass assess to take one")
    if chart_path is not None:
        from bot.charts import render  # only when asked: the plotting library takes a while to import

        _write_chart(chart_path, render.radar(radar_for_report(latest, previous)))
    if as_json:
        click.echo(json.dumps(latest.to_json_dict(), indent=2))
    else:
        terminal.make_console().print(terminal.render_report(latest))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 500))
@CHART_OPTION
@click.option("--user", default=None, help="Whose history (default: your login name).")
def history(as_json: bool, limit: int, chart_path: Path | None, user: str | None) -> None:
    """Past results with the change since the previous one."""
    config = common.settings()
    database = common.database(config)
    try:
        entries = results.history(database.sessions, _who(user), limit)
        past = results.past_reports(database.sessions, _who(user), limit) if chart_path is not None else []
    finally:
        database.dispose()
    if chart_path is not None:
        from bot.charts import render

        _write_chart(chart_path, render.trend(trend_for_reports(reversed(past))))
    if as_json:
        rows = [
            {
                "assessment_id": e.assessment_id,
                "completed_at": e.completed_at.isoformat(),
                "overall": e.overall,
                "level": e.level,
                "change": e.change,
                "bank_version": e.bank_version,
            }
            for e in entries
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    console = terminal.make_console()
    if not entries:
        console.print("No completed assessments yet. Run [bold]compass assess[/bold] to take one.")
        return
    console.print(terminal.render_history(entries))
