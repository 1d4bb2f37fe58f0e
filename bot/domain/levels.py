"""Maturity levels and the score bands that map a 1.0-4.0 score onto them."""

from __future__ import annotations

from fractions import Fraction

LEVELS = (1, 2, 3, 4)
LEVEL_NAMES = {
    1: "Ad-hoc/Manual",
    2: "Repeatable/Automated",
    3: "Managed/Standardized",
    4: "Optimized/Autonomous",
}

# Half-open bands, lower bound included: [1, 1.5) -> 1, [1.5, 2.5) -> 2,
# [2.5, 3.5) -> 3, [3.5, 4] -> 4. Python's round() would send 2.5 to 2
# (banker's rounding), which is why the bands are explicit.
LEVEL_THRESHOLDS = ((Fraction(7, 2), 4), (Fraction(5, 2), 3), (Fraction(3, 2), 2))


# How a level looks, kept together so every surface agrees: the emoji of Slack messages and the
# colour charts draw it in (each emoji's own colour, so a chart matches the message beside it).
LEVEL_EMOJI = {1: "🔴", 2: "🟠", 3: "🟡", 4: "🟢"}
NO_LEVEL_EMOJI = "⚪"
LEVEL_COLOURS = {1: "#dd2e44", 2: "#f4900c", 3: "#fdcb58", 4: "#78b159"}
NO_LEVEL_COLOUR = "#d9d9d9"


def level_for(score: Fraction | float) -> int:
    """The maturity level a score on the 1-4 scale falls into."""
    exact = score if isinstance(score, Fraction) else Fraction(str(score))
    if not Fraction(1) <= exact <= Fraction(4):
        raise ValueError(f"score {float(exact)} is outside the 1-4 scale")
    for lower, level in LEVEL_THRESHOLDS:
        if exact >= lower:
            return level
    return 1


def level_name(level: int) -> str:
    return LEVEL_NAMES[level]
