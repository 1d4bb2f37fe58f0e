"""`/compass signals add KIND`'s answer, shown only to the person who asked: the same set-up guide
as the terminal's (bot/domain/signal_setup.py) as mrkdwn, within Slack's limits."""

from __future__ import annotations

import ast
import json
import re
from datetime import UTC, datetime

import pytest
import yaml
from slack_sdk.models.blocks import Block

from bot.app.signals import NewSource, SourceView
from bot.domain.signals import SourceKind
from bot.slack.blocks.common import validate_blocks
from bot.slack.blocks.signals import build_source_added_message

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
PUBLIC = "https://compass.example.com/"
SECRET = "s3cr3t-Tok_en-0123456789abcdefghijklmnop"


def added(kind: SourceKind, secret: str | None = SECRET, **settings: object) -> NewSource:
    view = SourceView(
        id="0123456789abcdef",
        kind=kind,
        channel_id="C0TEAM",
        environment="production",
        training_pattern="train",
        serving_aliases=("production", "champion"),
        created_by="U0ASKER",
        created_at=NOW,
        **settings,  # type: ignore[arg-type]
    )
    return NewSource(view, secret)


def rendered(new: NewSource, public_url: str | None = PUBLIC) -> str:
    """The message's mrkdwn, checked against Slack's limits, with Slack's escapes undone."""
    message = build_source_added_message(new, public_url)
    blocks = message.as_kwargs()["blocks"]
    assert all(parsed is not None for parsed in Block.parse_all(blocks))
    validate_blocks(blocks)
    assert SECRET not in message.text  # notifications and screen-reader text never carry it
    texts = [b["text"]["text"] if b["type"] == "section" else b["elements"][0]["text"] for b in blocks]
    return "\n".join(texts).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def code_block(text: str) -> str:
    found = re.search(r"```(.*?)```", text, re.S)
    assert found is not None, text
    return found.group(1)


URL = "https://compass.example.com/signals/{kind}/0123456789abcdef"


def test_github_shows_the_url_both_content_types_the_secret_once_and_the_events_to_tick() -> None:
    text = rendered(added(SourceKind.GITHUB, check_patterns=("validate", "model tests")))

    assert f"*Payload URL:* `{URL.format(kind='github')}`" in text
    assert "*Content type:* `application/json` (or GitHub's default, application/x-www-form-urlencoded)" in text
    assert f"*Secret:* `{SECRET}`" in text and text.count(SECRET) == 1
    assert "*Deployment statuses*, *Pushes*, *Issues*, *Workflow runs*, *Pull requests*, *Pull request reviews*" in text
    assert "contains `validate`, `model tests` are checks" in text
    assert "shown this once; `compass signals rotate 0123456789abcdef`" in text


def test_gitlab_shows_the_url_the_secret_token_and_the_triggers() -> None:
    text = rendered(added(SourceKind.GITLAB))

    assert f"*URL:* `{URL.format(kind='gitlab')}`" in text and f"*Secret token:* `{SECRET}`" in text
    assert "*Push events*, *Deployment events*, *Issues events*, *Pipeline events*, *Merge request events*" in text
    assert text.count(SECRET) == 1


def test_mlflow_shows_the_create_webhook_call_as_a_code_block() -> None:
    text = rendered(added(SourceKind.MLFLOW))

    call = ast.parse(code_block(text)).body[-1]
    assert isinstance(call, ast.Expr) and isinstance(call.value, ast.Call)
    kwargs = {k.arg: ast.literal_eval(k.value) for k in call.value.keywords}
    assert kwargs["url"] == URL.format(kind="mlflow") and kwargs["secret"] == SECRET
    assert kwargs["events"] == ["model_version.created", "model_version_alias.created", "model_version_tag.set"]
    assert text.count(SECRET) == 1


def test_alertmanager_shows_a_receiver_whose_yaml_parses() -> None:
    text = rendered(added(SourceKind.ALERTMANAGER))

    (receiver,) = yaml.safe_load(code_block(text))["receivers"]
    (hook,) = receiver["webhook_configs"]
    assert hook["url"] == URL.format(kind="alertmanager") and hook["send_resolved"] is True
    assert hook["http_config"]["authorization"] == {"type": "Bearer", "credentials": SECRET}
    assert "The token is shown this once" in text


def test_events_shows_the_curl_lines_with_the_token_once() -> None:
    text = rendered(added(SourceKind.EVENTS))

    lines = code_block(text).splitlines()
    assert lines[0] == f"COMPASS_TOKEN={SECRET}" and text.count(SECRET) == 1
    assert all(URL.format(kind="events") in line and "Bearer $COMPASS_TOKEN" in line for line in lines[1:])
    assert '"type":"deployment"' in lines[1] and '"check":"data validation","status":"passed"' in lines[2]


@pytest.mark.parametrize("kind", list(SourceKind))
def test_every_kind_fits_slack_and_without_a_public_url_says_how_to_get_one(kind: SourceKind) -> None:
    text = rendered(added(kind, secret=None), public_url=None)

    assert f"https://YOUR-HOST/signals/{kind.value}/0123456789abcdef" in text
    assert "Set `COMPASS_PUBLIC_URL`" in text and "shown this once" not in text
    assert "you chose>" in text  # where the secret would go, escaped for Slack in the message itself
    assert "&lt;" in json.dumps(build_source_added_message(added(kind, secret=None), None).as_kwargs())
