"""Serving the app over HTTP: gunicorn, Bolt's WSGI adapter, the signal webhooks and /healthz."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.app import health
from bot.app.ingest import Ingest
from bot.config import Settings
from bot.run import webhooks
from bot.run.watchdog import Watchdog
from bot.slack.deps import Deps

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
HTTP_THREADS = 32  # webhooks wait in their thread for a shared commit: more of them share one (issue 10)


class CompassWSGI:
    """POST /slack/events goes to Bolt; POST /signals/<kind>/<source-id> takes delivery signals
    (bot/run/webhooks.py); GET /healthz reports the database, its schema, the workers,
    the queue and the scheduler (503 with the reasons when something needs an operator);
    ``close`` flushes queued work."""

    def __init__(self, app: App, deps: Deps, watchdog: Watchdog | None = None) -> None:
        self.slack = SlackRequestHandler(app, path=EVENTS_PATH)
        self.deps = deps
        self.watchdog = watchdog
        self.signals = Ingest(deps.ctx.sessions)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            report = health.check_health(self.deps.ctx.sessions, self.deps.clock())
            status = "200 OK" if report.ok else "503 Service Unavailable"
            start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
            return ["\n".join(health.describe(report)).encode() + b"\n"]
        if str(environ.get("PATH_INFO", "")).startswith(webhooks.PREFIX):
            return webhooks.handle(environ, start_response, self.signals, self.deps.clock())
        return self.slack(environ, start_response)

    def close(self) -> None:
        if self.watchdog is not None:
            self.watchdog.stop()
        self.signals.close()
        if self.deps.outbox is not None:
            self.deps.outbox.close()


def freeze_startup_objects() -> None:
    """Move everything built at start out of the garbage collector's reach.

    A full collection walks every live object: with the app's modules and caches that
    stalled a burst of 30 acks by about 90 ms (docs/benchmarks.md). Frozen objects are
    never walked again, so collections stay short.
    """
    gc.collect()
    gc.freeze()


def _flush_on_exit(_arbiter: Any, worker: Any) -> None:
    """gunicorn's worker_exit hook: a worker stopping (SIGTERM, restart) writes the work it acked."""
    close = getattr(getattr(worker, "wsgi", None), "close", None)
    if close is not None:
        close()


def serve_http(settings: Settings, build: Callable[[], Callable[..., Iterable[bytes]]], workers: int) -> None:
    """Run gunicorn in this process: $HOST:$PORT, threaded workers, graceful on SIGTERM."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options = {
                "bind": f"{settings.HOST}:{settings.PORT}",
                "workers": workers,
                "worker_class": "gthread",
                "threads": HTTP_THREADS,
                "timeout": 30,
                "graceful_timeout": 25,  # Heroku sends SIGKILL 30 s after SIGTERM
                "accesslog": None,
                "loglevel": settings.LOG_LEVEL.lower(),
                "worker_exit": _flush_on_exit,
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Callable[..., Iterable[bytes]]:
            return build()

    Server().run()
