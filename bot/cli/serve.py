"""`compass serve`, `compass worker`, `compass scheduler`: the long-running processes."""

from __future__ import annotations

import os
from collections.abc import Callable

import click
from slack_sdk import WebClient

from bot.app import health, installs
from bot.app.context import AppContext
from bot.app.scheduled_run import RunReport
from bot.cli import common
from bot.config import Settings
from bot.db.beats import Beater
from bot.db.setup import open_database
from bot.domain.questionnaire import Questionnaire
from bot.queue.worker import WorkerSettings
from bot.run import oauth, socket, web, wiring
from bot.run.installations import Installations
from bot.run.scheduler import build_scheduler, retention_step, safe
from bot.run.sidecars import Sidecars
from bot.run.signals import stop_event
from bot.run.watchdog import Watchdog
from bot.slack import scheduled
from bot.slack.deps import Deps
from bot.slack.tokens import OneWorkspace, TokenSource

PARENT_PID = click.option("--parent-pid", type=int, default=None, hidden=True, help="Stop when this parent is gone.")


@click.command()
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
@click.option(
    "--worker-processes",
    default=None,
    type=click.IntRange(1, 16),
    help="How many `compass worker` processes to run beside it (default: COMPASS_WORKER_PROCESSES or 1). "
    "On PostgreSQL a second one uses a second core; SQLite has one writer, so more rarely help there.",
)
def serve(
    mode: str | None, workers: int | None, with_scheduler: bool | None, with_worker: bool, worker_processes: int | None
) -> None:
    """Run the Slack app: Socket Mode when SLACK_APP_TOKEN is set, else HTTP on $PORT."""
    config = common.settings()
    chosen = mode is not None
    mode = mode or ("socket" if config.SLACK_APP_TOKEN else "http")
    common.require_slack(config, "socket" if mode == "socket" else "http", chosen)
    bank = common.bank(config.COMPASS_QUESTIONS)  # refuse to start on an invalid bank, with the located problems
    common.configure_logging(config)
    if with_scheduler is None:
        # One process with an embedded database: nothing else would run the scheduler.
        with_scheduler = config.DATABASE_URL.startswith("sqlite")
    # The database is migrated (SQLite) or checked (PostgreSQL) once here, before any other process opens it.
    open_database(config.DATABASE_URL).dispose()
    if not config.distributed:  # distributed: each workspace's token comes with its installation
        wiring.verify_token(wiring.build_client(config))
    # The worker and (over HTTP, where gunicorn forks) the scheduler are processes of
    # their own that stop with this one; a worker in here would slow the acks down.
    parent = ["--parent-pid", str(os.getpid())]
    processes = worker_processes or config.COMPASS_WORKER_PROCESSES
    sidecars = [["worker", *parent] for _ in range(processes)] if with_worker else []
    if mode == "http" and with_scheduler:
        sidecars.append(["scheduler", *parent])
    if not with_worker:
        click.echo("No worker in this process: requests are acknowledged and queued for `compass worker`.")
    with Sidecars(sidecars):
        if mode == "socket":
            _serve_socket(config, bank, with_scheduler)
            return

        def build() -> web.CompassWSGI:
            database = open_database(config.DATABASE_URL, auto_migrate=False, check_schema=False)
            deps = wiring.build_deps(config, bank, database, serving=True)
            watchdog = Watchdog(deps.ctx.sessions, deps.clock).start()
            installations = wiring.build_installations(config, database) if config.distributed else None
            app = web.CompassWSGI(wiring.build_app(config, deps, installations=installations), deps, watchdog)
            web.freeze_startup_objects()
            return app

        count = workers or config.WEB_CONCURRENCY
        click.echo(f"MLOps Compass listening on {config.HOST}:{config.PORT}{web.EVENTS_PATH} ({count} worker(s))")
        if config.distributed:
            click.echo(f"Any workspace can install it from {config.COMPASS_PUBLIC_URL or ''}{oauth.INSTALL_PATH}")
        web.serve_http(config, build, count)


def _serve_socket(config: Settings, bank: Questionnaire, with_scheduler: bool) -> None:
    deps = wiring.build_deps(config, bank, serving=True)
    background = None
    if with_scheduler:
        client = wiring.build_scheduler_client(config)
        background = build_scheduler(_tick(config, deps.ctx, OneWorkspace(client)), config.COMPASS_TICK_MINUTES)
        background.start()
    app = wiring.build_app(config, deps)
    watchdog = Watchdog(deps.ctx.sessions, deps.clock).start()
    web.freeze_startup_objects()
    try:
        socket.serve_socket(app, config)  # a refused app token is a StartupProblem: one line, exit 2
    finally:
        watchdog.stop()
        if background is not None:
            background.shutdown(wait=False)
        if deps.outbox is not None:
            deps.outbox.close()


def background_deps(
    config: Settings, client_for: Callable[[Settings], WebClient] = wiring.build_scheduler_client
) -> tuple[Deps, WebClient]:
    """Dependencies for background work: the database, the bank and a Slack client (the scheduler's,
    unless ``client_for`` builds another)."""
    common.require_slack(config, "api")
    deps = wiring.build_deps(config, common.bank(config.COMPASS_QUESTIONS))
    client = client_for(config)
    wiring.verify_token(client)
    return deps, client


def background_tokens(
    config: Settings, client_for: Callable[[Settings], WebClient] = wiring.build_scheduler_client
) -> tuple[Deps, TokenSource, Installations | None]:
    """Like ``background_deps``, for the worker and the scheduler: the token of each job's workspace."""
    if not config.distributed:
        deps, client = background_deps(config, client_for)
        return deps, OneWorkspace(client), None
    common.require_slack(config, "api")
    database = open_database(config.DATABASE_URL)
    deps = wiring.build_deps(config, common.bank(config.COMPASS_QUESTIONS), database)
    tokens = wiring.token_source(config, database, client_for)
    return deps, tokens, wiring.build_installations(config, database)


def _tick(
    config: Settings, ctx: AppContext, tokens: TokenSource, installations: Installations | None = None
) -> Callable[[], None]:
    """The scheduler's periodic job: everything due now, failures logged, never fatal; each
    finished run is recorded as the scheduler's beat, which /healthz shows. In the distributed
    mode it walks every installed workspace, and first purges the data of those uninstalled
    longer than the grace period ago."""
    settings = wiring.outreach_settings(config)
    beater = Beater.this_process(health.SCHEDULER, common.now())
    retention = retention_step(ctx.sessions, config.COMPASS_RETENTION_DAYS)

    def tick() -> RunReport:
        retention(common.now())
        if installations is not None:
            purged = installs.purge_due(ctx.sessions, common.now())
            if purged:
                click.echo(f"purged the data of uninstalled workspace(s): {', '.join(purged)}")
            installations.forget_expired_states(common.now())
        report = scheduled.run_all_due(ctx, tokens, settings, common.now())
        health.record_beat(ctx.sessions, beater, common.now())
        return report

    return safe(tick)


@click.command()
@PARENT_PID
def scheduler(parent_pid: int | None) -> None:
    """Run the scheduler (exactly one per deployment): digests, invitations, reminders, idle team sessions."""
    config = common.settings()
    common.configure_logging(config)
    deps, tokens, installations = background_tokens(config)
    stop = stop_event(parent_pid)
    sched = build_scheduler(_tick(config, deps.ctx, tokens, installations), config.COMPASS_TICK_MINUTES)
    click.echo(f"MLOps Compass scheduler: checking every {config.COMPASS_TICK_MINUTES} minute(s)")
    sched.start()
    stop.wait()
    sched.shutdown(wait=False)


@click.command()
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
    config = common.settings()
    common.configure_logging(config)
    deps, tokens, _ = background_tokens(config, wiring.build_worker_client)
    client = tokens.client if isinstance(tokens, OneWorkspace) else tokens
    threads = threads or config.COMPASS_WORKER_THREADS
    if niceness:
        os.nice(niceness)
    stop = stop_event(parent_pid)
    click.echo(f"MLOps Compass worker: {threads} thread(s)")
    wiring.build_worker(deps, client, WorkerSettings(threads=threads)).run(stop)
