"""POST /signals/<kind>/<source-id>: webhooks from GitHub, GitLab, MLflow and any CI, over WSGI.

Only HTTP here (the path, the size limit, the status codes); checking, normalising and storing
are ``bot.app.ingest.Ingest.receive``'s (group commit), before the answer: a 2xx means stored.

The size limit is the path kind's (bot/domain/ingest/bodies.py): what that sender really sends at
most. GitHub's is 25 MiB, as GitHub caps its payloads at 25 MB: a webhook push carries up to
2,048 commits (the 20-commit cap is the Events API's, not webhooks'). It is applied before the
body is read, and at most the limit and one byte are ever read, so a request's memory stays
bounded.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from bot.app.ingest import Ingest
from bot.app.signals import Incoming, Outcome, source_kind
from bot.domain.ingest.bodies import body_limit

log = logging.getLogger(__name__)

PREFIX = "/signals/"

_STATUS = {
    Outcome.STORED: "200 OK",
    Outcome.DUPLICATE: "200 OK",
    Outcome.PONG: "200 OK",
    Outcome.IGNORED: "202 Accepted",
    Outcome.UNKNOWN_SOURCE: "404 Not Found",
    Outcome.UNAUTHORIZED: "401 Unauthorized",
    Outcome.INVALID: "400 Bad Request",
}


def _answer(start_response: Callable[..., Any], status: str, body: dict[str, Any]) -> Iterable[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    found = {key[5:].replace("_", "-").lower(): str(value) for key, value in environ.items() if key.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        found["content-type"] = str(environ["CONTENT_TYPE"])
    return found


def _read(environ: dict[str, Any], limit: int) -> bytes | None:
    """The body, or None when it is over ``limit`` (by Content-Length, unread, or by the bytes sent)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        length = -1
    if length > limit:
        return None
    stream = environ["wsgi.input"]
    body: bytes = stream.read(length) if length >= 0 else stream.read(limit + 1)
    return None if len(body) > limit else body


def handle(
    environ: dict[str, Any], start_response: Callable[..., Any], ingest: Ingest, now: datetime
) -> Iterable[bytes]:
    parts = str(environ.get("PATH_INFO", ""))[len(PREFIX) :].split("/")
    if len(parts) != 2 or not all(parts):
        return _answer(start_response, "404 Not Found", {"ok": False, "error": "use /signals/<kind>/<source-id>"})
    if environ.get("REQUEST_METHOD") != "POST":
        start = start_response
        return _answer(
            lambda status, headers: start(status, [*headers, ("Allow", "POST")]),
            "405 Method Not Allowed",
            {"ok": False, "error": "POST only"},
        )
    kind = source_kind(parts[0])
    if kind is None:
        return _answer(start_response, "404 Not Found", {"ok": False, "error": f"no source kind {parts[0]!r}"})
    limit = body_limit(kind)
    body = _read(environ, limit)
    if body is None:
        error = f"body over {limit} bytes, the most a source of kind {kind.value} takes"
        return _answer(start_response, "413 Content Too Large", {"ok": False, "error": error})
    try:
        receipt = ingest.receive(Incoming(parts[0], parts[1], _headers(environ), body), now)
    except Exception:  # the database is slow or out of reach, most likely: the sender may retry
        log.exception("signals: could not store a delivery to source %s", parts[1])
        return _answer(start_response, "503 Service Unavailable", {"ok": False, "error": "not stored, try again"})
    ok = receipt.outcome in (Outcome.STORED, Outcome.DUPLICATE, Outcome.PONG, Outcome.IGNORED)
    answer: dict[str, Any] = {"ok": ok, "outcome": receipt.outcome.value, "detail": receipt.detail}
    if receipt.outcome is Outcome.STORED:
        answer["events"] = receipt.events
    return _answer(start_response, _STATUS[receipt.outcome], answer)
