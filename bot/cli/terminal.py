"""Rendering and prompting for ``compass assess`` in a terminal (rich does colors and bars)."""

from __future__ import annotations

import shutil
from datetime import datetime

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from bot.app.types import HistoryEntry, Progress
from bot.config import no_color_from_env
from bot.domain.levels import level_for, level_name
from bot.domain.questionnaire import Question
from bot.domain.report import DimensionResult, Report

LEVEL_STYLE = {1: "bold red", 2: "bold dark_orange", 3: "bold yellow", 4: "bold green"}
NA_KEYS = ("n", "na", "n/a")
BACK_KEYS = ("b", "back")

# Everything is laid out for 80 columns, narrower when the terminal is; a wider one gets the same
# 80 (prose reads better so). A dimension row: name 28, score 5, bar 12, level 23 ("L4
# Optimized/Autonomous"), change 7 ("▼ -1.25"), one space between them: 79 columns.
LAYOUT_WIDTH = 80
NAME_WIDTH = 28
SCORE_WIDTH = 5  # the header "Score"; values are " 2.33"
BAR_WIDTH = 12  # a quarter of a level per cell
LEVEL_WIDTH = 23
CHANGE_WIDTH = 7


def layout_width() -> int:
    """The width to lay out for: the terminal's (COLUMNS, else the real one), at most 80."""
    return min(LAYOUT_WIDTH, shutil.get_terminal_size((LAYOUT_WIDTH, 24)).columns)


class Hanging:
    """``prefix`` and then ``body`` word-wrapped, its further lines indented under the body's start."""

    def __init__(self, prefix: str | Text, body: Text) -> None:
        self.prefix = Text(prefix) if isinstance(prefix, str) else prefix
        self.body = body

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        indent = self.prefix.cell_len
        lines = self.body.wrap(console, max(options.max_width - indent, 10))
        for i, line in enumerate(lines):
            line.rstrip()
            yield (self.prefix.copy() if i == 0 else Text(" " * indent)) + line


def _level_text(level: int | None) -> Text:
    if level is None:
        return Text("not scored", style="dim")
    return Text(f"L{level} {level_name(level)}", style=LEVEL_STYLE[level])


def _change_text(change: float | None) -> Text:
    if change is None or abs(change) < 0.005:
        return Text("" if change is None else "= 0.00", style="dim")
    if change > 0:
        return Text(f"▲ +{change:.2f}", style="green")
    return Text(f"▼ {change:.2f}", style="red")


def render_question(progress: Progress) -> Group:
    """One question with numbered options (wrapped under their text) and a progress bar."""
    q = progress.question
    assert q is not None
    bar = Table.grid(padding=(0, 1))
    bar.add_row(
        ProgressBar(total=progress.total, completed=progress.position, width=20),
        Text(f"Question {progress.number} of {progress.total} · {progress.dimension_name}"),
    )
    intro = Text()
    intro.append(f"{q.title}\n", style="bold")
    intro.append(f"{q.text}\n")
    parts: list[Table | Text | Hanging] = [bar, intro]
    for option in q.options:
        marker = " (your earlier answer)" if progress.previous_answer == option.level else ""
        body = Text()
        body.append(f"{option.label}: ", style="bold")
        body.append(f"{option.text}{marker}")
        parts.append(Hanging(Text(f"  {option.level}. ", style=LEVEL_STYLE[option.level]), body))
    if q.allow_na:
        parts.append(Hanging(Text("  n. ", style="dim"), Text("Not applicable to us")))
    return Group(*parts)


def prompt_hint(question: Question, can_go_back: bool) -> str:
    keys = "1-4"
    if question.allow_na:
        keys += ", n = not applicable"
    if can_go_back:
        keys += ", b = back"
    return f"Your answer ({keys})"


def parse_key(raw: str, question: Question, can_go_back: bool) -> int | None | str:
    """A level 1-4, None for N/A, "back", or "" when the key means nothing here."""
    key = raw.strip().lower()
    if key in ("1", "2", "3", "4"):
        return int(key)
    if key in NA_KEYS and question.allow_na:
        return None
    if key in BACK_KEYS and can_go_back:
        return "back"
    return ""


def _bar(score: float | None, width: int = BAR_WIDTH) -> Text:
    if score is None:
        return Text("·" * width, style="dim")
    filled = round((score - 1) / 3 * width)
    level = level_for(score)
    return Text("█" * filled, style=LEVEL_STYLE[level].replace("bold ", "")) + Text("░" * (width - filled), style="dim")


class DimensionTable:
    """One line per dimension: name, score, bar, level, change, in fixed widths for the console's width.

    A long name is cut with "…" rather than wrapped over several lines; on a console narrower
    than 80 columns the name and the bar give up the room.
    """

    def __init__(self, dimensions: tuple[DimensionResult, ...]) -> None:
        self.dimensions = dimensions

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        fixed = SCORE_WIDTH + LEVEL_WIDTH + CHANGE_WIDTH + 4  # and a space after each column
        spare = options.max_width - 1 - fixed
        bar_width = max(4, min(BAR_WIDTH, spare // 3))
        name_width = max(8, min(NAME_WIDTH, spare - bar_width))
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False, padding=(0, 1, 0, 0))
        table.add_column("Dimension", width=name_width, no_wrap=True, overflow="ellipsis")
        table.add_column("Score", width=SCORE_WIDTH, justify="right", no_wrap=True)
        table.add_column("", width=bar_width, no_wrap=True)
        table.add_column("Level", width=LEVEL_WIDTH, no_wrap=True, overflow="ellipsis")
        table.add_column("Change", width=CHANGE_WIDTH, no_wrap=True)
        for d in self.dimensions:
            table.add_row(
                d.name,
                "-" if d.score is None else f"{d.score:.2f}",
                _bar(d.score, bar_width),
                _level_text(d.level),
                _change_text(d.change),
            )
        yield table


def render_report(report: Report) -> Group:
    """The full report: dimensions with colored bars, overall level, what to do next."""
    parts: list[object] = []
    headline = Text("Overall: ", style="bold")
    headline += _level_text(report.level)
    if report.overall is not None:
        headline += Text(f"  ({report.overall:.2f} / 4)")
    if report.change is not None:
        headline += Text("  ") + _change_text(report.change)
    parts.append(headline)
    parts.append(
        Text(
            f"{report.answered} of {report.total} questions answered"
            + (f", {report.not_applicable} not applicable" if report.not_applicable else ""),
            style="dim",
        )
    )
    parts.append(DimensionTable(report.dimensions))
    if report.top is not None:
        top = Text()
        top.append("Top recommendation: ", style="bold")
        top.append(f"{report.top.dimension} is your weakest dimension ")
        top += _level_text(report.top.dimension_level)
        top.append(f".\n{report.top.advice}\n\n")
        top.append("Start with ", style="bold")
        top.append(f"{report.top.step.title}: ", style="bold")
        top.append(report.top.step.text)
        parts.append(Panel(top, border_style="cyan"))
    if report.further_steps:
        parts.append(Text("Next steps", style="bold"))
        for step in report.further_steps:
            body = Text(f"{step.title} ({step.dimension}): ", style="bold")
            body.append(step.text)
            parts.append(Hanging("  • ", body))
    return Group(*parts)  # type: ignore[arg-type]


def render_history(entries: list[HistoryEntry]) -> Table:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("Completed")
    table.add_column("Overall", justify="right")
    table.add_column("Level")
    table.add_column("Change")
    table.add_column("Bank")
    for e in entries:
        table.add_row(
            _date(e.completed_at),
            "-" if e.overall is None else f"{e.overall:.2f}",
            _level_text(e.level),
            _change_text(e.change),
            e.bank_version,
        )
    return table


def _date(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC")


def make_console(stderr: bool = False) -> Console:
    # rich drops styling when output is not a terminal, but under NO_COLOR it only
    # removes colors and still writes bold and dim escapes; no color system at all
    # makes the output plain text.
    plain = no_color_from_env()
    return Console(
        stderr=stderr,
        highlight=False,
        soft_wrap=False,
        no_color=plain or None,
        color_system=None if plain else "auto",
        width=layout_width(),
    )
