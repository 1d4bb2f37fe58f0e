"""Scheduled work: team digests, re-assessment invitations and reminders.

``run_due`` finds everything due at ``now`` from the database and Slack's directory and
sends it once. Every send is claimed in the ``sends`` ledger under a unique key before
it goes out, so a second scheduler, a crash or a restart never repeats a message.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.db import scheduling
from bot.domain.digest import Digest, build_digest
from bot.domain.schedule import Cadence, WorkingHours, digest_due, period_key, period_label, prompt_key, reminder_due
from bot.pacing import Pacer
from bot.slack.blocks import (
    Message,
    build_digest_message,
    build_paused_digest_notice,
    build_prompt_message,
    build_reminder_message,
)
from bot.slack.deps import Deps
from bot.slack.directory import Person, fetch_directory, fetch_members

log = logging.getLogger(__name__)

CHANNEL_GONE = ("not_in_channel", "channel_not_found", "is_archived", "access_denied")
USER_GONE = ("user_not_found", "account_inactive", "user_disabled", "cannot_dm_bot")
LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 5
RATE_LIMIT_RETRIES = 5


@dataclass(frozen=True)
class JobSettings:
    min_respondents: int = 5
    cadence: timedelta = timedelta(days=90)
    hours: WorkingHours = field(default_factory=lambda: WorkingHours(frozenset({1, 2, 3}), 10, 16))
    send_rate: float = 2.0  # messages per second per workspace


@dataclass
class RunReport:
    digests: int = 0
    prompts: int = 0
    reminders: int = 0
    paused_channels: list[str] = field(default_factory=list)
    failures: int = 0
    skipped_outside_hours: int = 0

    def __str__(self) -> str:
        paused = f", paused digests: {', '.join(self.paused_channels)}" if self.paused_channels else ""
        return (
            f"digests posted: {self.digests}, invitations: {self.prompts}, reminders: {self.reminders}, "
            f"failures: {self.failures}, waiting for working hours: {self.skipped_outside_hours}{paused}"
        )


class Sender:
    """Posts through the pacer; honours Retry-After on 429 by pausing the whole queue."""

    def __init__(self, client: WebClient, pacer: Pacer) -> None:
        self.client = client
        self.pacer = pacer

    def post(self, channel: str, message: Message) -> dict[str, Any]:
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            self.pacer.wait()
            try:
                response = self.client.chat_postMessage(channel=channel, **message.as_kwargs())
                return dict(response.data) if isinstance(response.data, dict) else {}
            except SlackApiError as exc:
                if exc.response.status_code != 429 or attempt == RATE_LIMIT_RETRIES:
                    raise
                retry_after = float(exc.response.headers.get("Retry-After", 1))
                log.warning("rate limited posting to %s; pausing the queue for %ss", channel, retry_after)
                self.pacer.pause(retry_after)
        raise AssertionError("unreachable")


def _error(exc: SlackApiError) -> str:
    return str(exc.response.get("error") or exc.response.status_code)


def run_due(
    deps: Deps, client: WebClient, settings: JobSettings, now: datetime, pacer: Pacer | None = None
) -> RunReport:
    """Send every digest, invitation and reminder due at ``now``, each at most once."""
    report = RunReport()
    sender = Sender(client, pacer or Pacer(settings.send_rate))
    ws_id, directory = _sync_directory(deps, client, now)
    with deps.sessions.begin() as session:
        subs = [
            (s.id, s.channel_id, s.cadence, s.created_at, s.created_by, s.paused_reason)
            for s in scheduling.subscriptions(session, ws_id)
        ]
    active_subs = []
    for sub_id, channel, cadence, created_at, created_by, paused in subs:
        if paused:
            continue
        if not _refresh_members(deps, client, ws_id, sub_id, channel, created_by, directory, now, sender, report):
            continue
        active_subs.append(sub_id)
        with deps.sessions.begin() as session:
            last = scheduling.last_digest(session, ws_id, channel)
        if digest_due(Cadence(cadence), created_at, last.period if last else None, now):
            _post_digest(
                deps,
                ws_id,
                sub_id,
                channel,
                Cadence(cadence),
                created_by,
                period_key(Cadence(cadence), now),
                now,
                settings,
                sender,
                report,
            )
    _invite_and_remind(deps, ws_id, active_subs, settings, now, sender, report)
    return report


def _sync_directory(deps: Deps, client: WebClient, now: datetime) -> tuple[int, dict[str, Person]]:
    """The workspace's id here and Slack's directory, with known people's zones and status updated."""
    team = str(client.auth_test()["team_id"])
    directory = fetch_directory(client)
    with deps.sessions.begin() as session:
        ws_id = scheduling.workspace_id(session, team, now)
        scheduling.update_directory(session, ws_id, {u: (p.tz, p.active) for u, p in directory.items()})
    return ws_id, directory


def _refresh_members(
    deps: Deps,
    client: WebClient,
    ws_id: int,
    sub_id: int,
    channel: str,
    created_by: str,
    directory: dict[str, Person],
    now: datetime,
    sender: Sender,
    report: RunReport,
) -> bool:
    try:
        members = fetch_members(client, channel)
    except SlackApiError as exc:
        if _error(exc) in CHANNEL_GONE:
            _pause(deps, ws_id, sub_id, channel, created_by, _error(exc), now, sender, report)
            return False
        raise
    humans = [m for m in members if directory.get(m, Person(None, False)).active]
    with deps.sessions.begin() as session:
        # People already known were brought up to date from the directory at the start of the run.
        scheduling.ensure_respondents(session, ws_id, {u: directory[u].tz for u in humans}, now)
        scheduling.replace_members(session, sub_id, humans)
    return True


def _pause(
    deps: Deps,
    ws_id: int,
    sub_id: int,
    channel: str,
    created_by: str,
    error: str,
    now: datetime,
    sender: Sender,
    report: RunReport,
) -> None:
    """Stop a digest Slack refuses, and tell the person who set it up, once."""
    with deps.sessions.begin() as session:
        scheduling.pause_subscription(session, sub_id, error)
    report.paused_channels.append(channel)
    log.warning("digest for %s paused: %s", channel, error)
    _send(
        deps,
        sender,
        ws_id,
        "notice",
        created_by,
        f"paused:{channel}:{now:%Y%m%d%H%M}",
        created_by,
        build_paused_digest_notice(channel, error),
        now,
        report,
    )


def _post_digest(
    deps: Deps,
    ws_id: int,
    sub_id: int,
    channel: str,
    cadence: Cadence,
    created_by: str,
    period: str,
    now: datetime,
    settings: JobSettings,
    sender: Sender,
    report: RunReport,
) -> tuple[str, Digest]:
    """Build and send one digest; a channel Slack refuses pauses the subscription."""
    digest = team_digest(deps, ws_id, sub_id, channel, cadence, now, settings)
    message = build_digest_message(digest, channel)
    outcome = _send(deps, sender, ws_id, "digest", channel, period, channel, message, now, report, digest.snapshot())
    if outcome == "sent":
        report.digests += 1
    elif outcome in CHANNEL_GONE:
        _pause(deps, ws_id, sub_id, channel, created_by, outcome, now, sender, report)
    return outcome, digest


def team_digest(
    deps: Deps, ws_id: int, sub_id: int, channel: str, cadence: Cadence, now: datetime, settings: JobSettings
) -> Digest:
    """The digest for a channel's members: one aggregate query, then the pure builder."""
    with deps.sessions.begin() as session:
        aggregate = scheduling.team_aggregate(session, sub_id, ws_id, now - settings.cadence, now)
        members = scheduling.member_count(session, sub_id)
        last = scheduling.last_digest(session, ws_id, channel)
    previous = json.loads(last.payload_json) if last and last.payload_json else None
    return build_digest(deps.bank, aggregate, members, settings.min_respondents, period_label(cadence, now), previous)


def _send(
    deps: Deps,
    sender: Sender,
    ws_id: int,
    kind: str,
    target: str,
    period: str,
    channel: str,
    message: Message,
    now: datetime,
    report: RunReport,
    payload: dict[str, Any] | None = None,
) -> str:
    """Claim, post, record. Returns "sent", "taken" (someone else has it), or Slack's error."""
    with deps.sessions.begin() as session:
        send_id = scheduling.claim_send(session, kind, ws_id, target, period, now, LEASE, MAX_ATTEMPTS)
    if send_id is None:
        return "taken"
    try:
        response = sender.post(channel, message)
    except SlackApiError as exc:
        error = _error(exc)
        final = error in CHANNEL_GONE or error in USER_GONE
        log.warning("could not send %s to %s: %s%s", kind, target, error, "" if final else " (will retry)")
        report.failures += 1
        with deps.sessions.begin() as session:
            scheduling.finish_send(session, send_id, "skipped" if final else "failed", now, error=error)
        return error
    with deps.sessions.begin() as session:
        scheduling.finish_send(
            session, send_id, "sent", now, channel_id=response.get("channel"), ts=response.get("ts"), payload=payload
        )
    return "sent"


def _invite_and_remind(
    deps: Deps, ws_id: int, sub_ids: list[int], settings: JobSettings, now: datetime, sender: Sender, report: RunReport
) -> None:
    with deps.sessions.begin() as session:
        people = scheduling.candidates(session, ws_id, sub_ids)
        reminded = scheduling.reminder_periods(session, ws_id)
    for person in people:
        if person.reminders_paused or (person.snoozed_until is not None and person.snoozed_until > now):
            continue
        if person.open_assessment is not None and person.open_updated is not None:
            sent = sum(1 for n in (1, 2) if f"{person.open_assessment}:{n}" in reminded)
            number = reminder_due(person.open_updated, sent, now)
            if number is None:
                continue
            if not settings.hours.contains(now, person.tz):
                report.skipped_outside_hours += 1
                continue
            message = build_reminder_message(person.open_assessment, deps.bank, person.open_position or 0, number)
            if (
                _send(
                    deps,
                    sender,
                    ws_id,
                    "reminder",
                    person.user_id,
                    f"{person.open_assessment}:{number}",
                    person.user_id,
                    message,
                    now,
                    report,
                )
                == "sent"
            ):
                report.reminders += 1
            continue
        key = prompt_key(person.last_completed, now, settings.cadence)
        if key is None:
            continue
        if not settings.hours.contains(now, person.tz):
            report.skipped_outside_hours += 1
            continue
        message = build_prompt_message(person.last_completed, settings.cadence.days)
        if _send(deps, sender, ws_id, "prompt", person.user_id, key, person.user_id, message, now, report) == "sent":
            report.prompts += 1


def post_digest_now(deps: Deps, client: WebClient, settings: JobSettings, channel: str, now: datetime) -> Digest:
    """``compass digest --channel C --now``: refresh the team and post a digest at once."""
    sender = Sender(client, Pacer(settings.send_rate))
    report = RunReport()
    ws_id, directory = _sync_directory(deps, client, now)
    with deps.sessions.begin() as session:
        sub = scheduling.subscription(session, ws_id, channel)
        if sub is None:
            raise LookupError(f"no digest is set up for channel {channel}; run /compass digest here in it first")
        sub_id, cadence, created_by = sub.id, Cadence(sub.cadence), sub.created_by
    if not _refresh_members(deps, client, ws_id, sub_id, channel, created_by, directory, now, sender, report):
        raise RuntimeError(
            f"Slack refused the channel {channel}: {', '.join(report.paused_channels)}; the digest is paused"
        )
    outcome, digest = _post_digest(
        deps, ws_id, sub_id, channel, cadence, created_by, f"manual:{now:%Y%m%dT%H%M%S}", now, settings, sender, report
    )
    if outcome != "sent":
        raise RuntimeError(f"the digest was not posted: {outcome}")
    return digest
