"""How long-running processes learn to stop: SIGTERM, Ctrl-C, or (for sidecars) their parent gone."""

from __future__ import annotations

import os
import signal
import threading
import time


def stop_event(parent_pid: int | None = None) -> threading.Event:
    """An event set on SIGTERM or Ctrl-C, and once ``parent_pid`` is gone, even if it was killed.

    The parent's pid is passed in rather than read at start: it may die before we get here.
    """
    stop = threading.Event()

    def on_signal(*_: object) -> None:
        # Not stop.set() here: the main thread may hold the event's lock inside stop.wait().
        threading.Thread(target=stop.set, name="compass-stop").start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def watch(parent: int) -> None:
        while os.getppid() == parent and not stop.is_set():
            time.sleep(0.5)
        stop.set()

    if parent_pid:
        threading.Thread(target=watch, args=(parent_pid,), name="compass-parent-watch", daemon=True).start()
    return stop
