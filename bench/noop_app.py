"""The floor for bench/ack_latency.py: a Bolt app that only acks, served exactly like the real one.

Same signing secret, same Web API client (``bot.run.wiring.build_client``, so Bolt's one-off
auth.test goes to the same fake Slack), same listener executor size, listeners for the
same command and actions, and gunicorn started by the real ``bot.run.web.serve_http`` (gthread,
same worker and thread counts, Bolt's WSGI adapter at POST /slack/events). No database,
no Web API calls after the ack, no middleware of ours. It also answers POST /signals/... with a
200 after reading the body (the floor of bench/signals_ingest.py).

    SLACK_BOT_TOKEN=xoxb-... SLACK_SIGNING_SECRET=... SLACK_API_URL=http://127.0.0.1:PORT/api/ \\
        PORT=3001 python bench/noop_app.py [--workers 1]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.config import ConfigError, Settings
from bot.run import web, wiring
from bot.slack import ids

# The same ephemeral text the real app acks `/compass start` with, so both answer equal bodies.
START_ACK = ":compass: Check your DMs: your MLOps Compass assessment is waiting there."


def build_noop_app(settings: Settings) -> App:
    assert settings.SLACK_SIGNING_SECRET is not None
    app = App(
        client=wiring.build_client(settings),
        signing_secret=settings.SLACK_SIGNING_SECRET.get_secret_value(),
        listener_executor=ThreadPoolExecutor(max_workers=wiring.LISTENER_THREADS, thread_name_prefix="noop-listener"),
        raise_error_for_unhandled_request=False,
    )

    def command(ack: Ack) -> None:
        ack(text=START_ACK)

    def action(ack: Ack) -> None:
        ack()

    app.command(ids.COMMAND)(command)
    app.action(ids.ANSWER_PATTERN)(action)
    app.action(ids.SESSION_VOTE_PATTERN)(action)  # bench/session_votes.py's floor
    app.action(ids.SESSION_AGREE_PATTERN)(action)
    for name in ids.Action:
        app.action(name.value)(action)
    return app


def build_wsgi(app: App) -> Callable[..., Iterable[bytes]]:
    slack = SlackRequestHandler(app, path=web.EVENTS_PATH)

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == web.HEALTH_PATH:
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        if str(environ.get("PATH_INFO", "")).startswith("/signals/"):
            # The floor of bench/signals_ingest.py: read the webhook, answer as the real receiver does,
            # check and store nothing.
            environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            body = b'{"ok": true, "outcome": "stored", "detail": "1 event(s)", "events": 1}'
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return slack(environ, start_response)

    return wsgi


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1, help="gunicorn worker processes (as compass serve)")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        settings.require_slack("http")
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"no-op Bolt app listening on 0.0.0.0:{settings.PORT}{web.EVENTS_PATH} ({args.workers} worker(s))")
    web.serve_http(settings, lambda: build_wsgi(build_noop_app(settings)), args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
