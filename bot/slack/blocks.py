"""Pure Block Kit builders. Built from slack_sdk's block models, so Slack's limits are checked
when a message is serialised; ``validate_message`` adds the limits the models leave out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.domain.digest import Digest
from bot.domain.levels import level_name
from bot.domain.questionnaire import Questionnaire
from bot.domain.report import Report
from bot.services import HistoryEntry, Progress
from bot.slack import ids
from bot.slack.ids import Action

LEVEL_EMOJI = {1: "🔴", 2: "🟠", 3: "🟡", 4: "🟢"}
NO_LEVEL_EMOJI = "⚪"
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_MESSAGE_CHARS = 12000  # Slack rejects messages whose blocks total ~13k characters
HOME_HISTORY = 5
BAR_WIDTH = 10


@dataclass(frozen=True)
class Message:
    """A message: fallback text for notifications and screen readers, plus blocks."""

    text: str
    blocks: tuple[Block, ...]

    def as_kwargs(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": [b.to_dict() for b in self.blocks]}


def emoji(level: int | None) -> str:
    return NO_LEVEL_EMOJI if level is None else LEVEL_EMOJI[level]


def bar(score: float | None, width: int = BAR_WIDTH) -> str:
    if score is None:
        return "▱" * width
    filled = round((score - 1) / 3 * width)
    return "▰" * filled + "▱" * (width - filled)


def progress_bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    filled = round(done / total * width) if total else 0
    return "▰" * filled + "▱" * (width - filled)


def change_text(change: float | None) -> str:
    if change is None:
        return ""
    if abs(change) < 0.005:
        return "= no change"
    return f"▲ +{change:.2f}" if change > 0 else f"▼ {change:.2f}"


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


def _section(text: str, block_id: str | None = None) -> SectionBlock:
    return SectionBlock(text=_md(_clip(text, MAX_SECTION_TEXT)), block_id=block_id)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _context(text: str, block_id: str | None = None) -> ContextBlock:
    return ContextBlock(elements=[_md(text)], block_id=block_id)


def _button(text: str, action_id: str, value: str, style: str | None = None) -> ButtonElement:
    return ButtonElement(text=_clip(text, 75), action_id=action_id, value=value, style=style)


def build_question_message(progress: Progress, note: str | None = None) -> Message:
    """One question: dimension, text, options as buttons in ascending maturity, progress line.

    Args:
        progress: the assessment positioned at the question to show.
        note: a short acknowledgement of the previous click, shown above the question.
    """
    q = progress.question
    assert q is not None, "build_question_message needs an assessment that is asking"
    v = progress.version
    blocks: list[Block] = []
    if note:
        blocks.append(_context(note, block_id=f"note.{v}"))
    blocks.append(_section(f"*{progress.dimension_name}*\n*{q.title}*\n{q.text}", block_id=f"{ids.Block.QUESTION}.{v}"))
    lines = []
    for option in q.options:
        earlier = (
            "  _(your earlier answer)_"
            if progress.has_previous_answer and progress.previous_answer == option.level
            else ""
        )
        lines.append(f"*{option.level} · {option.label}*: {option.text}{earlier}")
    blocks.append(_section("\n".join(lines), block_id=f"{ids.Block.OPTIONS}.{v}"))
    buttons = [
        _button(
            f"{option.level} · {option.label}",
            ids.answer_action(option.level),
            ids.encode(progress.assessment_id, q.id, option.level),
            style="primary" if progress.has_previous_answer and progress.previous_answer == option.level else None,
        )
        for option in q.options
    ]
    blocks.append(ActionsBlock(elements=buttons, block_id=f"{ids.Block.ANSWERS}.{v}"))
    controls = []
    if q.allow_na:
        controls.append(
            _button("Not applicable to us", Action.NOT_APPLICABLE, ids.encode(progress.assessment_id, q.id, na=True))
        )
    if progress.position > 0:
        controls.append(_button("◀ Back", Action.BACK, ids.encode(progress.assessment_id, q.id)))
    if controls:
        blocks.append(ActionsBlock(elements=controls, block_id=f"{ids.Block.CONTROLS}.{v}"))
    blocks.append(
        _context(
            f"{progress_bar(progress.position, progress.total)}  Question {progress.number} of {progress.total}"
            f" · {progress.dimension_name}",
            block_id=f"{ids.Block.PROGRESS}.{v}",
        )
    )
    text = f"Question {progress.number} of {progress.total} ({progress.dimension_name}): {q.text}"
    return Message(text, tuple(blocks))


def build_resume_offer(progress: Progress) -> Message:
    """Offer to continue an unfinished assessment or to start over."""
    text = f"You have an unfinished MLOps Compass assessment at question {progress.number} of {progress.total}."
    blocks: list[Block] = [
        _section(f":compass: {text}\nPick up where you left off, or start over from the first question."),
        ActionsBlock(
            elements=[
                _button(
                    f"Resume at question {progress.number}",
                    Action.RESUME,
                    ids.encode(progress.assessment_id, _question_id(progress)),
                    style="primary",
                ),
                _button("Start over", Action.START_OVER, ids.encode(progress.assessment_id, _question_id(progress))),
            ],
            block_id=f"resume.{progress.assessment_id}.{progress.version}",
        ),
    ]
    return Message(text, tuple(blocks))


def _question_id(progress: Progress) -> str:
    return progress.question.id if progress.question else "none"


def build_closed_message(text: str) -> Message:
    """What an old question message collapses to, so it holds no live buttons."""
    return Message(text, (_context(text),))


def _level_label(level: int) -> str:
    return f"Level {level} · {level_name(level)}"


def _dimension_line(name: str, score: float | None, level: int | None, change: float | None) -> str:
    figures = "not scored" if score is None else f"{score:.2f}  `{bar(score)}`  L{level}"
    delta = change_text(change)
    return f"{emoji(level)} *{name}* · {figures}" + (f"  {delta}" if delta else "")


def build_report_message(report: Report) -> Message:
    """The report: overall level with emoji, a line per dimension, top recommendation, next steps."""
    blocks: list[Block] = [HeaderBlock(text="Your MLOps maturity report")]
    if report.level is None or report.overall is None:
        overall = f"{NO_LEVEL_EMOJI} *Not scored*: every answer was 'not applicable'."
    else:
        overall = f"{emoji(report.level)} *Overall: {_level_label(report.level)}*  ({report.overall:.2f} / 4)"
        if report.change is not None:
            since = f" since {report.previous_at:%b %-d, %Y}" if report.previous_at else ""
            overall += f"\n{change_text(report.change)}{since}"
    blocks.append(_section(overall))
    blocks.append(_section("\n".join(_dimension_line(d.name, d.score, d.level, d.change) for d in report.dimensions)))
    answered = f"{report.answered} of {report.total} questions answered"
    if report.not_applicable:
        answered += f" · {report.not_applicable} not applicable"
    blocks.append(_context(f"{answered} · question bank {report.bank_version} · 🔴 L1 🟠 L2 🟡 L3 🟢 L4"))
    text = "Your MLOps maturity: " + (
        f"Level {report.level} {level_name(report.level)} ({report.overall:.2f}/4)."
        if report.level is not None and report.overall is not None
        else "not scored."
    )
    if report.top is not None:
        top = report.top
        blocks.append(DividerBlock())
        blocks.append(
            _section(
                f":dart: *Top recommendation: {top.dimension}* ({emoji(top.dimension_level)} L{top.dimension_level})\n"
                f"{top.advice}\n\n*Start with {top.step.title}:* {top.step.text}"
            )
        )
        text += f" Top recommendation ({top.dimension}): {top.step.text}"
    if report.further_steps:
        steps = "\n".join(f"• *{s.title}* ({s.dimension}): {s.text}" for s in report.further_steps)
        blocks.append(_section(f"*Next steps*\n{steps}"))
    return Message(text, tuple(blocks))


def build_help_message() -> Message:
    text = (
        "*MLOps Compass* measures your team's MLOps maturity in about 10 minutes.\n"
        "• `/compass start`: take the assessment in a DM (or resume an unfinished one)\n"
        "• `/compass report`: your latest report\n"
        "• `/compass history`: your past results and how they changed\n"
        "• `/compass digest here weekly|monthly|quarterly`: a team digest in this channel "
        "(`/compass digest` shows the set-up, `/compass digest off` stops it)\n"
        "• `/compass pause` / `/compass resume-reminders`: stop or restart invitations and reminders\n"
        "• `/compass help`: this message"
    )
    return Message("MLOps Compass: /compass start, report, history, digest, pause, help", (_section(text),))


def build_unknown_command_message(subcommand: str) -> Message:
    shown = _clip(subcommand, 40)
    help_message = build_help_message()
    note = _section(f"I don't know `/compass {shown}`. Here is what I can do:")
    return Message(f"Unknown command /compass {shown}. Try /compass help.", (note, *help_message.blocks))


def build_text_message(text: str) -> Message:
    return Message(text, (_section(text),))


def _history_lines(entries: Sequence[HistoryEntry]) -> str:
    lines = []
    for e in entries:
        score = "not scored" if e.overall is None else f"{e.overall:.2f}"
        delta = change_text(e.change)
        lines.append(f"{emoji(e.level)} {_date(e.completed_at)} · {score}" + (f"  {delta}" if delta else ""))
    return "\n".join(lines)


def _date(when: datetime) -> str:
    return f"{when:%b %-d, %Y}"


def build_history_message(entries: Sequence[HistoryEntry]) -> Message:
    if not entries:
        return build_text_message("You have no completed assessments yet. Run `/compass start` to take one.")
    text = f"Your last {len(entries)} MLOps Compass result(s)"
    return Message(text, (_section(f"*{text}*\n{_history_lines(entries)}"),))


def build_home_view(report: Report | None, history: Sequence[HistoryEntry], progress: Progress | None) -> View:
    """App Home: latest result with emoji levels, short history, Start/Resume."""
    blocks: list[Block] = [HeaderBlock(text="MLOps Compass")]
    if report is None and progress is None:
        blocks.append(
            _section(
                "MLOps Compass asks about two dozen short questions on how your team handles data, deployment, "
                "monitoring, governance and collaboration, scores each dimension from 1 (ad-hoc) to 4 (autonomous), "
                "and names the one practice to improve next. It takes about 10 minutes; your answers stay private."
            )
        )
    buttons: list[ButtonElement] = []
    if progress is not None and progress.question is not None:
        blocks.append(_section(f":hourglass_flowing_sand: You are at question {progress.number} of {progress.total}."))
        buttons.append(
            _button(
                f"Resume at question {progress.number}",
                Action.RESUME,
                ids.encode(progress.assessment_id, progress.question.id),
                "primary",
            )
        )
        buttons.append(
            _button("Start over", Action.START_OVER, ids.encode(progress.assessment_id, progress.question.id))
        )
    else:
        buttons.append(
            _button("Start an assessment" if report is None else "Re-assess now", Action.START, "v1|0|none", "primary")
        )
    blocks.append(ActionsBlock(elements=buttons, block_id=ids.Block.HOME_ACTIONS))
    if report is not None:
        blocks.append(DividerBlock())
        completed = f" ({_date(report.completed_at)})" if report.completed_at else ""
        if report.level is not None and report.overall is not None:
            level = f"{emoji(report.level)} {_level_label(report.level)}"
            head = f"*Latest result{completed}:* {level} ({report.overall:.2f} / 4)"
        else:
            head = f"*Latest result{completed}:* not scored"
        if report.change is not None:
            head += f"  {change_text(report.change)}"
        blocks.append(_section(head))
        blocks.append(
            _section("\n".join(_dimension_line(d.name, d.score, d.level, d.change) for d in report.dimensions))
        )
        if report.top is not None:
            blocks.append(
                _section(
                    f":dart: *Improve next:* {report.top.step.title} ({report.top.dimension}): {report.top.step.text}"
                )
            )
    if history:
        blocks.append(DividerBlock())
        blocks.append(_section(f"*History*\n{_history_lines(history[:HOME_HISTORY])}"))
    blocks.append(
        _context(
            "🔴 L1 Ad-hoc/Manual · 🟠 L2 Repeatable/Automated · 🟡 L3 Managed/Standardized · 🟢 L4 Optimized/Autonomous"
        )
    )
    return View(type="home", blocks=blocks)


class BlockLimitError(ValueError):
    pass


def validate_message(blocks: Sequence[dict[str, Any]], limit: int = MAX_MESSAGE_BLOCKS) -> None:
    """Check what slack_sdk's models do not: block count, unique ids, total size."""
    if not 1 <= len(blocks) <= limit:
        raise BlockLimitError(f"{len(blocks)} blocks; Slack allows 1 to {limit}")
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(block_ids) != len(set(block_ids)):
        raise BlockLimitError(f"duplicate block_id in {block_ids}")
    for b in blocks:
        actions = [e.get("action_id") for e in b.get("elements", []) if "action_id" in e]
        if len(actions) != len(set(actions)):
            raise BlockLimitError(f"duplicate action_id in block {b.get('block_id')}")
        for field in b.get("fields", []):
            if len(field.get("text", "")) > 2000:
                raise BlockLimitError("section field longer than 2000 characters")
    size = len(str(blocks))
    if size > MAX_MESSAGE_CHARS:
        raise BlockLimitError(f"message blocks total {size} characters; keep under {MAX_MESSAGE_CHARS}")


def _spread(levels: tuple[int, int, int, int]) -> str:
    return " ".join(f"{LEVEL_EMOJI[n]}{count}" for n, count in zip((1, 2, 3, 4), levels, strict=True))


def build_digest_message(digest: Digest, channel: str) -> Message:
    """The team digest: participation, overall and per-dimension levels with spread, change, focus.

    Below the anonymity threshold it shows no figures, only how many more answers are needed.
    """
    title = f"MLOps maturity digest · {digest.period}"
    participation = f"{digest.respondents} of {digest.members} members of <#{channel}> have a current assessment"
    blocks: list[Block] = [HeaderBlock(text=_clip(title, 150))]
    if not digest.visible:
        more = digest.needed
        text = (
            f"{participation}. Team results appear once at least {digest.min_respondents} people have answered, "
            f"so nobody's answers can be singled out: {more} more needed. Run `/compass start` to take part."
        )
        blocks.append(_section(f":lock: {text}"))
        return Message(f"{title}: {more} more assessments needed before team results are shown.", tuple(blocks))
    blocks.append(_context(participation + " (individual answers are never shown)."))
    if digest.level is not None and digest.overall is not None:
        overall = f"{emoji(digest.level)} *Team level: {_level_label(digest.level)}*  ({digest.overall:.2f} / 4)"
        delta = change_text(digest.change)
        overall += f"  {delta} since the last digest" if delta else ""
    else:
        overall = f"{NO_LEVEL_EMOJI} *Team level: not scored*"
    blocks.append(_section(overall))
    lines = []
    for d in digest.dimensions:
        line = _dimension_line(d.name, d.mean, d.level, d.change)
        lines.append(f"{line}\n      spread: {_spread(d.spread)}")
    blocks.append(_section("\n".join(lines)))
    text = f"{title}: team level " + (
        f"{digest.level} {level_name(digest.level)}" if digest.level is not None else "not scored"
    )
    if digest.top is not None:
        top = digest.top
        step = f"\n*Next step: {top.step_title}.* {top.step}" if top.step else ""
        blocks.append(DividerBlock())
        blocks.append(
            _section(f":dart: *Team focus: {top.dimension}* ({emoji(top.level)} L{top.level})\n{top.advice}{step}")
        )
        text += f". Team focus: {top.dimension}."
    blocks.append(
        _context(
            "🔴 L1 Ad-hoc/Manual · 🟠 L2 Repeatable/Automated · 🟡 L3 Managed/Standardized · 🟢 L4 Optimized/Autonomous"
        )
    )
    return Message(text, tuple(blocks))


def build_prompt_message(last_completed: datetime | None, cadence_days: int) -> Message:
    """Invitation to (re-)assess, with Start and Remind me later."""
    if last_completed is None:
        text = "Your team uses MLOps Compass. Ten minutes of questions show where your MLOps practice is weakest."
    else:
        text = (
            f"It has been over {cadence_days} days since your last MLOps Compass assessment "
            f"({_date(last_completed)}). Take it again to see what changed."
        )
    blocks: list[Block] = [
        _section(f":compass: {text}"),
        ActionsBlock(
            elements=[
                _button("Start the assessment", Action.START, "v1|0|none", "primary"),
                _button("Remind me later", Action.SNOOZE, "v1|0|none"),
            ],
            block_id="prompt",
        ),
    ]
    return Message(text, tuple(blocks))


def build_reminder_message(assessment_id: int, bank: Questionnaire, position: int, number: int) -> Message:
    """Reminder about an unfinished assessment, with Resume and Remind me later."""
    position = min(position, len(bank) - 1)
    question = bank.questions[position]
    text = (
        f"Your MLOps Compass assessment is waiting at question {position + 1} of {len(bank)}. "
        "Your answers so far are saved."
    )
    last = " This is the last reminder." if number >= 2 else ""
    blocks: list[Block] = [
        _section(f":hourglass_flowing_sand: {text}{last}"),
        ActionsBlock(
            elements=[
                _button(
                    f"Resume at question {position + 1}",
                    Action.RESUME,
                    ids.encode(assessment_id, question.id),
                    "primary",
                ),
                _button("Remind me later", Action.SNOOZE, ids.encode(assessment_id, question.id)),
            ],
            block_id=f"reminder.{number}",
        ),
    ]
    return Message(text, tuple(blocks))


def build_paused_digest_notice(channel: str, error: str) -> Message:
    reason = {
        "not_in_channel": "I am not a member of it",
        "channel_not_found": "I cannot see it (it was deleted, or it is private and I was never invited)",
        "is_archived": "it was archived",
    }.get(error, f"Slack answered `{error}`")
    text = (
        f"I paused the MLOps Compass digest for <#{channel}> because {reason}. "
        f"Invite me with `/invite @compass` in that channel, then run `/compass digest here` there to restart it."
    )
    return Message(text, (_section(f":warning: {text}"),))


def build_digest_settings_message(rows: Sequence[tuple[str, str, str | None]]) -> Message:
    """`/compass digest` with no arguments: the channels that get a digest."""
    if not rows:
        text = (
            "No channel gets a team digest yet. In a team channel, run `/compass digest here weekly` "
            "(or `monthly`, `quarterly`)."
        )
        return build_text_message(text)
    lines = []
    for channel, cadence, paused in rows:
        state = f" (paused: {paused})" if paused else ""
        lines.append(f"• <#{channel}>: {cadence}{state}")
    text = "*Team digests*\n" + "\n".join(lines) + "\nTurn one off with `/compass digest off` in its channel."
    return Message("Team digests: " + ", ".join(f"{c} {k}" for c, k, _ in rows), (_section(text),))
