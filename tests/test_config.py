"""Settings parsed from the environment: working days and hours."""

from __future__ import annotations

import pytest

from bot.config import parse_work_days, parse_work_hours


def test_working_hours_parse_lists_and_ranges() -> None:
    assert parse_work_days("mon-fri") == frozenset(range(5))
    assert parse_work_days("tue, thu") == frozenset({1, 3})


@pytest.mark.parametrize(
    "days,hours,message",
    [
        ("tue,funday", "10-16", "funday"),
        ("fri-mon", "10-16", "backwards"),
        ("tue", "16-10", "start < end"),
        ("tue", "ten-four", "10-16"),
        ("tue", "0-25", "<= 24"),
    ],
)
def test_working_hours_reject_bad_settings_with_the_reason(days: str, hours: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_work_days(days)
        parse_work_hours(hours)


DISTRIBUTED = {"SLACK_CLIENT_ID": "1111.2222", "SLACK_CLIENT_SECRET": "secret", "SLACK_SIGNING_SECRET": "s"}


def test_client_id_and_secret_without_a_bot_token_is_the_distributed_mode() -> None:
    from bot.config import Settings

    settings = Settings.from_env(DISTRIBUTED)
    assert settings.distributed
    settings.require_slack("http")
    settings.require_slack("api")  # the worker and the scheduler take each workspace's token
    assert not Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1"}).distributed


@pytest.mark.parametrize(
    "env,message",
    [
        ({"SLACK_CLIENT_ID": "1111.2222"}, "SLACK_CLIENT_SECRET: missing"),
        ({"SLACK_CLIENT_SECRET": "secret"}, "SLACK_CLIENT_ID: missing"),
        ({**DISTRIBUTED, "SLACK_BOT_TOKEN": "xoxb-1"}, "set one, not both"),
        ({"COMPASS_ENCRYPTION_KEY": "not-a-key"}, "Fernet key"),
        ({"COMPASS_PURGE_AFTER_DAYS": "-1"}, "COMPASS_PURGE_AFTER_DAYS"),
    ],
)
def test_each_oauth_misconfiguration_is_one_clear_line(env: dict[str, str], message: str) -> None:
    from bot.config import ConfigError, Settings

    with pytest.raises(ConfigError, match=message) as raised:
        Settings.from_env(env)
    assert len(raised.value.problems) == 1


def test_the_distributed_mode_refuses_socket_mode_and_needs_the_signing_secret() -> None:
    from bot.config import ConfigError, Settings

    with pytest.raises(ConfigError, match="Socket Mode is for one workspace"):
        Settings.from_env(DISTRIBUTED).require_slack("socket")
    without = {k: v for k, v in DISTRIBUTED.items() if k != "SLACK_SIGNING_SECRET"}
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        Settings.from_env(without).require_slack("http")


def test_several_encryption_keys_are_accepted_the_first_one_encrypting() -> None:
    from cryptography.fernet import Fernet

    from bot.config import Settings

    keys = [Fernet.generate_key().decode() for _ in range(2)]
    assert Settings.from_env({"COMPASS_ENCRYPTION_KEY": " , ".join(keys)}).encryption_keys == keys
