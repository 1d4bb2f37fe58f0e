"""A person's results: the latest report and their history, each with the change since the one before.

They need only the database: a stored report carries the names it was shown with, so reading
results never needs (or fails on) the question bank.
"""

from __future__ import annotations

from bot.app.types import HistoryEntry, Who
from bot.db import assessments, people
from bot.db.session import SessionFactory
from bot.domain.report import Report, with_change


def latest_report(sessions: SessionFactory, who: Who) -> Report | None:
    """The newest completed report with the change since the one before it."""
    with sessions.begin() as session:
        respondent = people.find_respondent(session, who.workspace, who.user)
        if respondent is None:
            return None
        rows = assessments.completed_assessments(session, respondent, limit=2)
    latest = rows[0].report if rows else None
    if latest is None:
        return None
    return with_change(latest, rows[1].report if len(rows) > 1 else None)


def history(sessions: SessionFactory, who: Who, limit: int = 10) -> list[HistoryEntry]:
    """Completed assessments, newest first, each with the change since the one before."""
    with sessions.begin() as session:
        respondent = people.find_respondent(session, who.workspace, who.user)
        if respondent is None:
            return []
        rows = assessments.completed_assessments(session, respondent, limit=limit + 1)
    entries = []
    for i, row in enumerate(rows[:limit]):
        prev = rows[i + 1] if i + 1 < len(rows) else None
        change = None
        if prev is not None and row.overall_score is not None and prev.overall_score is not None:
            change = round(row.overall_score - prev.overall_score, 4)
        assert row.completed_at is not None
        entries.append(
            HistoryEntry(row.id, row.completed_at, row.overall_score, row.overall_level, change, row.bank_version)
        )
    return entries
