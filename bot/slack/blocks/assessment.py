"""The assessment DM: one question per message, the resume offer, and collapsed old messages."""

from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, Block

from bot.app.types import (
    AllAnswered,
    Answered,
    ClosedScreen,
    Closure,
    MovedBack,
    Note,
    Progress,
    QuestionScreen,
    Screen,
    SnoozedScreen,
)
from bot.domain.evidence import Evidence
from bot.slack import ids
from bot.slack.blocks.common import (
    Message,
    button,
    context,
    progress_bar,
    resume_button,
    section,
    start_over_button,
)
from bot.slack.ids import Action


def build_question_message(progress: Progress, note: str | None = None) -> Message:
    """One question: dimension, text, options as buttons in ascending maturity, progress line; its
    metadata names the assessment.

    Args:
        progress: the assessment positioned at the question to show; its ``notice`` (what an
            edit of the question bank did to the answers) comes first.
        note: a short acknowledgement of the previous click, shown above the question.
    """
    q = progress.question
    assert q is not None, "build_question_message needs an assessment that is asking"
    v = progress.version
    blocks: list[Block] = []
    if progress.notice:
        blocks.append(context(progress.notice, block_id=f"notice.{v}"))
    if note:
        blocks.append(context(note, block_id=f"note.{v}"))
    blocks.append(section(f"*{progress.dimension_name}*\n*{q.title}*\n{q.text}", block_id=f"{ids.Block.QUESTION}.{v}"))
    evidence = progress.evidence
    if evidence is not None:
        blocks.append(context(evidence_line(evidence), block_id=f"{ids.Block.EVIDENCE}.{v}"))
    lines = []
    for option in q.options:
        earlier = (
            "  _(your earlier answer)_"
            if progress.has_previous_answer and progress.previous_answer == option.level
            else ""
        )
        lines.append(f"*{option.level} · {option.label}*: {option.text}{earlier}")
    blocks.append(section("\n".join(lines), block_id=f"{ids.Block.OPTIONS}.{v}"))
    buttons = [
        button(
            f"{EVIDENCE_MARK if _fits(progress, option.level) else ''}{option.level} · {option.label}",
            ids.answer_action(option.level),
            ids.encode(progress.assessment_id, q.id, option.level, question_hash=q.content_hash),
            style="primary" if _highlighted(progress, option.level) else None,
        )
        for option in q.options
    ]
    blocks.append(ActionsBlock(elements=buttons, block_id=f"{ids.Block.ANSWERS}.{v}"))
    controls = []
    if q.allow_na:
        controls.append(
            button(
                "Not applicable to us",
                Action.NOT_APPLICABLE,
                ids.encode(progress.assessment_id, q.id, na=True, question_hash=q.content_hash),
            )
        )
    if progress.position > 0:
        controls.append(
            button("◀ Back", Action.BACK, ids.encode(progress.assessment_id, q.id, question_hash=q.content_hash))
        )
    if controls:
        blocks.append(ActionsBlock(elements=controls, block_id=f"{ids.Block.CONTROLS}.{v}"))
    blocks.append(
        context(
            f"{progress_bar(progress.position, progress.total)}  Question {progress.number} of {progress.total}"
            f" · {progress.dimension_name}",
            block_id=f"{ids.Block.PROGRESS}.{v}",
        )
    )
    text = f"Question {progress.number} of {progress.total} ({progress.dimension_name}): {q.text}"
    shown = f"{progress.notice} {text}" if progress.notice else text
    return Message(shown, tuple(blocks), metadata=ids.question_metadata(progress.assessment_id))


EVIDENCE_MARK = "📊 "


def evidence_line(evidence: Evidence) -> str:
    """ "📊 #team, last 90 days: 41 production deployments (daily), …: that fits level 3-4"."""
    measured = ", ".join(m.phrase for m in evidence.measurements)
    fits = f"level {evidence.low}" if evidence.low == evidence.high else f"level {evidence.low}-{evidence.high}"
    return f"{EVIDENCE_MARK}<#{evidence.channel_id}>, last {evidence.days} days: {measured}: that fits {fits}"


def _fits(progress: Progress, level: int) -> bool:
    return progress.evidence is not None and progress.evidence.agrees(level) is True


def _highlighted(progress: Progress, level: int) -> bool:
    """The earlier answer when there is one (after Back), else the levels the evidence fits."""
    if progress.has_previous_answer:
        return progress.previous_answer == level
    return _fits(progress, level)


def build_resume_offer(progress: Progress) -> Message:
    """Offer to continue an unfinished assessment or to start over."""
    text = f"You have an unfinished MLOps Compass assessment at question {progress.number} of {progress.total}."
    if progress.notice:
        text = f"{text} {progress.notice}"
    question_id = progress.question.id if progress.question else "none"
    blocks: list[Block] = [
        section(f":compass: {text}\nPick up where you left off, or start over from the first question."),
        ActionsBlock(
            elements=[
                resume_button(progress.assessment_id, question_id, progress.number),
                start_over_button(progress.assessment_id, question_id),
            ],
            block_id=f"resume.{progress.assessment_id}.{progress.version}",
        ),
    ]
    return Message(text, tuple(blocks))


def build_closed_message(text: str) -> Message:
    """What an old question message collapses to, so it holds no live buttons."""
    return Message(text, (context(text),))


CLOSED_TEXT = {
    Closure.MOVED: "This assessment continues in a newer message below.",
    Closure.FINISHED: (
        "This assessment is closed. `/compass report` shows your latest report; `/compass start` begins a new one."
    ),
    Closure.NOTHING_TO_RESUME: "There is no unfinished assessment any more. Run `/compass start` to begin a new one.",
    Closure.STARTS_BELOW: ":compass: Your assessment starts in the next message.",
}
MOVED = CLOSED_TEXT[Closure.MOVED]


def note_text(note: Note | None) -> str | None:
    """The line above a question that confirms the click before it."""
    if isinstance(note, MovedBack):
        return "◀ Back to the previous question: pick an answer to change it."
    if isinstance(note, Answered):
        answer = "Not applicable" if note.level is None else f"{note.level} · {note.label}"
        return f"✓ *{note.question_title}*: {answer}"
    return None


def build_screen(screen: Screen) -> Message:
    """What a message of the assessment DM shows: a question, or a closed line without buttons."""
    if isinstance(screen, QuestionScreen):
        return build_question_message(screen.progress, note_text(screen.note))
    if isinstance(screen, ClosedScreen):
        return build_closed_message(CLOSED_TEXT[screen.closure])
    if isinstance(screen, AllAnswered):
        note = note_text(screen.note)
        return build_closed_message(f"✅ All {screen.total} questions answered." + (f" {note}" if note else ""))
    assert isinstance(screen, SnoozedScreen)
    return build_closed_message(f"OK, I'll ask again after {screen.until:%A, %b %-d}. `/compass start` works any time.")
