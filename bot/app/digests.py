"""Team digests: which channels get one, and what one says (a SQL aggregate, then the pure builder)."""

from __future__ import annotations

from datetime import datetime

from bot.app.context import AppContext
from bot.app.evidence import WINDOW_DAYS
from bot.app.outreach import OutreachSettings
from bot.app.types import DigestSetting, Who
from bot.db import digests, people, sends, signal_metrics
from bot.domain.digest import Digest, Signals, Subscription, build_digest
from bot.domain.measured import measurements
from bot.domain.schedule import Cadence, period_label


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
        aggregate = digests.team_aggregate(session, sub.id, ws_id, now - settings.cadence, now)
        members = digests.member_count(session, sub.id)
        last = sends.last_digest(session, ws_id, sub.channel_id)
        signals = None
        if signal_metrics.has_signals(session, sub.channel_id):
            metrics = signal_metrics.channel_metrics(session, sub.channel_id, now, WINDOW_DAYS)
            signals = Signals(sub.channel_id, WINDOW_DAYS, measurements(metrics))
    label = period_label(Cadence(sub.cadence), now)
    previous = last.payload if last else None
    return build_digest(
        ctx.bank,
        aggregate,
        members=members,
        min_respondents=settings.min_respondents,
        period=label,
        previous=previous,
        signals=signals,
    )
