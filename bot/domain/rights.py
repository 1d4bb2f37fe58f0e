"""A person's rights over their data: what their own export holds, what forgetting them deleted,
and when retention lets an assessment go. Pure: plain records in, plain values out, time passed in."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from bot.domain.export import ExportedAnswer, ExportedScore, answer_json, scores_json
from bot.domain.flow import DEFAULT_EXPIRY

FORMAT = "mlops-compass-personal-export/1"


@dataclass(frozen=True)
class PersonalAssessment:
    assessment_id: int
    status: str  # asking, complete, abandoned, expired
    started_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    bank_version: str
    overall_score: float | None
    overall_level: int | None
    dimensions: tuple[ExportedScore, ...]
    answers: tuple[tuple[ExportedAnswer, datetime], ...]  # each answer with when it was given
    report: dict[str, Any] | None  # the report as it was shown at completion


@dataclass(frozen=True)
class PersonalSend:
    kind: str  # prompt (an invitation), reminder, notice
    period: str
    status: str
    sent_at: datetime | None


@dataclass(frozen=True)
class PersonalVote:
    """One of the person's own votes in a team session (only they ever see who cast it)."""

    session_id: int
    channel: str
    question_id: str
    question_text: str | None  # None: the question is no longer in the questionnaire
    level: int | None  # None: not applicable
    voted_at: datetime


@dataclass(frozen=True)
class PersonalExport:
    """Everything kept about one person in one workspace (empty when nothing is)."""

    workspace: str
    user: str
    known_since: datetime | None  # None: nothing is stored about the person
    tz: str | None = None
    reminders_paused: bool = False
    snoozed_until: datetime | None = None
    assessments: tuple[PersonalAssessment, ...] = ()
    sends: tuple[PersonalSend, ...] = ()
    digest_channels: tuple[str, ...] = ()  # digest channels the person is counted in
    session_votes: tuple[PersonalVote, ...] = ()  # their votes in team sessions

    @property
    def answer_count(self) -> int:
        return sum(len(a.answers) for a in self.assessments)

    @property
    def report_count(self) -> int:
        return sum(1 for a in self.assessments if a.report is not None)


@dataclass(frozen=True)
class Deleted:
    """What forgetting people (or retention) deleted, row counts per kind."""

    people: int = 0  # directory entries (with their preferences)
    assessments: int = 0
    reports: int = 0  # completed assessments that held a report (counted in ``assessments`` too)
    answers: int = 0
    dimension_scores: int = 0
    channel_memberships: int = 0
    sends: int = 0  # invitations, reminders and notices addressed to the person
    queued_requests: int = 0
    session_votes: int = 0  # votes in team sessions (agreed levels and actions stay: they are the team's)

    @property
    def nothing(self) -> bool:
        return all(getattr(self, f.name) == 0 for f in fields(self))

    def __add__(self, other: Deleted) -> Deleted:
        return Deleted(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})


@dataclass(frozen=True)
class Retention:
    """How long assessments are kept: completed ones ``completed_days``, unfinished ones until
    they expire (``flow.DEFAULT_EXPIRY`` untouched, when they could no longer be resumed)."""

    completed_days: int
    unfinished: timedelta = DEFAULT_EXPIRY

    def completed_before(self, now: datetime) -> datetime:
        return now - timedelta(days=self.completed_days)

    def unfinished_before(self, now: datetime) -> datetime:
        return now - self.unfinished


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def personal_json(export: PersonalExport, exported_at: datetime) -> dict[str, Any]:
    """The person's export as one JSON document: answers with the questions' wording, reports,
    preferences, scheduled messages, the digest channels that count them and their own votes in team
    sessions (the level, or "N/A")."""
    return {
        "format": FORMAT,
        "exported_at": exported_at.isoformat(),
        "workspace": export.workspace,
        "user_id": export.user,
        "known_since": _when(export.known_since),
        "preferences": {
            "time_zone": export.tz,
            "reminders_paused": export.reminders_paused,
            "snoozed_until": _when(export.snoozed_until),
        },
        "assessments": [
            {
                "assessment_id": a.assessment_id,
                "status": a.status,
                "started_at": a.started_at.isoformat(),
                "updated_at": a.updated_at.isoformat(),
                "completed_at": _when(a.completed_at),
                "bank_version": a.bank_version,
                "overall": {"score": a.overall_score, "level": a.overall_level},
                "dimensions": scores_json(a.dimensions),
                "answers": [{**answer_json(x), "answered_at": at.isoformat()} for x, at in a.answers],
                "report": a.report,
            }
            for a in export.assessments
        ],
        "scheduled_messages": [
            {"kind": s.kind, "period": s.period, "status": s.status, "sent_at": _when(s.sent_at)} for s in export.sends
        ],
        "digest_channels": list(export.digest_channels),
        "session_votes": [
            {
                "session_id": v.session_id,
                "channel": v.channel,
                "question_id": v.question_id,
                "question_text": v.question_text,
                "level": "N/A" if v.level is None else v.level,
                "voted_at": v.voted_at.isoformat(),
            }
            for v in export.session_votes
        ],
    }


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def export_summary(export: PersonalExport) -> str:
    """ "3 assessments, 41 answers, 2 reports, 1 scheduled message, 1 digest channel, 0 session votes"."""
    return ", ".join(
        (
            _count(len(export.assessments), "assessment"),
            _count(export.answer_count, "answer"),
            _count(export.report_count, "report"),
            _count(len(export.sends), "scheduled message"),
            _count(len(export.digest_channels), "digest channel"),
            _count(len(export.session_votes), "session vote"),
        )
    )


def deleted_summary(deleted: Deleted) -> str:
    """ "2 assessments (1 report), 41 answers, 10 dimension scores, ..." or "nothing"."""
    if deleted.nothing:
        return "nothing"
    parts = [
        f"{_count(deleted.assessments, 'assessment')} ({_count(deleted.reports, 'report')})",
        _count(deleted.answers, "answer"),
        _count(deleted.dimension_scores, "dimension score"),
        _count(deleted.channel_memberships, "digest channel membership"),
        _count(deleted.sends, "scheduled message"),
        _count(deleted.queued_requests, "queued request"),
        _count(deleted.session_votes, "session vote"),
        _count(deleted.people, "directory entry", "directory entries"),
    ]
    return ", ".join(parts)
