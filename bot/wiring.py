"""Composition root: settings -> database, question bank, Slack client and Bolt app."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

from bot.config import Settings
from bot.db.setup import Database, open_database
from bot.domain.questionnaire import load_questionnaire
from bot.slack.deps import Deps
from bot.slack.errors import handle_error
from bot.slack.listeners import register_listeners
from bot.slack.middleware import inject
from bot.slack.outbox import Outbox
from bot.slack.work import report_lost

log = logging.getLogger(__name__)

LISTENER_THREADS = 16
WEB_API_TIMEOUT = 10


def build_client(settings: Settings, retry_rate_limits: bool = True) -> WebClient:
    """The Web API client every call goes through: SLACK_API_URL, retries on 429, 5xx and resets.

    The scheduler passes ``retry_rate_limits=False``: its sender honours Retry-After
    itself by pausing the whole fan-out, not just one call.
    """
    token = settings.SLACK_BOT_TOKEN.get_secret_value() if settings.SLACK_BOT_TOKEN else None
    handlers = [ConnectionErrorRetryHandler(max_retry_count=2), ServerErrorRetryHandler(max_retry_count=2)]
    if retry_rate_limits:
        handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    return WebClient(token=token, base_url=settings.SLACK_API_URL, timeout=WEB_API_TIMEOUT, retry_handlers=handlers)


def build_deps(settings: Settings, database: Database | None = None, serving: bool = False) -> Deps:
    """``serving``: for the process that answers Slack, whose listeners queue work through an outbox."""
    bank = load_questionnaire(settings.COMPASS_QUESTIONS)  # raises QuestionnaireError with every problem
    database = database or open_database(settings.DATABASE_URL)
    deps = Deps(sessions=database.sessions, bank=bank)
    if serving:
        deps = replace(deps, outbox=Outbox(deps.sessions, deps.clock, report_lost))
    return deps


def build_app(settings: Settings, deps: Deps, client: WebClient | None = None) -> App:
    signing_secret = settings.SLACK_SIGNING_SECRET.get_secret_value() if settings.SLACK_SIGNING_SECRET else None
    app = App(
        client=client or build_client(settings),
        signing_secret=signing_secret,
        # Socket Mode needs no signing secret; Bolt skips verification for socket requests.
        request_verification_enabled=signing_secret is not None,
        listener_executor=ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="compass-listener"),
        raise_error_for_unhandled_request=False,
    )
    app.use(inject(deps))
    app.error(handle_error)
    register_listeners(app)
    return app
