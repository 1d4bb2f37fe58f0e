"""When Slack answers 429 on an interactive path: the worker never sleeps on it, the rest of the job
waits in its place in the queue for Retry-After and is done then, in the person's order, with no error
shown and nothing lost; a 429 in one workspace holds nothing up in another."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import T0
from fakeslack import BOT_TOKEN, FakeSlack
from harness import Slack, text_of
from slack_sdk import WebClient
from sqlalchemy import select
from test_worker import click, command, queue, running, waiting, worker

from bot.app.context import AppContext
from bot.db.models import Answer, PendingWork
from bot.db.setup import Database
from bot.domain.questionnaire import Questionnaire
from bot.queue.worker import Later
from bot.slack.deps import Deps
from bot.slack.ids import Work
from bot.slack.work.delivery import STEPS_KEY, Budgets, Delivery, Post, Publish, deliver, from_json, to_json

USER = "U0WORKER"


@pytest.fixture
def slack(fake: FakeSlack) -> Slack:
    return Slack("http://127.0.0.1:9", fake.response_url())


def test_a_429_at_the_end_of_an_assessment_waits_for_retry_after_in_the_queue_and_loses_nothing(
    database: Database, small_bank: Questionnaire, fake: FakeSlack, slack: Slack
) -> None:
    """App Home's views.publish is refused with Retry-After 2 after the last answer: the report is out at
    once, App Home follows after the wait, the person's next request (`/compass history`) is done only
    after it, and the person is never told about it."""
    with running(worker(database, small_bank, fake)):
        queue(database, Work.COMMAND, command(slack, "start"))
        message = fake.wait_for(lambda: fake.dm_messages(USER) and fake.dm_messages(USER)[-1])
        for number in range(1, len(small_bank) + 1):
            if number == len(small_bank):
                fake.fail("views.publish", status=429, retry_after=2)
            queue(database, Work.ANSWER, click(slack, message, "answer_2"))
            if number < len(small_bank):
                fake.wait_for(lambda n=number: f"Question {n + 1} of" in fake.dm_messages(USER)[0].text)
        clicked = time.monotonic()
        report = fake.wait_for(lambda: len(fake.dm_messages(USER)) == 2 and fake.dm_messages(USER)[-1])
        assert "Your MLOps maturity" in report.text

        def kinds() -> list[str]:
            with database.sessions() as session:
                return list(session.scalars(select(PendingWork.kind)).all())

        fake.wait_for(lambda: kinds() == [Work.DELIVER.value])  # the rest of the job kept its row, as a delivery
        queue(database, Work.COMMAND, command(slack, "history"))  # behind it, in the person's order
        fake.wait_for(lambda: USER in fake.views, timeout=10)
        published = time.monotonic()
        reply = fake.wait_for(lambda: fake.responses and fake.responses[-1])
        fake.wait_for(lambda: waiting(database) == 0)
    assert published - clicked >= 1.5  # Retry-After was honoured, not hammered
    publishes = fake.calls_to("views.publish")
    assert len(publishes) == 2 and publishes[1].at - publishes[0].at >= 1.9
    assert "Your last 1 MLOps Compass result(s)" in json.dumps(reply)
    history_reply = next(c for c in fake.calls if c.method == "response_url" and "result(s)" in json.dumps(c.params))
    assert history_reply.at >= publishes[1].at  # the history waited behind the deferred delivery
    assert "Latest result" in text_of(fake.views[USER])
    assert all("did not accept" not in json.dumps(r) for r in fake.responses)  # no error shown
    with database.sessions() as session:
        assert len(session.scalars(select(Answer.id)).all()) == len(small_bank)


def _delivery(fake: FakeSlack, team: str, budgets: Budgets) -> Delivery:
    client = WebClient(token=BOT_TOKEN, base_url=fake.api_url)
    deps = Deps(AppContext(None, None), clock=lambda: T0)  # type: ignore[arg-type]  # no use case runs here
    body: dict[str, Any] = {"team_id": team, "user_id": USER, "user": {"id": USER, "team_id": team}}
    return Delivery(client, body, deps, Work.HOME, budgets=budgets)


def test_a_429_is_remembered_per_workspace_and_method_and_the_rest_of_the_job_is_handed_back(
    fake: FakeSlack,
) -> None:
    budgets = Budgets()
    view = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]}
    steps = [Publish(USER, view), Post(USER, {"text": "after", "blocks": []})]
    fake.fail("views.publish", status=429, retry_after=7)

    with pytest.raises(Later) as first:
        deliver(_delivery(fake, "T0BUSY", budgets), steps)

    assert first.value.kind == Work.DELIVER.value and first.value.until == T0 + timedelta(seconds=7)
    assert [from_json(s) for s in first.value.payload[STEPS_KEY]] == steps  # nothing of it done, nothing lost
    calls = len(fake.calls)
    with pytest.raises(Later):  # the same workspace waits without spending another call
        deliver(_delivery(fake, "T0BUSY", budgets), steps)
    assert len(fake.calls) == calls
    deliver(_delivery(fake, "T0QUIET", budgets), [Publish(USER, view)])  # another workspace goes on at once
    assert len(fake.calls_to("views.publish")) == 2
    deliver(_delivery(fake, "T0BUSY", budgets), [Post(USER, {"text": "other method", "blocks": []})])
    assert fake.dm_messages(USER)[-1].text == "other method"  # and so does another method


def test_the_rest_of_a_job_survives_the_queue_as_json_with_its_chart_drawn() -> None:
    from bot.slack.work.delivery import PostQuestion, Replace, Update, Upload

    steps = [
        Replace("D1", "1.1", {"text": "q", "blocks": []}),
        Update("D1", "1.0", {"text": "old", "blocks": []}),
        PostQuestion(USER, 7, {"text": "q2", "blocks": []}, look_first=True, dm_channel="D1", recorded_ts="1.1"),
        Upload("comment", channel="D1", png=b"\x89PNG...", filename="r.png", title="Radar", alt_text="alt"),
    ]
    again = [from_json(json.loads(json.dumps(to_json(s)))) for s in steps]
    assert again == steps


def test_the_clicked_message_falls_back_to_chat_update_when_its_response_url_is_spent(
    database: Database, small_bank: Questionnaire, fake: FakeSlack, slack: Slack
) -> None:
    """Slack takes a response_url 5 times: a sixth use is refused, and chat.update does the job."""
    with running(worker(database, small_bank, fake)):
        queue(database, Work.COMMAND, command(slack, "start"))
        message = fake.wait_for(lambda: fake.dm_messages(USER) and fake.dm_messages(USER)[-1])
        body = click(slack, message, "answer_3")
        for _ in range(5):  # someone (or something) used this click's URL up already
            fake.respond(urlparse_path(body["response_url"]), {"text": "x"})
        queue(database, Work.ANSWER, body)
        fake.wait_for(lambda: "Question 2 of" in fake.dm_messages(USER)[0].text)
        fake.wait_for(lambda: waiting(database) == 0)
    assert len(fake.calls_to("chat.update")) == 1


def test_a_click_older_than_the_response_urls_life_is_shown_with_chat_update(
    database: Database, small_bank: Questionnaire, fake: FakeSlack, slack: Slack
) -> None:
    with running(worker(database, small_bank, fake)):
        queue(database, Work.COMMAND, command(slack, "start"))
        message = fake.wait_for(lambda: fake.dm_messages(USER) and fake.dm_messages(USER)[-1])
        body = click(slack, message, "answer_3")
        body["actions"][0]["action_ts"] = f"{(datetime.now(UTC) - timedelta(minutes=31)).timestamp():.6f}"
        queue(database, Work.ANSWER, body)
        fake.wait_for(lambda: "Question 2 of" in fake.dm_messages(USER)[0].text)
        fake.wait_for(lambda: waiting(database) == 0)
    assert len(fake.calls_to("chat.update")) == 1 and fake.calls_to("response_url") == []


def urlparse_path(url: str) -> str:
    return "/" + url.split("//", 1)[1].split("/", 1)[1]
