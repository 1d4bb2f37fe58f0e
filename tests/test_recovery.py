"""Back in seconds after a crash, a database restart or a dead worker (issue 9), against real
processes: ``compass serve`` under a crowd of 20 people answering without pause, then the
fault (tests/faults.py), then everyone must finish with the canonical question sequence,
every answer stored once and nothing skipped. bench/recovery.py measures the waits.

The deadline (faults.FINISH_WITHIN after the repair) is a generous guard, not a speed
target: before this issue a dead worker's leases blocked its people for two minutes.
"""

from __future__ import annotations

from collections.abc import Iterator

import faults
import pytest
from conftest import SMALL_BANK
from pgcluster import Cluster, unavailable_reason

from bot.db import migrate
from bot.db.session import make_engine

USERS = [f"U0CROWD{i:02d}" for i in range(20)]


def assert_clean(outcome: faults.Outcome) -> None:
    v = outcome.verdict
    assert (v.lost, v.skipped, v.duplicates, v.unfinished) == (0, 0, 0, 0), (v, outcome.log[-4000:])
    assert v.waits, "nobody was still answering when the fault was repaired"


def test_sigkill_of_every_process_mid_load_loses_nothing_and_everyone_finishes(database_url: str) -> None:
    assert_clean(faults.crash(database_url, SMALL_BANK, USERS))


@pytest.fixture
def own_cluster() -> Iterator[tuple[Cluster, str]]:
    """A PostgreSQL cluster of this test's own, migrated, which it may stop and start."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    cluster = Cluster()
    try:
        cluster.start()
        url = cluster.create_database("compass")
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        yield cluster, url
    finally:
        cluster.remove()


def test_a_postgresql_restart_mid_load_loses_nothing_and_everyone_finishes(own_cluster: tuple[Cluster, str]) -> None:
    cluster, url = own_cluster
    assert_clean(faults.database_restart(cluster, url, SMALL_BANK, USERS))


def test_when_one_of_two_workers_is_killed_the_other_takes_its_work_over(own_postgres: str) -> None:
    engine = make_engine(own_postgres)
    migrate.upgrade(engine)
    engine.dispose()
    assert_clean(faults.worker_killed(own_postgres, SMALL_BANK, USERS))
