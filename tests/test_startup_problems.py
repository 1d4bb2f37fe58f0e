"""Every problem outside the code stops a command with one line, exit code 2 and no traceback.

Each case runs the real ``compass`` command as an operator would, against an unreachable
database, an unknown URL, a database that was never migrated (or is behind, or ahead), and
tokens the fake Slack refuses.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SMALL_BANK
from fakeslack import BOT_TOKEN, FakeSlack
from harness import free_port, measured
from sqlalchemy import text

from bot.db import migrate
from bot.db.session import make_engine

COMPASS = str(Path(sys.executable).parent / "compass")
HEAD = migrate.head_revision()

# Every command that needs the database, as an operator types it (the Slack ones with a token).
DATABASE_COMMANDS = {
    "serve": ["serve", "--http", "--no-scheduler"],
    "worker": ["worker"],
    "scheduler": ["scheduler"],
    "jobs": ["jobs", "run-due"],
    "digest": ["digest", "--channel", "C0TEAM", "--now"],
    "assess": ["assess", "--user", "ana"],
    "history": ["history", "--user", "ana"],
    "db upgrade": ["db", "upgrade"],
}
SLACK_COMMANDS = ["serve", "worker", "scheduler", "jobs", "digest"]


def run(tmp_path: Path, args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": os.environ.get("PATH", ""),
        **measured(),
        "HOME": str(tmp_path),
        "COMPASS_QUESTIONS": str(SMALL_BANK),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "secret",
        "SLACK_API_URL": "http://127.0.0.1:9/api/",  # refused: only the database should be looked at
    }
    return subprocess.run(
        [COMPASS, *args], env={**base, **env}, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("command", DATABASE_COMMANDS)
def test_an_unreachable_database_is_one_line_with_host_port_and_reason(tmp_path: Path, command: str) -> None:
    port = free_port()
    line = one_line(run(tmp_path, DATABASE_COMMANDS[command], DATABASE_URL=f"postgresql://nobody@127.0.0.1:{port}/x"))
    assert line.startswith(f"compass: cannot reach the database at 127.0.0.1:{port}: ")
    assert "Connection refused" in line


@pytest.mark.parametrize("command", DATABASE_COMMANDS)
def test_an_unknown_url_scheme_is_one_line_with_examples(tmp_path: Path, command: str) -> None:
    line = one_line(run(tmp_path, DATABASE_COMMANDS[command], DATABASE_URL="foo://bar"))
    assert line.startswith("compass: DATABASE_URL: unknown database scheme 'foo'; use sqlite:///")


def test_text_that_is_no_url_at_all_is_one_line(tmp_path: Path) -> None:
    line = one_line(run(tmp_path, ["history"], DATABASE_URL="my database"))
    assert "'my database' is not a database URL" in line


def set_revision(url: str, revision: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    engine.dispose()


@pytest.mark.parametrize("command", [c for c in DATABASE_COMMANDS if c != "db upgrade"])
def test_a_never_migrated_database_says_to_run_db_upgrade(tmp_path: Path, own_postgres: str, command: str) -> None:
    line = one_line(run(tmp_path, DATABASE_COMMANDS[command], DATABASE_URL=own_postgres))
    assert line.endswith(f"is at revision none; this release needs {HEAD}: run `compass db upgrade`")
    assert line.startswith("compass: database postgresql://postgres@")


def test_a_database_behind_this_release_names_both_revisions_and_db_upgrade_fixes_it(
    tmp_path: Path, own_postgres: str
) -> None:
    engine = make_engine(own_postgres)
    migrate.upgrade(engine, "0003")
    engine.dispose()
    line = one_line(run(tmp_path, ["history", "--user", "ana"], DATABASE_URL=own_postgres))
    assert f"is at revision 0003; this release needs {HEAD}: run `compass db upgrade`" in line
    upgraded = run(tmp_path, ["db", "upgrade"], DATABASE_URL=own_postgres)
    assert upgraded.returncode == 0
    assert upgraded.stdout.strip() == f"Upgraded the database from 0003 to {HEAD}."
    again = run(tmp_path, ["db", "upgrade"], DATABASE_URL=own_postgres)
    assert again.stdout.strip() == f"The database is already at the newest schema ({HEAD})."
    assert run(tmp_path, ["history", "--user", "ana"], DATABASE_URL=own_postgres).returncode == 0


@pytest.mark.parametrize("command", ["history", "worker", "db upgrade"])
def test_a_database_newer_than_the_code_is_refused(tmp_path: Path, own_postgres: str, command: str) -> None:
    engine = make_engine(own_postgres)
    migrate.upgrade(engine)
    engine.dispose()
    set_revision(own_postgres, "0999")
    line = one_line(run(tmp_path, DATABASE_COMMANDS[command], DATABASE_URL=own_postgres))
    assert f"is at revision 0999, newer than this release (which knows up to {HEAD})" in line


def test_a_sqlite_database_newer_than_the_code_is_refused_too(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'compass.db'}"
    assert run(tmp_path, ["history", "--user", "ana"], DATABASE_URL=url).returncode == 0  # created and migrated
    set_revision(url, "0999")
    line = one_line(run(tmp_path, ["history", "--user", "ana"], DATABASE_URL=url))
    assert "is at revision 0999, newer than this release" in line


@pytest.mark.parametrize("command", SLACK_COMMANDS)
def test_a_bot_token_slack_refuses_names_the_variable_and_slacks_error(tmp_path: Path, command: str) -> None:
    with FakeSlack() as fake:
        result = run(
            tmp_path,
            DATABASE_COMMANDS[command],
            DATABASE_URL=f"sqlite:///{tmp_path / 'compass.db'}",
            SLACK_API_URL=fake.api_url,
            SLACK_BOT_TOKEN="xoxb-revoked",
        )
    line = one_line(result)
    assert line.startswith("compass: SLACK_BOT_TOKEN was refused by Slack (invalid_auth): ")


def test_slack_out_of_reach_is_one_line(tmp_path: Path) -> None:
    line = one_line(run(tmp_path, ["worker"], DATABASE_URL=f"sqlite:///{tmp_path / 'compass.db'}"))
    assert line == "compass: cannot reach Slack's Web API at http://127.0.0.1:9/api/ ([Errno 111] Connection refused)"


def test_plain_serve_without_tokens_also_says_what_socket_mode_needs(tmp_path: Path) -> None:
    result = run(tmp_path, ["serve"], SLACK_BOT_TOKEN="", SLACK_SIGNING_SECRET="")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "SLACK_SIGNING_SECRET: missing" in result.stderr and "SLACK_APP_TOKEN" in result.stderr
    forced = run(tmp_path, ["serve", "--http"], SLACK_SIGNING_SECRET="")
    assert "SLACK_APP_TOKEN" not in forced.stderr  # HTTP was asked for: no talk of Socket Mode
