"""Checks as measurements beside the answers: a pass-rate band and a last value per check."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.domain.check_metrics import CHECK_PREFIX, VALUE_PREFIX, CheckFigures, find_measured, is_check
from bot.domain.evidence import EvidenceRule, Measurement


def check_measurements(checks: Mapping[str, CheckFigures]) -> dict[str, Measurement]:
    """``check:<name>`` (its band) for each check, and ``check value:<name>`` for each whose latest run
    sent a value; in the order given (most runs first), which a rule matching several checks follows."""
    found: dict[str, Measurement] = {}
    for name, c in checks.items():
        key = CHECK_PREFIX + name
        phrase = f"{name}: {c.passed} of {c.runs} runs passed ({c.band.value})"
        found[key] = Measurement(key, phrase, c.band.value)
    for name, c in checks.items():
        if c.last_value is not None:
            key = VALUE_PREFIX + name
            # The band is the value itself: a value rule's levels are looked up by it (check_metrics.ValueLevels).
            found[key] = Measurement(key, f"{name}: {c.last_value:g} on its latest run", repr(c.last_value))
    return found


def cited_checks(rules: Iterable[EvidenceRule], measured: Mapping[str, Measurement]) -> set[str]:
    """The measured checks some rule cites: for each check rule, the one measurement it reads.

    A digest lists these and no other checks: a channel may report dozens, and a Slack section
    holds 3,000 characters, which the metrics and the flagged questions need too.
    """
    found = (find_measured(rule.metric, measured) for rule in rules if is_check(rule.metric))
    return {m.metric for m in found if m is not None}
