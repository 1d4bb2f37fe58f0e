"""A person's results: the report at the end of an assessment, and their history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from slack_sdk.models.blocks import Block, DividerBlock, HeaderBlock

from bot.app.types import HistoryEntry
from bot.domain.evidence import Evidence
from bot.domain.levels import level_name
from bot.domain.report import Report
from bot.domain.say_do import QuestionVerdict
from bot.slack.blocks.common import (
    NO_LEVEL_EMOJI,
    Message,
    build_text_message,
    change_text,
    context,
    date_text,
    dimension_line,
    emoji,
    level_label,
    section,
)


def build_report_message(
    report: Report, measured: Mapping[str, Evidence] | None = None, contradicted: Sequence[QuestionVerdict] = ()
) -> Message:
    """The report: overall level with emoji, a line per dimension, top recommendation, next steps.

    ``measured``: by dimension id, what the team's delivery signals say; shown under the
    dimension's line, with each of the person's answers there that the measurements contradict.
    """
    blocks: list[Block] = [HeaderBlock(text="Your MLOps maturity report")]
    if report.level is None or report.overall is None:
        overall = f"{NO_LEVEL_EMOJI} *Not scored*: every answer was 'not applicable'."
    else:
        overall = f"{emoji(report.level)} *Overall: {level_label(report.level)}*  ({report.overall:.2f} / 4)"
        if report.change is not None:
            since = f" since {report.previous_at:%b %-d, %Y}" if report.previous_at else ""
            overall += f"\n{change_text(report.change)}{since}"
    blocks.append(section(overall))
    lines = []
    for d in report.dimensions:
        lines.append(dimension_line(d.name, d.score, d.level, d.change))
        evidence = (measured or {}).get(d.id)
        if evidence is not None:
            lines.append(f"      {measured_line(evidence)}")
        lines.extend(f"      {contradicted_line(v)}" for v in contradicted if v.dimension_id == d.id)
    blocks.append(section("\n".join(lines)))
    answered = f"{report.answered} of {report.total} questions answered"
    if report.not_applicable:
        answered += f" · {report.not_applicable} not applicable"
    blocks.append(context(f"{answered} · question bank {report.bank_version} · 🔴 L1 🟠 L2 🟡 L3 🟢 L4"))
    text = "Your MLOps maturity: " + (
        f"Level {report.level} {level_name(report.level)} ({report.overall:.2f}/4)."
        if report.level is not None and report.overall is not None
        else "not scored."
    )
    if report.top is not None:
        top = report.top
        blocks.append(DividerBlock())
        blocks.append(
            section(
                f":dart: *Top recommendation: {top.dimension}* ({emoji(top.dimension_level)} L{top.dimension_level})\n"
                f"{top.advice}\n\n*Start with {top.step.title}:* {top.step.text}"
            )
        )
        text += f" Top recommendation ({top.dimension}): {top.step.text}"
    if report.further_steps:
        steps = "\n".join(f"• *{s.title}* ({s.dimension}): {s.text}" for s in report.further_steps)
        blocks.append(section(f"*Next steps*\n{steps}"))
    return Message(text, tuple(blocks))


def contradicted_line(verdict: QuestionVerdict) -> str:
    """ "⚠️ Rollback: you said 🟢 L4; #ml-platform's last 90 days measure 🟠 L2"."""
    e = verdict.evidence
    assert e is not None
    fits = f"{emoji(e.low)} L{e.low}" if e.low == e.high else f"{emoji(e.low)} L{e.low}-L{e.high}"
    said = verdict.said_level
    return (
        f":warning: *{verdict.title}*: you said {emoji(said)} L{said}; "
        f"<#{e.channel_id}>'s last {e.days} days measure {fits}"
    )


def measured_line(evidence: Evidence) -> str:
    """ "📊 measured in #team, last 90 days: …: fits L3-L4"."""
    fits = f"L{evidence.low}" if evidence.low == evidence.high else f"L{evidence.low}-L{evidence.high}"
    phrases = ", ".join(m.phrase for m in evidence.measurements)
    return f"📊 measured in <#{evidence.channel_id}>, last {evidence.days} days: {phrases}: fits {fits}"


def history_lines(entries: Sequence[HistoryEntry]) -> str:
    lines = []
    for e in entries:
        score = "not scored" if e.overall is None else f"{e.overall:.2f}"
        delta = change_text(e.change)
        lines.append(f"{emoji(e.level)} {date_text(e.completed_at)} · {score}" + (f"  {delta}" if delta else ""))
    return "\n".join(lines)


def build_history_message(entries: Sequence[HistoryEntry]) -> Message:
    if not entries:
        return build_text_message("You have no completed assessments yet. Run `/compass start` to take one.")
    text = f"Your last {len(entries)} MLOps Compass result(s)"
    return Message(text, (section(f"*{text}*\n{history_lines(entries)}"),))
