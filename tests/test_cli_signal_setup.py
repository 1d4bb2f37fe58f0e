"""`compass signals add KIND` prints what to paste on the sender's side: the working URL and the
secret once, where it goes (a settings field, MLflow's create_webhook call, Alertmanager YAML,
curl lines). Through the real command on a SQLite file."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from bot.cli.main import main

PUBLIC = "https://compass.example.com"


def add(tmp_path: Path, kind: str, *extra: str, public: str | None = PUBLIC) -> tuple[Result, str, str]:
    """The command's result, the source's full webhook URL, and the secret it printed."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'compass.db'}", "HOME": str(tmp_path), "COMPASS_PUBLIC_URL": public}
    result = CliRunner().invoke(main, ["signals", "add", kind, "--channel", "C0TEAM", *extra], env=env)
    assert result.exit_code == 0, result.output
    path = re.search(r"^webhook path: (/signals/\S+)", result.stdout, re.M)
    assert path is not None
    found = re.search(
        r'(?:^   Secret(?: token)?: |secret="|^COMPASS_TOKEN=|credentials: ")([\w-]+)', result.stdout, re.M
    )
    return result, (public or "https://YOUR-HOST") + path.group(1), found.group(1) if found else ""


def code_after(output: str, first_line: str) -> str:
    """The pasted block whose first line starts with ``first_line``, up to the blank line after it."""
    found = re.search(rf"^{re.escape(first_line)}", output, re.M)
    assert found is not None, output
    start = found.start()
    end = output.find("\n\n", start)
    return output[start : end if end >= 0 else None]


def test_github_names_the_url_either_content_type_the_secret_events_and_patterns(tmp_path: Path) -> None:
    result, url, secret = add(tmp_path, "github", "--training-pattern", "retrain")
    out = result.stdout

    assert f"   Payload URL: {url}\n" in out
    assert "Content type: application/json  (or GitHub's default, application/x-www-form-urlencoded)" in out
    assert out.count(secret) == 1 and len(secret) > 30
    assert "Deployment statuses, Pushes, Issues, Workflow runs, Pull requests, Pull request reviews" in out
    assert "contains `retrain` are training runs" in out and "No check patterns are set" in out
    assert "shown this once: `compass signals rotate" in out


def test_gitlab_names_the_url_the_secret_token_and_the_triggers(tmp_path: Path) -> None:
    result, url, secret = add(tmp_path, "gitlab")
    out = result.stdout

    assert f"   URL: {url}\n" in out and f"   Secret token: {secret}\n" in out
    assert out.count(secret) == 1
    assert "Push events, Deployment events, Issues events, Pipeline events, Merge request events" in out
    assert "The token is shown this once" in out


def test_mlflow_prints_a_create_webhook_call_with_the_url_events_and_secret(tmp_path: Path) -> None:
    result, url, secret = add(tmp_path, "mlflow")
    call = code_after(result.stdout, "from mlflow import MlflowClient")

    tree = ast.parse(call)
    (create,) = [
        n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "create_webhook"
    ]
    kwargs = {k.arg: ast.literal_eval(k.value) for k in create.keywords}
    assert kwargs == {
        "name": "compass",
        "url": url,
        "events": ["model_version.created", "model_version_alias.created", "model_version_tag.set"],
        "secret": secret,
    }
    assert result.stdout.count(secret) == 1


def test_alertmanager_prints_a_receiver_whose_yaml_parses_with_the_url_and_bearer_token(tmp_path: Path) -> None:
    result, url, token = add(tmp_path, "alertmanager")

    parsed = yaml.safe_load(code_after(result.stdout, "receivers:"))
    (receiver,) = parsed["receivers"]
    (hook,) = receiver["webhook_configs"]
    assert receiver["name"] == "compass"
    assert hook == {
        "url": url,
        "send_resolved": True,
        "max_alerts": 0,
        "http_config": {"authorization": {"type": "Bearer", "credentials": token}},
    }
    assert result.stdout.count(token) == 1


def test_events_prints_curl_lines_for_a_deployment_and_a_check_with_the_token_once(tmp_path: Path) -> None:
    result, url, token = add(tmp_path, "events", "--environment", "prod")
    lines = code_after(result.stdout, "COMPASS_TOKEN=").splitlines()

    assert lines[0] == f"COMPASS_TOKEN={token}" and result.stdout.count(token) == 1
    deployment, check = (shlex.split(line) for line in lines[1:])
    for words in (deployment, check):
        assert words[:5] == ["curl", "-fsS", "-X", "POST", url]
        assert "Authorization: Bearer $COMPASS_TOKEN" in words and "Content-Type: application/json" in words
    assert deployment[-1].startswith('{"type":"deployment","id":"build-42","at":"$(date -u +%FT%TZ)"')
    assert deployment[-1].endswith('"environment":"prod"}')
    assert check[-1] == (
        '{"type":"check","id":"build-42-validation","at":"$(date -u +%FT%TZ)",'
        '"check":"data validation","status":"passed"}'
    )


def test_without_a_public_url_a_placeholder_and_with_a_chosen_secret_none_is_printed(tmp_path: Path) -> None:
    result, url, _ = add(tmp_path, "mlflow", "--secret", "my-own-secret", public=None)

    assert url.startswith("https://YOUR-HOST/signals/mlflow/") and f'url="{url}"' in result.stdout
    assert "my-own-secret" not in result.stdout and 'secret="<the secret you chose>"' in result.stdout
    assert "Set COMPASS_PUBLIC_URL" in result.stdout and "shown this once" not in result.stdout


@pytest.mark.parametrize("kind", ["github", "gitlab", "mlflow", "events", "alertmanager"])
def test_every_kind_keeps_the_source_and_path_lines(tmp_path: Path, kind: str) -> None:
    result, url, secret = add(tmp_path, kind)

    assert re.match(rf"^source [0-9a-f]{{16}} \({kind}\) for channel C0TEAM\n", result.stdout)
    assert f"(POST {url})" in result.stdout and secret
