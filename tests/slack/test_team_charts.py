"""The team surfaces' charts: the digest's trend chart in its thread, the team's radar for `/compass team`
and the heat map behind the "Heat-map image" button of `/compass teams` and App Home. The worker-side
handlers and the scheduler's job in-process, against the fake Slack (its upload endpoints), SQLite and
PostgreSQL, as in test_targets_team.py."""

from __future__ import annotations

import json
import logging
import struct
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest
from conftest import T0
from fakeslack import BOT_TOKEN, FakeSlack, Upload
from harness import Slack, button, text_of
from slack_sdk import WebClient
from sqlalchemy import event
from test_targets_team import CHANNEL, SETTINGS, USER, Bot, Clock, assess, scored_team

from bot.app.context import AppContext
from bot.db.setup import Database
from bot.domain.questionnaire import Questionnaire
from bot.slack import uploads
from bot.slack.deps import Deps
from bot.slack.ids import Action, Work
from bot.slack.scheduled import post_digest_now, run_due
from bot.slack.work import handlers, work_for

MISSING_SCOPE_LINE = "cannot upload files (missing_scope"


@pytest.fixture
def bot(database: Database, small_bank: Questionnaire, fake: FakeSlack) -> Bot:
    clock = Clock()
    deps = Deps(AppContext(database.sessions, small_bank), clock=clock, outreach=SETTINGS)
    client = WebClient(token=BOT_TOKEN, base_url=fake.api_url)
    bot = Bot(fake, Slack("http://127.0.0.1:9", fake.response_url()), client, deps, database, clock)
    bot.run = handlers(client, deps)
    return bot


@pytest.fixture(autouse=True)
def scope_not_yet_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts as a fresh process would: no missing_scope seen yet (logged once per process)."""
    monkeypatch.setattr(uploads, "_scope_missing", type(uploads._scope_missing)())


def png_size(data: bytes | None) -> tuple[int, int]:
    assert data is not None and data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def uploads_to(fake: FakeSlack, channel: str) -> list[Upload]:
    return [u for u in fake.files if u.channel_id == channel]


def test_the_digest_gets_its_trend_chart_as_the_first_reply_in_its_thread(bot: Bot) -> None:
    humans = scored_team(bot, people=2, level=2)  # under the threshold of 3
    bot.command("target ops 3 by 2027-Q2")
    post_digest_now(bot.ctx, bot.client, SETTINGS, CHANNEL, T0)
    assert bot.fake.files == []  # no figures, so no chart

    later = T0 + timedelta(days=31)
    bot.clock.now = later
    grown = [*humans, "U0NEW1", "U0NEW2"]  # two more people join and everyone answers
    for user in grown:
        bot.fake.add_user(user)
        assess(bot, user, 3, later - timedelta(days=1))
    bot.fake.add_channel(CHANNEL, [*grown, USER, "U0BOT"])
    post_digest_now(bot.ctx, bot.client, SETTINGS, CHANNEL, later)

    digest_message = bot.fake.channel_messages(CHANNEL)[-1]
    [chart] = uploads_to(bot.fake, CHANNEL)
    assert chart.thread_ts == digest_message.ts
    assert png_size(chart.data) == (800, 800) and 10_000 < len(chart.data or b"") < 1_000_000
    alt = chart.alt_txt or ""
    # The first period was under the threshold: it shows on the axis without a figure.
    assert "2 period(s) from 2026-11-02 to 2026-12-03" in alt, alt
    assert "Overall: -, 3.00;" in alt and "Data: -, 3.00;" in alt
    assert "Operations: -, 3.00 (target L3 by 2027-Q2);" in alt
    assert "each target as a star" in (chart.initial_comment or "")
    # The chart followed the digest; no message of its own beyond the upload.
    methods = [c.method for c in bot.fake.calls if c.method in ("chat.postMessage", "files.completeUploadExternal")]
    assert methods[-2:] == ["chat.postMessage", "files.completeUploadExternal"]


def test_the_trend_reads_the_last_digests_in_constant_statements_and_shows_at_most_eight(bot: Bot) -> None:
    humans = scored_team(bot, people=3, level=1)
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    counts = []
    for n in range(10):
        when = T0 + timedelta(days=n)
        if n == 9:
            for user in humans:
                assess(bot, user, 4, when - timedelta(hours=1))
        statements.clear()
        event.listen(bot.database.engine, "before_cursor_execute", count)
        try:
            post_digest_now(bot.ctx, bot.client, SETTINGS, CHANNEL, when)
        finally:
            event.remove(bot.database.engine, "before_cursor_execute", count)
        counts.append(len(statements))
    assert len(set(counts[2:])) == 1, counts  # 2 or 9 digests before: the same statements
    alt = uploads_to(bot.fake, CHANNEL)[-1].alt_txt or ""
    assert "8 period(s) from 2026-11-04 to 2026-11-11" in alt, alt
    assert "Overall: 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 4.00;" in alt


def test_without_files_write_the_digest_is_posted_once_and_one_line_is_logged(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    scored_team(bot, people=3, level=2)
    bot.fake.without_scope("files:write")
    caplog.set_level(logging.DEBUG, logger="bot")
    first = run_due(bot.ctx, bot.client, SETTINGS, T0)
    again = run_due(bot.ctx, bot.client, SETTINGS, T0 + timedelta(minutes=5))
    assert (first.digests, again.digests) == (1, 0)
    assert len(bot.fake.channel_messages(CHANNEL)) == 1 and bot.fake.files == []
    assert bot.fake.calls_to("files.getUploadURLExternal")  # the chart was tried, once
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING and MISSING_SCOPE_LINE in r.getMessage()]
    assert len(warnings) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_failing_upload_never_fails_the_digest(bot: Bot) -> None:
    scored_team(bot, people=3, level=2)
    bot.fake.fail("files.getUploadURLExternal", status=200, error="internal_error")
    digest = post_digest_now(bot.ctx, bot.client, SETTINGS, CHANNEL, T0)
    assert digest.visible and len(bot.fake.channel_messages(CHANNEL)) == 1 and bot.fake.files == []


def test_team_over_the_threshold_uploads_its_radar_with_the_band_into_the_askers_dm(bot: Bot) -> None:
    humans = scored_team(bot, people=3, level=2)
    assess(bot, humans[0], 4, T0 - timedelta(hours=1))  # the spread: 2.00 to 4.00, mean 2.67
    bot.command("team")
    [shown] = bot.fake.ephemeral_messages(CHANNEL, USER)
    assert "radar chart is on its way to your DM" in text_of(shown)
    [chart] = bot.fake.files
    assert chart.channel_id == f"D{USER}" and chart.thread_ts is None
    assert png_size(chart.data) == (800, 800)
    alt = chart.alt_txt or ""
    assert "The band spans the lowest to the highest member's score." in alt
    assert "Data: 2.67 (L3), range 2.00-4.00;" in alt and "Operations: 2.67 (L3), range 2.00-4.00;" in alt
    assert chart.initial_comment == f"Your look at <#{CHANNEL}>: radar chart."
    # The ephemeral answer went first; the chart followed it.
    methods = [c.method for c in bot.fake.calls if c.method in ("chat.postEphemeral", "files.completeUploadExternal")]
    assert methods == ["chat.postEphemeral", "files.completeUploadExternal"]
    assert bot.fake.channel_messages(CHANNEL) == []  # nothing for the channel to see


def test_team_under_the_threshold_uploads_no_chart(bot: Bot) -> None:
    scored_team(bot, people=2, level=2)
    bot.command("team")
    [shown] = bot.fake.ephemeral_messages(CHANNEL, USER)
    assert "radar chart" not in text_of(shown)
    assert bot.fake.files == [] and bot.fake.calls_to("files.getUploadURLExternal") == []


def test_team_without_files_write_answers_and_stops_promising_the_chart(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    scored_team(bot, people=3, level=2)
    bot.fake.without_scope("files:write")
    caplog.set_level(logging.DEBUG, logger="bot")
    bot.command("team")
    bot.command("team")
    first, second = bot.fake.ephemeral_messages(CHANNEL, USER)
    assert "Your team now" in text_of(first) and "Your team now" in text_of(second)
    assert "radar chart" not in text_of(second)  # once Slack said missing_scope, no promise of a chart
    assert bot.fake.files == [] and len(bot.fake.calls_to("files.getUploadURLExternal")) == 1
    assert [r.levelno for r in caplog.records if MISSING_SCOPE_LINE in r.getMessage()] == [logging.WARNING]


def test_the_heat_map_button_uploads_the_grid_into_the_dm_with_a_hidden_team_as_not_enough_answers(
    bot: Bot,
) -> None:
    scored_team(bot, channel="C0ALPHA", people=3, level=3)
    scored_team(bot, channel="C0BETA", people=2, level=1)
    bot.fake.channels["C0ALPHA"]["name"] = "ml-alpha"
    bot.fake.channels["C0BETA"]["name"] = "ml-beta"
    reply = json.loads(bot.reply("teams"))
    assert bot.fake.files == []  # /compass teams itself draws nothing
    heat = button(reply, Action.TEAMS_HEATMAP)
    assert heat["value"] == "0" and work_for(heat["action_id"]) is Work.TEAMS_HEATMAP

    before = len(bot.fake.responses)
    bot.do(Work.TEAMS_HEATMAP, json.loads(dict(parse_qsl(bot.slack.click_body(USER, heat, CHANNEL, "1.2")))["payload"]))
    [chart] = bot.fake.files
    assert chart.channel_id == f"D{USER}" and chart.thread_ts is None
    assert chart.data is not None and chart.data[:8] == b"\x89PNG\r\n\x1a\n"
    alt = chart.alt_txt or ""
    assert "2 team(s) by 2 dimension(s) (Data, Operations)" in alt, alt
    assert "#ml-alpha: L3 L3;" in alt and "#ml-beta: not enough answers;" in alt
    assert "L1" not in alt  # nothing of the hidden team's figures
    [said] = bot.fake.responses[before:]
    assert said["text"] == "The heat-map image is in your DM with me." and said["replace_original"] is False


def test_app_home_offers_the_heat_map_and_a_refused_upload_is_said_in_the_dm(bot: Bot) -> None:
    scored_team(bot, channel="C0ALPHA", people=3, level=4)
    bot.do(Work.HOME, json.loads(bot.slack.event_body(USER)))
    heat = button(bot.fake.views[USER], Action.TEAMS_HEATMAP)
    bot.fake.without_scope("files:write")
    click = json.loads(dict(parse_qsl(bot.slack.click_body(USER, heat, None, None)))["payload"])
    click.pop("response_url")  # a click in App Home carries none
    bot.do(Work.TEAMS_HEATMAP, click)
    assert bot.fake.files == []
    assert "could not upload the heat-map image" in bot.fake.dm_messages(USER)[-1].text
