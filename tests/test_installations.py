"""Installations in the app's database: slack_sdk's stores on tables made by Alembic, tokens encrypted."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner, Result
from cryptography.fernet import Fernet, InvalidToken
from slack_sdk.oauth.installation_store.models.installation import Installation
from sqlalchemy import select

from bot.cli.main import main
from bot.db.setup import Database
from bot.run.installations import PREFIX, TOKEN_COLUMNS, Cipher, EncryptionKeyProblem, Installations, reencrypt

CLIENT_ID = "111.222"


def installation(team: str | None = "T0A", enterprise: str | None = None, token: str = "xoxb-a", **kw) -> Installation:
    return Installation(
        app_id="A0COMPASS",
        enterprise_id=enterprise,
        team_id=team,
        bot_token=token,
        bot_id="B0A",
        bot_user_id="U0BOTA",
        bot_scopes="commands,chat:write",
        user_id="U0INSTALLER",
        is_enterprise_install=kw.pop("org", False),
        installed_at=kw.pop("installed_at", time.time()),
        **kw,
    )


def test_the_stores_work_on_the_migrated_tables(database: Database) -> None:
    installs = Installations(CLIENT_ID, database.engine)
    installs.store.save(installation())
    bot = installs.store.find_bot(enterprise_id=None, team_id="T0A")
    assert bot is not None and bot.bot_token == "xoxb-a"
    found = installs.store.find_installation(enterprise_id=None, team_id="T0A")
    assert found is not None and found.user_id == "U0INSTALLER"
    state = installs.states.issue()
    assert installs.states.consume(state)
    assert not installs.states.consume(state)  # single use


def test_tokens_are_encrypted_at_rest_and_read_back(database: Database) -> None:
    key = Fernet.generate_key().decode()
    installs = Installations(CLIENT_ID, database.engine, Cipher([key]))
    installs.store.save(installation(token="xoxb-secret", bot_refresh_token="xoxe-1-refresh"))
    with database.engine.connect() as conn:
        stored = conn.execute(select(installs.store.bots.c.bot_token, installs.store.bots.c.bot_refresh_token)).one()
        raw = conn.execute(select(installs.store.installations.c.bot_token)).scalar_one()
    assert "xoxb-secret" not in stored[0] and "xoxe-1-refresh" not in stored[1] and "xoxb-secret" not in raw
    bot = installs.store.find_bot(enterprise_id=None, team_id="T0A")
    assert bot is not None and bot.bot_token == "xoxb-secret" and bot.bot_refresh_token == "xoxe-1-refresh"


def test_a_rotated_key_still_reads_old_tokens_and_a_wrong_key_says_so(database: Database) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    Installations(CLIENT_ID, database.engine, Cipher([old])).store.save(installation(token="xoxb-old"))
    rotated = Installations(CLIENT_ID, database.engine, Cipher([new, old]))
    bot = rotated.store.find_bot(enterprise_id=None, team_id="T0A")
    assert bot is not None and bot.bot_token == "xoxb-old"
    with pytest.raises(EncryptionKeyProblem, match="COMPASS_ENCRYPTION_KEY"):
        Installations(CLIENT_ID, database.engine, Cipher([new])).store.find_bot(enterprise_id=None, team_id="T0A")
    with pytest.raises(EncryptionKeyProblem, match="not set"):
        Installations(CLIENT_ID, database.engine).store.find_bot(enterprise_id=None, team_id="T0A")


def test_a_plain_token_stored_before_the_key_was_set_still_reads(database: Database) -> None:
    Installations(CLIENT_ID, database.engine).store.save(installation(token="xoxb-plain"))
    keyed = Installations(CLIENT_ID, database.engine, Cipher([Fernet.generate_key().decode()]))
    bot = keyed.store.find_bot(enterprise_id=None, team_id="T0A")
    assert bot is not None and bot.bot_token == "xoxb-plain"


def test_installed_lists_each_workspace_and_org_once_with_its_latest_install(database: Database) -> None:
    installs = Installations(CLIENT_ID, database.engine)
    first = time.time() - 100
    installs.store.save(installation(team="T0A", installed_at=first))
    installs.store.save(installation(team="T0A", token="xoxb-a2", installed_at=first + 50))
    installs.store.save(installation(team="T0B", token="xoxb-b"))
    installs.store.save(installation(team=None, enterprise="E0ORG", token="xoxb-org", org=True))
    found = installs.installed()
    assert [(i.enterprise_id, i.team_id, i.is_enterprise_install) for i in found] == [
        (None, "T0A", False),
        (None, "T0B", False),
        ("E0ORG", None, True),
    ]
    latest = installs.latest_installed_at(None, "T0A")
    assert latest is not None and abs(latest.timestamp() - (first + 50)) < 1


def test_expired_states_are_forgotten(database: Database) -> None:
    installs = Installations(CLIENT_ID, database.engine)
    installs.states.issue()
    assert installs.forget_expired_states(datetime.now(UTC)) == 0
    assert installs.forget_expired_states(datetime.now(UTC) + timedelta(hours=1)) == 1


# --- compass db reencrypt -------------------------------------------------------------------


def every_token(rotating: str = "") -> dict[str, str]:
    return {
        "bot_token": f"xoxb-{rotating}bot",
        "bot_refresh_token": f"xoxe-1-{rotating}bot-refresh",
        "user_token": f"xoxp-{rotating}user",
        "user_refresh_token": f"xoxe-1-{rotating}user-refresh",
    }


def save_with_every_token(installs: Installations, team: str) -> None:
    tokens = every_token(team)
    installs.store.save(
        installation(
            team=team,
            token=tokens.pop("bot_token"),
            user_scopes="identify",
            **tokens,  # type: ignore[arg-type]
        )
    )


def raw_tokens(database: Database) -> list[tuple[str, int, str, Any]]:
    """(table, row id, column, stored value) of every token column of both tables."""
    tables = Installations(CLIENT_ID, database.engine).store
    found = []
    with database.engine.connect() as conn:
        for table in (tables.installations, tables.bots):
            columns = [table.c[n] for n in TOKEN_COLUMNS if n in table.c]
            for row in conn.execute(select(table.c.id, *columns).order_by(table.c.id)).mappings():
                found.extend((table.name, row["id"], c.name, row[c.name]) for c in columns)
    return found


def run_reencrypt(database_url: str, keys: str | None) -> Result:
    env = {"DATABASE_URL": database_url, "COMPASS_ENCRYPTION_KEY": keys}
    return CliRunner().invoke(main, ["db", "reencrypt"], env=env, catch_exceptions=False)


def test_reencrypt_moves_every_stored_token_to_the_first_key(database: Database, database_url: str) -> None:
    a, b = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    save_with_every_token(Installations(CLIENT_ID, database.engine, Cipher([a])), "T0A")
    save_with_every_token(Installations(CLIENT_ID, database.engine, Cipher([a])), "T0B")

    result = run_reencrypt(database_url, f"{b},{a}")

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "re-encrypted 12 token(s) with the first key of COMPASS_ENCRYPTION_KEY (0 of them stored in plain text "
        "until now) in 2 installation row(s) and 2 bot row(s)\n"
    )
    stored = raw_tokens(database)
    # the installations table holds all four token columns, the bots table the bot's two
    assert {(t, c) for t, _, c, _ in stored} == {
        *(("slack_installations", c) for c in TOKEN_COLUMNS),
        ("slack_bots", "bot_token"),
        ("slack_bots", "bot_refresh_token"),
    }
    plain = {*every_token("T0A").values(), *every_token("T0B").values()}
    for table, row, column, value in stored:
        assert value.startswith(PREFIX), (table, row, column)
        token = value.removeprefix(PREFIX).encode()
        assert Fernet(b.encode()).decrypt(token).decode() in plain
        with pytest.raises(InvalidToken):
            Fernet(a.encode()).decrypt(token)
    only_b = Installations(CLIENT_ID, database.engine, Cipher([b])).store
    for team in ("T0A", "T0B"):
        found = only_b.find_installation(enterprise_id=None, team_id=team)
        assert found is not None
        assert {n: getattr(found, n) for n in TOKEN_COLUMNS} == every_token(team)
        bot = only_b.find_bot(enterprise_id=None, team_id=team)
        assert bot is not None and (bot.bot_token, bot.bot_refresh_token) == (
            every_token(team)["bot_token"],
            every_token(team)["bot_refresh_token"],
        )


def test_reencrypt_encrypts_tokens_stored_in_plain_text(database: Database) -> None:
    b = Fernet.generate_key().decode()
    save_with_every_token(Installations(CLIENT_ID, database.engine), "T0A")  # before any key was set
    Installations(CLIENT_ID, database.engine).store.save(installation(team="T0B", token="xoxb-only-a-bot-token"))

    done = reencrypt(database.engine, Cipher([b]))

    assert (done.installation_rows, done.bot_rows, done.tokens, done.were_plain) == (2, 2, 8, 8)
    stored = raw_tokens(database)
    assert len(stored) == 12  # the user and refresh columns of T0B stay NULL
    for table, row, column, value in stored:
        if value is not None:
            assert value.startswith(PREFIX) and "xox" not in value, (table, row, column)
            Fernet(b.encode()).decrypt(value.removeprefix(PREFIX).encode())
    only_b = Installations(CLIENT_ID, database.engine, Cipher([b])).store
    found = only_b.find_installation(enterprise_id=None, team_id="T0A")
    assert found is not None and {n: getattr(found, n) for n in TOKEN_COLUMNS} == every_token("T0A")
    bot = only_b.find_bot(enterprise_id=None, team_id="T0B")
    assert bot is not None and bot.bot_token == "xoxb-only-a-bot-token" and bot.bot_refresh_token is None
    # run again: the same tokens once more, none plain any more
    again = reencrypt(database.engine, Cipher([b]))
    assert (again.tokens, again.were_plain) == (8, 0)


def test_reencrypt_changes_nothing_when_a_token_decrypts_with_no_key(database: Database, database_url: str) -> None:
    a, b, lost = (Fernet.generate_key().decode() for _ in range(3))
    save_with_every_token(Installations(CLIENT_ID, database.engine, Cipher([a])), "T0A")
    Installations(CLIENT_ID, database.engine).store.save(installation(team="T0P", token="xoxb-plain"))
    save_with_every_token(Installations(CLIENT_ID, database.engine, Cipher([lost])), "T0L")
    before = raw_tokens(database)

    result = run_reencrypt(database_url, f"{b},{a}")

    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert "cannot be decrypted with any key in COMPASS_ENCRYPTION_KEY; nothing was re-encrypted" in lines[0]
    assert "workspace T0L" in lines[0] and "row " in lines[0]
    assert raw_tokens(database) == before
    with pytest.raises(EncryptionKeyProblem, match="T0L"):
        reencrypt(database.engine, Cipher([b, a]))
    assert raw_tokens(database) == before


def test_reencrypt_without_a_key_refuses_with_exit_2(database: Database, database_url: str) -> None:
    Installations(CLIENT_ID, database.engine).store.save(installation(token="xoxb-plain"))
    before = raw_tokens(database)

    result = run_reencrypt(database_url, None)

    assert result.exit_code == 2
    assert result.stderr == "COMPASS_ENCRYPTION_KEY is not set: there is no key to re-encrypt the stored tokens with\n"
    assert raw_tokens(database) == before
