"""A person's results: the latest report and their history, each with the change since the one before.

They need only the database: a stored report carries the names it was shown with, so reading
results never needs (or fails on) the question bank.
"""

from __future__ import annotations

from dataclasses import replace

from bot.app.types import HistoryEntry, Who
from bot.db import assessments, people
from bot.db.assessments import StoredAssessment
from bot.db.session import SessionFactory
from bot.domain.report import Report, with_change


def latest_report(sessions: SessionFactory, who: Who) -> Report | None:
    """The newest completed report with the change since the one before it."""
    return latest_with_previous(sessions, who)[0]


def latest_with_previous(sessions: SessionFactory, who: Who) -> tuple[Report | None, Report | None]:
    """The newest completed report (with the change since the one before) and the one before it:
    what the report's radar chart draws."""
    reports = past_reports(sessions, who, limit=2)
    if not reports:
        return None, None
    previous = reports[1] if len(reports) > 1 else None
    return with_change(reports[0], previous), previous


def past_reports(sessions: SessionFactory, who: Who, limit: int = 10) -> list[Report]:
    """The reports of the newest completed assessments, newest first, each dated (the trend chart)."""
    with sessions.begin() as session:
        respondent = people.find_respondent(session, who.workspace, who.user)
        if respondent is None:
            return []
        rows = assessments.completed_assessments(session, respondent, limit=limit)
    return [report for row in rows if (report := _dated(row)) is not None]


def _dated(row: StoredAssessment) -> Report | None:
    report = row.report
    if report is None or report.completed_at is not None:
        return report
    return replace(report, completed_at=row.completed_at)


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
