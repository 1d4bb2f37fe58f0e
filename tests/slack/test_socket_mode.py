"""End to end in Socket Mode: ``compass serve --socket`` asks the fake Web API for a
WebSocket URL (apps.connections.open, with the app-level token), dials the fake Socket
Mode server below and gets envelopes shaped exactly as Slack pushes them. It must ack
every envelope over the socket and do the same work as over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlparse

import pytest
from conftest import SMALL_BANK
from fakeslack import APP_TOKEN, BOT_TOKEN, FakeSlack
from harness import COMPASS, Slack, button, buttons, measured, text_of
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

QUESTIONS = json.loads(Path(SMALL_BANK).read_text())["questions"]
CONNECT_TIMEOUT = 15.0  # process start (imports, migrations) plus the WebSocket handshake
ACK_TIMEOUT = 5.0  # Slack itself waits 3 s; a little slack for loaded CI machines
STOP_TIMEOUT = 8.0  # slack_sdk's built-in client needs up to ~3 s (its socket read timeout)


class FakeSocketMode:
    """Slack's side of Socket Mode on 127.0.0.1: says hello, pushes envelopes, collects acks."""

    def __init__(self) -> None:
        self._server = serve(self._session, "127.0.0.1", 0, compression=None)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._cond = threading.Condition()
        self._link: ServerConnection | None = None
        self.paths: list[str] = []
        self.acks: dict[str, dict[str, Any]] = {}
        self.unexpected: list[str] = []
        self.disconnected = threading.Event()

    @property
    def url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}/link"

    def __enter__(self) -> FakeSocketMode:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)

    def _session(self, ws: ServerConnection) -> None:
        with self._cond:
            self.paths.append(ws.request.path if ws.request else "")
        if ws.request is None or urlparse(ws.request.path).path != "/link":
            ws.close(1008, "unknown link")
            return
        ws.send(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "debug_info": {"host": "applink-fake", "approximate_connection_time": 18060},
                    "connection_info": {"app_id": "A0COMPASS"},
                }
            )
        )
        with self._cond:
            self._link = ws
            self._cond.notify_all()
        try:
            for raw in ws:
                message = json.loads(raw)
                with self._cond:
                    if isinstance(message, dict) and "envelope_id" in message:
                        self.acks[message["envelope_id"]] = message
                    else:
                        self.unexpected.append(str(raw))
                    self._cond.notify_all()
        except ConnectionClosed:
            pass  # slack_sdk's built-in client drops the TCP connection without a close frame
        finally:
            with self._cond:
                if self._link is ws:
                    self._link = None
            self.disconnected.set()

    def wait_connected(self, proc: subprocess.Popen[bytes], log: Path) -> None:
        deadline = time.monotonic() + CONNECT_TIMEOUT
        with self._cond:
            while self._link is None:
                if proc.poll() is not None:
                    raise AssertionError(f"compass serve exited with {proc.returncode}:\n{log.read_text()}")
                if time.monotonic() > deadline:
                    raise AssertionError(f"the app never opened the socket:\n{log.read_text()}")
                self._cond.wait(timeout=0.1)

    def push(self, kind: str, payload: dict[str, Any], accepts_response_payload: bool, **extra: Any) -> str:
        """Send one envelope as Slack does; returns its envelope_id."""
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": kind,
            "accepts_response_payload": accepts_response_payload,
            **extra,
        }
        with self._cond:
            link = self._link
        assert link is not None, "no open socket"
        link.send(json.dumps(envelope))
        return envelope_id

    def ack(self, envelope_id: str, timeout: float = ACK_TIMEOUT) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while envelope_id not in self.acks:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no ack for envelope {envelope_id} within {timeout}s")
                self._cond.wait(timeout=left)
            return self.acks[envelope_id]


@dataclass
class Env:
    fake: FakeSlack
    socket: FakeSocketMode
    proc: subprocess.Popen[bytes]
    log: Path
    slack: Slack  # only its payload builders: nothing goes over HTTP here

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"no exit within {STOP_TIMEOUT}s of SIGTERM:\n{self.log.read_text()}") from None


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    with FakeSlack() as fake, FakeSocketMode() as socket:
        fake.socket_url = socket.url
        log = tmp_path / "serve.log"
        environment = {
            "PATH": os.environ.get("PATH", ""),
            **measured(),
            "HOME": str(tmp_path),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_API_URL": fake.api_url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'compass.db'}",
            "COMPASS_QUESTIONS": str(SMALL_BANK),
            "LOG_LEVEL": "INFO",
        }
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [str(COMPASS), "serve", "--socket", "--no-scheduler"], env=environment, stdout=out, stderr=out
            )
        try:
            socket.wait_connected(proc, log)
            yield Env(fake, socket, proc, log, Slack("", fake.response_url()))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert fake.block_errors == [], fake.block_errors


def as_command(body: str) -> dict[str, Any]:
    """A slash command's fields, as the slash_commands envelope carries them (a JSON object)."""
    return dict(parse_qsl(body))


def as_interaction(body: str) -> dict[str, Any]:
    """The block_actions payload, as the interactive envelope carries it (not form-encoded)."""
    return dict(json.loads(parse_qs(body)["payload"][0]))


def test_socket_mode_acks_every_envelope_and_runs_the_flow(env: Env) -> None:
    user = "U0SOCKET1"
    fake, socket = env.fake, env.socket
    opened = fake.calls_to("apps.connections.open")
    assert len(opened) == 1 and opened[0].token == APP_TOKEN
    assert urlparse(socket.paths[0]).path == "/link"

    # /compass start: the ack carries the ephemeral answer, then the first question lands in the DM.
    command = socket.push("slash_commands", as_command(env.slack.command_body(user, "start")), True)
    ack = socket.ack(command)
    assert set(ack) == {"envelope_id", "payload"}
    assert "Check your DMs" in ack["payload"]["text"]
    first = fake.wait_for(lambda: fake.dm_messages(user) and fake.dm_messages(user)[-1])
    assert QUESTIONS[0]["text"] in text_of(first)
    assert f"Question 1 of {len(QUESTIONS)}" in text_of(first)

    # A click on an answer: a bare ack, then the same message moves on to question 2.
    click = env.slack.click_body(user, button(first, "answer_2"), first.channel, first.ts)
    interaction = socket.push("interactive", as_interaction(click), False)
    assert socket.ack(interaction) == {"envelope_id": interaction}

    def moved_on() -> bool:
        messages = fake.dm_messages(user)
        return len(messages) == 1 and QUESTIONS[1]["text"] in text_of(messages[0])

    fake.wait_for(moved_on)
    second = fake.dm_messages(user)[0]
    assert second.ts == first.ts and second.updates >= 1
    assert f"Question 2 of {len(QUESTIONS)}" in text_of(second)
    assert [b["action_id"] for b in buttons(second)][:4] == ["answer_1", "answer_2", "answer_3", "answer_4"]

    # app_home_opened through the Events API: ack, then the Home tab is published.
    opened_home = json.loads(env.slack.event_body(user))
    event = socket.push("events_api", opened_home, False, retry_attempt=0, retry_reason="")
    assert socket.ack(event) == {"envelope_id": event}
    home = fake.wait_for(lambda: fake.views.get(user))
    assert home["type"] == "home"

    # Slack's redelivery of the same event (new envelope, same event_id) is acked and dropped.
    retry = socket.push("events_api", opened_home, False, retry_attempt=1, retry_reason="timeout")
    assert socket.ack(retry) == {"envelope_id": retry}
    time.sleep(0.5)  # a duplicate would be handled right after its ack: give it the chance to show
    assert [c.params["user_id"] for c in fake.calls_to("views.publish")] == [user]

    assert socket.unexpected == []
    assert "Traceback" not in env.log.read_text()


def test_sigterm_closes_the_socket_and_exits_zero(env: Env) -> None:
    user = "U0SOCKET2"
    command = env.socket.push("slash_commands", as_command(env.slack.command_body(user, "start")), True)
    env.socket.ack(command)
    env.fake.wait_for(lambda: env.fake.dm_messages(user))
    assert env.stop() == 0, env.log.read_text()  # within STOP_TIMEOUT, or stop() fails
    assert env.socket.disconnected.wait(timeout=2), "the socket stayed open after the process exited"
    assert "Traceback" not in env.log.read_text()


def test_a_refused_app_token_stops_with_a_clear_message(tmp_path: Path) -> None:
    with FakeSlack() as fake:
        environment = {
            "PATH": os.environ.get("PATH", ""),
            **measured(),
            "HOME": str(tmp_path),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": "xapp-1-revoked",
            "SLACK_API_URL": fake.api_url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'compass.db'}",
            "COMPASS_QUESTIONS": str(SMALL_BANK),
        }
        result = subprocess.run(
            [str(COMPASS), "serve", "--socket", "--no-scheduler"],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert "SLACK_APP_TOKEN" in result.stderr and "invalid_auth" in result.stderr
    assert "Traceback" not in result.stderr
