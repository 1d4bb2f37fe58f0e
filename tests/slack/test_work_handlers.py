"""The worker-side Slack handlers called in-process: a real WebClient against the fake Slack
Web API, a real database (SQLite and PostgreSQL) and a fixed clock, with request bodies built
exactly as Slack sends them. No queue, no worker threads, no subprocesses: each handler runs
to its end before the call returns, so nothing here waits."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest
from conftest import SMALL_BANK, T0
from fakeslack import BOT_TOKEN, TEAM_ID, FakeSlack, Message
from harness import Slack, button, buttons, text_of
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import ConnectionErrorRetryHandler
from sqlalchemy import select

from bot.app import assessment, digests, results
from bot.app.context import AppContext
from bot.app.types import DigestSetting, Progress, Who
from bot.db.models import Answer, Respondent
from bot.db.setup import Database
from bot.domain.questionnaire import Questionnaire, parse_questionnaire
from bot.domain.rebase import NOTHING_KEPT
from bot.slack.blocks.assessment import MOVED
from bot.slack.blocks.outreach import build_prompt_message
from bot.slack.deps import Deps
from bot.slack.ids import ANSWER_PREFIX, Action, Work
from bot.slack.work import handlers, report_failure, work_for
from bot.slack.work.delivery import CHARTS

USER = "U0HANDLER"
DM = f"D{USER}"
WHO = Who(TEAM_ID, USER)


@dataclass
class Bot:
    """The handler table bound to a client on the fake, plus what the tests look at."""

    fake: FakeSlack
    slack: Slack
    client: WebClient
    deps: Deps
    database: Database
    run: dict[str, Callable[[dict[str, Any]], None]]

    @property
    def ctx(self) -> AppContext:
        return self.deps.ctx

    def do(self, kind: Work, body: dict[str, Any]) -> dict[str, Any]:
        """Hand a body to a handler as the queue does: through JSON, by its kind of work."""
        self.run[kind.value](json.loads(json.dumps(body)))
        assert CHARTS.idle.wait(30), "the chart lane never finished"  # charts are drawn beside the job
        return body

    def command_body(self, text: str, channel: str = "C0GENERAL") -> dict[str, Any]:
        return dict(parse_qsl(self.slack.command_body(USER, text, channel=channel)))

    def command(self, text: str, channel: str = "C0GENERAL") -> dict[str, Any]:
        return self.do(Work.COMMAND, self.command_body(text, channel))

    def click_body(self, pressed: dict[str, Any], on: Message | None, user: str = USER) -> dict[str, Any]:
        """A block_actions body for ``pressed`` on message ``on``, or in App Home when ``on`` is None."""
        channel, ts = (on.channel, on.ts) if on is not None else (None, None)
        body: dict[str, Any] = json.loads(dict(parse_qsl(self.slack.click_body(user, pressed, channel, ts)))["payload"])
        return body

    def press(self, pressed: dict[str, Any], on: Message | None) -> dict[str, Any]:
        return self.do(work_for(pressed["action_id"]), self.click_body(pressed, on))

    def click(self, message: Message, action_id: str) -> dict[str, Any]:
        """Press the button ``action_id`` the message shows now."""
        return self.press(button(message, action_id), message)

    def home_opened(self, event_id: str | None = None) -> dict[str, Any]:
        return self.do(Work.HOME, json.loads(self.slack.event_body(USER, event_id)))

    def dm(self) -> list[Message]:
        messages: list[Message] = self.fake.dm_messages(USER)
        return messages

    def progress(self) -> Progress | None:
        return assessment.current_progress(self.ctx, WHO, T0)

    def answers(self, assessment_id: int) -> dict[str, int | None]:
        with self.database.sessions() as session:
            rows = session.execute(
                select(Answer.question_id, Answer.level).where(Answer.assessment_id == assessment_id)
            ).all()
        return {question_id: level for question_id, level in rows}

    def replies(self) -> list[dict[str, Any]]:
        """What was posted to the response_url (ephemeral replies to the person)."""
        responses: list[dict[str, Any]] = self.fake.responses
        return responses


@pytest.fixture
def bot(database: Database, small_bank: Questionnaire, fake: FakeSlack) -> Bot:
    deps = Deps(AppContext(database.sessions, small_bank), clock=lambda: T0)
    client = WebClient(token=BOT_TOKEN, base_url=fake.api_url)
    slack = Slack("http://127.0.0.1:9", fake.response_url())  # builds bodies only; the app URL is unused
    return Bot(fake, slack, client, deps, database, handlers(client, deps))


def started(bot: Bot) -> tuple[Message, Progress]:
    """`/compass start` and the question message it posts."""
    bot.command("start")
    [message] = bot.dm()
    progress = bot.progress()
    assert progress is not None
    return message, progress


def answer_all(bot: Bot, message: Message, actions: list[str]) -> None:
    for action_id in actions:
        bot.click(message, action_id)


def answerable(bot: Bot) -> list[Message]:
    """The DM's messages that show answer buttons."""
    return [m for m in bot.dm() if any(b["action_id"].startswith(ANSWER_PREFIX) for b in buttons(m))]


def lost_reply(bot: Bot, kind: Work, body: dict[str, Any], attempts: int = 1) -> None:
    """Run a handler whose chat.postMessage Slack carries out but whose reply never arrives, on a
    client that makes ``attempts`` of it: the worker never learns the ts, as when it dies right
    after the post."""
    retries = [ConnectionErrorRetryHandler(max_retry_count=attempts - 1)] if attempts > 1 else []
    client = WebClient(token=BOT_TOKEN, base_url=bot.fake.api_url, retry_handlers=retries)
    bot.fake.drop("chat.postMessage", times=attempts)
    with pytest.raises(OSError):  # the connection closed without a reply
        handlers(client, bot.deps)[kind.value](json.loads(json.dumps(body)))


# -- taking an assessment -------------------------------------------------------------------


def test_compass_start_posts_question_one_and_an_answer_turns_that_message_into_question_two(
    bot: Bot, small_bank: Questionnaire
) -> None:
    """/compass start posts Q1 in the DM; answer_3 updates the same message to Q2 and stores 3."""
    first, second = small_bank.questions[0], small_bank.questions[1]
    message, progress = started(bot)
    assert message.channel == DM
    assert first.text in text_of(message) and "Question 1 of 5" in message.text
    assert bot.replies() == []  # the web process already acked with "check your DMs"

    bot.click(message, "answer_3")

    assert bot.dm() == [message] and message.updates == 1
    # Replaced through the click's own response_url: no chat.update (Tier 3) is spent on an answer.
    assert bot.fake.calls_to("chat.update") == [] and len(bot.fake.calls_to("response_url")) == 1
    assert second.text in text_of(message) and "Question 2 of 5" in message.text
    assert f"✓ *{first.title}*: 3 · Versioned" in text_of(message)
    assert bot.answers(progress.assessment_id) == {first.id: 3}
    now = bot.progress()
    assert now is not None and now.number == 2 and (now.channel_id, now.message_ts) == (DM, message.ts)


def test_answering_the_last_question_collapses_the_message_posts_the_report_and_publishes_app_home(
    bot: Bot, small_bank: Questionnaire
) -> None:
    """The last answer closes the question message, posts the report with its level, publishes Home."""
    message, progress = started(bot)
    answer_all(bot, message, ["answer_3", "answer_3", "answer_3", "not_applicable", "answer_3"])

    assert buttons(message) == [] and "All 5 questions answered" in message.text
    [question_message, report] = bot.dm()
    assert question_message is message and report.ts != message.ts
    assert "Level 3 Managed/Standardized (3.00/4)" in report.text
    assert "Your MLOps maturity report" in text_of(report) and "1 not applicable" in text_of(report)
    assert bot.answers(progress.assessment_id) == {
        q.id: (None if q.id == "ops.abtest" else 3) for q in small_bank.questions
    }
    latest = results.latest_report(bot.ctx.sessions, WHO)
    assert latest is not None and latest.level == 3
    assert bot.progress() is None
    home = bot.fake.views[USER]
    assert "Latest result" in text_of(home) and button(home, Action.START)["text"]["text"] == "Re-assess now"


def test_a_repeated_click_on_an_answered_question_records_nothing_and_skips_no_question(
    bot: Bot, small_bank: Questionnaire
) -> None:
    """Clicking Q1's buttons again after Q1 was answered leaves the answers and Q2 where they were."""
    message, progress = started(bot)
    same, other = dict(button(message, "answer_2")), dict(button(message, "answer_4"))  # Q1's buttons
    bot.click(message, "answer_2")

    bot.press(same, message)  # a double click that arrived late
    bot.press(other, message)  # a different answer from the stale Q1 buttons

    assert bot.answers(progress.assessment_id) == {small_bank.questions[0].id: 2}
    now = bot.progress()
    assert now is not None and now.number == 2
    assert small_bank.questions[1].text in text_of(message) and "Question 2 of 5" in message.text
    assert len(bot.dm()) == 1


def test_back_returns_to_the_previous_question_and_a_new_answer_replaces_the_old_one(
    bot: Bot, small_bank: Questionnaire
) -> None:
    """Back shows Q1 again with the earlier answer marked; answering it again changes the stored level."""
    first = small_bank.questions[0]
    message, progress = started(bot)
    bot.click(message, "answer_3")

    bot.click(message, Action.BACK)

    assert first.text in text_of(message) and "Question 1 of 5" in message.text
    assert "Back to the previous question" in text_of(message)
    earlier = "*3 · Versioned*: Every training set is versioned and recorded with its model.  _(your earlier answer)_"
    assert earlier in text_of(message)
    assert button(message, "answer_3").get("style") == "primary"
    back = bot.progress()
    assert back is not None and back.number == 1 and back.previous_answer == 3
    assert bot.answers(progress.assessment_id) == {first.id: 3}

    bot.click(message, "answer_1")

    assert "Question 2 of 5" in message.text
    assert bot.answers(progress.assessment_id) == {first.id: 1}


def test_start_over_on_the_resume_offer_begins_a_new_assessment_at_question_one(
    bot: Bot, small_bank: Questionnaire
) -> None:
    """A second /compass start offers Resume or Start over; Start over turns the offer into a fresh Q1."""
    message, old = started(bot)
    answer_all(bot, message, ["answer_2", "answer_2"])

    bot.command("start")
    [_, offer] = bot.dm()
    assert "unfinished MLOps Compass assessment at question 3 of 5" in offer.text
    bot.click(offer, Action.START_OVER)

    assert small_bank.questions[0].text in text_of(offer) and "Question 1 of 5" in offer.text
    new = bot.progress()
    assert new is not None and new.assessment_id != old.assessment_id and new.number == 1
    assert (new.channel_id, new.message_ts) == (DM, offer.ts)
    assert bot.answers(new.assessment_id) == {}
    assert len(bot.answers(old.assessment_id)) == 2  # kept with the abandoned assessment


def test_start_over_retires_the_abandoned_assessments_question_message(bot: Bot) -> None:
    """After Start over, the old question message holds no buttons, like every other retired message."""
    message, _ = started(bot)
    bot.click(message, "answer_2")
    bot.command("start")
    [_, offer] = bot.dm()

    bot.click(offer, Action.START_OVER)

    assert buttons(message) == [] and message.text == MOVED


def test_resume_on_the_resume_offer_shows_the_current_question_in_that_message(
    bot: Bot, small_bank: Questionnaire
) -> None:
    """Resume on the offer turns it into the current question and retires the old question message."""
    message, progress = started(bot)
    bot.click(message, "answer_4")
    bot.command("start")
    [_, offer] = bot.dm()

    bot.click(offer, Action.RESUME)

    assert small_bank.questions[1].text in text_of(offer) and "Question 2 of 5" in offer.text
    assert message.text == MOVED and buttons(message) == []
    now = bot.progress()
    assert now is not None and now.assessment_id == progress.assessment_id and now.message_ts == offer.ts


def test_resume_from_app_home_posts_the_current_question_in_the_dm_and_retires_the_old_message(
    bot: Bot, small_bank: Questionnaire
) -> None:
    """Resume in App Home (no message container) posts the current question as a new DM message."""
    message, progress = started(bot)
    bot.click(message, "answer_2")
    stale = dict(button(message, "answer_1"))  # Q2's button on the message about to be retired
    bot.home_opened()
    home = bot.fake.views[USER]
    assert "You are at question 2 of 5" in text_of(home)

    bot.press(button(home, Action.RESUME), None)

    [old, resumed] = bot.dm()
    assert old is message and old.text == MOVED and buttons(old) == []
    assert small_bank.questions[1].text in text_of(resumed) and "Question 2 of 5" in resumed.text
    now = bot.progress()
    assert now is not None and (now.channel_id, now.message_ts) == (DM, resumed.ts)
    assert len(bot.fake.calls_to("views.publish")) == 2  # App Home refreshed after the resume

    bot.press(stale, old)  # a click on the retired message counts for nothing

    assert bot.answers(progress.assessment_id) == {small_bank.questions[0].id: 2}
    assert old.text == MOVED and resumed.updates == 0
    now = bot.progress()
    assert now is not None and now.number == 2 and now.message_ts == resumed.ts


def test_start_from_app_home_begins_in_the_dm_and_home_then_offers_resume(bot: Bot, small_bank: Questionnaire) -> None:
    """Start in App Home posts Q1 in the DM and republishes Home with Resume at question 1."""
    bot.home_opened()
    home = bot.fake.views[USER]
    bot.press(button(home, Action.START), None)

    [message] = bot.dm()
    assert small_bank.questions[0].text in text_of(message)
    home = bot.fake.views[USER]
    assert button(home, Action.RESUME)["text"]["text"] == "Resume at question 1"
    progress = bot.progress()
    assert progress is not None and progress.message_ts == message.ts


# -- repeated starts: never two messages that take answers ------------------------------------


def test_a_question_posted_but_never_recorded_is_taken_over_by_the_next_start(
    bot: Bot, small_bank: Questionnaire
) -> None:
    """Slack posted question 1 but the worker never recorded its ts; the start done again finds that
    message by its metadata and makes it the live one instead of posting a second question."""
    lost_reply(bot, Work.COMMAND, bot.command_body("start"))
    [orphan] = bot.dm()
    progress = bot.progress()
    assert progress is not None and progress.message_ts is None
    assert orphan.metadata == {
        "event_type": "compass_question",
        "event_payload": {"assessment_id": progress.assessment_id},
    }

    bot.command("start")  # the queue's retry of the same request, or the person asking again

    assert bot.dm() == [orphan] and answerable(bot) == [orphan]
    assert len(bot.fake.calls_to("chat.postMessage")) == 1
    [history] = bot.fake.calls_to("conversations.history")
    assert history.params["channel"] == DM and history.params["include_all_metadata"] in ("1", "true")
    assert int(history.params["limit"]) == 10
    now = bot.progress()
    assert now is not None and (now.channel_id, now.message_ts) == (DM, orphan.ts)
    assert "Question 1 of 5" in orphan.text and orphan.updates == 1

    bot.click(orphan, "answer_2")

    assert "Question 2 of 5" in orphan.text and bot.answers(progress.assessment_id) == {small_bank.questions[0].id: 2}


def test_copies_of_a_question_posted_by_the_clients_own_retry_leave_one_that_takes_answers(bot: Bot) -> None:
    """The client posted again after a lost reply and lost that reply too: of the two unrecorded
    messages, the next start keeps the newest and empties the other."""
    lost_reply(bot, Work.COMMAND, bot.command_body("start"), attempts=2)
    first, second = bot.dm()
    stale = dict(button(first, "answer_4"))

    bot.command("start")

    assert bot.dm() == [first, second] and answerable(bot) == [second]
    assert first.text == MOVED and buttons(first) == []
    progress = bot.progress()
    assert progress is not None and progress.message_ts == second.ts

    bot.press(stale, first)  # a click that was on its way before the message emptied

    assert bot.answers(progress.assessment_id) == {} and answerable(bot) == [second]


def test_a_resume_from_app_home_done_again_after_a_lost_reply_reuses_its_message(bot: Bot) -> None:
    """Resume in App Home posted the question below but its ts was never recorded: the retried
    request finds that message (newer than the live one), makes it live and empties the old one."""
    message, _ = started(bot)
    bot.click(message, "answer_3")
    bot.home_opened()
    resume = dict(button(bot.fake.views[USER], Action.RESUME))
    lost_reply(bot, Work.RESUME, bot.click_body(resume, None))
    [_, orphan] = bot.dm()
    assert len(answerable(bot)) == 2  # until the request is done again, the old message is the live one

    bot.press(resume, None)

    assert bot.dm() == [message, orphan] and answerable(bot) == [orphan]
    assert message.text == MOVED and "Question 2 of 5" in orphan.text
    progress = bot.progress()
    assert progress is not None and progress.message_ts == orphan.ts


def test_without_the_history_scope_a_repeated_start_posts_again_and_says_so_once(
    bot: Bot, small_bank: Questionnaire, caplog: pytest.LogCaptureFixture
) -> None:
    """Slack refuses conversations.history (missing_scope): the start posts the question anew, the
    unrecorded message's buttons count for nothing, and the log warns once per process."""
    lost_reply(bot, Work.COMMAND, bot.command_body("start"))
    bot.fake.fail(
        "conversations.history", status=200, error="missing_scope", times=2, needed="im:history", provided="chat:write"
    )
    caplog.set_level(logging.DEBUG, logger="bot.slack.work.delivery")

    bot.command("start")

    orphan, question = bot.dm()
    progress = bot.progress()
    assert progress is not None and progress.message_ts == question.ts
    bot.click(orphan, "answer_1")  # the unrecorded message: out of date, emptied on the click
    assert bot.answers(progress.assessment_id) == {} and answerable(bot) == [question]
    bot.home_opened()
    bot.press(button(bot.fake.views[USER], Action.RESUME), None)  # looks again, refused again
    assert len(answerable(bot)) == 1
    refusals = [r for r in caplog.records if "im:history" in r.getMessage()]
    assert len(refusals) == 2 and sum(r.levelno == logging.WARNING for r in refusals) <= 1
    assert small_bank.questions[0].text in text_of(answerable(bot)[0])


def test_starts_in_a_row_while_a_question_is_live_keep_one_message_that_takes_answers(bot: Bot) -> None:
    """Each further /compass start posts a resume offer (no answer buttons); each Resume moves the
    question into its offer and empties the message before it. The DM history is never read."""
    message, _ = started(bot)
    bot.command("start")
    bot.command("start")
    _, first_offer, second_offer = bot.dm()
    assert answerable(bot) == [message]

    bot.click(first_offer, Action.RESUME)

    assert answerable(bot) == [first_offer] and message.text == MOVED

    bot.click(second_offer, Action.RESUME)

    assert answerable(bot) == [second_offer] and first_offer.text == MOVED
    progress = bot.progress()
    assert progress is not None and progress.message_ts == second_offer.ts
    assert bot.fake.calls_to("conversations.history") == []


# -- an edited question bank ---------------------------------------------------------------

EDITED = T0 + timedelta(days=1)


def edited_bank(*reworded: str, removed: tuple[str, ...] = ()) -> Questionnaire:
    """The small bank with the questions ``reworded`` given new text and ``removed`` taken out."""
    doc = json.loads(SMALL_BANK.read_text(encoding="utf-8"))
    for q in doc["questions"]:
        if q["id"] in reworded:
            q["text"] = f"Reworded: {q['text']}"
    doc["questions"] = [q for q in doc["questions"] if q["id"] not in removed]
    return parse_questionnaire(copy.deepcopy(doc))


def redeployed(bot: Bot, bank: Questionnaire) -> Bot:
    """The same person, Slack and database, after the workers restarted with ``bank``."""
    deps = Deps(AppContext(bot.database.sessions, bank), clock=lambda: EDITED)
    return Bot(bot.fake, bot.slack, bot.client, deps, bot.database, handlers(bot.client, deps))


def notice_of(message: Message) -> str:
    [block] = [b for b in message.blocks if b.get("block_id", "").startswith("notice.")]
    text: str = block["elements"][0]["text"]
    return text


def test_compass_start_after_the_bank_changed_says_so_in_one_line_and_resume_keeps_the_answers(
    bot: Bot, small_bank: Questionnaire
) -> None:
    """After an edit of Q2, /compass start offers to resume at Q2 and says what changed; Resume shows
    Q2 in its new wording (the offer it replaces said it once), and the answers to Q1 and Q3 are kept."""
    message, progress = started(bot)
    answer_all(bot, message, ["answer_3", "answer_1", "answer_4"])
    bank = edited_bank(small_bank.questions[1].id)
    later = redeployed(bot, bank)
    line = (
        "The questionnaire changed since you started: 1 question you answered has changed; "
        "your 2 other answers were kept."
    )

    later.command("start")

    [_, offer] = later.dm()
    assert "unfinished MLOps Compass assessment at question 2 of 5" in offer.text
    assert line in offer.text and line in text_of(offer)
    later.click(offer, Action.RESUME)

    assert bank.questions[1].text.startswith("Reworded:") and bank.questions[1].text in text_of(offer)
    assert "Question 2 of 5" in offer.text and line not in text_of(offer)
    assert message.text == MOVED and buttons(message) == []
    assert later.answers(progress.assessment_id) == {small_bank.questions[0].id: 3, small_bank.questions[2].id: 4}
    later.click(offer, "answer_2")  # the reworded Q2, then on past the kept Q3
    assert bank.questions[3].text in text_of(offer) and "Question 4 of 5" in offer.text


def test_clicking_an_answer_on_a_question_posted_before_the_edit_shows_where_it_resumes_and_records_nothing(
    bot: Bot, small_bank: Questionnaire
) -> None:
    """The live message still shows Q3 as it was; after an edit of Q1, a click on it is not recorded:
    the message turns into Q1 in its new wording with the one-line notice."""
    message, progress = started(bot)
    answer_all(bot, message, ["answer_3", "answer_1"])
    bank = edited_bank(small_bank.questions[0].id)
    later = redeployed(bot, bank)

    later.click(message, "answer_4")  # Q3's button, posted before the edit

    assert later.replies() == []  # no error
    assert bank.questions[0].text in text_of(message) and "Question 1 of 5" in message.text
    assert notice_of(message) == (
        "The questionnaire changed since you started: 1 question you answered has changed; your other answer was kept."
    )
    assert later.answers(progress.assessment_id) == {small_bank.questions[1].id: 1}
    later.click(message, "answer_2")  # Q1 again; Q2 kept: on to Q3
    assert "Question 3 of 5" in message.text
    assert later.answers(progress.assessment_id) == {small_bank.questions[0].id: 2, small_bank.questions[1].id: 1}


def test_a_button_shown_before_the_edit_stays_stale_after_the_assessment_moved_on(
    bot: Bot, small_bank: Questionnaire
) -> None:
    """Q2 is reworded while its message is live; /compass start carries the assessment over. A click on
    the old Q2 buttons (they carry the old question's hash) is refused and shows the new Q2."""
    message, progress = started(bot)
    bot.click(message, "answer_3")
    later = redeployed(bot, edited_bank(small_bank.questions[1].id))
    later.command("start")

    later.click(message, "answer_2")

    assert later.answers(progress.assessment_id) == {small_bank.questions[0].id: 3}
    assert "Reworded: How is input data checked?" in text_of(message) and "Question 2 of 5" in message.text


def test_when_no_answer_survives_the_edit_the_clicked_message_starts_afresh_and_says_so(
    bot: Bot, small_bank: Questionnaire
) -> None:
    """Q1, the only answer, was removed: the click closes the assessment and its message becomes Q1 of a
    fresh one, saying none of the answers still apply."""
    message, progress = started(bot)
    bot.click(message, "answer_3")
    bank = edited_bank(removed=(small_bank.questions[0].id,))
    later = redeployed(bot, bank)

    later.click(message, "answer_2")

    assert notice_of(message) == NOTHING_KEPT
    assert bank.questions[0].text in text_of(message) and "Question 1 of 4" in message.text
    fresh = later.progress()
    assert fresh is not None and fresh.assessment_id != progress.assessment_id and fresh.message_ts == message.ts
    assert later.answers(fresh.assessment_id) == {}


def test_app_home_after_the_edit_shows_where_the_assessment_would_resume_and_why(
    bot: Bot, small_bank: Questionnaire
) -> None:
    """App Home looks without carrying over: it shows Resume at the changed question and the line; the
    Resume there then carries the assessment over and posts that question with the line in the DM."""
    message, _ = started(bot)
    answer_all(bot, message, ["answer_3", "answer_1"])
    later = redeployed(bot, edited_bank(small_bank.questions[0].id))

    later.home_opened()

    home = later.fake.views[USER]
    line = (
        "The questionnaire changed since you started: 1 question you answered has changed; your other answer was kept."
    )
    assert button(home, Action.RESUME)["text"]["text"] == "Resume at question 1" and line in text_of(home)
    later.press(button(home, Action.RESUME), None)
    [_, resumed] = later.dm()
    assert notice_of(resumed) == line and "Question 1 of 5" in resumed.text


# -- invitations ------------------------------------------------------------------------------


def invitation(bot: Bot) -> Message:
    """An invitation as the scheduler posts it."""
    bot.client.chat_postMessage(channel=USER, **build_prompt_message(None, 90).as_kwargs())
    return bot.dm()[-1]


def test_remind_me_later_closes_the_invitation_with_the_day_it_will_ask_again(bot: Bot) -> None:
    """Snooze stores three days of quiet and collapses the invitation to "I'll ask again after ..."."""
    invite = invitation(bot)

    bot.click(invite, Action.SNOOZE)

    assert buttons(invite) == []
    assert invite.text.startswith("OK, I'll ask again after Thursday, Nov 5.")  # T0 is Monday, Nov 2
    with bot.database.sessions() as session:
        snoozed = session.scalar(select(Respondent.snoozed_until).where(Respondent.user_id == USER))
    assert snoozed == T0 + timedelta(days=3)
    assert bot.progress() is None and len(bot.dm()) == 1


def test_start_on_an_invitation_posts_question_one_and_closes_the_invitation(
    bot: Bot, small_bank: Questionnaire
) -> None:
    """Start on an invitation begins the assessment in a new message and drops the invitation's buttons."""
    invite = invitation(bot)

    bot.click(invite, Action.START)

    [closed, question] = bot.dm()
    assert closed is invite and buttons(invite) == [] and "starts in the next message" in invite.text
    assert small_bank.questions[0].text in text_of(question)
    assert bot.fake.calls_to("views.publish") == []  # not clicked in App Home


# -- /compass subcommands -----------------------------------------------------------------


def test_report_and_history_before_any_assessment_say_so_through_the_response_url(bot: Bot) -> None:
    """/compass report and /compass history reply ephemerally through response_url when there is nothing yet."""
    bot.command("report")
    bot.command("history")

    report, history = bot.replies()
    assert report["response_type"] == history["response_type"] == "ephemeral"
    assert "You have no completed assessment yet" in report["text"]
    assert "You have no completed assessments yet" in history["text"]
    assert bot.dm() == []


def test_report_and_history_after_an_assessment_reply_with_the_result_through_the_response_url(bot: Bot) -> None:
    """After one completed assessment, report shows its level and history lists it, both ephemeral."""
    message, _ = started(bot)
    answer_all(bot, message, ["answer_2"] * 3 + ["not_applicable", "answer_2"])
    posted = len(bot.dm())

    bot.command("report")
    bot.command("history")

    report, history = bot.replies()
    assert report["response_type"] == history["response_type"] == "ephemeral"
    assert "Level 2 Repeatable/Automated (2.00/4)" in report["text"]
    assert "Your MLOps maturity report" in json.dumps(report["blocks"])
    assert history["text"] == "Your last 1 MLOps Compass result(s)"
    assert "Nov 2, 2026 · 2.00" in json.dumps(history["blocks"], ensure_ascii=False)
    assert len(bot.dm()) == posted  # nothing more in the DM


def test_digest_here_in_a_channel_without_the_bot_answers_with_the_invitation_hint(bot: Bot) -> None:
    """/compass digest here weekly where the bot is not a member asks to /invite it and saves nothing."""
    bot.fake.add_channel("C0TEAM", [USER], is_member=False)

    bot.command("digest here weekly", channel="C0TEAM")

    [reply] = bot.replies()
    assert reply["response_type"] == "ephemeral"
    assert reply["text"].startswith("I'm not a member of <#C0TEAM> yet. Invite me with `/invite @compass`")
    assert digests.digest_settings(bot.ctx, TEAM_ID, T0) == []


def test_digest_here_in_a_channel_the_bot_cannot_see_says_to_invite_it_first(bot: Bot) -> None:
    """A private channel the bot is not in looks like channel_not_found; the reply says to invite it."""
    bot.command("digest here monthly", channel="G0SECRET")

    [reply] = bot.replies()
    assert reply["text"].startswith("I can't see <#G0SECRET>. If it is a private channel, invite me first")
    assert digests.digest_settings(bot.ctx, TEAM_ID, T0) == []


def test_digest_here_in_a_member_channel_confirms_and_saves_the_setting(bot: Bot) -> None:
    """/compass digest here weekly in a channel the bot is in confirms and stores a weekly digest."""
    bot.fake.add_channel("C0TEAM", [USER], is_member=True)

    bot.command("digest here weekly", channel="C0TEAM")

    [reply] = bot.replies()
    assert reply["response_type"] == "ephemeral"
    assert reply["text"].startswith(":white_check_mark: <#C0TEAM> will get the team MLOps maturity digest weekly")
    assert "next full week" in reply["text"]
    assert digests.digest_settings(bot.ctx, TEAM_ID, T0) == [DigestSetting("C0TEAM", "weekly", None)]


# -- App Home -------------------------------------------------------------------------------


def test_app_home_is_published_once_per_event_id_however_often_slack_delivers_it(bot: Bot) -> None:
    """A redelivered app_home_opened with the same event_id publishes nothing more; a new event does."""
    bot.home_opened("EvHOME00001")
    bot.home_opened("EvHOME00001")

    [publish] = bot.fake.calls_to("views.publish")
    assert publish.params["user_id"] == USER
    home = bot.fake.views[USER]
    assert home["type"] == "home" and button(home, Action.START)["text"]["text"] == "Start an assessment"

    bot.home_opened("EvHOME00002")

    assert len(bot.fake.calls_to("views.publish")) == 2


# -- failures -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 200], ids=["http-500", "ok-false"])
def test_a_message_slack_refuses_reaches_the_person_ephemerally_with_a_reference(bot: Bot, status: int) -> None:
    """chat.postMessage failing raises out of the handler; report_failure replies through response_url."""
    bot.fake.fail("chat.postMessage", status=status, error="internal_error")
    body = bot.command_body("start")

    with pytest.raises(SlackApiError) as raised:
        bot.do(Work.COMMAND, body)
    report_failure(raised.value, body)

    [reply] = bot.replies()
    assert reply["response_type"] == "ephemeral" and reply["replace_original"] is False
    assert reply["text"].startswith("Slack did not accept my reply (ref `")
    assert bot.dm() == []
    # The assessment was begun before the post failed, and has no message to resume from: the
    # next /compass start finds none of its questions in the DM and shows question 1.
    bot.command("start")
    [question] = bot.dm()
    assert "Question 1 of 5" in question.text
    progress = bot.progress()
    assert progress is not None and progress.message_ts == question.ts


def test_a_report_slack_refuses_is_still_saved_and_the_person_told(bot: Bot) -> None:
    """When the report post fails after the last answer, the result is kept and /compass report shows it."""
    message, _ = started(bot)
    answer_all(bot, message, ["answer_4"] * 4)
    bot.fake.fail("chat.postMessage", status=500)
    body = bot.click_body(button(message, "answer_4"), message)

    with pytest.raises(SlackApiError) as raised:
        bot.do(Work.ANSWER, body)
    report_failure(raised.value, body)

    [reply] = bot.replies()
    assert reply["response_type"] == "ephemeral" and "ref `" in reply["text"]
    assert "All 5 questions answered" in message.text and len(bot.dm()) == 1
    latest = results.latest_report(bot.ctx.sessions, WHO)
    assert latest is not None and latest.level == 4
    bot.command("report")
    assert "Level 4 Optimized/Autonomous (4.00/4)" in bot.replies()[-1]["text"]


def test_a_tampered_button_value_is_reported_as_out_of_date_through_the_response_url(bot: Bot) -> None:
    """A button value no builder made raises StaleButton; report_failure sends its short text, no ref."""
    message, progress = started(bot)
    tampered = dict(button(message, "answer_2"), value="not-a-button-of-ours")
    body = bot.click_body(tampered, message)

    with pytest.raises(Exception) as raised:
        bot.do(Work.ANSWER, body)
    report_failure(raised.value, body)

    [reply] = bot.replies()
    assert reply == {
        "text": "That button is out of date. Run `/compass start` to carry on.",
        "response_type": "ephemeral",
        "replace_original": False,
    }
    assert bot.answers(progress.assessment_id) == {}
    assert "Question 1 of 5" in message.text and message.updates == 0


def test_a_click_on_someone_elses_assessment_is_refused_and_explained(bot: Bot) -> None:
    """Another person's click on this person's buttons stores nothing and tells the clicker why."""
    message, progress = started(bot)
    body = bot.click_body(button(message, "answer_2"), message, user="U0SOMEONE")

    with pytest.raises(Exception) as raised:
        bot.do(Work.ANSWER, body)
    report_failure(raised.value, body)

    [reply] = bot.replies()
    assert reply["text"] == "Those buttons belong to someone else's assessment; run `/compass start` for your own."
    assert bot.answers(progress.assessment_id) == {}
    assert "Question 1 of 5" in message.text and message.updates == 0
