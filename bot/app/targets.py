"""Team targets: set, remove and list a channel's targets, and the ledger that announces each change once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.app import outreach
from bot.app.context import AppContext
from bot.app.digests import team_aggregate_now, team_now
from bot.app.outreach import OutreachSettings
from bot.app.types import Who
from bot.db import people, sends, targets, team_sessions
from bot.domain.digest import build_digest
from bot.domain.schedule import SendKey
from bot.domain.targets import DimensionChoice, SetTarget, Target, TargetProgress
from bot.domain.team_session import agreed_levels

ANNOUNCEMENT = "target"  # the sends ledger's kind for a target change posted to its channel


@dataclass(frozen=True)
class TargetSet:
    target: Target
    dimension: str  # its name
    previous: Target | None  # the target it replaced


def dimension_choices(ctx: AppContext, team: str) -> tuple[DimensionChoice, ...]:
    """The dimensions of the workspace's bank, as commands name them."""
    with ctx.sessions.begin() as session:
        bank = ctx.banks.of(session, team)
    return tuple(DimensionChoice(d.id, d.name) for d in bank.dimensions)


def set_target(
    ctx: AppContext,
    who: Who,
    channel_id: str,
    command: SetTarget,
    now: datetime,
    *,
    settings: OutreachSettings,
    members: Sequence[str] | None = None,
) -> TargetSet:
    """Set (or replace) the channel's target for one dimension, keeping the team's score in it now as
    the baseline: the level a session agreed for it where one did (the target is judged against that),
    else the team mean when the team meets the respondent threshold (else no baseline)."""
    with ctx.sessions.begin() as session:
        ws_id = people.workspace_id(session, who.workspace, now)
        aggregate, size, _ = team_aggregate_now(session, ws_id, channel_id, now, members=members, settings=settings)
        bank = ctx.banks.of(session, ws_id)
        digest = build_digest(bank, aggregate, members=size, min_respondents=settings.min_respondents, period="now")
        means = {d.id: d.mean for d in digest.dimensions}
        stored = team_sessions.latest_agreements(session, ws_id, channel_id).get(channel_id, [])
        agreed = {a.dimension_id: a.score for a in agreed_levels(bank, stored)}
        baseline = agreed.get(command.dimension.id, means.get(command.dimension.id))
        before = {t.dimension_id: t for t in targets.targets(session, ws_id, channel_id)}
        target = targets.save_target(
            session,
            ws_id,
            channel_id,
            dimension_id=command.dimension.id,
            level=command.level,
            by=command.by,
            baseline=baseline,
            set_by=who.user,
            now=now,
        )
    return TargetSet(target, command.dimension.name, before.get(command.dimension.id))


def remove_target(ctx: AppContext, team: str, channel_id: str, dimension_id: str, now: datetime) -> bool:
    with ctx.sessions.begin() as session:
        return targets.delete_target(session, people.workspace_id(session, team, now), channel_id, dimension_id)


def list_targets(
    ctx: AppContext,
    team: str,
    channel_id: str,
    now: datetime,
    *,
    settings: OutreachSettings,
    members: Sequence[str] | None = None,
) -> tuple[TargetProgress, ...]:
    """The channel's targets with the team's progress now (figures only above the threshold)."""
    return team_now(ctx, team, channel_id, now, settings=settings, members=members).digest.targets


def claim_announcement(ctx: AppContext, team: str, channel_id: str, change: str, now: datetime) -> int | None:
    """The right to post one target change to its channel (a ledger id), or None when it went out already.

    ``change`` names the change: the slash command's trigger_id, the same however often it is run.
    """
    with ctx.sessions.begin() as session:
        ws_id = people.workspace_id(session, team, now)
        return outreach.claim(session, SendKey(ANNOUNCEMENT, ws_id, channel_id, change[:64]), now)


def record_announced(ctx: AppContext, send_id: int, now: datetime, where: tuple[str | None, str | None]) -> None:
    channel, ts = where
    with ctx.sessions.begin() as session:
        sends.finish_send(session, send_id, "sent", now, channel_id=channel, ts=ts)


def record_not_announced(ctx: AppContext, send_id: int, now: datetime, error: str) -> None:
    with ctx.sessions.begin() as session:
        sends.finish_send(session, send_id, "skipped", now, error=error)
