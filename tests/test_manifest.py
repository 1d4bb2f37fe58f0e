"""manifest.yml is valid for Slack and declares everything the code uses."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import yaml

from bot.slack import ids

ROOT = Path(__file__).resolve().parents[1]
# Slack's published schema (slackapi/manifest-schema, MIT), vendored so the check never skips.
SCHEMA = ROOT / "tests" / "data" / "manifest.schema.1.0.0.json"

# Bot scopes each Web API method needs (Slack's method reference pages).
SCOPES_BY_METHOD = {
    "chat_postMessage": {"chat:write"},
    "chat_update": {"chat:write"},
    "chat_postEphemeral": {"chat:write"},
    "conversations_open": {"im:write"},
    "conversations_history": {"im:history"},  # only ever on the bot's DMs
    "views_publish": set(),
    "views_open": set(),  # needs no scope: the trigger_id of a click authorises it
    "users_info": {"users:read"},
    "users_list": {"users:read"},
    "conversations_members": {"channels:read", "groups:read"},
    "conversations_info": {"channels:read", "groups:read"},
    "auth_test": set(),
    "files_upload_v2": {"files:write"},  # files.getUploadURLExternal + files.completeUploadExternal
    "files_info": {"files:read"},  # and the download of the file it describes (url_private)
}


def manifest(name: str = "manifest.yml") -> dict:
    return yaml.safe_load((ROOT / name).read_text())


def source() -> str:
    return "\n".join(p.read_text() for p in (ROOT / "bot").rglob("*.py"))


def test_manifest_matches_slacks_published_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(manifest(), schema)


def test_manifest_declares_the_command_and_events_the_code_listens_to() -> None:
    data = manifest()
    commands = {c["command"] for c in data["features"]["slash_commands"]}
    assert ids.COMMAND in commands
    events = set(re.findall(r'app\.event\("([a-z_]+)"\)', source()))
    # A "message" listener hears the message.* subscriptions (message.im: the app's DM).
    subscribed = {e.split(".")[0] for e in data["settings"]["event_subscriptions"]["bot_events"]}
    assert events and events <= subscribed
    assert data["settings"]["interactivity"]["is_enabled"] is True
    assert data["features"]["app_home"]["home_tab_enabled"] is True


def test_manifest_has_every_scope_the_code_needs_and_no_more() -> None:
    # Web API calls look like client.<family>_<method>(...); other client methods are not API calls.
    used = set(
        re.findall(r"client\.((?:auth|chat|conversations|users|views|apps|team|files)_[A-Za-z0-9_]+)\(", source())
    )
    unknown = used - set(SCOPES_BY_METHOD)
    assert not unknown, f"add the scopes of {unknown} to SCOPES_BY_METHOD and manifest.yml"
    needed = {"commands"} | set().union(*(SCOPES_BY_METHOD[m] for m in used))
    declared = set(manifest()["oauth_config"]["scopes"]["bot"])
    assert needed <= declared, f"missing scopes: {needed - declared}"
    assert declared <= needed, f"scopes the code never uses: {declared - needed}"


def test_the_distributed_manifest_is_the_same_app_over_http_with_oauth() -> None:
    schema = json.loads(SCHEMA.read_text())
    single, distributed = manifest(), manifest("manifest.distributed.yml")
    jsonschema.validate(distributed, schema)
    assert distributed["settings"]["socket_mode_enabled"] is False
    assert distributed["oauth_config"]["redirect_urls"] == ["https://YOUR-HOST/slack/oauth_redirect"]
    assert distributed["settings"]["event_subscriptions"]["request_url"] == "https://YOUR-HOST/slack/events"
    assert distributed["settings"]["interactivity"]["request_url"] == "https://YOUR-HOST/slack/events"
    assert all(c["url"] == "https://YOUR-HOST/slack/events" for c in distributed["features"]["slash_commands"])
    events = set(distributed["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_uninstalled", "tokens_revoked"} <= events
    assert events == set(single["settings"]["event_subscriptions"]["bot_events"])
    assert distributed["oauth_config"]["scopes"] == single["oauth_config"]["scopes"]
    assert distributed["display_information"] == single["display_information"]


def test_the_install_flow_asks_for_the_manifests_bot_scopes() -> None:
    from bot.slack.scopes import BOT_SCOPES

    assert list(BOT_SCOPES) == manifest()["oauth_config"]["scopes"]["bot"]


def test_procfile_runs_web_worker_release_and_one_scheduler() -> None:
    lines = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    # The worker is its own process type, so web and worker dynos scale separately.
    assert lines["web"].strip() == "compass serve --http --no-worker"
    assert lines["worker"].strip() == "compass worker"
    assert lines["release"].strip() == "compass db upgrade"
    assert lines["scheduler"].strip() == "compass scheduler"
