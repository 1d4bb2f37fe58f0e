"""A crowd of people taking the assessment in Slack at once, while the test breaks something.

Each person behaves as a patient user would: `/compass start`, then click an answer on the
live question as soon as it shows; when nothing happens for ``patience`` seconds (the app is
down, a request was lost) click the same button again, or Resume, or type `/compass start`
again. Every person answers question i with a level fixed by their name and i, so the
answers that should end up in the database are known in advance.

What it records is what the recovery tests and bench/recovery.py judge: the question numbers
each person was shown, in order (a jump means a skipped question), when each first showed,
and whether the report arrived.
"""

from __future__ import annotations

import re
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fakeslack import FakeSlack
from harness import Slack, buttons, text_of

QUESTION_NUMBER = re.compile(r"Question (\d+) of (\d+)")
REPORT_MARK = "Your MLOps maturity"  # how the report message's text begins


def level_for(user: str, index: int) -> int:
    return (zlib.crc32(user.encode()) + index) % 4 + 1


@dataclass
class Person:
    user: str
    shown: list[tuple[int, float]] = field(default_factory=list)  # (question number, monotonic time first seen)
    finished_at: float | None = None
    clicks: int = 0
    failed_requests: int = 0

    @property
    def numbers(self) -> list[int]:
        return [n for n, _ in self.shown]

    def progress(self) -> int:
        """Questions answered so far, as this person can tell from what Slack shows."""
        if self.finished_at is not None:
            return len(self.shown)
        return max(len(self.shown) - 1, 0)

    def next_progress_after(self, moment: float) -> float | None:
        """When this person next saw something move (a new question or the report) after ``moment``."""
        times = [t for _, t in self.shown if t >= moment]
        if self.finished_at is not None and self.finished_at >= moment:
            times.append(self.finished_at)
        return min(times) if times else None


def _live_question(messages: list[Any]) -> Any | None:
    for message in reversed(messages):
        if any(b["action_id"].startswith("answer_") for b in buttons(message)):
            return message
    return None


def _button(message: Any, action_id: str) -> dict[str, Any] | None:
    return next((b for b in buttons(message) if b["action_id"] == action_id), None)


class Crowd:
    def __init__(self, fake: FakeSlack, slack: Slack, users: list[str], patience: float = 1.0) -> None:
        self.fake = fake
        self.slack = slack
        self.people = [Person(user) for user in users]
        self.patience = patience
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self.total_questions = 0

    def start(self) -> Crowd:
        for person in self.people:
            thread = threading.Thread(target=self._take, args=(person,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def answered(self) -> int:
        return sum(p.progress() for p in self.people)

    def wait(self, predicate: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.02)
        return False

    def finish(self, timeout: float) -> bool:
        """Wait until everyone has their report (True), or give up after ``timeout`` (False)."""
        done = self.wait(lambda: all(p.finished_at is not None for p in self.people), timeout)
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
        return done

    def _send(self, person: Person, request: Callable[[], Any]) -> None:
        try:
            reply = request()
            if reply.status != 200:
                person.failed_requests += 1
        except OSError:  # the app is down: the person will click again
            person.failed_requests += 1

    def _take(self, person: Person) -> None:
        user = person.user
        self._send(person, lambda: self.slack.command(user, "start"))
        last_action = time.monotonic()
        acted_on: int | None = None
        while not self._stop.is_set():
            messages = self.fake.dm_messages(user)
            now = time.monotonic()
            if any(m.text.startswith(REPORT_MARK) for m in messages):
                person.finished_at = now
                return
            live = _live_question(messages)
            if live is None:
                if now - last_action >= self.patience:
                    resume = next((b for m in reversed(messages) if (b := _button(m, "resume"))), None)
                    if resume is not None:
                        offer = next(m for m in reversed(messages) if _button(m, "resume"))
                        self._send(person, lambda b=resume, m=offer: self.slack.click(user, b, m.channel, m.ts))
                    else:
                        self._send(person, lambda: self.slack.command(user, "start"))
                    last_action = now
                time.sleep(0.03)
                continue
            match = QUESTION_NUMBER.search(text_of(live))
            if match is None:
                time.sleep(0.03)
                continue
            number, total = int(match.group(1)), int(match.group(2))
            self.total_questions = total
            if not person.shown or person.shown[-1][0] != number:
                person.shown.append((number, now))
            if acted_on != number or now - last_action >= self.patience:
                answer = _button(live, f"answer_{level_for(user, number - 1)}")
                assert answer is not None
                self._send(person, lambda b=answer, m=live: self.slack.click(user, b, m.channel, m.ts))
                person.clicks += 1
                acted_on, last_action = number, now
            time.sleep(0.03)


@dataclass(frozen=True)
class Verdict:
    lost: int  # expected answers missing (or different) in the database
    skipped: int  # people shown a question number that jumped past one
    duplicates: int  # extra answer rows or extra reports
    unfinished: int
    waits: list[float]  # seconds from recovery to each unfinished person's next progress
    steps: list[float]  # seconds between one question and the next before the fault: the yardstick

    @property
    def clean(self) -> bool:
        return self.lost == self.skipped == self.duplicates == self.unfinished == 0


def judge(
    crowd: Crowd,
    stored: Callable[[str], list[tuple[str, int | None]]],
    question_ids: list[str],
    window: tuple[float, float],
    busy_at_recovery: list[str],
) -> Verdict:
    """Compare what each person was shown and what the database holds with what they answered.

    ``stored(user)`` returns the (question id, level) rows of the person's answers;
    ``window`` is (when the fault began, when it was repaired); ``busy_at_recovery`` are the
    people still answering when it began.
    """
    broken_at, recovered_at = window
    lost = skipped = duplicates = unfinished = 0
    waits, steps = [], []
    for person in crowd.people:
        expected = {qid: level_for(person.user, i) for i, qid in enumerate(question_ids)}
        rows = stored(person.user)
        got = dict(rows)
        duplicates += len(rows) - len(got)
        lost += sum(1 for qid, level in expected.items() if got.get(qid) != level)
        numbers = person.numbers
        before = [t for _, t in person.shown if t < broken_at]
        steps.extend(b - a for a, b in zip(before, before[1:], strict=False))
        if numbers != list(range(1, len(numbers) + 1)):
            skipped += 1
        reports = sum(1 for m in crowd.fake.dm_messages(person.user) if m.text.startswith(REPORT_MARK))
        duplicates += max(reports - 1, 0)
        if person.finished_at is None:
            unfinished += 1
        if person.user in busy_at_recovery:
            moved = person.next_progress_after(recovered_at)
            waits.append(float("inf") if moved is None else moved - recovered_at)
    return Verdict(lost, skipped, duplicates, unfinished, waits, steps)
