"""The one retry policy of the use cases: a lost race for the same row is tried again."""

from __future__ import annotations

import logging

from tenacity import before_sleep_log, retry, retry_if_exception, stop_after_attempt

from bot.db.errors import is_lost_race

log = logging.getLogger(__name__)

ATTEMPTS = 3

# PostgreSQL's row locks and SQLite's IMMEDIATE transactions make a lost race rare; when
# one happens (a version check lost, a unique index taken, a deadlock PostgreSQL broke) the
# whole transaction runs again on fresh state, and the state machine judges the click again.
# No wait between attempts: the winner has already committed or rolled back.
on_lost_race = retry(
    retry=retry_if_exception(is_lost_race),
    stop=stop_after_attempt(ATTEMPTS),
    reraise=True,
    before_sleep=before_sleep_log(log, logging.INFO),
)
