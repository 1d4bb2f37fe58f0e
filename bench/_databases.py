"""Shared by the issue-4 benchmarks: a throw-away database per backend, and the machine's description.

SQLite gets a file in a temporary directory; PostgreSQL gets a fresh database created and
dropped with the test suite's own helpers (tests/conftest.py), on the server named by
``--postgres-url`` (or COMPASS_TEST_POSTGRES_URL).
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"

if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))  # fakeslack and the conftest helpers live there


def postgres_url(cli_value: str | None) -> str:
    return cli_value or os.environ.get("COMPASS_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL


@contextmanager
def scratch_database(backend: str, server_url: str) -> Iterator[str]:
    """Yield the URL of an empty database that is removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="compass-bench-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'compass.db'}"
        return
    if backend != "postgresql":
        raise ValueError(f"unknown backend {backend!r}")
    os.environ["COMPASS_TEST_POSTGRES_URL"] = server_url
    import conftest  # the test suite's create/drop helpers

    conftest.POSTGRES_URL = server_url
    url = conftest.create_postgres_database()
    try:
        yield url
    finally:
        conftest.drop_postgres_database(url)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()}"


def server_version(engine: object) -> str:
    from sqlalchemy import Engine, text

    assert isinstance(engine, Engine)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return "SQLite " + str(conn.execute(text("select sqlite_version()")).scalar())
        return str(conn.execute(text("show server_version")).scalar()).join(("PostgreSQL ", ""))
