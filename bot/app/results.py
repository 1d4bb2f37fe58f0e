"""A person's results: the latest report and their history, each with the change since the one before.

They need only the database: a stored report carries the names it was shown with, so reading
results never needs (or fails on) the question bank.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session

from bot.app.context import AppContext
from bot.app.evidence import TeamSignals
from bot.app.retry import on_lost_race
from bot.app.types import HistoryEntry, Who
from bot.db import assessments, people
from bot.db.assessments import StoredAssessment
from bot.db.session import SessionFactory
from bot.domain.evidence import Evidence
from bot.domain.report import Report, with_change
from bot.domain.say_do import QuestionVerdict


@dataclass(frozen=True)
class ReportView:
    """`/compass report`: the latest report (with the change since the one before), the one before (the
    radar's dashed outline), the team's measurements per dimension, and the person's DM if known."""

    report: Report | None
    previous: Report | None
    measured: dict[str, Evidence]
    dm_channel: str | None
    contradicted: tuple[QuestionVerdict, ...] = ()  # the report's answers the measurements contradict


def latest_report(sessions: SessionFactory, who: Who) -> Report | None:
    """The newest completed report with the change since the one before it."""
    return latest_with_previous(sessions, who)[0]


def latest_with_previous(sessions: SessionFactory, who: Who) -> tuple[Report | None, Report | None]:
    """The newest completed report (with the change since the one before) and the one before it:
    what the report's radar chart draws."""
    with sessions.begin() as session:
        return latest_with_previous_in(session, who)


def latest_with_previous_in(session: Session, who: Who) -> tuple[Report | None, Report | None]:
    reports = past_reports_in(session, who, limit=2)
    if not reports:
        return None, None
    previous = reports[1] if len(reports) > 1 else None
    return with_change(reports[0], previous), previous


@on_lost_race
def report_view(ctx: AppContext, who: Who, now: datetime) -> ReportView:
    """Everything `/compass report` shows, in one transaction."""
    with ctx.sessions.begin() as session:
        latest, previous = latest_with_previous_in(session, who)
        if latest is None:
            return ReportView(None, None, {}, None)
        signals = TeamSignals(session, who, now, ctx.measured)
        bank = ctx.banks.of(session, who.workspace)
        respondent = people.find_respondent(session, who.workspace, who.user)
        dm = None if respondent is None else assessments.dm_channel(session, respondent)
        contradicted: tuple[QuestionVerdict, ...] = ()
        newest = [] if respondent is None else assessments.completed_assessments(session, respondent, limit=1)
        if newest:
            answers = assessments.load_state(session, newest[0]).answers
            contradicted = signals.contradicted(bank, answers)
        return ReportView(latest, previous, signals.by_dimension(bank), dm, contradicted)


def past_reports(sessions: SessionFactory, who: Who, limit: int = 10) -> list[Report]:
    """The reports of the newest completed assessments, newest first, each dated (the trend chart)."""
    with sessions.begin() as session:
        return past_reports_in(session, who, limit)


def past_reports_in(session: Session, who: Who, limit: int = 10) -> list[Report]:
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
        return history_in(session, who, limit)


def history_in(session: Session, who: Who, limit: int = 10) -> list[HistoryEntry]:
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
