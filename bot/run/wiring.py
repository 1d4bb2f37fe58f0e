"""Composition root: settings -> database, question bank, Slack client, Bolt app, worker."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from urllib.error import URLError

from slack_bolt import App
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler, RetryHandler
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

from bot.app import events
from bot.app.context import AppContext
from bot.app.outreach import OutreachSettings
from bot.config import Settings
from bot.db.setup import Database, open_database
from bot.domain.questionnaire import Questionnaire
from bot.domain.schedule import WorkingHours
from bot.queue.outbox import Outbox
from bot.queue.store import QueueStore
from bot.queue.worker import Chore, Worker, WorkerParts, WorkerSettings
from bot.run import oauth
from bot.run.installations import Cipher, Installations, InstalledTokens
from bot.slack import work
from bot.slack.deps import Deps
from bot.slack.errors import handle_error
from bot.slack.ids import Work
from bot.slack.listeners import register_listeners
from bot.slack.middleware import inject
from bot.slack.ratelimits import RateLimitRetry
from bot.slack.sender import PACED_METHODS
from bot.slack.task import Handler
from bot.slack.tokens import OneWorkspace, TokenSource
from bot.startup import StartupProblem

log = logging.getLogger(__name__)

LISTENER_THREADS = 16
WEB_API_TIMEOUT = 10
EVENT_MEMORY = timedelta(days=1)  # how long event ids are kept to spot Slack's retries (it retries for minutes)
HOUSEKEEPING_EVERY = timedelta(hours=1)
BEAT_MEMORY = timedelta(days=1)  # a dead process's beat is kept this long, for `compass status`
RATE_LIMIT_RETRIES = 3  # someone is waiting for the answer
SCHEDULER_RATE_LIMIT_RETRIES = 5  # nobody is waiting; giving up loses the run until the next tick


def _client(settings: Settings, rate_limits: RetryHandler | None) -> WebClient:
    token = settings.SLACK_BOT_TOKEN.get_secret_value() if settings.SLACK_BOT_TOKEN else None
    handlers: list[RetryHandler] = [
        ConnectionErrorRetryHandler(max_retry_count=2),
        ServerErrorRetryHandler(max_retry_count=2),
        *([rate_limits] if rate_limits else []),
    ]
    return WebClient(
        token=token or None,
        base_url=settings.SLACK_API_URL,
        timeout=WEB_API_TIMEOUT,
        retry_handlers=handlers,
    )


class SlackProblem(StartupProblem):
    """Slack refused a token, or its Web API cannot be reached."""


_QUIET = logging.getLogger("bot.run.token_check")
_QUIET.setLevel(logging.CRITICAL)  # the outcome is reported in one line below, not by slack_sdk's own error log


def verify_token(client: WebClient, variable: str = "SLACK_BOT_TOKEN") -> None:
    """One auth.test at start, so that a wrong token stops the command in one line (not at the first request)."""
    check = WebClient(token=client.token, base_url=client.base_url, timeout=WEB_API_TIMEOUT, logger=_QUIET)
    try:
        check.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error", "unknown error")
        raise SlackProblem(
            f"{variable} was refused by Slack ({error}): copy the Bot User OAuth Token (xoxb-...) from your app's "
            "OAuth & Permissions page, and reinstall the app if it was revoked"
        ) from None
    except (URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise SlackProblem(f"cannot reach Slack's Web API at {client.base_url} ({reason})") from None


class _DropTokenSkippedWarning(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment on its own and, since we pass our own client
    (SLACK_API_URL, retries), warns at every start that the token is unused. The client does carry
    that token; App has no option to skip the lookup, so the one misleading line is filtered here."""

    message = warning_client_prioritized_and_token_skipped()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != self.message


logging.getLogger("slack_bolt.App").addFilter(_DropTokenSkippedWarning())


def build_client(settings: Settings) -> WebClient:
    """The client of the app and the workers: SLACK_API_URL, retries on resets, 5xx and 429 (after Retry-After)."""
    return _client(settings, RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES))


def build_worker_client(settings: Settings) -> WebClient:
    """The workers' client: retries resets and 5xx, but hands every 429 back to the job, which defers what
    is left of it for Retry-After (bot/slack/work/delivery.py) instead of holding a worker thread."""
    return _client(settings, None)


def build_scheduler_client(settings: Settings) -> WebClient:
    """The client of the scheduler, `compass jobs run-due` and `compass digest`.

    Every call waits out a 429 for Retry-After and is made again (a users.list refused once
    must not lose the whole run), except the sends: the Sender paces chat.postMessage and,
    on a 429, pauses the whole fan-out.
    """
    return _client(settings, RateLimitRetry(SCHEDULER_RATE_LIMIT_RETRIES, paced=PACED_METHODS))


def build_installations(settings: Settings, database: Database) -> Installations:
    """The distributed mode's stores on the app's database (the tables come from its migrations)."""
    assert settings.SLACK_CLIENT_ID is not None
    return Installations(settings.SLACK_CLIENT_ID, database.engine, Cipher(settings.encryption_keys))


def token_source(
    settings: Settings,
    database: Database,
    client_for: Callable[[Settings], WebClient] = build_client,
) -> TokenSource:
    """Where background work finds its token: SLACK_BOT_TOKEN's client, or each workspace's installation."""
    if not settings.distributed:
        return OneWorkspace(client_for(settings))
    return installed_tokens(settings, build_installations(settings, database), client_for(settings))


def installed_tokens(settings: Settings, installations: Installations, template: WebClient) -> InstalledTokens:
    """Each workspace's token from its installation, on clients like ``template`` (its URL and retries)."""
    assert settings.SLACK_CLIENT_SECRET is not None

    def make(token: str, team_id: str | None) -> WebClient:
        return WebClient(
            token=token or None,
            base_url=template.base_url,
            timeout=template.timeout,
            retry_handlers=list(template.retry_handlers),
            team_id=team_id,
        )

    return InstalledTokens(installations, make, settings.SLACK_CLIENT_SECRET.get_secret_value())


def outreach_settings(settings: Settings) -> OutreachSettings:
    start, end = settings.work_hours
    return OutreachSettings(
        min_respondents=settings.COMPASS_MIN_RESPONDENTS,
        cadence=timedelta(days=settings.COMPASS_CADENCE_DAYS),
        hours=WorkingHours(settings.work_days, start, end),
        send_rate=settings.COMPASS_SEND_RATE,
    )


def build_deps(
    settings: Settings, bank: Questionnaire, database: Database | None = None, serving: bool = False
) -> Deps:
    """The dependencies over the question bank the caller loaded (and reported on) once.

    ``serving``: for the process that answers Slack, whose listeners queue work through an outbox.
    """
    database = database or open_database(settings.DATABASE_URL)
    deps = Deps(
        ctx=AppContext(sessions=database.sessions, bank=bank),
        public_url=settings.COMPASS_PUBLIC_URL,
        outreach=outreach_settings(settings),
        retention_days=settings.COMPASS_RETENTION_DAYS,
        bank_admins=settings.bank_admins,
    )
    if serving:
        deps = replace(deps, outbox=Outbox(QueueStore(database.sessions), deps.clock, work.report_lost))
    return deps


def build_app(
    settings: Settings, deps: Deps, client: WebClient | None = None, installations: Installations | None = None
) -> App:
    signing_secret = settings.SLACK_SIGNING_SECRET.get_secret_value() if settings.SLACK_SIGNING_SECRET else None
    if settings.distributed:
        return _build_distributed_app(settings, deps, client, installations, signing_secret)
    app = App(
        client=client or build_client(settings),
        signing_secret=signing_secret,
        # Socket Mode needs no signing secret; Bolt skips verification for socket requests.
        request_verification_enabled=signing_secret is not None,
        # The token was checked once at start (verify_token), where a bad one is reported in one line.
        token_verification_enabled=False,
        listener_executor=ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="compass-listener"),
        raise_error_for_unhandled_request=False,
    )
    app.use(inject(deps))
    app.error(handle_error)
    register_listeners(app, work.ROUTES)
    return app


def _build_distributed_app(
    settings: Settings,
    deps: Deps,
    client: WebClient | None,
    installations: Installations | None,
    signing_secret: str | None,
) -> App:
    """Any workspace installs the app (Bolt's OAuth flow); each request gets its workspace's token."""
    if installations is None:
        raise ValueError("the distributed app needs its installations (build_installations)")
    client = client or build_client(settings)
    assert settings.SLACK_CLIENT_ID and settings.SLACK_CLIENT_SECRET
    authorize = oauth.LockedRotationAuthorize(
        installed_tokens(settings, installations, client),
        installation_store=installations.store,
        client_id=settings.SLACK_CLIENT_ID,
        client_secret=settings.SLACK_CLIENT_SECRET.get_secret_value(),
        logger=logging.getLogger("slack_bolt.App"),
        client=client,
        # Without the cache Bolt calls auth.test before every ack: a team answering at once would spend
        # the workspace's auth.test budget ("hundreds per minute") on clicks. The installation is still
        # read from the store on every request, so an uninstalled workspace is refused at once.
        cache_enabled=True,
    )
    app = App(
        # Tokenless: Bolt gives each request a client with its workspace's token, and the OAuth
        # flow's oauth.v2.access goes through SLACK_API_URL on this one.
        client=client,
        signing_secret=signing_secret,
        authorize=authorize,  # type: ignore[arg-type]  # an Authorize instance is allowed beside an OAuth flow
        oauth_flow=oauth.oauth_flow(settings, installations, deps.ctx.sessions, client),
        listener_executor=ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="compass-listener"),
        raise_error_for_unhandled_request=False,
    )
    app.use(inject(deps))
    app.error(handle_error)
    register_listeners(app, work.ROUTES)
    grace = timedelta(days=settings.COMPASS_PURGE_AFTER_DAYS)
    oauth.register_uninstalls(app, oauth.Uninstalls(installations, deps.ctx.sessions, grace, deps.clock))
    return app


def build_worker(
    deps: Deps,
    client: WebClient | TokenSource,
    settings: WorkerSettings,
    table: Mapping[Work, Handler] | None = None,
) -> Worker:
    """A worker that does the Slack requests queued by the web process, and forgets old event ids hourly.

    ``table`` replaces the handlers of every kind of work (tests run recording handlers).
    """
    ctx = deps.ctx
    forget = Chore(
        name="forgot event ids older than a day",
        every=HOUSEKEEPING_EVERY,
        run=lambda now: events.forget_events(ctx, now - EVENT_MEMORY),
    )
    store = QueueStore(ctx.sessions)
    forget_beats = Chore(
        name="forgot the beats of processes gone for a day",
        every=HOUSEKEEPING_EVERY,
        run=lambda now: store.forget_beats(now - BEAT_MEMORY),
    )
    parts = WorkerParts(
        store=store,
        clock=deps.clock,
        handlers=work.handlers(client, deps, table),
        report_failure=work.report_failure,
        chores=(forget, forget_beats),
    )
    return Worker(parts, settings)
