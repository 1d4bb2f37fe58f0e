"""Pacing of scheduled sends so a large fan-out stays inside Slack's rate limits."""

from __future__ import annotations

import time
from collections.abc import Callable

BACK_OFF = 0.8  # rate multiplier after a 429
RECOVER = 1.05  # rate multiplier after a run of clean sends
CLEAN_RUN = 50
MIN_RATE = 0.5


class Pacer:
    """A token bucket: at most ``rate`` sends per second, bursts up to ``burst``.

    Slack does not publish its exact per-workspace limit for DMs, so the configured
    rate is a ceiling, not a promise: after a 429 the whole queue waits for
    Retry-After (the limit is per workspace and method, not per recipient) and the
    rate drops, then creeps back up while sends go through.
    """

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.ceiling = rate
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.sleep = sleep
        self.tokens = float(burst)
        self.last = clock()
        self.clean = 0

    def wait(self) -> None:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < 1:
            self.sleep((1 - self.tokens) / self.rate)
            self.last = self.clock()
            self.tokens = 0.0
        else:
            self.tokens -= 1
        self.clean += 1
        if self.clean >= CLEAN_RUN and self.rate < self.ceiling:
            self.rate = min(self.ceiling, self.rate * RECOVER)
            self.clean = 0

    def pause(self, seconds: float) -> None:
        self.sleep(seconds)
        self.rate = max(MIN_RATE, min(self.rate, self.ceiling) * BACK_OFF)
        self.last = self.clock()
        self.tokens = 0.0
        self.clean = 0
