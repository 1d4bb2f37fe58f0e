"""A workspace's install state: uninstalled (its sends stop), its data purged after a grace period."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.db.models import PendingWork, Workspace


def mark_uninstalled(session: Session, external_id: str, now: datetime, purge_after: datetime) -> bool:
    """Stop the workspace and set when its data goes; False when nothing was ever stored for it."""
    result = session.execute(
        update(Workspace)
        .where(Workspace.external_id == external_id)
        .values(uninstalled_at=now, purge_after=purge_after)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_installed(session: Session, external_id: str) -> bool:
    """A reinstall: the workspace is live again and its purge is called off; True when one was pending."""
    result = session.execute(
        update(Workspace)
        .where(Workspace.external_id == external_id, Workspace.uninstalled_at.is_not(None))
        .values(uninstalled_at=None, purge_after=None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_enterprise_uninstalled(
    session: Session, enterprise_id: str, now: datetime, purge_after: datetime, keep: Collection[str] = ()
) -> list[str]:
    """An org-wide uninstall: stop every workspace of the organisation (but those in ``keep``, which
    still have an installation of their own) and set when its data goes. Returns their team ids."""
    query = select(Workspace.external_id).where(Workspace.enterprise_id == enterprise_id)
    if keep:
        query = query.where(Workspace.external_id.not_in(list(keep)))
    teams = sorted(session.scalars(query))
    if teams:
        session.execute(
            update(Workspace)
            .where(Workspace.external_id.in_(teams))
            .values(uninstalled_at=now, purge_after=purge_after)
        )
    return teams


def mark_enterprise_installed(session: Session, enterprise_id: str) -> list[str]:
    """An org-wide reinstall: every workspace of the organisation is live again, its purge called off."""
    pending = Workspace.enterprise_id == enterprise_id, Workspace.uninstalled_at.is_not(None)
    teams = sorted(session.scalars(select(Workspace.external_id).where(*pending)))
    if teams:
        session.execute(update(Workspace).where(*pending).values(uninstalled_at=None, purge_after=None))
    return teams


def uninstalled(session: Session) -> set[str]:
    return set(session.scalars(select(Workspace.external_id).where(Workspace.uninstalled_at.is_not(None))))


def purge_due(session: Session, now: datetime) -> list[str]:
    """Delete every workspace whose grace period is over, with everything stored for it (the foreign
    keys cascade: people, assessments, answers, scores, digests, members, targets, sends, signals)
    and its queued work. Returns the Slack team ids purged."""
    due = list(
        session.scalars(
            select(Workspace.external_id).where(Workspace.purge_after.is_not(None), Workspace.purge_after <= now)
        )
    )
    for external_id in due:
        session.execute(delete(PendingWork).where(PendingWork.owner.startswith(f"{external_id}:", autoescape=True)))
        session.execute(delete(Workspace).where(Workspace.external_id == external_id))
    return sorted(due)
