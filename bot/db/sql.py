"""Statements both supported databases (SQLite, PostgreSQL) need spelled in their own dialect."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

CHUNK = 1000  # rows per bulk statement; keeps SQLite under its bound-parameter limit


def insert_or_skip(session: Session, model: type[Any], conflict: Sequence[str] | None = None) -> Any:
    """INSERT .. ON CONFLICT DO NOTHING for the session's database.

    ``conflict`` names the unique columns; None means any unique constraint.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model).on_conflict_do_nothing(index_elements=conflict)
    if dialect == "sqlite":
        return sqlite.insert(model).on_conflict_do_nothing(index_elements=conflict)
    raise RuntimeError(f"unsupported database {dialect}")  # pragma: no cover


def insert_ignore(session: Session, model: type[Any], values: dict[str, Any], conflict: Sequence[str]) -> None:
    """INSERT that silently does nothing when a row with the same unique key exists."""
    session.execute(insert_or_skip(session, model, conflict).values(**values))


def rowcount(result: Any) -> int:
    """Rows an UPDATE or DELETE touched (typed as a plain Result, which has no rowcount, by SQLAlchemy's stubs)."""
    return int(result.rowcount or 0)
