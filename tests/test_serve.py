"""`compass serve` refuses to start on bad configuration, with every problem in one message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import SMALL_BANK
from harness import measured

COMPASS = str(Path(sys.executable).parent / "compass")


def serve(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": os.environ.get("PATH", ""),
        **measured(),
        "HOME": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
        "COMPASS_QUESTIONS": str(SMALL_BANK),
    }
    return subprocess.run([COMPASS, "serve", *args], env={**base, **env}, capture_output=True, text=True, timeout=60)


def test_http_mode_lists_every_missing_secret(tmp_path: Path) -> None:
    result = serve(tmp_path)
    assert result.returncode != 0
    assert "SLACK_BOT_TOKEN: missing" in result.stderr and "SLACK_SIGNING_SECRET: missing" in result.stderr
    assert "Traceback" not in result.stderr


def test_socket_mode_needs_the_app_token(tmp_path: Path) -> None:
    result = serve(tmp_path, "--socket", SLACK_BOT_TOKEN="xoxb-1")
    assert result.returncode != 0
    assert "SLACK_APP_TOKEN: missing" in result.stderr and "SLACK_BOT_TOKEN" not in result.stderr


def test_wrong_values_are_reported_together(tmp_path: Path) -> None:
    result = serve(tmp_path, PORT="http", SLACK_API_URL="slack.com/api", SLACK_BOT_TOKEN="xoxp-user-token")
    assert result.returncode != 0
    for name in ("PORT", "SLACK_API_URL", "SLACK_BOT_TOKEN"):
        assert f"{name}:" in result.stderr


def test_an_invalid_question_bank_stops_the_app_with_located_problems(tmp_path: Path) -> None:
    bank = json.loads(SMALL_BANK.read_text())
    bank["questions"][2]["weight"] = 0
    bank["questions"][4]["dimension"] = "nope"
    broken = tmp_path / "bank.json"
    broken.write_text(json.dumps(bank))
    result = serve(tmp_path, SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s", COMPASS_QUESTIONS=str(broken))
    assert result.returncode != 0
    assert "$.questions[2].weight" in result.stderr and "$.questions[4].dimension" in result.stderr


def test_scheduled_work_needs_the_bot_token(tmp_path: Path) -> None:
    base = {
        "PATH": os.environ.get("PATH", ""),
        **measured(),
        "HOME": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
    }
    for args in (["jobs", "run-due"], ["scheduler"], ["digest", "--channel", "C1", "--now"]):
        result = subprocess.run([COMPASS, *args], env=base, capture_output=True, text=True, timeout=60)
        assert result.returncode != 0, args
        assert "SLACK_BOT_TOKEN: missing" in result.stderr and "Traceback" not in result.stderr
