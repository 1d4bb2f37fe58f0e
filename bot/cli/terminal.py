"""Rendering and prompting for ``compass assess`` in a terminal (rich does colors and bars)."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console, Group
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from bot.app.types import HistoryEntry, Progress
from bot.config import no_color_from_env
from bot.domain.levels import level_for, level_name
from bot.domain.questionnaire import Question
from bot.domain.report import Report

LEVEL_STYLE = {1: "bold red", 2: "bold dark_orange", 3: "bold yellow", 4: "bold green"}
NA_KEYS = ("n", "na", "n/a")
BACK_KEYS = ("b", "back")


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
    """One question with numbered options and a progress bar."""
    q = progress.question
    assert q is not None
    bar = Table.grid(padding=(0, 1))
    bar.add_row(
        ProgressBar(total=progress.total, completed=progress.position, width=30),
        Text(f"Question {progress.number} of {progress.total} · {progress.dimension_name}"),
    )
    body = Text()
    body.append(f"{q.title}\n", style="bold")
    body.append(f"{q.text}\n\n")
    for option in q.options:
        marker = " (your earlier answer)" if progress.previous_answer == option.level else ""
        body.append(f"  {option.level}. ", style=LEVEL_STYLE[option.level])
        body.append(f"{option.label}: ", style="bold")
        body.append(f"{option.text}{marker}\n")
    if q.allow_na:
        body.append("  n. ", style="dim")
        body.append("Not applicable to us\n")
    return Group(bar, body)


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


def _bar(score: float | None, width: int = 20) -> Text:
    if score is None:
        return Text("·" * width, style="dim")
    filled = round((score - 1) / 3 * width)
    level = level_for(score)
    return Text("█" * filled, style=LEVEL_STYLE[level].replace("bold ", "")) + Text("░" * (width - filled), style="dim")


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
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("Dimension")
    table.add_column("Score", justify="right")
    table.add_column("")
    table.add_column("Level", no_wrap=True)
    table.add_column("Change", no_wrap=True)
    for d in report.dimensions:
        table.add_row(
            d.name,
            "-" if d.score is None else f"{d.score:.2f}",
            _bar(d.score),
            _level_text(d.level),
            _change_text(d.change),
        )
    parts.append(table)
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
        steps = Text("Next steps\n", style="bold")
        for step in report.further_steps:
            steps.append(f"  • {step.title} ({step.dimension}): ", style="bold")
            steps.append(f"{step.text}\n")
        parts.append(steps)
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
        stderr=stderr, highlight=False, soft_wrap=False, no_color=plain or None, color_system=None if plain else "auto"
    )
