"""Evidence: what measured delivery signals say about a question's answer.

A question in the bank may name metrics and, for each band of a metric, the maturity level
that band supports (questions.json ``evidence``). Given a team's measurements, ``weigh``
says which levels the measurements fit; the person still chooses, and their answer records
whether it agreed. Pure: the measurements come in as plain values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain.levels import LEVELS

# Each metric the bank may cite, with its bands from best to worst (DORA's answer bands for
# the four keys; our own for the ML signals). delivery_metrics computes a band per metric.
METRIC_BANDS: dict[str, tuple[str, ...]] = {
    "deployment_frequency": ("on_demand", "daily", "weekly", "monthly", "fewer"),
    "lead_time": ("under_a_day", "under_a_week", "under_a_month", "under_six_months", "longer"),
    "change_failure_rate": ("up_to_15_percent", "up_to_30_percent", "up_to_45_percent", "over_45_percent"),
    "time_to_restore": ("under_an_hour", "under_a_day", "under_a_week", "under_a_month", "longer"),
    "training_runs": ("weekly", "monthly", "rarely"),
    "model_age": ("under_a_month", "under_a_quarter", "under_a_year", "older"),
}


@dataclass(frozen=True)
class EvidenceRule:
    """One metric a question cites, and the level each of its bands supports."""

    metric: str
    levels: Mapping[str, int]  # band -> level 1-4


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
    found = [(rule, measured[rule.metric]) for rule in rules if rule.metric in measured]
    levels = [rule.levels[m.band] for rule, m in found if m.band in rule.levels]
    if not levels:
        return None
    return Evidence(channel_id, days, tuple(m for _, m in found), min(levels), max(levels))


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
        bad = [b for b, lv in levels.items() if isinstance(lv, bool) or lv not in LEVELS]
        if bad:
            problems.append((f"{ipath}.levels", f"levels must be 1-4 (band(s) {', '.join(sorted(bad))})"))
        if not (missing or unknown or bad):
            rules.append(EvidenceRule(str(metric), {str(b): int(lv) for b, lv in levels.items()}))
    return rules, problems
