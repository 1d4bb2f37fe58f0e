"""`compass report [--chart FILE.png] [--json]` and `compass history --chart FILE.png` in the terminal."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import SMALL_BANK

from bot.cli.main import main

USER = "ada"
QUESTIONS = [q["id"] for q in json.loads(SMALL_BANK.read_text(encoding="utf-8"))["questions"]]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str | None]:
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'compass.db'}",
        "HOME": str(tmp_path),
        "COMPASS_QUESTIONS": str(SMALL_BANK),
        "NO_COLOR": "1",
        "COLUMNS": "100",
    }


def compass(env: dict[str, str | None], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def assess(env: dict[str, str | None], tmp_path: Path, level: int) -> None:
    answers = tmp_path / f"answers{level}.json"
    answers.write_text(json.dumps(dict.fromkeys(QUESTIONS, level)), encoding="utf-8")
    assert compass(env, "assess", "--answers", str(answers), "--user", USER).exit_code == 0


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_report_without_results_says_so(env: dict[str, str | None]) -> None:
    result = compass(env, "report", "--user", USER)
    assert result.exit_code == 1 and "no completed assessment" in result.stderr


def test_report_prints_the_latest_and_draws_its_radar_with_the_previous(
    env: dict[str, str | None], tmp_path: Path
) -> None:
    assess(env, tmp_path, 1)
    assess(env, tmp_path, 3)
    chart = tmp_path / "radar.png"
    result = compass(env, "report", "--user", USER, "--json", "--chart", str(chart))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["level"] == 3 and data["change"] == 2.0
    assert png_size(chart) == (800, 800)
    assert "Chart written to" in result.stderr and "3.00 (L3), previous 1.00" in result.stderr
    text = compass(env, "report", "--user", USER)
    assert text.exit_code == 0 and "Overall: L3" in text.stdout and "▲ +2.00" in text.stdout


def test_history_draws_the_trend_of_overall_and_each_dimension(env: dict[str, str | None], tmp_path: Path) -> None:
    for level in (1, 2, 4):
        assess(env, tmp_path, level)
    chart = tmp_path / "trend.png"
    result = compass(env, "history", "--user", USER, "--chart", str(chart))
    assert result.exit_code == 0, result.output
    assert png_size(chart) == (800, 800)
    assert "Overall: 1.00, 2.00, 4.00" in result.stderr and "Data: 1.00, 2.00, 4.00" in result.stderr


def test_an_unwritable_chart_path_is_one_line(env: dict[str, str | None], tmp_path: Path) -> None:
    assess(env, tmp_path, 2)
    result = compass(env, "report", "--user", USER, "--chart", str(tmp_path / "missing" / "radar.png"))
    assert result.exit_code == 1 and "cannot write the chart" in result.stderr
