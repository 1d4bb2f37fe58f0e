"""Use cases of a workspace's install lifecycle: uninstalled, reinstalled, purged after the grace period."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from bot.db import people, workspaces
from bot.db.session import SessionFactory


def uninstalled(sessions: SessionFactory, team_id: str, now: datetime, grace: timedelta) -> datetime:
    """The workspace's scheduled sends stop now; its data is purged at the returned time (at once for 0)."""
    purge_at = now + grace
    with sessions.begin() as session:
        workspaces.mark_uninstalled(session, team_id, now, purge_at)
        if grace <= timedelta(0):
            workspaces.purge_due(session, now)
    return purge_at


def org_uninstalled(
    sessions: SessionFactory, enterprise_id: str, now: datetime, grace: timedelta, keep: Collection[str] = ()
) -> list[str]:
    """An org-wide install went: every workspace of the organisation known here stops now (but those in
    ``keep``, installed on their own), their data purged after the grace period (at once for 0)."""
    with sessions.begin() as session:
        teams = workspaces.mark_enterprise_uninstalled(session, enterprise_id, now, now + grace, keep)
        if grace <= timedelta(0):
            workspaces.purge_due(session, now)
    return teams


def org_reinstalled(sessions: SessionFactory, enterprise_id: str) -> list[str]:
    """An org-wide install: the purges pending for the organisation's workspaces are called off."""
    with sessions.begin() as session:
        return workspaces.mark_enterprise_installed(session, enterprise_id)


def seen(sessions: SessionFactory, team_id: str, enterprise_id: str, now: datetime) -> None:
    """A request or job from a workspace of an Enterprise Grid organisation: its row records the org."""
    with sessions.begin() as session:
        people.workspace_id(session, team_id, now, enterprise_id)


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
