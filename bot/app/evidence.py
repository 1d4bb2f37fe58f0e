"""Measured evidence for a person's questions: the delivery signals of their team's channel."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session

from bot.app.types import Progress, Who
from bot.db import assessments, digests, people, signal_metrics
from bot.db.session import SessionFactory
from bot.domain.evidence import Evidence, Measurement, weigh
from bot.domain.measured import dimension_evidence, measurements
from bot.domain.questionnaire import Question, Questionnaire

WINDOW_DAYS = 90


def team_signals(session: Session, who: Who, now: datetime) -> tuple[str, dict[str, Measurement]] | None:
    """The first of the person's digest channels that has signal sources, with its measurements."""
    ws_id = people.workspace_id(session, who.workspace, now)
    for channel in digests.member_channels(session, ws_id, who.user):
        if signal_metrics.has_signals(session, channel):
            return channel, measurements(signal_metrics.channel_metrics(session, channel, now, WINDOW_DAYS))
    return None


def evidence_for(session: Session, who: Who, question: Question | None, now: datetime) -> Evidence | None:
    if question is None or not question.evidence:
        return None
    found = team_signals(session, who, now)
    if found is None:
        return None
    channel, measured = found
    return weigh(question.evidence, measured, channel, WINDOW_DAYS)


def with_evidence(sessions: SessionFactory, who: Who, progress: Progress, now: datetime) -> Progress:
    """``progress`` with what the team's signals say about its current question (a read of its own)."""
    if progress.question is None or not progress.question.evidence:
        return progress
    with sessions.begin() as session:
        evidence = evidence_for(session, who, progress.question, now)
    return progress if evidence is None else replace(progress, evidence=evidence)


def record_agreement(session: Session, who: Who, answered: tuple[int, Question, int | None], now: datetime) -> None:
    """Note on the answer whether it fitted the evidence shown with it (nothing when there was none)."""
    assessment_id, question, level = answered
    evidence = evidence_for(session, who, question, now)
    if evidence is not None:
        assessments.mark_evidence(session, assessment_id, question.id, evidence.agrees(level))


def by_dimension(sessions: SessionFactory, who: Who, bank: Questionnaire, now: datetime) -> dict[str, Evidence]:
    """For a report: what the person's team's signals say about each dimension whose questions cite them."""
    if not any(q.evidence for q in bank):
        return {}
    with sessions.begin() as session:
        found = team_signals(session, who, now)
    if found is None:
        return {}
    channel, measured = found
    result = {}
    for dimension in bank.dimensions:
        evidence = dimension_evidence(bank, dimension.id, measured, channel, WINDOW_DAYS)
        if evidence is not None:
            result[dimension.id] = evidence
    return result


def channel_measurements(sessions: SessionFactory, channel_id: str, now: datetime) -> dict[str, Measurement]:
    """What a channel's sources measured over the window, by metric."""
    with sessions() as session:
        return measurements(signal_metrics.channel_metrics(session, channel_id, now, WINDOW_DAYS))
