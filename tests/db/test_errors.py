"""Which database errors the use cases retry as a lost race."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.db.assessments import ConcurrentUpdate
from bot.db.errors import is_lost_race


def driver_error(sqlstate: str) -> OperationalError:
    """An error as SQLAlchemy wraps psycopg's, carrying PostgreSQL's SQLSTATE."""
    orig = psycopg.errors.lookup(sqlstate)("server message")
    return OperationalError("SELECT 1", {}, orig)


@pytest.mark.parametrize("sqlstate", ["40P01", "40001"])  # deadlock_detected, serialization_failure
def test_a_deadlock_or_serialisation_failure_is_a_lost_race(sqlstate: str) -> None:
    """PostgreSQL's advice for both is to run the transaction again."""
    assert is_lost_race(driver_error(sqlstate))


def test_other_database_errors_are_not_retried() -> None:
    """A constraint the data breaks, or a server that is down, would fail the same way again."""
    assert not is_lost_race(driver_error("23505"))  # unique_violation outside our handled inserts
    assert not is_lost_race(driver_error("08006"))  # connection_failure
    assert not is_lost_race(IntegrityError("INSERT", {}, Exception("no sqlstate")))
    assert not is_lost_race(ValueError("not a database error"))


def test_a_lost_version_check_is_a_lost_race() -> None:
    """The optimistic version guard's own error."""
    assert is_lost_race(ConcurrentUpdate("assessment 1 changed concurrently"))
