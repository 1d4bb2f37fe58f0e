"""Checks as measurements beside the answers: a pass-rate band and a last value per check."""

from __future__ import annotations

from collections.abc import Mapping

from bot.domain.check_metrics import CHECK_PREFIX, VALUE_PREFIX, CheckFigures
from bot.domain.evidence import Measurement


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
