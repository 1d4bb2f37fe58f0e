"""Carrying an unfinished assessment over to an edited question bank.

Pure module. An answer survives an edit when its question is still in the bank with the same
content hash (``Question.content_hash``: text, options, N/A, dimension, weight). Answers to
questions that changed or were removed are dropped and those questions are asked (again); the
assessment resumes at the first question without an answer. When answers were given and none
survives, the assessment is closed instead, and the person starts afresh.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType

from bot.domain.flow import RunState, Status, first_unanswered
from bot.domain.questionnaire import Questionnaire

NOTHING_KEPT = "The questionnaire changed since you started and none of your answers still apply; starting afresh."


@dataclass(frozen=True)
class BankChange:
    """What an edit of the bank did to one unfinished assessment's answers.

    Question ids, in the new bank's order (removed ones by id). ``unverified`` holds answers
    stored without a question hash (given before hashes were kept) whose question is still in
    the bank: nothing proves the question unchanged, so they are dropped too. ``new`` holds the
    questions the assessment's earlier bank did not have; it is empty when that bank's question
    list is unknown.
    """

    state: RunState  # ASKING at the resume point with the kept answers, or EXPIRED
    kept: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    unverified: tuple[str, ...]
    new: tuple[str, ...]

    @property
    def dropped(self) -> int:
        return len(self.changed) + len(self.removed) + len(self.unverified)

    @property
    def closed(self) -> bool:
        """True when answers were given and none of them survives: the assessment is over."""
        return self.state.status is not Status.ASKING

    @property
    def notice(self) -> str | None:
        """The one line the person is told, or None when there is nothing to tell: no answer was
        given yet, or every answer was kept and no question is new (an edited title or advice, a
        question not reached yet that was reworded or removed)."""
        if self.closed:
            return NOTHING_KEPT
        if not self.kept and not self.dropped:
            return None
        parts = []
        if self.new:
            parts.append(_count(len(self.new), "question is new", "questions are new"))
        if self.changed:
            parts.append(
                _count(len(self.changed), "question you answered has changed", "questions you answered have changed")
            )
        if self.removed:
            parts.append(
                _count(len(self.removed), "question you answered was removed", "questions you answered were removed")
            )
        if self.unverified:
            parts.append(
                _count(
                    len(self.unverified),
                    "earlier answer could not be checked against the new version",
                    "earlier answers could not be checked against the new version",
                )
            )
        if not parts:
            return None
        kept = _kept(len(self.kept), others=self.dropped > 0)
        return f"The questionnaire changed since you started: {', '.join(parts)}; {kept}."


def _count(n: int, one: str, many: str) -> str:
    return f"1 {one}" if n == 1 else f"{n} {many}"


def _kept(n: int, others: bool) -> str:
    other = "other " if others else ""
    return f"your {other}answer was kept" if n == 1 else f"your {n} {other}answers were kept"


def rebase(
    bank: Questionnaire,
    state: RunState,
    hashes: Mapping[str, str | None],
    begun_on: Collection[str] | None,
    now: datetime,
) -> BankChange:
    """Carry an unfinished assessment, begun on another version of the bank, over to ``bank``.

    Args:
        bank: the question bank in use now.
        state: the assessment as stored; it must be in progress.
        hashes: for each answered question, the content hash of the question as it was
            answered (None when it was not recorded).
        begun_on: the question ids of the bank the assessment was on, or None when unknown.
        now: the time of the change, recorded as the assessment's last update.

    Returns:
        The change: the new state (resuming at the first unanswered question, or at the last
        question when every one still has an answer, so that confirming it finishes), or the
        assessment closed as EXPIRED when answers were given and none survives.

    Raises:
        ValueError: the assessment is not in progress.
    """
    if state.status is not Status.ASKING:
        raise ValueError(f"only an assessment in progress can move to another bank, not one that is {state.status}")
    kept: list[str] = []
    changed: list[str] = []
    unverified: list[str] = []
    for question in bank:
        if question.id not in state.answers:
            continue
        given = hashes.get(question.id)
        if given is None:
            unverified.append(question.id)
        elif given == question.content_hash:
            kept.append(question.id)
        else:
            changed.append(question.id)
    removed = sorted(qid for qid in state.answers if not bank.has_question(qid))
    known = set(begun_on) if begun_on is not None else None
    new = () if known is None else tuple(q.id for q in bank if q.id not in known and q.id not in state.answers)
    if state.answers and not kept:
        closed = replace(state, status=Status.EXPIRED, version=state.version + 1, updated_at=now)
        return BankChange(closed, (), tuple(changed), tuple(removed), tuple(unverified), new)
    answers = MappingProxyType({qid: state.answers[qid] for qid in kept})
    opening = first_unanswered(bank, answers)
    position = len(bank) - 1 if opening is None else opening
    moved = replace(state, position=position, answers=answers, version=state.version + 1, updated_at=now)
    return BankChange(moved, tuple(kept), tuple(changed), tuple(removed), tuple(unverified), new)
