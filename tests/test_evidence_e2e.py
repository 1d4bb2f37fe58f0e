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
from typing import Any

from click.testing import CliRunner
from conftest import SMALL_BANK, complete_assessment, store_team
from fakeslack import TEAM_ID, FakeSlack
from harness import COMPASS, AppProcess, Slack, button, request, text_of
from sqlalchemy import select

from bot.app import digests
from bot.app.context import AppContext
from bot.app.types import Who
from bot.cli.main import main
from bot.db.models import Answer
from bot.db.setup import Database, open_database
from bot.domain.questionnaire import load_questionnaire

CHANNEL, USER = "C0MEASURED", "U0MEASURED"
FREQUENCY = {"on-demand": 4, "daily": [3, 4], "weekly": [2, 3], "monthly": 2, "fewer": 1}


def team_channel(
    fake: FakeSlack, url: str, bank_path: Path, channel: str, members: dict[str, str | None], now: datetime
) -> tuple[Database, AppContext]:
    """A channel whose digest is set up (by its first member) with these people as its team, as a
    scheduled run stores them; the database and a context on the bank, for the test's own use cases."""
    fake.add_channel(channel, list(members))
    for user in members:
        fake.add_user(user)
    database = open_database(url)
    ctx = AppContext(database.sessions, load_questionnaire(bank_path))
    digests.subscribe_digest(ctx, Who(TEAM_ID, next(iter(members))), channel, "monthly", now)
    store_team(ctx, TEAM_ID, channel, members, now)
    return database, ctx


def report_events(app: AppProcess, events: list[dict[str, Any]], channel: str) -> None:
    """An events source for ``channel`` made by `compass signals add` as an operator runs it (token
    tok-1), then ``events`` posted to it as a CI would."""
    added = subprocess.run(
        [str(COMPASS), "signals", "add", "events", "--channel", channel, "--team", TEAM_ID, "--secret", "tok-1"],
        env=app.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert added.returncode == 0, added.stderr
    path = re.search(r"/signals/events/[0-9a-f]+", added.stdout)
    assert path is not None
    headers = {"Content-Type": "application/json", "Authorization": "Bearer tok-1"}
    assert request("POST", app.url + path.group(0), json.dumps(events), headers).status == 200


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
        database, ctx = team_channel(fake, url, bank_path, CHANNEL, {USER: "UTC"}, now)

        deployments = [
            {"type": "deployment", "id": f"build-{i}", "at": (now - timedelta(days=i)).isoformat(), "sha": f"{i:040x}"}
            for i in range(1, 21)  # 20 in the last 90 days: 1.6 a week, DORA's "daily" band
        ]
        report_events(app, deployments, CHANNEL)

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


def bank_with_gap(tmp_path: Path) -> Path:
    """Validation and Rollback cite deployments (measured); Monitoring cites time to restore (no
    incidents reported: unverifiable)."""
    doc = copy.deepcopy(json.loads(SMALL_BANK.read_text()))
    by_id = {q["id"]: q for q in doc["questions"]}
    by_id["data.validation"]["evidence"] = [{"metric": "deployment_frequency", "levels": FREQUENCY}]
    by_id["ops.rollback"]["evidence"] = [{"metric": "deployment_frequency", "levels": FREQUENCY}]
    restore = {
        "under an hour": 4,
        "under a day": [3, 4],
        "under a week": [2, 3],
        "under a month": 2,
        "under six months": [1, 2],
        "six months or more": 1,
    }
    by_id["ops.monitoring"]["evidence"] = [{"metric": "time_to_restore", "levels": restore}]
    path = tmp_path / "bank.json"
    path.write_text(json.dumps(doc))
    return path


def test_the_say_do_gap_reaches_the_report_the_digest_the_team_view_and_the_export(tmp_path: Path) -> None:
    bank_path = bank_with_gap(tmp_path)
    url = f"sqlite:///{tmp_path / 'compass.db'}"
    now = datetime.now(UTC)
    team = {USER: "UTC", "U0SECOND": "UTC", "U0THIRD": "UTC"}
    # Versioning, Validation, Rollback, A/B tests, Monitoring
    levels: list[int | None] = [3, 1, 4, 2, 3]
    with FakeSlack() as fake, AppProcess(fake.api_url, url, bank_path, {"COMPASS_MIN_RESPONDENTS": "3"}) as app:
        database, ctx = team_channel(fake, url, bank_path, CHANNEL, team, now)
        deployments = [
            {"type": "deployment", "id": f"build-{i}", "at": (now - timedelta(days=i)).isoformat(), "sha": f"{i:040x}"}
            for i in range(1, 21)  # 1.6 a week: DORA's "daily" band, which fits L3-L4
        ]
        report_events(app, deployments, CHANNEL)

        # One person answers in Slack: the report marks the answer the measurement contradicts.
        slack = Slack(app.url, fake.response_url())
        assert slack.command(USER, "start").status == 200
        for number, level in enumerate(levels, start=1):
            shown = fake.wait_for(
                lambda n=number: (
                    (shown := fake.dm_messages(USER)) and f"Question {n} of" in text_of(shown[-1]) and shown[-1]
                )
            )
            slack.click(USER, button(shown, f"answer_{level}"), shown.channel, shown.ts)
        report = fake.wait_for(
            lambda: next((m for m in fake.dm_messages(USER) if "maturity report" in json.dumps(m.blocks)), None)
        )
        body = json.dumps(report.blocks, ensure_ascii=False)
        warning = f":warning: *Validation*: you said 🔴 L1; <#{CHANNEL}>'s last 90 days measure 🟡 L3-L4"
        assert warning in body
        assert "*Rollback*: you said" not in body  # L4 fits the measurement
        assert "*Monitoring*: you said" not in body  # nothing measured: nothing to contradict

        before = len(fake.responses)
        assert slack.command(USER, "report").status == 200
        again = fake.wait_for(lambda: len(fake.responses) > before and fake.responses[-1])
        assert warning in json.dumps(again, ensure_ascii=False)

        # Two more people answer alike: the team is over the threshold, its means held against the measurements.
        for user in ("U0SECOND", "U0THIRD"):
            complete_assessment(ctx, Who(TEAM_ID, user), levels, now - timedelta(hours=1))
        posted = subprocess.run(
            [str(COMPASS), "digest", "--channel", CHANNEL, "--now"],
            env=app.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert posted.returncode == 0, posted.stderr
        digest = json.dumps(fake.channel_messages(CHANNEL)[-1].blocks, ensure_ascii=False)
        assert "*Said and measured*" in digest
        assert "• Data: 1 contradicted (Validation)" in digest
        assert "• Operations: 1 confirmed, 1 unverifiable (no data)" in digest

        body = slack.command_body(USER, "team", channel=CHANNEL)
        assert slack.send(body, "application/x-www-form-urlencoded").status == 200
        team_view = fake.wait_for(lambda: fake.ephemeral_messages(CHANNEL, USER))
        assert "Data: 1 contradicted (Validation)" in text_of(team_view[-1])

        exported = CliRunner().invoke(
            main,
            ["export", "--teams", "--format", "json"],
            env={"DATABASE_URL": url, "COMPASS_QUESTIONS": str(bank_path), "COMPASS_MIN_RESPONDENTS": "3"},
            catch_exceptions=False,
        )
        assert exported.exit_code == 0, exported.output
        (period,) = json.loads(exported.stdout)["teams"]
        assert period["say_do"] == {
            "data": {"confirmed": 0, "contradicted": ["data.validation"], "unverifiable": 0},
            "ops": {"confirmed": 1, "contradicted": [], "unverifiable": 1},
        }
        database.dispose()
