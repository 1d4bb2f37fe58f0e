"""A person's rights over their data: their own export, being forgotten, and retention.

Each use case is one transaction. Forgetting deletes everything about the person in that one
transaction, so a failure leaves all of it, never half; forgetting again finds nothing and
deletes nothing. ``forget_workspace_people`` is the same deletion for a whole workspace, for a
purge after an uninstall.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime

from bot.app.context import AppContext
from bot.app.export import answer_with_wording
from bot.app.types import Who
from bot.db import rights as store
from bot.db import team_sessions
from bot.db.export import AnswerRow, ScoreRow
from bot.db.session import SessionFactory
from bot.domain.export import ExportedScore
from bot.domain.questionnaire import Questionnaire
from bot.domain.rights import Deleted, PersonalAssessment, PersonalExport, PersonalSend, PersonalVote, Retention
from bot.domain.team_session import NA


def export_person(ctx: AppContext, who: Who) -> PersonalExport:
    """Everything stored about ``who`` (in their workspace only), their votes in team sessions included:
    seven statements in one transaction."""
    with ctx.sessions.begin() as session:
        bank = ctx.banks.of(session, who.workspace)
        votes = tuple(_vote(bank, v) for v in team_sessions.votes_of(session, who.workspace, who.user))
        found = store.person(session, who.workspace, who.user)
        if found is None:  # never assessed, though they may have voted in a team session
            return PersonalExport(who.workspace, who.user, None, session_votes=votes)
        rows = store.assessments(session, found.respondent_id)
        given = store.answers(session, found.respondent_id)
        scores = store.dimension_scores(session, found.respondent_id)
        sends = store.sends_to(session, found.workspace_id, who.user)
        channels = store.digest_channels(session, found.workspace_id, who.user)
    answers_of: dict[int, list[tuple[AnswerRow, datetime]]] = defaultdict(list)
    for answer, at in given:
        answers_of[answer.assessment_id].append((answer, at))
    scores_of: dict[int, list[ScoreRow]] = defaultdict(list)
    for score in scores:
        scores_of[score.assessment_id].append(score)
    return PersonalExport(
        workspace=who.workspace,
        user=who.user,
        known_since=found.created_at,
        tz=found.tz,
        reminders_paused=found.reminders_paused,
        snoozed_until=found.snoozed_until,
        assessments=tuple(
            PersonalAssessment(
                assessment_id=r.assessment_id,
                status=r.status,
                started_at=r.started_at,
                updated_at=r.updated_at,
                completed_at=r.completed_at,
                bank_version=r.bank_version,
                overall_score=r.overall_score,
                overall_level=r.overall_level,
                dimensions=tuple(ExportedScore(s.dimension_id, s.score, s.level) for s in scores_of[r.assessment_id]),
                answers=tuple((answer_with_wording(bank, a, r.bank_hash), at) for a, at in answers_of[r.assessment_id]),
                report=None if r.report_json is None else json.loads(r.report_json),
            )
            for r in rows
        ),
        sends=tuple(PersonalSend(s.kind, s.period, s.status, s.sent_at) for s in sends),
        digest_channels=tuple(channels),
        session_votes=votes,
    )


def _vote(bank: Questionnaire, vote: team_sessions.VoteRow) -> PersonalVote:
    text = bank.question(vote.question_id).text if bank.has_question(vote.question_id) else None
    level = None if vote.level == NA else vote.level
    return PersonalVote(vote.session_id, vote.channel_id, vote.question_id, text, level, vote.voted_at)


def forget_person(sessions: SessionFactory, who: Who, now: datetime) -> Deleted:
    """Delete everything stored about ``who`` in their workspace, in one transaction; what was deleted
    (nothing, the second time). Their votes in team sessions go too; the sessions' agreed levels and
    actions stay (they are the team's), without the person's name on them."""
    with sessions.begin() as session:
        deleted = store.delete_people(session, who.workspace, [who.user], now)
        return deleted + Deleted(session_votes=team_sessions.forget(session, who.workspace, who.user))


def forget_workspace_people(sessions: SessionFactory, workspace: str, now: datetime) -> Deleted:
    """Delete everything stored about every person of ``workspace``, in one transaction."""
    with sessions.begin() as session:
        return store.delete_people(session, workspace, None, now)


def purge_expired(sessions: SessionFactory, retention: Retention, now: datetime) -> Deleted:
    """Retention: delete the completed assessments older than the retention period and the
    unfinished ones past their expiry, in every workspace."""
    with sessions.begin() as session:
        return store.delete_expired(session, retention.completed_before(now), retention.unfinished_before(now))
