"""`/compass target`, `/compass team`, `/compass teams` and the digest's targets: the worker-side handlers
in-process, given request bodies shaped exactly as Slack sends them, a real WebClient against the
fake Slack Web API, a real database (SQLite and PostgreSQL) and a clock the test moves."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest
from conftest import T0, store_team
from fakeslack import BOT_TOKEN, TEAM_ID, FakeSlack
from harness import Slack, button, text_of
from slack_sdk import WebClient
from sqlalchemy import event, select

from bot.app.assessment import record_answer, restart_assessment
from bot.app.context import AppContext
from bot.app.digests import subscribe_digest
from bot.app.outreach import OutreachSettings
from bot.app.types import Click, Who
from bot.db.models import TeamTarget
from bot.db.setup import Database
from bot.domain.questionnaire import Questionnaire
from bot.slack.blocks.team import TEAMS_PAGE
from bot.slack.deps import Deps
from bot.slack.ids import Action, Work
from bot.slack.scheduled import post_digest_now
from bot.slack.work import handlers
from bot.slack.work.delivery import CHARTS

CHANNEL = "C0TEAM"
BARE = "C0BARE"  # a channel without a digest
USER = "U0ASKER"
SETTINGS = OutreachSettings(min_respondents=3, cadence=timedelta(days=90))


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Bot:
    fake: FakeSlack
    slack: Slack
    client: WebClient
    deps: Deps
    database: Database
    clock: Clock
    run: dict[str, Callable[[dict[str, Any]], None]] = field(default_factory=dict)

    @property
    def ctx(self) -> AppContext:
        return self.deps.ctx

    def body(self, text: str, channel: str = CHANNEL, user: str = USER) -> dict[str, Any]:
        return dict(parse_qsl(self.slack.command_body(user, text, channel=channel)))

    def command(self, text: str, channel: str = CHANNEL, user: str = USER) -> dict[str, Any]:
        return self.do(Work.COMMAND, self.body(text, channel, user))

    def do(self, kind: Work, body: dict[str, Any]) -> dict[str, Any]:
        self.run[kind.value](json.loads(json.dumps(body)))
        assert CHARTS.idle.wait(30), "the chart lane never finished"  # charts are drawn beside the job
        return body

    def reply(self, text: str, channel: str = CHANNEL) -> str:
        """The one ephemeral reply (through the response_url) to a command."""
        before = len(self.fake.responses)
        self.command(text, channel)
        new = self.fake.responses[before:]
        assert len(new) == 1, new
        return str(json.dumps(new[0], ensure_ascii=False))

    def posts(self, channel: str = CHANNEL) -> list[str]:
        return [m.text for m in self.fake.channel_messages(channel)]


@pytest.fixture
def bot(database: Database, small_bank: Questionnaire, fake: FakeSlack) -> Bot:
    clock = Clock()
    deps = Deps(AppContext(database.sessions, small_bank), clock=clock, outreach=SETTINGS)
    client = WebClient(token=BOT_TOKEN, base_url=fake.api_url)
    slack = Slack("http://127.0.0.1:9", fake.response_url())
    bot = Bot(fake, slack, client, deps, database, clock)
    bot.run = handlers(client, deps)
    return bot


def assess(bot: Bot, user: str, level: int, when: datetime) -> None:
    who = Who(TEAM_ID, user)
    progress = restart_assessment(bot.ctx, who, when)
    for question in bot.ctx.bank.questions:
        record_answer(bot.ctx, who, Click(progress.assessment_id, question.id, level), when)


def team(bot: Bot, channel: str, humans: list[str], subscribed: bool = True) -> None:
    """A channel with these people (and the asker, and the bot) in it; with a digest, they are its team."""
    for user in [*humans, USER]:
        bot.fake.add_user(user)
    bot.fake.add_channel(channel, [*humans, USER, "U0BOT"])
    if subscribed:
        subscribe_digest(bot.ctx, Who(TEAM_ID, "U0LEAD"), channel, "monthly", T0 - timedelta(days=40))
        store_team(bot.ctx, TEAM_ID, channel, dict.fromkeys([*humans, USER]), T0)


def scored_team(bot: Bot, channel: str = CHANNEL, level: int = 2, people: int = 4, **kw: Any) -> list[str]:
    humans = [f"U{channel[1:]}{i}" for i in range(people)]
    team(bot, channel, humans, **kw)
    for user in humans:
        assess(bot, user, level, T0 - timedelta(days=1))
    return humans


def stored_targets(bot: Bot) -> list[tuple[str, str, int, str | None, float | None]]:
    with bot.database.sessions() as s:
        rows = s.execute(
            select(
                TeamTarget.channel_id,
                TeamTarget.dimension_id,
                TeamTarget.level,
                TeamTarget.due_quarter,
                TeamTarget.baseline,
            ).order_by(TeamTarget.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_a_target_is_set_announced_once_listed_replaced_and_removed(bot: Bot) -> None:
    scored_team(bot)
    body = bot.command("target ops 3 by 2027-Q2")
    assert bot.posts() == [f"🎯 <@{USER}> set a target: Operations at level 3 by 2027-Q2"]
    bot.do(Work.COMMAND, body)  # the same command again (a worker retried it): saved, not announced again
    assert len(bot.posts()) == 1
    assert bot.fake.responses == []  # the channel post says it all
    assert stored_targets(bot) == [(CHANNEL, "ops", 3, "2027-Q2", 2.0)]  # the team's score when it was set

    listed = bot.reply("target")
    assert "Operations* → L3 by 2027-Q2 · now 2.00" in listed and "on track" in listed

    bot.command("target Operations 4")  # a name, and no date: replaces the target
    assert bot.posts()[-1] == f"🎯 <@{USER}> set a target: Operations at level 4"
    assert stored_targets(bot) == [(CHANNEL, "ops", 4, None, 2.0)]
    assert "not judged yet" in bot.reply("target")

    bot.command("target ops off")
    assert bot.posts()[-1] == f"🎯 <@{USER}> removed the target for Operations"
    assert stored_targets(bot) == []
    assert "has no targets yet" in bot.reply("target")
    assert "has no target for Operations" in bot.reply("target ops off")
    assert len(bot.posts()) == 3


@pytest.mark.parametrize(
    ("words", "says"),
    [
        ("target security 3", "I know no dimension `security`. Choose one of `data` (Data), `ops` (Operations)."),
        ("target ops 5", "`5` is not a level: choose 1, 2, 3 or 4"),
        ("target ops 0", "`0` is not a level"),
        ("target ops three", "`three` is not a level"),
        ("target ops 3 by 2026-Q3", "2026-Q3 is over: choose this quarter (2026-Q4) or a later one"),
        ("target ops 3 by 2027-Q7", "`2027-Q7` is not a quarter: write it as YYYY-Qn"),
        ("target ops 3 by next-year", "is not a quarter"),
        ("target ops 3 until 2027-Q2", "I don't understand `until 2027-Q2`: add a date as `by YYYY-Qn`"),
        ("target ops", "Give a level for Operations"),
    ],
)
def test_bad_target_input_gets_one_line_with_the_valid_choices_and_changes_nothing(
    bot: Bot, words: str, says: str
) -> None:
    team(bot, CHANNEL, ["U1", "U2", "U3"])
    reply = bot.reply(words)
    assert says in reply, reply
    blocks = json.loads(reply)["blocks"]
    assert len(blocks) == 1 and "\\n" not in json.dumps(blocks[0]["text"]["text"])
    assert bot.posts() == [] and stored_targets(bot) == []


def test_targets_belong_to_channels_and_a_channel_without_the_bot_is_explained(bot: Bot) -> None:
    assert "run `/compass target` in your team's channel" in bot.reply("target ops 3", channel=f"D{USER}")
    bot.fake.add_channel("C0LOCKED", [USER], is_member=False)
    assert "/invite @compass" in bot.reply("target ops 3", channel="C0LOCKED")
    assert stored_targets(bot) == []


def test_a_target_set_under_the_threshold_keeps_no_baseline_and_shows_no_figures(bot: Bot) -> None:
    scored_team(bot, people=2)
    bot.command("target data 3 by 2027-Q1")
    assert stored_targets(bot) == [(CHANNEL, "data", 3, "2027-Q1", None)]
    listed = bot.reply("target")
    assert "Data* → L3 by 2027-Q1" in listed and not re.search(r"\d\.\d\d", listed)


def test_the_digest_shows_each_target_now_its_change_and_on_track_behind_or_reached(bot: Bot) -> None:
    humans = scored_team(bot, people=4, level=2)  # data 2.0, ops 2.0
    bot.command("target data 3 by 2027-Q2")
    bot.command("target ops 4 by 2026-Q4")
    first = post_digest_now(bot.ctx, bot.client, SETTINGS, CHANNEL, T0)
    assert [t.standing for t in first.targets] == ["on track", "on track"]  # at the baseline, on the line
    # 50 days on, everyone answers level 3: data reached its L3; ops at 3.00 is more than 0.25 below the
    # line from 2.00 (Nov 2) to 4 (Jan 1), which stands near 3.7 by now.
    later = T0 + timedelta(days=50)
    bot.clock.now = later
    for user in humans:
        assess(bot, user, 3, later - timedelta(days=1))
    digest = post_digest_now(bot.ctx, bot.client, SETTINGS, CHANNEL, later)
    data, ops = digest.targets
    assert (data.standing, data.change) == ("reached", 1.0)
    assert ops.current == 3.0 and ops.standing == "behind" and ops.expected is not None and ops.expected > 3.25
    text = text_of(bot.fake.channel_messages(CHANNEL)[-1])
    assert "*Targets*" in text
    assert "*Data* → L3 by 2027-Q2 · now 3.00 ▲ +1.00 · :white_check_mark: reached" in text
    assert "*Operations* → L4 by 2026-Q4 · now 3.00 ▲ +1.00 · :warning: behind (the line is at" in text


def test_team_over_the_threshold_shows_the_digest_targets_and_focus_only_to_the_asker(bot: Bot) -> None:
    scored_team(bot, people=4, level=2)
    bot.command("target ops 3 by 2027-Q2")
    bot.command("team")
    [shown] = bot.fake.ephemeral_messages(CHANNEL, USER)
    text = text_of(shown)
    assert "Your team now" in text and "4 of 5 members" in text
    assert "Team focus" in text and "Next step" in text  # the weakest dimension and its next step
    assert "*Operations* → L3 by 2027-Q2 · now 2.00" in text
    assert "gets this digest monthly" in text
    assert len(bot.posts()) == 1  # only the target's announcement went to the channel


def test_team_under_the_threshold_shows_no_figures(bot: Bot) -> None:
    scored_team(bot, people=2, level=2)
    bot.command("target ops 3")
    bot.command("team")
    [shown] = bot.fake.ephemeral_messages(CHANNEL, USER)
    text = text_of(shown)
    assert "1 more needed" in text and "Operations* → L3" in text
    assert not re.search(r"\d\.\d\d", text) and "Team focus" not in text


def test_team_in_a_channel_without_a_digest_counts_its_members_and_says_how_to_subscribe(bot: Bot) -> None:
    scored_team(bot, channel=BARE, people=3, level=3, subscribed=False)
    bot.command("team", channel=BARE)
    [shown] = bot.fake.ephemeral_messages(BARE, USER)
    text = text_of(shown)
    assert "3 of 4 members" in text  # three people who answered and the asker; not the bot
    assert "gets no digest yet" in text and "/compass digest here monthly" in text
    assert "3.00" in text
    assert bot.fake.calls_to("conversations.members")


def test_team_in_a_channel_slack_refuses_an_ephemeral_in_answers_through_the_response_url(bot: Bot) -> None:
    scored_team(bot, people=3)
    bot.fake.fail("chat.postEphemeral", status=200, error="user_not_in_channel")
    reply = bot.reply("team")
    assert "Your team now" in reply


def test_teams_shows_every_digest_channel_with_a_team_under_the_threshold_hidden(bot: Bot) -> None:
    scored_team(bot, channel="C0ALPHA", people=3, level=3)
    scored_team(bot, channel="C0BETA", people=2, level=1)
    reply = bot.reply("teams")
    assert "<#C0ALPHA> 🟡🟡 L3 · 3 of 4 answered" in reply
    assert "<#C0BETA> :lock: not enough answers yet (2 of 3)" in reply
    beta = next(line for line in reply.split("\\n") if "C0BETA" in line).split('"')[0]
    assert "🔴" not in beta and "L1" not in beta
    assert "1. Data · 2. Operations" in reply


def many_teams(bot: Bot, channels: int, members: int) -> None:
    """``channels`` digest channels of ``members`` people, each with one assessment, written in bulk."""
    for c in range(channels):
        channel = f"C{c:05d}"
        subscribe_digest(bot.ctx, Who(TEAM_ID, "U0LEAD"), channel, "monthly", T0 - timedelta(days=40))
        store_team(bot.ctx, TEAM_ID, channel, {f"U{c:05d}{m:03d}": None for m in range(members)}, T0)


def test_teams_pages_200_teams_within_slacks_limits_and_the_buttons_walk_the_pages(bot: Bot) -> None:
    many_teams(bot, 200, 1)
    seen: list[str] = []
    reply = json.loads(bot.reply("teams"))
    pages = 0
    while True:
        pages += 1
        text = json.dumps(reply, ensure_ascii=False)
        seen.extend(re.findall(r"<#(C\d{5})>", text))
        assert len(reply["blocks"]) <= 50 and len(str(reply["blocks"])) < 12000
        nexts = [
            e
            for b in reply["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == "teams_next"
        ]
        if not nexts:
            break
        before = len(bot.fake.responses)
        body = json.loads(dict(parse_qsl(bot.slack.click_body(USER, nexts[0], CHANNEL, "1.2")))["payload"])
        bot.do(Work.TEAMS_PAGE, body)
        [reply] = bot.fake.responses[before:]
        assert reply["replace_original"] is True
    assert pages == 200 // TEAMS_PAGE
    assert seen == [f"C{c:05d}" for c in range(200)]  # every team once, in order
    assert f"Page {pages} of {pages}" in json.dumps(reply)
    assert button(reply, Action.TEAMS_PREVIOUS)["value"] == str(pages - 2)


def test_the_teams_overview_runs_a_constant_number_of_statements(bot: Bot) -> None:
    from bot.app.digests import teams_overview

    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = bot.database.engine
    counts = []
    for channels in (2, 20):
        many_teams(bot, channels, 3)
        event.listen(engine, "before_cursor_execute", count)
        try:
            statements.clear()
            overview = teams_overview(bot.ctx, TEAM_ID, T0, SETTINGS)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert len(overview.rows) == channels
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 7, counts


def test_app_home_shows_the_teams_at_a_glance(bot: Bot) -> None:
    scored_team(bot, channel="C0ALPHA", people=3, level=4)
    bot.do(Work.HOME, json.loads(bot.slack.event_body(USER)))
    home = json.dumps(bot.fake.views[USER], ensure_ascii=False)
    assert "Teams at a glance" in home and "<#C0ALPHA> 🟢🟢 L4" in home
