"""After a team session: its agreed levels and actions in the team's other views. `/compass team` shows
them beside the team means, the digest shows them with the channel's open and overdue actions and a
"Start a session" button, the digest's trend chart marks them, and targets are judged against them.
Driven as in test_team_session.py: the worker's handlers in-process, request bodies as Slack sends them,
the fake Slack, a real database (SQLite and PostgreSQL) and a clock the test moves."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest
from conftest import T0, store_team
from fakeslack import BOT_TOKEN, TEAM_ID, FakeSlack
from harness import Slack, buttons, text_of
from slack_sdk import WebClient
from sqlalchemy import event, select
from test_team_session import CHANNEL, LEAD, SETTINGS, Bot, Clock, assess, people

from bot.app.context import AppContext
from bot.app.digests import channel_sessions, subscribe_digest
from bot.app.types import Who
from bot.db import people as stored_people
from bot.db.models import TeamTarget
from bot.db.setup import Database
from bot.domain.questionnaire import Questionnaire
from bot.domain.team_session import Agreement, StoredAgreement, agreed_levels, session_scores
from bot.slack.deps import Deps
from bot.slack.ids import Action, Work
from bot.slack.scheduled import post_digest_now
from bot.slack.work import handlers

DUE = "2026-11-20"


@pytest.fixture
def bot(database: Database, small_bank: Questionnaire, fake: FakeSlack) -> Bot:
    clock = Clock()
    deps = Deps(AppContext(database.sessions, small_bank), clock=clock, outreach=SETTINGS)
    bot = Bot(fake, Slack("http://127.0.0.1:9", fake.response_url()), deps, database, clock)
    bot.run = handlers(WebClient(token=BOT_TOKEN, base_url=fake.api_url), deps)
    # Several sessions, digests and announcements in one channel within seconds: more posts than
    # Slack's one a second into a channel allows (budgets are test_team_session.py's subject, not this).
    fake.limit("chat.postMessage", per_second=100, burst=100)
    return bot


def session(bot: Bot, words: str, agreed: list[int], voters: list[str], action: str | None = None) -> None:
    """A whole session: everyone votes, the facilitator reveals and agrees each question's level in
    turn (an action with an owner and a due date on the first), and the last step ends it."""
    bot.command(f"session {words}")
    for i, level in enumerate(agreed):
        for user in voters:
            bot.click(user, f"session_vote_{level}", bot.live(), Work.SESSION_VOTE)
        bot.click(LEAD, "session_reveal", bot.live(), Work.SESSION_STEP)
        bot.click(LEAD, f"session_agree_{level}", bot.live(), Work.SESSION_STEP)
        if i == 0 and action:
            add_action(bot, action, owner=voters[0], due=DUE)
        bot.click(LEAD, "session_next", bot.live(), Work.SESSION_STEP)


def add_action(bot: Bot, text: str, *, owner: str, due: str) -> None:
    bot.click(LEAD, "session_add_action", bot.live(), Work.SESSION_ACTION_FORM)
    opened = bot.fake.calls_to("views.open")[-1]
    view = json.loads(opened.params["view"]) if isinstance(opened.params["view"], str) else opened.params["view"]
    view["state"] = {
        "values": {
            "what": {"what": {"type": "plain_text_input", "value": text}},
            "owner": {"owner": {"type": "users_select", "selected_user": owner}},
            "due": {"due": {"type": "datepicker", "selected_date": due}},
        }
    }
    submission = {"type": "view_submission", "team": {"id": TEAM_ID}, "user": {"id": LEAD, "team_id": TEAM_ID}}
    bot.do(Work.SESSION_ACTION_SAVE, {**submission, "view": view})


def subscribed(bot: Bot, members: list[str]) -> None:
    subscribe_digest(bot.deps.ctx, Who(TEAM_ID, LEAD), CHANNEL, "monthly", T0 - timedelta(days=40))
    store_team(bot.deps.ctx, TEAM_ID, CHANNEL, dict.fromkeys([*members, LEAD]), T0)


def client(bot: Bot) -> WebClient:
    return WebClient(token=BOT_TOKEN, base_url=bot.fake.api_url)


def team_view(bot: Bot, user: str = LEAD) -> str:
    bot.command("team", user=user)
    return text_of(bot.fake.ephemeral_messages(CHANNEL, user)[-1])


@pytest.fixture
def team(bot: Bot) -> list[str]:
    """Four voters who answered level 2 everywhere in their DMs (team means 2.00), and a digest."""
    voters = people(bot, 4)
    for user in voters:
        assess(bot, user, 2)
    subscribed(bot, voters)
    return voters


def test_team_shows_the_agreed_levels_beside_the_team_means(bot: Bot, team: list[str]) -> None:
    assert "agreed in session" not in team_view(bot)
    session(bot, "data", [3, 3], team)
    shown = team_view(bot)
    data = shown.index("*Data* · 2.00")
    assert shown.index("agreed in session on 2026-11-02: 🟡 L3 (3.00)") > data
    assert shown.index("*Operations* · 2.00") > shown.index("agreed in session on 2026-11-02")
    assert shown.count("agreed in session") == 1  # Operations was not in the session
    assert "start_session" not in shown  # the button belongs to the digest in the channel

    # A later session over everything: each dimension shows what the newest session that agreed it said.
    bot.clock.now = T0 + timedelta(days=7)
    session(bot, "all", [1, 1, 4, 4, 4], team)
    shown = team_view(bot)
    assert "agreed in session on 2026-11-09: 🔴 L1 (1.00)" in shown
    assert "agreed in session on 2026-11-09: 🟢 L4 (4.00)" in shown
    assert "2026-11-02" not in shown


def test_the_digest_shows_the_agreed_levels_the_open_and_overdue_actions_and_judges_targets_by_them(
    bot: Bot, team: list[str]
) -> None:
    session(bot, "data", [3, 3], team, action="Version every training dataset")
    bot.command("target data 3 by 2027-Q2")
    bot.command("target ops 3 by 2027-Q2")
    bot.clock.now = T0 + timedelta(days=30)  # the action was due on 2026-11-20
    digest = post_digest_now(bot.deps.ctx, client(bot), SETTINGS, CHANNEL, bot.clock.now)

    [agreed] = digest.agreed
    assert (agreed.dimension_id, agreed.score, agreed.level, agreed.on) == ("data", 3.0, 3, date(2026, 11, 2))
    [action] = digest.actions
    assert (action.text, action.owner, action.due, action.overdue) == (
        "Version every training dataset",
        team[0],
        date(2026, 11, 20),
        True,
    )
    data, ops = digest.targets
    assert (data.current, data.standing, data.agreed_on) == (3.0, "reached", date(2026, 11, 2))
    assert (ops.current, ops.agreed_on) == (2.0, None)  # no session agreed Operations: the team mean

    posted = [m for m in bot.channel() if "MLOps maturity digest" in m.text][-1]
    text = text_of(posted)
    assert "agreed in session on 2026-11-02: 🟡 L3 (3.00)" in text
    assert "*Open actions* (1, 1 overdue)" in text
    assert f"Version every training dataset (<@{team[0]}> · due 2026-11-20) · :warning: *overdue*" in text
    assert "*Data* → L3 by 2027-Q2 · agreed 3.00 in session on 2026-11-02 · :white_check_mark: reached" in text
    assert "*Operations* → L3 by 2027-Q2 · now 2.00" in text
    assert [b["action_id"] for b in buttons(posted)] == [Action.SESSION_START]

    # Done: the action leaves the next digest.
    bot.command("actions")
    done = [m for m in bot.fake.responses if "action_done" in json.dumps(m)][-1]
    [done_button] = [b["accessory"] for b in done["blocks"] if b.get("accessory", {}).get("action_id") == "action_done"]
    bot.do(Work.ACTION_DONE, _click(bot, team[0], done_button))
    later = post_digest_now(bot.deps.ctx, client(bot), SETTINGS, CHANNEL, bot.clock.now + timedelta(hours=1))
    assert later.actions == () and later.open_actions == 0
    assert "Open actions" not in text_of([m for m in bot.channel() if "MLOps maturity digest" in m.text][-1])


def _click(bot: Bot, user: str, found: dict[str, Any]) -> dict[str, Any]:
    """A click on a button of an ephemeral reply (which has no message of its own in the channel)."""
    raw = bot.slack.click_body(user, found, CHANNEL, "1.000")
    return dict(json.loads(dict(parse_qsl(raw))["payload"]))


def test_a_small_team_sees_what_it_agreed_and_its_targets_judged_by_it_without_any_mean(bot: Bot) -> None:
    voters = people(bot, 2)
    assess(bot, voters[0], 2)  # one person answered: under the threshold of 3
    subscribed(bot, voters)
    session(bot, "ops", [2, 3, 1], voters)  # ops.rollback 2 (×3), ops.abtest 3 (×2), ops.monitoring 1 (×1)
    bot.command("target ops 3 by 2027-Q2")
    digest = post_digest_now(bot.deps.ctx, client(bot), SETTINGS, CHANNEL, T0 + timedelta(days=1))
    assert not digest.visible
    [ops] = digest.targets
    # Set after the session: its baseline is the agreed score, so the team is judged on the line from it.
    assert ops.current == pytest.approx(2.1667, abs=1e-4) and ops.standing == "on track"
    with bot.deps.ctx.sessions() as s:
        assert s.scalars(select(TeamTarget.baseline)).one() == pytest.approx(2.1667, abs=1e-4)
    text = text_of([m for m in bot.channel() if "MLOps maturity digest" in m.text][-1])
    assert "more needed" in text
    assert ":handshake: *Agreed by the team*" in text and "*Operations*: agreed in session on 2026-11-02" in text
    assert "agreed 2.17 in session on 2026-11-02" in text
    assert not re.search(r"Data\* · \d", text)  # nobody's answers: no team means


def test_start_a_session_from_the_digest(bot: Bot, team: list[str]) -> None:
    post_digest_now(bot.deps.ctx, client(bot), SETTINGS, CHANNEL, T0)
    digest = bot.channel()[-1]
    assert "MLOps maturity digest" in digest.text
    bot.click(team[1], Action.SESSION_START, digest, Work.SESSION_START)
    opening, question = bot.channel()[-2:]
    assert "Team session: Data" in opening.text  # the weakest dimension of the digest (a tie: the first)
    assert f"<@{team[1]}>" in opening.text
    assert "Question 1 of 2" in text_of(question)
    assert text_of(bot.channel()[0]) == text_of(digest)  # the digest stays as it was

    bot.click(team[2], Action.SESSION_START, digest, Work.SESSION_START)
    assert "already running" in json.dumps(bot.fake.responses[-1])
    assert len(bot.channel()) == 3

    # A click from a channel the bot left gets the invitation hint, to the clicker only.
    bot.command("session end", user=team[1])
    bot.fake.channels[CHANNEL]["is_member"] = False
    bot.click(team[2], Action.SESSION_START, digest, Work.SESSION_START)
    assert "/invite @compass" in json.dumps(bot.fake.responses[-1])


def test_the_trend_chart_marks_the_agreed_levels(bot: Bot, team: list[str]) -> None:
    session(bot, "data", [4, 4], team)
    post_digest_now(bot.deps.ctx, client(bot), SETTINGS, CHANNEL, T0 + timedelta(days=1))
    [chart] = [u for u in bot.fake.files if u.channel_id == CHANNEL]
    alt = chart.alt_txt or ""
    assert "Data: 2.00;" in alt and "Agreed in sessions (diamonds): Data 4.00 on 2026-11-02;" in alt, alt
    assert "the levels sessions agreed as diamonds" in (chart.initial_comment or "")


def test_the_digests_of_every_channel_read_the_sessions_in_two_statements(bot: Bot, team: list[str]) -> None:
    session(bot, "data", [3, 3], team, action="Version every training dataset")
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = bot.database.engine
    with bot.deps.ctx.sessions.begin() as s:
        ws_id = stored_people.workspace_id(s, TEAM_ID, T0)
        event.listen(engine, "before_cursor_execute", count)
        try:
            found = channel_sessions(s, ws_id)
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 2
    [(channel, sessions)] = found.channels.items()
    assert channel == CHANNEL and sessions.open_actions == 1 and len(sessions.agreements) == 2


def test_each_channels_digest_shows_its_own_sessions_only(bot: Bot, team: list[str]) -> None:
    other = "C0OTHER"
    bot.fake.add_channel(other, [*team, LEAD, "U0BOT"])
    subscribe_digest(bot.deps.ctx, Who(TEAM_ID, LEAD), other, "monthly", T0 - timedelta(days=40))
    store_team(bot.deps.ctx, TEAM_ID, other, dict.fromkeys([*team, LEAD]), T0)
    session(bot, "data", [3, 3], team, action="Tell <!channel> & <@U0VOTER01> about it")
    theirs = post_digest_now(bot.deps.ctx, client(bot), SETTINGS, other, T0 + timedelta(days=1))
    assert (theirs.agreed, theirs.actions, theirs.open_actions) == ((), (), 0)
    assert theirs.targets == () and theirs.dimensions[0].mean == 2.0  # the same people, their own answers
    text = text_of(bot.fake.channel_messages(other)[-1])
    assert "agreed in session" not in text and "Open actions" not in text
    ours = post_digest_now(bot.deps.ctx, client(bot), SETTINGS, CHANNEL, T0 + timedelta(days=1))
    assert [a.dimension_id for a in ours.agreed] == ["data"] and ours.open_actions == 1
    ours_text = text_of(bot.fake.channel_messages(CHANNEL)[-1])
    assert "Tell &lt;!channel&gt; &amp; &lt;@U0VOTER01&gt; about it" in ours_text  # shown as typed, pinging nobody
    assert "<!channel>" not in ours_text


def test_agreed_levels_take_each_dimension_from_its_newest_session(small_bank: Any) -> None:
    old, new = date(2026, 11, 2), date(2026, 11, 9)
    stored = [
        StoredAgreement(1, old, Agreement("data.versioning", 2, False)),
        StoredAgreement(1, old, Agreement("ops.rollback", 3, False)),
        StoredAgreement(2, new, Agreement("data.versioning", 4, True)),
        StoredAgreement(2, new, Agreement("ops.abtest", None, False)),  # agreed not applicable
    ]
    levels = {a.dimension_id: (a.score, a.on) for a in agreed_levels(small_bank, stored)}
    assert levels == {"data": (4.0, new)}  # Operations' newest session agreed it not applicable
    assert [(s.on, s.scores) for s in session_scores(small_bank, stored)] == [
        (old, (("data", 2.0), ("ops", 3.0))),
        (new, (("data", 4.0),)),
    ]
