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
_UNREAD = object()


class TeamSignals:
    """What the person's team's signals measured, read at most once in a transaction.

    A click can need them three times (the answer's agreement with the evidence, the next question's
    evidence line, the report's evidence per dimension); the team's metrics are several statements
    with medians, so they are read on first use and kept for the rest of the transaction only: a
    click never sees measurements older than its own transaction.
    """

    def __init__(self, session: Session, who: Who, now: datetime) -> None:
        self._session = session
        self._who = who
        self._now = now
        self._found: object = _UNREAD

    def found(self) -> tuple[str, dict[str, Measurement]] | None:
        """The first of the person's digest channels that has signal sources, with its measurements."""
        if self._found is _UNREAD:
            self._found = _team_signals(self._session, self._who, self._now)
        return self._found  # type: ignore[return-value]

    def for_question(self, question: Question | None) -> Evidence | None:
        if question is None or not question.evidence:
            return None
        found = self.found()
        if found is None:
            return None
        channel, measured = found
        return weigh(question.evidence, measured, channel, WINDOW_DAYS)

    def with_evidence(self, progress: Progress) -> Progress:
        """``progress`` with what the signals say about its current question."""
        evidence = self.for_question(progress.question)
        return progress if evidence is None else replace(progress, evidence=evidence)

    def record_agreement(self, assessment_id: int, question: Question, level: int | None) -> None:
        """Note on the answer whether it fitted the evidence shown with it (nothing when there was none)."""
        evidence = self.for_question(question)
        if evidence is not None:
            assessments.mark_evidence(self._session, assessment_id, question.id, evidence.agrees(level))

    def by_dimension(self, bank: Questionnaire) -> dict[str, Evidence]:
        """For a report: what the signals say about each dimension whose questions cite them."""
        if not any(q.evidence for q in bank):
            return {}
        found = self.found()
        if found is None:
            return {}
        channel, measured = found
        result = {}
        for dimension in bank.dimensions:
            evidence = dimension_evidence(bank, dimension.id, measured, channel, WINDOW_DAYS)
            if evidence is not None:
                result[dimension.id] = evidence
        return result


def _team_signals(session: Session, who: Who, now: datetime) -> tuple[str, dict[str, Measurement]] | None:
    ws_id = people.workspace_id(session, who.workspace, now)
    for channel in digests.member_channels(session, ws_id, who.user):
        if signal_metrics.has_signals(session, channel):
            return channel, measurements(signal_metrics.channel_metrics(session, channel, now, WINDOW_DAYS))
    return None


def channel_measurements(sessions: SessionFactory, channel_id: str, now: datetime) -> dict[str, Measurement]:
    """What a channel's sources measured over the window, by metric."""
    with sessions() as session:
        return measurements(signal_metrics.channel_metrics(session, channel_id, now, WINDOW_DAYS))
