"""Measured evidence for a person's questions: the delivery signals of their team's channel."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.app.types import Progress, Who
from bot.db import assessments, digests, signal_metrics
from bot.db.session import SessionFactory
from bot.domain.evidence import Evidence, Measurement, weigh
from bot.domain.measured import dimension_evidence, measurements
from bot.domain.questionnaire import Question, Questionnaire
from bot.domain.say_do import QuestionVerdict, Verdict, verdicts

WINDOW_DAYS = 90
KEPT_FOR = timedelta(seconds=60)  # how long a channel's measurements are reused (by the use cases' clock)
KEPT_CHANNELS = 1000  # channels kept at most; the oldest reading goes first
_UNREAD = object()


class ChannelMeasurements:
    """Each channel's measurements over the window, kept for ``KEPT_FOR`` in the process.

    A team answering together would otherwise compute the same medians over the same 90 days for every
    click that shows or checks evidence (bench/click_path.py: 30 people of one team, 72 -> 53 answers/s).
    A 90-day window moves by a delivery or two in a minute, so a reading a minute old says the same.
    """

    def __init__(self, kept_for: timedelta = KEPT_FOR) -> None:
        self._kept_for = kept_for
        self._kept: dict[str, tuple[datetime, dict[str, Measurement] | None]] = {}
        self._lock = threading.Lock()

    def of(self, session: Session, channel: str, now: datetime) -> dict[str, Measurement] | None:
        """The channel's measurements; None when it has no signal sources."""
        with self._lock:
            hit = self._kept.get(channel)
        if hit is not None and timedelta(0) <= now - hit[0] < self._kept_for:
            return hit[1]
        found = None
        if signal_metrics.has_signals(session, channel):
            found = measurements(signal_metrics.channel_metrics(session, channel, now, WINDOW_DAYS))
        with self._lock:
            if len(self._kept) >= KEPT_CHANNELS and channel not in self._kept:
                del self._kept[min(self._kept, key=lambda c: self._kept[c][0])]
            self._kept[channel] = (now, found)
        return found


class TeamSignals:
    """What the person's team's signals measured, read at most once in a transaction.

    A click can need them three times (the answer's agreement with the evidence, the next question's
    evidence line, the report's evidence per dimension); the team's metrics are several statements
    with medians, so they are read on first use, and each channel's are shared for a minute between
    the clicks of the process (``ChannelMeasurements``).
    """

    def __init__(self, session: Session, who: Who, now: datetime, kept: ChannelMeasurements) -> None:
        self._session = session
        self._who = who
        self._now = now
        self._kept = kept
        self._found: object = _UNREAD

    def found(self) -> tuple[str, dict[str, Measurement]] | None:
        """The first of the person's digest channels that has signal sources, with its measurements."""
        if self._found is _UNREAD:
            self._found = self._read()
        return self._found  # type: ignore[return-value]

    def _read(self) -> tuple[str, dict[str, Measurement]] | None:
        for channel in digests.member_channels(self._session, self._who.workspace, self._who.user):
            measured = self._kept.of(self._session, channel, self._now)
            if measured is not None:
                return channel, measured
        return None

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

    def contradicted(self, bank: Questionnaire, answers: Mapping[str, int | None]) -> tuple[QuestionVerdict, ...]:
        """For a report: the person's answers that the team's measurements contradict (more than a
        level apart), in the bank's order."""
        if not any(q.evidence for q in bank):
            return ()
        found = self.found()
        if found is None:
            return ()
        channel, measured = found
        given = {qid: float(level) if level is not None else None for qid, level in answers.items()}
        return tuple(
            v for v in verdicts(bank, given, measured, channel, WINDOW_DAYS) if v.verdict is Verdict.CONTRADICTED
        )

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


def channel_measurements(sessions: SessionFactory, channel_id: str, now: datetime) -> dict[str, Measurement]:
    """What a channel's sources measured over the window, by metric."""
    with sessions() as session:
        return measurements(signal_metrics.channel_metrics(session, channel_id, now, WINDOW_DAYS))
