"""What a chart shows, as plain data, and its alt text: the numbers, so a screen reader misses nothing.

Scores are on the 1-4 scale of the levels (``bot.domain.levels``); a level is a score too. This
module needs no plotting library: ``bot.charts.render`` turns the data into a PNG.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.domain.digest import TREND_PERIODS, Digest, PeriodFigures, TeamsOverview
from bot.domain.levels import level_for
from bot.domain.report import Report
from bot.domain.team_session import SessionScores

# files.getUploadURLExternal refuses a longer alt text (alt_txt_too_large).
MAX_ALT_TEXT = 1000
MAX_TREND_PERIODS = TREND_PERIODS  # the scheduler reads as many digests from the history (bot.app)
HEATMAP_PAGE = 20  # teams in one heat-map image: 25 rows took ~150-180 ms to draw, over the 150 ms target


@dataclass(frozen=True)
class Chart:
    """A rendered chart: the PNG and what to upload with it."""

    png: bytes
    alt_text: str
    title: str
    filename: str
    width: int  # pixels
    height: int


@dataclass(frozen=True)
class RadarAxis:
    """One dimension of a radar chart."""

    dimension_id: str
    name: str
    score: float | None  # None: not scored (every answer 'not applicable')
    previous: float | None = None  # the person's previous result, drawn as a second outline
    low: float | None = None  # a team's band: the lowest and the highest member's score
    high: float | None = None


@dataclass(frozen=True)
class RadarData:
    title: str
    axes: tuple[RadarAxis, ...]
    overall: float | None = None
    level: int | None = None
    label: str = "This result"
    previous_label: str = "Previous result"
    band: bool = False  # draw low-high as a band: only for a team that meets the respondent threshold


@dataclass(frozen=True)
class TrendLine:
    """One dimension's scores, one per period of ``TrendData.periods`` (None: no score that period)."""

    dimension_id: str
    name: str
    scores: tuple[float | None, ...]
    bold: bool = False  # drawn thicker: the overall line


@dataclass(frozen=True)
class TargetMarker:
    """A team's target for one dimension: the level, and by when (a period label such as "2027-Q2")."""

    dimension_id: str
    level: int
    by: str | None = None


@dataclass(frozen=True)
class AgreedMarker:
    """A level a team session agreed for one dimension, drawn at the period it falls in (the first
    whose label is on or after the session's day)."""

    dimension_id: str
    period: int  # an index into TrendData.periods
    score: float
    on: str  # the session's day, YYYY-MM-DD


@dataclass(frozen=True)
class TrendData:
    title: str
    periods: tuple[str, ...]  # labels, oldest first; only the last MAX_TREND_PERIODS are drawn
    lines: tuple[TrendLine, ...]
    targets: tuple[TargetMarker, ...] = ()
    agreed: tuple[AgreedMarker, ...] = ()


@dataclass(frozen=True)
class HeatmapRow:
    team: str
    levels: tuple[int | None, ...] | None  # one per dimension (None: not scored); None: too few answers


@dataclass(frozen=True)
class HeatmapData:
    title: str
    dimensions: tuple[str, ...]  # the columns' names
    rows: tuple[HeatmapRow, ...]


NOT_ENOUGH = "not enough answers"


def heatmap_pages(data: HeatmapData, size: int = HEATMAP_PAGE) -> tuple[HeatmapData, ...]:
    """The heat map split into images of at most ``size`` teams, titled "(teams 26-50 of 200)"."""
    rows = data.rows
    if len(rows) <= size:
        return (data,)
    return tuple(
        HeatmapData(
            f"{data.title} (teams {i + 1}-{min(i + size, len(rows))} of {len(rows)})",
            data.dimensions,
            rows[i : i + size],
        )
        for i in range(0, len(rows), size)
    )


def score_text(score: float | None) -> str:
    return "not scored" if score is None else f"{score:.2f} (L{level_for(score)})"


def clip_parts(head: str, parts: Sequence[str], what: str, limit: int = MAX_ALT_TEXT) -> str:
    """``head`` and as many ``parts`` as fit in ``limit`` characters, then how many were left out."""
    text = head
    for i, part in enumerate(parts):
        after = len(parts) - i - 1
        reserve = len(f" … and {after} more {what}.") if after else 0
        if len(text) + 1 + len(part) + reserve > limit:
            return (text + f" … and {len(parts) - i} more {what}.")[:limit]
        text += " " + part
    return text[:limit]


def radar_alt_text(data: RadarData) -> str:
    head = f"Radar chart: {data.title}."
    if data.overall is not None:
        head += f" Overall {score_text(data.overall)}."
    if data.band:
        head += " The band spans the lowest to the highest member's score."
    parts = []
    for a in data.axes:
        part = f"{a.name}: {score_text(a.score)}"
        extra = []
        if a.previous is not None:
            extra.append(f"previous {a.previous:.2f}")
        if data.band and a.low is not None and a.high is not None:
            extra.append(f"range {a.low:.2f}-{a.high:.2f}")
        parts.append(part + (f", {', '.join(extra)}" if extra else "") + ";")
    if not parts:
        parts = ["No dimensions to show."]
    return clip_parts(head, parts, "dimensions")


def _figure(score: float | None) -> str:
    return "-" if score is None else f"{score:.2f}"


def trend_alt_text(data: TrendData) -> str:
    periods = data.periods[-MAX_TREND_PERIODS:]
    if not periods or not data.lines:
        return f"Trend chart: {data.title}. No results yet."
    head = f"Trend chart: {data.title}, {len(periods)} period(s) from {periods[0]} to {periods[-1]}."
    targets = {t.dimension_id: t for t in data.targets}
    parts = []
    for line in data.lines:
        scores = line.scores[-len(periods) :]
        part = f"{line.name}: {', '.join(_figure(s) for s in scores)}"
        target = targets.get(line.dimension_id)
        if target is not None:
            part += f" (target L{target.level}" + (f" by {target.by}" if target.by else "") + ")"
        parts.append(part + ";")
    names = {line.dimension_id: line.name for line in data.lines}
    shown = [m for m in data.agreed if m.period >= len(data.periods) - len(periods)]
    if shown:
        said = ", ".join(f"{names.get(m.dimension_id, m.dimension_id)} {m.score:.2f} on {m.on}" for m in shown)
        parts.append(f"Agreed in sessions (diamonds): {said};")
    return clip_parts(head, parts, "dimensions")


def heatmap_alt_text(data: HeatmapData) -> str:
    head = f"Heat map: {data.title}, {len(data.rows)} team(s) by {len(data.dimensions)} dimension(s)"
    head += f" ({', '.join(data.dimensions)}), levels 1-4."
    parts = []
    for row in data.rows:
        if row.levels is None:
            parts.append(f"{row.team}: {NOT_ENOUGH};")
        else:
            parts.append(f"{row.team}: {' '.join('-' if v is None else f'L{v}' for v in row.levels)};")
    if not parts:
        parts = ["No teams to show."]
    return clip_parts(head, parts, "teams")


def radar_for_report(report: Report, previous: Report | None = None, title: str = "Your MLOps maturity") -> RadarData:
    """A person's radar: this report's scores, with ``previous`` (their result before) as a second outline."""
    before = {d.id: d.score for d in previous.dimensions} if previous is not None else {}
    label = f"This result ({report.completed_at:%b %-d, %Y})" if report.completed_at else "This result"
    previous_label = (
        f"Previous ({previous.completed_at:%b %-d, %Y})" if previous and previous.completed_at else "Previous result"
    )
    return RadarData(
        title=title,
        axes=tuple(RadarAxis(d.id, d.name, d.score, before.get(d.id)) for d in report.dimensions),
        overall=report.overall,
        level=report.level,
        label=label,
        previous_label=previous_label,
    )


def trend_for_reports(reports: Iterable[Report], title: str = "Your MLOps maturity over time") -> TrendData:
    """A person's trend from their reports, oldest first: overall and each dimension (the latest's first)."""
    ordered = list(reports)[-MAX_TREND_PERIODS:]
    names: dict[str, str] = {}
    for r in reversed(ordered):  # the newest name of each dimension, the newest report's order first
        for d in r.dimensions:
            names.setdefault(d.id, d.name)
    periods = tuple(f"{r.completed_at:%Y-%m-%d}" if r.completed_at else f"#{i + 1}" for i, r in enumerate(ordered))
    overall = TrendLine("overall", "Overall", tuple(r.overall for r in ordered), bold=True)
    by_id = [{d.id: d.score for d in r.dimensions} for r in ordered]
    lines = tuple(TrendLine(i, name, tuple(scores.get(i) for scores in by_id)) for i, name in names.items())
    return TrendData(title, periods, (overall, *lines) if ordered else ())


def trend_for_team(
    digest: Digest,
    history: Sequence[PeriodFigures],
    label: str,
    title: str = "Team MLOps maturity over time",
    sessions: Sequence[SessionScores] = (),
) -> TrendData:
    """A team's trend: the digest periods in ``history`` (oldest first, a period under the threshold
    without figures) and ``digest`` (labelled ``label``) last, overall and each dimension of the
    digest in its order, with its targets as markers (by their quarter) and what its ``sessions``
    agreed as markers at the period each falls in (the newest session's, when two fall in one).
    Period labels are days (YYYY-MM-DD); a session before the first period is drawn at it (``sessions``
    are those since the period before it began, or within the cadence when there is no history)."""
    periods = [*history[-(MAX_TREND_PERIODS - 1) :], PeriodFigures(label, True)]
    now = {d.id: d.mean for d in digest.dimensions}
    by_period = [dict(p.dimensions) if p.shown else {} for p in periods[:-1]] + [now]
    overall = [p.overall if p.shown else None for p in periods[:-1]] + [digest.overall]
    lines = [TrendLine("overall", "Overall", tuple(overall), bold=True)]
    lines += [TrendLine(d.id, d.name, tuple(scores.get(d.id) for scores in by_period)) for d in digest.dimensions]
    targets = tuple(TargetMarker(t.dimension_id, t.level, t.by) for t in digest.targets)
    labels = tuple(p.label for p in periods)
    return TrendData(title, labels, tuple(lines), targets, _agreed_markers(labels, digest, sessions))


def _agreed_markers(
    labels: Sequence[str], digest: Digest, sessions: Sequence[SessionScores]
) -> tuple[AgreedMarker, ...]:
    drawn = {d.id for d in digest.dimensions}
    found: dict[tuple[str, int], AgreedMarker] = {}
    for s in sessions:  # oldest first: a newer session in the same period replaces an older one
        day = s.on.isoformat()
        period = next((i for i, label in enumerate(labels) if label >= day), len(labels) - 1)
        for dimension_id, score in s.scores:
            if dimension_id in drawn:
                found[(dimension_id, period)] = AgreedMarker(dimension_id, period, score, day)
    return tuple(sorted(found.values(), key=lambda m: (m.period, m.dimension_id)))


def radar_for_team(digest: Digest, title: str = "Your team now") -> RadarData:
    """A team's radar: the team mean per dimension, the lowest to the highest member's score as the band.
    Only for a digest over the respondent threshold (under it, a digest carries no figures)."""
    if not digest.visible:
        raise ValueError("a team under the respondent threshold gets no chart")
    return RadarData(
        title=title,
        axes=tuple(RadarAxis(d.id, d.name, d.mean, low=d.low, high=d.high) for d in digest.dimensions),
        overall=digest.overall,
        level=digest.level,
        label=f"Team mean ({digest.respondents} people)",
        band=True,
    )


def heatmap_for_overview(
    overview: TeamsOverview, names: dict[str, str], title: str = "Teams at a glance"
) -> HeatmapData:
    """The grid of `/compass teams` as a heat map: a team by its channel's name (``names``, else its id),
    one level per dimension; a team under the threshold without any."""
    rows = tuple(
        HeatmapRow(names.get(r.channel_id, r.channel_id), tuple(r.levels) if r.visible else None) for r in overview.rows
    )
    return HeatmapData(title, overview.dimensions, rows)
