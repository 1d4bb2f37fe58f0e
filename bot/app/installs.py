"""Use cases of a workspace's install lifecycle: uninstalled, reinstalled, purged after the grace period."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.db import workspaces
from bot.db.session import SessionFactory


def uninstalled(sessions: SessionFactory, team_id: str, now: datetime, grace: timedelta) -> datetime:
    """The workspace's scheduled sends stop now; its data is purged at the returned time (at once for 0)."""
    purge_at = now + grace
    with sessions.begin() as session:
        workspaces.mark_uninstalled(session, team_id, now, purge_at)
        if grace <= timedelta(0):
            workspaces.purge_due(session, now)
    return purge_at


def reinstalled(sessions: SessionFactory, team_id: str) -> bool:
    """Called when a workspace installs: a purge still pending is called off and its data kept."""
    with sessions.begin() as session:
        return workspaces.mark_installed(session, team_id)


def stopped_workspaces(sessions: SessionFactory) -> set[str]:
    """Team ids of uninstalled workspaces, which the scheduler skips."""
    with sessions() as session:
        return workspaces.uninstalled(session)


def purge_due(sessions: SessionFactory, now: datetime) -> list[str]:
    """The scheduler's housekeeping: delete the data of every workspace whose grace period is over."""
    with sessions.begin() as session:
        return workspaces.purge_due(session, now)
