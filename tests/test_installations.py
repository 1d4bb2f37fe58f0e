"""Installations in the app's database: slack_sdk's stores on tables made by Alembic, tokens encrypted."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store.models.installation import Installation
from sqlalchemy import select

from bot.db.setup import Database
from bot.run.installations import Cipher, EncryptionKeyProblem, Installations

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
