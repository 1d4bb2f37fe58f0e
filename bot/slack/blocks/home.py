"""App Home: the latest result, a short history, Start or Resume, the teams, about your data."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, DividerBlock, HeaderBlock
from slack_sdk.models.views import View

from bot.app.types import HistoryEntry, Progress
from bot.domain.digest import TeamsOverview
from bot.domain.report import Report
from bot.slack import ids
from bot.slack.blocks.common import (
    LEGEND,
    MAX_VIEW_BLOCKS,
    button,
    change_text,
    context,
    date_text,
    dimension_line,
    emoji,
    level_label,
    resume_button,
    section,
    start_over_button,
    validate_blocks,
)
from bot.slack.blocks.report import history_lines
from bot.slack.blocks.rights import DataPolicy, about_your_data_blocks
from bot.slack.blocks.team import teams_home_blocks
from bot.slack.ids import Action

HOME_HISTORY = 5


def build_home_view(
    report: Report | None,
    history: Sequence[HistoryEntry],
    progress: Progress | None,
    teams: TeamsOverview | None = None,
    policy: DataPolicy | None = None,
) -> View:
    """App Home: latest result with emoji levels, short history, Start/Resume, the teams at a glance and
    (``policy``) what is kept about the person."""
    blocks: list[Block] = [HeaderBlock(text="MLOps Compass")]
    if report is None and progress is None:
        blocks.append(
            section(
                "MLOps Compass asks about two dozen short questions on how your team handles data, deployment, "
                "monitoring, governance and collaboration, scores each dimension from 1 (ad-hoc) to 4 (autonomous), "
                "and names the one practice to improve next. It takes about 10 minutes; your answers stay private."
            )
        )
    buttons: list[ButtonElement] = []
    if progress is not None and progress.question is not None:
        blocks.append(section(f":hourglass_flowing_sand: You are at question {progress.number} of {progress.total}."))
        if progress.notice:
            blocks.append(context(progress.notice))
        buttons.append(resume_button(progress.assessment_id, progress.question.id, progress.number))
        buttons.append(start_over_button(progress.assessment_id, progress.question.id))
    else:
        label = "Start an assessment" if report is None else "Re-assess now"
        buttons.append(button(label, Action.START, ids.NO_REF, "primary"))
    blocks.append(ActionsBlock(elements=buttons, block_id=ids.Block.HOME_ACTIONS))
    if report is not None:
        blocks.append(DividerBlock())
        completed = f" ({date_text(report.completed_at)})" if report.completed_at else ""
        if report.level is not None and report.overall is not None:
            level = f"{emoji(report.level)} {level_label(report.level)}"
            head = f"*Latest result{completed}:* {level} ({report.overall:.2f} / 4)"
        else:
            head = f"*Latest result{completed}:* not scored"
        if report.change is not None:
            head += f"  {change_text(report.change)}"
        blocks.append(section(head))
        blocks.append(section("\n".join(dimension_line(d.name, d.score, d.level, d.change) for d in report.dimensions)))
        if report.top is not None:
            blocks.append(
                section(
                    f":dart: *Improve next:* {report.top.step.title} ({report.top.dimension}): {report.top.step.text}"
                )
            )
    if history:
        blocks.append(DividerBlock())
        blocks.append(section(f"*History*\n{history_lines(history[:HOME_HISTORY])}"))
    if teams is not None:
        blocks.extend(teams_home_blocks(teams))
    if policy is not None:
        blocks.extend(about_your_data_blocks(policy))
    blocks.append(context(LEGEND))
    view = View(type="home", blocks=blocks)
    validate_blocks(view.to_dict()["blocks"], limit=MAX_VIEW_BLOCKS, max_chars=None)
    return view
