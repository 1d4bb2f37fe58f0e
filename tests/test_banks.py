"""A question bank per workspace: the use cases (bot/app/banks.py) and `compass questions set/show`,
on SQLite and PostgreSQL. Two workspaces on different banks never mix; a change applies only over
the bank the person saw; a bad document is refused with its JSON paths and changes nothing."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SHIPPED_BANK, SMALL_BANK, T0, store_team
from sqlalchemy import select

from bot.app import banks
from bot.app.assessment import record_answer, start_assessment
from bot.app.banks import MAX_BANK_BYTES, BankConflict, BankSet
from bot.app.context import AppContext
from bot.app.digests import subscribe_digest, team_now
from bot.app.messenger import Reminder
from bot.app.outreach import OutreachSettings, people_due
from bot.app.packs import UnknownPack
from bot.app.types import Click, Who
from bot.cli.main import main
from bot.db import people
from bot.db.models import Assessment, DimensionScore, QuestionBank
from bot.db.setup import Database
from bot.domain.flow import Status
from bot.domain.questionnaire import Questionnaire, QuestionnaireError

SMALL_TEXT = SMALL_BANK.read_text(encoding="utf-8")
SHIPPED_TEXT = SHIPPED_BANK.read_text(encoding="utf-8")
TA, TB = "T0ALPHA", "T0BRAVO"


@pytest.fixture
def ctx(database: Database, shipped_bank: Questionnaire) -> AppContext:
    """The shipped bank is the deployment's default."""
    return AppContext(database.sessions, shipped_bank)


def answer_everything(ctx: AppContext, who: Who, level: int, start: int = 0) -> list[int]:
    """Answer the person's assessment to the end at ``level``; the totals each question showed."""
    progress = start_assessment(ctx, who, T0).progress
    totals = []
    i = start
    while progress.question is not None:
        totals.append(progress.total)
        click = Click(progress.assessment_id, progress.question.id, level, question_hash=progress.question.content_hash)
        progress = record_answer(ctx, who, click, T0 + timedelta(minutes=i)).progress
        i += 1
    assert progress.status is Status.COMPLETE
    return totals


def test_two_workspaces_on_different_banks_never_mix(ctx: AppContext, small_bank: Questionnaire) -> None:
    set_a = banks.set_bank(ctx, TA, "custom", SMALL_TEXT, by="U0ADMIN", now=T0, expected_version=0)
    assert isinstance(set_a, BankSet) and set_a.previous.name == "default"

    alpha, bravo = Who(TA, "U0ALPHA"), Who(TB, "U0BRAVO")
    assert set(answer_everything(ctx, alpha, 4)) == {len(small_bank)}
    assert set(answer_everything(ctx, bravo, 2)) == {len(ctx.bank)}

    with ctx.sessions() as session:
        rows = session.execute(select(Assessment.bank_hash, Assessment.bank_name, Assessment.respondent_id)).all()
        dims = {
            rid: {
                d
                for (d,) in session.execute(
                    select(DimensionScore.dimension_id)
                    .join(Assessment, Assessment.id == DimensionScore.assessment_id)
                    .where(Assessment.respondent_id == rid)
                )
            }
            for _, _, rid in rows
        }
    by_hash = {h: name for h, name, _ in rows}
    assert by_hash == {small_bank.content_hash: "custom", ctx.bank.content_hash: None}
    assert sorted(map(sorted, dims.values())) == sorted(
        [sorted(d.id for d in small_bank.dimensions), sorted(d.id for d in ctx.bank.dimensions)]
    )
    assert banks.bank_view(ctx, TB).current.name == "default"


def test_a_switch_carries_unfinished_assessments_over_and_names_it_first(
    ctx: AppContext, small_bank: Questionnaire
) -> None:
    banks.set_bank(ctx, TA, "custom", SMALL_TEXT, by="U0ADMIN", now=T0, expected_version=0)
    who = Who(TA, "U0HALF")
    progress = start_assessment(ctx, who, T0).progress
    for _ in range(2):  # the first two answered; the second is reworded below
        assert progress.question is not None
        asked = progress.question
        click = Click(progress.assessment_id, asked.id, 3, question_hash=asked.content_hash)
        progress = record_answer(ctx, who, click, T0).progress

    edited = json.loads(SMALL_TEXT)
    edited["version"] = "test-2"
    edited["questions"][1]["text"] = "Reworded: " + edited["questions"][1]["text"]
    document = json.dumps(edited)
    preview = banks.preview(ctx, TA, "custom", document)
    assert preview.unfinished == 1 and preview.shared == len(small_bank) - 1
    assert "1 unfinished assessment will carry over the answers to questions both banks share" in preview.consequence

    applied = banks.set_bank(ctx, TA, "custom", document, by="U0ADMIN", now=T0, expected_version=1)
    assert isinstance(applied, BankSet) and applied.unfinished == 1 and applied.bank.revision == 2
    resumed = start_assessment(ctx, who, T0 + timedelta(minutes=5))
    assert resumed.resumable and resumed.progress.notice is not None  # one kept, one asked again
    assert resumed.progress.question is not None and resumed.progress.question.id == edited["questions"][1]["id"]


def test_two_changes_over_the_same_bank_one_wins_and_the_other_is_told_who(ctx: AppContext) -> None:
    first = banks.set_bank(ctx, TA, "custom", SMALL_TEXT, by="U0FIRST", now=T0, expected_version=0)
    second = banks.set_bank(ctx, TA, "full", SHIPPED_TEXT, by="U0SECOND", now=T0, expected_version=0)
    assert isinstance(first, BankSet)
    assert isinstance(second, BankConflict) and second.current.set_by == "U0FIRST"
    assert banks.bank_view(ctx, TA).current.name == "custom"


def test_concurrent_changes_from_threads_store_exactly_one(ctx: AppContext) -> None:
    barrier = threading.Barrier(4)
    results: list[object] = []

    def change(i: int) -> None:
        barrier.wait()
        try:
            results.append(banks.set_bank(ctx, TA, "custom", SMALL_TEXT, by=f"U0T{i}", now=T0, expected_version=0))
        except Exception as exc:  # surfaced by the assertion below
            results.append(exc)

    threads = [threading.Thread(target=change, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(isinstance(r, BankSet) for r in results) == 1, results
    assert sum(isinstance(r, BankConflict) for r in results) == 3, results
    with ctx.sessions() as session:
        assert session.scalars(select(QuestionBank.revision)).all() == [1]


@pytest.mark.parametrize(
    ("document", "paths"),
    [
        ('{"version": "1", "dimensions": [], "questions": []}', ["$.dimensions", "$.questions"]),
        ("{not json", ["$"]),
        (
            json.dumps({**json.loads(SMALL_TEXT), "questions": [{"id": "Bad Id", "dimension": "nowhere"}]}),
            ["$.questions[0].id", "$.questions[0].dimension", "$.questions[0].options"],
        ),
        ("[" + " " * MAX_BANK_BYTES + "]", ["$"]),
    ],
    ids=["empty", "not-json", "invalid", "too-large"],
)
def test_a_bad_bank_is_refused_with_its_json_paths_and_changes_nothing(
    ctx: AppContext, document: str, paths: list[str]
) -> None:
    with pytest.raises(QuestionnaireError) as refused:
        banks.set_bank(ctx, TA, "custom", document, by="U0ADMIN", now=T0, expected_version=0)
    located = {p.path for p in refused.value.problems}
    assert set(paths) <= located
    with ctx.sessions() as session:
        assert session.scalars(select(QuestionBank.id)).all() == []


def test_an_unknown_pack_gets_the_list(ctx: AppContext) -> None:
    with pytest.raises(UnknownPack, match="The packs are: core, full, llmops"):
        banks.switch_to_pack(ctx, TA, "nonesuch", by="U0ADMIN", now=T0, expected_version=0)


def test_the_registry_parses_a_bank_once_per_process(ctx: AppContext, small_bank: Questionnaire) -> None:
    banks.set_bank(ctx, TA, "custom", SMALL_TEXT, by="U0ADMIN", now=T0, expected_version=0)
    fresh = AppContext(ctx.sessions, ctx.bank)  # another process: nothing parsed yet
    with fresh.sessions() as session:
        one = fresh.banks.of(session, TA)
        two = fresh.banks.of(session, TA)
        assert one is two and one.content_hash == small_bank.content_hash
        assert fresh.banks.of(session, TB) is fresh.bank


def run_cli(database_url: str, *args: str) -> tuple[int, str]:
    env = {"DATABASE_URL": database_url, "COMPASS_QUESTIONS": str(SHIPPED_BANK)}
    result = CliRunner().invoke(main, ["questions", *args], env=env)
    return result.exit_code, result.output


def test_compass_questions_set_and_show(database: Database, database_url: str, tmp_path: Path) -> None:
    code, shown = run_cli(database_url, "show", "--workspace", TA)
    assert code == 0 and "Bank: default" in shown and "26 questions (about 12 minutes) in 5 dimensions" in shown

    code, out = run_cli(database_url, "set", "--workspace", TA, str(SMALL_BANK))
    assert code == 0, out
    assert f"{TA} now answers custom (was default)" in out

    code, shown = run_cli(database_url, "show", "--workspace", TA)
    assert "Bank: custom, version test-1" in shown and "5 questions (about 2 minutes) in 2 dimensions" in shown
    assert "Set by cli:" in shown
    code, other = run_cli(database_url, "show", "--workspace", "local")
    assert "Bank: default" in other

    code, out = run_cli(database_url, "set", "--workspace", TA, "full")
    assert code == 0 and "now answers full (was custom)" in out

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"version": "x", "dimensions": [], "questions": [{"id": "q"}]}))
    code, out = run_cli(database_url, "set", "--workspace", TA, str(bad))
    assert code == 1 and "$.dimensions" in out and "$.questions[0].options" in out and "Nothing was changed" in out
    code, out = run_cli(database_url, "set", "--workspace", TA, "nonesuch")
    assert code == 1 and "The packs are: core, full, llmops" in out
    code, shown = run_cli(database_url, "show", "--workspace", TA)
    assert "Bank: full" in shown


def test_a_team_digest_and_its_reminders_use_their_workspaces_bank(ctx: AppContext, small_bank: Questionnaire) -> None:
    banks.set_bank(ctx, TA, "custom", SMALL_TEXT, by="U0ADMIN", now=T0, expected_version=0)
    settings = OutreachSettings(min_respondents=3, cadence=timedelta(days=90))
    for team in (TA, TB):
        subscribe_digest(ctx, Who(team, "U0LEAD"), "C0TEAM", "monthly", T0 - timedelta(days=1))
        members = {f"U0{team}{i}": None for i in range(3)}
        store_team(ctx, team, "C0TEAM", members, T0)
        for user in members:
            answer_everything(ctx, Who(team, user), 3)
    alpha = team_now(ctx, TA, "C0TEAM", T0 + timedelta(hours=1), settings=settings).digest
    bravo = team_now(ctx, TB, "C0TEAM", T0 + timedelta(hours=1), settings=settings).digest
    assert [d.id for d in alpha.dimensions] == [d.id for d in small_bank.dimensions]
    assert [d.id for d in bravo.dimensions] == [d.id for d in ctx.bank.dimensions]
    assert alpha.respondents == bravo.respondents == 3

    waiting = Who(TA, "U0WAITING")
    start_assessment(ctx, waiting, T0)
    with ctx.sessions.begin() as session:
        ws_id = people.workspace_id(session, TA, T0)
        due = people_due(session, ws_id, [], settings, T0 + timedelta(days=8, hours=2), banks=ctx.banks)
    (reminder,) = [m for m in due.messages if isinstance(m, Reminder) and m.user_id == waiting.user]
    assert reminder.total == len(small_bank) and reminder.question_id == small_bank.questions[0].id
