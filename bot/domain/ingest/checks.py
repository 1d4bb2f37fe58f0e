"""Checks: one run of a named check in a pipeline (data validation, model tests, coverage), from any sender.

A CI step posts them through the generic events API (``{"type": "check", "check": ..., "status":
"passed" | "failed", "value": ...}``); a GitHub workflow run or a GitLab pipeline whose name
contains one of the source's check patterns is one too, its check named after the workflow.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.domain.ingest.common import PayloadError, bounded, optional, text
from bot.domain.signals import SignalEvent, SignalType

PASSED = "passed"
FAILED = "failed"
STATUSES = (PASSED, FAILED)
NAME_LIMIT = 255  # signal_events.name

# GitHub's conclusions: a run that was cancelled, skipped, neutral or stale said nothing about
# what it checks, so it is no check at all (rather than a failed one).
GITHUB_CONCLUSIONS = {"success": PASSED, "failure": FAILED, "timed_out": FAILED}
# GitLab's pipeline statuses; running, pending, canceled, skipped, manual are not results.
GITLAB_STATUSES = {"success": PASSED, "failed": FAILED}


def matches_check(name: str, patterns: Sequence[str]) -> bool:
    """A workflow or pipeline is a check when its name contains one of the patterns, in any case."""
    folded = name.casefold()
    return any(p and p.casefold() in folded for p in patterns)


def check_event(external_id: str, at: datetime, name: str, status: str, sha: str | None = None) -> SignalEvent:
    """A check run named after the workflow or pipeline that ran it."""
    return SignalEvent(SignalType.CHECK, bounded(external_id), at, sha=sha, name=name[:NAME_LIMIT], status=status)


def from_event(item: Mapping[str, Any], external_id: str, at: datetime) -> SignalEvent:
    """A ``{"type": "check", ...}`` object of the generic events API (``id`` and ``at`` already read).

    Raises:
        PayloadError: ``check`` missing or empty, ``status`` neither passed nor failed, ``value``
            not a finite number.
    """
    name = text(item, "check")
    if len(name) > NAME_LIMIT:
        raise PayloadError("check", f"longer than {NAME_LIMIT} characters")
    status = text(item, "status").lower()
    if status not in STATUSES:
        raise PayloadError("status", f"{status!r} is neither {PASSED!r} nor {FAILED!r}")
    value = optional(item, "value")
    return SignalEvent(SignalType.CHECK, external_id, at, name=name, status=status, value=_number(value))


def _number(value: Any) -> float | None:
    if value is None:
        return None
    # bool is an int in Python, and JSON's true is no measurement; Python's json also reads NaN and Infinity.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError("value", "not a finite number")
    try:
        number = float(value)
    except OverflowError:
        raise PayloadError("value", "not a finite number") from None
    if not math.isfinite(number):
        raise PayloadError("value", "not a finite number")
    return number
