"""What every PostgreSQL connection Compass opens is set up with."""

from __future__ import annotations

from sqlalchemy import text

from bot.db.setup import open_database


def test_postgresql_connections_never_jit_compile(postgres_url: str) -> None:
    # A channel's metrics at 1M events took ~1 s with JIT (compiling statements whose estimated cost
    # is high but which run in milliseconds) and ~180 ms without (docs/benchmarks.md, issue 19).
    database = open_database(postgres_url, auto_migrate=False)
    try:
        with database.sessions() as session:
            assert session.execute(text("SHOW jit")).scalar_one() == "off"
    finally:
        database.dispose()
