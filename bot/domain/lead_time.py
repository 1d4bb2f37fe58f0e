"""Which deployment first shipped each change: the link that lead time for changes is measured on.

A source's successful production deployments, in order of time, each ship the changes pushed
after the previous deployment's push up to and with the push whose head is the deployed sha
(Four Keys' definition): the range ``(lower, upper]`` of push times, where ``upper`` is when the
deployed sha was first pushed and ``lower`` is the previous deployment's ``upper`` (that
deployment's own time when its push was never reported; the beginning of time for the first).
A deployment whose push is unknown ships nothing that can be measured.

Only the changes of the deployed ref count: a deployment ships the changes in its range that
were pushed to the same ref (branch) as the push whose head is the deployed sha. A push to
``refs/heads/feature-x`` in the meantime is not in main's deployment: Four Keys ties a change
to a deployment through the deployed commits, and webhook payloads carry no ancestry, only the
ref each commit was pushed to. A commit pushed to a branch and later to the deployed ref (a
merge brings the branch's commits to main again) counts with that later push
(bot/db/lead_times.py ``follow_later_pushes``). Changes without a ref (the generic events API)
and deployments whose push has none keep the range alone, as before refs were known.

A change in several ranges (a rollback to an older sha, then a newer deployment) was first
shipped by the earliest of them. The link is worked out when events are stored, so that the
lead-time metric is one indexed aggregate over the changes (bot/db/signal_metrics.py) instead
of a range join per deployment at every read.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Deployed:
    """A successful, counted deployment: when, and when its sha was first pushed (None: unknown)."""

    id: int
    at: datetime
    upper: datetime | None
    ref: str | None = None  # the ref of the push whose head is the deployed sha


@dataclass(frozen=True)
class Pushed:
    """A change (one commit) as pushed: its row id and push time."""

    id: int
    pushed_at: datetime
    ref: str | None = None  # the ref (refs/heads/main) it was pushed to; None: not known


def lower_bound(predecessor: Deployed | None) -> datetime | None:
    """Where the next deployment's range starts: after its predecessor's push (None: the start)."""
    if predecessor is None:
        return None
    return predecessor.upper if predecessor.upper is not None else predecessor.at


def first_shipped(
    deployments: Sequence[Deployed], changes: Iterable[Pushed], predecessor: Deployed | None = None
) -> dict[int, Deployed]:
    """Each change's first deployment, by change id; changes no deployment shipped are left out.

    ``deployments`` are the source's deployments from some time on, in order of (at, id);
    ``predecessor`` is the one just before them (None when there is none), which only bounds
    the first range. Changes pushed at or before that bound are not looked at.
    """
    ordered = sorted(changes, key=lambda c: (c.pushed_at, c.id))
    times = [c.pushed_at for c in ordered]
    shipped: dict[int, Deployed] = {}
    previous = predecessor
    for deployment in deployments:
        lower = lower_bound(previous)
        previous = deployment
        if deployment.upper is None:
            continue
        start = 0 if lower is None else bisect_right(times, lower)
        end = bisect_right(times, deployment.upper)
        for change in ordered[start:end]:
            if same_ref(deployment, change):
                shipped.setdefault(change.id, deployment)
    return shipped


def same_ref(deployment: Deployed, change: Pushed) -> bool:
    """Whether a deployment can ship a change of its range: pushed to the deployed ref, or either
    ref unknown."""
    return deployment.ref is None or change.ref is None or deployment.ref == change.ref
