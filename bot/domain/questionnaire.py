"""The question bank: typed, immutable, validated with located errors.

Pure module: stdlib only. ``parse_questionnaire`` turns the JSON document into a
``Questionnaire`` or raises ``QuestionnaireError`` listing *every* problem with its
JSON path, so an author fixes a broken bank in one pass.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from pathlib import Path
from typing import Any

from bot.domain.evidence import EvidenceRule, check_rules
from bot.domain.levels import LEVELS
from bot.domain.reading import minutes_to_answer

# Limits chosen so every text fits the Slack surface that shows it (button text 75,
# section text 3000) with room for our own prefixes.
MAX_TITLE = 60
MAX_QUESTION_TEXT = 300
MAX_LABEL = 40
MAX_OPTION_TEXT = 300
MAX_ADVICE = 500
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
MAX_ID = 60
# Weights say how critical a practice (or a dimension) is: 1 minor, 2 important, 3 critical.
MIN_WEIGHT = 1
MAX_WEIGHT = 3


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class QuestionnaireError(ValueError):
    """The bank is invalid; ``problems`` lists each mistake with its JSON path."""

    def __init__(self, problems: list[Problem], source: str = "question bank") -> None:
        self.problems = problems
        self.source = source
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source} is invalid ({len(problems)} problem(s)):\n{lines}")


@dataclass(frozen=True)
class Option:
    level: int
    label: str
    text: str


@dataclass(frozen=True)
class Question:
    id: str
    dimension: str
    title: str
    text: str
    weight: Fraction
    allow_na: bool
    options: tuple[Option, ...]
    next_steps: tuple[str, ...]  # index = level - 1
    # Measured signals that inform the answer (questions.json "evidence"); not part of what an
    # answer means, so not in the question's hash.
    evidence: tuple[EvidenceRule, ...] = ()

    def next_step(self, level: int) -> str:
        return self.next_steps[level - 1]

    def option(self, level: int) -> Option:
        return self.options[level - 1]

    @cached_property
    def content_hash(self) -> str:
        """Hash of what an answer to this question means; see ``question_hash``."""
        return question_hash(self)


@dataclass(frozen=True)
class Dimension:
    id: str
    name: str
    weight: Fraction
    description: str
    recommendations: tuple[str, ...]  # index = level - 1

    def recommendation(self, level: int) -> str:
        return self.recommendations[level - 1]


@dataclass(frozen=True)
class Questionnaire:
    version: str
    content_hash: str
    dimensions: tuple[Dimension, ...]
    questions: tuple[Question, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {q.id: i for i, q in enumerate(self.questions)})
        object.__setattr__(self, "_dims", {d.id: d for d in self.dimensions})

    def __len__(self) -> int:
        return len(self.questions)

    def __iter__(self) -> Iterator[Question]:
        return iter(self.questions)

    def index_of(self, question_id: str) -> int:
        """Position of a question; raises KeyError for an unknown id."""
        return self._by_id[question_id]  # type: ignore[attr-defined,no-any-return]

    def has_question(self, question_id: str) -> bool:
        return question_id in self._by_id  # type: ignore[attr-defined]

    def question(self, question_id: str) -> Question:
        return self.questions[self.index_of(question_id)]

    def dimension(self, dimension_id: str) -> Dimension:
        return self._dims[dimension_id]  # type: ignore[attr-defined,no-any-return]

    def questions_in(self, dimension_id: str) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if q.dimension == dimension_id)

    @property
    def minutes(self) -> int:
        """Estimated minutes to answer every question (bot/domain/reading.py says how)."""
        return minutes_to_answer(self.questions)


def content_hash(data: Any) -> str:
    """Stable hash of the bank's content, independent of key order and whitespace."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def question_hash(question: Question) -> str:
    """Stable hash of what an answer to ``question`` means: its text, its options (level, label and
    text of each), whether "not applicable" is offered, its dimension and its weight.

    An unfinished assessment keeps an answer across an edit of the bank only while this hash is
    unchanged. The title (a heading) and the next steps (advice shown after the answer) are left
    out, so rewording them keeps every answer; so is the id, which is how answers are matched.
    """
    meaning = {
        "text": question.text,
        "options": [[o.level, o.label, o.text] for o in question.options],
        "allow_na": question.allow_na,
        "dimension": question.dimension,
        "weight": str(question.weight),  # 3 and 3.0 are the same weight
    }
    return content_hash(meaning)


def load_questionnaire(path: str | Path) -> Questionnaire:
    """Read and validate a bank file; every failure is a QuestionnaireError."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise QuestionnaireError([Problem("$", f"cannot read file: {exc.strerror or exc}")], source) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise QuestionnaireError(
            [Problem("$", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")], source
        ) from exc
    return parse_questionnaire(data, source=source)


def parse_questionnaire(data: Any, source: str = "question bank") -> Questionnaire:
    """Validate a decoded bank document and build the immutable questionnaire."""
    checker = _Checker()
    result = checker.bank(data)
    if checker.problems or result is None:
        raise QuestionnaireError(checker.problems, source)
    return result


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def text(self, obj: Mapping[str, Any], key: str, path: str, limit: int) -> str:
        value = obj.get(key)
        if not isinstance(value, str) or not value.strip():
            self.add(f"{path}.{key}", "missing or empty text" if value is None else "must be non-empty text")
            return ""
        if len(value) > limit:
            self.add(f"{path}.{key}", f"too long: {len(value)} characters, at most {limit}")
        return value.strip()

    def weight(self, obj: Mapping[str, Any], path: str, default: int | None = None) -> Fraction:
        value = obj.get("weight", default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(f"{path}.weight", "missing or not a number")
            return Fraction(1)
        # A float such as 2.0 is the same weight as 2; 2.5, NaN or 5 are not weights at all.
        whole = isinstance(value, int) or (math.isfinite(value) and value.is_integer())
        if not whole or not MIN_WEIGHT <= value <= MAX_WEIGHT:
            self.add(f"{path}.weight", f"must be a whole number from {MIN_WEIGHT} to {MAX_WEIGHT}, got {value}")
            return Fraction(1)
        return Fraction(int(value))

    def per_level(self, obj: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
        value = obj.get(key)
        if not isinstance(value, dict):
            self.add(f"{path}.{key}", "missing: needs one text per level 1-4")
            return ("",) * len(LEVELS)
        texts = []
        for level in LEVELS:
            if str(level) not in value:
                self.add(f"{path}.{key}", f"missing text for level {level}")
                texts.append("")
            else:
                texts.append(self.text(value, str(level), f"{path}.{key}", MAX_ADVICE))
        extra = sorted(set(value) - {str(level) for level in LEVELS})
        if extra:
            self.add(f"{path}.{key}", f"unknown level key(s) {', '.join(extra)}; use 1-4")
        return tuple(texts)

    def ident(self, obj: Mapping[str, Any], path: str) -> str:
        value = obj.get("id")
        if not isinstance(value, str) or not ID_PATTERN.match(value) or len(value) > MAX_ID:
            self.add(f"{path}.id", f"missing or malformed id {value!r} (lowercase letters, digits, _ and .)")
            return ""
        return value

    def bank(self, data: Any) -> Questionnaire | None:
        if not isinstance(data, dict):
            self.add("$", "the bank must be a JSON object with version, dimensions and questions")
            return None
        version = data.get("version")
        if not isinstance(version, str) or not version.strip():
            self.add("$.version", "missing version (a non-empty string)")
            version = ""
        dimensions = self.dimensions(data.get("dimensions"))
        known = {d.id for d in dimensions}
        questions = self.questions(data.get("questions"), known)
        used = {q.dimension for q in questions}
        for i, dim in enumerate(dimensions):
            if dim.id and dim.id not in used:
                self.add(f"$.dimensions[{i}]", f"dimension {dim.id!r} has no questions")
        return Questionnaire(version, content_hash(data), tuple(dimensions), tuple(questions))

    def dimensions(self, value: Any) -> list[Dimension]:
        if not isinstance(value, list) or not value:
            self.add("$.dimensions", "missing: needs a non-empty list of dimensions")
            return []
        seen: set[str] = set()
        result = []
        for i, item in enumerate(value):
            path = f"$.dimensions[{i}]"
            if not isinstance(item, dict):
                self.add(path, "must be an object")
                continue
            ident = self.ident(item, path)
            if ident and ident in seen:
                self.add(f"{path}.id", f"duplicate dimension id {ident!r}")
            seen.add(ident)
            result.append(
                Dimension(
                    id=ident,
                    name=self.text(item, "name", path, MAX_TITLE),
                    weight=self.weight(item, path, default=1),
                    description=self.text(item, "description", path, MAX_ADVICE),
                    recommendations=self.per_level(item, "recommendations", path),
                )
            )
        return result

    def questions(self, value: Any, known_dimensions: set[str]) -> list[Question]:
        if not isinstance(value, list) or not value:
            self.add("$.questions", "missing: needs a non-empty list of questions")
            return []
        seen: set[str] = set()
        result = []
        for i, item in enumerate(value):
            path = f"$.questions[{i}]"
            if not isinstance(item, dict):
                self.add(path, "must be an object")
                continue
            ident = self.ident(item, path)
            if ident and ident in seen:
                self.add(f"{path}.id", f"duplicate question id {ident!r}")
            seen.add(ident)
            dimension = item.get("dimension")
            if not isinstance(dimension, str) or dimension not in known_dimensions:
                self.add(f"{path}.dimension", f"unknown dimension {dimension!r}")
            allow_na = item.get("allow_na", False)
            if not isinstance(allow_na, bool):
                self.add(f"{path}.allow_na", "must be true or false")
                allow_na = False
            result.append(
                Question(
                    id=ident,
                    dimension=dimension if isinstance(dimension, str) else "",
                    title=self.text(item, "title", path, MAX_TITLE),
                    text=self.text(item, "text", path, MAX_QUESTION_TEXT),
                    weight=self.weight(item, path),
                    allow_na=allow_na,
                    options=self.options(item.get("options"), f"{path}.options"),
                    next_steps=self.per_level(item, "next_steps", path),
                    evidence=self.evidence(item, path),
                )
            )
        return result

    def evidence(self, item: Mapping[str, Any], path: str) -> tuple[EvidenceRule, ...]:
        if "evidence" not in item:
            return ()
        rules, problems = check_rules(item["evidence"], f"{path}.evidence")
        for where, message in problems:
            self.add(where, message)
        return tuple(rules)

    def options(self, value: Any, path: str) -> tuple[Option, ...]:
        if not isinstance(value, list) or len(value) != len(LEVELS):
            count = len(value) if isinstance(value, list) else 0
            self.add(path, f"needs exactly {len(LEVELS)} options (levels 1-4), found {count}")
            return tuple(Option(level, "", "") for level in LEVELS)
        options = []
        for i, item in enumerate(value):
            opath = f"{path}[{i}]"
            if not isinstance(item, dict):
                self.add(opath, "must be an object")
                options.append(Option(i + 1, "", ""))
                continue
            level = item.get("level")
            if isinstance(level, bool) or not isinstance(level, int):
                self.add(f"{opath}.level", "missing or not an integer")
                level = i + 1
            options.append(
                Option(
                    level=level,
                    label=self.text(item, "label", opath, MAX_LABEL),
                    text=self.text(item, "text", opath, MAX_OPTION_TEXT),
                )
            )
        levels = [o.level for o in options]
        if levels != list(LEVELS):
            self.add(path, f"levels must ascend 1, 2, 3, 4 in order, found {levels}")
        return tuple(options)
