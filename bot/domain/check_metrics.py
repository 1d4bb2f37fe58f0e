"""Checks over a window (data validation, model tests, fairness, coverage): per check name, how often
it ran and passed and what its last run said; the band a pass rate falls in; and the question
bank's rules that turn a check into maturity levels.

The figures are computed in SQL (``bot/db/check_metrics.py``); this module names them and bands
them. No DORA or other published source bands pipeline checks: the bands are Compass's own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

# How the measured map (bot/domain/measured.py) and the bank's rules name a check: its pass-rate
# band under "check:<name>", its last value under "check value:<name>". A rule names a pattern,
# matched as a case-insensitive substring of the check's name.
CHECK_PREFIX = "check:"
VALUE_PREFIX = "check value:"

# Why these bands. A check that gates a merge or a release is kept green: at 90 % or more of its
# runs passing, a failure is the rare problem it exists to catch and gets fixed. Between half and
# 90 % it fails often enough that people learn to rerun or ignore it (flaky). Under half it is
# mostly red: it no longer gates anything. Under MIN_RUNS runs in the window a rate says little
# (one failure in four runs would read 75 %), so the check only shows that it exists.
PASSING_RATE = 0.9
FAILING_RATE = 0.5
MIN_RUNS = 5


class CheckBand(StrEnum):
    PASSING = "passing"  # at least MIN_RUNS runs, at least 90 % passed
    FLAKY = "flaky"  # at least MIN_RUNS runs, 50-90 % passed
    FAILING = "failing"  # at least MIN_RUNS runs, under 50 % passed
    FEW_RUNS = "few runs"  # it ran, but fewer than MIN_RUNS times


CHECK_BANDS = tuple(b.value for b in CheckBand)


def check_band(runs: int, passed: int) -> CheckBand:
    if runs < MIN_RUNS:
        return CheckBand.FEW_RUNS
    rate = passed / runs
    if rate >= PASSING_RATE:
        return CheckBand.PASSING
    if rate >= FAILING_RATE:
        return CheckBand.FLAKY
    return CheckBand.FAILING


@dataclass(frozen=True)
class CheckFigures:
    """One check's runs in the window (at least one), and its latest run."""

    name: str
    runs: int
    passed: int
    last_at: datetime
    last_status: str  # passed or failed
    last_value: float | None = None  # what the latest run measured, when it sent a value

    @property
    def pass_rate(self) -> float:
        return self.passed / self.runs

    @property
    def band(self) -> CheckBand:
        return check_band(self.runs, self.passed)

    def as_json_dict(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "passed": self.passed,
            "pass_rate": round(self.pass_rate, 4),
            "band": self.band.value,
            "last_at": self.last_at.isoformat(),
            "last_status": self.last_status,
            "last_value": self.last_value,
        }


def is_check(metric: str) -> bool:
    """Whether a measurement's or a rule's metric names a check (its band or its value)."""
    return metric.startswith((CHECK_PREFIX, VALUE_PREFIX))


def find_measured(metric: str, measured: Mapping[str, Any]) -> Any:
    """What a rule's ``check:<pattern>`` or ``check value:<pattern>`` cites: the first measured check
    whose name contains the pattern, in any case (the measurements come most runs first); None
    for any other metric or when no check matches."""
    for prefix in (CHECK_PREFIX, VALUE_PREFIX):
        if metric.startswith(prefix):
            wanted = metric[len(prefix) :].casefold()
            for key, found in measured.items():
                if key.startswith(prefix) and wanted in key[len(prefix) :].casefold():
                    return found
    return None


class ValueLevels(Mapping[str, tuple[int, int]]):
    """A value rule's levels: the levels of the highest threshold a value reaches.

    Keyed by thresholds; looked up by a measured value (as text, a measurement's band), so that
    ``rule.levels[band]`` in bot/domain/evidence.weigh serves value rules as it serves bands.
    """

    def __init__(self, thresholds: Mapping[float, tuple[int, int]]) -> None:
        self._by_threshold = dict(sorted(thresholds.items(), reverse=True))

    def __getitem__(self, value: str) -> tuple[int, int]:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise KeyError(value) from None
        for threshold, span in self._by_threshold.items():
            if number >= threshold:
                return span
        raise KeyError(value)

    def __iter__(self) -> Iterator[str]:
        return (f"{t:g}" for t in self._by_threshold)

    def __len__(self) -> int:
        return len(self._by_threshold)


Span = Callable[[object], "tuple[int, int] | None"]


def check_rule(
    item: Mapping[str, Any], path: str, span: Span
) -> tuple[tuple[str, Mapping[str, tuple[int, int]]] | None, list[tuple[str, str]]]:
    """Parse one ``{"check": ..., "levels": {band: level}}`` or ``{"check": ..., "value": {threshold:
    level}}`` rule of a question's ``evidence``; returns (metric, levels) or None, and (path, message)
    problems. ``span`` reads a level (3) or a range ([3, 4])."""
    pattern = item.get("check")
    if not isinstance(pattern, str) or not pattern.strip():
        return None, [(f"{path}.check", "must be the name of a check (matched in any case, as part of the name)")]
    if "metric" in item:
        return None, [(path, 'cites a "check" or a "metric", not both')]
    if ("levels" in item) == ("value" in item):
        return None, [(path, 'needs "levels" (a level per band) or "value" (a level per threshold), one of them')]
    pattern = pattern.strip()
    if "levels" in item:
        return _band_rule(pattern, item["levels"], f"{path}.levels", span)
    return _value_rule(pattern, item["value"], f"{path}.value", span)


def _band_rule(
    pattern: str, levels: Any, path: str, span: Span
) -> tuple[tuple[str, Mapping[str, tuple[int, int]]] | None, list[tuple[str, str]]]:
    if not isinstance(levels, dict):
        return None, [(path, f"must be an object giving a level (1-4) for each band: {', '.join(CHECK_BANDS)}")]
    problems = []
    missing = [band for band in CHECK_BANDS if band not in levels]
    unknown = sorted(set(levels) - set(CHECK_BANDS))
    if missing:
        problems.append((path, f"no level for band(s) {', '.join(missing)}"))
    if unknown:
        problems.append((path, f"unknown band(s) {', '.join(unknown)}; use {', '.join(CHECK_BANDS)}"))
    spans = {str(band): span(value) for band, value in levels.items()}
    bad = sorted(band for band, found in spans.items() if found is None)
    if bad:
        problems.append((path, f"each band needs a level 1-4 or a range [low, high] (band(s) {', '.join(bad)})"))
    if problems:
        return None, problems
    return (CHECK_PREFIX + pattern, {band: found for band, found in spans.items() if found is not None}), []


def _value_rule(
    pattern: str, levels: Any, path: str, span: Span
) -> tuple[tuple[str, Mapping[str, tuple[int, int]]] | None, list[tuple[str, str]]]:
    if not isinstance(levels, dict) or not levels:
        return None, [(path, 'must be an object of thresholds and levels, e.g. {"80": 4, "60": 3, "0": 2}')]
    problems = []
    thresholds: dict[float, tuple[int, int]] = {}
    for key, value in levels.items():
        try:
            threshold = float(key)
        except ValueError:
            threshold = math.nan
        if not math.isfinite(threshold):
            problems.append((path, f"{key!r} is not a number: each key is the least value for its level"))
            continue
        found = span(value)
        if found is None:
            problems.append((path, f"threshold {key}: needs a level 1-4 or a range [low, high]"))
            continue
        thresholds[threshold] = found
    if problems:
        return None, problems
    return (VALUE_PREFIX + pattern, ValueLevels(thresholds)), []
