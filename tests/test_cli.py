"""The ``compass`` command: bank checks, scripted and interactive assessments, colors, history.

Most runs go through click's CliRunner in-process; the ones that need a real process
(the console script, a pipe, a terminal for colors and Ctrl-C) run the venv's
``compass`` executable, the terminal ones on a pseudo-terminal.
"""

from __future__ import annotations

import copy
import fcntl
import json
import os
import pty
import random
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import click
import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner, Result
from conftest import (
    NO_POSTGRES,
    POSTGRES_URL,
    SHIPPED_BANK,
    SMALL_BANK,
    create_postgres_database,
    drop_postgres_database,
)
from rich.cells import cell_len
from sqlalchemy import func, inspect
from sqlalchemy import select as sql_select

from bot.cli.main import LAZY_COMMANDS, main
from bot.db import migrate
from bot.db.base import Base
from bot.db.models import Answer, Assessment
from bot.db.session import make_engine
from bot.db.setup import open_database
from bot.domain.flow import Status

COMPASS = Path(sys.executable).with_name("compass")
SHIPPED = json.loads(SHIPPED_BANK.read_text(encoding="utf-8"))
SMALL = json.loads(SMALL_BANK.read_text(encoding="utf-8"))
USER = "ada"
ESC = "\x1b["

Doc = dict[str, Any]


# --- helpers --------------------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str | None]:
    """The environment of one person's terminal: a fresh SQLite file, the shipped bank, HOME in tmp."""
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'compass.db'}",
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": None,
        "COMPASS_QUESTIONS": str(SHIPPED_BANK),
        "NO_COLOR": None,
        "FORCE_COLOR": None,
        "TTY_COMPATIBLE": None,
        "COLUMNS": "100",
    }


def compass(env: dict[str, str | None], *args: str, input: str | None = None) -> Result:
    """Run ``compass ARGS`` in-process, as the configured person."""
    return CliRunner().invoke(main, list(args), env=env, input=input, catch_exceptions=False)


def process_env(env: dict[str, str | None], **extra: str | None) -> dict[str, str]:
    merged = {**os.environ, **env, **extra}
    return {key: value for key, value in merged.items() if value is not None}


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def stored(env: dict[str, str | None]) -> list[Assessment]:
    """Every assessment in the person's database (migrating an untouched file first)."""
    url = env["DATABASE_URL"]
    assert url
    database = open_database(url)
    try:
        with database.sessions() as session:
            return list(session.scalars(sql_select(Assessment).order_by(Assessment.id)))
    finally:
        database.dispose()


def stored_answers(env: dict[str, str | None], assessment_id: int) -> dict[str, int | None]:
    url = env["DATABASE_URL"]
    assert url
    database = open_database(url)
    try:
        with database.sessions() as session:
            rows = session.execute(
                sql_select(Answer.question_id, Answer.level).where(Answer.assessment_id == assessment_id)
            ).all()
            count = session.scalar(sql_select(func.count()).select_from(Answer))
    finally:
        database.dispose()
    assert count == len(rows)
    return dict(rows)


def uniform(doc: Doc, level: int) -> dict[str, int]:
    return {q["id"]: level for q in doc["questions"]}


def mixed(doc: Doc, seed: int) -> dict[str, int | str]:
    rng = random.Random(seed)
    return {q["id"]: rng.choice([1, 2, 3, 4, "na"] if q.get("allow_na") else [1, 2, 3, 4]) for q in doc["questions"]}


def expected_scores(doc: Doc, answers: dict[str, Any]) -> tuple[dict[str, Fraction | None], Fraction | None]:
    """Per-dimension weighted means and the overall mean, straight from the document's weights."""
    levels = {qid: (None if value == "na" else value) for qid, value in answers.items()}
    dims: dict[str, Fraction | None] = {}
    for dim in doc["dimensions"]:
        pairs = [
            (Fraction(str(q["weight"])), levels[q["id"]])
            for q in doc["questions"]
            if q["dimension"] == dim["id"] and levels[q["id"]] is not None
        ]
        dims[dim["id"]] = sum(w * lv for w, lv in pairs) / sum(w for w, _ in pairs) if pairs else None
    weights = {d["id"]: Fraction(str(d.get("weight", 1))) for d in doc["dimensions"]}
    scored = [(weights[d], s) for d, s in dims.items() if s is not None]
    overall = sum(w * s for w, s in scored) / sum(w for w, _ in scored) if scored else None
    return dims, overall


def band(score: Fraction) -> int:
    return 1 if score < Fraction(3, 2) else 2 if score < Fraction(5, 2) else 3 if score < Fraction(7, 2) else 4


def _own_terminal() -> None:
    """In the child: take the pty as controlling terminal, and let Ctrl-C interrupt even when
    the test run itself was started with SIGINT ignored (in the background of a script)."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Terminal:
    """``compass`` on a pseudo-terminal of its own (its controlling terminal, so Ctrl-C is SIGINT)."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 120, 0, 0))
        self.master = master
        self.output = b""
        self._mark = 0  # where the next expectation starts looking
        self.process = subprocess.Popen(
            [str(COMPASS), *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
            preexec_fn=_own_terminal,
        )
        os.close(slave)

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: the other side is closed
            return False
        self.output += chunk
        return bool(chunk)

    def expect(self, text: str, timeout: float = 20) -> None:
        """Wait until ``text`` has appeared in the output since the last expectation."""
        deadline = time.monotonic() + timeout
        needle = text.encode()
        while needle not in self.output[self._mark :]:
            if time.monotonic() > deadline or not self._read(0.1) and self.process.poll() is not None:
                raise AssertionError(f"{text!r} not seen; output so far:\n{self.text}")
        self._mark = self.output.index(needle, self._mark) + len(needle)

    def send(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def interrupt(self, then_expect: str) -> None:
        """Press Ctrl-C at the prompt and wait for ``then_expect``.

        CPython's input() misses a SIGINT that lands after the prompt is written but
        before the read starts (the key is gone, the read blocks), so wait until the
        process sleeps in its read, and press again, as a person would, if needed.
        """
        for _ in range(3):
            self._wait_until_sleeping()
            self.send("\x03")
            try:
                self.expect(then_expect, timeout=3)
                return
            except AssertionError:
                continue
        raise AssertionError(f"{then_expect!r} not seen after Ctrl-C; output:\n{self.text}")

    def _wait_until_sleeping(self, timeout: float = 5) -> None:
        stat = Path(f"/proc/{self.process.pid}/stat")
        deadline = time.monotonic() + timeout
        while stat.exists() and time.monotonic() < deadline:
            if stat.read_text().rsplit(")", 1)[1].split()[0] == "S":
                return
            time.sleep(0.02)

    def finish(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while self._read(0.1) or self.process.poll() is None:
            if time.monotonic() > deadline:
                self.process.kill()
                raise AssertionError(f"compass did not exit; output:\n{self.text}")
        os.close(self.master)
        return self.process.wait(timeout=5)

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", "replace")


def broken(mutate: Callable[[Doc], None]) -> Doc:
    doc = copy.deepcopy(SMALL)
    mutate(doc)
    return doc


# --- compass --help -------------------------------------------------------------------------

# What the subcommands need and the listing must not load (docs/benchmarks.md: start-up time).
HEAVY = ("sqlalchemy", "alembic", "slack_bolt", "slack_sdk", "rich", "pydantic", "apscheduler", "gunicorn", "bot.db")


@pytest.mark.parametrize("args", [["--help"], ["questions", "--help"]])
def test_help_lists_the_commands_without_importing_what_the_commands_need(args):
    code = (
        "import sys\n"
        "from bot.cli.main import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted(m for m in sys.modules if m.startswith({HEAVY!r})))\n"
    )

    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)

    assert run.returncode == 0, run.stderr
    *listing, loaded = run.stdout.splitlines()
    assert loaded == "[]"
    listed = {line.split()[0] for line in listing[listing.index("Commands:") + 1 :]}
    assert listed == (set(LAZY_COMMANDS) if args == ["--help"] else {"check", "template", "packs", "set", "show"})


def test_the_help_listing_says_what_each_command_says_of_itself():
    ctx = click.Context(main)
    for name, lazy in LAZY_COMMANDS.items():
        command = main.get_command(ctx, name)
        assert command is not None, name
        for limit in (45, 1000):
            stand_in = click.Command(name, help=lazy.summary)
            assert stand_in.get_short_help_str(limit) == command.get_short_help_str(limit), name


def test_help_shows_the_same_listing_as_the_imported_commands_would(env):
    imported = click.Group(
        "compass", commands={name: main.get_command(click.Context(main), name) for name in LAZY_COMMANDS}
    )

    ours = compass(env, "--help").stdout
    theirs = CliRunner().invoke(imported, ["--help"], env=env).stdout

    assert ours.split("Commands:")[1] == theirs.split("Commands:")[1]


# --- compass questions check ----------------------------------------------------------------


def test_the_console_script_checks_the_shipped_bank_and_fails_a_broken_one(tmp_path):
    bad = write_json(tmp_path / "bad.json", broken(lambda d: d["questions"][0].update(weight=0)))
    environment = {k: v for k, v in os.environ.items() if k != "COMPASS_QUESTIONS"}

    good = subprocess.run([str(COMPASS), "questions", "check"], env=environment, capture_output=True, text=True)
    bad_run = subprocess.run(
        [sys.executable, "-m", "bot", "questions", "check", str(bad)], env=environment, capture_output=True, text=True
    )

    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith("OK: ")
    assert bad_run.returncode != 0
    assert "$.questions[0].weight: must be a whole number from 1 to 3, got 0" in bad_run.stderr


def test_compass_questions_reads_the_bank_named_by_compass_questions(env):
    result = compass({**env, "COMPASS_QUESTIONS": str(SMALL_BANK)}, "questions", "check")

    assert result.exit_code == 0
    assert f"{len(SMALL['questions'])} questions in {len(SMALL['dimensions'])} dimensions" in result.stdout


def _drop_options(doc: Doc) -> None:
    del doc["questions"][1]["options"]


def _three_options(doc: Doc) -> None:
    doc["questions"][2]["options"].pop()


def _duplicate_dimension(doc: Doc) -> None:
    doc["dimensions"].append(copy.deepcopy(doc["dimensions"][0]))


def _swap_levels(doc: Doc) -> None:
    options = doc["questions"][0]["options"]
    options[0]["level"], options[1]["level"] = options[1]["level"], options[0]["level"]


BROKEN_BANKS = {
    "options missing": (_drop_options, "$.questions[1].options", "found 0"),
    "three options": (_three_options, "$.questions[2].options", "needs exactly 4 options"),
    "zero weight": (lambda d: d["questions"][3].update(weight=0), "$.questions[3].weight", "from 1 to 3, got 0"),
    "negative weight": (lambda d: d["questions"][4].update(weight=-2), "$.questions[4].weight", "got -2"),
    "weight above three": (lambda d: d["questions"][0].update(weight=5), "$.questions[0].weight", "got 5"),
    "fractional weight": (lambda d: d["questions"][1].update(weight=2.5), "$.questions[1].weight", "got 2.5"),
    "duplicate question id": (
        lambda d: d["questions"][1].update(id=d["questions"][0]["id"]),
        "$.questions[1].id",
        "duplicate question id",
    ),
    "duplicate dimension id": (_duplicate_dimension, "$.dimensions[2].id", "duplicate dimension id"),
    "unknown dimension": (
        lambda d: d["questions"][2].update(dimension="security"),
        "$.questions[2].dimension",
        "unknown dimension 'security'",
    ),
    "levels not ascending": (_swap_levels, "$.questions[0].options", "levels must ascend"),
    "missing recommendation": (
        lambda d: d["dimensions"][1]["recommendations"].pop("2"),
        "$.dimensions[1].recommendations",
        "missing text for level 2",
    ),
    "missing next step": (
        lambda d: d["questions"][3]["next_steps"].pop("4"),
        "$.questions[3].next_steps",
        "missing text for level 4",
    ),
}


@pytest.mark.parametrize("mistake", sorted(BROKEN_BANKS))
def test_questions_check_names_each_mistake_with_its_path(env, tmp_path, mistake):
    mutate, path, message = BROKEN_BANKS[mistake]
    bank = write_json(tmp_path / "bank.json", broken(mutate))

    result = compass(env, "questions", "check", str(bank))

    assert result.exit_code != 0
    assert f"{path}: " in result.stderr
    line = next(line for line in result.stderr.splitlines() if f"{path}: " in line)
    assert message in line
    assert "1 problem(s)" in result.stderr


def test_questions_check_reports_invalid_json(env, tmp_path):
    bank = tmp_path / "bank.json"
    bank.write_text(json.dumps(SMALL)[:-20], encoding="utf-8")

    result = compass(env, "questions", "check", str(bank))

    assert result.exit_code != 0
    assert "$: not valid JSON" in result.stderr


def test_questions_check_reports_a_missing_file(env, tmp_path):
    result = compass(env, "questions", "check", str(tmp_path / "nowhere.json"))

    assert result.exit_code != 0
    assert "cannot read file" in result.stderr


def test_questions_check_reports_every_problem_in_one_run(env, tmp_path):
    def several(doc: Doc) -> None:
        for mutate, _, _ in BROKEN_BANKS.values():
            mutate(doc)

    bank = write_json(tmp_path / "bank.json", broken(several))

    result = compass(env, "questions", "check", str(bank))

    assert result.exit_code != 0
    for _, path, message in BROKEN_BANKS.values():
        assert any(f"{path}: " in line and message in line for line in result.stderr.splitlines()), path


def test_assess_refuses_an_invalid_bank_with_the_same_located_message(env, tmp_path):
    bank = write_json(tmp_path / "bank.json", broken(_swap_levels))
    answers = write_json(tmp_path / "answers.json", uniform(SMALL, 2))

    checked = compass(env, "questions", "check", str(bank))
    assessed = compass({**env, "COMPASS_QUESTIONS": str(bank)}, "assess", "--answers", str(answers), "--user", USER)

    assert assessed.exit_code != 0
    assert "$.questions[0].options: levels must ascend" in assessed.stderr
    assert assessed.stderr == checked.stderr
    assert stored(env) == []


def test_assess_refuses_a_bank_path_that_does_not_exist(env, tmp_path):
    result = compass({**env, "COMPASS_QUESTIONS": str(tmp_path / "gone.json")}, "assess", "--user", USER)

    assert result.exit_code != 0
    assert "COMPASS_QUESTIONS: no such file" in result.stderr


# --- scripted assessments -------------------------------------------------------------------


@pytest.mark.parametrize("level", [1, 4])
def test_uniform_scripted_answers_give_that_level_overall_and_everywhere(env, tmp_path, level):
    answers = write_json(tmp_path / "answers.json", uniform(SHIPPED, level))

    result = compass(env, "assess", "--answers", str(answers), "--json", "--user", USER)

    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["overall"] == level
    assert report["level"] == level
    assert [d["level"] for d in report["dimensions"]] == [level] * len(SHIPPED["dimensions"])
    assert report["answered"] == report["total"] == len(SHIPPED["questions"])


@pytest.mark.parametrize("level", [1, 4])
def test_uniform_scripted_answers_print_the_level_in_the_report(env, tmp_path, level):
    names = {1: "L1 Ad-hoc/Manual", 4: "L4 Optimized/Autonomous"}
    answers = write_json(tmp_path / "answers.json", uniform(SHIPPED, level))

    result = compass(env, "assess", "--answers", str(answers), "--user", USER)

    assert result.exit_code == 0, result.stderr
    assert f"Overall: {names[level]}" in result.stdout
    for dim in SHIPPED["dimensions"]:
        assert dim["name"].split()[0] in result.stdout
    assert "Top recommendation" in result.stdout


@pytest.mark.parametrize("seed", [3, 11, 27])
def test_mixed_scripted_answers_give_the_weighted_levels(env, tmp_path, seed):
    answers = mixed(SHIPPED, seed)
    dims, overall = expected_scores(SHIPPED, answers)
    assert overall is not None
    assert len({band(s) for s in dims.values() if s is not None}) > 1  # a mix worth checking
    path = write_json(tmp_path / "answers.json", answers)

    result = compass(env, "assess", "--answers", str(path), "--json", "--user", USER)

    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["overall"] == pytest.approx(float(overall), abs=1e-4)
    assert report["level"] == band(overall)
    for dim in report["dimensions"]:
        expected = dims[dim["id"]]
        assert expected is not None
        assert dim["score"] == pytest.approx(float(expected), abs=1e-4)
        assert dim["level"] == band(expected)
    assert report["not_applicable"] == sum(v == "na" for v in answers.values())
    assert report["answered"] == len(answers) - report["not_applicable"]


def test_scripted_answers_are_stored(env, tmp_path):
    answers = mixed(SHIPPED, 5)
    path = write_json(tmp_path / "answers.json", {"answers": answers})

    result = compass(env, "assess", "--answers", str(path), "--json", "--user", USER)

    assert result.exit_code == 0, result.stderr
    assessment_id = json.loads(result.stdout)["assessment_id"]
    (row,) = stored(env)
    assert (row.id, row.status) == (assessment_id, Status.COMPLETE.value)
    assert stored_answers(env, row.id) == {qid: (None if v == "na" else v) for qid, v in answers.items()}


def test_answers_can_come_from_stdin(env):
    answers = uniform(SMALL, 3)

    result = compass(
        {**env, "COMPASS_QUESTIONS": str(SMALL_BANK)},
        "assess",
        "--answers",
        "-",
        "--json",
        "--user",
        USER,
        input=json.dumps(answers),
    )

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["level"] == 3


def test_the_report_is_plain_text_with_no_color(env, tmp_path):
    answers = write_json(tmp_path / "answers.json", mixed(SHIPPED, 3))

    result = compass({**env, "NO_COLOR": "1"}, "assess", "--answers", str(answers), "--user", USER)

    assert result.exit_code == 0
    assert "Overall: L" in result.stdout
    assert ESC not in result.output


def test_the_report_is_plain_text_when_piped(env, tmp_path):
    answers = write_json(tmp_path / "answers.json", uniform(SHIPPED, 2))

    run = subprocess.run(
        [str(COMPASS), "assess", "--answers", str(answers), "--user", USER],
        env=process_env(env, TERM="xterm-256color"),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert run.returncode == 0, run.stderr
    assert "Overall: L2 Repeatable/Automated" in run.stdout
    assert ESC not in run.stdout + run.stderr


@pytest.mark.parametrize("no_color", [None, "1"])
def test_the_report_is_colored_on_a_terminal_unless_no_color_is_set(env, tmp_path, no_color):
    answers = write_json(tmp_path / "answers.json", uniform(SHIPPED, 1))
    terminal = Terminal(
        ["assess", "--answers", str(answers), "--user", USER],
        process_env(env, TERM="xterm-256color", NO_COLOR=no_color),
    )

    terminal.expect("Overall:")
    code = terminal.finish()

    assert code == 0, terminal.text
    assert "Ad-hoc/Manual" in terminal.text
    assert (ESC in terminal.text) is (no_color is None)


# --- layout: 80 columns --------------------------------------------------------------------


def _report_at(env: dict[str, str | None], tmp_path: Path, columns: int) -> list[str]:
    """The plain-text report of a second assessment (so every column is filled) at that width."""
    environment = {**env, "NO_COLOR": "1", "COLUMNS": str(columns)}
    for i, answers in enumerate([uniform(SHIPPED, 2), mixed(SHIPPED, 3)]):
        path = write_json(tmp_path / f"answers{i}.json", answers)
        result = compass(environment, "assess", "--answers", str(path), "--user", USER)
        assert result.exit_code == 0, result.stderr
    return result.stdout.splitlines()


def _dimension_line(lines: list[str], name: str, width: int) -> list[str]:
    shown = name if len(name) <= width else name[: width - 1] + "…"
    return [line for line in lines if line.startswith(shown + " ")]


@pytest.mark.parametrize("columns", [80, 120])
def test_the_report_is_laid_out_for_80_columns(env, tmp_path, columns):
    lines = _report_at(env, tmp_path, columns)

    assert max(cell_len(line) for line in lines) <= 80
    assert any(cell_len(line) > 70 for line in lines)  # laid out for 80, not for less
    for dim in SHIPPED["dimensions"]:
        (row,) = _dimension_line(lines, dim["name"], 28)  # one line each, however long the name
        assert re.search(r" \d\.\d\d [█░]{12} L\d \S+ +(▲ \+|▼ -|= )\d\.\d\d", row), row
    assert any("…" in line for line in lines)  # "Data & Experimentation Management" is cut
    steps = lines[lines.index("Next steps") + 1 :]
    assert len([line for line in steps if line.startswith("  • ")]) == 3
    wrapped = [line for line in steps if not line.startswith("  • ")]
    assert wrapped  # the shipped next steps are longer than a line
    assert all(line.startswith("    ") and line[4] != " " for line in wrapped)


def test_a_narrower_terminal_gets_a_narrower_report(env, tmp_path):
    lines = _report_at(env, tmp_path, 60)

    assert max(cell_len(line) for line in lines) <= 60
    for dim in SHIPPED["dimensions"]:
        assert len(_dimension_line(lines, dim["name"], 14)) == 1


def test_questions_are_laid_out_for_80_columns_with_options_wrapped_under_their_text(env):
    result = compass({**env, "NO_COLOR": "1", "COLUMNS": "80"}, "assess", "--user", USER, input="2\n")

    lines = result.stdout.splitlines()
    assert max(cell_len(line) for line in lines) <= 80
    options = lines[next(i for i, line in enumerate(lines) if line.startswith("  1. ")) :]
    options = options[: next(i for i, line in enumerate(options) if line.startswith("Your answer"))]
    starts = [line for line in options if re.match(r"  [1-4n]\. ", line)]
    assert len(starts) == 4
    wrapped = [line for line in options if line not in starts]
    assert wrapped  # the shipped options are longer than a line
    assert all(line.startswith("     ") and line[5] != " " for line in wrapped)


# --- malformed answers files ----------------------------------------------------------------


def _small_answers(**changes: Any) -> dict[str, Any]:
    return {**uniform(SMALL, 2), **changes}


MALFORMED = {
    "unknown question": (_small_answers(**{"data.lineage": 2}), "data.lineage: no such question"),
    "unknown question, bad value": (_small_answers(**{"data.lineage": "high"}), "data.lineage: no such question"),
    "level seven": (_small_answers(**{"ops.rollback": 7}), "ops.rollback: answer must be a level 1-4"),
    "level as text": (_small_answers(**{"ops.rollback": "high"}), 'ops.rollback: answer must be a level 1-4 or "na"'),
    "boolean level": (_small_answers(**{"data.validation": True}), "data.validation: answer must be a level"),
    "N/A not allowed": (_small_answers(**{"data.versioning": "na"}), "data.versioning: 'not applicable' is not"),
    "null not allowed": (_small_answers(**{"ops.monitoring": None}), "ops.monitoring: 'not applicable' is not"),
    "missing answers": (
        {k: v for k, v in uniform(SMALL, 2).items() if k not in ("ops.abtest", "ops.monitoring")},
        "no answer for question(s): ops.abtest, ops.monitoring",
    ),
    "not an object": ([2, 2, 2], "must be a JSON object"),
}


@pytest.mark.parametrize("mistake", sorted(MALFORMED))
def test_a_malformed_answers_file_names_the_question_and_stores_nothing(env, tmp_path, mistake):
    content, message = MALFORMED[mistake]
    path = write_json(tmp_path / "answers.json", content)

    result = compass({**env, "COMPASS_QUESTIONS": str(SMALL_BANK)}, "assess", "--answers", str(path), "--user", USER)

    assert result.exit_code != 0
    assert message in result.stderr
    assert stored(env) == []


def test_an_answers_file_that_is_not_json_is_refused(env, tmp_path):
    path = tmp_path / "answers.json"
    path.write_text('{"data.versioning": 2,\n "data.validation": }', encoding="utf-8")

    result = compass({**env, "COMPASS_QUESTIONS": str(SMALL_BANK)}, "assess", "--answers", str(path), "--user", USER)

    assert result.exit_code != 0
    assert "is not valid JSON" in result.stderr
    assert "line 2" in result.stderr
    assert stored(env) == []


def test_a_missing_answers_file_is_refused(env, tmp_path):
    result = compass(env, "assess", "--answers", str(tmp_path / "none.json"), "--user", USER)

    assert result.exit_code != 0
    assert "cannot read answers file" in result.stderr


def test_all_problems_of_an_answers_file_are_listed(env, tmp_path):
    path = write_json(tmp_path / "answers.json", _small_answers(**{"ops.rollback": 7, "data.versioning": "na"}))

    result = compass({**env, "COMPASS_QUESTIONS": str(SMALL_BANK)}, "assess", "--answers", str(path), "--user", USER)

    assert result.exit_code != 0
    assert "ops.rollback" in result.stderr
    assert "data.versioning" in result.stderr


def test_an_incomplete_file_neither_restarts_nor_loses_an_assessment_in_progress(env, tmp_path):
    small = {**env, "COMPASS_QUESTIONS": str(SMALL_BANK)}
    ids = [q["id"] for q in SMALL["questions"]]
    compass(small, "assess", "--user", USER, input="2\n3\n")  # two answers, then end of input
    partial = write_json(tmp_path / "partial.json", {ids[3]: 1})

    resumed = compass(small, "assess", "--answers", str(partial), "--user", USER)
    restarted = compass(small, "assess", "--answers", str(partial), "--restart", "--user", USER)

    assert resumed.exit_code != 0
    assert f"no answer for question(s): {ids[2]}, {ids[4]}" in resumed.stderr
    assert "progress kept: question 3 of 5" in resumed.stderr
    assert restarted.exit_code != 0
    assert f"no answer for question(s): {ids[0]}, {ids[1]}, {ids[2]}, {ids[4]}" in restarted.stderr
    (row,) = stored(env)
    assert (row.status, row.position) == (Status.ASKING.value, 2)
    assert stored_answers(env, row.id) == {ids[0]: 2, ids[1]: 3}


def test_a_scripted_run_completes_an_assessment_in_progress(env, tmp_path):
    small = {**env, "COMPASS_QUESTIONS": str(SMALL_BANK)}
    ids = [q["id"] for q in SMALL["questions"]]
    compass(small, "assess", "--user", USER, input="1\n")
    rest = write_json(tmp_path / "rest.json", {qid: 4 for qid in ids[1:]})

    result = compass(small, "assess", "--answers", str(rest), "--json", "--user", USER)

    assert result.exit_code == 0, result.stderr
    (row,) = stored(env)
    assert row.status == Status.COMPLETE.value
    assert stored_answers(env, row.id) == {ids[0]: 1, **{qid: 4 for qid in ids[1:]}}
    dims, overall = expected_scores(SMALL, {ids[0]: 1, **{qid: 4 for qid in ids[1:]}})
    assert json.loads(result.stdout)["overall"] == pytest.approx(float(overall), abs=1e-4)


# --- partial answers files and the template -------------------------------------------------


def test_the_template_names_every_question_and_filled_in_is_an_answers_file(env, tmp_path):
    template = compass(env, "questions", "template")
    doc = json.loads(template.stdout)
    allowing_na = {q["id"] for q in SHIPPED["questions"] if q.get("allow_na")}
    filled = {**doc, "answers": {qid: ("na" if qid in allowing_na else 2) for qid in doc["answers"]}}
    path = write_json(tmp_path / "answers.json", filled)

    result = compass(env, "assess", "--answers", str(path), "--json", "--user", USER)

    assert template.exit_code == 0
    assert list(doc["answers"]) == [q["id"] for q in SHIPPED["questions"]]
    assert set(doc["answers"].values()) == {"?"}
    assert list(doc["questions"]) == list(doc["answers"])
    first = SHIPPED["questions"][0]
    assert doc["questions"][first["id"]].startswith(first["title"])
    assert all(('"na"' in text) is (qid in allowing_na) for qid, text in doc["questions"].items())
    assert doc["bank_version"] == SHIPPED["version"]
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["not_applicable"] == len(allowing_na)
    assert report["answered"] == len(SHIPPED["questions"]) - len(allowing_na)


def test_the_template_reads_the_bank_it_is_given(env):
    result = compass(env, "questions", "template", str(SMALL_BANK))

    assert result.exit_code == 0
    assert list(json.loads(result.stdout)["answers"]) == [q["id"] for q in SMALL["questions"]]


def test_an_unfilled_template_without_a_terminal_names_every_question_and_stores_nothing(env, tmp_path):
    small = {**env, "COMPASS_QUESTIONS": str(SMALL_BANK)}
    path = tmp_path / "answers.json"
    path.write_text(compass(small, "questions", "template").stdout, encoding="utf-8")

    result = compass(small, "assess", "--answers", str(path), "--user", USER)

    assert result.exit_code != 0
    ids = ", ".join(q["id"] for q in SMALL["questions"])
    assert f"answers file has no answer for question(s): {ids}" in result.stderr
    assert "compass questions template" in result.stderr
    assert stored(env) == []


def test_a_question_mark_for_an_unknown_question_is_still_refused(env, tmp_path):
    path = write_json(tmp_path / "answers.json", {**uniform(SMALL, 2), "data.lineage": "?"})

    result = compass({**env, "COMPASS_QUESTIONS": str(SMALL_BANK)}, "assess", "--answers", str(path), "--user", USER)

    assert result.exit_code != 0
    assert "data.lineage: no such question" in result.stderr


def test_a_partial_file_on_stdin_cannot_be_completed_by_asking(env):
    ids = [q["id"] for q in SMALL["questions"]]
    partial = json.dumps({qid: 3 for qid in ids[:3]})

    result = compass(
        {**env, "COMPASS_QUESTIONS": str(SMALL_BANK)}, "assess", "--answers", "-", "--user", USER, input=partial
    )

    assert result.exit_code != 0
    assert f"no answer for question(s): {ids[3]}, {ids[4]}" in result.stderr
    assert stored(env) == []


def test_no_input_needs_an_answers_file(env):
    result = CliRunner().invoke(main, ["assess", "--no-input", "--user", USER], env=env)

    assert result.exit_code == 2
    assert "--no-input needs --answers FILE" in result.stderr
    assert stored(env) == []


def test_on_a_terminal_a_partial_file_answers_what_it_names_and_the_rest_is_asked(env, tmp_path):
    environment = process_env(env, COMPASS_QUESTIONS=str(SMALL_BANK), TERM="xterm-256color")
    ids = [q["id"] for q in SMALL["questions"]]
    titles = [q["title"] for q in SMALL["questions"]]
    path = write_json(tmp_path / "partial.json", {ids[0]: 2, ids[1]: "?", ids[2]: 3, ids[3]: 1})

    terminal = Terminal(["assess", "--answers", str(path), "--user", USER], environment)
    terminal.expect("leaves 2 question(s) out: they are asked here")
    terminal.expect(titles[1])
    terminal.expect("Your answer")
    terminal.send("4\r")
    terminal.expect(titles[4])
    terminal.expect("Your answer")
    terminal.send("b\r")  # back to a question the file answered: now it is asked
    terminal.expect(titles[3])
    terminal.expect("Your answer")
    terminal.send("2\r")
    terminal.expect(titles[4])
    terminal.expect("Your answer")
    terminal.send("3\r")
    terminal.expect("Overall:")
    code = terminal.finish()

    assert code == 0, terminal.text
    asked = terminal.text.split("Overall:")[0]
    assert titles[0] not in asked and titles[2] not in asked
    (row,) = stored(env)
    assert row.status == Status.COMPLETE.value
    assert stored_answers(env, row.id) == {ids[0]: 2, ids[1]: 4, ids[2]: 3, ids[3]: 2, ids[4]: 3}


def test_on_a_terminal_no_input_names_the_missing_questions_instead_of_asking(env, tmp_path):
    environment = process_env(env, COMPASS_QUESTIONS=str(SMALL_BANK), TERM="xterm-256color")
    ids = [q["id"] for q in SMALL["questions"]]
    path = write_json(tmp_path / "partial.json", {ids[0]: 2, ids[2]: 3})

    terminal = Terminal(["assess", "--answers", str(path), "--no-input", "--user", USER], environment)
    terminal.expect(f"no answer for question(s): {ids[1]}, {ids[3]}, {ids[4]}")
    code = terminal.finish()

    assert code == 1, terminal.text
    assert "Your answer" not in terminal.text
    assert stored(env) == []


# --- interactive assessments ----------------------------------------------------------------


def test_interactive_run_asks_again_after_a_wrong_key_and_supports_back_and_not_applicable(env):
    small = {**env, "COMPASS_QUESTIONS": str(SMALL_BANK)}
    ids = [q["id"] for q in SMALL["questions"]]
    na_id = next(q["id"] for q in SMALL["questions"] if q["allow_na"])
    assert ids.index(na_id) == 3
    keys = [
        "x",  # not an answer: asked again
        "2",  # q1
        "n",  # q2 does not allow N/A: asked again
        "[/]",  # typed text that looks like markup: asked again
        "3",  # q2
        "b",  # back to q2
        "4",  # q2 again, overwriting 3
        "1",  # q3
        "n",  # q4: not applicable
        "4",  # q5
    ]

    result = compass(small, "assess", "--user", USER, input="\n".join(keys) + "\n")

    assert result.exit_code == 0, result.output
    assert "x is not an answer here" in result.stdout
    assert "n is not an answer here" in result.stdout
    assert "[/] is not an answer here" in result.stdout
    assert "(your earlier answer)" in result.stdout
    assert f"Question 1 of {len(ids)}" in result.stdout
    (row,) = stored(env)
    expected = {ids[0]: 2, ids[1]: 4, ids[2]: 1, na_id: None, ids[4]: 4}
    assert stored_answers(env, row.id) == expected
    _, overall = expected_scores(SMALL, {k: ("na" if v is None else v) for k, v in expected.items()})
    assert f"({float(overall):.2f} / 4)" in result.stdout
    assert "1 not applicable" in result.stdout


def test_closed_input_keeps_progress_and_the_next_run_offers_to_resume(env):
    small = {**env, "COMPASS_QUESTIONS": str(SMALL_BANK)}
    titles = [q["title"] for q in SMALL["questions"]]

    first = compass(small, "assess", "--user", USER, input="3\n2\n")
    second = compass(small, "assess", "--user", USER, input="r\n1\n1\n4\n")

    assert first.exit_code == 130
    assert "Progress saved" in first.stdout
    assert second.exit_code == 0, second.output
    assert "unfinished assessment at question 3 of 5" in second.stdout
    assert "[R]esume or [s]tart over?" in second.stdout
    after_resume = second.stdout.split("[s]tart over?", 1)[1]
    assert titles[0] not in after_resume.split("Overall:")[0]
    assert titles[2] in after_resume
    (row,) = stored(env)
    assert row.status == Status.COMPLETE.value
    ids = [q["id"] for q in SMALL["questions"]]
    assert stored_answers(env, row.id) == dict(zip(ids, [3, 2, 1, 1, 4], strict=True))


def test_starting_over_at_the_resume_prompt_abandons_the_unfinished_assessment(env):
    small = {**env, "COMPASS_QUESTIONS": str(SMALL_BANK)}

    compass(small, "assess", "--user", USER, input="3\n")
    result = compass(small, "assess", "--user", USER, input="maybe\ns\n1\n1\n1\n1\n1\n")

    assert result.exit_code == 0, result.output
    assert "Please type r to resume or s to start over." in result.stdout
    assert [r.status for r in stored(env)] == [Status.ABANDONED.value, Status.COMPLETE.value]


def flat(text: str) -> str:
    """Output with rich's line wrapping undone."""
    return " ".join(text.split())


def test_an_edited_bank_between_two_runs_is_explained_and_the_kept_answers_are_not_asked_again(env, tmp_path):
    bank_file = write_json(tmp_path / "questions.json", SMALL)
    mine = {**env, "COMPASS_QUESTIONS": str(bank_file)}
    ids = [q["id"] for q in SMALL["questions"]]
    titles = [q["title"] for q in SMALL["questions"]]
    first = compass(mine, "assess", "--user", USER, input="3\n2\n4\n")  # Q1-Q3, then end of input
    assert first.exit_code == 130
    edited = copy.deepcopy(SMALL)
    edited["questions"][1]["text"] = "How is input data checked before every training run?"
    edited["questions"][0]["title"] = "Dataset versions"  # a new title keeps the answer
    write_json(bank_file, edited)

    second = compass(mine, "assess", "--user", USER, input="r\n1\nn\n4\n")  # Q2 again, then Q4, Q5

    assert second.exit_code == 0, second.output
    out = flat(second.stdout)
    line = (
        "The questionnaire changed since you started: 1 question you answered has changed; "
        "your 2 other answers were kept."
    )
    assert line in out
    assert out.index(line) < out.index("You have an unfinished assessment at question 2 of 5.")
    after_resume = second.stdout.split("[s]tart over?", 1)[1].split("Overall:")[0]
    assert "before every training run?" in after_resume
    assert titles[2] not in after_resume  # kept: not asked again
    assert "Question 4 of 5" in after_resume and "Question 3 of 5" not in after_resume
    (row,) = stored(env)
    assert row.status == Status.COMPLETE.value
    assert stored_answers(env, row.id) == {ids[0]: 3, ids[1]: 1, ids[2]: 4, ids[3]: None, ids[4]: 4}


def test_when_nothing_survives_an_edit_the_next_run_says_so_and_starts_afresh(env, tmp_path):
    bank_file = write_json(tmp_path / "questions.json", SMALL)
    mine = {**env, "COMPASS_QUESTIONS": str(bank_file)}
    compass(mine, "assess", "--user", USER, input="3\n")
    edited = copy.deepcopy(SMALL)
    edited["questions"][0]["weight"] = 1  # what the answer weighs changed: it no longer applies
    write_json(bank_file, edited)

    second = compass(mine, "assess", "--user", USER, input="1\n1\n1\nn\n1\n")

    assert second.exit_code == 0, second.output
    out = flat(second.stdout)
    assert "none of your answers still apply; starting afresh." in out
    assert "[s]tart over?" not in out and "Question 1 of 5" in out
    assert [r.status for r in stored(env)] == [Status.EXPIRED.value, Status.COMPLETE.value]


def test_a_scripted_run_after_an_edit_needs_answers_only_for_the_questions_left_open(env, tmp_path):
    bank_file = write_json(tmp_path / "questions.json", SMALL)
    mine = {**env, "COMPASS_QUESTIONS": str(bank_file)}
    ids = [q["id"] for q in SMALL["questions"]]
    compass(mine, "assess", "--user", USER, input="3\n2\n4\n")
    edited = copy.deepcopy(SMALL)
    edited["questions"][0]["options"][2]["text"] = "Every training set is versioned."
    write_json(bank_file, edited)
    short = write_json(tmp_path / "short.json", {ids[3]: 2, ids[4]: 2})
    rest = write_json(tmp_path / "rest.json", {ids[0]: 1, ids[3]: 2, ids[4]: 2})

    refused = compass(mine, "assess", "--answers", str(short), "--json", "--user", USER)
    done = compass(mine, "assess", "--answers", str(rest), "--json", "--user", USER)

    assert refused.exit_code != 0 and f"no answer for question(s): {ids[0]}\n" in refused.stderr
    assert done.exit_code == 0, done.stderr
    assert "1 question you answered has changed; your 2 other answers were kept." in flat(done.stderr)
    (row,) = stored(env)
    assert row.status == Status.COMPLETE.value
    assert stored_answers(env, row.id) == {ids[0]: 1, ids[1]: 2, ids[2]: 4, ids[3]: 2, ids[4]: 2}


def test_ctrl_c_on_a_terminal_keeps_progress_and_the_next_run_resumes_there(env):
    environment = process_env(env, COMPASS_QUESTIONS=str(SMALL_BANK), TERM="xterm-256color")
    titles = [q["title"] for q in SMALL["questions"]]

    first = Terminal(["assess", "--user", USER], environment)
    first.expect(titles[0])
    first.expect("Your answer")
    first.send("x\r")
    first.expect("not an answer here")
    first.expect("Your answer")
    first.send("2\r")
    first.expect(titles[1])
    first.expect("Your answer")
    first.send("3\r")
    first.expect(titles[2])
    first.expect("Your answer")
    first.interrupt(then_expect="Progress saved")
    assert first.finish() == 130

    (row,) = stored(env)
    assert (row.status, row.position) == (Status.ASKING.value, 2)

    second = Terminal(["assess", "--user", USER], environment)
    second.expect("unfinished assessment at question 3 of 5")
    second.expect("[s]tart over?")
    second.send("r\r")
    second.expect(titles[2])
    for _ in range(3):
        second.expect("Your answer")
        second.send("4\r")
    second.expect("Overall:")
    assert second.finish() == 0, second.text

    (row,) = stored(env)
    assert row.status == Status.COMPLETE.value
    ids = [q["id"] for q in SMALL["questions"]]
    assert stored_answers(env, row.id) == {ids[0]: 2, ids[1]: 3, ids[2]: 4, ids[3]: 4, ids[4]: 4}


# --- history --------------------------------------------------------------------------------


def test_history_lists_results_with_the_change_since_the_previous(env, tmp_path):
    runs = [uniform(SHIPPED, 1), mixed(SHIPPED, 3)]
    overall = []
    for i, answers in enumerate(runs):
        path = write_json(tmp_path / f"answers{i}.json", answers)
        assert compass(env, "assess", "--answers", str(path), "--user", USER).exit_code == 0
        overall.append(expected_scores(SHIPPED, answers)[1])
    change = float(overall[1] - overall[0])

    table = compass(env, "history", "--user", USER)
    as_json = compass(env, "history", "--json", "--user", USER)

    assert table.exit_code == 0
    assert f"{float(overall[1]):.2f}" in table.stdout
    assert f"▲ +{change:.2f}" in table.stdout
    assert SHIPPED["version"] in table.stdout
    entries = json.loads(as_json.stdout)
    assert [e["overall"] for e in entries] == pytest.approx([float(overall[1]), float(overall[0])], abs=1e-4)
    assert entries[0]["change"] == pytest.approx(change, abs=1e-4)
    assert entries[1]["change"] is None


HEAD = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a brand-new database, never migrated, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'release.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    url = create_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(url)


def test_db_upgrade_creates_the_schema_of_an_empty_database(env, empty_url):
    result = compass({**env, "DATABASE_URL": empty_url}, "db", "upgrade")

    assert result.exit_code == 0, result.output
    assert result.stdout == f"Upgraded the database from an empty database to {HEAD}.\n"
    engine = make_engine(empty_url)
    try:
        # The app's tables and those of the OAuth installation and state stores (revision 0013).
        from bot.run.installations import store_metadata

        expected = set(Base.metadata.tables) | set(store_metadata().tables) | {"alembic_version"}
        assert set(inspect(engine).get_table_names()) == expected
    finally:
        engine.dispose()


def test_db_upgrade_says_from_which_revision_it_upgraded_and_when_there_was_nothing_to_do(env, empty_url):
    engine = make_engine(empty_url)
    try:
        migrate.upgrade(engine, "0003")
    finally:
        engine.dispose()
    assert HEAD != "0003"

    upgraded = compass({**env, "DATABASE_URL": empty_url}, "db", "upgrade")
    again = compass({**env, "DATABASE_URL": empty_url}, "db", "upgrade")

    assert upgraded.exit_code == 0, upgraded.output
    assert upgraded.stdout == f"Upgraded the database from 0003 to {HEAD}.\n"
    assert again.exit_code == 0, again.output
    assert again.stdout == f"The database is already at the newest schema ({HEAD}).\n"


def test_history_without_results_says_so(env):
    result = compass(env, "history", "--user", USER)

    assert result.exit_code == 0
    assert "No completed assessments yet" in result.stdout


def test_history_reads_stored_reports_even_when_the_question_bank_is_broken(env, tmp_path):
    """Past results carry their own texts: a bank edited into an invalid state does not hide them."""
    path = write_json(tmp_path / "answers.json", uniform(SHIPPED, 2))
    assert compass(env, "assess", "--answers", str(path), "--user", USER).exit_code == 0
    broken = write_json(tmp_path / "broken.json", {"version": "x", "dimensions": []})

    result = compass({**env, "COMPASS_QUESTIONS": str(broken)}, "history", "--json", "--user", USER)

    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 1


def test_history_is_per_person(env, tmp_path):
    path = write_json(tmp_path / "answers.json", uniform(SHIPPED, 2))
    compass(env, "assess", "--answers", str(path), "--user", USER)

    mine = json.loads(compass(env, "history", "--json", "--user", USER).stdout)
    theirs = json.loads(compass(env, "history", "--json", "--user", "grace").stdout)

    assert len(mine) == 1
    assert theirs == []
