"""Measured evidence beside the answers, end to end: a team channel with a digest and a generic
CI source, deployments reported over HTTP, then a person answering in Slack (signed requests,
the fake Slack Web API) sees the measurement on the question that cites it, and the digest posted
by `compass digest --now` carries the Measured section."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import SMALL_BANK, store_team
from fakeslack import TEAM_ID, FakeSlack
from harness import COMPASS, AppProcess, Slack, button, request, text_of
from sqlalchemy import select

from bot.app import digests
from bot.app.context import AppContext
from bot.app.types import Who
from bot.db.models import Answer
from bot.db.setup import open_database
from bot.domain.questionnaire import load_questionnaire

CHANNEL, USER = "C0MEASURED", "U0MEASURED"
FREQUENCY = {"on-demand": 4, "daily": [3, 4], "weekly": [2, 3], "monthly": 2, "fewer": 1}


def bank_citing_deployments(tmp_path: Path) -> tuple[Path, str]:
    doc = json.loads(SMALL_BANK.read_text())
    doc = copy.deepcopy(doc)
    doc["questions"][1]["evidence"] = [{"metric": "deployment_frequency", "levels": FREQUENCY}]
    path = tmp_path / "bank.json"
    path.write_text(json.dumps(doc))
    return path, doc["questions"][1]["id"]


def test_the_question_citing_deployments_shows_the_teams_measurement_and_the_digest_its_measured_section(
    tmp_path: Path,
) -> None:
    bank_path, cited = bank_citing_deployments(tmp_path)
    url = f"sqlite:///{tmp_path / 'compass.db'}"
    now = datetime.now(UTC)
    with FakeSlack() as fake, AppProcess(fake.api_url, url, bank_path, {"COMPASS_MIN_RESPONDENTS": "3"}) as app:
        fake.add_channel(CHANNEL, [USER])
        fake.add_user(USER)
        database = open_database(url)
        ctx = AppContext(database.sessions, load_questionnaire(bank_path))
        digests.subscribe_digest(ctx, Who(TEAM_ID, USER), CHANNEL, "monthly", now)
        store_team(ctx, TEAM_ID, CHANNEL, {USER: "UTC"}, now)

        added = subprocess.run(
            [str(COMPASS), "signals", "add", "events", "--channel", CHANNEL, "--team", TEAM_ID, "--secret", "tok-1"],
            env=app.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert added.returncode == 0, added.stderr
        path = re.search(r"/signals/events/[0-9a-f]+", added.stdout)
        assert path is not None
        deployments = [
            {"type": "deployment", "id": f"build-{i}", "at": (now - timedelta(days=i)).isoformat(), "sha": f"{i:040x}"}
            for i in range(1, 21)  # 20 in the last 90 days: 1.6 a week, DORA's "daily" band
        ]
        headers = {"Content-Type": "application/json", "Authorization": "Bearer tok-1"}
        assert request("POST", app.url + path.group(0), json.dumps(deployments), headers).status == 200

        slack = Slack(app.url, fake.response_url())
        before = len(fake.responses)
        body = slack.command_body(USER, "signals", channel=CHANNEL)
        assert slack.send(body, "application/x-www-form-urlencoded").status == 200
        listed = json.dumps(fake.wait_for(lambda: len(fake.responses) > before and fake.responses[-1]))
        assert "20 production deployments, 1.6 a week (daily)" in listed
        assert slack.command(USER, "start").status == 200
        first = fake.wait_for(lambda: fake.dm_messages(USER) and fake.dm_messages(USER)[-1])
        assert "📊" not in text_of(first)  # this question cites no metric
        slack.click(USER, button(first, "answer_3"), first.channel, first.ts)
        second = fake.wait_for(
            lambda: "Question 2 of" in text_of(fake.dm_messages(USER)[-1]) and fake.dm_messages(USER)[-1]
        )
        body = text_of(second)
        assert (
            f"📊 <#{CHANNEL}>, last 90 days: 20 production deployments, 1.6 a week (daily): that fits level 3-4" in body
        )
        answers = next(b for b in second.blocks if b.get("block_id", "").startswith("answers."))["elements"]
        assert [b.get("style") for b in answers] == [None, None, "primary", "primary"]

        slack.click(USER, button(second, "answer_1"), second.channel, second.ts)  # the person disagrees
        fake.wait_for(lambda: "Question 3 of" in text_of(fake.dm_messages(USER)[-1]))
        with database.sessions() as session:
            agreed = dict(session.execute(select(Answer.question_id, Answer.evidence_agreed)).all())
        assert agreed[cited] is False and agreed[next(q for q in agreed if q != cited)] is None

        posted = subprocess.run(
            [str(COMPASS), "digest", "--channel", CHANNEL, "--now"],
            env=app.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert posted.returncode == 0, posted.stderr
        digest = json.dumps(fake.channel_messages(CHANNEL)[-1].blocks, ensure_ascii=False)
        assert f"*Measured* in <#{CHANNEL}>, last 90 days" in digest
        assert "20 production deployments, 1.6 a week (daily)" in digest
        assert "self-assessed" not in digest  # one respondent: below the threshold, nothing to compare
        database.dispose()
