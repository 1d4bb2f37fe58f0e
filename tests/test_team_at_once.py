"""A whole team answering at once against the real processes, with the fake Slack enforcing Slack's
rate tiers (tests/fakeslack.py, ``TIERS``): nobody is left stuck on a question, every answer is stored
once, and no answer spends a call from a Tier 3 budget."""

from __future__ import annotations

import math

from conftest import SHIPPED_BANK
from crowd import Crowd, judge
from fakeslack import TIER_3, TIERS, FakeSlack
from faults import question_ids, stored_answers
from harness import AppProcess, Slack

from bot.db.setup import open_database

PEOPLE = 50
FINISH_WITHIN = 300.0  # seconds for 50 x 26 answers on a loaded 2-core CI machine (about 40 s when quiet)
STUCK = 60.0  # what the issue measured: a DM left on its question for over a minute


def test_fifty_people_answer_the_whole_questionnaire_at_once_within_slacks_budgets(database_url: str) -> None:
    users = [f"U{i:03d}CROWD" for i in range(PEOPLE)]
    ids = question_ids(SHIPPED_BANK)
    with FakeSlack() as fake, AppProcess(fake.api_url, database_url, SHIPPED_BANK) as app:
        # Patient people: a click is repeated only after 10 s without a change, so the repeats stay few.
        crowd = Crowd(fake, Slack(app.url, fake.response_url()), users, patience=10.0).start()
        finished = crowd.finish(FINISH_WITHIN)
        log = app.log()
    database = open_database(database_url, auto_migrate=False)
    try:
        verdict = judge(crowd, stored_answers(database), ids, (math.inf, math.inf), [])
    finally:
        database.dispose()

    assert finished, f"{verdict.unfinished} of {PEOPLE} never got their report\n{log[-3000:]}"
    assert (verdict.lost, verdict.skipped, verdict.duplicates) == (0, 0, 0), verdict
    waits = [b - a for p in crowd.people for (_, a), (_, b) in zip(p.shown, p.shown[1:], strict=False)]
    assert max(waits) < STUCK, f"someone waited {max(waits):.0f} s for their next question"
    answers = PEOPLE * len(ids)
    tier3 = [c for c in fake.calls if TIERS.get(c.method) == TIER_3]
    assert len(tier3) <= 0.05 * answers, f"{len(tier3)} Tier 3 calls for {answers} answers"
    assert fake.block_errors == []
    assert "ratelimited" not in log and "Traceback" not in log
