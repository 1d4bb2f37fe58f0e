"""Evidence: what measured delivery signals say about a question's answer.

A question in the bank may name metrics and, for each band of a metric, the maturity level
that band supports (questions.json ``evidence``). Given a team's measurements, ``weigh``
says which levels the measurements fit; the person still chooses, and their answer records
whether it agreed. Pure: the measurements come in as plain values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain.check_metrics import check_rule, find_measured, is_check
from bot.domain.delivery_metrics import Metric, bands_of
from bot.domain.levels import LEVELS

# Each metric the bank may cite, with its bands from best to worst (delivery_metrics: DORA's
# answer bands for the four keys, our own for training cadence).
METRIC_BANDS: dict[str, tuple[str, ...]] = {metric.value: bands_of(metric) for metric in Metric}


@dataclass(frozen=True)
class EvidenceRule:
    """One metric a question cites, and the level each of its bands supports."""

    metric: str
    levels: Mapping[str, tuple[int, int]]  # band -> the lowest and highest level it supports


@dataclass(frozen=True)
class Measurement:
    """One metric as measured for a team: its value as a phrase, and its band."""

    metric: str
    phrase: str  # e.g. "41 production deployments (daily)"
    band: str


@dataclass(frozen=True)
class Evidence:
    """What the measurements fit: levels ``low``..``high``, from ``measurements``."""

    channel_id: str
    days: int
    measurements: tuple[Measurement, ...]
    low: int
    high: int

    def agrees(self, level: int | None) -> bool | None:
        """Whether an answer fits the measurements (None for "not applicable")."""
        return None if level is None else self.low <= level <= self.high

    def differs_by_more_than_a_level(self, level: float) -> bool:
        return level < self.low - 1 or level > self.high + 1


def weigh(
    rules: tuple[EvidenceRule, ...], measured: Mapping[str, Measurement], channel_id: str, days: int
) -> Evidence | None:
    """The levels the measured bands support, over every rule that has a measurement; None
    when no rule's metric was measured (no data: no evidence line)."""
    found = [(rule, m) for rule in rules if (m := _measured(rule.metric, measured)) is not None]
    spans = [rule.levels[m.band] for rule, m in found if m.band in rule.levels]
    if not spans:
        return None
    # Several metrics narrow the range where they overlap; where they contradict, it spans both.
    low, high = max(lo for lo, _ in spans), min(hi for _, hi in spans)
    if low > high:
        low, high = min(lo for lo, _ in spans), max(hi for _, hi in spans)
    return Evidence(channel_id, days, tuple(m for _, m in found), low, high)


def _measured(metric: str, measured: Mapping[str, Measurement]) -> Measurement | None:
    # A check rule names part of a check's name ("data validation" cites "Data validation (ge)").
    return find_measured(metric, measured) if is_check(metric) else measured.get(metric)


def check_rules(
    value: object, path: str, bands: Mapping[str, tuple[str, ...]] = METRIC_BANDS
) -> tuple[list[EvidenceRule], list[tuple[str, str]]]:
    """Parse a question's ``evidence`` list; returns the rules and (path, message) problems."""
    problems: list[tuple[str, str]] = []
    rules: list[EvidenceRule] = []
    if not isinstance(value, list) or not value:
        return [], [(path, 'must be a non-empty list of {"metric": ..., "levels": {band: level}}')]
    for i, item in enumerate(value):
        ipath = f"{path}[{i}]"
        if not isinstance(item, dict):
            problems.append((ipath, "must be an object"))
            continue
        if "check" in item:  # bot/domain/check_metrics.py: a pipeline check's pass rate or value
            cited, issues = check_rule(item, ipath, _span)
            problems.extend(issues)
            if cited is not None:
                rules.append(EvidenceRule(*cited))
            continue
        metric = item.get("metric")
        if metric not in bands:
            problems.append((f"{ipath}.metric", f"unknown metric {metric!r}; use one of {', '.join(sorted(bands))}"))
            continue
        levels = item.get("levels")
        if not isinstance(levels, dict):
            problems.append((f"{ipath}.levels", "missing: needs the level (1-4) each band supports"))
            continue
        known = bands[str(metric)]
        missing = [band for band in known if band not in levels]
        unknown = sorted(set(levels) - set(known))
        if missing:
            problems.append((f"{ipath}.levels", f"no level for band(s) {', '.join(missing)}"))
        if unknown:
            problems.append((f"{ipath}.levels", f"unknown band(s) {', '.join(unknown)}; use {', '.join(known)}"))
        spans = {str(band): _span(value) for band, value in levels.items()}
        bad = sorted(band for band, span in spans.items() if span is None)
        if bad:
            problems.append(
                (f"{ipath}.levels", f"each band needs a level 1-4 or a range [low, high] (band(s) {', '.join(bad)})")
            )
        if not (missing or unknown or bad):
            rules.append(EvidenceRule(str(metric), {band: span for band, span in spans.items() if span is not None}))
    return rules, problems


def _span(value: object) -> tuple[int, int] | None:
    """A level (3) or a range ([3, 4]) as (low, high); None when it is neither."""
    if isinstance(value, int) and not isinstance(value, bool) and value in LEVELS:
        return value, value
    if (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        low, high = value
        if low in LEVELS and high in LEVELS and low <= high:
            return low, high
    return None
