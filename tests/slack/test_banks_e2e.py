"""`/compass questions` end to end over real HTTP: ``compass serve --http`` against the fake Slack Web
API (its users.info says who is an admin or owner), requests signed and shaped as Slack sends them, on
SQLite and PostgreSQL. The deployment's default bank is the small test bank; the `full` pack is the
shipped one, so a workspace switched to it asks 26 questions where the others ask 5."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SHIPPED_BANK, SMALL_BANK
from fakeslack import BOT_TOKEN
from harness import FORM, button, buttons, text_of
from served_app import Served as Env
from served_app import served
from sqlalchemy import select

from bot.config import pack_path
from bot.db.models import Assessment, QuestionBank, Respondent, Workspace

NAMED = "U0NAMEDADMIN"  # in COMPASS_BANK_ADMINS, not a Slack admin
SMALL = json.loads(SMALL_BANK.read_text(encoding="utf-8"))["questions"]
FULL = json.loads(SHIPPED_BANK.read_text(encoding="utf-8"))["questions"]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with served(request, tmp_path_factory, {"COMPASS_BANK_ADMINS": NAMED}) as env:
        yield env


_n = iter(range(1, 100_000))


def fresh(prefix: str) -> str:
    return f"{prefix}{next(_n):04d}{int(time.time() * 1000) % 100000}"


def questions_reply(env: Env, user: str, team: str) -> dict[str, Any]:
    before = len(env.fake.responses)
    assert env.slack.command(user, "questions", team=team).status == 200
    return env.fake.wait_for(lambda: len(env.fake.responses) > before and env.fake.responses[-1])  # type: ignore[no-any-return]


def click_reply(env: Env, user: str, pressed: dict[str, Any], team: str) -> dict[str, Any]:
    before = len(env.fake.responses)
    body = env.slack.click_body(user, pressed, "C0GENERAL", "1700000000.000100", team=team)
    assert env.slack.send(body, FORM).status == 200
    return env.fake.wait_for(lambda: len(env.fake.responses) > before and env.fake.responses[-1])  # type: ignore[no-any-return]


def answer_all(env: Env, user: str, team: str, questions: list[dict[str, Any]]) -> None:
    """/compass start, then every question answered in the DM, each checked to be the bank's."""
    assert env.slack.command(user, "start", team=team).status == 200
    for i, q in enumerate(questions):

        def shows(q: dict[str, Any] = q) -> Any:
            messages = env.fake.dm_messages(user)
            return messages and q["text"] in text_of(messages[-1]) and messages[-1]

        message = env.fake.wait_for(shows)
        assert f"Question {i + 1} of {len(questions)}" in text_of(message)
        reply = env.slack.click(user, button(message, "answer_3"), message.channel, message.ts, team=team)
        assert reply.status == 200
    env.fake.wait_for(lambda: any("Your MLOps maturity report" in text_of(m) for m in env.fake.dm_messages(user)))


def banks_answered(env: Env, user: str) -> list[tuple[str | None, str]]:
    with env.db.sessions() as s:
        rows = s.execute(
            select(Assessment.bank_name, Workspace.external_id)
            .join(Respondent, Respondent.id == Assessment.respondent_id)
            .join(Workspace, Workspace.id == Respondent.workspace_id)
            .where(Respondent.user_id == user, Assessment.status == "complete")
        ).all()
    return [(name, team) for name, team in rows]


def test_an_admin_switches_to_a_pack_and_members_answer_it_while_another_workspace_keeps_its_own(
    env: Env,
) -> None:
    switched, other = fresh("T"), fresh("T")
    admin, member, neighbour = fresh("U"), fresh("U"), fresh("U")
    env.fake.add_user(admin, is_admin=True)
    env.fake.add_user(member)
    env.fake.add_user(neighbour)

    shown = questions_reply(env, admin, switched)
    assert "default" in text_of(shown) and "5 questions (about 2 minutes) in 2 dimensions" in text_of(shown)
    full = button(shown, "bank_switch_full")
    assert full["text"]["text"] == "Switch to full (26 questions, ~12 min)"
    assert "No assessment is unfinished" in full["confirm"]["text"]["text"]

    done = click_reply(env, admin, full, switched)
    assert "now answers *full*" in text_of(done) and "26 questions (about 12 minutes) in 5 dimensions" in text_of(done)
    assert done.get("replace_original") in (True, "true")

    answer_all(env, member, switched, FULL)
    answer_all(env, neighbour, other, SMALL)
    assert banks_answered(env, member) == [("full", switched)]
    assert banks_answered(env, neighbour) == [(None, other)]

    again = questions_reply(env, member, switched)  # anyone may look
    assert "*full*" in text_of(again) and not buttons(again)


def test_the_bank_admins_setting_may_switch_and_a_non_admin_is_refused_and_told_who_can(env: Env) -> None:
    team = fresh("T")
    owner, plain = fresh("U"), fresh("U")
    env.fake.add_user(owner, is_owner=True)
    env.fake.add_user(plain)
    env.fake.add_user(NAMED)

    refused = questions_reply(env, plain, team)
    assert not buttons(refused)
    assert f"admins and owners, <@{NAMED}> can change it" in text_of(refused)
    offered = questions_reply(env, owner, team)
    # A click forged (or left over from a demotion) by someone who may not change it changes nothing.
    forged = click_reply(env, plain, button(offered, "bank_switch_full"), team)
    assert "You cannot change this workspace's questions" in text_of(forged)
    assert "5 questions" in text_of(questions_reply(env, plain, team))

    named = click_reply(env, NAMED, button(questions_reply(env, NAMED, team), "bank_switch_full"), team)
    assert "now answers *full*" in text_of(named)


def test_two_admins_switching_at_once_one_wins_and_the_other_is_told_who(env: Env) -> None:
    team = fresh("T")
    first, second = fresh("U"), fresh("U")
    env.fake.add_user(first, is_admin=True)
    env.fake.add_user(second, is_owner=True)
    seen_first = button(questions_reply(env, first, team), "bank_switch_full")
    seen_second = button(questions_reply(env, second, team), "bank_switch_full")

    assert "now answers *full*" in text_of(click_reply(env, first, seen_first, team))
    late = click_reply(env, second, seen_second, team)
    assert f"Nothing was changed: <@{first}> changed the bank first" in text_of(late)
    with env.db.sessions() as s:
        revisions = s.scalars(
            select(QuestionBank.revision)
            .join(Workspace, Workspace.id == QuestionBank.workspace_id)
            .where(Workspace.external_id == team)
        ).all()
    assert revisions == [1]


def test_the_full_pack_is_the_shipped_bank() -> None:
    assert pack_path("full") == Path(SHIPPED_BANK)


def dm_reply(env: Env, user: str, before: int) -> Any:
    return env.fake.wait_for(lambda: len(env.fake.dm_messages(user)) > before and env.fake.dm_messages(user)[-1])


def share(env: Env, user: str, team: str, name: str, data: bytes) -> Any:
    before = len(env.fake.dm_messages(user))
    assert env.slack.file_shared(user, env.fake.share_file(user, name, data), team=team).status == 200
    return dm_reply(env, user, before)


def test_a_custom_bank_shared_in_the_dm_is_previewed_then_applied_and_members_answer_it(env: Env) -> None:
    team = fresh("T")
    admin, member = fresh("U"), fresh("U")
    env.fake.add_user(admin, is_admin=True)
    env.fake.add_user(member)
    custom = json.loads(SHIPPED_BANK.read_text(encoding="utf-8"))
    custom["version"] = "ours-1"
    custom["questions"] = custom["questions"][:7]  # the first two dimensions only
    kept = {q["dimension"] for q in custom["questions"]}
    custom["dimensions"] = [d for d in custom["dimensions"] if d["id"] in kept]

    preview = share(env, admin, team, "ours.json", json.dumps(custom).encode())
    assert "valid bank" in text_of(preview) and "version ours-1: 7 questions" in text_of(preview)
    assert "No assessment is unfinished" in text_of(preview)
    downloads = [c for c in env.fake.calls if c.method == "download"]
    assert downloads and all(c.token == BOT_TOKEN for c in downloads)  # url_private wants the bot token

    applied = env.slack.click(admin, button(preview, "bank_apply"), preview.channel, preview.ts, team=team)
    assert applied.status == 200
    # The preview's message becomes the outcome (the click's response_url names that message).
    done = env.fake.wait_for(
        lambda: [m for m in env.fake.dm_messages(admin) if m.ts == preview.ts and "now answers *custom*" in text_of(m)]
    )[0]
    assert "version ours-1" in text_of(done)

    answer_all(env, member, team, custom["questions"])
    assert banks_answered(env, member) == [("custom", team)]


def test_a_broken_bank_file_gets_its_json_paths_and_changes_nothing(env: Env) -> None:
    team = fresh("T")
    admin, plain = fresh("U"), fresh("U")
    env.fake.add_user(admin, is_owner=True)
    env.fake.add_user(plain)
    broken = json.loads(SMALL_BANK.read_text(encoding="utf-8"))
    broken["questions"][2]["weight"] = 7
    del broken["questions"][0]["options"][3]["text"]

    refused = share(env, admin, team, "broken.json", json.dumps(broken).encode())
    body = text_of(refused)
    assert "is not a valid question bank (2 problem(s)); nothing was changed" in body
    assert "$.questions[2].weight" in body and "$.questions[0].options[3].text" in body
    assert "not valid JSON" in text_of(share(env, admin, team, "notes.json", b"{nope"))
    too_big = share(env, admin, team, "big.json", b" " * 300_000)
    assert "too large: 300000 bytes, at most 256000" in text_of(too_big)

    told = share(env, plain, team, "mine.json", SMALL_BANK.read_bytes())
    assert "admins and owners" in text_of(told) and not buttons(told)
    assert "default" in text_of(questions_reply(env, admin, team))  # still the deployment's bank
    with env.db.sessions() as s:
        stored = s.scalars(
            select(QuestionBank.id)
            .join(Workspace, Workspace.id == QuestionBank.workspace_id)
            .where(Workspace.external_id == team)
        ).all()
    assert stored == []
