"""A team voting together in a facilitated session, through the real HTTP app and the fake Slack.

Shared by tests/test_session_votes.py and bench/session_votes.py. Each voter is a thread that clicks
a vote button on the live question message (a signed block_actions whose response_url names the
message, as Slack's does); a voter may vote twice with the same level, or change their vote. What
each person voted last (among the clicks the app acked) is what must be counted.
"""

from __future__ import annotations

import copy
import random
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fakeslack import FakeSlack, Message
from harness import FORM, Reply, Slack, button, buttons, text_of
from sqlalchemy import select

from bot.db.models import SessionVote
from bot.db.setup import Database

CHANNEL = "C0VOTES"
LEAD = "U0LEAD"
VOTED = re.compile(r"(\d+) of (\d+) voted")
QUESTION = re.compile(r"Question (\d+) of (\d+)")
LEVEL_COUNT = re.compile(r"Level (\d): (?:▇+ )?(\d+)")


def team(fake: FakeSlack, size: int) -> list[str]:
    """The channel's members: the facilitator and ``size - 1`` others (and the bot); all of them vote."""
    voters = [LEAD, *(f"U0VOTER{i:03d}" for i in range(size - 1))]
    for user in voters:
        fake.add_user(user)
    fake.add_channel(CHANNEL, [*voters, "U0BOT"])
    return voters


def command(slack: Slack, text: str, user: str = LEAD) -> Reply:
    return slack.send(slack.command_body(user, text, channel=CHANNEL), FORM)


def live(fake: FakeSlack) -> Message | None:
    """The channel's live question message (the one with vote or facilitator buttons), if any."""
    messages = fake.channel_messages(CHANNEL)
    found = [m for m in messages if any(b["action_id"].startswith("session_") for b in buttons(m))]
    return found[-1] if found else None


def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def question_message(fake: FakeSlack, number: int, timeout: float = 20.0) -> Message:
    """Wait for question ``number`` to be the live message, open for votes."""

    def shown() -> Message | None:
        message = live(fake)
        if message is None:
            return None
        found = QUESTION.search(text_of(message))
        votable = any(b["action_id"].startswith("session_vote_") for b in buttons(message))
        return message if found and int(found.group(1)) == number and votable else None

    return wait_for(shown, timeout, f"question {number} open for votes")  # type: ignore[no-any-return]


def voted(message: Message) -> tuple[int, int] | None:
    found = VOTED.search(text_of(message))
    return (int(found.group(1)), int(found.group(2))) if found else None


def revealed_counts(message: Message) -> dict[int, int]:
    return {int(level): int(count) for level, count in LEVEL_COUNT.findall(text_of(message))}


def click(slack: Slack, user: str, message: Message, action_id: str) -> Reply:
    return slack.click(user, button(message, action_id), message.channel, message.ts)


@dataclass
class Ballot:
    """One person's clicks: the levels in the order clicked."""

    user: str
    levels: list[int]
    delay: float  # seconds after the burst's start of the first click
    acked: list[tuple[int, float, int]] = field(default_factory=list)  # (level, monotonic time acked, status)
    seconds: list[float] = field(default_factory=list)  # how long each click took to be acked


def ballots(voters: list[str], seed: int, within: float = 1.0) -> list[Ballot]:
    """Each person votes once; about one in five votes twice with the same level, one in five changes
    their vote; all first clicks within ``within`` seconds."""
    rng = random.Random(seed)
    found = []
    for user in voters:
        first = rng.randint(1, 4)
        roll = rng.random()
        if roll < 0.2:
            levels = [first, first]
        elif roll < 0.4:
            levels = [first, rng.choice([lv for lv in (1, 2, 3, 4) if lv != first])]
        else:
            levels = [first]
        found.append(Ballot(user, levels, rng.uniform(0, within)))
    return found


@dataclass
class Burst:
    """The ballots' clicks sent from one thread per person, started together."""

    ballots: list[Ballot]
    started: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def last_ack(self) -> float:
        return max(t for b in self.ballots for _, t, _ in b.acked)

    def acks(self) -> list[float]:
        """Seconds each click took to be acked (Slack's 3 s clock)."""
        return [s for b in self.ballots for s in b.seconds]

    def expected(self) -> dict[str, int]:
        """Each person's last acked vote."""
        return {b.user: [lv for lv, _, status in b.acked if status == 200][-1] for b in self.ballots if b.acked}


def vote(slack: Slack, message: Message, votes: list[Ballot], timeout: float = 30.0) -> Burst:
    """Send every ballot's clicks on ``message``, one thread per person; returns when all are acked."""
    burst = Burst(votes)
    message = copy.deepcopy(message)  # its buttons as the voters' clients show them when the burst begins
    start = threading.Barrier(len(votes) + 1)

    def person(ballot: Ballot) -> None:
        start.wait()
        time.sleep(max(0.0, burst.started + ballot.delay - time.monotonic()))
        for i, level in enumerate(ballot.levels):
            if i:
                time.sleep(0.05)
            try:
                reply = click(slack, ballot.user, message, f"session_vote_{level}")
            except (OSError, AssertionError) as exc:
                burst.errors.append(f"{ballot.user}: {exc}")
                continue
            ballot.acked.append((level, time.monotonic(), reply.status))
            ballot.seconds.append(reply.seconds)
            if reply.status != 200:
                burst.errors.append(f"{ballot.user}: HTTP {reply.status}")

    threads = [threading.Thread(target=person, args=(b,), daemon=True) for b in votes]
    for thread in threads:
        thread.start()
    burst.started = time.monotonic() + 0.05
    start.wait()
    for thread in threads:
        thread.join(timeout)
        if thread.is_alive():
            burst.errors.append("a voter's click was never acked")
    return burst


def stored_votes(database: Database, question_id: str) -> dict[str, int]:
    """The question's votes in the database, person -> level (duplicates would show as a count mismatch)."""
    with database.sessions() as session:
        rows = session.execute(
            select(SessionVote.user_id, SessionVote.level).where(SessionVote.question_id == question_id)
        ).all()
    found = {user: level for user, level in rows}
    assert len(found) == len(rows), "a person's vote is stored twice"
    return found


def count_shown(fake: FakeSlack, ts: str, want: tuple[int, int], timeout: float) -> float | None:
    """Wait until the message (CHANNEL, ts) shows ``want`` as "N of M voted"; the monotonic time it
    first did (within the fake's change notifications), or None after ``timeout``."""
    deadline = time.monotonic() + timeout
    version = 0
    while True:
        message = fake.messages.get((CHANNEL, ts))
        if message is not None and voted(message) == want:
            return time.monotonic()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        found = fake.wait_for_change(CHANNEL, ts, after_version=version, timeout=remaining)
        if found is None:
            return None
        version = found
