"""The ``compass`` command: thin glue from arguments to services and renderers."""

from __future__ import annotations

import getpass
import json
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.markup import escape

from bot import services, terminal
from bot.config import DEFAULT_QUESTIONS, ConfigError, Settings
from bot.db.models import LOCAL_WORKSPACE
from bot.db.setup import Database, open_database
from bot.domain.flow import Status
from bot.domain.questionnaire import Questionnaire, QuestionnaireError, load_questionnaire
from bot.errors import CompassError
from bot.services import Progress, Who
from bot.sidecars import Sidecars


def _now() -> datetime:
    return datetime.now(UTC)


def _fail(message: str, code: int = 1) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        _fail(str(exc))


def _bank(path: Path) -> Questionnaire:
    try:
        return load_questionnaire(path)
    except QuestionnaireError as exc:
        _fail(str(exc))


def _database(settings: Settings) -> Database:
    return open_database(settings.DATABASE_URL)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    import os

    target = path or Path(os.environ.get("COMPASS_QUESTIONS") or DEFAULT_QUESTIONS)
    bank = _bank(target)
    click.echo(
        f"OK: {target} is valid: {len(bank)} questions in {len(bank.dimensions)} dimensions "
        f"(version {bank.version}, hash {bank.content_hash})"
    )


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Run the migrations up to the newest schema (the release step)."""
    from bot.db import migrate
    from bot.db.session import make_engine

    settings = _settings()
    engine = make_engine(settings.DATABASE_URL)
    migrate.upgrade(engine)
    engine.dispose()
    click.echo("database is at the newest schema")


def _read_answers(source: str, bank: Questionnaire) -> dict[str, int | None]:
    """Parse and check an answers file: {"question id": 1-4 or "na"}."""
    try:
        raw = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot read answers file {source}: {exc.strerror or exc}")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        _fail(f"answers file {source} is not valid JSON: {exc.msg} at line {exc.lineno}")
    if isinstance(data, dict) and isinstance(data.get("answers"), dict):
        data = data["answers"]
    if not isinstance(data, dict):
        _fail(f'answers file {source} must be a JSON object like {{"question id": 3}}')
    problems = []
    answers: dict[str, int | None] = {}
    for key, value in data.items():
        if not bank.has_question(key):
            problems.append(f"{key}: no such question in bank version {bank.version}")
            continue
        question = bank.question(key)
        if isinstance(value, str) and value.strip().lower() in ("na", "n/a"):
            value = None
        if value is None:
            if not question.allow_na:
                problems.append(f"{key}: 'not applicable' is not an allowed answer to this question")
            answers[key] = None
        elif isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 4:
            answers[key] = value
        else:
            problems.append(f'{key}: answer must be a level 1-4 or "na", got {json.dumps(value)}')
    if problems:
        _fail(f"answers file {source} has problems:\n" + "\n".join(f"  - {p}" for p in problems))
    return answers


@main.command()
@click.option("--answers", "answers_source", metavar="FILE", help='Answer from a JSON file ("-" for stdin).')
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--restart", is_flag=True, help="Abandon an unfinished assessment and start over.")
@click.option("--user", default=None, help="Whose assessment (default: your login name).")
def assess(answers_source: str | None, as_json: bool, restart: bool, user: str | None) -> None:
    """Take the assessment in the terminal; Ctrl-C keeps your progress."""
    settings = _settings()
    bank = _bank(settings.COMPASS_QUESTIONS)
    scripted = _read_answers(answers_source, bank) if answers_source else None
    database = _database(settings)
    who = Who(LOCAL_WORKSPACE, user or getpass.getuser())
    console = terminal.make_console(stderr=as_json)
    try:
        if scripted is not None:
            # Check before starting (or restarting) anything, so an incomplete file
            # neither leaves an empty assessment behind nor throws progress away.
            pending = None if restart else services.current_progress(database.sessions, bank, who, _now())
            _check_complete(bank, scripted, pending)
        progress = _begin(database, bank, who, restart, interactive=scripted is None, console=console)
        if scripted is not None:
            _check_complete(bank, scripted, progress)
            progress = _answer_scripted(database, bank, who, progress, scripted)
        else:
            progress = _answer_interactively(database, bank, who, progress, console)
    except KeyboardInterrupt:
        console.print("\nProgress saved. Run [bold]compass assess[/bold] again to resume.")
        sys.exit(130)
    except CompassError as exc:
        _fail(exc.detail)
    finally:
        database.dispose()
    report = progress.report
    assert report is not None
    if as_json:
        click.echo(json.dumps({"assessment_id": progress.assessment_id, **report.to_json_dict()}, indent=2))
    else:
        terminal.make_console().print(terminal.render_report(report))


def _check_complete(bank: Questionnaire, answers: dict[str, int | None], progress: Progress | None) -> None:
    """Fail unless the answers cover every question from where the assessment stands."""
    position = 0 if progress is None else progress.position
    missing = [q.id for q in bank.questions[position:] if q.id not in answers]
    if missing:
        kept = "" if progress is None else f"\n(progress kept: question {progress.number} of {progress.total})"
        _fail("answers file has no answer for question(s): " + ", ".join(missing) + kept)


def _begin(
    database: Database, bank: Questionnaire, who: Who, restart: bool, interactive: bool, console: Any
) -> Progress:
    if restart:
        return services.restart_assessment(database.sessions, bank, who, _now())
    started = services.start_assessment(database.sessions, bank, who, _now())
    if not started.resumable:
        return started.progress
    p = started.progress
    if not interactive:
        return p
    console.print(f"You have an unfinished assessment at question {p.number} of {p.total}.")
    while True:
        # markup=False: rich would read "[s]" as its strike-through tag and hide the "s"
        choice = console.input("[R]esume or [s]tart over? ", markup=False).strip().lower()
        if choice in ("", "r", "resume"):
            return p
        if choice in ("s", "start over", "restart"):
            return services.restart_assessment(database.sessions, bank, who, _now())
        console.print("Please type r to resume or s to start over.")


def _answer_scripted(
    database: Database, bank: Questionnaire, who: Who, progress: Progress, answers: dict[str, int | None]
) -> Progress:
    while progress.status is Status.ASKING:
        assert progress.question is not None
        qid = progress.question.id
        result = services.record_answer(database.sessions, bank, who, progress.assessment_id, qid, answers[qid], _now())
        progress = result.progress
    return progress


def _answer_interactively(
    database: Database, bank: Questionnaire, who: Who, progress: Progress, console: Any
) -> Progress:
    while progress.status is Status.ASKING:
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
            result = services.go_back(database.sessions, bank, who, progress.assessment_id, question.id, _now())
        else:
            level = key if isinstance(key, int) else None
            result = services.record_answer(
                database.sessions, bank, who, progress.assessment_id, question.id, level, _now()
            )
        progress = result.progress
    return progress


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 500))
@click.option("--user", default=None, help="Whose history (default: your login name).")
def history(as_json: bool, limit: int, user: str | None) -> None:
    """Past results with the change since the previous one."""
    settings = _settings()
    database = _database(settings)
    try:
        entries = services.history(database.sessions, Who(LOCAL_WORKSPACE, user or getpass.getuser()), limit)
    finally:
        database.dispose()
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "assessment_id": e.assessment_id,
                        "completed_at": e.completed_at.isoformat(),
                        "overall": e.overall,
                        "level": e.level,
                        "change": e.change,
                        "bank_version": e.bank_version,
                    }
                    for e in entries
                ],
                indent=2,
            )
        )
        return
    console = terminal.make_console()
    if not entries:
        console.print("No completed assessments yet. Run [bold]compass assess[/bold] to take one.")
        return
    console.print(terminal.render_history(entries))


@main.command()
@click.option("--socket", "mode", flag_value="socket", help="Force Socket Mode (needs SLACK_APP_TOKEN).")
@click.option("--http", "mode", flag_value="http", help="Force HTTP on $PORT (needs SLACK_SIGNING_SECRET).")
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(1, 64),
    help="HTTP worker processes (default: WEB_CONCURRENCY or 1).",
)
@click.option(
    "--with-scheduler/--no-scheduler",
    "with_scheduler",
    default=None,
    help="Also run the scheduler (default: on for the embedded SQLite database, off for PostgreSQL).",
)
@click.option(
    "--with-worker/--no-worker",
    "with_worker",
    default=True,
    help="Also run `compass worker`, which does the work behind each acknowledged request (default: on). "
    "Turn it off when workers run as processes of their own.",
)
def serve(mode: str | None, workers: int | None, with_scheduler: bool | None, with_worker: bool) -> None:
    """Run the Slack app: Socket Mode when SLACK_APP_TOKEN is set, else HTTP on $PORT."""
    import logging
    import os

    from bot import web, wiring

    settings = _settings()
    mode = mode or ("socket" if settings.SLACK_APP_TOKEN else "http")
    try:
        settings.require_slack("socket" if mode == "socket" else "http")
    except ConfigError as exc:
        _fail(str(exc))
    _bank(settings.COMPASS_QUESTIONS)  # refuse to start on an invalid bank, with the located problems
    logging.basicConfig(level=settings.LOG_LEVEL, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if with_scheduler is None:
        # One process with an embedded database: nothing else would run the scheduler.
        with_scheduler = settings.DATABASE_URL.startswith("sqlite")
    # The database is migrated once here, before any other process opens it.
    open_database(settings.DATABASE_URL).dispose()
    # The worker and (over HTTP, where gunicorn forks) the scheduler are processes of
    # their own that stop with this one; a worker in here would slow the acks down.
    parent = ["--parent-pid", str(os.getpid())]
    sidecars = [["worker", *parent]] if with_worker else []
    if mode == "http" and with_scheduler:
        sidecars.append(["scheduler", *parent])
    if not with_worker:
        click.echo("No worker in this process: requests are acknowledged and queued for `compass worker`.")
    with Sidecars(sidecars):
        if mode == "socket":
            _serve_socket(settings, with_scheduler)
            return

        def build() -> web.CompassWSGI:
            database = open_database(settings.DATABASE_URL, auto_migrate=False)
            deps = wiring.build_deps(settings, database, serving=True)
            app = web.CompassWSGI(wiring.build_app(settings, deps), deps)
            web.freeze_startup_objects()
            return app

        count = workers or int(os.environ.get("WEB_CONCURRENCY") or 1)
        click.echo(f"MLOps Compass listening on 0.0.0.0:{settings.PORT}{web.EVENTS_PATH} ({count} worker(s))")
        web.serve_http(settings, build, count)


def _serve_socket(settings: Settings, with_scheduler: bool) -> None:
    from bot import web, wiring

    deps = wiring.build_deps(settings, serving=True)
    background = None
    if with_scheduler:
        from bot.scheduler import build_scheduler

        client = wiring.build_client(settings, retry_rate_limits=False)
        background = build_scheduler(_tick(settings, deps, client), settings.COMPASS_TICK_MINUTES)
        background.start()
    app = wiring.build_app(settings, deps)
    web.freeze_startup_objects()
    try:
        web.serve_socket(app, settings)
    except web.SocketModeRefused as exc:
        _fail(f"configuration problems:\n  - {exc}")
    finally:
        if background is not None:
            background.shutdown(wait=False)
        if deps.outbox is not None:
            deps.outbox.close()


def _stop_event(parent_pid: int | None) -> threading.Event:
    """An event set on SIGTERM or Ctrl-C, and (for sidecars) once ``parent_pid`` is gone, even if it was killed.

    The parent's pid is passed in rather than read at start: it may die before we get here.
    """
    import os
    import signal
    import time

    stop = threading.Event()

    def on_signal(*_: object) -> None:
        # Not stop.set() here: the main thread may hold the event's lock inside stop.wait().
        threading.Thread(target=stop.set, name="compass-stop").start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def watch(parent: int) -> None:
        while os.getppid() == parent and not stop.is_set():
            time.sleep(0.5)
        stop.set()

    if parent_pid:
        threading.Thread(target=watch, args=(parent_pid,), name="compass-parent-watch", daemon=True).start()
    return stop


def _job_runner(settings: Settings, retry_rate_limits: bool = False):  # type: ignore[no-untyped-def]
    """Dependencies for background work: the database, the bank and a Slack client.

    The scheduler's sender honours Retry-After itself; the worker lets the client retry.
    """
    from bot import wiring

    try:
        settings.require_slack("api")
    except ConfigError as exc:
        _fail(str(exc))
    _bank(settings.COMPASS_QUESTIONS)
    deps = wiring.build_deps(settings)
    return deps, wiring.build_client(settings, retry_rate_limits=retry_rate_limits)


def _tick(settings: Settings, deps: Any, client: Any) -> Callable[[], None]:
    """The scheduler's periodic job: everything due now, failures logged, never fatal."""
    from bot import jobs
    from bot.scheduler import safe

    job_settings = settings.job_settings()
    return safe(lambda: jobs.run_due(deps, client, job_settings, _now()))


PARENT_PID = click.option("--parent-pid", type=int, default=None, hidden=True, help="Stop when this parent is gone.")


@main.command()
@PARENT_PID
def scheduler(parent_pid: int | None) -> None:
    """Run the scheduler (exactly one per deployment): digests, invitations, reminders."""
    import logging

    from bot.scheduler import build_scheduler

    settings = _settings()
    logging.basicConfig(level=settings.LOG_LEVEL, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    deps, client = _job_runner(settings)
    stop = _stop_event(parent_pid)
    sched = build_scheduler(_tick(settings, deps, client), settings.COMPASS_TICK_MINUTES)
    click.echo(f"MLOps Compass scheduler: checking every {settings.COMPASS_TICK_MINUTES} minute(s)")
    sched.start()
    stop.wait()
    sched.shutdown(wait=False)


@main.command()
@click.option(
    "--threads",
    default=None,
    type=click.IntRange(1, 64),
    help="Requests handled at once (default: COMPASS_WORKER_THREADS or 8).",
)
@click.option(
    "--nice",
    "niceness",
    default=10,
    type=click.IntRange(0, 19),
    help="Lower this process's CPU priority by this much, so that on a shared machine the web process's "
    "acks come first (default 10).",
)
@PARENT_PID
def worker(threads: int | None, niceness: int, parent_pid: int | None) -> None:
    """Run a worker: it does the work behind every acknowledged Slack request (run one or more)."""
    import logging
    import os

    from bot.slack.listeners import work_handlers
    from bot.worker import Worker, WorkerSettings

    settings = _settings()
    logging.basicConfig(level=settings.LOG_LEVEL, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    deps, client = _job_runner(settings, retry_rate_limits=True)
    threads = threads or settings.COMPASS_WORKER_THREADS
    if niceness:
        os.nice(niceness)
    stop = _stop_event(parent_pid)
    click.echo(f"MLOps Compass worker: {threads} thread(s)")
    Worker(deps, client, work_handlers(), WorkerSettings(threads=threads)).run(stop)


@main.group()
def jobs() -> None:
    """Scheduled work, run by hand (or from cron)."""


@jobs.command("run-due")
@click.option("--at", "at", default=None, help="Pretend it is this ISO time (default: now), e.g. 2026-12-01T10:30:00Z.")
def jobs_run_due(at: str | None) -> None:
    """Send every digest, invitation and reminder due at that time, once, then exit."""
    from bot import jobs as job_functions

    settings = _settings()
    when = _parse_time(at) if at else _now()
    deps, client = _job_runner(settings)
    report = job_functions.run_due(deps, client, settings.job_settings(), when)
    click.echo(str(report))


def _parse_time(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        _fail(f"--at {text!r} is not an ISO time such as 2026-12-01T10:30:00Z")
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@main.command()
@click.option("--channel", required=True, help="Channel id (C...) that has a digest set up.")
@click.option("--now", "now_flag", is_flag=True, required=True, help="Post at once rather than on the schedule.")
def digest(channel: str, now_flag: bool) -> None:
    """Post a team digest to a channel right away."""
    from bot import jobs as job_functions

    settings = _settings()
    deps, client = _job_runner(settings)
    try:
        result = job_functions.post_digest_now(deps, client, settings.job_settings(), channel, _now())
    except (LookupError, RuntimeError) as exc:
        _fail(str(exc))
    shown = "with team figures" if result.visible else f"without figures ({result.needed} more answers needed)"
    click.echo(f"digest posted to {channel}: {result.respondents} of {result.members} members assessed, {shown}")
