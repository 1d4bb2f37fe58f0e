"""The send pacer keeps to its rate, backs off after a 429 and recovers."""

from __future__ import annotations

from bot.slack.pacing import BACK_OFF, CLEAN_RUN, Pacer


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_sends_are_spaced_at_the_rate() -> None:
    clock = Clock()
    pacer = Pacer(10, clock=clock.time, sleep=clock.sleep)
    for _ in range(101):
        pacer.wait()
    assert abs(clock.now - 10.0) < 1e-6  # the first send is free, then one every 0.1 s


def test_a_429_pauses_the_queue_and_lowers_the_rate_until_sends_go_through() -> None:
    clock = Clock()
    pacer = Pacer(10, clock=clock.time, sleep=clock.sleep)
    pacer.wait()
    pacer.pause(2.0)
    assert clock.now == 2.0
    assert pacer.rate == 10 * BACK_OFF
    for _ in range(CLEAN_RUN * 10):
        pacer.wait()
    assert pacer.rate == 10  # recovered, never above the configured ceiling


def test_repeated_429s_never_stop_the_queue() -> None:
    clock = Clock()
    pacer = Pacer(1, clock=clock.time, sleep=clock.sleep)
    for _ in range(50):
        pacer.pause(1)
    assert pacer.rate > 0
    pacer.wait()
