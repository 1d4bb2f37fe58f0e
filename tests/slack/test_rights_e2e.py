"""A person's data rights end to end: signed Slack requests against ``compass serve --http`` and the
fake Slack, on SQLite and PostgreSQL. `/compass export-me` uploads a JSON file into the DM;
`/compass forget-me` confirms, deletes, counts, and deletes nothing more the second time; retention
with a moved clock (`compass jobs run-due --at`); `compass forget` and `compass export --user`."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import SMALL_BANK
from fakeslack import BOT_TOKEN, TEAM_ID
from harness import COMPASS, FORM, button, text_of
from served_app import Served as Env
from served_app import served
from slack_sdk import WebClient
from sqlalchemy import func, select

from bot.app.context import AppContext
from bot.app.outreach import OutreachSettings
from bot.db.models import Answer, Assessment, ChannelMember, Respondent, Send, Workspace
from bot.domain.questionnaire import load_questionnaire
from bot.slack.scheduled import post_digest_now

QUESTIONS = json.loads(Path(SMALL_BANK).read_text())["questions"]
REPORT = "Your MLOps maturity report"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with served(request, tmp_path_factory) as env:
        yield env


_users = iter(range(1, 10_000))


def fresh(prefix: str = "U") -> str:
    return f"{prefix}{next(_users):04d}{int(time.time() * 1000) % 100000}"


def complete(env: Env, user: str, action: str, team: str = TEAM_ID) -> None:
    """/compass start and every question answered with ``action``, until the report is in the DM."""
    before = len(env.fake.dm_messages(user))
    env.slack.command(user, "start", team=team)
    for q in QUESTIONS:

        def shows(q=q):  # type: ignore[no-untyped-def]
            messages = env.fake.dm_messages(user)
            return len(messages) > before and q["text"] in text_of(messages[before]) and messages[before]

        message = env.fake.wait_for(shows)
        reply = env.slack.click(user, button(message, action), message.channel, message.ts, team=team)
        assert reply.status == 200
    env.fake.wait_for(lambda: any(REPORT in text_of(m) for m in env.fake.dm_messages(user)[before + 1 :]))


def reply_to(env: Env, user: str, text: str, team: str = TEAM_ID) -> dict[str, Any]:
    before = len(env.fake.responses)
    assert env.slack.command(user, text, team=team).status == 200
    return env.fake.wait_for(lambda: len(env.fake.responses) > before and env.fake.responses[-1])  # type: ignore[no-any-return]


def rows_of(env: Env, user: str, team: str = TEAM_ID) -> dict[str, int]:
    mine = Respondent.user_id == user, Workspace.external_id == team
    with env.db.sessions() as s:
        return {
            "people": s.scalar(select(func.count()).select_from(Respondent).join(Workspace).where(*mine)) or 0,
            "assessments": s.scalar(
                select(func.count()).select_from(Assessment).join(Respondent).join(Workspace).where(*mine)
            )
            or 0,
            "answers": s.scalar(
                select(func.count()).select_from(Answer).join(Assessment).join(Respondent).join(Workspace).where(*mine)
            )
            or 0,
        }


def forget_through_slack(env: Env, user: str, team: str = TEAM_ID) -> tuple[str, dict[str, Any]]:
    """/compass forget-me, then a click on its danger button: the click's body and the reply."""
    ack = env.slack.command(user, "forget-me", team=team)
    assert ack.status == 200
    confirmation = ack.json()
    delete = button(confirmation, "forget_me")
    assert delete["style"] == "danger" and delete["confirm"]["style"] == "danger"
    before = len(env.fake.responses)
    body = env.slack.click_body(user, delete, "C0GENERAL", "1700000000.000100", team=team)
    assert env.slack.send(body, "application/x-www-form-urlencoded").status == 200
    done = env.fake.wait_for(lambda: len(env.fake.responses) > before and env.fake.responses[-1])
    return body, done


def test_export_me_uploads_the_persons_own_data_as_json_into_their_dm(env: Env) -> None:
    ana, ben = fresh(), fresh()
    complete(env, ana, "answer_1")
    complete(env, ana, "answer_3")
    complete(env, ben, "answer_4")
    summary = json.dumps(reply_to(env, ana, "export-me"))
    assert "Sent you your data" in summary and "2 assessments, 10 answers, 2 reports" in summary
    upload = env.fake.wait_for(lambda: [u for u in env.fake.files if u.channel_id == f"D{ana}"])
    files = [u for u in upload if u.filename.endswith(".json")]
    assert len(files) == 1 and files[0].data is not None
    document = json.loads(files[0].data.decode("utf-8"))
    assert document["user_id"] == ana and document["workspace"] == TEAM_ID
    answers = [x for a in document["assessments"] for x in a["answers"]]
    assert [x["level"] for x in answers] == [1] * 5 + [3] * 5
    assert [x["question_text"] for x in answers[:5]] == [q["text"] for q in QUESTIONS]
    assert all(a["report"] for a in document["assessments"])
    assert ben not in files[0].data.decode("utf-8") and 4 not in [x["level"] for x in answers]


def test_export_me_without_files_write_says_so_in_one_line(env: Env) -> None:
    user = fresh()
    env.fake.without_scope("files:write")
    try:
        reply = json.dumps(reply_to(env, user, "export-me"))
    finally:
        env.fake.missing_scopes.clear()
    assert "could not send you your data file" in reply and "files:write" in reply


def test_forget_me_confirms_deletes_counts_and_a_second_click_deletes_nothing(env: Env) -> None:
    ana, others = fresh(), [fresh() for _ in range(3)]
    channel = fresh("C")
    for person in (ana, *others):
        env.fake.add_user(person)
        complete(env, person, "answer_2")
    complete(env, ana, "answer_4")
    env.fake.add_channel(channel, [ana, *others, "U0BOT"], is_member=True)
    before = len(env.fake.responses)
    env.slack.send(env.slack.command_body(others[0], "digest here monthly", channel=channel), FORM)
    env.fake.wait_for(lambda: len(env.fake.responses) > before)
    ctx = AppContext(env.db.sessions, load_questionnaire(SMALL_BANK))
    client = WebClient(token=BOT_TOKEN, base_url=env.fake.api_url)
    settings = OutreachSettings(min_respondents=3)
    first = post_digest_now(ctx, client, settings, channel, datetime.now(UTC))
    assert first.respondents == 4
    others_before = [rows_of(env, o) for o in others]

    body, done = forget_through_slack(env, ana)
    said = json.dumps(done)
    assert done.get("replace_original") is True
    assert "2 assessments (2 reports), 10 answers" in said and "1 digest channel membership" in said
    assert rows_of(env, ana) == {"people": 0, "assessments": 0, "answers": 0}
    assert [rows_of(env, o) for o in others] == others_before
    with env.db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ChannelMember).where(ChannelMember.user_id == ana)) == 0
        posted = s.scalars(select(Send.payload_json).where(Send.kind == "digest", Send.target == channel)).all()
    assert len(posted) == 1 and json.loads(posted[0] or "{}")["respondents"] == 4  # the posted digest stays
    # App Home was published again, without the deleted results.
    # App Home is published again without her results (the view from before may still be there first)
    home = env.fake.wait_for(lambda: (v := env.fake.views.get(ana)) and "Latest result" not in json.dumps(v) and v)
    assert "About your data" in json.dumps(home)

    # A replay of the same click, and a second confirmation: nothing more, and it says so.
    before = len(env.fake.responses)
    assert env.slack.send(body, "application/x-www-form-urlencoded").status == 200
    again = env.fake.wait_for(lambda: len(env.fake.responses) > before and env.fake.responses[-1])
    assert "Nothing more to delete" in json.dumps(again)
    assert "Nothing more to delete" in json.dumps(forget_through_slack(env, ana)[1])

    # The next digest no longer counts her: the channel's refresh sees her as a member, but she has no answers.
    second = post_digest_now(ctx, client, settings, channel, datetime.now(UTC) + timedelta(seconds=1))
    assert second.respondents == 3


def test_the_same_user_id_in_two_workspaces_is_two_people(env: Env) -> None:
    user, other_team = fresh(), fresh("T")
    complete(env, user, "answer_1")
    complete(env, user, "answer_3", team=other_team)
    forget_through_slack(env, user, team=other_team)
    assert rows_of(env, user, other_team) == {"people": 0, "assessments": 0, "answers": 0}
    assert rows_of(env, user) == {"people": 1, "assessments": 1, "answers": 5}
    summary = json.dumps(reply_to(env, user, "export-me"))
    assert "1 assessment, 5 answers" in summary


def test_help_lists_the_commands_and_app_home_says_what_is_kept(env: Env) -> None:
    user = fresh()
    assert "/compass export-me" in env.slack.command(user, "help").body
    env.slack.home_opened(user)
    home = json.dumps(env.fake.wait_for(lambda: env.fake.views.get(user)))
    assert "About your data" in home and "at least 5 people" in home and "2 years" in home
    assert "/compass forget-me" in home


def compass(env: Env, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    run_env = {**env.app.env, "LOG_LEVEL": "WARNING"}
    return subprocess.run([str(COMPASS), *args], env=run_env, capture_output=True, text=True, timeout=120, input=input)


def test_retention_deletes_old_assessments_when_the_clock_has_moved(env: Env) -> None:
    user = fresh()
    complete(env, user, "answer_2")
    env.slack.command(user, "start")
    env.fake.wait_for(lambda: QUESTIONS[0]["text"] in text_of(env.fake.dm_messages(user)[-1]))
    assert rows_of(env, user)["assessments"] == 2
    soon = (datetime.now(UTC) + timedelta(days=29)).isoformat()
    kept = compass(env, "jobs", "run-due", "--at", soon)
    assert kept.returncode == 0, kept.stderr
    assert rows_of(env, user)["assessments"] == 2
    expired = compass(env, "jobs", "run-due", "--at", (datetime.now(UTC) + timedelta(days=31)).isoformat())
    assert expired.returncode == 0 and "retention: deleted" in expired.stdout
    assert rows_of(env, user)["assessments"] == 1  # the unfinished one, past its expiry
    later = compass(env, "jobs", "run-due", "--at", (datetime.now(UTC) + timedelta(days=731)).isoformat())
    assert later.returncode == 0, later.stderr
    assert rows_of(env, user) == {"people": 1, "assessments": 0, "answers": 0}


def test_the_terminal_exports_and_forgets_a_person(env: Env, tmp_path: Path) -> None:
    user, other = fresh(), fresh()
    complete(env, user, "answer_3")
    complete(env, other, "answer_1")
    out = tmp_path / "me.json"
    exported = compass(env, "export", "--user", user, "--workspace", TEAM_ID, "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    document = json.loads(out.read_text())
    assert document["user_id"] == user and len(document["assessments"]) == 1
    assert [x["question_text"] for x in document["assessments"][0]["answers"]] == [q["text"] for q in QUESTIONS]
    to_stdout = compass(env, "export", "--user", user, "--workspace", TEAM_ID)
    assert json.loads(to_stdout.stdout)["assessments"] == document["assessments"]
    assert compass(env, "export", "--user", user, "--format", "csv").returncode == 2

    refused = compass(env, "forget", "--user", user, "--workspace", TEAM_ID, input="n\n")
    assert refused.returncode != 0 and rows_of(env, user)["assessments"] == 1
    done = compass(env, "forget", "--user", user, "--workspace", TEAM_ID, "--yes")
    assert done.returncode == 0 and "1 assessment (1 report), 5 answers" in done.stdout, done.stderr
    assert rows_of(env, user)["people"] == 0 and rows_of(env, other)["assessments"] == 1
    again = compass(env, "forget", "--user", user, "--workspace", TEAM_ID, "--yes")
    assert "deleted nothing" in again.stdout
