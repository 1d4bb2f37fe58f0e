"""The report's radar chart end to end: ``compass serve --http`` against the fake Slack, signed
requests, the upload through files_upload_v2's three steps; and without the files:write scope,
the report all the same and one log line. The web process never loads the plotting library."""

from __future__ import annotations

import json
import os
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SMALL_BANK
from fakeslack import FakeSlack, Upload
from harness import AppProcess, Slack, button, children_of, text_of

from bot.slack.work.charts import CHART_NICENESS

QUESTIONS = json.loads(Path(SMALL_BANK).read_text())["questions"]
REPORT = "Your MLOps maturity report"
MISSING_SCOPE_LINE = "cannot upload files (missing_scope"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeSlack, AppProcess, Slack]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('charts') / 'compass.db'}"
    with FakeSlack() as fake, AppProcess(fake.api_url, url, SMALL_BANK) as app:
        yield fake, app, Slack(app.url, fake.response_url())
        assert fake.block_errors == [], fake.block_errors


def complete(fake: FakeSlack, slack: Slack, user: str, action: str) -> None:
    """/compass start, every question answered with ``action``, until the report is in the DM."""
    before = len(fake.dm_messages(user))
    slack.command(user, "start")
    for q in QUESTIONS:

        def shows(q=q):  # type: ignore[no-untyped-def]
            messages = fake.dm_messages(user)
            return len(messages) > before and q["text"] in text_of(messages[before]) and messages[before]

        message = fake.wait_for(shows)
        assert slack.click(user, button(message, action), message.channel, message.ts).status == 200
    fake.wait_for(lambda: any(REPORT in text_of(m) for m in fake.dm_messages(user)[before + 1 :]))


def uploads_to(fake: FakeSlack, channel: str) -> list[Upload]:
    return [u for u in fake.files if u.channel_id == channel]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_report_comes_with_its_radar_chart_in_the_dm(env: tuple[FakeSlack, AppProcess, Slack]) -> None:
    fake, app, slack = env
    user = f"U0CHART{int(time.time() * 1000) % 100000}"
    complete(fake, slack, user, "answer_1")
    first = fake.wait_for(lambda: uploads_to(fake, f"D{user}"))[0]
    assert first.data is not None and png_size(first.data) == (800, 800)
    assert 10_000 < len(first.data) < 1_000_000
    assert first.filename.endswith(".png") and first.thread_ts is None
    assert "1.00 (L1)" in (first.alt_txt or "")
    assert "previous" not in (first.alt_txt or "")
    # The report went first, as its own message; the chart follows it.
    calls = [c.method for c in fake.calls if c.method in ("chat.postMessage", "files.completeUploadExternal")]
    assert calls[-2:] == ["chat.postMessage", "files.completeUploadExternal"]

    complete(fake, slack, user, "answer_3")
    second = fake.wait_for(lambda: len(uploads_to(fake, f"D{user}")) > 1 and uploads_to(fake, f"D{user}")[1])
    assert "3.00 (L3), previous 1.00" in (second.alt_txt or "")
    assert "dashed outline" in (second.initial_comment or "")

    # /compass report (here in a channel): the report ephemerally, the chart into the DM.
    slack.command(user, "report")
    fake.wait_for(lambda: len(uploads_to(fake, f"D{user}")) > 2)
    assert any(REPORT in json.dumps(r) for r in fake.responses)
    assert MISSING_SCOPE_LINE not in app.log()


def test_the_web_process_never_loads_the_plotting_library(env: tuple[FakeSlack, AppProcess, Slack]) -> None:
    """After charts were drawn: only the worker's drawing process (a child of the worker, at a lower
    priority) has matplotlib mapped; never the web process, its gunicorn workers or the worker itself."""
    fake, app, _ = env
    assert fake.files, "run after a chart was uploaded"
    assert app.proc is not None
    web = [app.proc.pid, *(p for p in app.children() if b"worker" not in _cmdline(p))]
    workers = [p for p in app.children() if b"worker" in _cmdline(p)]
    drawing = [c for w in workers for c in children_of(w) if "matplotlib" in _maps(c)]
    assert workers and len(drawing) == 1
    lower = min(19, os.getpriority(os.PRIO_PROCESS, workers[0]) + CHART_NICENESS)  # 19 is the lowest
    assert [os.getpriority(os.PRIO_PROCESS, p) for p in drawing] == [lower]
    for pid in [*web, *workers]:
        assert "matplotlib" not in _maps(pid), _cmdline(pid)


def test_without_files_write_the_report_arrives_and_one_line_is_logged(
    env: tuple[FakeSlack, AppProcess, Slack],
) -> None:
    fake, app, slack = env
    fake.without_scope("files:write")
    try:
        shared = len(fake.files)
        for n in range(2):
            user = f"U0NOSCOPE{n}{int(time.time() * 1000) % 100000}"
            complete(fake, slack, user, "answer_2")
            assert uploads_to(fake, f"D{user}") == []
        fake.wait_idle()
        assert len(fake.files) == shared
        assert fake.calls_to("files.getUploadURLExternal")[-1].params.get("filename")
        assert app.log().count(MISSING_SCOPE_LINE) == 1, app.log()[-3000:]
    finally:
        fake.missing_scopes.clear()


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _maps(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return ""
