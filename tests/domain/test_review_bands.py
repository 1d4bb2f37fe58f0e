"""The code review bands, their boundaries and the levels each supports."""

from __future__ import annotations

import pytest

from bot.domain.delivery_metrics import DeliveryMetrics, Metric, bands_of, supported_levels
from bot.domain.review_metrics import ReviewFigures, review_time_band, reviewed_share_band


@pytest.mark.parametrize(
    ("share", "band"),
    [
        (1.0, "all"),
        (0.95, "all"),
        (0.9499, "most"),
        (0.75, "most"),
        (0.7499, "some"),
        (0.25, "some"),
        (0.2499, "few"),
        (0.0, "few"),
    ],
)
def test_reviewed_share_bands_include_their_lower_bound(share: float, band: str) -> None:
    assert reviewed_share_band(share).value == band


@pytest.mark.parametrize(
    ("hours", "band"),
    [
        (0.2, "under an hour"),
        (1, "under a day"),
        (23.9, "under a day"),
        (24, "under a week"),
        (167.9, "under a week"),
        (168, "a week or more"),
    ],
)
def test_review_time_bands_exclude_their_upper_bound(hours: float, band: str) -> None:
    assert review_time_band(hours).value == band


def test_the_bands_best_first_and_the_levels_they_support() -> None:
    assert bands_of(Metric.REVIEWED_SHARE) == ("all", "most", "some", "few")
    assert bands_of(Metric.REVIEW_TIME) == ("under an hour", "under a day", "under a week", "a week or more")
    assert [supported_levels("reviewed_share", b) for b in bands_of(Metric.REVIEWED_SHARE)] == [
        (3, 4),
        (2, 3),
        (1, 2),
        (1, 1),
    ]
    assert [supported_levels("review_time", b) for b in bands_of(Metric.REVIEW_TIME)] == [
        (4, 4),
        (3, 4),
        (2, 3),
        (1, 2),
    ]


def test_figures_become_shares_and_hours_and_none_without_merges() -> None:
    m = DeliveryMetrics(30).with_reviews(ReviewFigures(8, 6, review_seconds_p50=5400, merge_seconds_p50=36000))
    assert (m.changes_merged, m.reviewed_share, m.review_hours_p50, m.merge_hours_p50) == (8, 0.75, 1.5, 10.0)
    assert (m.levels(Metric.REVIEWED_SHARE), m.levels(Metric.REVIEW_TIME)) == ((2, 3), (3, 4))
    assert m.has_data
    empty = DeliveryMetrics(30).with_reviews(ReviewFigures())
    assert (empty.reviewed_share, empty.review_hours_p50, empty.merge_hours_p50) == (None, None, None)
    assert not empty.has_data
    # merged changes none of which was reviewed: a share of 0, no time to first review
    unreviewed = DeliveryMetrics(30).with_reviews(ReviewFigures(3, 0, merge_seconds_p50=60))
    assert (unreviewed.reviewed_share_band, unreviewed.review_time_band) == ("few", None)
