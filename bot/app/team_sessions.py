"""Team sessions in a channel: each interaction one use case, one transaction, the whole view back.

A vote changes one row (the person's vote) and, at most once per ``REFRESH_EVERY``, queues the refresh
of the live message's count in the same transaction (only that vote writes the session's row, so votes
do not wait for each other's commits): a burst of votes is one message update, not
one per click, so a session stays far inside chat.update's Tier 3 budget (docs/team-sessions.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.app.context import AppContext
from bot.app.digests import team_aggregate_now
from bot.app.evidence import WINDOW_DAYS
from bot.app.outreach import OutreachSettings, claim
from bot.app.types import Who
from bot.db import pending_work, people, sends, team_sessions
from bot.db.models import SessionAction, TeamSession, Workspace
from bot.domain.digest import respondent_threshold
from bot.domain.errors import CompassError
from bot.domain.evidence import Evidence, weigh
from bot.domain.questionnaire import Question, Questionnaire
from bot.domain.schedule import SendKey
from bot.domain.targets import DimensionChoice
from bot.domain.team_session import (
    Agreement,
    NewAction,
    Reveal,
    Stage,
    StartSession,
    Summary,
    questions_for,
    reveal,
    scope_label,
    summarise,
    vote_value,
    weakest_dimension,
)

REFRESH_WORK = "session_refresh"  # the queued job that shows the live message's new vote count
REFRESH_EVERY = timedelta(seconds=2)  # at most one refresh of a live message per this long
REFRESH_STALE = timedelta(seconds=30)  # a queued refresh not done by then is taken over
IDLE_BATCH = 50
ANNOUNCE_WITHIN = timedelta(days=1)  # an idle session's summary not posted is tried again this long
SUMMARY = "summary"  # the sends ledger's kind for an idle session's summary (target: its channel)
RECOVER_WITHIN = timedelta(minutes=10)  # a job run again this soon after its end shows the same end


class NotFacilitator(CompassError):
    user_message = "Only the session's facilitator can do that."


class SessionGone(CompassError):
    user_message = "That session has ended. Start another with `/compass session`."


# -- views -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionView:
    id: int
    text: str
    owner: str | None
    due: str | None  # YYYY-MM-DD
    done: bool


@dataclass(frozen=True)
class LiveQuestion:
    """Everything the live question message shows."""

    session_id: int
    channel: str
    ts: str | None
    facilitator: str | None
    number: int  # 1-based
    total: int
    question: Question
    stage: Stage
    votes: int
    members: int | None
    reveal: Reveal | None = None  # after the reveal
    team_mean: float | None = None  # the members' latest DM answers, above the respondent threshold
    evidence: Evidence | None = None
    agreed: Agreement | None = None
    actions: tuple[ActionView, ...] = ()


@dataclass(frozen=True)
class Ended:
    """A session that just ended: its summary for the channel and its last live message to close."""

    session_id: int
    channel: str
    facilitator: str | None
    scope: str
    reason: str  # finished, ended, idle
    summary: Summary
    actions: tuple[ActionView, ...]
    live_ts: str | None
    team: str  # the workspace's Slack id (a scheduler job needs its token)


@dataclass(frozen=True)
class Opened:
    """A session just started: the opening message and its first question."""

    scope: str
    facilitator: str
    open_actions: tuple[ActionView, ...]  # the channel's actions still open, from earlier sessions
    first: LiveQuestion
    post_opening: bool = True  # False when the opening is in the channel already (posting again)


@dataclass(frozen=True)
class AlreadyLive:
    channel: str
    facilitator: str | None
    ts: str | None  # its live question message


@dataclass(frozen=True)
class ChooseDimension:
    """The team has no results yet: the facilitator picks a dimension."""

    choices: tuple[DimensionChoice, ...]


@dataclass(frozen=True)
class VoteTaken:
    changed: bool  # the person had voted on this question before
    level: int | None
    refresh: bool  # a refresh of the live message was queued by this vote


@dataclass(frozen=True)
class VoteRefused:
    reason: str  # what the voter is told


Start = Opened | AlreadyLive | ChooseDimension


# -- use cases -------------------------------------------------------------------------------


def start(
    ctx: AppContext,
    who: Who,
    channel: str,
    command: StartSession,
    now: datetime,
    *,
    members: int | None,
) -> Start:
    """`/compass session ...`: open a session in the channel (or point to the live one)."""
    with ctx.sessions.begin() as session:
        ws_id = people.workspace_id(session, who.workspace, now)
        bank = ctx.banks.of(session, ws_id)
        current = team_sessions.live(session, ws_id, channel)
        if current is not None and current.message_ts is None and current.facilitator == who.user:
            # Its first messages were never posted (Slack said wait, or the worker died): post them now.
            earlier = tuple(_action_view(a) for a in team_sessions.open_actions(session, ws_id, channel))
            scope = scope_label(bank, current.dimension_id)
            return Opened(scope, who.user, earlier, _live(session, ctx, current, now), current.opening_ts is None)
        if current is not None:
            return AlreadyLive(channel, current.facilitator, current.message_ts)
        dimension: str | None
        if command.everything:
            dimension = None
        elif command.dimension is not None:
            dimension = command.dimension.id
        else:
            dimension = _weakest(session, ctx, ws_id, channel)
            if dimension is None:
                return ChooseDimension(tuple(DimensionChoice(d.id, d.name) for d in bank.dimensions))
        row = team_sessions.create(
            session,
            ws_id,
            channel,
            facilitator=who.user,
            dimension_id=dimension,
            question_ids=questions_for(bank, dimension),
            members=members,
            now=now,
        )
        if row is None:  # another start won the race
            current = team_sessions.live(session, ws_id, channel)
            return AlreadyLive(
                channel, current.facilitator if current else None, current.message_ts if current else None
            )
        earlier = tuple(_action_view(a) for a in team_sessions.open_actions(session, ws_id, channel))
        first = _live(session, ctx, row, now)
    return Opened(scope_label(bank, dimension), who.user, earlier, first)


def posted(ctx: AppContext, session_id: int, *, opening_ts: str | None, question_ts: str | None) -> None:
    """Record where the session's messages are (after Slack answered the posts)."""
    with ctx.sessions.begin() as session:
        row = team_sessions.by_id(session, session_id, lock=True)
        if row is None:
            return
        if opening_ts:
            row.opening_ts = opening_ts
        if question_ts:
            row.message_ts = question_ts


def vote(
    ctx: AppContext,
    who: Who,
    where: tuple[int, str],
    level: int | None,
    now: datetime,
    *,
    response_url: str | None,
    refresh_with: Mapping[str, object] | None = None,
) -> VoteTaken | VoteRefused:
    """A vote on (session id, question id): kept privately, changed in place until the reveal."""
    session_id, question_id = where
    with ctx.sessions.begin() as session:
        row = team_sessions.for_vote(session, session_id)  # votes side by side; a reveal waits for them
        refused = _vote_refused(ctx.banks.of(session, row.workspace_id) if row else ctx.bank, row, question_id)
        if refused is not None:
            return refused
        assert row is not None
        changed = team_sessions.has_voted(session, row.id, question_id, who.user)
        team_sessions.vote(session, row, question_id, who.user, level=vote_value(level), now=now)
        refresh = team_sessions.claim_refresh(
            session, row.id, now, stale_after=REFRESH_STALE, response_url=response_url
        )
        if refresh:
            # ``refresh_with``: what the caller needs to run the job (its workspace's ids), kept as given.
            job = {**(refresh_with or {}), "team_id": who.workspace, "session_id": row.id, "position": row.position}
            payload = json.dumps(job)
            pending_work.append(
                session, [(REFRESH_WORK, f"session:{row.id}", payload)], now, not_before=now + REFRESH_EVERY
            )
    return VoteTaken(changed=changed, level=level, refresh=refresh)


def refresh(
    ctx: AppContext, session_id: int, position: int | None, now: datetime
) -> tuple[LiveQuestion, str | None, datetime | None] | None:
    """The live message as it should read now, the response_url of the vote that queued the refresh and
    when it came; None when the session ended, was revealed or moved on from ``position`` (the question
    the refresh was queued for) meanwhile. Frees the refresh claim so that the next vote queues another."""
    with ctx.sessions.begin() as session:
        row = team_sessions.by_id(session, session_id, lock=True)
        if row is None or (position is not None and row.position != position):
            return None
        row.refresh_claimed_at = None
        if row.live_channel is None or row.stage != Stage.VOTING.value:
            return None  # ended, or revealed: the facilitator's step showed the final count
        return _live(session, ctx, row, now), row.live_url, row.live_url_at


def reveal_votes(
    ctx: AppContext,
    who: Who,
    where: tuple[int, str],
    now: datetime,
    *,
    settings: OutreachSettings,
    members: Sequence[str] | None,
) -> LiveQuestion:
    """The facilitator reveals the question's votes: the spread (above the threshold), the team's mean
    from its members' latest DM answers, and the measured evidence."""
    with ctx.sessions.begin() as session:
        row = _facilitated(session, who, where)
        if row.stage == Stage.VOTING.value:
            row.stage = Stage.REVEALED.value
            row.updated_at = now
        return _live(session, ctx, row, now, settings=settings, members=members, revealed=True)


def agree(
    ctx: AppContext,
    who: Who,
    where: tuple[int, str],
    level: int | None,
    now: datetime,
    *,
    settings: OutreachSettings,
    members: Sequence[str] | None,
) -> LiveQuestion:
    """The facilitator records the level the team agreed on (None: not applicable); it may be changed
    until the next question."""
    session_id, question_id = where
    with ctx.sessions.begin() as session:
        row = _facilitated(session, who, where)
        if row.stage == Stage.VOTING.value:
            raise SessionProblemAtStage("Reveal the votes first, then agree a level.")
        values = team_sessions.vote_values(session, session_id, question_id)
        spread = reveal(values, respondent_threshold(settings.min_respondents))
        team_sessions.save_outcome(
            session, row, Agreement(question_id, level, spread.mixed), votes=len(values), now=now
        )
        row.stage = Stage.AGREED.value
        row.updated_at = now
        return _live(session, ctx, row, now, settings=settings, members=members, revealed=True)


@dataclass(frozen=True)
class NextQuestion:
    finished: LiveQuestion  # the question just agreed, as its message shows it once closed
    live: LiveQuestion  # the next question, to post as a new message


def next_question(ctx: AppContext, who: Who, where: tuple[int, str], now: datetime) -> NextQuestion | Ended:
    """The facilitator moves on: the next question, or the summary after the last one."""
    with ctx.sessions.begin() as session:
        again = _moved_already(session, ctx, who, where, now)
        if again is not None:
            return again
        row = _facilitated(session, who, where)
        if row.stage != Stage.AGREED.value:
            raise SessionProblemAtStage("Agree a level first: the question's summary needs one.")
        if row.position + 1 >= len(team_sessions.question_ids(row)):
            return _end(session, ctx, row, "finished", now)
        finished = _live(session, ctx, row, now)
        row.position += 1
        row.stage = Stage.VOTING.value
        row.updated_at = now
        row.message_ts = None  # the next question is a new message; the finished one is closed
        # The votes' response_urls and a queued refresh belong to the finished question's message.
        row.live_url = row.live_url_at = row.refresh_claimed_at = None
        return NextQuestion(finished, _live(session, ctx, row, now))


def end(ctx: AppContext, who: Who, channel: str, now: datetime) -> Ended | None:
    """`/compass session end`: the facilitator ends the channel's live session (None: none is live)."""
    with ctx.sessions.begin() as session:
        ws_id = people.workspace_id(session, who.workspace, now)
        row = team_sessions.live(session, ws_id, channel, lock=True)
        if row is None:
            # The same command run again after Slack refused its summary: the session it ended, once more.
            last = team_sessions.latest_ended(session, ws_id, channel, with_outcomes=False)
            if last is not None and _unannounced(last, who, now):
                return _ended_view(session, ctx, last)
            return None
        if row.facilitator is not None and row.facilitator != who.user:
            raise NotFacilitator(f"Only <@{row.facilitator}>, who facilitates this session, can end it.")
        return _end(session, ctx, row, "ended", now)


def end_idle(ctx: AppContext, now: datetime, idle_for: timedelta) -> list[Ended]:
    """Sessions nobody touched for ``idle_for`` end by themselves (the scheduler's job)."""
    ended: list[Ended] = []
    with ctx.sessions.begin() as session:
        for row in team_sessions.idle(session, now - idle_for, IDLE_BATCH):
            locked = team_sessions.by_id(session, row.id, lock=True)
            if locked is not None and locked.live_channel is not None:
                ended.append(_end(session, ctx, locked, "idle", now))
    return ended


def summary_posted(ctx: AppContext, session_id: int, ts: str | None) -> None:
    with ctx.sessions.begin() as session:
        row = team_sessions.by_id(session, session_id, lock=True)
        if row is not None and ts:
            row.summary_ts = ts


def unannounced_idle(ctx: AppContext, now: datetime) -> list[Ended]:
    """Sessions that ended idle before ``now`` (within ``ANNOUNCE_WITHIN``) and whose summary is not
    posted: the scheduler that ended one died before it posted, or Slack refused it for now."""
    with ctx.sessions.begin() as session:
        rows = team_sessions.unannounced_idle(session, now - ANNOUNCE_WITHIN, now, IDLE_BATCH)
        return [_ended_view(session, ctx, row) for row in rows]


def claim_summary(ctx: AppContext, session_id: int, now: datetime) -> int | None:
    """The right to post an ended session's summary (its claim in the sends ledger), or None when it
    was posted, another scheduler is posting it, or it failed too often."""
    with ctx.sessions.begin() as session:
        row = team_sessions.by_id(session, session_id, lock=True)
        if row is None or row.live_channel is not None or row.summary_ts is not None:
            return None
        return claim(session, SendKey(SUMMARY, row.workspace_id, row.channel_id, f"session:{row.id}"), now)


def summary_sent(ctx: AppContext, send_id: int, session_id: int, where: tuple[str, str | None], now: datetime) -> None:
    """A claimed summary went out: ``where`` is its (channel, ts)."""
    with ctx.sessions.begin() as session:
        channel, ts = where
        sends.finish_send(session, send_id, "sent", now, channel_id=channel, ts=ts)
        row = team_sessions.by_id(session, session_id, lock=True)
        if row is not None and ts:
            row.summary_ts = ts


def summary_refused(ctx: AppContext, send_id: int, error: str, now: datetime, *, final: bool) -> None:
    """A claimed summary did not go out: tried again on a later tick unless ``final`` (the channel is gone)."""
    with ctx.sessions.begin() as session:
        sends.finish_send(session, send_id, "skipped" if final else "failed", now, error=error)


def add_action(
    ctx: AppContext,
    who: Who,
    where: tuple[int, str],
    action: NewAction,
    now: datetime,
    *,
    source: str | None,
    settings: OutreachSettings,
    members: Sequence[str] | None,
) -> LiveQuestion | None:
    """An action agreed in the session (any member may add one); the live question to show it on, or
    None when the session ended meanwhile (the action is kept all the same)."""
    session_id, question_id = where
    with ctx.sessions.begin() as session:
        row = team_sessions.by_id(session, session_id, lock=True)
        if row is None:
            raise SessionGone()
        # The form's view id names the submission: a job run again adds nothing twice (the row lock
        # above serialises two runs).
        if source is None or not team_sessions.has_action_from(session, row.id, source):
            team_sessions.add_action(
                session, row, action, question_id=question_id or None, created_by=who.user, now=now, source=source
            )
        row.updated_at = now
        if row.live_channel is None:
            return None
        return _live(session, ctx, row, now, settings=settings, members=members)


def channel_of(ctx: AppContext, session_id: int) -> str | None:
    with ctx.sessions() as session:
        row = team_sessions.by_id(session, session_id)
        return row.channel_id if row else None


def open_actions(ctx: AppContext, team: str, channel: str, now: datetime) -> tuple[ActionView, ...]:
    with ctx.sessions.begin() as session:
        ws_id = people.workspace_id(session, team, now)
        return tuple(_action_view(a) for a in team_sessions.open_actions(session, ws_id, channel))


def mark_done(ctx: AppContext, who: Who, action_id: int, now: datetime) -> tuple[ActionView, tuple[ActionView, ...]]:
    """The owner, whoever added it or the facilitator of its session marks an action done; returns it
    and the channel's actions still open."""
    with ctx.sessions.begin() as session:
        ws_id = people.workspace_id(session, who.workspace, now)
        found = team_sessions.action(session, ws_id, action_id, lock=True)
        if found is None:
            raise CompassError("That action is no longer there.")
        row = team_sessions.by_id(session, found.session_id)
        allowed = {found.owner, found.created_by, row.facilitator if row else None} - {None}
        if allowed and who.user not in allowed:
            names = " or ".join(f"<@{u}>" for u in sorted(a for a in allowed if a))
            raise CompassError(f"Only {names} can mark that action done.")
        if found.done_at is None:
            found.done_at, found.done_by = now, who.user
        done = _action_view(found)
        still = tuple(_action_view(a) for a in team_sessions.open_actions(session, ws_id, found.channel_id))
    return done, still


class SessionProblemAtStage(CompassError):
    user_message = "That step does not fit where the session is."


# -- helpers (inside the caller's transaction) -----------------------------------------------


def _weakest(session: Session, ctx: AppContext, ws_id: int, channel: str) -> str | None:
    bank = ctx.banks.of(session, ws_id)
    """The team's weakest dimension: from its last session's agreed levels, else its last digest."""
    last = team_sessions.latest_ended(session, ws_id, channel)
    if last is not None:
        agreed = summarise(bank, team_sessions.outcomes(session, last.id)).snapshot()
        found = weakest_dimension(bank, agreed)
        if found is not None:
            return found
    digest = sends.last_digest(session, ws_id, channel)
    means = ((digest.payload or {}).get("dimensions") or {}) if digest else {}
    return weakest_dimension(bank, {d: m for d, m in means.items() if isinstance(m, int | float)})


def question_title(ctx: AppContext, team: str, question_id: str) -> str:
    """The title of a question of the workspace's bank ("" when the bank no longer has it)."""
    with ctx.sessions.begin() as session:
        bank = ctx.banks.of(session, team)
    return bank.question(question_id).title if bank.has_question(question_id) else ""


def _vote_refused(bank: Questionnaire, row: TeamSession | None, question_id: str) -> VoteRefused | None:
    if row is None or row.live_channel is None:
        return VoteRefused("This session has ended, so it takes no more votes.")
    asked = team_sessions.question_ids(row)
    if question_id != asked[row.position]:
        return VoteRefused("That question is behind us: vote on the session's latest question message.")
    if row.stage != Stage.VOTING.value:
        return VoteRefused("The votes on this question are revealed, so it takes no more votes.")
    if not bank.has_question(question_id):
        return VoteRefused("That question is no longer in the questionnaire.")
    return None


def _unannounced(row: TeamSession, who: Who, now: datetime) -> bool:
    """An ended session whose summary never reached the channel, ended by ``who`` moments ago: a job
    run again after Slack said wait (or after a crash) shows the same end instead of an error."""
    return (
        row.summary_ts is None
        and row.ended_at is not None
        and now - row.ended_at <= RECOVER_WITHIN
        and row.facilitator in (None, who.user)
    )


def _moved_already(
    session: Session, ctx: AppContext, who: Who, where: tuple[int, str], now: datetime
) -> NextQuestion | Ended | None:
    """*Next* on a question the session already moved past, whose next message never got posted (the
    job runs again): the same move once more; None when this is a new move."""
    session_id, question_id = where
    row = team_sessions.by_id(session, session_id, lock=True)
    if row is None:
        return None
    if row.live_channel is None:
        return _ended_view(session, ctx, row) if _unannounced(row, who, now) else None
    asked = team_sessions.question_ids(row)
    moved = row.position > 0 and asked[row.position - 1] == question_id
    if not (moved and row.message_ts is None and row.stage == Stage.VOTING.value):
        return None
    if row.facilitator is not None and row.facilitator != who.user:
        return None
    return NextQuestion(_live(session, ctx, row, now, position=row.position - 1), _live(session, ctx, row, now))


def _facilitated(session: Session, who: Who, where: tuple[int, str]) -> TeamSession:
    """The session, locked, when ``who`` facilitates it and ``where`` is its live question."""
    session_id, question_id = where
    row = team_sessions.by_id(session, session_id, lock=True)
    if row is None or row.live_channel is None:
        raise SessionGone()
    if row.facilitator is not None and row.facilitator != who.user:
        raise NotFacilitator(f"Only <@{row.facilitator}>, who facilitates this session, can do that.")
    if team_sessions.question_ids(row)[row.position] != question_id:
        raise SessionProblemAtStage("That question is behind us: use the session's latest question message.")
    return row


def _live(
    session: Session,
    ctx: AppContext,
    row: TeamSession,
    now: datetime,
    *,
    settings: OutreachSettings | None = None,
    members: Sequence[str] | None = None,
    revealed: bool = False,
    position: int | None = None,
) -> LiveQuestion:
    """The question at ``position`` (default: the live one) as its message shows it; an earlier one as
    agreed."""
    asked = team_sessions.question_ids(row)
    at = row.position if position is None else position
    stage = Stage(row.stage) if at == row.position else Stage.AGREED
    bank = ctx.banks.of(session, row.workspace_id)
    if not bank.has_question(asked[at]):
        raise SessionGone(
            "The questionnaire changed and this question is no longer in it: end the session "
            "with `/compass session end` (what was agreed is kept) and start another."
        )
    question = bank.question(asked[at])
    measured = ctx.measured.of(session, row.channel_id, now)
    evidence = weigh(question.evidence, measured, row.channel_id, WINDOW_DAYS) if measured else None
    votes = team_sessions.vote_values(session, row.id, question.id)
    spread = mean = None
    show = revealed or stage != Stage.VOTING
    if show:
        threshold = respondent_threshold((settings or OutreachSettings()).min_respondents)
        spread = reveal(votes, threshold)
        mean = _team_mean(session, row, question.id, now, settings=settings or OutreachSettings(), members=members)
    agreed = team_sessions.outcome(session, row.id, question.id) if stage == Stage.AGREED else None
    actions = tuple(
        _action_view(a) for a in team_sessions.session_actions(session, row.id) if a.question_id == question.id
    )
    return LiveQuestion(
        session_id=row.id,
        channel=row.channel_id,
        ts=row.message_ts if at == row.position else None,
        facilitator=row.facilitator,
        number=at + 1,
        total=len(asked),
        question=question,
        stage=stage,
        votes=len(votes),
        members=row.members,
        reveal=spread,
        team_mean=mean,
        evidence=evidence,
        agreed=agreed,
        actions=actions,
    )


def _team_mean(
    session: Session,
    row: TeamSession,
    question_id: str,
    now: datetime,
    *,
    settings: OutreachSettings,
    members: Sequence[str] | None,
) -> float | None:
    aggregate, _, _ = team_aggregate_now(
        session, row.workspace_id, row.channel_id, now, members=members, settings=settings
    )
    found = next((q for q in aggregate.questions if q.question_id == question_id), None)
    if found is None or found.answered < respondent_threshold(settings.min_respondents):
        return None
    return round(found.mean_level, 1)


def _end(session: Session, ctx: AppContext, row: TeamSession, reason: str, now: datetime) -> Ended:
    team_sessions.end(row, reason, now)
    return _ended_view(session, ctx, row)


def _ended_view(session: Session, ctx: AppContext, row: TeamSession) -> Ended:
    """The view of an ended session: its summary, actions and last live message (kept on the row)."""
    previous = team_sessions.previous_ended(session, row.workspace_id, row.channel_id, row.id)
    bank = ctx.banks.of(session, row.workspace_id)
    before = summarise(bank, team_sessions.outcomes(session, previous.id)).snapshot() if previous else None
    summary = summarise(bank, team_sessions.outcomes(session, row.id), before)
    actions = tuple(_action_view(a) for a in team_sessions.session_actions(session, row.id))
    team = session.get(Workspace, row.workspace_id).external_id  # type: ignore[union-attr]  # rows keep theirs
    return Ended(
        session_id=row.id,
        channel=row.channel_id,
        facilitator=row.facilitator,
        scope=scope_label(bank, row.dimension_id),
        reason=row.end_reason or "ended",
        summary=summary,
        actions=actions,
        live_ts=row.message_ts,
        team=team,
    )


def _action_view(action: SessionAction) -> ActionView:
    return ActionView(
        action.id,
        action.text,
        action.owner,
        action.due.isoformat() if action.due else None,
        action.done_at is not None,
    )
