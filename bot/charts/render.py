"""Charts from plain data (``bot.charts.data``) to PNG bytes, with matplotlib's Agg backend.

No pyplot: each chart is a ``matplotlib.figure.Figure`` on its own ``FigureCanvasAgg`` (the
headless raster backend, set on the figure rather than process-wide), dropped when the PNG is
written, so a long-running worker keeps no figure alive. The same data gives the same bytes:
the PNG carries no version string and Agg writes no timestamp. Sizes are for Slack's preview,
which shows an image some 360-400 px wide: an 800 px wide figure with large type.
"""

from __future__ import annotations

import io
import math
import textwrap
import threading
from collections.abc import Sequence
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from bot.charts.data import (
    HEATMAP_PAGE,
    MAX_TREND_PERIODS,
    NOT_ENOUGH,
    Chart,
    HeatmapData,
    RadarData,
    TrendData,
    heatmap_alt_text,
    radar_alt_text,
    score_text,
    trend_alt_text,
)
from bot.domain.levels import LEVEL_COLOURS, LEVEL_NAMES, LEVEL_THRESHOLDS, LEVELS, NO_LEVEL_COLOUR, level_for

DPI = 100
WIDTH = 8.0  # inches: 800 px
INK = "#1d3557"  # the app's colour (manifest.yml), for lines and titles
MUTED = "#555555"
# Dimensions' lines in the trend chart: distinct from each other and from the level bands behind them.
PALETTE = ("#1d3557", "#7b2cbf", "#0077b6", "#2a9d8f", "#6d597a", "#b5179e", "#3a5a40", "#8d5524")
PNG_METADATA: dict[str, Any] = {"Software": None}  # no matplotlib version in the file
# zlib level 3 instead of Pillow's 6: a fifth of a heat map's time for files some 10 % larger.
PNG_OPTIONS: dict[str, Any] = {"compress_level": 3}
# Matplotlib is not thread-safe (its font cache above all); a worker runs handlers in threads.
_LOCK = threading.Lock()


def _colour(level: int | None) -> str:
    return NO_LEVEL_COLOUR if level is None else LEVEL_COLOURS[level]


def _wrap(text: str, width: int) -> str:
    lines = textwrap.wrap(text, width, max_lines=3, placeholder="…", break_long_words=False)
    return "\n".join(lines) or text


def _figure(height: float) -> Figure:
    fig = Figure(figsize=(WIDTH, height), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def _chart(fig: Figure, alt_text: str, title: str, filename: str) -> Chart:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, facecolor="white", metadata=PNG_METADATA, pil_kwargs=PNG_OPTIONS)
    width, height = (round(v) for v in fig.get_size_inches() * DPI)
    fig.clear()
    return Chart(buffer.getvalue(), alt_text, title, filename, width, height)


def _title(fig: Figure, title: str, subtitle: str | None = None, top: float = 0.965) -> None:
    fig.text(0.5, top, _wrap(title, 48), ha="center", va="top", fontsize=22, fontweight="bold", color=INK)
    if subtitle:
        fig.text(0.5, top - 0.055, subtitle, ha="center", va="top", fontsize=16, color=MUTED)


def _empty(fig: Figure, text: str) -> None:
    fig.text(0.5, 0.5, text, ha="center", va="center", fontsize=18, color=MUTED)


def radar(data: RadarData) -> Chart:
    """A radar of the dimensions: the scores filled, the previous result dashed, a team's band shaded."""
    with _LOCK:
        return _chart(_radar(data), radar_alt_text(data), data.title, "compass-radar.png")


def _radar(data: RadarData) -> Figure:
    fig = _figure(WIDTH)
    subtitle = None
    if data.overall is not None:
        level = level_for(data.overall)
        subtitle = f"Overall {data.overall:.2f} / 4 · Level {level} {LEVEL_NAMES[level]}"
    _title(fig, data.title, subtitle)
    n = len(data.axes)
    if n == 0:
        _empty(fig, "No dimensions to show")
        return fig
    ax: Any = fig.add_axes((0.21, 0.16, 0.58, 0.58), projection="polar")
    ax.set_theta_offset(math.pi / 2)
    ax.set_theta_direction(-1)
    angles = [2 * math.pi * i / n for i in range(n)]
    closed = [*angles, angles[0]]

    def ring(values: Sequence[float | None]) -> list[float]:
        points = [math.nan if v is None else v for v in values]
        return [*points, points[0]]

    handles: list[Any] = []
    if data.band and any(a.low is not None and a.high is not None for a in data.axes):
        band = ax.fill_between(
            closed, ring([a.low for a in data.axes]), ring([a.high for a in data.axes]), color=INK, alpha=0.14, lw=0
        )
        band.set_label("Lowest to highest member")
        handles.append(band)
    if any(a.previous is not None for a in data.axes):
        (previous,) = ax.plot(
            closed, ring([a.previous for a in data.axes]), color=MUTED, lw=2.5, ls="--", label=data.previous_label
        )
        handles.append(previous)
    current = ring([a.score for a in data.axes])
    (line,) = ax.plot(closed, current, color=INK, lw=3, label=data.label)
    handles.insert(0, line)
    filled = [0.0 if math.isnan(v) else v for v in current]
    ax.fill(closed, filled, color=_colour(data.level), alpha=0.35, lw=0)
    scored = [(t, a.score) for t, a in zip(angles, data.axes, strict=True) if a.score is not None]
    if scored:
        ax.scatter(
            [t for t, _ in scored],
            [s for _, s in scored],
            s=170,
            c=[_colour(level_for(s)) for _, s in scored],
            edgecolors=INK,
            linewidths=1.5,
            zorder=3,
        )
    ax.set_ylim(0, 4)
    ax.set_yticks(list(LEVELS))
    ax.set_yticklabels([f"L{v}" for v in LEVELS], fontsize=13, color=MUTED)
    ax.set_rlabel_position(180 / n if n > 1 else 90)
    ax.set_xticks(angles)
    ax.set_xticklabels([f"{_wrap(a.name, 16)}\n{score_text(a.score)}" for a in data.axes], fontsize=14, color="#222222")
    ax.tick_params(axis="x", pad=26)
    ax.grid(color="#bbbbbb", lw=1)
    ax.spines["polar"].set_color("#bbbbbb")
    if len(handles) > 1:
        fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=14, frameon=False)
    return fig


def trend(data: TrendData) -> Chart:
    """Each dimension's score over the last periods (up to 8) on the level bands, targets as stars,
    the levels team sessions agreed as diamonds."""
    with _LOCK:
        return _chart(_trend(data), trend_alt_text(data), data.title, "compass-trend.png")


def _trend(data: TrendData) -> Figure:
    fig = _figure(WIDTH)
    _title(fig, data.title)
    periods = data.periods[-MAX_TREND_PERIODS:]
    if not periods or not data.lines:
        _empty(fig, "No results yet")
        return fig
    ax: Any = fig.add_axes((0.1, 0.31, 0.8, 0.57))
    # The level bands of bot.domain.levels, in the emoji's colours.
    edges = [1.0, *sorted(float(t) for t, _ in LEVEL_THRESHOLDS), 4.0]
    for level, (low, high) in zip(LEVELS, zip(edges, edges[1:], strict=False), strict=True):
        ax.axhspan(low, high, color=LEVEL_COLOURS[level], alpha=0.22, lw=0)
    n = len(periods)
    xs: list[float] = list(range(n))
    colours = {}
    for i, line in enumerate(data.lines):
        colour = PALETTE[i % len(PALETTE)]
        colours[line.dimension_id] = colour
        scores = [math.nan if s is None else s for s in line.scores[-n:]]
        scores = [math.nan] * (n - len(scores)) + scores
        ax.plot(
            xs[:n],
            scores,
            color=colour,
            lw=4.5 if line.bold else 2.5,
            marker="o",
            ms=9 if line.bold else 7,
            label=_wrap(line.name, 28),
            zorder=3,
        )
    offset = len(data.periods) - n  # the periods left out of the drawing
    agreed = [m for m in data.agreed if m.period >= offset]
    for j, marker in enumerate(agreed):
        ax.scatter(
            [marker.period - offset],
            [marker.score],
            marker="D",
            s=150,
            color=colours.get(marker.dimension_id, INK),
            edgecolors="black",
            linewidths=1.5,
            zorder=5,
            label="agreed in a session" if j == 0 else None,
        )
    labels = list(periods)
    if data.targets:
        slot = n - 1 + 0.9
        for j, target in enumerate(data.targets):
            x = periods.index(target.by) if target.by in periods else slot + 0.12 * (j - (len(data.targets) - 1) / 2)
            ax.scatter(
                [x],
                [target.level],
                marker="*",
                s=520,
                color=colours.get(target.dimension_id, INK),
                edgecolors="black",
                linewidths=1,
                zorder=4,
            )
        xs = [*xs, slot]
        labels.append("target")
    ax.set_xticks(xs)
    ax.set_xticklabels(labels, fontsize=13, rotation=30 if n > 3 else 0, ha="right" if n > 3 else "center")
    ax.set_xlim(-0.4, xs[-1] + 0.4)
    ax.set_ylim(1, 4.12)  # room for a star at level 4
    ax.set_yticks([1, 2, 3, 4])
    ax.set_yticklabels(["1", "2", "3", "4"], fontsize=13)
    ax.set_ylabel("score (1-4)", fontsize=14, color=MUTED)
    for level, (low, high) in zip(LEVELS, zip(edges, edges[1:], strict=False), strict=True):
        ax.text(
            1.01,
            (low + high) / 2,
            f"L{level}",
            transform=ax.get_yaxis_transform(),
            fontsize=14,
            fontweight="bold",
            color=MUTED,
            va="center",
        )
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="x", color="#dddddd")
    fig.legend(loc="lower center", ncol=2, fontsize=13, frameon=False, bbox_to_anchor=(0.5, 0.005))
    return fig


def heatmap(data: HeatmapData) -> Chart:
    """Teams × dimensions, each cell in its level's colour; a team under the threshold greyed out.

    At most ``HEATMAP_PAGE`` teams: more would not be readable in Slack's preview (nor render
    within 150 ms); ``bot.charts.data.heatmap_pages`` splits a longer list.
    """
    with _LOCK:
        return _chart(_heatmap(data), heatmap_alt_text(data), data.title, "compass-teams.png")


ROW_INCHES = 0.5
TOP_INCHES, BOTTOM_INCHES = 1.75, 0.9


def _heatmap(data: HeatmapData) -> Figure:
    rows, cols = len(data.rows), len(data.dimensions)
    if rows > HEATMAP_PAGE:
        raise ValueError(f"{rows} teams in one heat map; split them with heatmap_pages (at most {HEATMAP_PAGE})")
    body = rows * ROW_INCHES
    height = max(4.0, TOP_INCHES + BOTTOM_INCHES + body)
    fig = _figure(height)
    _title(fig, data.title, top=1 - 0.2 / height)
    if rows == 0 or cols == 0:
        _empty(fig, "No teams to show")
        return fig
    ax: Any = fig.add_axes((0.25, BOTTOM_INCHES / height, 0.72, body / height))
    grid = [[0 if r.levels is None or v is None else v for v in (r.levels or (None,) * cols)] for r in data.rows]
    colours = ListedColormap([NO_LEVEL_COLOUR, *(LEVEL_COLOURS[v] for v in LEVELS)])
    norm = BoundaryNorm([-0.5, 0.5, 1.5, 2.5, 3.5, 4.5], colours.N)
    # A mesh of flat cells, drawn as vectors: imshow would resample a raster at every render.
    ax.pcolormesh([x - 0.5 for x in range(cols + 1)], [y - 0.5 for y in range(rows + 1)], grid, cmap=colours, norm=norm)
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)  # the first team on top, as imshow had it
    # Labels as plain texts: a tick each would cost several milliseconds.
    ax.set_xticks([])
    ax.set_yticks([])
    for x, name in enumerate(data.dimensions):
        ax.text(x, -0.6, _wrap(name, 14), ha="center", va="bottom", fontsize=11)
    for y, row in enumerate(data.rows):
        ax.text(-0.6, y, row.team[:22], ha="right", va="center", fontsize=13)
    # White gaps between the cells: two line collections (minor ticks would cost a tick object each).
    ax.vlines([x + 0.5 for x in range(cols - 1)], -0.5, rows - 0.5, color="white", lw=2)
    ax.hlines([y + 0.5 for y in range(rows - 1)], -0.5, cols - 0.5, color="white", lw=2)
    for spine in ax.spines.values():
        spine.set_visible(False)
    cells: dict[int | None, list[tuple[int, int]]] = {}
    for y, row in enumerate(data.rows):
        if row.levels is None:
            ax.text((cols - 1) / 2, y, NOT_ENOUGH, ha="center", va="center", fontsize=13, color=MUTED)
        else:
            for x, value in enumerate(row.levels):
                cells.setdefault(value, []).append((x, y))
    # Each cell's level as a marker shaped like its text ("L3"): one collection per level draws
    # them all at once, where a text per cell would cost a millisecond each.
    for value, where in sorted(cells.items(), key=lambda kv: kv[0] or 0):
        label, size = ("-", 90) if value is None else (f"L{value}", 420)
        marker = rf"$\mathregular{{{label}}}$"
        ax.scatter([x for x, _ in where], [y for _, y in where], marker=marker, s=size, c="#222222", linewidths=0)
    legend = [Patch(color=LEVEL_COLOURS[v], label=f"L{v}") for v in LEVELS]
    legend.append(Patch(color=NO_LEVEL_COLOUR, label="no data"))
    fig.legend(handles=legend, loc="lower center", ncol=5, fontsize=13, frameon=False)
    return fig
