"""Code review figures against a hand-computed history, on SQLite and PostgreSQL, and on to the
evidence of the questions that cite them.

One channel with a GitHub repository and a GitLab project, and another channel whose events must
never count. Times are offsets from NOW; the expected figures are worked out in comments.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select

from bot.db import signal_metrics
from bot.db.models import SignalSource
from bot.db.people import workspace_id
from bot.db.review_metrics import review_figures
from bot.db.setup import Database
from bot.db.signals import Source, add_events, add_source
from bot.domain.evidence import weigh
from bot.domain.measured import measurements
from bot.domain.questionnaire import Questionnaire
from bot.domain.signals import SignalEvent, SignalType, SourceKind

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CHANNEL = "C0TEAM"
OTHER = "C0OTHER"


def at(days: float = 0, hours: float = 0) -> datetime:
    return NOW + timedelta(days=days, hours=hours)


def opened(name: str, when: datetime) -> SignalEvent:
    return SignalEvent(SignalType.REVIEW_OPENED, name, when, name=name)


def reviewed(name: str, review: str, when: datetime) -> SignalEvent:
    return SignalEvent(SignalType.REVIEWED, f"{name}:{review}", when, name=name, status="approved")


def merged(name: str, when: datetime) -> SignalEvent:
    return SignalEvent(SignalType.REVIEW_MERGED, name, when, name=name)


def source(ws: int, sid: str, kind: SourceKind, channel: str = CHANNEL) -> Source:
    return Source(sid, ws, channel, kind, "secret", "production", "train", ("production",), "U1", at(-400))


REPO = [
    # PR1: first review after 2 h (a second one later), merged after 25 h.
    opened("acme/m#1", at(-10)),
    reviewed("acme/m#1", "11", at(-10, 2)),
    reviewed("acme/m#1", "12", at(-9)),
    merged("acme/m#1", at(-9, 1)),
    # PR2: merged after 3 h unreviewed (a review of the same name in the other channel is not its).
    opened("acme/m#2", at(-5)),
    merged("acme/m#2", at(-5, 3)),
    # PR3: first review after 30 min, merged after 24 h.
    opened("acme/m#3", at(-3)),
    reviewed("acme/m#3", "31", at(-3, 0.5)),
    merged("acme/m#3", at(-2)),
    # PR4: merged after 1 h; its only review came after the merge and did not gate it.
    opened("acme/m#4", at(-2)),
    merged("acme/m#4", at(-2, 1)),
    reviewed("acme/m#4", "41", at(-1)),
    # PR5: before the 30-day window: first review after 24 h, merged after 120 h.
    opened("acme/m#5", at(-40)),
    reviewed("acme/m#5", "51", at(-39)),
    merged("acme/m#5", at(-35)),
    # PR6: reviewed, still open: not a merged change.
    opened("acme/m#6", at(-1)),
    reviewed("acme/m#6", "61", at(-1, 4)),
    # PR7: opened before the webhook existed: reviewed before its merge, times unknown.
    reviewed("acme/m#7", "71", at(-1, -1)),
    merged("acme/m#7", at(-1)),
    # Merged after NOW: not counted.
    opened("acme/m#8", at(-1)),
    merged("acme/m#8", at(1)),
]
PROJECT = [
    # MR1: approved after 6 h, merged after 8 h.
    opened("group/p#1", at(-4)),
    reviewed("group/p#1", "approval:7", at(-4, 6)),
    merged("group/p#1", at(-4, 8)),
]
ELSEWHERE = [
    reviewed("acme/m#2", "99", at(-5, 1)),
    opened("acme/z#1", at(-3)),
    reviewed("acme/z#1", "1", at(-3, 1)),
    merged("acme/z#1", at(-3, 2)),
]


@pytest.fixture
def seeded(database: Database) -> Database:
    with database.sessions.begin() as session:
        ws = workspace_id(session, "T0TEAM", NOW)
        repo = add_source(session, source(ws, "src-repo", SourceKind.GITHUB))
        project = add_source(session, source(ws, "src-project", SourceKind.GITLAB))
        other = add_source(session, source(ws, "src-other", SourceKind.GITHUB, channel=OTHER))
        add_events(session, repo, REPO)
        add_events(session, project, PROJECT)
        add_events(session, other, ELSEWHERE)
    return database


def metrics(database: Database, days: int) -> signal_metrics.DeliveryMetrics:
    with database.sessions.begin() as session:
        return signal_metrics.channel_metrics(session, CHANNEL, NOW, days)


def test_thirty_days_of_merged_changes(seeded: Database) -> None:
    m = metrics(seeded, 30)
    # merged in the window: PR1, PR2, PR3, PR4, PR7, MR1; reviewed before merging: PR1, PR3, PR7, MR1
    assert m.changes_merged == 6
    assert m.reviewed_share == pytest.approx(4 / 6)
    # first reviews 0.5, 2, 6 h (PR7's opening is unknown)
    assert m.review_hours_p50 == pytest.approx(2)
    # merges 1, 3, 8, 24, 25 h
    assert m.merge_hours_p50 == pytest.approx(8)
    figures = m.as_json_dict()
    assert {k: figures[k] for k in ("changes_merged", "review_hours_p50", "merge_hours_p50")} == {
        "changes_merged": 6,
        "review_hours_p50": 2.0,
        "merge_hours_p50": 8.0,
    }
    assert (figures["reviewed_share"], figures["reviewed_share_band"], figures["review_time_band"]) == (
        0.6667,
        "some",
        "under a day",
    )


def test_ninety_days_reach_the_older_merge(seeded: Database) -> None:
    m = metrics(seeded, 90)
    assert (m.changes_merged, m.reviewed_share) == (7, pytest.approx(5 / 7))
    # first reviews 0.5, 2, 6, 24 h; merges 1, 3, 8, 24, 25, 120 h
    assert m.review_hours_p50 == pytest.approx((2 + 6) / 2)
    assert m.merge_hours_p50 == pytest.approx((8 + 24) / 2)


def test_a_channel_without_merges_has_no_review_figures(database: Database) -> None:
    with database.sessions.begin() as session:
        ws = workspace_id(session, "T0TEAM", NOW)
        repo = add_source(session, source(ws, "src-repo", SourceKind.GITHUB))
        add_events(session, repo, [opened("acme/m#1", at(-1)), reviewed("acme/m#1", "1", at(-1, 1))])
    m = metrics(database, 30)
    assert (m.changes_merged, m.reviewed_share, m.review_hours_p50, m.merge_hours_p50) == (0, None, None, None)
    assert "reviewed_share" not in measurements(m)


def test_the_review_figures_take_one_statement(seeded: Database) -> None:
    statements: list[str] = []
    event.listen(seeded.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with seeded.sessions.begin() as session:
        sources = select(SignalSource.id).where(SignalSource.channel_id == CHANNEL)
        review_figures(session, sources, at(-30), NOW)
    assert len([s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]) == 1


def test_the_measurements_reach_the_questions_that_cite_them(seeded: Database, shipped_bank: Questionnaire) -> None:
    measured = measurements(metrics(seeded, 30))
    assert measured["reviewed_share"].phrase == (
        "4 of 6 merged changes reviewed before merging, median 8 h to merge (some)"
    )
    assert measured["review_time"].phrase == "median time to first review 2 h (under a day)"
    workflow = shipped_bank.question("team.workflow")
    mixed = weigh(workflow.evidence, measured, CHANNEL, 30)
    # "some" supports levels 1-2 and "under a day" 3-4: they contradict, so the range spans both.
    assert mixed is not None and (mixed.low, mixed.high) == (1, 4)

    # Another team: every change reviewed within the hour, merged the same day.
    with seeded.sessions.begin() as session:
        ws = workspace_id(session, "T0TEAM", NOW)
        fast = add_source(session, source(ws, "src-fast", SourceKind.GITHUB, channel="C0FAST"))
        add_events(
            session,
            fast,
            [
                e
                for n in range(3)
                for e in (
                    opened(f"fast/r#{n}", at(-n - 1)),
                    reviewed(f"fast/r#{n}", "1", at(-n - 1, 0.25)),
                    merged(f"fast/r#{n}", at(-n - 1, 2)),
                )
            ],
        )
        fast_metrics = signal_metrics.channel_metrics(session, "C0FAST", NOW, 30)
    measured = measurements(fast_metrics)
    assert measured["review_time"].phrase == "median time to first review 15 min (under an hour)"
    evidence = weigh(workflow.evidence, measured, "C0FAST", 30)
    # "all" supports 3-4 and "under an hour" 4: the fast small-batch flow of level 4.
    assert evidence is not None and (evidence.low, evidence.high) == (4, 4)
    collaboration = weigh(shipped_bank.question("team.collaboration").evidence, measured, "C0FAST", 30)
    assert collaboration is not None and (collaboration.low, collaboration.high) == (2, 4)
