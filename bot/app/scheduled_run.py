"""One scheduled run in one workspace: what is due, each message sent once, and what happened; and,
across workspaces, the team sessions that end by themselves after ``IDLE_LIMIT`` without activity.

``run_due`` reads the workspace's directory and each digest channel's members through the
``Messenger`` port (bot/app/messenger.py), stores them as the teams, decides what is due at ``now``
(bot/app/outreach.py: digests, re-assessment invitations, reminders) and sends each message at most
once: it is claimed in the sends ledger before it goes out and its outcome recorded after, so a
second scheduler, a crash or a restart never repeats one. A channel the bot can no longer see
pauses its digest, and the person who set it up is told, once.

A digest over the respondent threshold gets its trend chart as the first reply in its thread, once
the run's digests are all out: best-effort, after the digest is recorded as sent, so a chart that
fails never holds up, fails or repeats a digest.

Transactions: one to bring the directory up to date and list the digests; per digest channel one
that stores its members and, when its digest is due, claims and builds it; one to read who is due
an invitation or a reminder; per message a claim before the send and a record after it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from functools import partial
from typing import Any

from bot.app import digests, team_sessions
from bot.app.context import AppContext
from bot.app.messenger import DirectoryEntry, Gone, Messenger, PausedNotice, Posted, Refused, Reminder, TrendChart
from bot.app.outreach import OutreachSettings, claim, digest_period_due, people_due
from bot.db import digests as stored_digests
from bot.db import people, sends
from bot.domain.digest import TREND_PERIODS, Digest, Subscription
from bot.domain.schedule import SendKey
from bot.domain.team_session import IDLE_LIMIT

log = logging.getLogger(__name__)


class Outcome(Enum):
    """What became of one message."""

    SENT = "sent"
    TAKEN = "taken"  # it went out before, or another scheduler is sending it now
    FAILED = "failed"  # refused for now: recorded, and claimed again on a later tick
    GONE = "gone"  # the channel or the person is gone: recorded as final, never tried again


@dataclass(frozen=True)
class Delivery:
    outcome: Outcome
    posted: Posted | None = None  # where it went, when SENT
    refused: Refused | None = None  # why not, when FAILED or GONE

    def __str__(self) -> str:
        return self.refused.error if self.refused else self.outcome.value


@dataclass(kw_only=True)
class RunReport:
    digests: int = 0
    prompts: int = 0
    reminders: int = 0
    paused_channels: list[str] = field(default_factory=list)
    failures: int = 0
    skipped_outside_hours: int = 0
    idle_sessions_ended: int = 0

    def add(self, other: RunReport) -> None:
        self.digests += other.digests
        self.prompts += other.prompts
        self.reminders += other.reminders
        self.paused_channels.extend(other.paused_channels)
        self.failures += other.failures
        self.skipped_outside_hours += other.skipped_outside_hours
        self.idle_sessions_ended += other.idle_sessions_ended

    def __str__(self) -> str:
        paused = f", paused digests: {', '.join(self.paused_channels)}" if self.paused_channels else ""
        return (
            f"digests posted: {self.digests}, invitations: {self.prompts}, reminders: {self.reminders}, "
            f"failures: {self.failures}, waiting for working hours: {self.skipped_outside_hours}, "
            f"idle sessions ended: {self.idle_sessions_ended}{paused}"
        )


@dataclass(frozen=True)
class DueDigest:
    """A digest this run claimed in the ledger (``send_id``) and built: to send."""

    send_id: int
    period: str  # the ledger's key
    digest: Digest


@dataclass(frozen=True)
class StoredTeam:
    """A channel's members stored as its team; ``due`` its digest, when this run is to send one."""

    due: DueDigest | None


@dataclass(frozen=True)
class PostedDigest:
    """A digest that went out, whose trend chart is still to go into its thread."""

    channel: str
    period: str
    digest: Digest
    posted: Posted


@dataclass(kw_only=True)
class Run:
    """One scheduled run in one workspace: what every step needs, and the tally it keeps."""

    ctx: AppContext
    messenger: Messenger
    settings: OutreachSettings
    now: datetime
    ws_id: int
    directory: Mapping[str, DirectoryEntry]
    subscriptions: list[Subscription]
    # What every channel's sessions agreed and its open actions: read once, by the run's first due digest.
    sessions: digests.WorkspaceSessions | None = None
    report: RunReport = field(default_factory=RunReport)
    charts: list[PostedDigest] = field(default_factory=list)


def run_due(ctx: AppContext, messenger: Messenger, settings: OutreachSettings, now: datetime) -> RunReport:
    """Send every digest, invitation and reminder due at ``now``, each at most once."""
    run = _begin(ctx, messenger, settings, now)
    active = []
    for sub in run.subscriptions:
        if sub.paused_reason:
            continue
        try:
            members = _members(run, sub)
        except Refused as refused:
            _refused_channel(run, sub, refused)
            continue
        team = _store_team(run, sub, members)
        if team is None:
            continue
        active.append(sub.id)
        if team.due is not None:
            _send_digest(run, sub, team.due)
    _send_charts(run)
    _invite_and_remind(run, active)
    return run.report


MessengerFor = Callable[[str], Messenger | None]  # a workspace's Slack id -> its port (None: not installed)


def end_idle_sessions(ctx: AppContext, messenger_for: MessengerFor, now: datetime) -> RunReport:
    """Team sessions nobody touched for ``IDLE_LIMIT`` end by themselves: each one's live question
    message is closed and its summary posted in its channel, and where it went recorded.

    Ended once: ``team_sessions.end_idle`` ends each session in one transaction holding its row, so of
    two schedulers at once only one gets it back. Announced once: the summary is claimed in the sends
    ledger before it is posted, so a summary refused for now, or not posted because the scheduler
    died after the end, is posted by a later tick (within ``ANNOUNCE_WITHIN``) and never twice.
    """
    report = RunReport()
    for ended in team_sessions.end_idle(ctx, now, IDLE_LIMIT):
        report.idle_sessions_ended += 1
        _announce(ctx, messenger_for, ended, now, report)
    for ended in team_sessions.unannounced_idle(ctx, now):  # ended by an earlier tick
        _announce(ctx, messenger_for, ended, now, report)
    return report


def _announce(
    ctx: AppContext, messenger_for: MessengerFor, ended: team_sessions.Ended, now: datetime, report: RunReport
) -> None:
    """Close the ended session's live message and post its summary, when this run claims it."""
    messenger = messenger_for(ended.team)
    if messenger is None:
        log.warning("session %d in %s ended idle, unannounced: no token for %s", *_where(ended), ended.team)
        return
    send_id = team_sessions.claim_summary(ctx, ended.session_id, now)
    if send_id is None:
        return  # posted, or another scheduler is posting it
    try:
        messenger.close_session_message(ended)
    except Refused as refused:  # deleted, or the bot removed: the summary still goes where it can
        log.warning("could not close session %d's message in %s: %s", *_where(ended), refused)
    try:
        posted = messenger.post_session_summary(ended)
    except Refused as refused:
        report.failures += 1
        log.warning("could not post session %d's summary in %s: %s", *_where(ended), refused)
        team_sessions.summary_refused(ctx, send_id, refused.error, now, final=refused.gone is not None)
        return
    team_sessions.summary_sent(ctx, send_id, ended.session_id, (posted.channel, posted.ts), now)


def _where(ended: team_sessions.Ended) -> tuple[int, str]:
    return ended.session_id, ended.channel


def post_digest_now(
    ctx: AppContext, messenger: Messenger, settings: OutreachSettings, channel: str, now: datetime
) -> Digest:
    """``compass digest --channel C --now``: refresh the team and post a digest at once."""
    run = _begin(ctx, messenger, settings, now)
    sub = next((s for s in run.subscriptions if s.channel_id == channel), None)
    if sub is None:
        raise LookupError(f"no digest is set up for channel {channel}; run /compass digest here in it first")
    try:
        members = _members(run, sub)
    except Refused as refused:
        _refused_channel(run, sub, refused)
        paused = "; the digest is paused" if refused.gone is Gone.CHANNEL else ""
        raise RuntimeError(f"could not read the members of {channel}: {refused.error}{paused}") from None
    team = _store_team(run, sub, members, period=f"manual:{now:%Y%m%dT%H%M%S}")
    if team is None:
        raise LookupError(f"the digest of channel {channel} was deleted just now")
    if team.due is None:
        raise RuntimeError(f"the digest was not posted: {Outcome.TAKEN.value}")
    delivery = _send_digest(run, sub, team.due)
    if delivery.outcome is not Outcome.SENT:
        raise RuntimeError(f"the digest was not posted: {delivery}")
    _send_charts(run)
    return team.due.digest


def _begin(ctx: AppContext, messenger: Messenger, settings: OutreachSettings, now: datetime) -> Run:
    """The workspace's id and digests, with known people's time zones and status brought up to date."""
    team = messenger.team_id()
    directory = messenger.directory()
    with ctx.sessions.begin() as session:
        ws_id = people.workspace_id(session, team, now)
        people.update_directory(session, ws_id, {u: (p.tz, p.active) for u, p in directory.items()})
        subscriptions = stored_digests.subscriptions(session, ws_id)
    return Run(
        ctx=ctx,
        messenger=messenger,
        settings=settings,
        now=now,
        ws_id=ws_id,
        directory=directory,
        subscriptions=subscriptions,
    )


def _members(run: Run, sub: Subscription) -> dict[str, str | None]:
    """The channel's human members (user id -> time zone); raises Refused when the channel is refused."""
    listed = run.messenger.channel_members(sub.channel_id)
    unknown = DirectoryEntry(None, False)
    # People already known were brought up to date from the directory at the start of the run.
    return {m: run.directory[m].tz for m in listed if run.directory.get(m, unknown).active}


def _refused_channel(run: Run, sub: Subscription, refused: Refused) -> None:
    """A channel whose members could not be read: gone, its digest pauses; else it waits for a later tick."""
    if refused.gone is Gone.CHANNEL:
        _pause(run, sub, refused.error)
        return
    run.report.failures += 1
    log.warning("could not read the members of %s: %s (its digest waits for a later tick)", sub.channel_id, refused)


def _store_team(
    run: Run, sub: Subscription, members: Mapping[str, str | None], *, period: str | None = None
) -> StoredTeam | None:
    """Store the channel's members as its team and, when its digest is due (or ``period`` is given: a
    digest asked for now), claim it and build it, in one transaction. None when the digest was deleted
    since the run listed it.

    The subscription's row is held first: a second scheduler refreshing the same channel waits for
    this one, then finds the digest claimed."""
    with run.ctx.sessions.begin() as session:
        if not stored_digests.lock_subscription(session, sub.id):
            return None
        people.ensure_respondents(session, run.ws_id, members, run.now)
        stored_digests.replace_members(session, sub.id, list(members))
        period = period or digest_period_due(session, run.ws_id, sub, run.now)
        if period is None:
            return StoredTeam(None)
        send_id = claim(session, SendKey("digest", run.ws_id, sub.channel_id, period), run.now)
        if send_id is None:
            return StoredTeam(None)
        if run.sessions is None:  # every channel's at once: a run's digests add two statements, not two each
            run.sessions = digests.channel_sessions(session, run.ws_id)
        digest = digests.subscription_digest(
            session,
            run.ctx,
            sub,
            ws_id=run.ws_id,
            now=run.now,
            settings=run.settings,
            sessions=run.sessions.of(sub.channel_id),
        )
        return StoredTeam(DueDigest(send_id, period, digest))


def _send_digest(run: Run, sub: Subscription, due: DueDigest) -> Delivery:
    """Post a claimed digest; a channel that is gone pauses the digest."""
    key = SendKey("digest", run.ws_id, sub.channel_id, due.period)
    post = partial(run.messenger.post_digest, sub.channel_id, due.digest)
    delivery = _deliver(run, due.send_id, key, post, payload=due.digest.snapshot())
    if delivery.posted is not None:
        run.report.digests += 1
        if due.digest.visible and delivery.posted.ts:  # under the threshold: no figures, so no chart
            run.charts.append(PostedDigest(sub.channel_id, due.period, due.digest, delivery.posted))
    elif delivery.refused is not None and delivery.refused.gone is Gone.CHANNEL:
        _pause(run, sub, delivery.refused.error)
    return delivery


def _pause(run: Run, sub: Subscription, reason: str) -> None:
    """Stop a digest whose channel is gone, and tell the person who set it up, once: of two schedulers
    finding it gone, the one that paused it claims the notice in the same transaction."""
    key = SendKey("notice", run.ws_id, sub.created_by, f"paused:{sub.channel_id}:{run.now:%Y%m%d%H%M}")
    with run.ctx.sessions.begin() as session:
        if not stored_digests.pause_subscription(session, sub.id, reason):
            return  # paused already, by another scheduler, which tells its owner
        send_id = claim(session, key, run.now)
    run.report.paused_channels.append(sub.channel_id)
    log.warning("digest for %s paused: %s", sub.channel_id, reason)
    if send_id is not None:
        notice = PausedNotice(sub.created_by, sub.channel_id, reason)
        _deliver(run, send_id, key, partial(run.messenger.post_paused_notice, notice))


def _send_charts(run: Run) -> None:
    """Each posted digest's trend chart into its thread; whatever happens, the digests stay sent."""
    while run.charts:
        posted = run.charts.pop(0)
        try:
            history = digests.digest_history(
                run.ctx,
                run.ws_id,
                posted.channel,
                settings=run.settings,
                limit=TREND_PERIODS - 1,
                current_period=posted.period,
                now=run.now,
            )
            today = f"{run.now:%Y-%m-%d}"
            run.messenger.send_trend_chart(
                TrendChart(posted.posted, posted.digest, history.periods, today, history.sessions)
            )
        except Exception:  # a chart is never worth a digest: it went out and stays recorded as sent
            log.exception("could not send the trend chart of the digest in %s", posted.channel)


def _invite_and_remind(run: Run, sub_ids: list[int]) -> None:
    with run.ctx.sessions.begin() as session:
        due = people_due(session, run.ws_id, sub_ids, run.settings, run.now, banks=run.ctx.banks)
    run.report.skipped_outside_hours += due.outside_hours
    for item in due.messages:
        if isinstance(item, Reminder):
            key = SendKey("reminder", run.ws_id, item.user_id, item.period)
            if _claim_and_deliver(run, key, partial(run.messenger.post_reminder, item)).outcome is Outcome.SENT:
                run.report.reminders += 1
        else:
            key = SendKey("prompt", run.ws_id, item.user_id, item.period)
            if _claim_and_deliver(run, key, partial(run.messenger.post_invitation, item)).outcome is Outcome.SENT:
                run.report.prompts += 1


def _claim_and_deliver(run: Run, key: SendKey, post: Callable[[], Posted]) -> Delivery:
    """Claim the message in the ledger, then send and record it; TAKEN when someone else has it."""
    with run.ctx.sessions.begin() as session:
        send_id = claim(session, key, run.now)
    if send_id is None:
        return Delivery(Outcome.TAKEN)
    return _deliver(run, send_id, key, post)


def _deliver(
    run: Run, send_id: int, key: SendKey, post: Callable[[], Posted], *, payload: dict[str, Any] | None = None
) -> Delivery:
    """Send a claimed message and record what happened; ``payload`` is what a digest showed."""
    try:
        posted = post()
    except Refused as refused:
        final = refused.gone is not None
        log.warning("could not send %s to %s: %s%s", key.kind, key.target, refused, "" if final else " (will retry)")
        run.report.failures += 1
        with run.ctx.sessions.begin() as session:
            sends.finish_send(session, send_id, "skipped" if final else "failed", run.now, error=refused.error)
        return Delivery(Outcome.GONE if final else Outcome.FAILED, refused=refused)
    with run.ctx.sessions.begin() as session:
        sends.finish_send(session, send_id, "sent", run.now, channel_id=posted.channel, ts=posted.ts, payload=payload)
    return Delivery(Outcome.SENT, posted=posted)
