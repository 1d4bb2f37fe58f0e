"""Pacing of scheduled sends so a large fan-out stays inside Slack's rate limits."""

from __future__ import annotations

import time
from collections.abc import Callable


class Pacer:
    """A token bucket: at most ``rate`` sends per second, bursts up to ``burst``.

    ``pause`` stops the whole queue for a Retry-After period, since Slack's limits
    are per workspace and method, not per recipient.
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
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.sleep = sleep
        self.tokens = float(burst)
        self.last = clock()

    def wait(self) -> None:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < 1:
            delay = (1 - self.tokens) / self.rate
            self.sleep(delay)
            self.last = self.clock()
            self.tokens = 0.0
        else:
            self.tokens -= 1

    def pause(self, seconds: float) -> None:
        self.sleep(seconds)
        self.last = self.clock()
        self.tokens = 0.0
