"""A check's measurement reaches the question that cites it, end to end: a team channel with a
digest and a generic CI source, check runs posted over HTTP, then a person answering in Slack
(signed requests, the fake Slack Web API) sees the check's band beside the question whose rule
names part of the check's name, and the digest's Measured section lists it."""

from __future__ import annotations

import copy
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import SMALL_BANK
from fakeslack import FakeSlack
from harness import COMPASS, AppProcess, Slack, button, text_of
from sqlalchemy import select
from test_evidence_e2e import report_events, team_channel

from bot.db.models import Answer

CHANNEL, USER = "C0CHECKED", "U0CHECKED"
BANDS = {"passing": [3, 4], "flaky": [2, 3], "failing": 2, "few runs": [2, 3]}


def bank_citing_a_check(tmp_path: Path) -> tuple[Path, str]:
    doc = copy.deepcopy(json.loads(SMALL_BANK.read_text()))
    doc["questions"][1]["evidence"] = [{"check": "data validation", "levels": BANDS}]
    path = tmp_path / "bank.json"
    path.write_text(json.dumps(doc))
    return path, doc["questions"][1]["id"]


def test_a_passing_check_shows_beside_the_question_that_cites_it_and_in_the_digest(tmp_path: Path) -> None:
    bank_path, cited = bank_citing_a_check(tmp_path)
    url = f"sqlite:///{tmp_path / 'compass.db'}"
    now = datetime.now(UTC)
    with FakeSlack() as fake, AppProcess(fake.api_url, url, bank_path, {"COMPASS_MIN_RESPONDENTS": "3"}) as app:
        database, _ = team_channel(fake, url, bank_path, CHANNEL, {USER: "UTC"}, now)

        name = "Data validation (great_expectations)"
        runs = [
            {"type": "check", "id": f"ge-{i}", "at": (now - timedelta(days=i)).isoformat(), "check": name,
             "status": "failed" if i == 7 else "passed"}
            for i in range(1, 13)  # 12 runs, 11 passed: 92 %, passing
        ]  # fmt: skip
        report_events(app, runs, CHANNEL)

        slack = Slack(app.url, fake.response_url())
        assert slack.command(USER, "start").status == 200
        first = fake.wait_for(lambda: fake.dm_messages(USER) and fake.dm_messages(USER)[-1])
        assert "📊" not in text_of(first)  # this question cites nothing
        slack.click(USER, button(first, "answer_3"), first.channel, first.ts)
        second = fake.wait_for(
            lambda: "Question 2 of" in text_of(fake.dm_messages(USER)[-1]) and fake.dm_messages(USER)[-1]
        )
        expected = f"📊 <#{CHANNEL}>, last 90 days: {name}: 11 of 12 runs passed (passing): that fits level 3-4"
        assert expected in text_of(second)
        answers = next(b for b in second.blocks if b.get("block_id", "").startswith("answers."))["elements"]
        assert [b.get("style") for b in answers] == [None, None, "primary", "primary"]

        slack.click(USER, button(second, "answer_4"), second.channel, second.ts)  # the person agrees
        fake.wait_for(lambda: "Question 3 of" in text_of(fake.dm_messages(USER)[-1]))
        with database.sessions() as session:
            agreed = dict(session.execute(select(Answer.question_id, Answer.evidence_agreed)).all())
        assert agreed[cited] is True

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
        assert f"{name}: 11 of 12 runs passed (passing)" in digest
        database.dispose()
