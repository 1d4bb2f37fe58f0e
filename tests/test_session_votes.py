"""45 people voting at once in a team session, black box: ``compass serve --http`` (gunicorn and the worker
sidecar, tests/harness.AppProcess) against the fake Slack with Slack's rate tiers and message-bound
response_urls, on SQLite and PostgreSQL (issue 18).

Question 1: everyone votes within about a second, some twice with the same level, some changing their
vote. Every vote is stored once (the last of each person), the live message shows "45 of 45 voted" a
few seconds after the last vote at most, through few message updates and no chat.update over its
budget; the reveal's counts per level are the last votes'. Question 2: half the team votes, then every
process gets SIGKILL while the count's refresh is still queued; after a restart the votes and the live
message are as they were, the other half votes on the same message and one of the first half changes
their vote."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

import voters as v
from conftest import SMALL_BANK
from fakeslack import FakeSlack
from harness import AppProcess, Slack, children_of, text_of

from bot.db.setup import open_database

PEOPLE = 45
SHOWN_WITHIN = 6.0  # seconds from the last vote's ack to the right count (REFRESH_EVERY is 2 s)
ACK_LIMIT = 3.0  # Slack's


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        children = children_of(todo.pop())
        found.extend(children)
        todo.extend(children)
    return found


def alive(pid: int) -> bool:
    try:
        stat = open(f"/proc/{pid}/stat").read()  # noqa: PTH123, SIM115
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_forty_five_people_vote_at_once_every_vote_counts_once_and_a_sigkill_loses_none(database_url: str) -> None:
    started = time.monotonic()
    with FakeSlack() as fake, AppProcess(fake.api_url, database_url, SMALL_BANK) as app:
        team = v.team(fake, PEOPLE)
        slack = Slack(app.url, fake.response_url())
        assert v.command(slack, "session data").status == 200
        first = v.question_message(fake, 1)
        assert v.voted(first) == (0, PEOPLE)
        database = open_database(database_url, auto_migrate=False)
        try:
            # -- question 1: everyone within a second, repeats and changes included ----------------
            updates_before = len(fake.calls_to("chat.update"))
            burst = v.vote(slack, first, v.ballots(team, seed=18))
            assert not burst.errors, burst.errors
            assert max(burst.acks()) < ACK_LIMIT
            twice = [b.levels for b in burst.ballots if len(b.levels) == 2]
            assert any(a == b for a, b in twice) and any(a != b for a, b in twice)  # repeats and changes
            shown = v.count_shown(fake, first.ts, (PEOPLE, PEOPLE), timeout=SHOWN_WITHIN + 10)
            assert shown is not None, f"the count never showed {PEOPLE} of {PEOPLE}: {v.voted(first)}\n{app.log()}"
            assert shown - burst.last_ack <= SHOWN_WITHIN, f"{shown - burst.last_ack:.1f} s after the last vote"
            expected = burst.expected()
            assert len(expected) == PEOPLE
            assert v.stored_votes(database, "data.versioning") == expected
            fake.wait_idle(quiet=2.5, timeout=10)  # no late refresh to come
            assert v.voted(fake.messages[(v.CHANNEL, first.ts)]) == (PEOPLE, PEOPLE)
            updates = fake.calls_to("chat.update")[updates_before:]
            assert not [c for c in fake.limited_calls if c.method == "chat.update"]
            assert len(updates) <= 2, f"{len(updates)} chat.update calls for one burst of votes"
            refreshed = fake.messages[(v.CHANNEL, first.ts)].updates
            assert 1 <= refreshed <= 4, f"the live message was redrawn {refreshed} times for a one-second burst"

            # The reveal shows the last vote of each person, counted once.
            assert v.click(slack, v.LEAD, first, "session_reveal").status == 200
            message = v.wait_for(
                lambda: (m := v.live(fake)) and "session_agree_1" in text_of(m) and m, 15, "the reveal"
            )
            counts = Counter(expected.values())
            assert v.revealed_counts(message) == {level: counts.get(level, 0) for level in (1, 2, 3, 4)}
            assert v.click(slack, v.LEAD, message, "session_agree_2").status == 200
            message = v.wait_for(lambda: (m := v.live(fake)) and "session_next" in text_of(m) and m, 15, "agreed")
            assert v.click(slack, v.LEAD, message, "session_next").status == 200

            # -- question 2: half votes, then SIGKILL of every process with the refresh still queued --
            second = v.question_message(fake, 2)
            assert second.ts != first.ts
            half, rest = team[: PEOPLE // 2], team[PEOPLE // 2 :]
            early = v.vote(slack, second, v.ballots(half, seed=19))
            assert not early.errors, early.errors
            early_votes = early.expected()
            v.wait_for(lambda: v.stored_votes(database, "data.validation") == early_votes, 10, "the early votes stored")
            processes = [app.proc.pid, *descendants(app.proc.pid)] if app.proc else []
            assert len(processes) >= 3, processes  # serve, gunicorn's worker, the worker sidecar
            before_kill = v.voted(fake.messages[(v.CHANNEL, second.ts)])
            app.kill_group()
            for pid in processes:  # every one of them, not only the group's leader
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
            v.wait_for(lambda: not any(alive(p) for p in processes), 5, "every process gone")
            assert v.stored_votes(database, "data.validation") == early_votes  # nothing lost

            app.start()
            want = (len(early_votes), PEOPLE)
            if before_kill != want:  # the killed worker had not shown them yet: the restarted one does
                assert v.count_shown(fake, second.ts, want, timeout=SHOWN_WITHIN + 10) is not None, (
                    f"after the restart the live message shows {v.voted(fake.messages[(v.CHANNEL, second.ts)])}"
                )
            changed_mind = v.Ballot(half[0], [early_votes[half[0]] % 4 + 1], delay=0.5)  # voted before the kill
            late = v.vote(slack, second, [*v.ballots(rest, seed=20), changed_mind])
            assert not late.errors, late.errors
            shown = v.count_shown(fake, second.ts, (PEOPLE, PEOPLE), timeout=SHOWN_WITHIN + 10)
            assert shown is not None, f"after the restart: {v.voted(fake.messages[(v.CHANNEL, second.ts)])}"
            assert shown - late.last_ack <= SHOWN_WITHIN
            all_votes = {**early_votes, **late.expected()}
            assert v.stored_votes(database, "data.validation") == all_votes
            assert v.click(slack, v.LEAD, second, "session_reveal").status == 200
            message = v.wait_for(
                lambda: (m := v.live(fake)) and "session_agree_1" in text_of(m) and m, 15, "the second reveal"
            )
            counts = Counter(all_votes.values())
            assert v.revealed_counts(message) == {level: counts.get(level, 0) for level in (1, 2, 3, 4)}
        finally:
            database.dispose()
        log = app.log()
    assert not [c for c in fake.limited_calls if c.method == "chat.update"]
    assert fake.block_errors == []
    assert "Traceback" not in log and "ratelimited" not in log, log[-3000:]
    assert time.monotonic() - started < 90
