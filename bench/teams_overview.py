"""Benchmark: `/compass teams` for 200 digest channels of 50 members each (issue 11).

Seeds one workspace with bulk inserts (SQLAlchemy core executemany into the migrated tables; the
services are bypassed for speed only): 200 digest channels of 50 people, 10,000 people in all, 90 %
with a completed assessment of the shipped bank (its dimension scores; the overview reads no answers),
a fifth of the channels with too few answers to show. Then times the real code,
``bot.app.digests.teams_overview`` (``digests.channel_aggregates`` + ``build_overview``) and the blocks
of every page (``build_teams_message``), in rounds (median and fastest reported), and counts the SQL
statements the overview runs.

    .venv/bin/python bench/teams_overview.py                          # both backends
    .venv/bin/python bench/teams_overview.py --backend sqlite --repeat 5

Exit status 0 when every target is met (a constant statement count, every page within Slack's
block limits, under 1 s per overview), 1 otherwise.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import _databases
from sqlalchemy import event, insert

from bot.app.context import AppContext
from bot.app.digests import teams_overview
from bot.app.outreach import OutreachSettings
from bot.db.models import Assessment, ChannelMember, DigestSubscription, DimensionScore, Respondent
from bot.db.people import workspace_id
from bot.db.setup import Database, open_database
from bot.domain.flow import Status
from bot.domain.levels import level_for
from bot.domain.questionnaire import load_questionnaire
from bot.slack.blocks.common import MAX_MESSAGE_BLOCKS, MAX_MESSAGE_CHARS
from bot.slack.blocks.team import build_teams_message, pages

NOW = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
TEAM = "T0BENCH"
SETTINGS = OutreachSettings(min_respondents=5, cadence=timedelta(days=90))
TARGET_SECONDS = 1.0
CHUNK = 5000


def seed(url: str, channels: int, members: int, rng: random.Random) -> tuple[Database, AppContext]:
    bank = load_questionnaire(_databases.ROOT / "questions.json")
    database = open_database(url, auto_migrate=True)
    rows: dict[Any, list[dict[str, Any]]] = {
        DigestSubscription: [],
        Respondent: [],
        ChannelMember: [],
        Assessment: [],
        DimensionScore: [],
    }
    with database.sessions.begin() as session:
        ws_id = workspace_id(session, TEAM, NOW)
        person = 0
        for c in range(channels):
            sub_id = c + 1
            rows[DigestSubscription].append(
                {
                    "id": sub_id,
                    "workspace_id": ws_id,
                    "channel_id": f"C{c:06d}",
                    "cadence": "monthly",
                    "created_by": "U0LEAD",
                    "created_at": NOW - timedelta(days=200, minutes=c),
                }
            )
            answering = 3 if c % 5 == 4 else members * 9 // 10  # every fifth team under the threshold
            for m in range(members):
                person += 1
                user = f"U{person:07d}"
                rows[Respondent].append(
                    {"id": person, "workspace_id": ws_id, "user_id": user, "created_at": NOW, "tz": "UTC"}
                )
                rows[ChannelMember].append({"subscription_id": sub_id, "user_id": user})
                if m >= answering:
                    continue
                at = NOW - timedelta(days=rng.uniform(1, 80))
                scores = {d.id: min(max(rng.gauss(2.4, 0.7), 1.0), 4.0) for d in bank.dimensions}
                overall = sum(scores.values()) / len(scores)
                rows[Assessment].append(
                    {
                        "id": person,
                        "respondent_id": person,
                        "status": Status.COMPLETE.value,
                        "position": len(bank.questions),
                        "version": 1,
                        "bank_version": bank.version,
                        "bank_hash": bank.content_hash,
                        "started_at": at - timedelta(minutes=20),
                        "updated_at": at,
                        "completed_at": at,
                        "overall_score": overall,
                        "overall_level": level_for(overall),
                        "answered_count": len(bank.questions),
                    }
                )
                rows[DimensionScore].extend(
                    {"assessment_id": person, "dimension_id": d, "score": s, "level": level_for(s), "answered": 5}
                    for d, s in scores.items()
                )
        for model, batch in rows.items():
            for first in range(0, len(batch), CHUNK):
                session.execute(insert(model.__table__), batch[first : first + CHUNK])
    return database, AppContext(database.sessions, bank)


def run(backend: str, server: str, channels: int, members: int, repeat: int) -> bool:
    with _databases.scratch_database(backend, server) as url:
        database, ctx = seed(url, channels, members, random.Random(11))
        engine = database.engine
        statements: list[str] = []

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        teams_overview(ctx, TEAM, NOW, SETTINGS)  # warm-up
        overview_times, blocks_times = [], []
        for _ in range(repeat):
            statements.clear()
            event.listen(engine, "before_cursor_execute", count)
            started = time.perf_counter()
            overview = teams_overview(ctx, TEAM, NOW, SETTINGS)
            overview_times.append(time.perf_counter() - started)
            event.remove(engine, "before_cursor_execute", count)
            started = time.perf_counter()
            messages = [build_teams_message(overview, page) for page in range(pages(overview))]
            blocks_times.append(time.perf_counter() - started)
        fits = all(
            len(m.as_kwargs()["blocks"]) <= MAX_MESSAGE_BLOCKS
            and len(str(m.as_kwargs()["blocks"])) <= MAX_MESSAGE_CHARS
            for m in messages
        )
        hidden = sum(1 for r in overview.rows if not r.visible)
        median = statistics.median(overview_times)
        print(
            f"| {backend} | {channels} × {members} | {len(overview.rows)} ({hidden} hidden) | "
            f"{median * 1000:.1f} ms | {min(overview_times) * 1000:.1f} ms | "
            f"{statistics.median(blocks_times) * 1000:.1f} ms | {len(messages)} | {len(statements)} | "
            f"{'yes' if fits else 'NO'} |"
        )
        database.dispose()
        return fits and median < TARGET_SECONDS and len(overview.rows) == channels


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--channels", type=int, default=200)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--postgres-url")
    args = parser.parse_args()
    print(_databases.machine())
    print(
        "| backend | channels × members | teams | overview median | fastest | blocks (all pages) | pages "
        "| SQL statements | within limits |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    server = _databases.postgres_url(args.postgres_url)
    ok = all([run(b, server, args.channels, args.members, args.repeat) for b in backends])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
