"""The packs in a terminal: listing and checking them, and answering each end to end with
`compass assess --pack`, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import NO_POSTGRES, POSTGRES_URL, ROOT, SHIPPED_BANK, create_postgres_database, drop_postgres_database
from sqlalchemy import select

from bot.app.packs import PACKS, load_pack
from bot.cli.main import main
from bot.db.models import Assessment
from bot.db.setup import open_database
from bot.domain.flow import Status

USER = "ada"


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str | None]]:
    """One person's terminal on a fresh database of each backend, with the shipped bank configured."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'compass.db'}"
    elif not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    else:
        url = create_postgres_database(migrated=True)
    yield {
        "DATABASE_URL": url,
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": None,
        "COMPASS_QUESTIONS": str(SHIPPED_BANK),
        "NO_COLOR": "1",
        "COLUMNS": "100",
    }
    if request.param == "postgresql":
        drop_postgres_database(url)


def compass(env: dict[str, str | None] | None, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env or {"COMPASS_QUESTIONS": None}, input=input)


def stored(env: dict[str, str | None]) -> list[Assessment]:
    url = env["DATABASE_URL"]
    assert url
    database = open_database(url)
    try:
        with database.sessions() as session:
            return list(session.scalars(select(Assessment).order_by(Assessment.id)))
    finally:
        database.dispose()


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# --- listing and checking --------------------------------------------------------------------


def test_questions_packs_lists_each_pack_with_its_version_dimensions_questions_and_minutes():
    result = compass(None, "questions", "packs")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["PACK", "VERSION", "DIMENSIONS", "QUESTIONS", "MINUTES"]
    rows = [line.split() for line in lines[1:4]]
    assert rows == [
        [name, bank.version, str(len(bank.dimensions)), str(len(bank)), str(bank.minutes)]
        for name, bank in ((name, load_pack(name)) for name in PACKS)
    ]
    assert rows[0][:1] + rows[0][3:] == ["core", "10", "5"]
    assert "238 words a minute plus 5 seconds a question" in lines[4]


@pytest.mark.parametrize("name", list(PACKS))
def test_questions_check_validates_a_pack_by_name(name):
    bank = load_pack(name)

    result = compass(None, "questions", "check", "--pack", name)

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"OK: pack {name} is valid: {len(bank)} questions in {len(bank.dimensions)} dimensions "
        f"(version {bank.version}, hash {bank.content_hash})\n"
    )


def test_questions_check_all_packs_checks_every_pack():
    result = compass(None, "questions", "check", "--all-packs")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[2] for line in lines] == list(PACKS)
    assert all(line.startswith("OK: pack ") for line in lines)
    assert f"({ROOT / 'packs' / 'llmops.json'})" in lines[2]


@pytest.mark.parametrize("command", [["questions", "check"], ["questions", "template"], ["assess"]])
def test_an_unknown_pack_is_refused_with_the_list_of_packs(command, tmp_path):
    result = compass({"DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}", "HOME": str(tmp_path)}, *command, "--pack", "x")

    assert result.exit_code == 1
    assert result.stderr == "There is no pack named 'x'. The packs are: core, full, llmops.\n"
    assert not (tmp_path / "c.db").exists()  # refused before any database is opened


def test_all_packs_names_a_broken_pack_with_its_problems_and_fails(monkeypatch, tmp_path):
    """A pack file broken in a checkout (say, a bad merge): every other pack is still checked."""
    broken = write_json(tmp_path / "broken.json", {"version": "x", "dimensions": [], "questions": []})
    monkeypatch.setitem(PACKS, "broken", broken)

    result = compass(None, "questions", "check", "--all-packs")

    assert result.exit_code == 1
    assert [line.split()[2] for line in result.stdout.splitlines()] == ["core", "full", "llmops"]
    assert f"FAILED: pack broken: {broken} is invalid (2 problem(s)):" in result.stderr
    assert "$.dimensions: missing: needs a non-empty list of dimensions" in result.stderr
    assert result.stderr.endswith("1 of 4 packs are invalid: broken\n")


def test_a_path_and_a_pack_together_are_refused():
    result = compass(None, "questions", "check", str(SHIPPED_BANK), "--pack", "core")

    assert result.exit_code == 2
    assert "Give a PATH or --pack NAME, not both." in result.stderr


def test_all_packs_with_a_pack_is_refused():
    result = compass(None, "questions", "check", "--all-packs", "--pack", "core")

    assert result.exit_code == 2
    assert "--all-packs checks every pack" in result.stderr


def test_the_template_of_a_pack_names_its_questions():
    result = compass(None, "questions", "template", "--pack", "core")

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["bank_version"] == load_pack("core").version
    assert list(document["answers"]) == [q.id for q in load_pack("core")]


# --- answering each pack ---------------------------------------------------------------------


@pytest.mark.parametrize("name", list(PACKS))
def test_each_pack_is_answered_end_to_end_from_an_answers_file(env, tmp_path, name):
    bank = load_pack(name)
    answers = {q.id: (i % 4) + 1 for i, q in enumerate(bank)}
    path = write_json(tmp_path / "answers.json", answers)

    result = compass(env, "assess", "--pack", name, "--answers", str(path), "--no-input", "--json", "--user", USER)

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["answered"] == report["total"] == len(bank)
    assert [d["id"] for d in report["dimensions"]] == [d.id for d in bank.dimensions]
    (row,) = stored(env)
    assert (row.status, row.bank_version, row.bank_hash) == (Status.COMPLETE.value, bank.version, bank.content_hash)


@pytest.mark.parametrize("name", list(PACKS))
def test_each_pack_is_answered_end_to_end_at_the_prompt(env, name):
    bank = load_pack(name)
    keys = ["n" if q.allow_na else "3" for q in bank]

    result = compass(env, "assess", "--pack", name, "--user", USER, input="\n".join(keys) + "\n")

    assert result.exit_code == 0, result.output
    assert "Overall: L3" in result.stdout
    for dimension in bank.dimensions:
        assert dimension.name in result.stdout
    (row,) = stored(env)
    assert (row.status, row.bank_version) == (Status.COMPLETE.value, bank.version)


def test_core_answers_given_on_full_are_kept_when_the_assessment_goes_on_as_core(env, tmp_path):
    """Core's questions are full's, hash for hash: an unfinished full assessment resumed as core
    keeps the answers to the questions both ask, and only the rest of core is asked."""
    full, core = load_pack("full"), load_pack("core")
    first_two = [q.id for q in full][:2]
    assert all(core.has_question(qid) for qid in first_two)
    compass(env, "assess", "--user", USER, input="4\n4\n")  # two answers on full, then end of input
    rest = {q.id: 2 for q in core if q.id not in first_two}
    path = write_json(tmp_path / "rest.json", rest)

    result = compass(env, "assess", "--pack", "core", "--answers", str(path), "--no-input", "--json", "--user", USER)

    assert result.exit_code == 0, result.output
    # Nothing to tell: no answer of theirs was dropped and core asks nothing full did not.
    assert "changed" not in result.stderr
    report = json.loads(result.stdout)
    assert report["answered"] == report["total"] == len(core)
    data = next(d for d in report["dimensions"] if d["id"] == "data")
    assert data["score"] == 4
    (row,) = stored(env)
    assert (row.status, row.bank_version) == (Status.COMPLETE.value, core.version)


def test_an_unfinished_core_assessment_continued_on_full_asks_only_what_core_left_out(env, tmp_path):
    full, core = load_pack("full"), load_pack("core")
    compass(env, "assess", "--pack", "core", "--user", USER, input="3\n3\n3\n")  # three answers, then end of input
    answered = [q.id for q in core][:3]
    rest = {q.id: 1 for q in full if q.id not in answered}
    assert len(rest) == len(full) - 3
    path = write_json(tmp_path / "rest.json", rest)

    result = compass(env, "assess", "--answers", str(path), "--no-input", "--json", "--user", USER)

    assert result.exit_code == 0, result.output
    assert " ".join(result.stderr.split()) == (
        "The questionnaire changed since you started: 16 questions are new; your 3 answers were kept."
    )
    report = json.loads(result.stdout)
    assert report["answered"] == report["total"] == len(full)
    (row,) = stored(env)
    assert (row.status, row.bank_version) == (Status.COMPLETE.value, full.version)


def test_the_terminal_answers_the_bank_set_for_the_local_workspace_and_a_pack_cannot_override_it(env, tmp_path):
    assert compass(env, "questions", "set", "--workspace", "local", "core").exit_code == 0
    core = load_pack("core")
    answers = write_json(tmp_path / "answers.json", {q.id: 3 for q in core})

    result = compass(env, "assess", "--answers", str(answers), "--no-input", "--json", "--user", USER)

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total"] == len(core)  # core's ten, not COMPASS_QUESTIONS' 26
    (row,) = stored(env)
    assert (row.bank_version, row.bank_hash, row.bank_name) == (core.version, core.content_hash, "core")
    refused = compass(env, "assess", "--pack", "llmops", "--answers", str(answers), "--no-input", "--user", USER)
    assert refused.exit_code == 1
    assert "answers the 'core' questions" in refused.output
    assert "compass questions set --workspace local llmops" in refused.output
    assert len(stored(env)) == 1  # nothing started
