"""Team digests: which channels get one, and what one says (a SQL aggregate, then the pure builder)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.orm import Session

from bot.app.context import AppContext
from bot.app.evidence import WINDOW_DAYS
from bot.app.outreach import OutreachSettings
from bot.app.types import DigestSetting, Who
from bot.db import digests, people, sends, signal_metrics, targets, team_sessions
from bot.domain.digest import (
    Digest,
    PeriodFigures,
    Signals,
    Subscription,
    TeamAggregate,
    TeamsOverview,
    build_digest,
    build_overview,
    period_figures,
)
from bot.domain.measured import measurements
from bot.domain.schedule import Cadence, period_label
from bot.domain.team_session import SessionScores, StoredAgreement, agreed_levels, session_scores, team_action

DIGEST_ACTIONS = 5  # open actions a digest lists; `/compass actions` lists them all


@dataclass(frozen=True)
class ChannelSessions:
    """What a channel's team sessions add to its digest, as stored: each question's newest agreed
    outcome, and its first open actions (text, owner, due) of ``open_actions`` in all."""

    agreements: tuple[StoredAgreement, ...] = ()
    actions: tuple[tuple[str, str | None, date | None], ...] = ()
    open_actions: int = 0


NO_SESSIONS = ChannelSessions()


@dataclass(frozen=True)
class WorkspaceSessions:
    """``ChannelSessions`` of every channel of a workspace, read in two statements (a scheduled run
    reads them once for all its digests)."""

    channels: dict[str, ChannelSessions] = field(default_factory=dict)

    def of(self, channel_id: str) -> ChannelSessions:
        return self.channels.get(channel_id, NO_SESSIONS)


def channel_sessions(session: Session, ws_id: int, channel_id: str | None = None) -> WorkspaceSessions:
    """The sessions' part of the digests of one channel, or of every channel (None): two statements."""
    agreed = team_sessions.latest_agreements(session, ws_id, channel_id)
    actions = team_sessions.open_actions_by_channel(session, ws_id, channel_id, limit=DIGEST_ACTIONS)
    channels = {}
    for channel in set(agreed) | set(actions):
        listed, total = actions.get(channel, ([], 0))
        channels[channel] = ChannelSessions(
            tuple(agreed.get(channel, ())), tuple((a.text, a.owner, a.due) for a in listed), total
        )
    return WorkspaceSessions(channels)


def subscribe_digest(ctx: AppContext, who: Who, channel_id: str, cadence: str, now: datetime) -> DigestSetting:
    """Send the team digest to a channel at a cadence (replaces an earlier setting); ``who`` set it up."""
    with ctx.sessions.begin() as session:
        ws_id = people.workspace_id(session, who.workspace, now)
        sub = digests.save_subscription(session, ws_id, channel_id, cadence=cadence, created_by=who.user, now=now)
        return DigestSetting(sub.channel_id, sub.cadence, sub.paused_reason)


def unsubscribe_digest(ctx: AppContext, team: str, channel_id: str, now: datetime) -> bool:
    with ctx.sessions.begin() as session:
        return digests.delete_subscription(session, people.workspace_id(session, team, now), channel_id)


def digest_settings(ctx: AppContext, team: str, now: datetime) -> list[DigestSetting]:
    with ctx.sessions.begin() as session:
        subs = digests.subscriptions(session, people.workspace_id(session, team, now))
    return [DigestSetting(s.channel_id, s.cadence, s.paused_reason) for s in subs]


def team_digest(ctx: AppContext, ws_id: int, sub: Subscription, now: datetime, settings: OutreachSettings) -> Digest:
    """The digest for a channel's members: one aggregate query, then the pure builder."""
    with ctx.sessions.begin() as session:
        return subscription_digest(session, ctx, sub, ws_id=ws_id, now=now, settings=settings)


def subscription_digest(
    session: Session,
    ctx: AppContext,
    sub: Subscription,
    *,
    ws_id: int,
    now: datetime,
    settings: OutreachSettings,
    sessions: ChannelSessions | None = None,
) -> Digest:
    """``team_digest`` inside the caller's transaction (the scheduled run's, which stored the members);
    ``sessions``: the channel's sessions when the caller read them already (for every channel at once)."""
    aggregate = digests.team_aggregate(session, sub.id, ws_id, now - settings.cadence, now)
    members = digests.member_count(session, sub.id)
    return _digest(
        ctx,
        session,
        aggregate,
        ws_id=ws_id,
        channel_id=sub.channel_id,
        members=members,
        now=now,
        settings=settings,
        sub=sub,
        sessions=sessions,
    )


def _digest(
    ctx: AppContext,
    session: Session,
    aggregate: TeamAggregate,
    *,
    ws_id: int,
    channel_id: str,
    members: int,
    now: datetime,
    settings: OutreachSettings,
    sub: Subscription | None,
    sessions: ChannelSessions | None = None,
) -> Digest:
    """The digest of a channel's team from its aggregate: the last digest, signals, targets and what
    its sessions agreed added."""
    if sessions is None:
        sessions = channel_sessions(session, ws_id, channel_id).of(channel_id)
    last = sends.last_digest(session, ws_id, channel_id)
    signals = None
    if signal_metrics.has_signals(session, channel_id):
        metrics = signal_metrics.channel_metrics(session, channel_id, now, WINDOW_DAYS)
        signals = Signals(channel_id, WINDOW_DAYS, measurements(metrics))
    label = period_label(Cadence(sub.cadence), now) if sub else f"{now:%b %-d, %Y}"
    in_use = ctx.banks.in_use(session, ws_id)
    bank = in_use.bank
    return build_digest(
        bank,
        aggregate,
        members=members,
        min_respondents=settings.min_respondents,
        period=label,
        previous=last.payload if last else None,
        signals=signals,
        targets=targets.targets(session, ws_id, channel_id),
        now=now,
        agreed=agreed_levels(bank, sessions.agreements),
        actions=tuple(team_action(text, owner, due, now.date()) for text, owner, due in sessions.actions),
        open_actions=sessions.open_actions,
        pack=in_use.name,
    )


@dataclass(frozen=True)
class TeamHistory:
    """The trend chart's past: the figures of the channel's last digests (oldest first), and the agreed
    scores of the sessions that ended since the first of them (oldest first)."""

    periods: tuple[PeriodFigures, ...]
    sessions: tuple[SessionScores, ...] = ()


def digest_history(
    ctx: AppContext,
    ws_id: int,
    channel_id: str,
    *,
    settings: OutreachSettings,
    limit: int,
    current_period: str,
    now: datetime,
) -> TeamHistory:
    """The figures of the channel's last ``limit`` digests before the one for ``current_period``, oldest
    first, labelled by the day each went out (the trend chart's periods), and the sessions that ended
    from the first of those days (without past digests: within the last cadence): two statements. A
    digest under the respondent threshold comes back without figures."""
    with ctx.sessions.begin() as session:
        past = sends.recent_digests(session, ws_id, channel_id, limit, current_period)
        since = past[0].sent_at.replace(hour=0, minute=0, second=0, microsecond=0) if past else now - settings.cadence
        agreed = team_sessions.agreements_since(session, ws_id, channel_id, since)
        bank = ctx.banks.of(session, ws_id)
    periods = tuple(period_figures(f"{d.sent_at:%Y-%m-%d}", d.payload, settings.min_respondents) for d in past)
    return TeamHistory(periods, session_scores(bank, agreed))


@dataclass(frozen=True)
class TeamNow:
    """`/compass team`: the channel's digest as it would read now; ``cadence`` None without a subscription.

    ``digest.dimensions`` (the team means, their lowest and highest member's score) is what the
    team's radar chart draws (``bot.charts.data.radar_for_team``).
    """

    digest: Digest
    cadence: str | None


def channel_subscription(ctx: AppContext, team: str, channel_id: str, now: datetime) -> Subscription | None:
    with ctx.sessions.begin() as session:
        return digests.subscription(session, people.workspace_id(session, team, now), channel_id)


def team_aggregate_now(
    session: Session,
    ws_id: int,
    channel_id: str,
    now: datetime,
    *,
    members: Sequence[str] | None,
    settings: OutreachSettings,
) -> tuple[TeamAggregate, int, Subscription | None]:
    """The channel's team aggregate now, its size and subscription: the digest's stored members when
    ``members`` is None, else the people given (a channel's members as Slack lists them)."""
    sub = digests.subscription(session, ws_id, channel_id)
    since = now - settings.cadence
    if members is None:
        if sub is None:
            return TeamAggregate(0, None, (), ()), 0, None
        return digests.team_aggregate(session, sub.id, ws_id, since, now), digests.member_count(session, sub.id), sub
    listed = list(dict.fromkeys(members))
    return digests.people_aggregate(session, listed, ws_id, since, now), len(listed), sub


def team_now(
    ctx: AppContext,
    team: str,
    channel_id: str,
    now: datetime,
    *,
    settings: OutreachSettings,
    members: Sequence[str] | None = None,
) -> TeamNow:
    """The team digest of a channel right now, with its targets and focus, under the same threshold."""
    with ctx.sessions.begin() as session:
        ws_id = people.workspace_id(session, team, now)
        aggregate, size, sub = team_aggregate_now(session, ws_id, channel_id, now, members=members, settings=settings)
        digest = _digest(
            ctx,
            session,
            aggregate,
            ws_id=ws_id,
            channel_id=channel_id,
            members=size,
            now=now,
            settings=settings,
            sub=sub,
        )
    return TeamNow(digest, sub.cadence if sub else None)


def teams_overview(ctx: AppContext, team: str, now: datetime, settings: OutreachSettings) -> TeamsOverview:
    """Every digest channel side by side, in a constant number of statements.

    Each row's ``levels`` (per dimension, bank order; empty under the threshold) are the heat map's
    cells, ``dimensions`` its column names (``bot.charts.data.heatmap_for_overview``).
    """
    with ctx.sessions.begin() as session:
        ws_id = people.workspace_id(session, team, now)
        aggregates = digests.channel_aggregates(session, ws_id, now - settings.cadence, now)
        bank = ctx.banks.of(session, ws_id)
    return build_overview(bank, aggregates, min_respondents=settings.min_respondents)
