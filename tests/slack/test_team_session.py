"""A team session in a channel, end to end through the worker's handlers: request bodies shaped as Slack
sends them (commands, button clicks with message-bound response_urls, a view submission), a real
WebClient against the fake Slack (with its rate tiers), a real database (SQLite and PostgreSQL), the
queued refresh jobs run as the worker would run them, and a clock the test moves."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest
from conftest import T0
from fakeslack import BOT_TOKEN, TEAM_ID, FakeSlack
from harness import Slack, buttons, text_of
from slack_sdk import WebClient
from sqlalchemy import select

from bot.app.assessment import record_answer, restart_assessment
from bot.app.context import AppContext
from bot.app.outreach import OutreachSettings
from bot.app.team_sessions import REFRESH_EVERY, REFRESH_WORK
from bot.app.types import Click, Who
from bot.db import pending_work
from bot.db.models import PendingWork, SessionAction, SessionOutcome, SessionVote, TeamSession
from bot.db.setup import Database
from bot.domain.questionnaire import Questionnaire
from bot.slack.deps import CONTEXT_KEY, Deps
from bot.slack.ids import Work
from bot.slack.listeners.views import handle_action_form
from bot.slack.work import handlers, report_failure
from bot.slack.work.delivery import CHARTS

CHANNEL = "C0SESSION"
LEAD = "U0LEAD"
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
    deps: Deps
    database: Database
    clock: Clock
    run: dict[str, Callable[[dict[str, Any]], None]] = field(default_factory=dict)

    def command(self, text: str, user: str = LEAD, channel: str = CHANNEL) -> dict[str, Any]:
        body = dict(parse_qsl(self.slack.command_body(user, text, channel=channel)))
        return self.do(Work.COMMAND, body)

    def click(self, user: str, action_id: str, message: Any, kind: Work) -> dict[str, Any]:
        found = next(b for b in buttons(message) if b["action_id"] == action_id)
        raw = self.slack.click_body(user, found, message.channel, message.ts)
        return self.do(kind, json.loads(dict(parse_qsl(raw))["payload"]))

    def do(self, kind: Work | str, body: dict[str, Any]) -> dict[str, Any]:
        """Run a job as the worker does: a failure is told to the person by the central handler."""
        try:
            self.run[str(kind)](json.loads(json.dumps(body)))
        except Exception as error:  # noqa: BLE001 - as queue/worker.py does
            report_failure(error, body)
        assert CHARTS.idle.wait(30)
        return body

    def refreshes(self) -> int:
        """Run the queued refresh jobs that are due (as a worker would lease them); how many ran."""
        with self.deps.ctx.sessions.begin() as session:
            rows = session.scalars(select(PendingWork).where(PendingWork.kind == REFRESH_WORK)).all()
            due = [(r.id, r.payload) for r in rows if r.leased_until is None or r.leased_until <= self.clock.now]
            for row_id, _ in due:
                session.execute(pending_work.PendingWork.__table__.delete().where(PendingWork.id == row_id))
        for _, payload in due:
            self.do(REFRESH_WORK, json.loads(payload))
        return len(due)

    def channel(self) -> list[Any]:
        return self.fake.channel_messages(CHANNEL)

    def live(self) -> Any:
        """The channel's message with vote or facilitator buttons."""
        live = [m for m in self.channel() if any(b["action_id"].startswith("session_") for b in buttons(m))]
        assert len(live) == 1, [text_of(m) for m in live]
        return live[0]

    def whispers(self, user: str) -> list[str]:
        return [m.text for m in self.fake.ephemerals if m.user == user]


@pytest.fixture
def bot(database: Database, small_bank: Questionnaire, fake: FakeSlack) -> Bot:
    clock = Clock()
    deps = Deps(AppContext(database.sessions, small_bank), clock=clock, outreach=SETTINGS)
    client = WebClient(token=BOT_TOKEN, base_url=fake.api_url)
    bot = Bot(fake, Slack("http://127.0.0.1:9", fake.response_url()), deps, database, clock)
    bot.run = handlers(client, deps)
    return bot


def people(bot: Bot, count: int) -> list[str]:
    humans = [f"U0VOTER{i:02d}" for i in range(count)]
    for user in [*humans, LEAD]:
        bot.fake.add_user(user)
    bot.fake.add_channel(CHANNEL, [*humans, LEAD, "U0BOT"])
    return humans


def assess(bot: Bot, user: str, level: int) -> None:
    who = Who(TEAM_ID, user)
    progress = restart_assessment(bot.deps.ctx, who, T0 - timedelta(days=1))
    for question in bot.deps.ctx.bank.questions:
        record_answer(bot.deps.ctx, who, Click(progress.assessment_id, question.id, level), T0 - timedelta(days=1))


def test_a_session_over_one_dimension_from_the_start_to_the_summary(bot: Bot) -> None:
    voters = people(bot, 6)
    for user in voters[:4]:
        assess(bot, user, 2)  # the team's own answers: mean level 2 on every question
    bot.command("session data")
    opening, question = bot.channel()
    assert "Team session: Data" in opening.text and f"<@{LEAD}>" in opening.text
    assert "2 questions" in text_of(opening) and "privately" in text_of(opening)
    assert "Question 1 of 2" in text_of(question)
    assert [b["action_id"] for b in buttons(question)] == [
        "session_vote_1",
        "session_vote_2",
        "session_vote_3",
        "session_vote_4",
        "session_reveal",
    ]
    assert "0 of 7 voted" in text_of(question)

    # Six votes, one of them changed: confirmed to each voter only; the count is shown once, later.
    updates_before = len(bot.fake.calls_to("chat.update"))
    for user, level in zip(voters, (3, 3, 2, 4, 1, 3), strict=True):
        bot.click(user, f"session_vote_{level}", bot.live(), Work.SESSION_VOTE)
    bot.click(voters[4], "session_vote_3", bot.live(), Work.SESSION_VOTE)
    assert bot.whispers(voters[0]) == ["Your vote counted: Level 3 · Managed/Standardized"]
    assert bot.whispers(voters[4])[-1] == "Your vote changed to Level 3 · Managed/Standardized"
    assert "0 of 7 voted" in text_of(bot.live())  # not yet: the refresh waits to gather the votes
    assert bot.refreshes() == 0
    bot.clock.now += REFRESH_EVERY
    assert bot.refreshes() == 1
    assert "6 of 7 voted" in text_of(bot.live())
    assert len(bot.fake.calls_to("chat.update")) == updates_before  # the votes' response_url did it
    with bot.deps.ctx.sessions() as session:
        assert session.query(SessionVote).count() == 6

    # Only the facilitator reveals; the votes show as counts, never names.
    bot.click(voters[0], "session_reveal", bot.live(), Work.SESSION_STEP)
    assert any("Only <@U0LEAD>" in w for w in bot.whispers(voters[0]))
    assert "Reveal the votes" in text_of(bot.live())
    still_voting = copy.deepcopy(bot.live())  # as a slow client still shows it
    bot.click(LEAD, "session_reveal", bot.live(), Work.SESSION_STEP)
    revealed = text_of(bot.live())
    assert "Level 3: ▇▇▇▇ 4" in revealed and "Level 4: ▇ 1" in revealed and "Level 1: 0" in revealed
    assert "mixed" in revealed  # 2 to 4 spans more than two levels
    assert "mean level 2.0" in revealed  # the team's own DM answers
    assert not any(v in revealed for v in voters)
    bot.click(voters[5], "session_vote_1", still_voting, Work.SESSION_VOTE)  # too late
    assert "revealed" in bot.whispers(voters[5])[-1]

    # The facilitator agrees a level and an action is added through the form.
    bot.click(LEAD, "session_agree_3", bot.live(), Work.SESSION_STEP)
    assert "Agreed:* 🟡 Level 3" in text_of(bot.live())
    live = bot.live()
    form_click = bot.click(LEAD, "session_add_action", live, Work.SESSION_ACTION_FORM)
    [opened] = bot.fake.calls_to("views.open")
    assert opened.params["trigger_id"] == form_click["trigger_id"]
    view = json.loads(opened.params["view"]) if isinstance(opened.params["view"], str) else opened.params["view"]
    view["state"] = {
        "values": {
            "what": {"what": {"type": "plain_text_input", "value": "Version every training dataset"}},
            "owner": {"owner": {"type": "users_select", "selected_user": voters[1]}},
            "due": {"due": {"type": "datepicker", "selected_date": "2026-12-01"}},
        }
    }
    submission = {"type": "view_submission", "team": {"id": TEAM_ID}, "user": {"id": LEAD, "team_id": TEAM_ID}}
    bot.do(Work.SESSION_ACTION_SAVE, {**submission, "view": view})
    assert f"Version every training dataset (<@{voters[1]}>, due 2026-12-01)" in text_of(bot.live())

    # Next question; then the session ends on the last one with its summary.
    bot.click(LEAD, "session_next", bot.live(), Work.SESSION_STEP)
    assert "Question 2 of 2" in text_of(bot.live())
    assert "Agreed: 🟡 Level 3" in text_of(bot.channel()[1])  # the first question, closed
    assert not buttons(bot.channel()[1])
    for user in voters[:3]:
        bot.click(user, "session_vote_2", bot.live(), Work.SESSION_VOTE)
    bot.click(LEAD, "session_reveal", bot.live(), Work.SESSION_STEP)
    bot.click(LEAD, "session_agree_2", bot.live(), Work.SESSION_STEP)
    bot.click(LEAD, "session_next", bot.live(), Work.SESSION_STEP)
    summary = text_of(bot.channel()[-1])
    assert "Team session summary: Data" in summary
    assert "Data*: 2.75 · Level 3" in summary  # weighted as the bank weighs: (3 × 3 + 2 × 1) / 4
    assert "Version every training dataset" in summary and "mixed" in summary
    assert "Next for Data" in summary
    assert not any(b["action_id"].startswith("session_") for m in bot.channel() for b in buttons(m))
    with bot.deps.ctx.sessions() as session:
        row = session.scalars(select(TeamSession)).one()
        assert row.ended_at is not None and row.live_channel is None and row.end_reason == "finished"
        outcomes = {o.question_id: (o.level, o.mixed) for o in session.scalars(select(SessionOutcome))}
        assert outcomes == {"data.versioning": (3, True), "data.validation": (2, False)}
        assert session.scalars(select(SessionAction)).one().owner == voters[1]


def test_the_form_keeps_the_modal_open_with_each_problem_under_its_field(bot: Bot) -> None:
    acks: list[dict[str, Any]] = []
    view = {
        "private_metadata": "s1|1|data.versioning",
        "state": {
            "values": {
                "what": {"what": {"value": "   "}},
                "due": {"due": {"selected_date": "2026-10-01"}},
            }
        },
    }
    handle_action_form(lambda **kw: acks.append(kw), {"user": {"id": LEAD}}, view, {CONTEXT_KEY: bot.deps})
    assert acks == [
        {
            "response_action": "errors",
            "errors": {"what": "Say what the team will do.", "due": "Choose today or a later day."},
        }
    ]


def test_a_small_team_agrees_without_seeing_the_spread(bot: Bot) -> None:
    voters = people(bot, 2)
    bot.command("session ops")
    for user in voters:
        bot.click(user, "session_vote_2", bot.live(), Work.SESSION_VOTE)
    bot.click(LEAD, "session_reveal", bot.live(), Work.SESSION_STEP)
    revealed = text_of(bot.live())
    assert "2 votes: too few to show the spread" in revealed and "Level 2:" not in revealed
    assert "session_agree_2" in [b["action_id"] for b in buttons(bot.live())]


def test_one_live_session_per_channel_and_only_the_facilitator_ends_it(bot: Bot) -> None:
    voters = people(bot, 3)
    bot.command("session all")
    assert "Question 1 of 5" in text_of(bot.live())
    before = len(bot.fake.responses) + len(bot.fake.ephemerals)
    bot.command("session data", user=voters[0])
    replies = [*bot.fake.responses, *bot.fake.ephemerals][before:]
    assert "already running" in json.dumps(replies[-1] if replies else {})
    bot.command("session end", user=voters[0])
    assert "Only <@U0LEAD>" in json.dumps([*bot.fake.responses, *bot.fake.ephemerals][-1:])
    bot.command("session end")
    assert "ended early" in text_of(bot.channel()[-1])
    assert "No question was agreed" in text_of(bot.channel()[-1])
    assert not any(b["action_id"].startswith("session_") for m in bot.channel() for b in buttons(m))
    bot.command("session data")  # a new one may start now
    assert "Question 1 of 2" in text_of(bot.live())


def test_a_team_without_results_picks_the_dimension_and_a_channel_without_the_bot_gets_the_hint(bot: Bot) -> None:
    people(bot, 2)
    bot.command("session")
    [reply] = bot.fake.responses[-1:]
    picks = [b for b in reply["blocks"] if b["type"] == "actions"][0]["elements"]
    assert [p["value"] for p in picks] == ["data", "ops"]
    assert not bot.channel()
    bot.fake.add_channel("C0NOBOT", [LEAD], is_member=False)
    bot.command("session data", channel="C0NOBOT")
    assert "/invite @compass" in json.dumps(bot.fake.responses[-1])
    bot.command("session monitoring-of-things")
    assert "I know no dimension" in json.dumps(bot.fake.responses[-1])


def test_a_start_whose_messages_slack_refused_posts_them_when_the_facilitator_tries_again(bot: Bot) -> None:
    people(bot, 3)
    bot.fake.fail("chat.postMessage", status=200, error="channel_not_found", times=1)
    bot.command("session data")
    assert not bot.channel()
    bot.command("session data", user="U0VOTER00")  # someone else: pointed to the session
    assert "already running" in json.dumps(bot.fake.responses[-1])
    bot.command("session data")  # the facilitator again: the messages are posted this time
    opening, question = bot.channel()
    assert "Team session: Data" in opening.text and "Question 1 of 2" in text_of(question)


def agree_first_question(bot: Bot, voter: str) -> None:
    """`/compass session data`, one vote for level 3, revealed and agreed."""
    bot.command("session data")
    bot.click(voter, "session_vote_3", bot.live(), Work.SESSION_VOTE)
    bot.click(LEAD, "session_reveal", bot.live(), Work.SESSION_STEP)
    bot.click(LEAD, "session_agree_3", bot.live(), Work.SESSION_STEP)


def open_action_form(bot: Bot) -> dict[str, Any]:
    """The facilitator clicks "Add an action"; the form Slack was asked to open."""
    bot.click(LEAD, "session_add_action", bot.live(), Work.SESSION_ACTION_FORM)
    [opened] = bot.fake.calls_to("views.open")  # one form per test
    view = opened.params["view"]
    return dict(json.loads(view) if isinstance(view, str) else view)


def submit_action_form(bot: Bot, view: dict[str, Any]) -> None:
    """The facilitator submits the form, as Slack sends a view_submission."""
    submission = {"type": "view_submission", "team": {"id": TEAM_ID}, "user": {"id": LEAD, "team_id": TEAM_ID}}
    bot.do(Work.SESSION_ACTION_SAVE, {**submission, "view": view})


def agree_all_but_last(bot: Bot, voters: list[str]) -> None:
    """Vote, reveal and agree every question of the live session; stop before the last *Next*."""
    while True:
        bot.click(voters[0], "session_vote_2", bot.live(), Work.SESSION_VOTE)
        bot.click(LEAD, "session_reveal", bot.live(), Work.SESSION_STEP)
        bot.click(LEAD, "session_agree_2", bot.live(), Work.SESSION_STEP)
        if "Finish the session" in text_of(bot.live()):
            return
        bot.click(LEAD, "session_next", bot.live(), Work.SESSION_STEP)


def test_a_finish_whose_summary_slack_refused_posts_it_once_when_clicked_again(bot: Bot) -> None:
    voters = people(bot, 3)
    bot.command("session data")
    agree_all_but_last(bot, voters)
    last = copy.deepcopy(bot.live())
    bot.fake.fail("chat.postMessage", status=200, error="internal_error", times=1)
    bot.click(LEAD, "session_next", last, Work.SESSION_STEP)  # ended, but the summary was refused
    assert not any("summary" in m.text for m in bot.channel())
    bot.click(LEAD, "session_next", last, Work.SESSION_STEP)  # the same click again (a retry, or the person)
    summaries = [m for m in bot.channel() if "Team session summary" in m.text]
    assert len(summaries) == 1
    bot.click(LEAD, "session_next", last, Work.SESSION_STEP)  # once announced, no second summary
    assert len([m for m in bot.channel() if "Team session summary" in m.text]) == 1


def test_a_next_question_slack_refused_to_post_is_posted_when_clicked_again(bot: Bot) -> None:
    voters = people(bot, 3)
    agree_first_question(bot, voters[0])
    first = copy.deepcopy(bot.live())
    bot.fake.fail("chat.postMessage", status=200, error="internal_error", times=1)
    bot.click(LEAD, "session_next", first, Work.SESSION_STEP)
    assert "Question 2 of 2" not in json.dumps([text_of(m) for m in bot.channel()])
    bot.click(LEAD, "session_next", first, Work.SESSION_STEP)
    assert "Question 2 of 2" in text_of(bot.live())


def test_an_action_form_handled_twice_adds_one_action(bot: Bot) -> None:
    voters = people(bot, 3)
    agree_first_question(bot, voters[0])
    view = open_action_form(bot)
    view["id"] = "V0FORM1"
    view["state"] = {"values": {"what": {"what": {"type": "plain_text_input", "value": "Write the runbook"}}}}
    submit_action_form(bot, view)
    submit_action_form(bot, view)
    with bot.deps.ctx.sessions() as session:
        assert [a.text for a in session.scalars(select(SessionAction))] == ["Write the runbook"]
    assert text_of(bot.live()).count("Write the runbook") == 1


def test_what_a_person_typed_in_an_action_pings_nobody(bot: Bot) -> None:
    voters = people(bot, 3)
    agree_first_question(bot, voters[0])
    view = open_action_form(bot)
    view["state"] = {"values": {"what": {"what": {"value": "<!channel> fix it & <https://x|this>"}}}}
    submit_action_form(bot, view)
    shown = text_of(bot.live())
    assert "&lt;!channel&gt; fix it &amp; &lt;https://x|this&gt;" in shown and "<!channel>" not in shown
