"""What every parser shares: the result, the error naming a field, field access and times."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.domain.signals import SignalEvent, SignalType


class PayloadError(ValueError):
    """The payload lacks a field its type needs, or the field is not what it should be."""

    def __init__(self, field: str, problem: str = "missing") -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class Parsed:
    """The events a delivery carries; none and a ``reason`` when it is of a kind Compass ignores."""

    events: tuple[SignalEvent, ...] = ()
    ignored: str | None = None


def ignored(reason: str) -> Parsed:
    return Parsed(ignored=reason)


def get(obj: Any, path: str) -> Any:
    """The value at a dotted path ("deployment.sha"); PayloadError naming the path when it is absent or null."""
    value = obj
    walked: list[str] = []
    for key in path.split("."):
        walked.append(key)
        if not isinstance(value, Mapping) or value.get(key) is None:
            raise PayloadError(".".join(walked))
        value = value[key]
    return value


def optional(obj: Any, path: str) -> Any:
    try:
        return get(obj, path)
    except PayloadError:
        return None


def text(obj: Any, path: str) -> str:
    value = get(obj, path)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PayloadError(path, "not a string")
    result = str(value).strip()
    if not result:
        raise PayloadError(path, "empty")
    return result


def mapping(obj: Any, path: str) -> Mapping[str, Any]:
    value = get(obj, path)
    if not isinstance(value, Mapping):
        raise PayloadError(path, "not an object")
    return value


def items(obj: Any, path: str) -> list[Any]:
    value = get(obj, path)
    if not isinstance(value, list):
        raise PayloadError(path, "not a list")
    return value


# GitLab's own formats: "2021-04-28 21:50:00 +0200" and (older hooks) "2013-12-03 17:15:43 UTC".
_GITLAB_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.\d+)? ?(UTC|[+-]\d{2}:?\d{2})$")


def parse_time(value: Any, field: str) -> datetime:
    """An aware UTC time from ISO 8601, GitLab's "YYYY-MM-DD HH:MM:SS +ZZZZ" or epoch seconds.

    A time without an offset is read as UTC.
    """
    if isinstance(value, bool):
        raise PayloadError(field, "not a time")
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise PayloadError(field, "not a time") from None
    if not isinstance(value, str):
        raise PayloadError(field, "not a time")
    raw = value.strip()
    match = _GITLAB_TIME.match(raw)
    if match:
        day, clock, offset = match.groups()
        raw = f"{day}T{clock}" + ("+00:00" if offset == "UTC" else offset)
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise PayloadError(field, "not an ISO 8601 time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def time_at(obj: Any, path: str) -> datetime:
    return parse_time(get(obj, path), path)


_ROOT_CAUSE = re.compile(r"^\s*root[ _-]?cause\s*:\s*([0-9a-fA-F]{7,64})\b", re.IGNORECASE | re.MULTILINE)


def root_cause(body: Any) -> str | None:
    """The sha of a line ``root cause: <sha>`` in an issue's text (Four Keys' convention)."""
    if not isinstance(body, str):
        return None
    match = _ROOT_CAUSE.search(body)
    return match.group(1).lower() if match else None


def has_label(labels: Any, name: str, key: str) -> bool:
    """Whether a list of label objects (GitHub ``name``, GitLab ``title``) holds ``name``, in any case."""
    if not isinstance(labels, list):
        return False
    wanted = name.casefold()
    return any(isinstance(label, Mapping) and str(label.get(key, "")).casefold() == wanted for label in labels)


INCIDENT_LABEL = "incident"


ID_LIMIT = 128  # signal_events.external_id, signal_deliveries.delivery_id


def bounded(value: str) -> str:
    """An id that fits the id columns: itself, or its SHA-256 when longer."""
    if len(value) <= ID_LIMIT:
        return value
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def commit_changes(
    commits: list[Any], head: str, pushed_at: datetime | None, ref: str | None = None
) -> list[SignalEvent]:
    """One change per pushed commit (``id`` and ``timestamp``, GitHub's and GitLab's shape alike),
    named by the ref it was pushed to (lead time counts only the deployed ref's changes); a bad
    commit is named by its place, ``commits[1].timestamp``."""
    events = []
    for index, commit in enumerate(commits):
        where = f"commits[{index}]"
        if not isinstance(commit, Mapping):
            raise PayloadError(where, "not an object")
        try:
            sha = text(commit, "id").lower()
            at = time_at(commit, "timestamp")
        except PayloadError as exc:
            raise PayloadError(f"{where}.{exc.field}", exc.problem) from None
        events.append(SignalEvent(SignalType.CHANGE, sha, at, sha=sha, head=head, pushed_at=pushed_at, name=ref))
    return events


def push_ref(payload: Any) -> str | None:
    """The ref a push went to (``refs/heads/main``), GitHub's and GitLab's ``ref`` alike."""
    ref = optional(payload, "ref")
    if not isinstance(ref, str) or not ref.strip():
        return None
    return ref.strip()
