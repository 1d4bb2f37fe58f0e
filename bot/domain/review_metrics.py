"""Code review as a measured signal: the bands of the review metrics and the levels each supports.

The figures come from ``bot/db/review_metrics.py`` (over the changes merged in the window):

- reviewed share: merged changes that someone other than their author reviewed before the merge,
  over all merged changes;
- time to first review: the median hours from opened to the first such review, over the merged
  changes that had one;
- time to merge: the median hours from opened to merged (shown, not banded).

No survey publishes bands for these, so the bands are Compass's own, in the words of the
"Engineering workflow" question (team.workflow): whether *every* change is reviewed, and whether
reviews are *fast*. The time bands reuse DORA's duration steps (an hour, a day, a week).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ReviewedShareBand(StrEnum):
    ALL = "all"  # 95 % or more: a rare hotfix merged alone still reads as "every change"
    MOST = "most"  # 75-95 %
    SOME = "some"  # 25-75 %
    FEW = "few"  # under 25 %


class ReviewTimeBand(StrEnum):
    HOUR = "under an hour"
    DAY = "under a day"
    WEEK = "under a week"
    LONGER = "a week or more"


def reviewed_share_band(share: float) -> ReviewedShareBand:
    if share >= 0.95:
        return ReviewedShareBand.ALL
    if share >= 0.75:
        return ReviewedShareBand.MOST
    if share >= 0.25:
        return ReviewedShareBand.SOME
    return ReviewedShareBand.FEW


def review_time_band(hours: float) -> ReviewTimeBand:
    """Upper bounds exclusive, as DORA's duration bands in delivery_metrics."""
    if hours < 1:
        return ReviewTimeBand.HOUR
    if hours < 24:
        return ReviewTimeBand.DAY
    if hours < 168:
        return ReviewTimeBand.WEEK
    return ReviewTimeBand.LONGER


# The levels (1-4) of team.workflow each band supports. Only changes merged through a pull or
# merge request are seen: commits pushed straight to the main branch never show, so the measured
# share is an upper bound on how much of the code is reviewed. Low bands therefore reach down to
# level 1, and no share alone reaches level 4, which asks for speed as well.
REVIEWED_SHARE_LEVELS: dict[ReviewedShareBand, tuple[int, int]] = {
    # Level 3 is "every change ... someone reviews before merge"; level 4 adds fast reviews.
    ReviewedShareBand.ALL: (3, 4),
    # Most but not all: reviews are the habit with gaps (some repos or notebooks bypass them,
    # level 2), or level 3 with a few emergency merges.
    ReviewedShareBand.MOST: (2, 3),
    # Some: "some repositories use pull requests with review" (level 2), or less once the
    # unseen direct pushes are counted.
    ReviewedShareBand.SOME: (1, 2),
    # Few: merged without another pair of eyes, as "no review happens" (level 1).
    ReviewedShareBand.FEW: (1, 1),
}
REVIEW_TIME_LEVELS: dict[ReviewTimeBand, tuple[int, int]] = {
    # Within the hour: the "fast reviews" of a small-batch flow (level 4).
    ReviewTimeBand.HOUR: (4, 4),
    # Within the working day: reviews are routine and keep pace with the work (levels 3-4).
    ReviewTimeBand.DAY: (3, 4),
    # Days: reviews happen but changes queue for them, as with a review step bolted on (2-3).
    ReviewTimeBand.WEEK: (2, 3),
    # A week or more: reviews are an exception that changes wait on (1-2).
    ReviewTimeBand.LONGER: (1, 2),
}


@dataclass(frozen=True)
class ReviewFigures:
    """What the database counts over the window's merged changes (seconds, as the SQL gives them)."""

    changes_merged: int = 0
    reviewed_before_merge: int = 0
    review_seconds_p50: float | None = None
    merge_seconds_p50: float | None = None

    @property
    def reviewed_share(self) -> float | None:
        return self.reviewed_before_merge / self.changes_merged if self.changes_merged else None

    @property
    def review_hours_p50(self) -> float | None:
        return None if self.review_seconds_p50 is None else self.review_seconds_p50 / 3600

    @property
    def merge_hours_p50(self) -> float | None:
        return None if self.merge_seconds_p50 is None else self.merge_seconds_p50 / 3600
