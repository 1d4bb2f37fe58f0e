"""Export for operators (``compass export``): completed assessments, and the digests channels were sent.

People appear under a pseudonymous key unless the operator asks for user ids: an HMAC of (workspace,
user) keyed by a random secret made on the first export and kept in the database
(``deployment_secrets``). Kept there rather than taken from a setting, the keys stay the same
across exports and restores of a backup, and no Slack credential (which may be rotated, or absent
in a terminal-only deployment) is given a second purpose. Whoever can read the database can
recompute the keys, but they can also read the user ids there: the keys protect an export file.
"""

from __future__ import annotations

import json
import secrets
from collections import defaultdict
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.app.context import AppContext
from bot.db import export as store
from bot.domain.digest import respondent_threshold
from bot.domain.export import (
    AssessmentExport,
    ExportedAction,
    ExportedAnswer,
    ExportedAssessment,
    ExportedOutcome,
    ExportedScore,
    TeamExport,
    TeamPeriod,
    TeamSessionExport,
    dimension_columns,
    person_key,
)
from bot.domain.questionnaire import Questionnaire
from bot.domain.team_session import Agreement, scope_label, summarise

PERSON_KEY_SECRET = "export-person-key"


def export_assessments(
    ctx: AppContext,
    now: datetime,
    *,
    since: datetime | None = None,
    workspace: str | None = None,
    user_ids: bool = False,
    with_answers: bool = False,
) -> AssessmentExport:
    """Every completed assessment (at or after ``since``, in ``workspace``), oldest first, with its
    scores and (``with_answers``) its answers: four statements in one transaction, whatever the count.

    ``user_ids``: name people by their user id instead of the pseudonymous key.
    """
    with ctx.sessions.begin() as session:
        key = None if user_ids else store.secret(session, PERSON_KEY_SECRET, secrets.token_hex(32), now)
        rows = store.completed_assessments(session, since, workspace)
        scores = store.dimension_scores(session, since, workspace)
        given = store.answers(session, since, workspace) if with_answers else []
        # One workspace's export is worded and ordered by its bank; the deployment's by the default.
        bank = ctx.banks.of(session, workspace) if workspace else ctx.bank
    # Everything a completed row has was written in the transaction that completed it, so rows
    # completed between the statements show up as scores or answers of no row, and are dropped.
    scores_of: dict[int, dict[str, store.ScoreRow]] = defaultdict(dict)
    for s in scores:
        scores_of[s.assessment_id][s.dimension_id] = s
    answers_of: dict[int, list[store.AnswerRow]] = defaultdict(list)
    for a in given:
        answers_of[a.assessment_id].append(a)
    ids = {r.assessment_id for r in rows}
    columns = dimension_columns(
        [d.id for d in bank.dimensions], (s.dimension_id for s in scores if s.assessment_id in ids)
    )
    secret = None if key is None else bytes.fromhex(key)
    return AssessmentExport(
        dimensions=columns,
        assessments=tuple(
            ExportedAssessment(
                workspace=r.workspace,
                person=r.user_id if secret is None else person_key(secret, r.workspace, r.user_id),
                assessment_id=r.assessment_id,
                completed_at=r.completed_at,
                bank_version=r.bank_version,
                overall_score=r.overall_score,
                overall_level=r.overall_level,
                dimensions=tuple(
                    ExportedScore(d, found.score, found.level)
                    for d in columns
                    if (found := scores_of[r.assessment_id].get(d)) is not None
                ),
                answers=tuple(answer_with_wording(bank, a, r.bank_hash) for a in answers_of[r.assessment_id]),
            )
            for r in rows
        ),
        user_ids=user_ids,
    )


def answer_with_wording(bank: Questionnaire, row: store.AnswerRow, bank_hash: str) -> ExportedAnswer:
    """The answer, with the wording of its question when the bank in use still asks it the same way."""
    question = bank.question(row.question_id) if bank.has_question(row.question_id) else None
    if question is None or not (
        row.question_hash == question.content_hash
        # answers given before migration 0006 have no hash: the assessment's bank must be this one
        or (row.question_hash is None and bank_hash == bank.content_hash)
    ):
        return ExportedAnswer(row.question_id, row.dimension_id, row.level, None, None, None)
    option = None if row.level is None else question.option(row.level).label
    return ExportedAnswer(row.question_id, row.dimension_id, row.level, option, question.title, question.text)


def export_teams(
    ctx: AppContext, *, min_respondents: int, since: datetime | None = None, workspace: str | None = None
) -> TeamExport:
    """The history of every digest channel: each digest sent (at or after ``since``) with its figures,
    and each team session started then with its agreed levels and actions (never a vote): seven
    statements in one transaction.

    Never anything under the respondent threshold: a digest under it stored no figures (its
    snapshot is empty, ``Digest.snapshot``), and one that had fewer respondents than today's
    threshold (``min_respondents`` raised since) is left out too. Digests sent before the snapshot
    recorded its respondents are kept, with no count: they were over the threshold of their day.
    """
    with ctx.sessions.begin() as session:
        rows = store.sent_digests(session, since, workspace)
        held = store.team_sessions(session, since, workspace)
        agreed = store.session_outcomes(session, since, workspace)
        done = store.session_actions(session, since, workspace)
        bank = ctx.banks.of(session, workspace) if workspace else ctx.bank
    threshold = respondent_threshold(min_respondents)
    periods = []
    for row in rows:
        snapshot = json.loads(row.payload_json)
        if not isinstance(snapshot, dict) or not snapshot:
            continue
        respondents = snapshot.get("respondents")
        if not isinstance(respondents, int) or isinstance(respondents, bool):
            respondents = None
        elif respondents < threshold:
            continue
        means = snapshot.get("dimensions")
        periods.append(
            TeamPeriod(
                workspace=row.workspace,
                channel=row.channel_id,
                period=row.period,
                sent_at=row.sent_at,
                respondents=respondents,
                overall=_number(snapshot.get("overall")),
                dimensions=tuple((str(d), _number(m)) for d, m in means.items()) if isinstance(means, dict) else (),
                say_do=snapshot["say_do"] if isinstance(snapshot.get("say_do"), dict) else {},
            )
        )
    columns = dimension_columns([d.id for d in bank.dimensions], (d for p in periods for d, _ in p.dimensions))
    ordered = tuple(replace(p, dimensions=_in_order(p, columns)) for p in periods)
    return TeamExport(columns, ordered, _sessions(bank, held, agreed, done))


def _sessions(
    bank: Questionnaire,
    held: list[store.SessionRow],
    agreed: list[store.OutcomeRow],
    done: list[store.ActionRow],
) -> tuple[TeamSessionExport, ...]:
    """Each session with its agreed levels (per question, and per dimension as the summary weighs them)
    and its actions. Rows of a session started between the statements belong to none and are dropped."""
    outcomes_of: dict[int, list[store.OutcomeRow]] = defaultdict(list)
    for o in agreed:
        outcomes_of[o.session_id].append(o)
    actions_of: dict[int, list[store.ActionRow]] = defaultdict(list)
    for a in done:
        actions_of[a.session_id].append(a)
    exported = []
    for s in held:
        outcomes = outcomes_of[s.session_id]
        summary = summarise(bank, [Agreement(o.question_id, o.level, o.mixed) for o in outcomes])
        exported.append(
            TeamSessionExport(
                workspace=s.workspace,
                channel=s.channel_id,
                session_id=s.session_id,
                started_at=s.started_at,
                ended_at=s.ended_at,
                end_reason=s.end_reason,
                dimension_id=s.dimension_id,
                scope=_scope(bank, s.dimension_id),
                questions=tuple(
                    ExportedOutcome(
                        o.question_id,
                        bank.question(o.question_id).dimension if bank.has_question(o.question_id) else None,
                        o.level,
                        o.mixed,
                        o.votes,
                    )
                    for o in outcomes
                ),
                dimensions=tuple(ExportedScore(d.dimension_id, d.score, d.level) for d in summary.dimensions),
                actions=tuple(ExportedAction(a.text, a.owner, a.due, a.done_at) for a in actions_of[s.session_id]),
            )
        )
    return tuple(exported)


def _scope(bank: Questionnaire, dimension_id: str | None) -> str:
    if dimension_id is not None and dimension_id not in {d.id for d in bank.dimensions}:
        return dimension_id  # a dimension the bank no longer has
    return scope_label(bank, dimension_id)


def _in_order(period: TeamPeriod, columns: tuple[str, ...]) -> tuple[tuple[str, float | None], ...]:
    means = dict(period.dimensions)
    return tuple((d, means[d]) for d in columns if d in means)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
