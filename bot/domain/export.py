"""What ``compass export`` writes: completed assessments and past team digests as CSV or JSON, and
(in the JSON) the teams' sessions.

The use case (bot/app/export.py) hands over plain records; here they become a table (one row per
assessment or per digest, one pair of columns per dimension) or JSON documents. Also here: the
pseudonymous person key and the escape that keeps a spreadsheet from running a cell as a formula.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets
# (OWASP, "CSV Injection"); a leading single quote makes it text and is not displayed.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PERSON_KEY_LENGTH = 20  # hex digits of the HMAC: 80 bits, no collision in any plausible population

Cell = str | int | float | None


def escape_formula(text: str) -> str:
    """The text with a single quote in front when a spreadsheet would read it as a formula.

    Only text cells are escaped (see ``to_csv``): the numbers of an export (scores 1-4, levels,
    counts) are never negative, and quoting a number would turn it into text.
    """
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def person_key(secret: bytes, workspace: str, user: str) -> str:
    """A stable pseudonym for a person: HMAC-SHA256 of (workspace, user) under a per-deployment secret.

    Keyed, so that nobody without the secret can recover a person by hashing guessable Slack ids;
    the workspace is part of it, so the same user id in two workspaces gets two keys.
    """
    # The unit separator occurs in no Slack id or login name: ("T1", "U23") and ("T1U", "23") differ.
    message = f"{workspace}\x1f{user}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:PERSON_KEY_LENGTH]


@dataclass(frozen=True)
class ExportedScore:
    dimension_id: str
    score: float | None
    level: int | None


@dataclass(frozen=True)
class ExportedAnswer:
    question_id: str
    dimension_id: str
    level: int | None  # None: not applicable
    # The chosen option's label and the question's title and text, when the question bank in use
    # still has the question as it was answered (None after an edit: the new wording could mislead).
    option: str | None
    title: str | None
    text: str | None


@dataclass(frozen=True)
class ExportedAssessment:
    workspace: str
    person: str  # the pseudonymous key, or the user id
    assessment_id: int
    completed_at: datetime
    bank_version: str
    overall_score: float | None
    overall_level: int | None
    dimensions: tuple[ExportedScore, ...]
    answers: tuple[ExportedAnswer, ...] = ()


@dataclass(frozen=True)
class AssessmentExport:
    dimensions: tuple[str, ...]  # the dimension columns, in order
    assessments: tuple[ExportedAssessment, ...]
    user_ids: bool  # ``person`` holds user ids rather than pseudonymous keys


@dataclass(frozen=True)
class TeamPeriod:
    """One digest a channel was sent, with the figures it showed."""

    workspace: str
    channel: str
    period: str
    sent_at: datetime | None
    respondents: int | None  # None for digests sent before the snapshot recorded it
    overall: float | None
    dimensions: tuple[tuple[str, float | None], ...]  # (dimension id, team mean)
    # The say–do gap the digest showed, per dimension: {"confirmed": n, "contradicted": [question
    # ids], "unverifiable": n} (bot/domain/say_do.gap_json); empty for digests without one.
    say_do: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExportedOutcome:
    """A question's level as the team agreed it in a session."""

    question_id: str
    dimension_id: str | None  # None: the question is no longer in the questionnaire
    level: int | None  # None: agreed not applicable
    mixed: bool  # the votes spanned more than two levels
    votes: int  # how many voted; never who, nor what


@dataclass(frozen=True)
class ExportedAction:
    text: str
    owner: str | None  # a Slack user id, as the channel showed it; None: nobody (or forgotten)
    due: date | None
    done_at: datetime | None


@dataclass(frozen=True)
class TeamSessionExport:
    """One facilitated session in a team channel: what the team agreed, never how anyone voted."""

    workspace: str
    channel: str
    session_id: int
    started_at: datetime
    ended_at: datetime | None  # None: still live
    end_reason: str | None  # finished, ended, idle
    dimension_id: str | None  # None: every dimension
    scope: str
    questions: tuple[ExportedOutcome, ...]
    dimensions: tuple[ExportedScore, ...]  # the agreed level per dimension, weighted as the bank weighs
    actions: tuple[ExportedAction, ...]


@dataclass(frozen=True)
class TeamExport:
    dimensions: tuple[str, ...]
    periods: tuple[TeamPeriod, ...]
    sessions: tuple[TeamSessionExport, ...] = ()


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


def dimension_columns(bank_order: Sequence[str], seen: Iterable[str]) -> tuple[str, ...]:
    """The dimensions to give columns: the bank's that occur, in its order, then any that only older
    banks had, alphabetically."""
    present = set(seen)
    known = [d for d in bank_order if d in present]
    return (*known, *sorted(present - set(known)))


def assessment_table(export: AssessmentExport) -> Table:
    """One row per assessment: who, when, which bank, the overall result, then each dimension's."""
    header = (
        "workspace",
        "user_id" if export.user_ids else "person_key",
        "assessment_id",
        "completed_at",
        "bank_version",
        "overall_score",
        "overall_level",
        *(f"{d}_{part}" for d in export.dimensions for part in ("score", "level")),
    )
    rows = []
    for a in export.assessments:
        by_id = {s.dimension_id: s for s in a.dimensions}
        cells: list[Cell] = [
            a.workspace,
            a.person,
            a.assessment_id,
            a.completed_at.isoformat(),
            a.bank_version,
            a.overall_score,
            a.overall_level,
        ]
        for d in export.dimensions:
            score = by_id.get(d)
            cells += [None, None] if score is None else [score.score, score.level]
        rows.append(tuple(cells))
    return Table(header, tuple(rows))


def team_table(export: TeamExport) -> Table:
    """One row per digest sent: channel, period, respondents, the overall mean, each dimension's mean."""
    header = (
        "workspace",
        "channel",
        "period",
        "sent_at",
        "respondents",
        "overall_mean",
        *(f"{d}_mean" for d in export.dimensions),
        "confirmed",
        "contradicted",
        "unverifiable",
        "contradicted_questions",
    )
    rows = []
    for p in export.periods:
        means = dict(p.dimensions)
        gap = [g for g in p.say_do.values() if isinstance(g, Mapping)]
        contradicted = [str(q) for g in gap for q in g.get("contradicted") or ()]
        cells: list[Cell] = [
            p.workspace,
            p.channel,
            p.period,
            None if p.sent_at is None else p.sent_at.isoformat(),
            p.respondents,
            p.overall,
        ]
        cells += [means.get(d) for d in export.dimensions]
        if gap:
            cells += [
                sum(int(g.get("confirmed") or 0) for g in gap),
                len(contradicted),
                sum(int(g.get("unverifiable") or 0) for g in gap),
                " ".join(contradicted),
            ]
        else:
            cells += [None, None, None, None]  # no measurement to hold the answers against
        rows.append(tuple(cells))
    return Table(header, tuple(rows))


def to_csv(table: Table) -> str:
    """RFC 4180 CSV (CRLF line ends), empty cells for missing values, text cells escaped against formulas."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([escape_formula(h) for h in table.header])
    for row in table.rows:
        writer.writerow(["" if c is None else escape_formula(c) if isinstance(c, str) else c for c in row])
    return out.getvalue()


def scores_json(scores: Iterable[ExportedScore]) -> list[dict[str, Any]]:
    """Per-dimension scores as the JSON exports write them (operator and personal alike)."""
    return [{"id": s.dimension_id, "score": s.score, "level": s.level} for s in scores]


def answer_json(answer: ExportedAnswer) -> dict[str, Any]:
    """One answer as the JSON exports write it: the question's wording is null when it was edited since."""
    return {
        "question_id": answer.question_id,
        "dimension_id": answer.dimension_id,
        "level": answer.level,
        "option": answer.option,
        "question_title": answer.title,
        "question_text": answer.text,
    }


def assessments_json(export: AssessmentExport, exported_at: datetime) -> dict[str, Any]:
    """The export as one JSON document, with each assessment's answers."""
    return {
        "exported_at": exported_at.isoformat(),
        "person": "user_id" if export.user_ids else "person_key",
        "dimensions": list(export.dimensions),
        "assessments": [
            {
                "workspace": a.workspace,
                "person": a.person,
                "assessment_id": a.assessment_id,
                "completed_at": a.completed_at.isoformat(),
                "bank_version": a.bank_version,
                "overall": {"score": a.overall_score, "level": a.overall_level},
                "dimensions": scores_json(a.dimensions),
                "answers": [answer_json(x) for x in a.answers],
            }
            for a in export.assessments
        ],
    }


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def session_json(s: TeamSessionExport) -> dict[str, Any]:
    """One team session as the JSON export writes it: agreed levels and actions, no votes."""
    return {
        "workspace": s.workspace,
        "channel": s.channel,
        "session_id": s.session_id,
        "started_at": s.started_at.isoformat(),
        "ended_at": _when(s.ended_at),
        "end_reason": s.end_reason,
        "scope": {"dimension_id": s.dimension_id, "label": s.scope},
        "questions": [
            {
                "question_id": q.question_id,
                "dimension_id": q.dimension_id,
                "agreed_level": q.level,
                "mixed": q.mixed,
                "votes": q.votes,
            }
            for q in s.questions
        ],
        "dimensions": scores_json(s.dimensions),
        "actions": [
            {
                "text": a.text,
                "owner": a.owner,
                "due": None if a.due is None else a.due.isoformat(),
                "done": a.done_at is not None,
                "done_at": _when(a.done_at),
            }
            for a in s.actions
        ],
    }


def teams_json(export: TeamExport, exported_at: datetime) -> dict[str, Any]:
    """The digest history and the teams' sessions as one JSON document."""
    return {
        "exported_at": exported_at.isoformat(),
        "dimensions": list(export.dimensions),
        "teams": [
            {
                "workspace": p.workspace,
                "channel": p.channel,
                "period": p.period,
                "sent_at": None if p.sent_at is None else p.sent_at.isoformat(),
                "respondents": p.respondents,
                "overall_mean": p.overall,
                "dimensions": [{"id": d, "mean": mean} for d, mean in p.dimensions],
                "say_do": dict(p.say_do),
            }
            for p in export.periods
        ],
        "sessions": [session_json(s) for s in export.sessions],
    }
