"""Benchmark: the team digest's aggregation for a workspace of up to 10,000 people (issue 4).

Seeds a workspace with bulk inserts (SQLAlchemy core executemany into the migrated
tables; the services are bypassed for speed only): every person is a member of one
digest channel and most have a completed assessment of the shipped 26-question bank
(realistic random levels, some N/A), some with older assessments too, so "the latest
per person" matters; a few outsiders and deactivated people whose answers must not
count. One scratch database per workspace size. Then times the real code,
``bot.app.digests.team_digest`` (``digests.team_aggregate`` + member count + last digest +
``build_digest``), in rounds that interleave the sizes (so load elsewhere on the machine
hits every size alike; median and fastest reported), counts the SQL statements it runs,
checks its figures against an independent computation in Python, and runs the naive
one-query-per-person approach once at the smallest size for comparison.

    .venv/bin/python bench/digest_aggregation.py                       # both backends, 1k..10k people
    .venv/bin/python bench/digest_aggregation.py --backend sqlite --sizes 1000,10000 --repeat 3

Exit status 0 when every target is met (under 1 s at the largest size, a constant
statement count, figures that match), 1 otherwise.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import _databases
from sqlalchemy import Engine, event, insert, select, text
from sqlalchemy.orm import Session

from bot.app.context import AppContext
from bot.app.digests import team_digest
from bot.app.outreach import OutreachSettings
from bot.db import digests
from bot.db.models import Answer, Assessment, ChannelMember, DimensionScore, Respondent
from bot.db.people import workspace_id
from bot.db.setup import Database, open_database
from bot.domain.digest import DimensionAggregate, QuestionAggregate, Subscription, TeamAggregate, build_digest
from bot.domain.flow import Status
from bot.domain.questionnaire import Questionnaire, load_questionnaire
from bot.domain.schedule import Cadence
from bot.domain.scoring import score_answers

NOW = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
TEAM = "T0BENCH"
CHANNEL = "C0TEAM"
SETTINGS = OutreachSettings(min_respondents=5, cadence=timedelta(days=90))
SINCE = NOW - SETTINGS.cadence
TARGET_SECONDS = 1.0
MAX_EXPONENT = 1.2  # fitted growth exponent still called linear (timing noise, cache effects)
INSERT_CHUNK = 5000
NA_RATE = 0.2  # of the questions that allow N/A


# -- seeding ------------------------------------------------------------------------------


@dataclass
class Latest:
    """A member's newest completed assessment inside the digest window: what must be counted."""

    overall: float | None
    dimensions: dict[str, tuple[float | None, int | None]]
    answers: dict[str, int | None]


@dataclass
class Seeder:
    bank: Questionnaire
    ws_id: int
    sub_id: int
    rng: random.Random
    next_respondent: int = 1
    next_assessment: int = 1
    latest: dict[str, Latest] = field(default_factory=dict)  # user id -> counted assessment
    counts: Counter[str] = field(default_factory=Counter)

    def seed(self, session: Session, start: int, stop: int) -> None:
        """Add people ``start``..``stop - 1`` to the workspace and the channel (and ~2 % outsiders)."""
        rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for i in range(start, stop):
            self._person(rows, f"U{i:06d}", member=True, active=True)
            if i % 50 == 49:  # someone outside the channel, or deactivated: never counted
                self._person(rows, f"X{i:06d}", member=False, active=i % 100 == 99)
        for table, model in (
            ("respondents", Respondent),
            ("channel_members", ChannelMember),
            ("assessments", Assessment),
            ("answers", Answer),
            ("dimension_scores", DimensionScore),
        ):
            batch = rows[table]
            for first in range(0, len(batch), INSERT_CHUNK):
                session.execute(insert(model.__table__), batch[first : first + INSERT_CHUNK])  # type: ignore[arg-type]
            self.counts[table] += len(batch)

    def _person(self, rows: dict[str, list[dict[str, Any]]], user: str, member: bool, active: bool) -> None:
        rid = self.next_respondent
        self.next_respondent += 1
        rows["respondents"].append(
            {
                "id": rid,
                "workspace_id": self.ws_id,
                "user_id": user,
                "created_at": NOW - timedelta(days=400),
                "tz": "UTC",
                "active": active,
                "reminders_paused": False,
                "snoozed_until": None,
            }
        )
        if member:
            rows["channel_members"].append({"subscription_id": self.sub_id, "user_id": user})
        rng = self.rng
        base = min(max(rng.gauss(2.4, 0.6), 1.0), 4.0)  # the person's general maturity
        offsets = {d.id: rng.gauss(0, 0.45) for d in self.bank.dimensions}
        roll = rng.random()
        if roll < 0.05:
            return  # never assessed
        if roll < 0.10:  # only an assessment older than the window
            self._assessment(rows, rid, NOW - timedelta(days=rng.uniform(95, 400)), base, offsets)
            return
        completed = NOW - timedelta(days=rng.uniform(0.5, 88))
        counted = self._assessment(rows, rid, completed, base - 0.1, offsets)
        if member and active:
            self.latest[user] = counted
        if rng.random() < 0.3:  # an earlier one, inside or outside the window: must lose to the latest
            self._assessment(rows, rid, completed - timedelta(days=rng.uniform(1, 150)), base - 0.5, offsets)
        if rng.random() < 0.03:  # started again and unfinished: must not count
            self._assessment(rows, rid, completed + timedelta(hours=1), base + 1, offsets, done=False)

    def _assessment(
        self,
        rows: dict[str, list[dict[str, Any]]],
        rid: int,
        at: datetime,
        base: float,
        offsets: dict[str, float],
        done: bool = True,
    ) -> Latest:
        rng = self.rng
        answers: dict[str, int | None] = {}
        for q in self.bank.questions:
            if q.allow_na and rng.random() < NA_RATE:
                answers[q.id] = None
            else:
                answers[q.id] = min(max(round(base + offsets[q.dimension] + rng.gauss(0, 0.7)), 1), 4)
        if not done:
            answers = dict(list(answers.items())[: rng.randint(1, len(answers) - 1)])
        aid = self.next_assessment
        self.next_assessment += 1
        score = score_answers(self.bank, answers) if done else None
        overall = None if score is None or score.overall is None else float(score.overall)
        rows["assessments"].append(
            {
                "id": aid,
                "respondent_id": rid,
                "status": (Status.COMPLETE if done else Status.ASKING).value,
                "position": len(answers),
                "version": len(answers) + 1,
                "bank_version": self.bank.version,
                "bank_hash": self.bank.content_hash,
                "started_at": at - timedelta(minutes=25),
                "updated_at": at,
                "completed_at": at if done else None,
                "overall_score": overall,
                "overall_level": None if score is None else score.level,
                "answered_count": sum(1 for v in answers.values() if v is not None),
                "report_json": None,
                "channel_id": None,
                "message_ts": None,
            }
        )
        weights = {q.id: float(q.weight) for q in self.bank.questions}
        dims = {q.id: q.dimension for q in self.bank.questions}
        rows["answers"].extend(
            {
                "assessment_id": aid,
                "question_id": qid,
                "dimension_id": dims[qid],
                "level": level,
                "weight": weights[qid],
                "answered_at": at,
            }
            for qid, level in answers.items()
        )
        dimensions: dict[str, tuple[float | None, int | None]] = {}
        if score is not None:
            for d in score.dimensions:
                value = None if d.score is None else float(d.score)
                dimensions[d.dimension_id] = (value, d.level)
                rows["dimension_scores"].append(
                    {
                        "assessment_id": aid,
                        "dimension_id": d.dimension_id,
                        "score": value,
                        "level": d.level,
                        "answered": d.answered,
                    }
                )
        return Latest(overall, dimensions, answers)

    def expected(self) -> TeamAggregate:
        """The aggregate computed independently, in Python, from what was seeded."""
        people = list(self.latest.values())
        overalls = [p.overall for p in people if p.overall is not None]
        dims = []
        for d in self.bank.dimensions:
            scored = [p.dimensions[d.id] for p in people if p.dimensions.get(d.id, (None, None))[0] is not None]
            levels = Counter(level for _, level in scored)
            dims.append(
                DimensionAggregate(
                    d.id,
                    len(scored),
                    statistics.fmean(s for s, _ in scored) if scored else None,  # type: ignore[misc]
                    (levels[1], levels[2], levels[3], levels[4]),
                )
            )
        questions = []
        for q in self.bank.questions:
            given = [p.answers[q.id] for p in people if p.answers.get(q.id) is not None]
            if given:
                questions.append(QuestionAggregate(q.id, len(given), statistics.fmean(given)))  # type: ignore[arg-type]
        return TeamAggregate(
            len(people), statistics.fmean(overalls) if overalls else None, tuple(dims), tuple(questions)
        )


# -- measuring ------------------------------------------------------------------------------


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    """Every statement sent to the database while inside (SQLAlchemy before_cursor_execute)."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def differences(got: TeamAggregate, want: TeamAggregate) -> list[str]:
    """What differs between two aggregates (order of rows ignored, floats to 1e-9)."""

    def close(a: float | None, b: float | None) -> bool:
        return (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b, abs_tol=1e-9))

    problems = []
    if got.respondents != want.respondents:
        problems.append(f"respondents {got.respondents} != {want.respondents}")
    if not close(got.overall_mean, want.overall_mean):
        problems.append(f"overall {got.overall_mean} != {want.overall_mean}")
    got_dims = {d.dimension_id: d for d in got.dimensions}
    for d in want.dimensions:
        g = got_dims.get(d.dimension_id)
        if g is None or g.respondents != d.respondents or g.levels != d.levels or not close(g.mean, d.mean):
            problems.append(f"dimension {d.dimension_id}: {g} != {d}")
    got_qs = {q.question_id: q for q in got.questions}
    for q in want.questions:
        gq = got_qs.get(q.question_id)
        if gq is None or gq.answered != q.answered or not close(gq.mean_level, q.mean_level):
            problems.append(f"question {q.question_id}: {gq} != {q}")
    if len(got_qs) != len(want.questions) or len(got_dims) != len(want.dimensions):
        problems.append("different number of dimension or question rows")
    return problems


def naive_aggregate(session: Session, sub_id: int, ws_id: int) -> TeamAggregate:
    """What the SQL aggregation avoids: fetch each member's assessment one by one, sum in Python."""
    members = session.scalars(select(ChannelMember.user_id).where(ChannelMember.subscription_id == sub_id)).all()
    overalls: list[float] = []
    dim_scores: dict[str, list[tuple[float, int]]] = defaultdict(list)
    q_levels: dict[str, list[int]] = defaultdict(list)
    respondents = 0
    for user in members:
        latest = session.execute(
            select(Assessment.id, Assessment.overall_score)
            .join(Respondent, Respondent.id == Assessment.respondent_id)
            .where(
                Respondent.workspace_id == ws_id,
                Respondent.user_id == user,
                Respondent.active.is_(True),
                Assessment.status == Status.COMPLETE.value,
                Assessment.completed_at >= SINCE,
                Assessment.completed_at <= NOW,
            )
            .order_by(Assessment.completed_at.desc(), Assessment.id.desc())
            .limit(1)
        ).first()
        if latest is None:
            continue
        respondents += 1
        if latest.overall_score is not None:
            overalls.append(latest.overall_score)
        for dim, score, level in session.execute(
            select(DimensionScore.dimension_id, DimensionScore.score, DimensionScore.level).where(
                DimensionScore.assessment_id == latest.id
            )
        ):
            if score is not None:
                dim_scores[dim].append((score, level))
        for qid, level in session.execute(
            select(Answer.question_id, Answer.level).where(Answer.assessment_id == latest.id)
        ):
            if level is not None:
                q_levels[qid].append(level)
    dims = []
    for dim, scored in dim_scores.items():
        levels = Counter(level for _, level in scored)
        dims.append(
            DimensionAggregate(
                dim,
                len(scored),
                statistics.fmean(s for s, _ in scored),
                tuple(levels[n] for n in (1, 2, 3, 4)),  # type: ignore[arg-type]
            )
        )
    return TeamAggregate(
        respondents,
        statistics.fmean(overalls) if overalls else None,
        tuple(dims),
        tuple(QuestionAggregate(q, len(v), statistics.fmean(v)) for q, v in q_levels.items()),
    )


def growth_exponent(points: list[tuple[int, float]]) -> float:
    """The k of t ~ n^k, fitted by least squares on logarithms (1.0 = linear)."""
    if len(points) < 2:
        return 1.0
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


@dataclass
class Subject:
    """One scratch database holding a workspace of ``people``, seeded and checked."""

    people: int
    db: Database
    ws_id: int
    sub_id: int
    seeder: Seeder
    seed_seconds: float
    respondents: int
    problems: list[str]
    aggregate_times: list[float] = field(default_factory=list)
    digest_times: list[float] = field(default_factory=list)
    statements: int = 0


def prepare(url: str, backend: str, bank: Questionnaire, people: int, seed: int) -> Subject:
    db = open_database(url, auto_migrate=True)  # the real migrations, on both backends
    with db.sessions.begin() as session:
        ws_id = workspace_id(session, TEAM, NOW - timedelta(days=400))
        sub_id = digests.save_subscription(
            session, ws_id, CHANNEL, cadence="monthly", created_by="U0LEAD", now=NOW - timedelta(days=200)
        ).id
    seeder = Seeder(bank, ws_id, sub_id, random.Random(seed))  # same seed: the first people are the same
    started = time.perf_counter()
    with db.sessions.begin() as session:
        seeder.seed(session, 0, people)
    if backend == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))  # what autovacuum does after a bulk load
    seeded = time.perf_counter() - started
    with db.sessions.begin() as session:
        got = digests.team_aggregate(session, sub_id, ws_id, SINCE, NOW)
    problems = differences(got, seeder.expected())
    if not build_digest(bank, got, members=people, min_respondents=SETTINGS.min_respondents, period="bench").visible:
        problems.append("digest not visible")
    return Subject(people, db, ws_id, sub_id, seeder, seeded, got.respondents, problems)


def measure(subjects: list[Subject], bank: Questionnaire, repeat: int) -> None:
    """Time every size in interleaved rounds, so a burst of load elsewhere hits all sizes alike."""

    def aggregate_only(s: Subject) -> TeamAggregate:
        with s.db.sessions.begin() as session:
            return digests.team_aggregate(session, s.sub_id, s.ws_id, SINCE, NOW)

    def whole_digest(s: Subject) -> Any:
        sub = Subscription(s.sub_id, CHANNEL, Cadence.MONTHLY.value, "U0LEAD", NOW - timedelta(days=200), None)
        return team_digest(AppContext(s.db.sessions, bank), s.ws_id, sub, NOW, SETTINGS)

    for s in subjects:  # warm-up: connection pool, statement caches, the database's own caches
        aggregate_only(s)
        with counting(s.db.engine) as statements:
            digest = whole_digest(s)
        s.statements = len(statements)
        if not (digest.visible and digest.top is not None):
            s.problems.append("team_digest shows no figures")
    for round_ in range(repeat):
        shift = round_ % len(subjects)
        for s in subjects[shift:] + subjects[:shift]:
            started = time.perf_counter()
            aggregate_only(s)
            s.aggregate_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            whole_digest(s)
            s.digest_times.append(time.perf_counter() - started)


def naive_baseline(s: Subject) -> str:
    with s.db.sessions.begin() as session:
        sql = digests.team_aggregate(session, s.sub_id, s.ws_id, SINCE, NOW)
    with counting(s.db.engine) as statements, s.db.sessions.begin() as session:
        started = time.perf_counter()
        naive = naive_aggregate(session, s.sub_id, s.ws_id)
        seconds = time.perf_counter() - started
    problems = differences(naive, sql)
    agg = statistics.median(s.aggregate_times)
    return (
        f"naive baseline at {s.people:,} people (one query per person, summed in Python): "
        f"{seconds * 1000:,.0f} ms, {len(statements):,} statements; "
        f"SQL aggregation {agg * 1000:,.1f} ms -> {seconds / agg:,.0f}x faster; "
        f"same figures: {'yes' if not problems else 'NO ' + '; '.join(problems[:3])}"
    )


def run_backend(backend: str, server_url: str, sizes: list[int], repeat: int, seed: int) -> bool:
    bank = load_questionnaire(_databases.ROOT / "questions.json")
    with ExitStack() as stack:
        subjects: list[Subject] = []
        load_before = os.getloadavg()[0]
        for people in sizes:  # one database per workspace size
            url = stack.enter_context(_databases.scratch_database(backend, server_url))
            subject = prepare(url, backend, bank, people, seed)
            stack.callback(subject.db.dispose)
            subjects.append(subject)
        print(f"### {backend}: {_databases.server_version(subjects[0].db.engine)}; bank of {len(bank)} questions")
        measure(subjects, bank, repeat)
        naive_line = naive_baseline(subjects[0])
        print(
            "| people (members) | counted respondents | answer rows in DB | seed (s) "
            "| team_aggregate median (ms) | team_digest median (ms) | team_digest min (ms) "
            "| µs/person (median) | SQL statements | figures |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for s in subjects:
            agg, whole, fastest = (
                statistics.median(s.aggregate_times),
                statistics.median(s.digest_times),
                min(s.digest_times),
            )
            print(
                f"| {s.people:,} | {s.respondents:,} | {s.seeder.counts['answers']:,} | {s.seed_seconds:.1f} "
                f"| {agg * 1000:.1f} | {whole * 1000:.1f} | {fastest * 1000:.1f} | {whole / s.people * 1e6:.1f} "
                f"| {s.statements} | {'match' if not s.problems else 'MISMATCH'} |"
            )
        for s in subjects:
            for p in s.problems[:5]:
                print(f"MISMATCH at {s.people}: {p}")
        first, last = subjects[0], subjects[-1]
        first_min, last_min = min(first.digest_times), min(last.digest_times)
        last_median = statistics.median(last.digest_times)
        exponent = growth_exponent([(s.people, min(s.digest_times)) for s in subjects])
        slope = (last_min - first_min) / (last.people - first.people) if len(subjects) > 1 else 0.0
        print()
        print(
            f"growth {first.people:,} -> {last.people:,} people (x{last.people / first.people:.0f}): "
            f"fastest time x{last_min / first_min:.1f}, "
            f"median x{last_median / statistics.median(first.digest_times):.1f}; "
            f"fitted exponent t ~ n^{exponent:.2f} on the fastest times (1.0 = linear); "
            f"marginal cost {slope * 1e6:.1f} µs/person"
        )
        print(naive_line)
        print(f"load average (1 min) before/after: {load_before:.2f} / {os.getloadavg()[0]:.2f}")
        statements_constant = len({s.statements for s in subjects}) == 1
        fast = last_median < TARGET_SECONDS
        correct = not any(s.problems for s in subjects) and "same figures: yes" in naive_line
        linear = exponent <= MAX_EXPONENT
        ok = fast and statements_constant and correct and linear
        print(
            f"{backend}: {'PASS' if ok else 'FAIL'} - {last.people:,} people in {last_median * 1000:.0f} ms median "
            f"(target < {TARGET_SECONDS * 1000:.0f} ms: {'met' if fast else 'MISSED'}); "
            f"statements per digest {'constant' if statements_constant else 'NOT constant'} "
            f"({', '.join(str(s.statements) for s in subjects)}); "
            f"growth {'linear or better' if linear else 'WORSE than linear'} (n^{exponent:.2f}); "
            f"figures {'match' if correct else 'DO NOT match'}\n",
            flush=True,
        )
        return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--sizes", default="1000,2500,5000,10000", help="people in the channel, comma-separated")
    parser.add_argument("--repeat", type=int, default=7, help="timed rounds over all sizes [7]")
    parser.add_argument("--seed", type=int, default=4, help="random seed for the generated answers")
    parser.add_argument(
        "--postgres-url", default=None, help=f"server for the scratch database [{_databases.DEFAULT_POSTGRES_URL}]"
    )
    args = parser.parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    if not sizes or sizes[0] < 10 or args.repeat < 1:
        parser.error("sizes must be >= 10 people and --repeat >= 1")
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    print(f"# digest aggregation - {datetime.now(UTC):%Y-%m-%d %H:%M} UTC - {_databases.machine()}")
    print(f"# sizes {sizes}; median and min of {args.repeat} interleaved timed rounds after a warm-up")
    print(f"# load average (1/5/15 min): {' / '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    verdicts = []
    for backend in backends:
        verdicts.append(run_backend(backend, _databases.postgres_url(args.postgres_url), sizes, args.repeat, args.seed))
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
