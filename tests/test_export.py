"""`compass export` on SQLite and PostgreSQL: assessments completed through the real use cases,
exported as CSV and JSON, parsed back and compared with the database; the digest history."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import stat
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import SMALL_BANK, T0, complete_assessment
from fakeslack import BOT_TOKEN, TEAM_ID, FakeSlack
from slack_sdk import WebClient
from sqlalchemy import event, select

from bot.app import team_sessions
from bot.app.assessment import restart_assessment
from bot.app.context import AppContext
from bot.app.digests import subscribe_digest
from bot.app.export import export_assessments, export_teams
from bot.app.outreach import OutreachSettings
from bot.app.types import Who
from bot.cli.main import main
from bot.db.models import Answer, Assessment, DeploymentSecret, DimensionScore, Respondent, Send, Workspace
from bot.db.setup import Database
from bot.domain.questionnaire import Questionnaire, load_questionnaire
from bot.domain.schedule import WorkingHours
from bot.domain.targets import DimensionChoice
from bot.domain.team_session import NewAction, StartSession
from bot.slack.scheduled import post_digest_now

ANA = Who("T0001", "U0ANA")
BEN = Who("T0001", "U0BEN")
ANA_ELSEWHERE = Who("T0002", "U0ANA")  # the same user id in another workspace
MINUTE = timedelta(minutes=1)


def compass(database_url: str, *args: str, bank: Path = SMALL_BANK, **env: str) -> Result:
    return CliRunner().invoke(
        main,
        ["export", *args],
        env={"DATABASE_URL": database_url, "COMPASS_QUESTIONS": str(bank), **env},
        catch_exceptions=False,
    )


def rows(result: Result) -> list[dict[str, str]]:
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout, newline="")))


def document(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    found: dict[str, Any] = json.loads(result.stdout)
    return found


@pytest.fixture
def ctx(database: Database, small_bank: Questionnaire) -> AppContext:
    return AppContext(database.sessions, small_bank)


@pytest.fixture
def three(ctx: AppContext) -> list[int]:
    """Ana twice (the first time a day earlier), Ben once, Ana in another workspace once."""
    return [
        complete_assessment(ctx, ANA, [1, 2, 3, None, 4], T0),
        complete_assessment(ctx, BEN, [4, 4, 3, 2, 1], T0 + timedelta(days=1)),
        complete_assessment(ctx, ANA, [2, 2, 2, 2, 2], T0 + timedelta(days=1, hours=1)),
        complete_assessment(ctx, ANA_ELSEWHERE, [3, 3, 3, 3, 3], T0 + timedelta(days=2)),
    ]


def stored(database: Database) -> dict[int, dict[str, Any]]:
    """What the database holds of each completed assessment, read directly."""
    with database.sessions() as session:
        found = {
            a.id: {
                "workspace": ws,
                "user": user,
                "completed_at": a.completed_at,
                "bank_version": a.bank_version,
                "overall": (a.overall_score, a.overall_level),
                "dimensions": {},
                "answers": {},
            }
            for a, ws, user in session.execute(
                select(Assessment, Workspace.external_id, Respondent.user_id)
                .join(Respondent, Respondent.id == Assessment.respondent_id)
                .join(Workspace, Workspace.id == Respondent.workspace_id)
                .where(Assessment.status == "complete")
            )
        }
        for d in session.scalars(select(DimensionScore)):
            found[d.assessment_id]["dimensions"][d.dimension_id] = (d.score, d.level)
        for x in session.scalars(select(Answer)):
            found[x.assessment_id]["answers"][x.question_id] = x.level
    return found


def _number(text: str) -> float | None:
    return None if text == "" else float(text)


def _level(text: str) -> int | None:
    return None if text == "" else int(text)


# --- assessments --------------------------------------------------------------------------


def test_csv_has_one_row_per_completed_assessment_matching_the_database(database_url, database, ctx, three):
    restart_assessment(ctx, BEN, T0 + timedelta(days=3))  # unfinished: not exported

    found = rows(compass(database_url))

    expected = stored(database)
    assert [int(r["assessment_id"]) for r in found] == three
    assert list(found[0]) == [
        "workspace",
        "person_key",
        "assessment_id",
        "completed_at",
        "bank_version",
        "overall_score",
        "overall_level",
        "data_score",
        "data_level",
        "ops_score",
        "ops_level",
    ]
    for row in found:
        want = expected[int(row["assessment_id"])]
        assert row["workspace"] == want["workspace"]
        assert datetime.fromisoformat(row["completed_at"]) == want["completed_at"]
        assert row["bank_version"] == want["bank_version"]
        assert (_number(row["overall_score"]), _level(row["overall_level"])) == want["overall"]
        for dim in ("data", "ops"):
            assert (_number(row[f"{dim}_score"]), _level(row[f"{dim}_level"])) == want["dimensions"][dim]
    with database.sessions() as session:
        assert session.scalar(select(DeploymentSecret.name)) == "export-person-key"


def test_json_carries_every_answer_with_the_questions_wording(database_url, database, small_bank, three):
    doc = document(compass(database_url, "--format", "json", "--with-user-ids"))

    expected = stored(database)
    assert doc["person"] == "user_id" and doc["dimensions"] == ["data", "ops"]
    assert [a["assessment_id"] for a in doc["assessments"]] == three
    for item in doc["assessments"]:
        want = expected[item["assessment_id"]]
        assert (item["workspace"], item["person"]) == (want["workspace"], want["user"])
        assert datetime.fromisoformat(item["completed_at"]) == want["completed_at"]
        assert (item["overall"]["score"], item["overall"]["level"]) == want["overall"]
        assert {d["id"]: (d["score"], d["level"]) for d in item["dimensions"]} == want["dimensions"]
        assert {x["question_id"]: x["level"] for x in item["answers"]} == want["answers"]
        assert [x["question_id"] for x in item["answers"]] == [q.id for q in small_bank]
        for x in item["answers"]:
            question = small_bank.question(x["question_id"])
            assert (x["dimension_id"], x["question_title"], x["question_text"]) == (
                question.dimension,
                question.title,
                question.text,
            )
            assert x["option"] == (None if x["level"] is None else question.option(x["level"]).label)


def test_an_edited_question_is_exported_without_its_new_wording(database_url, ctx, three, tmp_path):
    data = json.loads(SMALL_BANK.read_text(encoding="utf-8"))
    data["questions"][0]["text"] = "A different question now?"
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(data), encoding="utf-8")
    first = load_questionnaire(edited).questions[0].id

    doc = document(compass(database_url, "--format", "json", bank=edited))

    answers = {x["question_id"]: x for x in doc["assessments"][0]["answers"]}
    assert answers[first]["level"] == 1
    assert (answers[first]["option"], answers[first]["question_title"], answers[first]["question_text"]) == (
        None,
        None,
        None,
    )
    assert all(x["question_text"] for qid, x in answers.items() if qid != first)


def test_text_a_spreadsheet_would_run_as_a_formula_is_escaped_in_csv_only(database_url, database, tmp_path):
    data = json.loads(SMALL_BANK.read_text(encoding="utf-8"))
    data["version"] = "-1+1"
    data["questions"][0]["text"] = '=HYPERLINK("http://evil.example","click")'
    bank_file = tmp_path / "formulas.json"
    bank_file.write_text(json.dumps(data), encoding="utf-8")
    bank = load_questionnaire(bank_file)
    complete_assessment(
        AppContext(database.sessions, bank), Who("=cmd|' /C calc'!A0", "@SUM(1+1)"), [1, 2, 3, None, 4], T0
    )

    (row,) = rows(compass(database_url, "--with-user-ids", bank=bank_file))
    doc = document(compass(database_url, "--with-user-ids", "--format", "json", bank=bank_file))

    assert (row["workspace"], row["user_id"], row["bank_version"]) == ("'=cmd|' /C calc'!A0", "'@SUM(1+1)", "'-1+1")
    assert not row["overall_score"].startswith("'")
    (item,) = doc["assessments"]
    assert (item["workspace"], item["person"], item["bank_version"]) == ("=cmd|' /C calc'!A0", "@SUM(1+1)", "-1+1")
    assert item["answers"][0]["question_text"] == '=HYPERLINK("http://evil.example","click")'


def test_since_and_workspace_keep_only_what_they_name(database_url, three):
    def ids(*args: str) -> list[int]:
        return [int(r["assessment_id"]) for r in rows(compass(database_url, *args))]

    assert ids("--since", (T0 + timedelta(days=1)).date().isoformat()) == three[1:]
    assert ids("--since", "2026-11-03T09:30:00+00:00") == three[2:]
    assert ids("--workspace", "T0002") == three[3:]
    assert ids("--workspace", "T0001", "--since", "2026-11-03") == three[1:3]
    assert ids("--workspace", "T9999") == []


def test_the_person_key_is_stable_across_exports_and_differs_per_person_and_workspace(database_url, database, three):
    keys = [r["person_key"] for r in rows(compass(database_url))]

    # Each export opens the database afresh; the secret the first one made is the one the others use.
    assert keys == [a["person"] for a in document(compass(database_url, "--format", "json"))["assessments"]]
    assert keys == [r["person_key"] for r in rows(compass(database_url))]
    with database.sessions() as session:
        assert len(session.scalars(select(DeploymentSecret)).all()) == 1
    ana, ben, ana_again, ana_elsewhere = keys
    assert ana == ana_again
    assert len({ana, ben, ana_elsewhere}) == 3
    for key in keys:
        assert len(key) == 20
        for user in ("U0ANA", "U0BEN", "T0001U0ANA", "T0001:U0ANA"):
            assert not hashlib.sha256(user.encode()).hexdigest().startswith(key)
    assert "U0ANA" not in compass(database_url).stdout


def test_the_export_reads_in_a_constant_number_of_statements(database, ctx):
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        complete_assessment(ctx, ANA, [1, 2, 3, None, 4], T0)
        export_assessments(ctx, T0, with_answers=True)  # makes the secret
        statements.clear()
        export_assessments(ctx, T0, with_answers=True)
        few = len(statements)
        for i in range(6):
            complete_assessment(ctx, Who("T0001", f"U{i}"), [2, 2, 2, 2, 2], T0)
        statements.clear()
        export = export_assessments(ctx, T0, with_answers=True)
    finally:
        event.remove(database.engine, "before_cursor_execute", count)
    assert len(export.assessments) == 7
    assert len(statements) == few <= 5


def test_stdout_and_out_give_the_same_bytes_and_the_file_is_private(database_url, three, tmp_path):
    out = tmp_path / "export.json"
    written = compass(database_url, "--format", "json", "--out", str(out))
    printed = compass(database_url, "--format", "json")

    assert written.exit_code == 0 and written.stdout == ""
    assert "4 assessments to" in written.stderr
    on_disk = json.loads(out.read_text(encoding="utf-8"))
    assert on_disk["assessments"] == json.loads(printed.stdout)["assessments"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--since", "yesterday"], "'yesterday' is not a date"),
        (["--since", "2026-13-01"], "is not a date"),
        (["--format", "xml"], "'xml' is not one of 'csv', 'json'"),
        (["--teams", "--with-user-ids"], "--with-user-ids has no meaning with --teams"),
        (["--nope"], "No such option '--nope'"),
    ],
)
def test_bad_input_is_one_line_and_status_2(database_url, tmp_path, args, says):
    out = tmp_path / "x.csv"
    result = compass(database_url, *args, "--out", str(out))

    assert result.exit_code == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("compass export: ") and says in line
    assert not out.exists()


def test_an_unwritable_out_fails_before_any_work_and_a_failure_leaves_the_old_file_whole(database_url, tmp_path):
    missing = compass(database_url, "--out", str(tmp_path / "no" / "such" / "dir.csv"))
    directory = compass(database_url, "--out", str(tmp_path))

    assert missing.exit_code == 2 and missing.stderr.splitlines() == [
        f"compass export: cannot write {tmp_path / 'no' / 'such' / 'dir.csv'}: No such file or directory"
    ]
    assert directory.exit_code == 2 and len(directory.stderr.splitlines()) == 1
    assert "is a directory" in directory.stderr

    out = tmp_path / "old.csv"
    out.write_text("the previous export\n", encoding="utf-8")
    broken = compass("postgresql://nobody@127.0.0.1:1/none", "--out", str(out))
    assert broken.exit_code == 2 and broken.stderr.startswith("compass: ")
    assert out.read_text(encoding="utf-8") == "the previous export\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_a_failed_rename_says_so_in_one_line_and_removes_the_partial_file(database_url, three, tmp_path, monkeypatch):
    def refuse(self: Path, target: Path) -> Path:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "replace", refuse)
    out = tmp_path / "x.csv"
    result = compass(database_url, "--out", str(out))

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"compass export: cannot write {out}: Permission denied"]
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


# --- the digest history -------------------------------------------------------------------

TEAM_A, TEAM_B = "C0AAA", "C0BBB"
HOURS = WorkingHours(frozenset({1, 2, 3}), 10, 16)


def outreach_settings(min_respondents: int) -> OutreachSettings:
    return OutreachSettings(min_respondents=min_respondents, cadence=timedelta(days=90), hours=HOURS, send_rate=100)


def post(ctx: AppContext, slack: FakeSlack, channel: str, when: datetime) -> None:
    client = WebClient(token=BOT_TOKEN, base_url=slack.api_url)
    post_digest_now(ctx, client, outreach_settings(3), channel, when)


def test_teams_exports_each_digest_sent_and_nothing_under_the_threshold(database_url, database, ctx, fake):
    a_people, b_people = ["U1", "U2", "U3", "U4"], ["U5", "U6"]
    for user in a_people + b_people:
        fake.add_user(user)
    fake.add_channel(TEAM_A, [*a_people, "U0BOT"])
    fake.add_channel(TEAM_B, [*b_people, "U0BOT"])
    lead = Who(TEAM_ID, "U1")
    subscribe_digest(ctx, lead, TEAM_A, "monthly", T0)
    subscribe_digest(ctx, lead, TEAM_B, "monthly", T0)
    for i, user in enumerate(a_people[:3] + b_people):
        complete_assessment(ctx, Who(TEAM_ID, user), [i % 4 + 1, 2, 3, None, 4], T0)
    post(ctx, fake, TEAM_A, T0 + timedelta(hours=1))
    post(ctx, fake, TEAM_B, T0 + timedelta(hours=1))  # two respondents: under the threshold
    complete_assessment(ctx, Who(TEAM_ID, "U4"), [4, 4, 4, 4, 4], T0 + timedelta(days=1))
    post(ctx, fake, TEAM_A, T0 + timedelta(days=1, hours=1))

    table = rows(compass(database_url, "--teams", COMPASS_MIN_RESPONDENTS="3"))
    doc = document(compass(database_url, "--teams", "--format", "json", COMPASS_MIN_RESPONDENTS="3"))

    assert [(r["channel"], r["respondents"]) for r in table] == [(TEAM_A, "3"), (TEAM_A, "4")]
    assert list(table[0]) == [
        "workspace",
        "channel",
        "period",
        "sent_at",
        "respondents",
        "overall_mean",
        "data_mean",
        "ops_mean",
        "confirmed",
        "contradicted",
        "unverifiable",
        "contradicted_questions",
    ]
    with database.sessions() as session:
        sent = {
            s.period: json.loads(s.payload_json or "null")
            for s in session.scalars(select(Send).where(Send.kind == "digest", Send.target == TEAM_A))
        }
    for row in table:
        snapshot = sent[row["period"]]
        assert row["workspace"] == TEAM_ID
        assert float(row["overall_mean"]) == snapshot["overall"]
        assert {d: float(row[f"{d}_mean"]) for d in ("data", "ops")} == snapshot["dimensions"]
    assert [t["respondents"] for t in doc["teams"]] == [3, 4]
    assert {d["id"]: d["mean"] for d in doc["teams"][1]["dimensions"]} == sent[doc["teams"][1]["period"]]["dimensions"]
    assert TEAM_B not in json.dumps(doc)

    # A threshold raised since hides the digests that had fewer respondents than it asks for now.
    assert [p.respondents for p in export_teams(ctx, min_respondents=4).periods] == [4]
    assert export_teams(ctx, min_respondents=3, since=T0 + timedelta(days=1)).periods[0].respondents == 4
    assert export_teams(ctx, min_respondents=3, workspace="T9999").periods == ()


def test_teams_keeps_digests_from_before_the_snapshot_counted_respondents(database, ctx):
    with database.sessions.begin() as session:
        ws = Workspace(external_id="T0OLD", created_at=T0)
        session.add(ws)
        session.flush()
        old = {"overall": 2.5, "dimensions": {"ops": 3.0, "data": 2.0, "retired": 1.5}}
        for period, payload in (("2026-10", old), ("2026-11", {}), ("2026-12", None)):
            session.add(
                Send(
                    kind="digest",
                    workspace_id=ws.id,
                    target="C0OLD",
                    period=period,
                    status="sent",
                    claimed_at=T0,
                    sent_at=T0,
                    payload_json=None if payload is None else json.dumps(payload),
                )
            )

    history = export_teams(ctx, min_respondents=5)

    (period,) = history.periods
    assert (period.period, period.respondents, period.overall) == ("2026-10", None, 2.5)
    assert history.dimensions == ("data", "ops", "retired")
    assert period.dimensions == (("data", 2.0), ("ops", 3.0), ("retired", 1.5))


# --- the teams' sessions ------------------------------------------------------------------


def _session_over_ops(ctx: AppContext, channel: str, voters: list[str], start: datetime) -> int:
    """A session in ``channel`` over ops run to its end: rollback agreed 3 (mixed votes), A/B tests
    agreed not applicable, monitoring agreed 2 with an action owned by U0OWNER."""
    settings = outreach_settings(3)
    lead = Who(TEAM_ID, voters[0])
    opened = team_sessions.start(ctx, lead, channel, StartSession(DimensionChoice("ops", "Ops")), start, members=4)
    assert isinstance(opened, team_sessions.Opened)
    session_id = opened.first.session_id
    for i, (question, votes, agreed) in enumerate((("ops.rollback", [1, 4, 3], 3), ("ops.abtest", [2, 2, 2], None),
                                                   ("ops.monitoring", [2, 2, 3], 2))):  # fmt: skip
        where, at = (session_id, question), start + timedelta(minutes=i)
        for user, level in zip(voters, votes, strict=True):
            team_sessions.vote(ctx, Who(TEAM_ID, user), where, level, at, response_url=None)
        team_sessions.reveal_votes(ctx, lead, where, at, settings=settings, members=None)
        team_sessions.agree(ctx, lead, where, agreed, at, settings=settings, members=None)
        if question == "ops.monitoring":
            action = NewAction("Alert on =SUM(latency)", "U0OWNER", date(2027, 1, 15))
            team_sessions.add_action(ctx, lead, where, action, at, source=None, settings=settings, members=None)
        moved = team_sessions.next_question(ctx, lead, where, start + timedelta(hours=1))
    assert isinstance(moved, team_sessions.Ended)
    return session_id


def test_teams_exports_each_session_with_its_agreed_levels_and_actions_and_no_vote(database_url, database, ctx):
    voters = ["U0VOTERA", "U0VOTERB", "U0VOTERC"]
    first = _session_over_ops(ctx, TEAM_A, voters, T0)
    team_sessions.start(ctx, Who(TEAM_ID, "U0VOTERA"), TEAM_B, StartSession(everything=True), T0, members=3)

    doc = document(compass(database_url, "--teams", "--format", "json"))

    ended, live = doc["sessions"]
    assert (ended["session_id"], ended["channel"], ended["workspace"]) == (first, TEAM_A, TEAM_ID)
    assert (ended["started_at"], ended["ended_at"]) == (T0.isoformat(), (T0 + timedelta(hours=1)).isoformat())
    assert ended["end_reason"] == "finished" and ended["scope"] == {"dimension_id": "ops", "label": "Operations"}
    assert [(q["question_id"], q["agreed_level"], q["mixed"], q["votes"]) for q in ended["questions"]] == [
        ("ops.rollback", 3, True, 3),
        ("ops.abtest", None, False, 3),
        ("ops.monitoring", 2, False, 3),
    ]
    (ops,) = ended["dimensions"]  # rollback 3 (weight 3) and monitoring 2 (weight 1); A/B tests not applicable
    assert (ops["id"], ops["score"]) == ("ops", 2.75)
    assert ended["actions"] == [
        {"text": "Alert on =SUM(latency)", "owner": "U0OWNER", "due": "2027-01-15", "done": False, "done_at": None}
    ]
    assert (live["channel"], live["ended_at"], live["questions"], live["scope"]["dimension_id"]) == (
        TEAM_B, None, [], None,
    )  # fmt: skip
    assert not any(voter in json.dumps(doc) for voter in voters)  # nobody's vote, nor who facilitated
    assert doc["teams"] == []  # no digest was sent

    assert [s.session_id for s in export_teams(ctx, min_respondents=3, since=T0 + timedelta(days=1)).sessions] == []
    assert export_teams(ctx, min_respondents=3, workspace="T9999").sessions == ()
