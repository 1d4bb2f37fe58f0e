"""Charts: structure, not pixels (PNG signature, size, dimensions, identical bytes for the same data,
the numbers in the alt text), and the web process never importing the plotting library."""

from __future__ import annotations

import struct
import subprocess
import sys
from datetime import UTC, date, datetime

import pytest

from bot.charts import render
from bot.charts.data import (
    HEATMAP_PAGE,
    MAX_ALT_TEXT,
    HeatmapData,
    HeatmapRow,
    RadarAxis,
    RadarData,
    TargetMarker,
    TrendData,
    TrendLine,
    heatmap_pages,
    radar_for_report,
    trend_for_reports,
    trend_for_team,
)
from bot.domain.digest import Digest, PeriodFigures, TeamDimension
from bot.domain.levels import LEVEL_COLOURS, LEVEL_EMOJI
from bot.domain.report import DimensionResult, Report
from bot.domain.team_session import SessionScores

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DIMENSIONS = (
    ("data", "Data & Experimentation Management"),
    ("deployment", "Model Deployment & Integration"),
    ("monitoring", "Monitoring & Governance"),
    ("team", "Team Collaboration & Culture"),
    ("responsible", "Responsible AI & Risk"),
)


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == PNG_SIGNATURE
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def report(scores: list[float | None], when: datetime) -> Report:
    dims = tuple(
        DimensionResult(i, name, s, None if s is None else round(s), 3, 3)
        for (i, name), s in zip(DIMENSIONS, scores, strict=False)
    )
    known = [s for s in scores if s is not None]
    overall = sum(known) / len(known) if known else None
    return Report(overall, None if overall is None else round(overall), dims, 9, 0, 9, None, (), "1", completed_at=when)


def person_radar() -> RadarData:
    now, before = datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 9, 1, tzinfo=UTC)
    return radar_for_report(report([3.25, 2.0, 1.4, 3.8, None], now), report([2.5, 2.0, 1.0, 3.0, 2.0], before))


def team_trend() -> TrendData:
    periods = tuple(f"2026-{m:02d}" for m in range(1, 11))  # ten: only the last eight are drawn
    lines = tuple(
        TrendLine(i, name, tuple(min(4.0, 1.0 + 0.25 * k + 0.1 * n) for k in range(10)))
        for n, (i, name) in enumerate(DIMENSIONS)
    )
    return TrendData("Team #ml-platform", periods, lines, (TargetMarker("monitoring", 3, "2027-Q2"),))


def teams(count: int) -> HeatmapData:
    rows = tuple(
        HeatmapRow(f"#team-{n}", None if n % 4 == 0 else tuple((n + k) % 4 + 1 for k in range(5))) for n in range(count)
    )
    return HeatmapData("Every team", tuple(name for _, name in DIMENSIONS), rows)


def test_level_colours_and_emoji_share_one_table() -> None:
    assert set(LEVEL_COLOURS) == set(LEVEL_EMOJI) == {1, 2, 3, 4}


def test_a_persons_radar_is_a_png_at_preview_friendly_size_with_the_scores_in_its_alt_text() -> None:
    chart = render.radar(person_radar())
    assert png_size(chart.png) == (chart.width, chart.height) == (800, 800)
    assert 10_000 < len(chart.png) < 500_000
    assert chart.filename.endswith(".png")
    alt = chart.alt_text
    assert "Data & Experimentation Management: 3.25 (L3), previous 2.50" in alt
    assert "Monitoring & Governance: 1.40 (L1), previous 1.00" in alt
    assert "Responsible AI & Risk: not scored, previous 2.00" in alt
    assert "Overall 2.61 (L3)" in alt
    assert len(alt) <= MAX_ALT_TEXT


def test_the_same_data_gives_the_same_bytes_and_no_software_or_time_stamp() -> None:
    for make, data in ((render.radar, person_radar()), (render.trend, team_trend()), (render.heatmap, teams(6))):
        first, second = make(data), make(data)  # type: ignore[operator]
        assert first.png == second.png
        assert b"tIME" not in first.png and b"Software" not in first.png and b"matplotlib" not in first.png


def test_a_teams_radar_shows_its_band_only_when_asked() -> None:
    axes = tuple(RadarAxis(i, name, 2.5, low=1.5, high=3.5) for i, name in DIMENSIONS)
    with_band = render.radar(RadarData("Team", axes, overall=2.5, level=3, label="Team mean", band=True))
    without = render.radar(RadarData("Team", axes, overall=2.5, level=3, label="Team mean"))
    assert with_band.png != without.png
    assert "range 1.50-3.50" in with_band.alt_text and "range" not in without.alt_text


@pytest.mark.parametrize("count", [0, 1, 2])
def test_empty_and_one_dimension_radars_render(count: int) -> None:
    axes = tuple(RadarAxis(i, name, 2.0) for i, name in DIMENSIONS[:count])
    chart = render.radar(RadarData("Few", axes))
    assert png_size(chart.png) == (800, 800)
    assert ("No dimensions" in chart.alt_text) == (count == 0)


def test_the_trend_keeps_the_last_eight_periods_and_names_the_targets() -> None:
    chart = render.trend(team_trend())
    assert png_size(chart.png) == (800, 800)
    alt = chart.alt_text
    assert "8 period(s) from 2026-03 to 2026-10" in alt
    assert "Monitoring & Governance: 1.70, 1.95" in alt and "(target L3 by 2027-Q2)" in alt


def test_a_trend_of_one_period_or_none_renders() -> None:
    one = render.trend(TrendData("One", ("2026-01-01",), (TrendLine("overall", "Overall", (2.5,), bold=True),)))
    assert png_size(one.png) == (800, 800) and "Overall: 2.50" in one.alt_text
    empty = render.trend(TrendData("None", (), ()))
    assert png_size(empty.png) == (800, 800) and "No results yet" in empty.alt_text


def test_a_teams_trend_marks_each_sessions_agreed_scores_at_the_period_it_falls_in() -> None:
    dims = (
        TeamDimension("data", "Data", 2.0, 2, (0, 4, 0, 0), None),
        TeamDimension("ops", "Ops", 3.0, 3, (0, 0, 4, 0), None),
    )
    digest = Digest("December", 5, 4, 3, overall=2.5, level=3, dimensions=dims)
    history = (PeriodFigures("2026-11-01", True, 2.0, (("data", 1.5),)), PeriodFigures("2026-11-15", False))
    sessions = (
        SessionScores(date(2026, 10, 20), (("data", 1.0),)),  # before the first period: drawn at it
        SessionScores(date(2026, 11, 10), (("data", 2.5), ("gone", 4.0))),  # a dimension the digest lacks
        SessionScores(date(2026, 11, 20), (("ops", 2.0),)),
        SessionScores(date(2026, 11, 25), (("ops", 3.5),)),  # the same period: the newer one is drawn
    )
    data = trend_for_team(digest, history, "2026-12-01", sessions=sessions)
    assert [(m.dimension_id, m.period, m.score, m.on) for m in data.agreed] == [
        ("data", 0, 1.0, "2026-10-20"),
        ("data", 1, 2.5, "2026-11-10"),
        ("ops", 2, 3.5, "2026-11-25"),
    ]
    chart = render.trend(data)
    assert png_size(chart.png) == (800, 800)
    assert (
        "Agreed in sessions (diamonds): Data 1.00 on 2026-10-20, Data 2.50 on 2026-11-10, Ops 3.50 on 2026-11-25;"
        in chart.alt_text
    )


def test_a_persons_trend_from_reports_has_overall_and_each_dimension() -> None:
    reports = [report([1.0 + k / 2] * 5, datetime(2026, k + 1, 1, tzinfo=UTC)) for k in range(4)]
    data = trend_for_reports(reports)
    assert data.periods == ("2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01")
    assert [line.dimension_id for line in data.lines] == ["overall", *(i for i, _ in DIMENSIONS)]
    assert data.lines[0].scores == (1.0, 1.5, 2.0, 2.5)
    assert "Overall: 1.00, 1.50, 2.00, 2.50" in render.trend(data).alt_text


def test_the_heat_map_greys_out_a_team_under_the_threshold_and_pages_long_lists() -> None:
    chart = render.heatmap(teams(5))
    width, height = png_size(chart.png)
    assert width == 800 and height > 400
    assert "#team-0: not enough answers" in chart.alt_text and "#team-1: L2 L3 L4 L1 L2" in chart.alt_text
    pages = heatmap_pages(teams(200))
    assert len(pages) == -(-200 // HEATMAP_PAGE) and all(len(p.rows) <= HEATMAP_PAGE for p in pages)
    assert pages[1].title == f"Every team (teams {HEATMAP_PAGE + 1}-{2 * HEATMAP_PAGE} of 200)"
    assert png_size(render.heatmap(pages[-1]).png)[0] == 800
    with pytest.raises(ValueError, match="heatmap_pages"):
        render.heatmap(teams(HEATMAP_PAGE + 1))
    assert png_size(render.heatmap(teams(0)).png) == (800, 400)


def test_a_long_alt_text_is_clipped_to_slacks_limit_saying_how_much_is_left_out() -> None:
    alt = render.heatmap(heatmap_pages(teams(200))[0]).alt_text
    assert len(alt) <= MAX_ALT_TEXT
    from bot.charts.data import heatmap_alt_text

    long = heatmap_alt_text(teams(200))
    assert len(long) <= MAX_ALT_TEXT and long.endswith("more teams.")


def test_the_web_process_never_imports_the_plotting_library() -> None:
    """What `compass serve` imports (the web app, the wiring with its handler table, the Bolt app)
    leaves matplotlib out: the worker imports it when it first renders a chart."""
    code = (
        "import sys\n"
        "import bot.cli.serve, bot.run.web, bot.run.wiring, bot.run.socket\n"
        "import bot.slack.work, bot.slack.listeners, bot.charts.data\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'numpy', 'PIL')"
        " or m == 'bot.charts.render')\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
