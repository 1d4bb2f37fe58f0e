"""A person's results: the latest report and their history, each with the change since the one before."""

from __future__ import annotations

from bot.app.context import AppContext
from bot.app.types import HistoryEntry, Who
from bot.db import assessments, people
from bot.domain.report import Report, with_change


def latest_report(ctx: AppContext, who: Who) -> Report | None:
    """The newest completed report with the change since the one before it."""
    with ctx.sessions.begin() as session:
        respondent = people.find_respondent(session, who.workspace, who.user)
        if respondent is None:
            return None
        rows = assessments.completed_assessments(session, respondent, limit=2)
    if not rows or rows[0].report is None:
        return None
    return with_change(rows[0].report, rows[1].report if len(rows) > 1 else None)


def history(ctx: AppContext, who: Who, limit: int = 10) -> list[HistoryEntry]:
    """Completed assessments, newest first, each with the change since the one before."""
    with ctx.sessions.begin() as session:
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
