"""A throw-away PostgreSQL cluster of a test's own, which it may stop and start at will.

The shared server on 127.0.0.1:5432 is never stopped. This starts a new cluster with the
server's own initdb and pg_ctl, as the ``postgres`` user when run as root (PostgreSQL
refuses to run as root), on a free loopback port, with its socket and data in a temporary
directory.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from harness import free_port


def bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def unavailable_reason() -> str | None:
    """Why no cluster can be started here (None when one can)."""
    if bin_dir() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser, so the cluster cannot run as the postgres user"
    return None


class Cluster:
    def __init__(self) -> None:
        bins = bin_dir()
        assert bins is not None, unavailable_reason()
        self.bins = bins
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="compass-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._as_owner(["initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"])

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_owner(self, argv: list[str], timeout: float = 60) -> None:
        command = [str(self.bins / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=timeout, cwd=self.root)

    def start(self) -> float:
        """Start and wait until it accepts connections; returns the monotonic time it did."""
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_owner(["pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start"])
        return time.monotonic()

    def stop(self, mode: str = "fast") -> None:
        self._as_owner(["pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop"])

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self, name: str) -> str:
        """Create database ``name`` in the cluster; returns its URL."""
        from sqlalchemy import create_engine

        from bot.db.session import normalize_url

        admin = create_engine(normalize_url(self.url), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        admin.dispose()
        return self.url.rsplit("/", 1)[0] + f"/{name}"
