"""Delivery signals: receiving webhooks and events, and managing the sources that send them.

``check`` is a webhook's handling before storage, with no database: check the sender's
signature or token on the raw bytes before anything is parsed, then normalise the payload
(pure and cheap, so it is done in the request rather than queued for a worker).
``bot.app.ingest`` finds the source (cached) and stores the raw delivery with its events once,
many requests' deliveries in one transaction, before the answer: a 2xx always means "stored".
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.app.types import LOCAL_WORKSPACE
from bot.db import people
from bot.db import signals as store
from bot.db.session import SessionFactory
from bot.domain.ingest import alertmanager, github, gitlab, mlflow
from bot.domain.ingest import events as generic
from bot.domain.ingest.bodies import decode_body, loads
from bot.domain.ingest.common import Parsed, PayloadError, bounded
from bot.domain.ingest.signatures import github_signature_matches, hash_token, mlflow_problem, token_matches
from bot.domain.signals import SignalEvent, SourceKind

log = logging.getLogger(__name__)

DEFAULT_ENVIRONMENT = "production"
DEFAULT_TRAINING_PATTERN = "train"
DEFAULT_SERVING_ALIASES = ("production", "champion")
DEFAULT_ALERT_LABEL = "compass_kind"
TOKEN_KINDS = (SourceKind.GITLAB, SourceKind.EVENTS, SourceKind.ALERTMANAGER)  # checked against a stored hash
IMPORT_CHUNK = 500  # imported lines per stored delivery
CHECK_PATTERNS_LIMIT = 512  # signal_sources.check_patterns, comma-separated
# What a parser may raise on a payload of a shape it did not foresee (besides PayloadError).
_HOSTILE = (ValueError, TypeError, KeyError, IndexError, AttributeError, ArithmeticError, RecursionError)


class Outcome(StrEnum):
    STORED = "stored"
    DUPLICATE = "already stored"
    IGNORED = "ignored"
    PONG = "pong"
    UNKNOWN_SOURCE = "unknown source"
    UNAUTHORIZED = "unauthorized"
    INVALID = "invalid"


@dataclass(frozen=True)
class Incoming:
    """A request as it arrived: the path's kind and source id, headers (lower-case names), raw body."""

    kind: str
    source_id: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Receipt:
    outcome: Outcome
    detail: str
    events: int = 0


@dataclass(frozen=True)
class SourceView:
    """A source as people see it: never its secret."""

    id: str
    kind: SourceKind
    channel_id: str
    environment: str
    training_pattern: str
    serving_aliases: tuple[str, ...]
    created_by: str
    created_at: datetime
    check_patterns: tuple[str, ...] = ()
    alert_label: str = DEFAULT_ALERT_LABEL

    @property
    def path(self) -> str:
        return webhook_path(self.kind, self.id)


@dataclass(frozen=True)
class NewSource:
    source: SourceView
    secret: str | None  # the generated secret or token, to show once; None when the caller chose it


@dataclass(frozen=True)
class ImportReport:
    lines: int
    stored: int  # events new to the source (the others were already stored)


class SourceProblem(ValueError):
    """A source cannot be created or found as asked (several workspaces and no team, an unknown id)."""


def webhook_path(kind: SourceKind, source_id: str) -> str:
    return f"/signals/{kind.value}/{source_id}"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def _view(source: store.Source) -> SourceView:
    return SourceView(
        id=source.id,
        kind=source.kind,
        channel_id=source.channel_id,
        environment=source.environment,
        training_pattern=source.training_pattern,
        serving_aliases=source.serving_aliases,
        created_by=source.created_by,
        created_at=source.created_at,
        check_patterns=source.check_patterns,
        alert_label=source.alert_label,
    )


def _stored_secret(kind: SourceKind, secret: str) -> str:
    # An HMAC secret must be kept to check signatures with; a token is only compared, so its hash will do.
    return hash_token(secret) if kind in TOKEN_KINDS else secret


# --- receiving ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    """A delivery whose signature or token passed and whose payload parsed: ready to be stored."""

    source: store.Source
    delivery: tuple[str, str, str]  # delivery id, event name, raw payload
    events: tuple[SignalEvent, ...]


def source_kind(name: str) -> SourceKind | None:
    try:
        return SourceKind(name)
    except ValueError:
        return None


def check(source: store.Source | None, incoming: Incoming, now: datetime) -> Receipt | Checked:
    """Check a delivery against its source and normalise it, without a database.

    The signature or token is checked on the raw bytes before anything is parsed. Returns the
    answer when there is nothing to store (unknown source, unauthorized, invalid, ignored, pong),
    else what to store.
    """
    kind = source_kind(incoming.kind)
    if kind is None:
        return Receipt(Outcome.UNKNOWN_SOURCE, f"no source kind {incoming.kind!r}")
    if source is None or source.kind is not kind:
        return Receipt(Outcome.UNKNOWN_SOURCE, f"no {kind.value} source {incoming.source_id!r}")
    problem = _authenticate(source, incoming, now)
    if problem is not None:
        return Receipt(Outcome.UNAUTHORIZED, problem)
    try:
        # Only GitHub sends form-encoded bodies (its webhooks' default content type); the
        # signature above covered the body exactly as sent, before this decoding.
        content_type = incoming.headers.get("content-type", "")
        text, payload = decode_body(incoming.body, content_type, form_allowed=kind is SourceKind.GITHUB)
    except PayloadError as exc:
        return Receipt(Outcome.INVALID, str(exc))
    event_name = _event_name(kind, incoming.headers, payload)
    if kind is SourceKind.GITHUB and event_name == github.PING:
        return Receipt(Outcome.PONG, "pong")
    try:
        parsed = _parse(source, event_name, payload)
    except PayloadError as exc:
        return Receipt(Outcome.INVALID, str(exc))
    except _HOSTILE as exc:
        # A shape no parser foresaw is the sender's error, not an outage: a 503 would only
        # make it send the same body again.
        return Receipt(Outcome.INVALID, f"body: could not be read ({type(exc).__name__})")
    if parsed.ignored is not None:
        return Receipt(Outcome.IGNORED, parsed.ignored)
    delivery_id = _delivery_id(kind, incoming, parsed.events)
    return Checked(source, (delivery_id, event_name[:64], text), tuple(parsed.events))


def stored(checked: Checked, events: int) -> Receipt:
    """The answer for a stored delivery: ``events`` is how many of its events were new (a replayed
    incident close carries its opening again, which was stored with the first delivery)."""
    return Receipt(Outcome.STORED, f"{events} event(s)", events)


def duplicate(checked: Checked) -> Receipt:
    return Receipt(Outcome.DUPLICATE, f"delivery {checked.delivery[0]} was already stored")


def find_source(sessions: SessionFactory, source_id: str) -> store.Source | None:
    with sessions() as session:
        return store.find_source(session, source_id)


def _authenticate(source: store.Source, incoming: Incoming, now: datetime) -> str | None:
    headers = incoming.headers
    if source.kind is SourceKind.GITHUB:
        if not headers.get("x-hub-signature-256"):
            return "missing X-Hub-Signature-256"
        ok = github_signature_matches(source.secret, incoming.body, headers.get("x-hub-signature-256"))
        return None if ok else "bad X-Hub-Signature-256"
    if source.kind is SourceKind.GITLAB:
        if not headers.get("x-gitlab-token"):
            return "missing X-Gitlab-Token"
        return None if token_matches(source.secret, headers.get("x-gitlab-token")) else "bad X-Gitlab-Token"
    if source.kind is SourceKind.MLFLOW:
        return mlflow_problem(source.secret, incoming.body, dict(headers), now)
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return "missing Authorization: Bearer token"
    return None if token_matches(source.secret, token.strip()) else "bad bearer token"


def _event_name(kind: SourceKind, headers: Mapping[str, str], payload: Any) -> str:
    if kind is SourceKind.GITHUB:
        return headers.get("x-github-event", "")
    if kind is SourceKind.GITLAB:
        return headers.get("x-gitlab-event", "")
    if kind is SourceKind.MLFLOW and isinstance(payload, Mapping):
        return f"{payload.get('entity')}.{payload.get('action')}"
    if kind is SourceKind.ALERTMANAGER and isinstance(payload, Mapping):
        return f"alertmanager.{payload.get('status')}"  # firing or resolved: the group's status
    return "events"


def _parse(source: store.Source, event_name: str, payload: Any) -> Parsed:
    if source.kind is SourceKind.GITHUB:
        return github.parse(event_name, payload, source.training_pattern, source.check_patterns)
    if source.kind is SourceKind.GITLAB:
        return gitlab.parse(event_name or None, payload, source.environment, source.check_patterns)
    if source.kind is SourceKind.MLFLOW:
        return mlflow.parse(payload, source.serving_aliases)
    if source.kind is SourceKind.ALERTMANAGER:
        return alertmanager.parse(payload, source.alert_label)
    return generic.parse(payload)


def _body_hash(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _delivery_id(kind: SourceKind, incoming: Incoming, events: Sequence[SignalEvent]) -> str:
    """What makes a redelivery recognisable: the sender's delivery id, or for events their ids.

    Alertmanager sends no delivery id, and repeats a group's notification every repeat_interval:
    the repeat carries the same alerts, hence the same event ids, and is "already stored".
    """
    headers = incoming.headers
    if kind is SourceKind.GITHUB:
        given = headers.get("x-github-delivery")
    elif kind is SourceKind.GITLAB:
        # Idempotency-Key stays the same across GitLab's retries (17.4+); the event UUID names the event.
        given = headers.get("idempotency-key") or headers.get("x-gitlab-event-uuid")
    elif kind is SourceKind.MLFLOW:
        given = headers.get("x-mlflow-delivery-id")
    else:
        keys = sorted(f"{e.type.value}:{e.external_id}" for e in events)
        given = keys[0] if len(keys) == 1 else "events:" + hashlib.sha256("\n".join(keys).encode()).hexdigest()
    return bounded(given.strip()) if given and given.strip() else _body_hash(incoming.body)


# --- managing sources --------------------------------------------------------------------------


def _workspace(session: Any, team: str | None, now: datetime) -> int:
    if team:
        return people.workspace_id(session, team, now)
    installed = store.slack_workspaces(session)
    if len(installed) > 1:
        raise SourceProblem(f"several Slack workspaces are known ({', '.join(installed)}): name one with --team")
    return people.workspace_id(session, installed[0] if installed else LOCAL_WORKSPACE, now)


def add_source(
    sessions: SessionFactory,
    kind: SourceKind,
    channel_id: str,
    now: datetime,
    *,
    created_by: str,
    team: str | None = None,
    secret: str | None = None,
    environment: str = DEFAULT_ENVIRONMENT,
    training_pattern: str = DEFAULT_TRAINING_PATTERN,
    serving_aliases: Sequence[str] = DEFAULT_SERVING_ALIASES,
    check_patterns: Sequence[str] = (),
    alert_label: str = DEFAULT_ALERT_LABEL,
) -> NewSource:
    """Create a source for a team channel; a secret (or token) is generated when none is given.

    The source belongs to ``team`` (a Slack team id), or else to the one Slack workspace
    Compass knows, or else to the local workspace (before anyone has used it from Slack).
    """
    generated = None if secret else new_secret()
    chosen = secret or generated
    assert chosen is not None
    patterns = tuple(p.strip() for p in check_patterns if p.strip())
    if len(",".join(patterns)) > CHECK_PATTERNS_LIMIT:
        raise SourceProblem(f"the check patterns take more than {CHECK_PATTERNS_LIMIT} characters together")
    with sessions.begin() as session:
        record = store.Source(
            id=secrets.token_hex(8),
            workspace_id=_workspace(session, team, now),
            channel_id=channel_id,
            kind=kind,
            secret=_stored_secret(kind, chosen),
            environment=environment,
            training_pattern=training_pattern,
            serving_aliases=tuple(serving_aliases),
            created_by=created_by,
            created_at=now,
            check_patterns=patterns,
            alert_label=alert_label,
        )
        store.add_source(session, record)
    return NewSource(_view(record), generated)


def rotate(sessions: SessionFactory, source_id: str, secret: str | None = None) -> NewSource:
    """Replace a source's secret (or token); the old one stops working at once."""
    generated = None if secret else new_secret()
    chosen = secret or generated
    assert chosen is not None
    with sessions.begin() as session:
        source = store.find_source(session, source_id)
        if source is None:
            raise SourceProblem(f"no source {source_id!r}")
        store.set_secret(session, source_id, _stored_secret(source.kind, chosen))
    return NewSource(_view(source), generated)


def remove(sessions: SessionFactory, source_id: str) -> bool:
    """Delete a source with every delivery and event it sent."""
    with sessions.begin() as session:
        return store.remove_source(session, source_id)


def list_sources(sessions: SessionFactory, channel_id: str | None = None) -> list[SourceView]:
    with sessions() as session:
        return [_view(s) for s in store.sources(session, channel_id=channel_id)]


def import_events(sessions: SessionFactory, source_id: str, lines: Iterable[str], now: datetime) -> ImportReport:
    """Load JSON Lines of generic events (one object per line) for a source, all or nothing.

    Raises:
        SourceProblem: no such source.
        PayloadError: a line is not an event; its field is prefixed "line N: ".
    """
    parsed: list[tuple[str, SignalEvent]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        item = loads(line, f"line {number}")
        try:
            parsed.append((line.strip(), generic.parse_event(item)))
        except PayloadError as exc:
            raise PayloadError(f"line {number}: {exc.field}", exc.problem) from None
    stored = 0
    with sessions.begin() as session:
        source = store.find_source(session, source_id)
        if source is None:
            raise SourceProblem(f"no source {source_id!r}")
        for start in range(0, len(parsed), IMPORT_CHUNK):
            chunk = parsed[start : start + IMPORT_CHUNK]
            raw = "\n".join(line for line, _ in chunk)
            events = [event for _, event in chunk]
            delivery = ("import:" + hashlib.sha256(raw.encode()).hexdigest(), "import", raw)
            before = store.count_events(session, source.id)
            store.record_delivery(session, source, delivery, events, now)
            stored += store.count_events(session, source.id) - before
    return ImportReport(len(parsed), stored)
