"""Drive the real app over HTTP: start ``compass serve --http`` and send requests signed
and shaped exactly as Slack sends them. Shared by the end-to-end tests and bench/."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fakeslack import BOT_TOKEN, TEAM_ID, message_response_url
from slack_sdk.signature import SignatureVerifier

SIGNING_SECRET = "test-signing-secret"
ROOT = Path(__file__).resolve().parents[1]
COMPASS = Path(sys.executable).parent / "compass"


def measured() -> dict[str, str]:
    """The variables that let coverage measure a child process too (set by coverage's subprocess patch)."""
    return {k: v for k, v in os.environ.items() if k.startswith("COVERAGE_")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Reply:
    status: int
    body: str
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class AppProcess:
    """``compass serve --http`` in a subprocess, against the given fake Slack and database."""

    def __init__(
        self,
        api_url: str,
        database_url: str,
        questions: Path,
        extra_env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
        cwd: Path | None = None,
    ) -> None:
        self.port = free_port()
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            **measured(),
            "HOME": os.environ.get("HOME", "/tmp"),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": api_url,
            "DATABASE_URL": database_url,
            "COMPASS_QUESTIONS": str(questions),
            "PORT": str(self.port),
            "LOG_LEVEL": "WARNING",
            **(extra_env or {}),
        }
        self.args = args
        # The worker sidecar runs `python -m bot`, which finds a bot/ in its working directory first.
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(f"/tmp/compass-serve-{self.port}.log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    name = "compass serve"

    def command(self) -> list[str]:
        # The scheduler has its own tests; here it would only add calls to the fake.
        scheduler = "--with-scheduler" in self.args or "--no-scheduler" in self.args
        return [str(COMPASS), "serve", "--http", *(() if scheduler else ("--no-scheduler",)), *self.args]

    def start(self, timeout: float = 30.0) -> AppProcess:
        log = self.log_path.open("ab")
        # A session of its own, so that a test can kill it with all its children (kill_group).
        self.proc = subprocess.Popen(
            self.command(), env=self.env, stdout=log, stderr=log, start_new_session=True, cwd=self.cwd
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if self.get("/healthz").status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not become healthy:\n{self.log()}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill_group(self) -> None:
        """SIGKILL the whole process group at once, as a crashed machine would: no clean-up anywhere."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def children(self) -> list[int]:
        """Pids of the processes this one started: gunicorn's workers and the sidecars (Linux /proc)."""
        assert self.proc is not None
        return children_of(self.proc.pid)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> AppProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def get(self, path: str) -> Reply:
        return request("GET", self.url + path, "", {})


def children_of(pid: int) -> list[int]:
    """Pids of the processes ``pid`` started (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def request(method: str, url: str, body: str, headers: dict[str, str]) -> Reply:
    host_port = url.split("//", 1)[1].split("/", 1)[0]
    path = "/" + url.split("//", 1)[1].split("/", 1)[1] if "/" in url.split("//", 1)[1] else "/"
    host, port = host_port.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    started = time.perf_counter()
    try:
        conn.request(method, path, body=body.encode(), headers=headers)
        response = conn.getresponse()
        text = response.read().decode()
        return Reply(response.status, text, time.perf_counter() - started)
    finally:
        conn.close()


def signed_headers(
    body: str, content_type: str, timestamp: int | None = None, secret: str = SIGNING_SECRET
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": SignatureVerifier(secret).generate_signature(timestamp=ts, body=body),
    }


FORM = "application/x-www-form-urlencoded"


class Slack:
    """Sends what Slack would send to the app's request URL."""

    def __init__(self, app_url: str, response_url: str) -> None:
        self.events_url = app_url + "/slack/events"
        self.response_url = response_url

    def send(self, body: str, content_type: str, headers: dict[str, str] | None = None, **sign: Any) -> Reply:
        all_headers = signed_headers(body, content_type, **sign)
        all_headers.update(headers or {})
        return request("POST", self.events_url, body, all_headers)

    def command_body(self, user: str, text: str, team: str = TEAM_ID, channel: str = "C0GENERAL") -> str:
        return urlencode(
            {
                "token": "verification-token-unused",
                "team_id": team,
                "team_domain": "test",
                "channel_id": channel,
                "channel_name": "general",
                "user_id": user,
                "user_name": user.lower(),
                "command": "/compass",
                "text": text,
                "api_app_id": "A0COMPASS",
                "is_enterprise_install": "false",
                "response_url": self.response_url,
                "trigger_id": f"{uuid.uuid4().int % 10**10}.1.abc",
            }
        )

    def response_url_for(self, user: str, channel: str | None, ts: str | None) -> str:
        """A click's response_url: for a click on a message, one that names the message (as Slack's does)."""
        if not (channel and ts) or "/response/" not in self.response_url:
            return self.response_url
        return message_response_url(self.response_url.split("/response/")[0], user, (channel, ts))

    def command(self, user: str, text: str, team: str = TEAM_ID, **kw: Any) -> Reply:
        return self.send(self.command_body(user, text, team), FORM, **kw)

    def click_body(
        self,
        user: str,
        button: dict[str, Any],
        channel: str | None,
        ts: str | None,
        team: str = TEAM_ID,
        block_id: str = "b",
    ) -> str:
        container: dict[str, Any]
        if channel and ts:
            container = {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False}
        else:
            container = {"type": "view", "view_id": "V1"}
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team},
            "api_app_id": "A0COMPASS",
            "token": "verification-token-unused",
            "container": container,
            "trigger_id": f"{uuid.uuid4().int % 10**10}.1.abc",
            "team": {"id": team, "domain": "test"},
            "enterprise": None,
            "is_enterprise_install": False,
            "response_url": self.response_url_for(user, channel, ts),
            "actions": [
                {
                    "type": "button",
                    "action_id": button["action_id"],
                    "block_id": block_id,
                    "text": button.get("text", {"type": "plain_text", "text": "x"}),
                    "value": button.get("value", ""),
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        if channel and ts:
            payload["channel"] = {"id": channel, "name": "directmessage"}
            payload["message"] = {"type": "message", "ts": ts, "text": "", "user": "U0BOT"}
        return "payload=" + quote(json.dumps(payload))

    def click(
        self, user: str, button: dict[str, Any], channel: str | None, ts: str | None, team: str = TEAM_ID, **kw: Any
    ) -> Reply:
        return self.send(self.click_body(user, button, channel, ts, team), FORM, **kw)

    def event_body(self, user: str, event_id: str | None = None, tab: str = "home", team: str = TEAM_ID) -> str:
        return json.dumps(
            {
                "token": "verification-token-unused",
                "team_id": team,
                "api_app_id": "A0COMPASS",
                "event": {
                    "type": "app_home_opened",
                    "user": user,
                    "channel": f"D{user}",
                    "tab": tab,
                    "event_ts": f"{time.time():.6f}",
                },
                "type": "event_callback",
                "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
                "event_time": int(time.time()),
                "authorizations": [{"team_id": team, "user_id": "U0BOT", "is_bot": True}],
            }
        )

    def file_shared_body(self, user: str, file: dict[str, Any], team: str = TEAM_ID) -> str:
        """The message event of a file a person shared in the app's DM (subtype file_share)."""
        ts = f"{time.time():.6f}"
        return json.dumps(
            {
                "token": "verification-token-unused",
                "team_id": team,
                "api_app_id": "A0COMPASS",
                "event": {
                    "type": "message",
                    "subtype": "file_share",
                    "text": "",
                    "user": user,
                    "channel": f"D{user}",
                    "channel_type": "im",
                    "files": [file],
                    "upload": False,
                    "ts": ts,
                    "event_ts": ts,
                },
                "type": "event_callback",
                "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
                "event_time": int(time.time()),
                "authorizations": [{"team_id": team, "user_id": "U0BOT", "is_bot": True}],
            }
        )

    def file_shared(self, user: str, file: dict[str, Any], team: str = TEAM_ID) -> Reply:
        return self.send(self.file_shared_body(user, file, team), "application/json")

    def home_opened(self, user: str, event_id: str | None = None, retry: int | None = None, **kw: Any) -> Reply:
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else None
        return self.send(self.event_body(user, event_id), "application/json", headers=headers, **kw)


def buttons(message: Any) -> list[dict[str, Any]]:
    """Every button in a message's (or view's) blocks."""
    blocks = message.blocks if hasattr(message, "blocks") else message["blocks"]
    found = []
    for block in blocks:
        if block.get("type") == "actions":
            found.extend(e for e in block["elements"] if e.get("type") == "button")
    return found


def button(message: Any, action_id: str) -> dict[str, Any]:
    for b in buttons(message):
        if b["action_id"] == action_id:
            return b
    raise AssertionError(f"no button {action_id!r} in {[b['action_id'] for b in buttons(message)]}")


def text_of(message: Any) -> str:
    blocks = message.blocks if hasattr(message, "blocks") else message["blocks"]
    return json.dumps(blocks, ensure_ascii=False)
