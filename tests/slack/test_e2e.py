"""End to end over real HTTP: ``compass serve --http`` against the fake Slack Web API,
with requests signed and shaped as Slack sends them. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SMALL_BANK
from harness import button, buttons, text_of
from served_app import Served as Env
from served_app import served
from sqlalchemy import func, select

from bot.db.models import Answer, Assessment


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with served(request, tmp_path_factory) as env:
        yield env


_users = iter(range(1, 10_000))


@pytest.fixture
def user() -> str:
    """A fresh Slack user id per test, so tests sharing a server never meet."""
    return f"U{next(_users):05d}{int(time.time() * 1000) % 100000}"


def live_message(env: Env, user: str, count: int = 1):  # type: ignore[no-untyped-def]
    return env.fake.wait_for(lambda: len(env.fake.dm_messages(user)) >= count and env.fake.dm_messages(user))[-1]


def wait_for_text(env: Env, user: str, needle: str, index: int = -1):  # type: ignore[no-untyped-def]
    def found():  # type: ignore[no-untyped-def]
        messages = env.fake.dm_messages(user)
        return messages and needle in text_of(messages[index]) and messages[index]

    return env.fake.wait_for(found)


def answers_in_db(env: Env, user: str) -> dict[str, int | None]:
    with env.db.sessions() as s:
        rows = s.execute(
            select(Answer.question_id, Answer.level).join(Assessment).where(Assessment.respondent.has(user_id=user))
        ).all()
    return dict(rows)


def answer_rows(env: Env, user: str) -> int:
    with env.db.sessions() as s:
        return int(
            s.scalar(select(func.count(Answer.id)).join(Assessment).where(Assessment.respondent.has(user_id=user))) or 0
        )


def click(env: Env, user: str, message, action_id: str):  # type: ignore[no-untyped-def]
    reply = env.slack.click(user, button(message, action_id), message.channel, message.ts)
    assert reply.status == 200, reply.body
    return reply


QUESTIONS = json.loads(Path(SMALL_BANK).read_text())["questions"]


def test_full_assessment_ends_with_a_report_and_app_home(env: Env, user: str) -> None:
    reply = env.slack.command(user, "start")
    assert reply.status == 200
    assert "Check your DMs" in reply.body
    for i, q in enumerate(QUESTIONS):
        message = wait_for_text(env, user, q["text"])
        assert f"Question {i + 1} of {len(QUESTIONS)}" in text_of(message)
        assert [b["action_id"] for b in buttons(message)][:4] == ["answer_1", "answer_2", "answer_3", "answer_4"]
        click(env, user, message, "answer_4" if i % 2 else "answer_1")
    report = wait_for_text(env, user, "Your MLOps maturity report")
    body = text_of(report)
    assert "Top recommendation" in body and "Next steps" in body
    assert any(e in body for e in "🔴🟠🟡🟢")
    assert report.text.startswith("Your MLOps maturity")
    # The question message was collapsed: no live buttons left anywhere in the DM.
    assert all(not buttons(m) for m in env.fake.dm_messages(user))
    assert len(answers_in_db(env, user)) == len(QUESTIONS)
    home = env.fake.wait_for(lambda: env.fake.views.get(user))
    assert "Latest result" in json.dumps(home, ensure_ascii=False)


def test_help_and_unknown_subcommands_answer_ephemerally(env: Env, user: str) -> None:
    help_reply = env.slack.command(user, "help")
    assert help_reply.status == 200 and "/compass start" in help_reply.body
    unknown = env.slack.command(user, "frobnicate now")
    assert unknown.status == 200
    assert "frobnicate" in unknown.body and "/compass start" in unknown.body
    assert "Traceback" not in unknown.body


def test_start_again_offers_resume_and_resume_continues(env: Env, user: str) -> None:
    env.slack.command(user, "start")
    first = wait_for_text(env, user, QUESTIONS[0]["text"])
    click(env, user, first, "answer_2")
    second = wait_for_text(env, user, QUESTIONS[1]["text"])
    click(env, user, second, "answer_3")
    third = wait_for_text(env, user, QUESTIONS[2]["text"])
    old_button = dict(button(third, "answer_4"))  # as a stale client would still show it
    env.slack.command(user, "start")
    offer = env.fake.wait_for(lambda: len(env.fake.dm_messages(user)) == 2 and env.fake.dm_messages(user)[-1])
    assert "question 3 of 5" in text_of(offer)
    click(env, user, offer, "resume")
    resumed = wait_for_text(env, user, QUESTIONS[2]["text"])
    assert resumed.ts == offer.ts
    # The old message, no longer the live one, now refuses stale answers harmlessly.
    old = env.fake.wait_for(lambda: not buttons(env.fake.dm_messages(user)[0]) and env.fake.dm_messages(user)[0])
    env.slack.click(user, old_button, old.channel, old.ts)
    env.fake.wait_idle()
    assert "newer message" in text_of(env.fake.dm_messages(user)[0])
    assert not buttons(env.fake.dm_messages(user)[0])
    assert answers_in_db(env, user) == {QUESTIONS[0]["id"]: 2, QUESTIONS[1]["id"]: 3}


def test_start_over_begins_at_the_first_question(env: Env, user: str) -> None:
    env.slack.command(user, "start")
    click(env, user, wait_for_text(env, user, QUESTIONS[0]["text"]), "answer_2")
    wait_for_text(env, user, QUESTIONS[1]["text"])
    env.slack.command(user, "start")
    offer = env.fake.wait_for(lambda: len(env.fake.dm_messages(user)) == 2 and env.fake.dm_messages(user)[-1])
    click(env, user, offer, "start_over")
    again = wait_for_text(env, user, "Question 1 of 5")
    assert again.ts == offer.ts
    with env.db.sessions() as s:
        statuses = sorted(s.scalars(select(Assessment.status).where(Assessment.respondent.has(user_id=user))).all())
    assert statuses == ["abandoned", "asking"]


def test_back_changes_the_previous_answer(env: Env, user: str) -> None:
    env.slack.command(user, "start")
    click(env, user, wait_for_text(env, user, QUESTIONS[0]["text"]), "answer_1")
    second = wait_for_text(env, user, QUESTIONS[1]["text"])
    click(env, user, second, "back")
    again = wait_for_text(env, user, "your earlier answer")
    assert QUESTIONS[0]["text"] in text_of(again)
    click(env, user, again, "answer_3")
    wait_for_text(env, user, QUESTIONS[1]["text"])
    assert answers_in_db(env, user) == {QUESTIONS[0]["id"]: 3}
    assert answer_rows(env, user) == 1


def test_double_click_records_one_answer_and_skips_nothing(env: Env, user: str) -> None:
    env.slack.command(user, "start")
    first = wait_for_text(env, user, QUESTIONS[0]["text"])
    barrier = threading.Barrier(3)
    replies = []

    def press(action: str) -> None:
        barrier.wait()
        replies.append(env.slack.click(user, button(first, action), first.channel, first.ts))

    threads = [threading.Thread(target=press, args=(a,)) for a in ("answer_2", "answer_2", "answer_4")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status for r in replies] == [200, 200, 200]
    wait_for_text(env, user, QUESTIONS[1]["text"])
    env.fake.wait_idle()
    answers = answers_in_db(env, user)
    assert list(answers) == [QUESTIONS[0]["id"]] and answers[QUESTIONS[0]["id"]] in (2, 4)
    assert "Question 2 of 5" in text_of(env.fake.dm_messages(user)[-1])
    assert env.fake.responses == [] or all(user not in json.dumps(r) for r in env.fake.responses)


def test_restart_mid_assessment_continues_from_the_last_message(env: Env, user: str) -> None:
    env.slack.command(user, "start")
    click(env, user, wait_for_text(env, user, QUESTIONS[0]["text"]), "answer_3")
    second = wait_for_text(env, user, QUESTIONS[1]["text"])
    env.restart()
    click(env, user, second, "answer_2")
    wait_for_text(env, user, QUESTIONS[2]["text"])
    assert answers_in_db(env, user) == {QUESTIONS[0]["id"]: 3, QUESTIONS[1]["id"]: 2}


def test_rate_limits_and_server_errors_are_retried(env: Env, user: str) -> None:
    env.fake.fail("chat.postMessage", status=503, times=1)
    env.slack.command(user, "start")
    first = wait_for_text(env, user, QUESTIONS[0]["text"])
    env.fake.fail("chat.update", status=429, times=1, retry_after=1)
    click(env, user, first, "answer_2")
    wait_for_text(env, user, QUESTIONS[1]["text"])
    assert [c.method for c in env.fake.calls_to("chat.update")]  # the retried call landed
    assert answers_in_db(env, user) == {QUESTIONS[0]["id"]: 2}


def test_a_final_slack_failure_loses_no_answer(env: Env, user: str) -> None:
    env.slack.command(user, "start")
    first = wait_for_text(env, user, QUESTIONS[0]["text"])
    # The click's response_url is refused once, and chat.update, used instead, more than its retries.
    env.fake.fail("response_url", status=500, times=1)
    env.fake.fail("chat.update", status=500, times=10)
    click(env, user, first, "answer_4")
    env.fake.wait_for(lambda: any("Slack did not accept" in json.dumps(r) for r in env.fake.responses))
    assert answers_in_db(env, user) == {QUESTIONS[0]["id"]: 4}
    env.fake._failures.clear()
    # The message still shows question 1; clicking again repairs it without a second answer.
    click(env, user, first, "answer_4")
    wait_for_text(env, user, QUESTIONS[1]["text"])
    assert answer_rows(env, user) == 1


@pytest.mark.parametrize("forgery", ["bad_signature", "unsigned", "stale"])
def test_forged_unsigned_and_stale_requests_are_rejected(env: Env, user: str, forgery: str) -> None:
    body = env.slack.command_body(user, "start")
    before = len(env.fake.calls)
    if forgery == "bad_signature":
        reply = env.slack.send(body, "application/x-www-form-urlencoded", secret="not-the-secret")
    elif forgery == "stale":
        reply = env.slack.send(body, "application/x-www-form-urlencoded", timestamp=int(time.time()) - 301)
    else:
        from harness import request

        reply = request("POST", env.slack.events_url, body, {"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status == 401
    time.sleep(0.3)
    assert len(env.fake.calls) == before
    assert answers_in_db(env, user) == {}
    with env.db.sessions() as s:
        assert s.scalar(select(func.count(Assessment.id)).where(Assessment.respondent.has(user_id=user))) == 0


def test_another_users_click_changes_nothing(env: Env, user: str) -> None:
    env.slack.command(user, "start")
    first = wait_for_text(env, user, QUESTIONS[0]["text"])
    intruder = user + "X"
    reply = env.slack.click(intruder, button(first, "answer_4"), first.channel, first.ts)
    assert reply.status == 200
    env.fake.wait_for(lambda: any("someone else" in json.dumps(r) for r in env.fake.responses))
    other_team = env.slack.click(user, button(first, "answer_4"), first.channel, first.ts, team="T0OTHER")
    assert other_team.status == 200
    env.fake.wait_idle()
    assert answers_in_db(env, user) == {}
    assert "Question 1 of 5" in text_of(env.fake.dm_messages(user)[-1])


def test_app_home_for_a_new_user_and_retries_publish_once(env: Env, user: str) -> None:
    reply = env.slack.home_opened(user, event_id="EvHOME" + user)
    assert reply.status == 200
    view = env.fake.wait_for(lambda: env.fake.views.get(user))
    assert "Start an assessment" in json.dumps(view)
    published = len([c for c in env.fake.calls_to("views.publish") if c.params.get("user_id") == user])
    retry = env.slack.home_opened(user, event_id="EvHOME" + user, retry=1)
    assert retry.status == 200
    env.fake.wait_idle()
    assert len([c for c in env.fake.calls_to("views.publish") if c.params.get("user_id") == user]) == published
    # The Start button in App Home opens the assessment in the DM.
    env.slack.click(user, button(view, "start"), None, None)
    wait_for_text(env, user, QUESTIONS[0]["text"])


def complete_assessment(env: Env, user: str, action: str) -> None:
    """Run /compass start and answer every question with the same button."""
    before = len(env.fake.dm_messages(user))
    env.slack.command(user, "start")
    for q in QUESTIONS:

        def shows_question(q=q):  # type: ignore[no-untyped-def]
            messages = env.fake.dm_messages(user)
            return len(messages) > before and q["text"] in text_of(messages[before]) and messages[before]

        click(env, user, env.fake.wait_for(shows_question), action)
    env.fake.wait_for(
        lambda: (
            len(env.fake.dm_messages(user)) > before + 1
            and "Your MLOps maturity report" in text_of(env.fake.dm_messages(user)[before + 1])
        )
    )


def test_report_and_history_commands(env: Env, user: str) -> None:
    env.slack.command(user, "report")
    env.fake.wait_for(lambda: any("no completed assessment" in json.dumps(r) for r in env.fake.responses))
    complete_assessment(env, user, "answer_1")
    complete_assessment(env, user, "answer_3")
    before = len(env.fake.responses)
    env.slack.command(user, "report")
    report = env.fake.wait_for(lambda: len(env.fake.responses) > before and env.fake.responses[-1])
    assert "Level 3" in json.dumps(report, ensure_ascii=False) and "▲ +2.00" in json.dumps(report, ensure_ascii=False)
    before = len(env.fake.responses)
    env.slack.command(user, "history")
    history = json.dumps(
        env.fake.wait_for(lambda: len(env.fake.responses) > before and env.fake.responses[-1]), ensure_ascii=False
    )
    assert history.count("🔴") == 1 and history.count("🟡") == 1 and "▲ +2.00" in history


def test_digest_commands_check_membership_and_store_the_setting(env: Env, user: str) -> None:
    team = "T" + user[1:]  # a workspace of its own, so settings from other tests never show
    channel, private = "C" + user[1:], "G" + user[1:]
    env.fake.add_channel(channel, [user], is_member=True)
    env.fake.add_channel(private, [user], is_member=False)

    def reply_to(text: str, channel_id: str) -> str:
        before = len(env.fake.responses)
        body = env.slack.command_body(user, text, team=team, channel=channel_id)
        assert env.slack.send(body, "application/x-www-form-urlencoded").status == 200
        return json.dumps(env.fake.wait_for(lambda: len(env.fake.responses) > before and env.fake.responses[-1]))

    assert "No channel gets a team digest" in reply_to("digest", channel)
    assert "not a member" in reply_to("digest here weekly", private) and "/invite @compass" in reply_to(
        "digest here weekly", private
    )
    assert "choose how often" in reply_to("digest here hourly", channel).lower()
    assert "will get the team MLOps maturity digest weekly" in reply_to("digest here weekly", channel)
    assert f"<#{channel}>: weekly" in reply_to("digest", channel)
    assert "monthly" in reply_to(f"digest <#{channel}|team> monthly", "C0ELSEWHERE")
    assert "is off" in reply_to("digest off", channel)
    assert "No channel gets a team digest" in reply_to("digest", channel)


def test_pause_and_resume_reminders(env: Env, user: str) -> None:
    from bot.db.models import Respondent

    assert "Paused" in env.slack.command(user, "pause").body

    def paused() -> bool | None:
        with env.db.sessions() as s:
            return s.scalar(select(Respondent.reminders_paused).where(Respondent.user_id == user))

    env.fake.wait_for(lambda: paused() is True)
    # `/compass resume` once meant this too, beside the Resume button that resumes an assessment.
    unknown = env.slack.command(user, "resume").body
    assert "I don't know `/compass resume`" in unknown and "/compass resume-reminders" in unknown
    assert "back on" in env.slack.command(user, "resume-reminders").body
    env.fake.wait_for(lambda: paused() is False)


def post_invitation(env: Env, user: str):  # type: ignore[no-untyped-def]
    """An invitation as the scheduler sends it (tests/test_jobs.py covers when it is sent)."""
    from fakeslack import BOT_TOKEN
    from slack_sdk import WebClient

    from bot.slack.blocks.outreach import build_prompt_message

    client = WebClient(token=BOT_TOKEN, base_url=env.fake.api_url)
    response = client.chat_postMessage(channel=user, **build_prompt_message(None, 90).as_kwargs())
    return next(m for m in env.fake.dm_messages(user) if m.ts == response["ts"])


def test_remind_me_later_snoozes_and_collapses_the_invitation(env: Env, user: str) -> None:
    from bot.db.models import Respondent

    invitation = post_invitation(env, user)
    click(env, user, invitation, "snooze")
    collapsed = env.fake.wait_for(lambda: "ask again after" in text_of(invitation) and invitation)
    assert not buttons(collapsed)
    with env.db.sessions() as s:
        until = s.scalar(select(Respondent.snoozed_until).where(Respondent.user_id == user))
    from datetime import UTC, datetime, timedelta

    assert until is not None and until > datetime.now(UTC) + timedelta(days=2, hours=23)


def test_start_on_an_invitation_begins_in_the_dm(env: Env, user: str) -> None:
    invitation = post_invitation(env, user)
    click(env, user, invitation, "start")
    wait_for_text(env, user, QUESTIONS[0]["text"])
    env.fake.wait_for(lambda: not buttons(invitation) and "starts in the next message" in text_of(invitation))


def test_signals_in_slack_list_the_channel_sources_and_add_one_whose_secret_only_the_asker_sees(
    env: Env, user: str
) -> None:
    import hashlib
    import hmac
    import re

    team, channel = "T" + user[1:], "C" + user[1:]

    def reply_to(text: str, channel_id: str = channel) -> dict:  # type: ignore[type-arg]
        before = len(env.fake.responses)
        body = env.slack.command_body(user, text, team=team, channel=channel_id)
        assert env.slack.send(body, "application/x-www-form-urlencoded").status == 200
        return env.fake.wait_for(lambda: len(env.fake.responses) > before and env.fake.responses[-1])  # type: ignore[no-any-return]

    empty = reply_to("signals")
    assert empty["response_type"] == "ephemeral" and "has no delivery signals yet" in json.dumps(empty)
    assert "Use `/compass signals`" in json.dumps(reply_to("signals add jenkins"))
    added = reply_to("signals add github")
    text = json.dumps(added, ensure_ascii=False)
    assert added["response_type"] == "ephemeral"  # the secret goes to the person who asked, never the channel
    assert env.fake.channel_messages(channel) == []
    path = re.search(r"/signals/github/([0-9a-f]+)", text)
    secret = re.search(r"\*Secret:\* `([^`]+)`", text)
    assert path and secret
    listed = json.dumps(reply_to("signals"))
    assert path.group(1) in listed and secret.group(1) not in listed  # shown once, never again
    assert "Nothing measured yet" in listed
    payload = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1})
    signature = "sha256=" + hmac.new(secret.group(1).encode(), payload.encode(), hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "ping",
        "X-GitHub-Delivery": "d-" + user,
        "X-Hub-Signature-256": signature,
    }
    from harness import request

    assert request("POST", env.app.url + path.group(0), payload, headers).status == 200
    headers["X-Hub-Signature-256"] = "sha256=" + "0" * 64
    assert request("POST", env.app.url + path.group(0), payload, headers).status == 401


def test_targets_team_and_teams_over_signed_requests(env: Env, user: str) -> None:
    team = "T" + user[1:]  # a workspace of its own: no other test's digest channels in its overview
    channel = "C" + user[1:]
    env.fake.add_user(user)
    env.fake.add_channel(channel, [user, "U0BOT"], is_member=True)

    def reply_to(text: str) -> str:
        before = len(env.fake.responses)
        body = env.slack.command_body(user, text, team=team, channel=channel)
        assert env.slack.send(body, "application/x-www-form-urlencoded").status == 200
        return json.dumps(env.fake.wait_for(lambda: len(env.fake.responses) > before and env.fake.responses[-1]))

    def shown() -> str:
        return text_of(env.fake.wait_for(lambda: env.fake.ephemeral_messages(channel, user))[-1])

    assert "will get the team MLOps maturity digest" in reply_to("digest here monthly")
    assert "level" in reply_to("target ops 7").lower()  # one line with the valid choices
    form = "application/x-www-form-urlencoded"
    env.slack.send(env.slack.command_body(user, "target ops 3 by 2099-Q4", team=team, channel=channel), form)
    announcement = env.fake.wait_for(lambda: [m for m in env.fake.channel_messages(channel) if "🎯" in m.text])
    assert len(announcement) == 1 and "Operations at level 3 by 2099-Q4" in announcement[0].text
    assert "Operations" in reply_to("target")

    env.slack.send(env.slack.command_body(user, "team", team=team, channel=channel), form)
    assert "Operations" in shown()  # the target, shown only to the asker; too few answers for figures
    overview = reply_to("teams")
    assert channel in overview and "not enough answers" in overview
